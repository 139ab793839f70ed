"""Allocating teams: the split is exact (checked against exhaustive search, with and without
diminishing returns), and on a real scenario it does at least as well as the scenario's own."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import variant
from fieldcast.allocation import allocate_teams, best_split, exhaustive, with_allocation
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
