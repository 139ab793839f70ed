"""Step 2 of the day: field attempts up to each city's capacity, contact, arrest, collateral
arrests and closures after ``max_attempts``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldcast.compiled import ParameterTable
from fieldcast.engine.draws import (
    binomial_in_block,
    city_block,
    draw,
    folds_unvisited,
    hypergeometric_in_block,
    pick,
    record_change,
)
from fieldcast.engine.moves import unvisited_moved, unvisited_to_horizon
from fieldcast.engine.state import (
    ARREST,
    ARRESTS,
    AT_ADDRESS,
    ATTEMPTS,
    AWAITING_DISPOSITION,
    CLOSED,
    CLOSURES,
    COLLATERAL,
    CONTACT,
    CONTACTS,
    KERNEL,
    MOVED,
    NOT_FOUND,
    OPEN,
    SELECT_LOCATION,
    SELECT_NEW,
    SELECT_RETRY,
    Calendar,
    LaneKeys,
    LaneState,
    Log1m,
    Recording,
    Scratch,
)
from fieldcast.sampling import poisson_draw


@njit(**KERNEL)
def field_attempts(
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
    """Step 2: attempts up to each city's capacity, never-attempted households first, then
    re-attempts, uniformly at random within each group (at most one attempt a day).

    Which households is chosen first by (attempts made, class), ignoring where they are, which
    is the same in runs that differ only in moves (common random numbers); then, within each
    cell, how many of the picked are at the address (a hypergeometric split; in a lane that
    folds the moves of never-visited households, at the address when slot 0 was counted,
    then how many of those moved since: ``moves.unvisited_moved``), contact and arrest.

    Every city's choice comes first, then the visits of each (attempts made, class) across
    the cities, one draw at a time, so that a draw's uniforms can be computed for all the
    cities side by side where enough of them draw (``draws.city_block``): the order of the
    cities is free, as each city's draws are its own."""
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    if day < 0 or day >= calendar.field_days:
        return
    attempts, classes, cities = state.at_address.shape[1:]
    folds = folds_unvisited(keys, lane)
    pool, picked, visits = scratch.pool, scratch.picked, scratch.visits
    contacts_in_city = scratch.contacts_in_city
    # whom to visit, city by city (each city's choice is its own: the cities' order is free)
    for c in range(cities):
        contacts_in_city[c] = 0
        for a in range(attempts):
            for k in range(classes):
                visits[a, k, c] = 0
        capacity = table.capacity[s, day, c]
        if capacity == 0:
            continue
        fresh_total = 0
        for k in range(classes):
            pool[k] = state.at_address[row, 0, k, c] + state.moved[row, 0, k, c]
            fresh_total += pool[k]
        fresh = min(capacity, fresh_total)
        pick(seed, state, keys, row, lane, SELECT_NEW, day, classes, fresh, scratch, -1, c, 0)
        for k in range(classes):
            visits[0, k, c] = picked[k]
        retry_total = 0
        for a in range(1, attempts):
            for k in range(classes):
                j = (a - 1) * classes + k
                pool[j] = state.at_address[row, a, k, c] + state.moved[row, a, k, c]
                retry_total += pool[j]
        retry = min(capacity - fresh, retry_total)
        pick(
            seed,
            state,
            keys,
            row,
            lane,
            SELECT_RETRY,
            day,
            (attempts - 1) * classes,
            retry,
            scratch,
            -1,
            c,
            1,
        )
        for a in range(1, attempts):
            for k in range(classes):
                visits[a, k, c] = picked[(a - 1) * classes + k]
        if fresh + retry == capacity:
            recording.full_capacity_days[lane, c] += 1
    # the visits, cell by cell, each (attempts made, class) across the cities, from the most
    # attempts made down, so that a household moves up one slot only once
    block = scratch.uniform_blocks[0]
    at_home_in, contacts_in = scratch.at_home, scratch.contacts
    replication, branch = keys.replication[lane], keys.branch[lane]
    # each draw of a row in a pass of its own, so that its uniforms are computed side by side
    # only if enough cities draw (``city_block``)
    for a in range(attempts - 1, -1, -1):
        for k in range(classes):
            drawn = 0
            for c in range(cities):
                drawn += visits[a, k, c] > 0
            if drawn == 0:
                continue
            blocked = city_block(
                seed, replication, branch, SELECT_LOCATION, day, k, a, drawn, block
            )
            drawn = 0
            for c in range(cities):
                at_home = 0
                visited = visits[a, k, c]
                if visited > 0:
                    at_home = hypergeometric_in_block(
                        seed, keys, lane, SELECT_LOCATION, day, k, c, a,
                        state.at_address[row, a, k, c], state.moved[row, a, k, c], visited,
                        block, blocked,
                    )  # fmt: skip
                    if a == 0 and at_home > 0 and folds:  # at the address when slot 0 was counted
                        at_home -= unvisited_moved(
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
                            at_home,
                            day_index + 1,
                            0,
                        )
                at_home_in[c] = at_home
                drawn += at_home > 0
            blocked = city_block(seed, replication, branch, CONTACT, day, k, a, drawn, block)
            drawn = 0
            for c in range(cities):
                contacts = binomial_in_block(
                    seed, keys, lane, CONTACT, day, k, c, a, at_home_in[c], table.p_contact[s, c],
                    log1m.p_contact[s, c], block, blocked,
                )  # fmt: skip
                contacts_in[c] = contacts
                drawn += contacts > 0
            blocked = city_block(seed, replication, branch, ARREST, day, k, a, drawn, block)
            for c in range(cities):
                visited = visits[a, k, c]
                if visited == 0:
                    continue
                at_home, contacts = at_home_in[c], contacts_in[c]
                not_found = visited - at_home
                arrests = binomial_in_block(
                    seed, keys, lane, ARREST, day, k, c, a, contacts, table.p_arrest[s, c],
                    log1m.p_arrest[s, c], block, blocked,
                )  # fmt: skip
                contacts_in_city[c] += contacts
                stayed = at_home - arrests
                state.at_address[row, a, k, c] -= at_home
                state.moved[row, a, k, c] -= not_found
                if a + 1 < attempts:
                    state.at_address[row, a + 1, k, c] += stayed
                    state.moved[row, a + 1, k, c] += not_found
                    state.alerted[row, a + 1, k, c] += at_home - contacts
                else:  # max_attempts reached: closed
                    closures = stayed + not_found
                    for metric, change in (
                        (AT_ADDRESS, -stayed),
                        (MOVED, -not_found),
                        (OPEN, -closures),
                        (CLOSED, closures),
                        (CLOSURES, closures),
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
                record_change(
                    state, keys, recording, daily, row, lane, day_index, ATTEMPTS, k, c, visited
                )
                record_change(
                    state, keys, recording, daily, row, lane, day_index, NOT_FOUND, k, c, not_found
                )
                record_change(
                    state, keys, recording, daily, row, lane, day_index, CONTACTS, k, c, contacts
                )
                if arrests > 0:
                    state.awaiting[row, k, c] += arrests
                    for metric, change in (
                        (ARRESTS, arrests),
                        (OPEN, -arrests),
                        (AT_ADDRESS, -arrests),
                        (AWAITING_DISPOSITION, arrests),
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
    for c in range(cities):
        mean = table.collateral_per_contact[s, c] * contacts_in_city[c]
        if mean > 0.0:
            u = draw(seed, keys, lane, COLLATERAL, day, 0, c, 0)
            collateral = poisson_draw(mean, u)
            state.collateral[row, c] += collateral
            if daily:
                recording.collateral_daily_sum[keys.group[lane], day_index, c] += collateral
    if day == calendar.field_days - 1:
        # after the last field day the attempts made no longer matter: pool them, into slot
        # 0, or in a lane that folds into slot 1 (slot 0 keeps the never visited, counted
        # from now on at the horizon: ``moves.unvisited_to_horizon``)
        into = 0
        if folds:
            unvisited_to_horizon(
                seed, table, calendar, state, keys, recording, daily, row, lane, day_index
            )
            into = 1
        for a in range(into + 1, attempts):
            for k in range(classes):
                for c in range(cities):
                    state.at_address[row, into, k, c] += state.at_address[row, a, k, c]
                    state.moved[row, into, k, c] += state.moved[row, a, k, c]
                    state.alerted[row, into, k, c] += state.alerted[row, a, k, c]
                    state.at_address[row, a, k, c] = 0
                    state.moved[row, a, k, c] = 0
                    state.alerted[row, a, k, c] = 0
