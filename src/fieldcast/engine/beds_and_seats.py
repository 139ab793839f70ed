"""Beds and removal seats: households placed into a capacity in persons, largest households
first (first-fit decreasing), the last places drawn at random among cities. Step 3 fills
beds with it, step 4 removal seats.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldcast.engine.draws import pick
from fieldcast.engine.state import KERNEL, Calendar, LaneKeys, LaneState, Scratch


@njit(**KERNEL)
def fit_largest_first(
    seed: np.uint64,
    calendar: Calendar,
    state: LaneState,
    keys: LaneKeys,
    scratch: Scratch,
    row: int,
    lane: int,
    stream: int,
    day: int,
    demand: np.ndarray,
    room: int,
) -> bool:
    """Place households (``demand``: [class, city]) into ``room`` persons' worth of places
    (beds or seats), into ``scratch.placed``: largest households first (first-fit
    decreasing); within a size class, which cities' households get the last places is uniform
    at random. True if some did not fit."""
    cities = demand.shape[1]
    placed = scratch.placed
    short = False
    for k in calendar.largest_first:
        size = calendar.sizes[k]
        wanted = 0
        for c in range(cities):
            wanted += demand[k, c]
        fits = min(wanted, room // size)
        if fits == wanted:
            for c in range(cities):
                placed[k, c] = demand[k, c]
        else:
            short = True
            for c in range(cities):
                scratch.pool[c] = demand[k, c]
            pick(seed, state, keys, row, lane, stream, day, cities, fits, scratch, k, -1, 0)
            for c in range(cities):
                placed[k, c] = scratch.picked[c]
        room -= fits * size
    return short
