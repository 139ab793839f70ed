"""Step 3 of the day: dispositions. Today's arrests and yesterday's re-arrests are detained if
meant for detention and beds fit (``beds_and_seats.py``), else released on a notice to
depart, with an ankle monitor if one is meant and free.
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
    pick,
    record_change,
)
from fieldcast.engine.state import (
    AWAITING_DISPOSITION,
    BED_ALLOCATION,
    DETAIN_INTENT,
    DETAINED,
    DETENTIONS,
    KERNEL,
    MONITOR_ALLOCATION,
    MONITOR_INTENT,
    MONITORED,
    MONITORS_FITTED,
    NOTICES,
    ON_NOTICE,
    Calendar,
    LaneKeys,
    LaneState,
    Log1m,
    Recording,
    Scratch,
)


@njit(**KERNEL)
def dispositions(
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
    """Step 3: today's arrests and yesterday's re-arrests: detention if meant and beds fit,
    else a notice to depart (with a monitor if one is meant and free)."""
    if national_total(state, row, AWAITING_DISPOSITION) == 0:
        return
    classes, cities = state.awaiting.shape[1:]
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    meant, released, meant_monitor = scratch.meant, scratch.released, scratch.meant_monitor
    block = scratch.uniform_blocks[0]
    for k in range(classes):
        drawn = 0
        for c in range(cities):
            drawn += state.awaiting[row, k, c] > 0
        blocked = city_block(
            seed, keys.replication[lane], keys.branch[lane], DETAIN_INTENT, day, k, 0, drawn, block
        )
        for c in range(cities):
            meant[k, c] = 0
            n = state.awaiting[row, k, c]
            if n > 0:
                meant[k, c] = binomial_in_block(
                    seed, keys, lane, DETAIN_INTENT, day, k, c, 0, n, table.p_detain[s, c],
                    log1m.p_detain[s, c], block, blocked,
                )  # fmt: skip
    beds_free = max(table.free_beds[s] - state.beds_used[row], 0)
    if fit_largest_first(
        seed, calendar, state, keys, scratch, row, lane, BED_ALLOCATION, day, meant, beds_free
    ):
        recording.bed_shortfall_days[lane] += 1
    slot = day_index % state.processing.shape[1]
    for k in range(classes):
        drawn = 0
        for c in range(cities):
            drawn += state.awaiting[row, k, c] > scratch.placed[k, c]
        blocked = city_block(
            seed, keys.replication[lane], keys.branch[lane], MONITOR_INTENT, day, k, 0, drawn, block
        )
        for c in range(cities):
            n = state.awaiting[row, k, c]
            released[k, c] = 0
            meant_monitor[k, c] = 0
            if n == 0:
                continue
            state.awaiting[row, k, c] = 0
            record_change(
                state, keys, recording, daily, row, lane, day_index, AWAITING_DISPOSITION, k, c, -n
            )
            held = scratch.placed[k, c]
            if held > 0:
                state.processing[row, slot, k, c] += held
                state.processing_slot_total[row, slot] += held
                state.beds_used[row] += held * calendar.sizes[k]
                record_change(
                    state, keys, recording, daily, row, lane, day_index, DETENTIONS, k, c, held
                )
                record_change(
                    state, keys, recording, daily, row, lane, day_index, DETAINED, k, c, held
                )
            released[k, c] = n - held
            if n > held:
                meant_monitor[k, c] = binomial_in_block(
                    seed, keys, lane, MONITOR_INTENT, day, k, c, 0, n - held,
                    table.p_monitor[s, c], log1m.p_monitor[s, c], block, blocked,
                )  # fmt: skip
    notice_slot = day_index % state.notice.shape[1]
    for c in range(cities):
        wanted = 0
        for k in range(classes):
            wanted += meant_monitor[k, c]
            scratch.pool[k] = meant_monitor[k, c]
            scratch.picked[k] = meant_monitor[k, c]
        free = table.monitors[s, c] - state.monitors_out[row, c]
        if wanted > free:
            recording.monitor_shortfall_days[lane, c] += 1
            pick(
                seed,
                state,
                keys,
                row,
                lane,
                MONITOR_ALLOCATION,
                day,
                classes,
                max(free, 0),
                scratch,
                -1,
                c,
                0,
            )
        for k in range(classes):
            n = released[k, c]
            if n == 0:
                continue
            worn = scratch.picked[k]
            state.notice[row, notice_slot, 0, k, c] += n - worn
            state.notice[row, notice_slot, 1, k, c] += worn
            state.notice_slot_total[row, notice_slot] += n
            state.monitors_out[row, c] += worn
            record_change(state, keys, recording, daily, row, lane, day_index, NOTICES, k, c, n)
            record_change(state, keys, recording, daily, row, lane, day_index, ON_NOTICE, k, c, n)
            if worn > 0:
                record_change(
                    state,
                    keys,
                    recording,
                    daily,
                    row,
                    lane,
                    day_index,
                    MONITORS_FITTED,
                    k,
                    c,
                    worn,
                )
                record_change(
                    state, keys, recording, daily, row, lane, day_index, MONITORED, k, c, worn
                )
