"""The compiled day: one lane's day runs the steps of ``day_steps.DAY_STEPS`` in their order
(``one_day``), and ``run_days`` runs days for a range of lanes, lane by lane: the one
kernel a batch calls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from fieldcast.compiled import ParameterTable
from fieldcast.engine.detention_outflows import detention_outflows
from fieldcast.engine.dispositions import dispositions
from fieldcast.engine.draws import folds_unvisited
from fieldcast.engine.field_attempts import field_attempts
from fieldcast.engine.moves import initial_addresses, moves, quiet_window
from fieldcast.engine.notice_deadlines import notice_deadlines
from fieldcast.engine.prefetch import prefetch_lane
from fieldcast.engine.record import record
from fieldcast.engine.state import (
    AFTER_FIELD,
    BEFORE_FIELD,
    KERNEL,
    Calendar,
    LaneKeys,
    LaneState,
    Log1m,
    Recording,
    Scratch,
)


@njit(**KERNEL)
def one_day(
    seed: np.uint64,
    table: ParameterTable,
    log1m: Log1m,
    calendar: Calendar,
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    scratch: Scratch,
    daily: bool,
    row: int,
    lane: int,
    day_index: int,
) -> None:
    """One day of one lane: the steps of ``day_steps.DAY_STEPS`` in their order, with the
    quiet windows folded on their first day (the start, before day 0, unless the lane folds
    the moves of never-visited households from there on; the day after the last field
    day)."""
    day = day_index + calendar.start_day
    if day_index == 0:
        initial_addresses(seed, table, log1m, state, keys, recording, daily, row, lane)
        if day < 0 and not folds_unvisited(keys, lane):  # else folded up to the visits
            quiet_window(
                seed,
                table,
                calendar,
                state,
                keys,
                recording,
                scratch,
                daily,
                row,
                lane,
                BEFORE_FIELD,
                0,
                -calendar.start_day,
            )
    if day >= 0:
        if day <= calendar.field_days:
            moves(
                seed,
                table,
                log1m,
                calendar,
                state,
                keys,
                recording,
                scratch,
                daily,
                row,
                lane,
                day_index,
            )
        if day == calendar.field_days:
            quiet_window(
                seed,
                table,
                calendar,
                state,
                keys,
                recording,
                scratch,
                daily,
                row,
                lane,
                AFTER_FIELD,
                day_index,
                calendar.day_count,
            )
        field_attempts(
            seed,
            table,
            log1m,
            calendar,
            state,
            keys,
            recording,
            scratch,
            daily,
            row,
            lane,
            day_index,
        )
        dispositions(
            seed,
            table,
            log1m,
            calendar,
            state,
            keys,
            recording,
            scratch,
            daily,
            row,
            lane,
            day_index,
        )
        detention_outflows(
            seed,
            table,
            log1m,
            calendar,
            state,
            keys,
            recording,
            scratch,
            daily,
            row,
            lane,
            day_index,
        )
        notice_deadlines(
            seed,
            table,
            log1m,
            calendar,
            state,
            keys,
            recording,
            scratch,
            daily,
            row,
            lane,
            day_index,
        )
    record(table, calendar, state, keys, recording, row, lane, day_index)


@njit(cache=True, _nrt=False, nogil=True)
def run_days(
    seed: np.uint64,
    table: ParameterTable,
    log1m: Log1m,
    calendar: Calendar,
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    scratch: Scratch,
    daily: bool,
    first_day_index: int,
    end_day_index: int,
    straight: bool,
    first_lane: int,
    end_lane: int,
) -> None:
    """Days [first_day_index, end_day_index) for lanes [first_lane, end_lane), lane by lane
    (lanes are independent). A ``straight`` run (all days, no pause) keeps one state row,
    cleared for each lane; a paused run asks for the next lane's state while it runs one
    (``prefetch.prefetch_lane``).

    It lets go of the GIL (``nogil``): a Dask worker's event loop, which sends a finished
    chunk's results while the next chunk runs, waited for it otherwise."""
    for lane in range(first_lane, end_lane):
        row = 0 if straight else lane
        if straight:
            clear_row(state, row)
        elif lane + 1 < end_lane:  # the next lane's state, out of cache since its last day
            prefetch_lane(calendar, state, lane + 1, first_day_index)
        for day_index in range(first_day_index, end_day_index):
            one_day(
                seed,
                table,
                log1m,
                calendar,
                state,
                keys,
                recording,
                scratch,
                daily,
                row,
                lane,
                day_index,
            )


@njit(**KERNEL)
def clear_row(state: LaneState, row: int) -> None:
    """Empty a state row for the next lane: what a lane leaves behind at the horizon is
    households still in rings, queues and stocks, and its counts."""
    for array in (state.at_address, state.moved, state.alerted):
        array[row] = 0
    for array in (state.awaiting, state.queue):
        array[row] = 0
    for slot in range(state.processing.shape[1]):
        if state.processing_slot_total[row, slot] > 0:
            state.processing[row, slot] = 0
            state.processing_slot_total[row, slot] = 0
    for slot in range(state.notice.shape[1]):
        if state.notice_slot_total[row, slot] > 0:
            state.notice[row, slot] = 0
            state.notice_slot_total[row, slot] = 0
    state.monitors_out[row] = 0
    state.beds_used[row] = 0
    state.collateral[row] = 0
    state.counts[row] = 0
    state.national[row] = 0
    state.unvisited_as_of[row] = 0


def compiled_code_cached() -> bool:
    """Whether numba's cache holds ``run_days`` compiled: if not, the next run compiles it
    first, about a minute in which no chunk finishes (``first_forecast_seconds`` in ``make
    bench``), and the command line and the dashboard say so. numba has no public query for
    this; the index file of the function's cache is what numba itself reads to find it."""
    index = getattr(getattr(run_days._cache, "_cache_file", None), "_index_path", None)
    return index is None or Path(index).exists()
