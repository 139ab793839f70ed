"""The draw replay (benchmarks/draw_replay.py) hooks the engine's draws by name: a draw the
hooks miss, or a replayed outcome that differs, must stop it, not time something else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import draw_replay

BENCHMARKS = Path(draw_replay.__file__).parent


def test_the_replay_runs_on_the_engines_own_draws() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "draw_replay.py"), "-r", "3", "--rounds", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "outcomes replayed bit for bit" in done.stdout
    assert "draws, sorted by outcome" in done.stdout
    assert "draws, by site, eight at a time" in done.stdout


def test_uniforms_side_by_side_are_the_engines() -> None:
    """The lockstep bound's uniforms (``counters_of``, ``_uniforms_side_by_side``) are
    ``streams.uniform``'s, bit for bit, for keys over every field's range (negative days
    too); counters one word off give other numbers."""
    from fieldcast.streams import uniform

    rng = np.random.default_rng(5)
    count = 500
    keys = np.stack(
        [
            rng.integers(0, 100_000, count),  # replication
            rng.integers(0, 3, count),  # branch
            rng.integers(0, 20, count),  # stream
            rng.integers(-400, 400, count),  # day
            rng.integers(0, 5, count),  # class
            rng.integers(0, 30, count),  # city
            rng.integers(0, 200, count),  # slot
        ],
        axis=1,
    )
    expected = np.array([uniform(np.uint64(draw_replay.SEED), *map(int, key)) for key in keys])
    counters = draw_replay.counters_of(keys)
    side_by_side = np.empty(count)
    draw_replay._uniforms_side_by_side(counters, side_by_side)
    assert np.array_equal(side_by_side, expected)
    counters[2] += 1  # the day, stream and class word off by one
    draw_replay._uniforms_side_by_side(counters, side_by_side)
    assert not np.any(side_by_side == expected)


def test_a_replayed_outcome_that_differs_is_refused() -> None:
    # one binomial draw of 5 trials at p = 0.3, replication 0, stream 6, day 1, city 2
    row = [draw_replay.BINOMIAL, 0, 0, 6, 1, 0, 2, 0, 5, 0, 0, 0.3, 0]
    draws = draw_replay.Draws(np.array([row], dtype=np.float64))
    draws.replay(True, True)
    right = int(draws.outcomes[0])
    draws.recorded[0] = right + 1
    with pytest.raises(SystemExit, match="1 of 1 replayed draws differ"):
        draws.check()
    draws.recorded[0] = right
    draws.check()
