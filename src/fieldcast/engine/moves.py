"""Step 1 of the day (``day_steps.DAY_STEPS``): moves. The initial addresses (who is at the
address on file on the first day), the quiet windows folded into one draw per cell, and the
daily moves: alert moves, then baseline or leak moves.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldcast.compiled import ParameterTable
from fieldcast.engine.draws import binomial, move, record_change
from fieldcast.engine.state import (
    ADDRESS,
    ALERT_MOVES,
    AT_ADDRESS,
    KERNEL,
    MOVED,
    MOVED_AFTER_ALERT,
    MOVED_AWAY,
    MOVES,
    OPEN,
    QUIET_MOVE_DAYS,
    QUIET_MOVES,
    Calendar,
    LaneKeys,
    LaneState,
    Recording,
    Scratch,
)


@njit(**KERNEL)
def initial_addresses(
    seed: np.uint64,
    table: ParameterTable,
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    daily: bool,
    row: int,
    lane: int,
) -> None:
    """Stage 2: each target household is still at its address with the city's probability.
    Keyed to day 0 whatever the start day, so scenarios with other leak dates share it."""
    s = keys.parameter_set[lane]
    cities, classes = table.households.shape[1:]
    for c in range(cities):
        for k in range(classes):
            n = table.households[s, c, k]
            if n == 0:
                continue
            valid = binomial(seed, keys, lane, ADDRESS, 0, k, c, 0, n, table.p_address_valid[s, c])
            state.at_address[row, 0, k, c] = valid
            state.moved[row, 0, k, c] = n - valid
            record_change(state, keys, recording, daily, row, lane, 0, OPEN, k, c, n)
            record_change(state, keys, recording, daily, row, lane, 0, AT_ADDRESS, k, c, valid)
            record_change(state, keys, recording, daily, row, lane, 0, MOVED, k, c, n - valid)


@njit(**KERNEL)
def quiet_window(
    seed: np.uint64,
    table: ParameterTable,
    calendar: Calendar,
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    scratch: Scratch,
    daily: bool,
    row: int,
    lane: int,
    window: int,
    first: int,
    end: int,
) -> None:
    """Fold the hazard moves of day indices [first, end) for households at their address:
    one binomial per cell for who moves at all, recorded on the window's first day. Sampled
    lanes also draw on which day each move happened (a binary split of the window, each half
    by its share of the window's moves), so that their daily path is exact."""
    s = keys.parameter_set[lane]
    survival = table.survival[s]
    if survival[first] <= 0.0:
        return
    p_move = 1.0 - survival[end] / survival[first]
    if p_move <= 0.0:
        return
    day = first + calendar.start_day
    band_row = keys.band_row[lane]
    trajectory_row = keys.trajectory_row[lane]
    low_of, high_of, count_of = scratch.stack_low, scratch.stack_high, scratch.stack_count
    attempts, classes, cities = state.at_address.shape[1:]
    for a in range(attempts):
        for k in range(classes):
            for c in range(cities):
                n = state.at_address[row, a, k, c]
                if n == 0:
                    continue
                movers = binomial(
                    seed, keys, lane, QUIET_MOVES, day, k, c, window * 64 + a, n, p_move
                )
                if movers == 0:
                    continue
                move(state, keys, recording, daily, row, lane, first, MOVED_AWAY, a, k, c, movers)
                if daily:
                    recording.quiet_movers[s, window, k, c] += movers
                if band_row < 0 and trajectory_row < 0:
                    continue
                low_of[0], high_of[0], count_of[0] = first, end, movers
                top = 1
                while top > 0:
                    top -= 1
                    low, high, count = low_of[top], high_of[top], count_of[top]
                    if high - low == 1:  # `count` moved on day index `low`: pending until then
                        for i in range(first, low):
                            if band_row >= 0:
                                recording.band_pending[band_row, i, k] += count
                            if trajectory_row >= 0:
                                recording.trajectory_pending[trajectory_row, i, k, c] += count
                        continue
                    middle = (low + high) // 2
                    share = (survival[low] - survival[middle]) / (survival[low] - survival[high])
                    left = binomial(
                        seed,
                        keys,
                        lane,
                        QUIET_MOVE_DAYS,
                        middle + calendar.start_day,
                        k,
                        c,
                        window * 64 + a,
                        count,
                        share,
                    )
                    if left > 0:
                        low_of[top], high_of[top], count_of[top] = low, middle, left
                        top += 1
                    if count > left:
                        low_of[top], high_of[top], count_of[top] = middle, high, count - left
                        top += 1


@njit(**KERNEL)
def moves(
    seed: np.uint64,
    table: ParameterTable,
    calendar: Calendar,
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    daily: bool,
    row: int,
    lane: int,
    day_index: int,
) -> None:
    """Step 1: alert moves of households attempted but not contacted yesterday, then the
    baseline or leak hazard for open households at their address (on field days; quiet
    windows are folded, see ``quiet_window``)."""
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    attempts, classes, cities = state.at_address.shape[1:]
    p_alert = table.p_alert_move[s]
    if day > 0:
        for a in range(attempts):
            for k in range(classes):
                for c in range(cities):
                    n = state.alerted[row, a, k, c]
                    if n == 0:
                        continue
                    state.alerted[row, a, k, c] = 0
                    if p_alert <= 0.0:
                        continue
                    leaving = binomial(seed, keys, lane, ALERT_MOVES, day, k, c, a, n, p_alert)
                    if leaving > 0:
                        move(
                            state,
                            keys,
                            recording,
                            daily,
                            row,
                            lane,
                            day_index,
                            MOVED_AFTER_ALERT,
                            a,
                            k,
                            c,
                            leaving,
                        )
    if day >= calendar.field_days:
        return  # after the field window the hazard moves are folded
    hazard = table.hazard[s, day_index]
    if hazard <= 0.0:
        return
    for a in range(attempts):
        for k in range(classes):
            for c in range(cities):
                n = state.at_address[row, a, k, c]
                if n == 0:
                    continue
                leaving = binomial(seed, keys, lane, MOVES, day, k, c, a, n, hazard)
                if leaving > 0:
                    move(
                        state,
                        keys,
                        recording,
                        daily,
                        row,
                        lane,
                        day_index,
                        MOVED_AWAY,
                        a,
                        k,
                        c,
                        leaving,
                    )
