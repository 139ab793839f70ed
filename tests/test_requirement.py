"""What would it take: the search finds the least level that meets the resource's target, and
more of a resource never lowers the probability of reaching the goal (checked on a grid, with
common random numbers)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pydantic import ValidationError

from conftest import variant
from fieldcast.compiled import compile_scenario
from fieldcast.forecast import run_forecast
from fieldcast.planning.requirement import (
    RESOURCES,
    _level_outputs,
    default_ceiling,
    find_requirement,
)
from fieldcast.recording import band_sample_size
from fieldcast.replications import replication_values, simulate
from fieldcast.results import Results
from fieldcast.scenario import Scenario


@pytest.fixture(scope="module")
def two_cities(seed_scenario: Scenario) -> Scenario:
    return variant(
        seed_scenario,
        **{
            "cities": [{"name": "A", "target_persons": 300}, {"name": "B", "target_persons": 250}],
            "city_overrides": {},
            "leak.events": [],
            "operation.horizon_days": 40,
        },
    )


def test_more_teams_never_lower_the_chance_of_the_goal(two_cities: Scenario) -> None:
    """P(goal) over 1..10 teams with the same seed. With common random numbers the estimate
    could still dip by noise; none of these may dip by more than 0.015, about two standard
    errors of the difference of paired estimates at 1,000 replications."""
    chances = []
    for teams in range(1, 11):
        arrested = simulate(RESOURCES["teams"].apply(two_cities, teams), 1000, 5).outcome("arrests")
        chances.append(np.mean(arrested >= 90))
    assert min(np.diff(chances)) >= -0.015, chances
    assert chances[0] == 0 and chances[-1] > 0.5  # the grid spans the answer


def test_the_search_returns_the_least_level_that_reaches(two_cities: Scenario) -> None:
    answer = find_requirement(two_cities, "teams", 90, 0.3, replications=1000, seed=5)
    assert answer.least is not None
    assert answer.levels[answer.least]["p_goal"] >= 0.3
    assert answer.levels[answer.least - 1]["p_goal"] < 0.3  # the search looked just below
    assert "At least" in answer.explanation()


def test_the_answer_says_when_the_asked_goal_is_reached(seed_scenario: Scenario) -> None:
    """At the least level, the asked goal (150 persons, not the scenario's 2,040) is reached
    in more than half the replications, so its median day is a field day (counted from
    seed-2019's first simulated day, -27), and the answer says it."""
    answer = find_requirement(seed_scenario, "teams", 150, 0.95, replications=300, seed=5)
    assert answer.least is not None
    day = answer.levels[answer.least]["goal_day_median"]
    assert day is not None and 0 <= day < seed_scenario.operation.field_days
    assert f"half the replications reach it by day {day}." in answer.explanation()


# What a forecast keeps of each replication, for the target of beds, seats and monitors; the
# search's reducer (``_level_outputs``) gives the same, in this row
FORECAST_VALUES: dict[str, tuple[Callable[[Results], np.ndarray], int]] = {
    "beds": (lambda results: results.bed_shortfall_days, 3),
    "seats": (lambda results: results.outcome("awaiting_removal", when="horizon"), 4),
    "monitors": (lambda results: results.monitor_shortfall_days.sum(axis=1), 5),
}


@pytest.mark.parametrize("resource", list(FORECAST_VALUES))
def test_beds_seats_and_monitors_are_searched_for_what_they_are_for(
    two_cities: Scenario, resource: str
) -> None:
    """Beds, removal seats and monitors act after an arrest, so a search for the goal could
    only ever say "any amount" or "none": theirs is for no household meant for detention
    without a bed, nobody awaiting removal at the horizon, and no household meant for a monitor
    without one (seed-2019 gives its cities no limit of monitors: the search finds one). The
    least level meets it and the one below does not; the median of arrests is the same at
    every level, and said so. The share is of the same per-replication values a forecast
    keeps (for its `p_bed_pool_full`, transport backlog and `p_monitor_stockout`): compared
    replication by replication past the forecast's band sample (1,000 replications here),
    where both fold the never-visited households' moves (docs/model.md, section 5)."""
    answer = find_requirement(two_cities, resource, 90, 0.8, replications=300, seed=5)
    key = answer.target.key
    assert answer.least is not None and answer.least > 0
    assert answer.current is None if resource == "monitors" else answer.least < answer.current
    assert answer.levels[answer.least][key] >= 0.8 > answer.levels[answer.least - 1][key]
    assert len({row["persons_arrested_median"] for row in answer.levels.values()}) == 1
    explanation = answer.explanation()
    assert explanation.startswith(f"At least {answer.least:,} ")
    assert answer.target.meaning in explanation and "the same at every level" in explanation

    forecast_values, row = FORECAST_VALUES[resource]
    below = RESOURCES[resource].apply(two_cities, answer.least - 1)  # short in over 20%
    searched = replication_values([below], 1300, 5, _level_outputs)[0][row]
    assert answer.levels[answer.least - 1][key] == np.mean(searched[:300] == 0)
    kept = forecast_values(run_forecast(below, 1300, seed=5).results)
    folded = slice(band_sample_size(compile_scenario(below).day_count), 1300)
    assert folded.start == 1000
    np.testing.assert_array_equal(searched[folded], kept[folded])
    assert kept[folded].any() and not kept[folded].all()


def test_none_of_a_resource_is_tried_where_it_may_be_enough(two_cities: Scenario) -> None:
    """Nobody detained (p_detain 0): no bed is needed, and the search says 0, not 1."""
    nobody_detained = variant(two_cities, **{"city_defaults.p_detain": 0.0})
    answer = find_requirement(nobody_detained, "beds", 90, 0.9, replications=100, seed=5)
    assert answer.least == 0 and answer.levels[0]["p_no_bed_shortfall"] == 1.0
    assert answer.explanation().startswith("0 free beds (now 1,154) leave no household")
    teams = find_requirement(two_cities, "teams", 1, 0.5, replications=100, seed=5)
    assert teams.least == 1 and 0 not in teams.levels  # no teams arrest nobody: not tried


def test_field_days_and_seats_are_searchable(two_cities: Scenario) -> None:
    longer = RESOURCES["field_days"].apply(two_cities, 12)
    assert longer.operation.field_days == 12
    assert longer.operation.horizon_days == 40 + 12 - 7
    assert RESOURCES["seats"].apply(two_cities, 99).detention.removal_seats_per_day == 99
    with pytest.raises(ValueError, match="unknown resource"):
        find_requirement(two_cities, "helicopters", 90, 0.5)


def test_the_search_stays_within_what_makes_a_valid_scenario(two_cities: Scenario) -> None:
    """Field days add to the horizon, which may not pass ten years (3,650 days): 64 times 100
    field days would, so the default ceiling is the most that does not, and a ceiling asked
    beyond it is refused before anything runs, naming the ceiling, the scenario's reason and
    the most that works. (Without the check, the ladder ran until a rung failed validation,
    with pydantic's message and after the runs below it.)"""
    long = variant(two_cities, **{"operation.field_days": 100, "operation.horizon_days": 140})
    most = 3650 - 40
    assert default_ceiling(long, "field_days") == most
    RESOURCES["field_days"].apply(long, most)  # valid
    with pytest.raises(ValidationError):
        RESOURCES["field_days"].apply(long, most + 1)
    assert default_ceiling(two_cities, "field_days") == 64 * 7  # within limits: as before
    with pytest.raises(
        ValueError, match=f"ceiling: 5,000 field days .* most that does is {most:,}"
    ):
        find_requirement(long, "field_days", 90, 0.5, ceiling=5000)
    with pytest.raises(ValueError, match="probability: must be in"):
        find_requirement(two_cities, "teams", 90, 0.0)


def test_a_ceiling_below_todays_amount_is_kept(two_cities: Scenario) -> None:
    """seed-2019 has 4 teams per city; asked for at most 3, the search tries no more than 3
    (it tried 4, and said "up to 4 teams")."""
    assert RESOURCES["teams"].current(two_cities) == 4
    unreachable = find_requirement(two_cities, "teams", 5000, 0.9, replications=50, ceiling=3)
    assert unreachable.least is None and max(unreachable.levels) == 3
    assert "up to 3 teams per city with targets" in unreachable.explanation()
    reachable = find_requirement(two_cities, "teams", 20, 0.5, replications=50, ceiling=3)
    assert reachable.least is not None and max(reachable.levels) == 3
