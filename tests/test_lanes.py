"""Lanes: replications of many parameter sets in one batch, paused, copied and resumed."""

from __future__ import annotations

import math
import mmap
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import fieldcast.engine.lanes as lanes_module
from conftest import variant
from fieldcast.compiled import compile_scenario
from fieldcast.engine import (
    NATIONAL_FIELDS,
    Lanes,
    LaneState,
    copied_state,
    distinct_lanes,
    simulate_chunk,
    splice_cities,
)
from fieldcast.engine.lanes import HUGE_PAGE
from fieldcast.recording import ChunkOutput
from fieldcast.scenario import Scenario

LANES = 60

KEPT = (
    "at_field_end",
    "at_horizon",
    "daily_sum",
    "band_sample",
    "city_band_sample",
    "trajectories",
    "bed_days",
    "monitor_days",
    "full_capacity_days",
    "collateral_at_horizon",
)


def _start(scenario: Scenario, pausable: bool) -> Lanes:
    return Lanes.start(
        [compile_scenario(scenario)],
        seed=5,
        parameter_set=np.zeros(LANES, dtype=np.int64),
        replication=np.arange(LANES),
        band_rows=np.arange(LANES),
        trajectory_rows=np.where(np.arange(LANES) < 5, np.arange(LANES), -1),
        pausable=pausable,
    )


def _same(first: ChunkOutput, second: ChunkOutput) -> None:
    for name in KEPT:
        assert np.array_equal(getattr(first, name), getattr(second, name)), name


def test_a_run_paused_every_day_is_the_run_straight_through(seed_scenario: Scenario) -> None:
    straight = _start(seed_scenario, pausable=False)
    straight.run()
    paused = _start(seed_scenario, pausable=True)
    for day in range(seed_scenario.start_day, seed_scenario.operation.horizon_days):
        paused.run_until(day)
        assert paused.day == day
    _same(straight.outputs()[0], paused.outputs()[0])


def test_a_large_paused_batch_keeps_its_state_in_memory_of_its_own(
    seed_scenario: Scenario,
) -> None:
    """A paused batch's state arrays of a huge page or more are memory for which Linux is
    asked for huge pages (``engine/lanes.py``, where the madvise exists): zeros, writable,
    and the batch paused at every field day ends as the batch run straight through."""
    lanes = 250  # the rings of households on notice: about 2.7 MB
    compiled = compile_scenario(seed_scenario)

    def start(pausable: bool) -> Lanes:
        return Lanes.start(
            [compiled], 5, np.zeros(lanes, np.int64), np.arange(lanes), pausable=pausable
        )

    paused = start(pausable=True)
    large = [array for array in paused.state if array.nbytes >= HUGE_PAGE]
    assert large, "no state array as large as a huge page: the test needs more lanes"
    for array in large:
        root = array
        while isinstance(root, np.ndarray) and root.base is not None:
            root = root.base
        if hasattr(mmap, "MADV_HUGEPAGE"):  # numpy's view of Python's mmap
            assert isinstance(root, memoryview) and isinstance(root.obj, mmap.mmap)
        assert array.flags.writeable and array.flags.c_contiguous and not array.any()
    for day in range(-1, seed_scenario.operation.field_days):
        paused.run_until(day)
    paused.run_until()
    straight = start(pausable=False)
    straight.run()
    _same(straight.outputs()[0], paused.outputs()[0])


@pytest.mark.skipif(not hasattr(mmap, "MADV_HUGEPAGE"), reason="no huge pages to ask for")
def test_a_kernel_that_refuses_huge_pages_still_gets_its_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Linux built without transparent huge pages refuses the advice (EINVAL): the state is
    made all the same, since the advice is only advice."""

    class Refusing(mmap.mmap):
        def madvise(self, *arguments: int) -> None:
            raise OSError(22, "Invalid argument")

    fake = types.SimpleNamespace(
        mmap=Refusing,
        MAP_PRIVATE=mmap.MAP_PRIVATE,
        MAP_ANONYMOUS=mmap.MAP_ANONYMOUS,
        MADV_HUGEPAGE=mmap.MADV_HUGEPAGE,
    )
    monkeypatch.setattr(lanes_module, "mmap", fake)
    zeros = lanes_module._zeros_in_huge_pages(HUGE_PAGE // 4, dtype=np.int32)
    assert zeros.shape == (HUGE_PAGE // 4,) and zeros.flags.writeable and not zeros.any()


def test_copies_share_their_past_and_draw_their_own_future(seed_scenario: Scenario) -> None:
    lanes = _start(seed_scenario, pausable=True)
    lanes.run_until(1)
    before = lanes.state.counts.copy()
    parents = np.repeat(np.arange(LANES // 2), 2)  # every other lane dropped, the rest doubled
    lanes.resample(parents)
    assert np.array_equal(lanes.state.counts, before[parents])
    lanes.run()
    arrests = lanes.outputs()[0].at_field_end[:, -1, 0, 0]  # households, national
    first_copies, second_copies = arrests[0::2], arrests[1::2]
    # the first copy of a lane keeps its numbers: it ends as the lane would have
    straight = _start(seed_scenario, pausable=False)
    straight.run()
    assert np.array_equal(first_copies, straight.outputs()[0].at_field_end[: LANES // 2, -1, 0, 0])
    # further copies draw new numbers from day 2 on: with five field days left most pairs
    # end apart (identical copies would end equal in all 30)
    assert (first_copies != second_copies).sum() >= LANES // 4


def test_resampling_every_lane_once_changes_nothing(seed_scenario: Scenario) -> None:
    lanes = _start(seed_scenario, pausable=True)
    lanes.run_until(3)
    lanes.resample(np.arange(LANES))
    lanes.run()
    straight = _start(seed_scenario, pausable=False)
    straight.run()
    expected = straight.outputs()[0]
    resumed = lanes.outputs()[0]
    assert np.array_equal(resumed.at_horizon, expected.at_horizon)
    assert np.array_equal(resumed.bed_days, expected.bed_days)


def test_lanes_of_several_parameter_sets_give_what_separate_runs_give(
    simple_scenario: Scenario,
) -> None:
    more_teams = variant(simple_scenario, **{"city_defaults.teams": 9})
    compiled = [compile_scenario(simple_scenario), compile_scenario(more_teams)]
    lanes = Lanes.start(
        compiled,
        seed=8,
        parameter_set=np.repeat([0, 1], 40),
        replication=np.tile(np.arange(100, 140), 2),
    )
    lanes.run()
    together = lanes.outputs()
    for one, output in zip(compiled, together, strict=True):
        alone = simulate_chunk(one, 8, 100, 40)
        for name in ("at_field_end", "at_horizon", "daily_sum", "bed_days"):
            assert np.array_equal(getattr(output, name), getattr(alone, name)), name
    assert not np.array_equal(together[0].at_field_end, together[1].at_field_end)


def test_splicing_takes_exactly_the_chosen_cities_and_lanes(seed_scenario: Scenario) -> None:
    """What a filter's splice must do: city c of lane l from the source where chosen, whole
    lanes (national sums too) where chosen, everything else left as it was."""
    target = _start(seed_scenario, pausable=True)
    target.run_until(2)
    rng = np.random.default_rng(3)
    source = LaneState(*(rng.integers(1, 100, a.shape).astype(a.dtype) for a in target.state))
    by_city = rng.random((LANES, len(seed_scenario.cities))) < 0.3
    whole = rng.random(LANES) < 0.2
    by_city |= whole[:, None]
    before = LaneState(*(a.copy() for a in target.state))
    splice_cities(target.state, source, by_city, whole)
    for name, after in target.state._asdict().items():
        old, new = getattr(before, name), getattr(source, name)
        if name in NATIONAL_FIELDS:
            taken = whole.reshape((-1,) + (1,) * (after.ndim - 1))
        else:
            taken = by_city.reshape((LANES,) + (1,) * (after.ndim - 2) + (by_city.shape[1],))
        expected = np.where(taken, new, old)
        assert np.array_equal(after, expected), name


def test_copies_of_a_lane_state_are_found_and_nothing_else(
    seed_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored filter keeps each distinct lane state once: the lanes rebuilt from the
    distinct states are the lanes, and lanes that merely share a fingerprint are kept apart."""
    lanes = _start(seed_scenario, pausable=True)
    lanes.run_until(3)
    parents = np.array([4, 4, 0, 9, 4, 0, 17, 9])
    copies = LaneState(*(a[parents] for a in lanes.state))
    distinct, state_of = distinct_lanes(copies)
    assert len(distinct) == 4  # the states of lanes 0, 4, 9, 17 differ on day 3
    for array in copies:
        assert np.array_equal(array[distinct][state_of], array)

    import fieldcast.engine.lanes as engine_lanes

    def one_fingerprint(rows: np.ndarray, fingerprint: np.ndarray) -> None:
        fingerprint[:] = 0  # every lane alike to the fingerprint: only a full comparison tells

    monkeypatch.setattr(engine_lanes, "_fingerprint", one_fingerprint)
    distinct, state_of = distinct_lanes(copies)
    assert len(distinct) == len(parents)
    for array in copies:
        assert np.array_equal(array[distinct][state_of], array)


def test_lanes_refuse_parameter_sets_of_different_shapes(simple_scenario: Scenario) -> None:
    longer = variant(simple_scenario, **{"operation.horizon_days": 90})
    with pytest.raises(ValueError, match="must share cities"):
        Lanes.start(
            [compile_scenario(simple_scenario), compile_scenario(longer)],
            seed=1,
            parameter_set=np.array([0, 1]),
            replication=np.array([0, 0]),
        )


def test_a_batch_that_is_not_pausable_cannot_stop_on_a_day(simple_scenario: Scenario) -> None:
    lanes = _start(simple_scenario, pausable=False)
    with pytest.raises(ValueError, match="pausable=True"):
        lanes.run_until(0)
    paused = _start(simple_scenario, pausable=True)
    paused.run_until(2)
    with pytest.raises(ValueError, match="cannot run until day 1"):
        paused.run_until(1)


BOUNDS_SCRIPT = """
import numpy as np
from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario, parameter_table_with
from fieldcast.engine import Lanes, simulate_chunk

for name in ("seed-2019", "seed-2019-as-executed"):
    one = compile_scenario(load_scenario(name))
    simulate_chunk(one, 1, 0, 30, band_sample=20, trajectory_sample=5)
    lanes = Lanes.start([one], 2, np.zeros(20, dtype=np.int64), np.arange(20),
                        band_rows=np.arange(20), trajectory_rows=np.arange(20), pausable=True)
    lanes.run_until(0)
    lanes.resample(np.repeat(np.arange(10), 2))
    lanes.run()
    lanes.outputs()
    table = parameter_table_with(one, {"p_contact": np.linspace(0.1, 0.9, 8)})
    lanes = Lanes.start([one], 3, np.arange(8), np.arange(8), daily=False, table=table)
    lanes.run()
national = compile_scenario(load_scenario("national"))
simulate_chunk(national, 1, 0, 3, band_sample=3, trajectory_sample=1)
print("in bounds")
"""


@pytest.mark.slow
def test_the_kernel_never_indexes_outside_its_arrays(tmp_path: Path) -> None:
    """The compiled kernel runs without bounds checks (and without reference counting), so a
    wrong index would silently corrupt memory. Here it runs the main paths (straight, paused
    and resampled, band and trajectory samples, per-lane parameters, two scenarios with many
    cells) compiled with numba's bounds checks, which raise IndexError instead. Compiled
    without LLVM's optimizations (``NUMBA_OPT=0``): numba writes the checks before LLVM sees
    the code, and optimizing can only drop a check it proves needless, never add one, while
    it took two thirds of this test's time (55 s against 150 s here)."""
    environment = {
        **os.environ,
        "NUMBA_BOUNDSCHECK": "1",
        "NUMBA_OPT": "0",
        "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),  # checked code, cached apart
    }
    done = subprocess.run(
        [sys.executable, "-c", BOUNDS_SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "in bounds" in done.stdout


def test_a_batch_logarithms_its_own_probabilities_as_the_kernel_would(
    seed_scenario: Scenario,
) -> None:
    """``log1m_table`` holds numba's ``math.log1p(-p)`` of each probability of the batch's
    own table (here lanes with their own draws of two of them), to the bit: a draw given it
    is then the draw that computes it (``test_sampling``)."""
    from numba import njit

    from fieldcast.compiled import parameter_table_with
    from fieldcast.engine.state import Log1m

    @njit
    def kernel_log1m(values: np.ndarray) -> np.ndarray:
        out = np.empty(values.size)
        for i in range(values.size):
            out[i] = math.log1p(-values.flat[i])
        return out

    rng = np.random.default_rng(4)
    table = parameter_table_with(
        compile_scenario(seed_scenario),
        {"p_contact": rng.random(50), "p_arrest": np.append(rng.random(49), 1.0)},
    )
    lanes = Lanes.start(
        [compile_scenario(seed_scenario)],
        seed=5,
        parameter_set=np.arange(50),
        replication=np.zeros(50, dtype=np.int64),
        table=table,
    )
    for name in Log1m._fields:
        probabilities = getattr(table, name)
        logarithms = getattr(lanes.log1m, name)
        assert logarithms.shape == probabilities.shape, name
        assert np.array_equal(logarithms.ravel(), kernel_log1m(probabilities)), name
    assert len(set(lanes.log1m.p_contact[:, 0])) == 50


def test_a_state_copied_into_a_spare_one_is_a_copy_in_the_spare_memory(
    seed_scenario: Scenario,
) -> None:
    """What a particle filter's children run on: the source unchanged by what runs on the
    copy, the spare's own arrays used, and a spare of other shapes refused."""
    lanes = _start(seed_scenario, pausable=True)
    lanes.run_until(3)
    source = lanes.state
    before = [array.copy() for array in source]
    spare = copied_state(source)
    for array in spare:
        array[...] = 7
    copy = copied_state(source, into=spare)
    assert copy is spare
    for name, array, original in zip(LaneState._fields, copy, before, strict=True):
        assert np.array_equal(array, original), name
        array[...] = 1
    for name, array, original in zip(LaneState._fields, source, before, strict=True):
        assert np.array_equal(array, original), name
    other = copied_state(LaneState(*(array[:5] for array in source)))
    with pytest.raises(ValueError, match="at_address"):
        copied_state(source, into=other)
