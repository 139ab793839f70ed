"""The engine against rules with known answers, invariants that hold in every replication on
every day, and expectations checked at a stated confidence level."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Days, variant
from fieldcast.compiled import compile_scenario
from fieldcast.metrics import FLOWS
from fieldcast.scenario import Scenario

REPS = 200


def test_every_household_is_in_exactly_one_state_every_day(seed_scenario: Scenario) -> None:
    days = Days(seed_scenario, REPS, seed=11)
    compiled = days.compiled
    for measure, per_household in (
        ("households", np.ones_like(compiled.sizes)),
        ("persons", compiled.sizes),
        ("minors", compiled.minors),
    ):
        total = np.append(
            compiled.households @ per_household, (compiled.households @ per_household).sum()
        )
        accounted = sum(
            days.values(metric, measure)
            for metric in (
                "open",
                "closed",
                "awaiting_disposition",
                "detained",
                "on_notice",
                "removals",
                "departures",
                "relief_releases",
                "losses",
            )
        )
        assert (accounted == total).all(), measure
        open_split = days.values("at_address", measure) + days.values("moved", measure)
        assert (open_split == days.values("open", measure)).all()
    persons = days.values("arrests", "persons")
    minors = days.values("arrests", "minors")
    households = days.values("arrests")
    assert (minors <= persons).all() and (persons >= households).all()
    assert (persons == households + minors).all()  # every class has one adult


def test_flows_only_grow_and_stocks_never_go_negative(seed_scenario: Scenario) -> None:
    days = Days(seed_scenario, REPS, seed=12)
    for flow in FLOWS:
        assert (np.diff(days.values(flow), axis=1) >= 0).all(), flow
    for stock in ("open", "at_address", "moved", "detained", "on_notice", "monitored"):
        assert (days.values(stock) >= 0).all(), stock


def _certain_arrest(base: Scenario, **changes: object) -> Scenario:
    return variant(
        base,
        **{
            "city_defaults.p_contact": 1.0,
            "city_defaults.p_arrest_given_contact": 1.0,
            "city_defaults.teams": 1000,
            "leak.baseline_hazard": 0.0,
            "leak.p_alert_move": 0.0,
            **changes,
        },
    )


def test_certain_contact_and_arrest_with_unlimited_capacity_arrests_everyone_at_home_on_day_0(
    simple_scenario: Scenario,
) -> None:
    days = Days(_certain_arrest(simple_scenario), REPS, seed=13)
    arrested = days.on_day("arrests", 0)
    moved = days.on_day("moved", 0)
    total = days.compiled.households.sum(axis=1)
    total = np.append(total, total.sum())
    assert (arrested + moved == total).all()  # everyone attempted: at home arrested, else moved
    assert (days.on_day("at_address", 0) == 0).all()
    # nobody at an address is ever left: later days arrest nobody new
    assert (days.values("arrests")[:, -1] == arrested).all()


def test_everyone_arrested_on_day_0_when_every_address_is_valid(simple_scenario: Scenario) -> None:
    scenario = _certain_arrest(
        simple_scenario,
        **{
            "city_defaults.p_address_valid_absentia": 1.0,
            "city_defaults.p_address_valid_other": 1.0,
        },
    )
    days = Days(scenario, 20, seed=14)
    persons = days.on_day("arrests", 0, "persons")
    assert (persons[:, :-1] == [300, 250, 0]).all()


def test_zero_teams_arrest_nobody(simple_scenario: Scenario) -> None:
    days = Days(variant(simple_scenario, **{"city_defaults.teams": 0}), REPS, seed=15)
    assert days.values("attempts").max() == 0
    assert days.values("arrests").max() == 0
    assert days.output.collateral_at_horizon.max() == 0


def test_zero_beds_detain_nobody(simple_scenario: Scenario) -> None:
    scenario = variant(simple_scenario, **{"detention.beds": 0, "detention.baseline_occupancy": 0})
    days = Days(scenario, REPS, seed=16)
    assert days.values("detentions").max() == 0
    assert days.values("arrests")[:, -1, -1].sum() > 0  # there were arrests to detain
    disposed = (
        days.values("arrests") + days.values("rearrests") - days.values("awaiting_disposition")
    )
    assert (days.values("notices") == disposed).all()  # every disposition is a notice
    assert (days.output.bed_shortfall_days > 0).any()


def test_no_announcement_means_no_moves_beyond_the_baseline(simple_scenario: Scenario) -> None:
    scenario = variant(simple_scenario, **{"leak.baseline_hazard": 0.0, "leak.p_alert_move": 0.0})
    days = Days(scenario, REPS, seed=17)
    assert days.values("moved_away").max() == 0
    assert days.values("moved_after_alert").max() == 0
    # the moved stock only shrinks (closures): nobody joins it after the start
    assert (np.diff(days.values("moved"), axis=1) <= 0).all()


def test_departures_happen_exactly_notice_days_after_release(simple_scenario: Scenario) -> None:
    scenario = variant(
        simple_scenario,
        **{
            "operation.field_days": 1,
            "operation.tempo": [1.0],
            "city_defaults.p_detain": 0.0,
            "notice.p_comply": 1.0,
            "notice.notice_days": 12,
        },
    )
    days = Days(scenario, REPS, seed=18)
    notices = days.values("notices")
    departures = days.values("departures")
    assert notices[:, -1, -1].sum() > 0
    assert (departures[:, :12] == 0).all()  # days 0..11
    assert (departures[:, 12] == notices[:, 0]).all()  # day 12: everyone released on day 0
    assert (days.values("on_notice")[:, 12] == 0).all()


def test_beds_seats_monitors_and_team_capacity_are_never_exceeded(
    simple_scenario: Scenario,
) -> None:
    scenario = variant(
        simple_scenario,
        **{
            "city_defaults.p_contact": 0.9,
            "city_defaults.p_arrest_given_contact": 0.9,
            "detention.beds": 40,
            "detention.baseline_occupancy": 10,
            "detention.processing_days": 2,
            "detention.removal_seats_per_day": 7,
            "city_defaults.p_detain": 0.9,
        },
    )
    days = Days(scenario, REPS, seed=19)
    compiled = compile_scenario(scenario)
    assert days.values("detained", "persons")[:, :, -1].max() <= 30
    assert days.daily_flow("removals", "persons")[:, :, -1].max() <= 7
    assert days.values("monitored")[:, :, 1].max() <= 5  # city B has 5 monitors
    attempts = days.daily_flow("attempts")[:, :, :-1]
    assert (attempts <= compiled.capacity[None]).all()
    assert (days.output.bed_shortfall_days > 0).all()  # 30 beds cannot hold the detentions


def test_stood_down_city_makes_no_attempts(seed_scenario: Scenario) -> None:
    scenario = variant(seed_scenario, **{"city_overrides.Chicago": {"stands_down_day": 2}})
    days = Days(scenario, 50, seed=20)
    chicago = [c.name for c in scenario.cities].index("Chicago")
    attempts = days.daily_flow("attempts")[:, :, chicago]
    field = days.days >= 0
    assert (attempts[:, field][:, :2] > 0).all()
    assert (attempts[:, field][:, 2:] == 0).all()


def test_day_0_arrests_match_their_expectation(simple_scenario: Scenario) -> None:
    """With unlimited capacity and no leak, day-0 arrested households are a sum of independent
    binomials: mean H * q * c * a. The check uses a 99.9% two-sided normal interval for the
    mean over replications (z = 3.29), so a correct engine fails it once in a thousand seeds."""
    scenario = variant(
        simple_scenario, **{"city_defaults.teams": 1000, "leak.baseline_hazard": 0.0}
    )
    replications = 2000
    days = Days(scenario, replications, seed=21)
    compiled = days.compiled
    households = compiled.households.sum()
    q = compiled.p_address_valid[0]
    c = compiled.p_contact[0]
    a = compiled.p_arrest[0]
    p = q * c * a
    arrested = days.on_day("arrests", 0)[:, -1]
    standard_error = np.sqrt(households * p * (1 - p) / replications)
    assert abs(arrested.mean() - households * p) < 3.29 * standard_error


def test_leak_moves_households_away_before_day_0(seed_scenario: Scenario) -> None:
    days = Days(seed_scenario, REPS, seed=22)
    assert days.compiled.start_day == -27
    moved_before = days.on_day("moved_away", -1)[:, -1]
    assert (moved_before > 0).all()
    assert days.on_day("attempts", -1).max() == 0  # no field work before day 0


@pytest.mark.parametrize("first", [0, 3000])
def test_a_chunk_is_a_pure_function_of_seed_and_replications(
    simple_scenario: Scenario, first: int
) -> None:
    from fieldcast.engine import simulate_chunk

    compiled = compile_scenario(simple_scenario)
    once = simulate_chunk(compiled, 5, first, 50)
    again = simulate_chunk(compiled, 5, first, 50)
    others = simulate_chunk(compiled, 5, first + 50, 50)
    overlapping = simulate_chunk(compiled, 5, first + 20, 50)
    assert np.array_equal(once.at_horizon, again.at_horizon)
    assert not np.array_equal(once.at_horizon, others.at_horizon)
    # a replication is the same in whichever chunk it is computed
    assert np.array_equal(once.at_horizon[20:], overlapping.at_horizon[:30])


@pytest.mark.parametrize("engine", ["engine", "reference"])
def test_the_goal_day_is_the_first_day_with_the_goals_persons_arrested(
    seed_scenario: Scenario, engine: str
) -> None:
    """Per replication, the day the goal is reached is the first day on which its own daily
    path has the goal's persons arrested (-1: never), in the engine and in the reference. A
    goal of 150 persons is reached by seed-2019 in most replications and not in all, so both
    cases occur."""
    from fieldcast.engine import simulate_chunk
    from fieldcast.metrics import MEASURES, METRICS
    from fieldcast.reference import simulate_reference_block

    scenario = variant(seed_scenario, **{"operation.goal_persons": 150})
    if engine == "engine":
        output = simulate_chunk(compile_scenario(scenario), 3, 0, REPS, band_sample=REPS)
    else:
        output = simulate_reference_block(scenario, 3, 0, REPS // 4, band_sample=REPS // 4)
    arrested = output.band_sample[:, :, METRICS.index("arrests"), MEASURES.index("persons")]
    reached = arrested >= 150
    expected = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    assert np.array_equal(output.goal_day, expected)
    assert 0 < (expected >= 0).mean() < 1
