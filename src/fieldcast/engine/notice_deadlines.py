"""Step 5 of the day: notice deadlines. Households released ``notice_days`` ago depart, are
re-arrested (if monitored) for disposition the next day, or are lost to follow-up; their
monitors come back.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldcast.compiled import ParameterTable
from fieldcast.engine.draws import (
    binomial_in_block,
    city_block,
    record_change,
)
from fieldcast.engine.state import (
    AWAITING_DISPOSITION,
    DEPARTURES,
    KERNEL,
    LOSSES,
    MONITORED,
    NOTICE_OUTCOME,
    ON_NOTICE,
    REARREST,
    REARRESTS,
    Calendar,
    LaneKeys,
    LaneState,
    Log1m,
    Recording,
    Scratch,
)


@njit(**KERNEL)
def notice_deadlines(
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
    """Step 5: households released ``notice_days`` ago depart, or (if monitored) are
    re-arrested for disposition tomorrow, or are lost to follow-up. Monitors come back."""
    if day_index < calendar.notice_days:
        return
    slot = (day_index - calendar.notice_days) % state.notice.shape[1]
    if state.notice_slot_total[row, slot] == 0:
        return
    state.notice_slot_total[row, slot] = 0
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    classes, cities = state.queue.shape[1:]
    block, rearrest_block = scratch.uniform_blocks[0], scratch.uniform_blocks[1]
    for monitored in range(2):
        for k in range(classes):
            drawn = 0
            for c in range(cities):
                drawn += state.notice[row, slot, monitored, k, c] > 0
            blocked = city_block(
                seed,
                keys.replication[lane],
                keys.branch[lane],
                NOTICE_OUTCOME,
                day,
                k,
                monitored,
                drawn,
                block,
            )
            rearrest_blocked = monitored == 1 and city_block(
                seed,
                keys.replication[lane],
                keys.branch[lane],
                REARREST,
                day,
                k,
                0,
                drawn,
                rearrest_block,
            )
            for c in range(cities):
                due = state.notice[row, slot, monitored, k, c]
                if due == 0:
                    continue
                state.notice[row, slot, monitored, k, c] = 0
                departed = binomial_in_block(
                    seed, keys, lane, NOTICE_OUTCOME, day, k, c, monitored, due,
                    table.p_comply[s], log1m.p_comply[s], block, blocked,
                )  # fmt: skip
                stayed = due - departed
                rearrested = 0
                if monitored == 1:
                    state.monitors_out[row, c] -= due
                    record_change(
                        state, keys, recording, daily, row, lane, day_index, MONITORED, k, c, -due
                    )
                    if stayed > 0:
                        rearrested = binomial_in_block(
                            seed, keys, lane, REARREST, day, k, c, 0, stayed,
                            table.p_rearrest_monitored[s], log1m.p_rearrest_monitored[s],
                            rearrest_block, rearrest_blocked,
                        )  # fmt: skip
                state.awaiting[row, k, c] += rearrested
                for metric, change in (
                    (ON_NOTICE, -due),
                    (DEPARTURES, departed),
                    (LOSSES, stayed - rearrested),
                    (REARRESTS, rearrested),
                    (AWAITING_DISPOSITION, rearrested),
                ):
                    record_change(
                        state, keys, recording, daily, row, lane, day_index, metric, k, c, change
                    )
