"""The lean field window (benchmarks/lean_field_window.py) is a bound on what a kernel written
from scratch would cost, so it must be the engine's field window in what it draws: its
arrests by the end of the field days must have the engine's distribution. A window without
alert moves must not pass for it."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import lean_field_window

from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine.lanes import simulate_chunk

LANES = 4000
SEED = 1


def _engine_arrests() -> np.ndarray:
    """Households arrested by the end of the field days, per replication (national)."""
    output = simulate_chunk(compile_scenario(load_scenario("seed-2019")), SEED, 0, LANES)
    return output.at_field_end[:, -1, 0, 0]


def _lean_mean(window: Callable, inputs: tuple) -> float:
    used = np.zeros(1, dtype=np.int64)
    return window(np.uint64(SEED), LANES, LANES, *inputs, used) / LANES


@pytest.mark.slow
def test_the_lean_window_arrests_as_the_engine_does() -> None:
    """Two means of 4,000 lanes each (the lean window's lanes are replications 4,000 to
    7,999, independent of the engine's 0 to 3,999), compared at five standard errors of
    their difference (the engine's spread for both): a false alarm about once in 1.7
    million runs. A window without alert moves arrests more at the later attempts, and must
    fail the same comparison."""
    engine = _engine_arrests()
    tolerance = 5 * engine.std(ddof=1) * math.sqrt(2 / LANES)
    window = lean_field_window.make_window(
        *lean_field_window.WAYS["engine's generator and samplers"]
    )
    inputs = lean_field_window.seed_2019_window()
    assert abs(_lean_mean(window, inputs) - engine.mean()) < tolerance
    without_alert_moves = (*inputs[:5], 0.0, *inputs[6:])
    assert abs(_lean_mean(window, without_alert_moves) - engine.mean()) > tolerance


def test_lanes_in_lockstep_make_the_same_draws() -> None:
    """The window with its lanes in lockstep draws what the one lane at a time does, in another
    order: the same number of draws and the same arrests, exactly."""
    inputs = lean_field_window.seed_2019_window()
    outcomes = []
    for window in (
        lean_field_window.make_window(*lean_field_window.WAYS["engine's generator and samplers"]),
        lean_field_window.make_lockstep_window(*lean_field_window.LOCKSTEP_WAYS["in lockstep"]),
    ):
        used = np.zeros(1, dtype=np.int64)
        arrests = window(np.uint64(SEED), 128, 4 * lean_field_window.BLOCK, *inputs, used)
        outcomes.append((arrests, used[0]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] > 0
