"""What would it take: the search finds the least level, and more of a resource never lowers
the probability of reaching the goal (checked on a grid, with common random numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from conftest import variant
from fieldcast.planning.requirement import RESOURCES, default_ceiling, find_requirement
from fieldcast.replications import simulate
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


def test_a_resource_that_does_not_limit_arrests_is_said_to_be_enough_of_nothing(
    two_cities: Scenario,
) -> None:
    answer = find_requirement(two_cities, "beds", 90, 0.3, replications=200, seed=5, ceiling=4096)
    assert answer.least is None
    levels = sorted(answer.levels)
    assert levels[-1] == 4096
    medians = {answer.levels[level]["persons_arrested_median"] for level in levels}
    assert len(medians) == 1  # beds change nothing about arrests: common random numbers
    assert answer.explanation().startswith("No amount of beds up to 4,096 free beds")


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
