"""Step 1 of the day (``day_steps.DAY_STEPS``): moves. The initial addresses (who is at the
address on file on the first day), the quiet windows folded into one draw per cell, the
daily moves (alert moves, then baseline or leak moves), and the folded moves of
never-visited households, drawn when they are visited and, for the rest, on the last field
day up to the horizon.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fieldcast.compiled import ParameterTable
from fieldcast.engine.draws import (
    binomial,
    binomial_in_block,
    binomial_log1m,
    city_block,
    folds_unvisited,
    move,
    record_change,
    split_by_day,
)
from fieldcast.engine.state import (
    ADDRESS,
    AFTER_FIELD,
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
    UNVISITED_MOVES,
    Calendar,
    LaneKeys,
    LaneState,
    Log1m,
    Recording,
    Scratch,
)


@njit(**KERNEL)
def initial_addresses(
    seed: np.uint64,
    table: ParameterTable,
    log1m: Log1m,
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
            valid = binomial_log1m(
                seed,
                keys,
                lane,
                ADDRESS,
                0,
                k,
                c,
                0,
                n,
                table.p_address_valid[s, c],
                log1m.p_address_valid[s, c],
            )
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
    lanes also draw on which day each move happened (``split_by_day``), so that their daily
    path is exact."""
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
    attempts, classes, cities = state.at_address.shape[1:]
    for a in range(attempts):
        for k in range(classes):
            for c in range(cities):
                n = state.at_address[row, a, k, c]
                if n == 0:
                    continue
                if a == 0 and window == AFTER_FIELD and state.unvisited_as_of[row, c] >= end:
                    continue  # never visited: counted at the horizon already
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
                parts = split_by_day(
                    seed,
                    survival,
                    keys,
                    lane,
                    QUIET_MOVE_DAYS,
                    calendar.start_day,
                    k,
                    c,
                    window * 64 + a,
                    first,
                    end,
                    movers,
                    scratch,
                )
                for part in range(parts):  # moved on day index `moved_on`: pending until then
                    moved_on, count = scratch.part_day[part], scratch.part_count[part]
                    for i in range(first, moved_on):
                        if band_row >= 0:
                            recording.band_pending[band_row, i, k] += count
                        if trajectory_row >= 0:
                            recording.trajectory_pending[trajectory_row, i, k, c] += count


@njit(**KERNEL)
def unvisited_moved(
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
    k: int,
    c: int,
    found: int,
    end: int,
    slot: int,
) -> int:
    """Of ``found`` never-visited households that were at the address when slot 0 was last
    counted (``unvisited_as_of``), how many moved away since, to the end of day index
    ``end - 1``, in a lane that folds those moves: each stayed with the survival's ratio
    over those days. They move now, counted on the day slot 0 was counted from; daily means
    place them at their expected days (``unvisited_movers``, by the last day they could
    have moved). Drawn today (``day_index``) in ``slot`` 0 for the visited
    (``field_attempts``), 1 for the never visited (``unvisited_to_horizon``)."""
    s = keys.parameter_set[lane]
    survival = table.survival[s]
    first = state.unvisited_as_of[row, c]
    if first >= end or survival[first] <= 0.0:
        return 0
    p_move = 1.0 - survival[end] / survival[first]
    day = day_index + calendar.start_day
    movers = binomial(seed, keys, lane, UNVISITED_MOVES, day, k, c, slot, found, p_move)
    if movers == 0:
        return 0
    move(state, keys, recording, daily, row, lane, first, MOVED_AWAY, 0, k, c, movers)
    if daily:  # lanes with daily sums fold from the first day (first == 0)
        recording.unvisited_movers[s, end - 1, k, c] += movers
    return movers


@njit(**KERNEL)
def unvisited_to_horizon(
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
    """On the last field day (after its visits), in a lane that folds the moves of
    never-visited households: nobody visits them any more, so those still counted at their
    address move away with the probability of having moved by the horizon, one draw per
    cell, and slot 0 then counts from the horizon (the window after the field passes it
    by)."""
    classes, cities = state.at_address.shape[2:]
    end = calendar.day_count
    for c in range(cities):
        for k in range(classes):
            n = state.at_address[row, 0, k, c]
            if n > 0:
                unvisited_moved(
                    seed,
                    table,
                    calendar,
                    state,
                    keys,
                    recording,
                    daily,
                    row,
                    lane,
                    day_index,
                    k,
                    c,
                    n,
                    end,
                    1,
                )
        state.unvisited_as_of[row, c] = end


@njit(**KERNEL)
def moves(
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
    """Step 1: alert moves of households attempted but not contacted yesterday, then the
    baseline or leak hazard for open households at their address (on field days; quiet
    windows are folded, see ``quiet_window``, and so are the moves of never-visited
    households in lanes that fold them: ``unvisited_moved``, ``unvisited_to_horizon``)."""
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    attempts, classes, cities = state.at_address.shape[1:]
    p_alert = table.p_alert_move[s]
    log1m_alert = log1m.p_alert_move[s]
    block = scratch.uniform_blocks[0]
    if day > 0:
        for a in range(attempts):
            for k in range(classes):
                drawn = 0
                for c in range(cities):
                    drawn += state.alerted[row, a, k, c] > 0
                if drawn == 0:
                    continue
                blocked = p_alert > 0.0 and city_block(
                    seed,
                    keys.replication[lane],
                    keys.branch[lane],
                    ALERT_MOVES,
                    day,
                    k,
                    a,
                    drawn,
                    block,
                )
                for c in range(cities):
                    n = state.alerted[row, a, k, c]
                    if n == 0:
                        continue
                    state.alerted[row, a, k, c] = 0
                    if p_alert <= 0.0:
                        continue
                    leaving = binomial_in_block(
                        seed, keys, lane, ALERT_MOVES, day, k, c, a, n, p_alert, log1m_alert,
                        block, blocked,
                    )  # fmt: skip
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
    folds = folds_unvisited(keys, lane)
    hazard = table.hazard[s, day_index]
    if hazard <= 0.0:
        return
    # once a lane-day here, not in the batch's table: a day's hazard of every lane's own
    # set would be the table's largest part, for a logarithm that costs next to nothing here
    log1m_hazard = math.log1p(-hazard)
    for a in range(1 if folds else 0, attempts):
        for k in range(classes):
            drawn = 0
            for c in range(cities):
                drawn += state.at_address[row, a, k, c] > 0
            if drawn == 0:
                continue
            blocked = city_block(
                seed, keys.replication[lane], keys.branch[lane], MOVES, day, k, a, drawn, block
            )
            for c in range(cities):
                n = state.at_address[row, a, k, c]
                if n == 0:
                    continue
                leaving = binomial_in_block(
                    seed, keys, lane, MOVES, day, k, c, a, n, hazard, log1m_hazard, block, blocked
                )
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
