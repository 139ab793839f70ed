"""Allocating teams: the split is exact (checked against exhaustive search, with and without
diminishing returns), and on a real scenario it does at least as well as the scenario's own."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import variant
from fieldcast.planning.allocation import (
    allocate_teams,
    best_split,
    best_split_probability,
    exhaustive,
)
from fieldcast.planning.requirement import RESOURCES
from fieldcast.planning.variants import with_allocation
from fieldcast.replications import simulate
from fieldcast.scenario import Scenario

curve = st.lists(st.floats(-5, 10, allow_nan=False), min_size=7, max_size=7)


@settings(max_examples=200, deadline=None)
@given(st.lists(curve, min_size=1, max_size=3), st.integers(0, 6))
def test_best_split_is_as_good_as_trying_every_split(curves: list[list[float]], teams: int) -> None:
    curves = [list(np.cumsum(c)) for c in curves]  # any shape: rising, falling, S-shaped
    split = best_split(curves, teams)
    assert sum(split) == teams and min(split) >= 0
    value = sum(c[t] for c, t in zip(curves, split, strict=True))
    best = exhaustive(curves, teams)
    assert value >= sum(c[t] for c, t in zip(curves, best, strict=True)) - 1e-9


def test_teams_go_where_they_find_families(seed_scenario: Scenario) -> None:
    """City A has four times B's targets; with 8 teams in all, A should get more than B, and
    the recommended split must not lose arrests against an even split (same replications)."""
    scenario = variant(
        seed_scenario,
        **{
            "cities": [{"name": "A", "target_persons": 400}, {"name": "B", "target_persons": 100}],
            "city_overrides": {"A": {"teams": 4}, "B": {"teams": 4}},
            "leak.events": [],
            "operation.horizon_days": 30,
        },
    )
    answer = allocate_teams(scenario, 8, replications=400, seed=3)
    assert sum(answer.recommended.values()) == 8
    assert answer.recommended["A"] > answer.recommended["B"]
    assert answer.current == {"A": 4, "B": 4}
    assert answer.gain_persons["mean"] > 0
    assert len(answer.curves["A"]) == 9  # 0..8 teams
    moved = with_allocation(scenario, {"A": 6, "B": 2})
    assert moved.city_parameter("A", "teams") == 6
    assert moved.city_parameter("B", "teams") == 2


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda cities: st.tuples(
            st.integers(0, 5),
            st.integers(1, 12),
            st.lists(st.integers(0, 10_000), min_size=cities, max_size=cities),
            st.integers(0, 40),
        )
    )
)
def test_probability_split_reaches_the_goal_as_often_as_any_split(case) -> None:
    """Branch and bound against trying every split, on random per-replication arrests (not
    necessarily rising with teams): it must finish, prove it, and match the best count."""
    teams, replications, seeds, goal = case
    arrested = [
        np.random.default_rng(seed).integers(0, 12, size=(teams + 1, replications)).astype(float)
        for seed in seeds
    ]
    curves = [list(rows.mean(axis=1)) for rows in arrested]
    split, proven = best_split_probability(arrested, teams, goal, best_split(curves, teams))
    assert proven and sum(split) == teams

    def reached(given: tuple[int, ...] | list[int]) -> int:
        total = sum(rows[t] for rows, t in zip(arrested, given, strict=True))
        return int(np.count_nonzero(total >= goal))

    every = [
        g for g in itertools.product(range(teams + 1), repeat=len(arrested)) if sum(g) == teams
    ]
    assert reached(split) == max(reached(g) for g in every)


def test_a_citys_arrests_do_not_depend_on_other_cities_teams(seed_scenario: Scenario) -> None:
    """What the probability search rests on: with common random numbers, city c's arrests in
    each replication are the same whatever the other cities have, so a split's total is the
    sum of per-city runs."""
    cities = [city.name for city in seed_scenario.cities if city.target_persons > 0]
    levels = {t: simulate(RESOURCES["teams"].apply(seed_scenario, t), 200, 7) for t in (1, 4, 7)}
    split = {city: (1, 4, 7)[i % 3] for i, city in enumerate(cities)}
    mixed = simulate(with_allocation(seed_scenario, split), 200, 7)
    for city, teams in split.items():
        expected = levels[teams].outcome("arrests", place=city)
        assert np.array_equal(mixed.outcome("arrests", place=city), expected), city


def test_the_probability_objective_backs_the_likelier_city(seed_scenario: Scenario) -> None:
    """Goal 40 persons from two cities: A (400 targets) can reach it alone with enough teams, B
    (40 targets, all found only rarely) cannot. The best chance puts the teams in A; the chance
    is checked on fresh replications against an even split."""
    scenario = variant(
        seed_scenario,
        **{
            "cities": [{"name": "A", "target_persons": 400}, {"name": "B", "target_persons": 40}],
            "city_overrides": {"A": {"teams": 2}, "B": {"teams": 2}},
            "leak.events": [],
            "operation.horizon_days": 30,
        },
    )
    answer = allocate_teams(
        scenario, 4, replications=400, seed=3, objective="probability", goal_persons=40
    )
    assert answer.proven_optimal
    assert answer.recommended["A"] > answer.recommended["B"]
    chance = answer.p_goal
    assert chance["recommended"] >= chance["current"]
    assert answer.as_dict()["objective"] == "probability"


def test_what_a_fresh_comparison_says_is_decided_in_the_library() -> None:
    """Issue 14: the command line printed these sentences after deciding them itself; now
    the planning layer says them and the CLI only prints."""
    from fieldcast.planning.objectives import comparison_notes

    chance = {
        "current": 0.0,
        "recommended": 0.0,
        "difference": 0.0,
        "difference_low": -0.01,
        "difference_high": 0.01,
    }
    spans_zero = {"median": 3.0, "p05": -2.0, "p95": 9.0, "mean": 3.2}
    above_zero = {"median": 30.0, "p05": 12.0, "p95": 48.0, "mean": 30.1}
    notes = comparison_notes("probability", 2040, 500, 8, spans_zero, chance)
    assert notes[0].startswith("On 500 fresh replications (seed 8), recommended minus current: 3")
    assert any("No candidate reaches 2,040 persons" in note for note in notes)
    assert any("The interval includes zero" in note for note in notes)
    notes = comparison_notes("expected", 2040, 500, 8, above_zero, {**chance, "current": 0.2})
    assert len(notes) == 1
