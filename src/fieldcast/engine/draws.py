"""A cell's draws and changes, shared by the steps: uniforms keyed by where they are used
(``streams.py``), one at a time or a row of cities side by side (``city_block``), binomial
and (multivariate) hypergeometric draws by inversion (``sampling.py``) that cost nothing when
their outcome is certain, and every change of a count recorded in the lane's counts, its
national sums and the daily sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldcast.engine.state import (
    AT_ADDRESS,
    KERNEL,
    MOVED,
    SMALL,
    LaneKeys,
    LaneState,
    Recording,
    Scratch,
)
from fieldcast.sampling import binomial_draw, binomial_draw_log1m, hypergeometric_draw
from fieldcast.streams import city_uniforms, uniform


@njit(**SMALL)
def record_change(
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    daily: bool,
    row: int,
    lane: int,
    day_index: int,
    metric: int,
    k: int,
    c: int,
    households: int,
) -> None:
    """One change of a metric: the lane's counts, its national sums and the group's daily sum."""
    state.counts[row, metric, k, c] += households
    state.national[row, metric, k] += households
    if daily:
        recording.daily_sum[keys.group[lane], day_index, metric, k, c] += households


@njit(**SMALL)
def move(
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    daily: bool,
    row: int,
    lane: int,
    day_index: int,
    flow: int,
    a: int,
    k: int,
    c: int,
    households: int,
) -> None:
    """Open households at their address move away (``flow``: which kind of move)."""
    state.at_address[row, a, k, c] -= households
    state.moved[row, a, k, c] += households
    record_change(
        state, keys, recording, daily, row, lane, day_index, AT_ADDRESS, k, c, -households
    )
    record_change(state, keys, recording, daily, row, lane, day_index, MOVED, k, c, households)
    record_change(state, keys, recording, daily, row, lane, day_index, flow, k, c, households)


@njit(**SMALL)
def national_total(state: LaneState, row: int, metric: int) -> int:
    """Households of a metric in the lane, all classes and cities."""
    total = 0
    for k in range(state.national.shape[2]):
        total += state.national[row, metric, k]
    return total


@njit(**SMALL)
def draw(
    seed: np.uint64, keys: LaneKeys, lane: int, stream: int, day: int, k: int, c: int, slot: int
) -> float:
    keys.uniforms[lane] += 1
    return uniform(seed, keys.replication[lane], keys.branch[lane], stream, day, k, c, slot)


@njit(**SMALL)
def binomial(
    seed: np.uint64,
    keys: LaneKeys,
    lane: int,
    stream: int,
    day: int,
    k: int,
    c: int,
    slot: int,
    trials: int,
    probability: float,
) -> int:
    """A binomial draw of a cell; a draw whose outcome is certain costs no uniform."""
    if trials <= 0 or probability <= 0.0:
        return 0
    if probability >= 1.0:
        return trials
    return binomial_draw(trials, probability, draw(seed, keys, lane, stream, day, k, c, slot))


@njit(**SMALL)
def binomial_log1m(
    seed: np.uint64,
    keys: LaneKeys,
    lane: int,
    stream: int,
    day: int,
    k: int,
    c: int,
    slot: int,
    trials: int,
    probability: float,
    log1m: float,
) -> int:
    """``binomial`` of a parameter's probability, given its ``log1m`` (``state.Log1m``)."""
    if trials <= 0 or probability <= 0.0:
        return 0
    if probability >= 1.0:
        return trials
    u = draw(seed, keys, lane, stream, day, k, c, slot)
    return binomial_draw_log1m(trials, probability, log1m, u)


@njit(**SMALL)
def worth_a_block(drawn: int, width: int) -> bool:
    """Whether ``drawn`` uniforms of a row of ``width`` (its cities, in whole vectors) cost
    more one call at a time than the whole row side by side: on the development machines a
    uniform takes 8-10 ns alone and 1.5 ns in a block (``make bench``: ``philox_ns_per_uniform``
    and ``..._side_by_side``), so a quarter of the row drawing is more than enough."""
    return 4 * drawn >= width


@njit(**SMALL)
def city_block(
    seed: np.uint64,
    replication: int,
    branch: int,
    stream: int,
    day: int,
    k: int,
    slot: int,
    drawn: int,
    block: np.ndarray,
) -> bool:
    """The uniforms of one (stream, day, class, slot) for every city, side by side into
    ``block`` (``streams.city_uniforms``, in vector instructions), if ``drawn`` of the cities
    will draw enough of them (``worth_a_block``); whether it did. Those of cities that do not
    draw are computed for nothing and not counted (``uniform_of``). Scalars, not the lane's
    ``LaneKeys``: LLVM leaves this a call, and a call copies a named tuple of arrays whole
    (docs/performance.md)."""
    if not worth_a_block(drawn, block.shape[0]):
        return False
    city_uniforms(seed, replication, branch, stream, day, k, slot, block)
    return True


@njit(**SMALL)
def uniform_of(
    seed: np.uint64,
    keys: LaneKeys,
    lane: int,
    stream: int,
    day: int,
    k: int,
    c: int,
    slot: int,
    block: np.ndarray,
    blocked: bool,
) -> float:
    """A draw's uniform: city c's of ``block`` if the row was computed side by side
    (``city_block``), else computed now (``draw``); the same number either way."""
    if blocked:
        keys.uniforms[lane] += 1
        return block[c]
    return draw(seed, keys, lane, stream, day, k, c, slot)


@njit(**SMALL)
def binomial_in_block(
    seed: np.uint64,
    keys: LaneKeys,
    lane: int,
    stream: int,
    day: int,
    k: int,
    c: int,
    slot: int,
    trials: int,
    probability: float,
    log1m: float,
    block: np.ndarray,
    blocked: bool,
) -> int:
    """``binomial_log1m`` of a row that may have its uniforms side by side (``uniform_of``)."""
    if trials <= 0 or probability <= 0.0:
        return 0
    if probability >= 1.0:
        return trials
    u = uniform_of(seed, keys, lane, stream, day, k, c, slot, block, blocked)
    return binomial_draw_log1m(trials, probability, log1m, u)


@njit(**KERNEL)
def hypergeometric(
    seed: np.uint64,
    keys: LaneKeys,
    lane: int,
    stream: int,
    day: int,
    k: int,
    c: int,
    slot: int,
    good: int,
    bad: int,
    sample: int,
) -> int:
    """A hypergeometric draw of a cell; a draw whose outcome is certain costs no uniform.
    Inlined by numba (``KERNEL``): left to LLVM it stayed a call at six sites, and a call
    copies the whole ``LaneKeys`` onto the stack (seed-2019 8% slower)."""
    low, high = max(0, sample - bad), min(sample, good)
    if low >= high:
        return low
    return hypergeometric_draw(good, bad, sample, draw(seed, keys, lane, stream, day, k, c, slot))


@njit(**KERNEL)
def hypergeometric_in_block(
    seed: np.uint64,
    keys: LaneKeys,
    lane: int,
    stream: int,
    day: int,
    k: int,
    c: int,
    slot: int,
    good: int,
    bad: int,
    sample: int,
    block: np.ndarray,
    blocked: bool,
) -> int:
    """``hypergeometric`` of a row that may have its uniforms side by side (``uniform_of``)."""
    low, high = max(0, sample - bad), min(sample, good)
    if low >= high:
        return low
    u = uniform_of(seed, keys, lane, stream, day, k, c, slot, block, blocked)
    return hypergeometric_draw(good, bad, sample, u)


@njit(**SMALL)
def split_by_day(
    seed: np.uint64,
    survival: np.ndarray,
    keys: LaneKeys,
    lane: int,
    stream: int,
    start_day: int,
    k: int,
    c: int,
    slot: int,
    first: int,
    end: int,
    moves: int,
    scratch: Scratch,
) -> int:
    """On which day index in [first, end) each of ``moves`` moves happened, given that they
    happened in that window: the window is split in halves, the moves of the first half drawn
    as a binomial with the half's share of the window's move probability (from ``survival``,
    [day index] the share of households still at the address at its start), keyed by the
    middle day, and so on down to single days. Leaves the days with moves in
    ``scratch.part_day`` and their moves in ``scratch.part_count``; returns how many."""
    low_of, high_of, count_of = scratch.stack_low, scratch.stack_high, scratch.stack_count
    low_of[0], high_of[0], count_of[0] = first, end, moves
    top = 1
    parts = 0
    while top > 0:
        top -= 1
        low, high, count = low_of[top], high_of[top], count_of[top]
        if high - low == 1:
            scratch.part_day[parts] = low
            scratch.part_count[parts] = count
            parts += 1
            continue
        middle = (low + high) // 2
        share = (survival[low] - survival[middle]) / (survival[low] - survival[high])
        left = binomial(seed, keys, lane, stream, middle + start_day, k, c, slot, count, share)
        if left > 0:
            low_of[top], high_of[top], count_of[top] = low, middle, left
            top += 1
        if count > left:
            low_of[top], high_of[top], count_of[top] = middle, high, count - left
            top += 1
    return parts


@njit(**SMALL)
def folds_unvisited(keys: LaneKeys, lane: int) -> bool:
    """Whether the lane folds the moves of never-visited households (docs/model.md, section
    5): every lane but those that keep a daily path (``LaneKeys.daily_path``)."""
    return not keys.daily_path[lane]


@njit(**SMALL)
def pick(
    seed: np.uint64,
    state: LaneState,
    keys: LaneKeys,
    row: int,
    lane: int,
    stream: int,
    day: int,
    categories: int,
    picks: int,
    scratch: Scratch,
    key_class: int,
    key_city: int,
    first_slot: int,
) -> None:
    """A multivariate hypergeometric draw: ``picks`` items uniformly without replacement from
    the ``categories`` first entries of ``scratch.pool``, into ``scratch.picked``, as
    conditional hypergeometric draws (category j among j, j+1, ...).

    Category j's draw is keyed by a (class, city, slot): a fixed class and j as the city
    (``key_city`` < 0), or a fixed city and j as (slot, class) with ``classes`` classes per
    slot from ``first_slot`` (``key_class`` < 0)."""
    pool, picked = scratch.pool, scratch.picked
    classes = state.at_address.shape[2]
    remaining_pool = 0
    for j in range(categories):
        remaining_pool += pool[j]
    remaining = picks
    for j in range(categories):
        good = pool[j]
        remaining_pool -= good
        if remaining == 0 or good == 0:
            picked[j] = 0
            continue
        if remaining_pool == 0:
            picked[j] = remaining
            remaining = 0
            continue
        if key_city < 0:
            k, c, slot = key_class, j, 0
        else:
            k, c, slot = j % classes, key_city, first_slot + j // classes
        taken = hypergeometric(
            seed, keys, lane, stream, day, k, c, slot, good, remaining_pool, remaining
        )
        picked[j] = taken
        remaining -= taken
