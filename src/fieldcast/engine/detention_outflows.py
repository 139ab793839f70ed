"""Step 4 of the day: detention outflows. Households done processing are released (relief)
or join the removal queue; then removals up to today's seats (``beds_and_seats.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldcast.compiled import ParameterTable
from fieldcast.engine.beds_and_seats import fit_largest_first
from fieldcast.engine.draws import (
    binomial_in_block,
    city_block,
    national_total,
    record_change,
)
from fieldcast.engine.state import (
    AWAITING_REMOVAL,
    DETAINED,
    KERNEL,
    RELIEF,
    RELIEF_STREAM,
    REMOVAL_ALLOCATION,
    REMOVALS,
    Calendar,
    LaneKeys,
    LaneState,
    Log1m,
    Recording,
    Scratch,
)


@njit(**KERNEL)
def detention_outflows(
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
    """Step 4: households done processing (relief releases, else the removal queue), then
    removals up to today's seats, largest households first."""
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    classes, cities = state.queue.shape[1:]
    if day_index >= calendar.processing_days:
        slot = (day_index - calendar.processing_days) % state.processing.shape[1]
        if state.processing_slot_total[row, slot] > 0:
            state.processing_slot_total[row, slot] = 0
            block = scratch.uniform_blocks[0]
            for k in range(classes):
                drawn = 0
                for c in range(cities):
                    drawn += state.processing[row, slot, k, c] > 0
                blocked = city_block(
                    seed,
                    keys.replication[lane],
                    keys.branch[lane],
                    RELIEF_STREAM,
                    day,
                    k,
                    0,
                    drawn,
                    block,
                )
                for c in range(cities):
                    done = state.processing[row, slot, k, c]
                    if done == 0:
                        continue
                    state.processing[row, slot, k, c] = 0
                    relief = binomial_in_block(
                        seed, keys, lane, RELIEF_STREAM, day, k, c, 0, done, table.p_relief[s],
                        log1m.p_relief[s], block, blocked,
                    )  # fmt: skip
                    state.queue[row, k, c] += done - relief
                    state.beds_used[row] -= relief * calendar.sizes[k]
                    for metric, change in (
                        (RELIEF, relief),
                        (DETAINED, -relief),
                        (AWAITING_REMOVAL, done - relief),
                    ):
                        record_change(
                            state,
                            keys,
                            recording,
                            daily,
                            row,
                            lane,
                            day_index,
                            metric,
                            k,
                            c,
                            change,
                        )
    if national_total(state, row, AWAITING_REMOVAL) == 0:
        return
    fit_largest_first(
        seed,
        calendar,
        state,
        keys,
        scratch,
        row,
        lane,
        REMOVAL_ALLOCATION,
        day,
        state.queue[row],
        table.removal_seats_per_day[s],
    )
    for k in range(classes):
        for c in range(cities):
            removed = scratch.placed[k, c]
            if removed == 0:
                continue
            state.queue[row, k, c] -= removed
            state.beds_used[row] -= removed * calendar.sizes[k]
            for metric, change in (
                (REMOVALS, removed),
                (DETAINED, -removed),
                (AWAITING_REMOVAL, -removed),
            ):
                record_change(
                    state, keys, recording, daily, row, lane, day_index, metric, k, c, change
                )
