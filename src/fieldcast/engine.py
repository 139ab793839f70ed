"""The fast engine: exact count-based simulation, one compiled day loop over lanes.

Households of one city and one size class are exchangeable, so a lane's state is a set of
counts per (size class, city) (and, for open households, attempts made), and every daily
transition is a binomial, Poisson or (multivariate) hypergeometric draw on counts, drawn by
inversion (``sampling.py``) from a uniform keyed by where it is used (``streams.py``). This is
exact, not an approximation: it has the distribution of the per-household model in
``docs/model.md``, and its cost grows with lanes x cells with something to draw, not with
households.

A **lane** is one replication of one parameter set. A batch of lanes (``Lanes``) shares its
structure (cities, size classes, calendar) but every lane may carry its own parameter set
(``compiled.ParameterTable``). The whole per-day order runs in one numba-compiled kernel, lane
by lane; the steps are the functions named in ``day_steps.DAY_STEPS``, called in that order
by ``_day`` (a test checks the order against docs/model.md and the reference model). A batch
can be paused at the end of any day, its lanes copied (resampled) or dropped, and resumed; a
run paused and resumed without copying gives the same bits as one run straight through.

**Quiet windows.** Before day 0 and after the last field day, open households can only move
away; nothing else reads them. Each such window is folded into one binomial draw per cell
(who moves at all in the window, from the product of the daily survival chances), applied on
the window's first day. The daily series stay right: daily means get the expected day of
those moves (exact expectation given the draw), and the band and trajectory samples draw the
day of each move (``quiet_move_days``, a binary split of the window) so that every sampled
replication's daily path is a real one. docs/model.md, section 5, says the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

import fieldcast.compiled_code_cache  # noqa: F401 (first: where compiled code is cached)
from fieldcast.compiled import CompiledScenario, ParameterTable, Structure, parameter_table
from fieldcast.metrics import (
    CITY_BAND_METRICS,
    CITY_HORIZON_METRICS,
    FIELD_END_METRICS,
    HORIZON_METRICS,
    MEASURES,
    METRICS,
)
from fieldcast.recording import ChunkOutput, chunk_output
from fieldcast.sampling import binomial_draw, hypergeometric_draw, poisson_draw
from fieldcast.streams import STREAMS, uniform

# metric rows (numba sees module-level ints as constants)
PROGRESS_STEPS = 32  # a straight run with a progress callback runs its lanes in this many parts

_OPEN = METRICS.index("open")
_AT_ADDRESS = METRICS.index("at_address")
_MOVED = METRICS.index("moved")
_CLOSED = METRICS.index("closed")
_DETAINED = METRICS.index("detained")
_AWAITING_REMOVAL = METRICS.index("awaiting_removal")
_ON_NOTICE = METRICS.index("on_notice")
_MONITORED = METRICS.index("monitored")
_AWAITING_DISPOSITION = METRICS.index("awaiting_disposition")
_MOVED_AWAY = METRICS.index("moved_away")
_MOVED_AFTER_ALERT = METRICS.index("moved_after_alert")
_ATTEMPTS = METRICS.index("attempts")
_NOT_FOUND = METRICS.index("not_found")
_CONTACTS = METRICS.index("contacts")
_ARRESTS = METRICS.index("arrests")
_CLOSURES = METRICS.index("closures")
_DETENTIONS = METRICS.index("detentions")
_NOTICES = METRICS.index("notices")
_MONITORS_FITTED = METRICS.index("monitors_fitted")
_RELIEF = METRICS.index("relief_releases")
_REMOVALS = METRICS.index("removals")
_DEPARTURES = METRICS.index("departures")
_REARRESTS = METRICS.index("rearrests")
_LOSSES = METRICS.index("losses")
_METRIC_COUNT = len(METRICS)
_FIELD_END_ROWS = np.array([METRICS.index(m) for m in FIELD_END_METRICS], dtype=np.int64)
_HORIZON_ROWS = np.array([METRICS.index(m) for m in HORIZON_METRICS], dtype=np.int64)
_CITY_HORIZON_ROWS = np.array([METRICS.index(m) for m in CITY_HORIZON_METRICS], dtype=np.int64)
_CITY_BAND_ROWS = np.array([METRICS.index(m) for m in CITY_BAND_METRICS], dtype=np.int64)

_ADDRESS = STREAMS["address"]
_MOVES = STREAMS["moves"]
_ALERT_MOVES = STREAMS["alert_moves"]
_SELECT_NEW = STREAMS["select_new"]
_SELECT_RETRY = STREAMS["select_retry"]
_SELECT_LOCATION = STREAMS["select_location"]
_CONTACT = STREAMS["contact"]
_ARREST = STREAMS["arrest"]
_COLLATERAL = STREAMS["collateral"]
_DETAIN_INTENT = STREAMS["detain_intent"]
_BED_ALLOCATION = STREAMS["bed_allocation"]
_MONITOR_INTENT = STREAMS["monitor_intent"]
_MONITOR_ALLOCATION = STREAMS["monitor_allocation"]
_RELIEF_STREAM = STREAMS["relief"]
_REMOVAL_ALLOCATION = STREAMS["removal_allocation"]
_NOTICE_OUTCOME = STREAMS["notice_outcome"]
_REARREST = STREAMS["rearrest"]
_QUIET_MOVES = STREAMS["quiet_moves"]
_QUIET_MOVE_DAYS = STREAMS["quiet_move_days"]

_BEFORE_FIELD, _AFTER_FIELD = 0, 1  # the two quiet windows
_SPLIT_STACK = 128  # intervals pending in the binary split of a window (about log2 of its days)


class Calendar(NamedTuple):
    """The structure as plain numbers and arrays for the kernel."""

    sizes: np.ndarray  # [class] int64
    measure_weights: np.ndarray  # [class, measure] households, persons, minors per household
    largest_first: np.ndarray  # [class] class indices by decreasing size
    start_day: int
    day_count: int
    field_days: int
    max_attempts: int
    processing_days: int
    notice_days: int


class LaneKeys(NamedTuple):
    """Who each lane is (axis 0: lane)."""

    parameter_set: np.ndarray  # which row of the ParameterTable
    replication: np.ndarray  # the replication's index in its run (keys its random numbers)
    branch: np.ndarray  # tells apart copies of one replication (streams.py)
    group: np.ndarray  # which output (scenario) the lane's daily sums go to
    band_row: np.ndarray  # row in the band sample, or -1
    trajectory_row: np.ndarray  # row in the trajectory sample, or -1
    uniforms: np.ndarray  # uniforms drawn so far (what the benchmarks' generator floor needs)


class LaneState(NamedTuple):
    """Everything a lane carries from one day to the next (axis 0: the lane's row).

    A batch that is never paused keeps one row, used by each lane in turn (``_run_days``),
    so a straight run's state stays in the processor's cache whatever the number of lanes."""

    at_address: np.ndarray  # [lane, attempts made, class, city] open, at the address on file
    moved: np.ndarray  # [lane, attempts made, class, city] open, moved away
    alerted: np.ndarray  # [lane, attempts made, class, city] part of at_address
    awaiting: np.ndarray  # [lane, class, city] arrested or re-arrested, not yet disposed of
    processing: np.ndarray  # [lane, ring slot, class, city] detained, by day of detention
    processing_slot_total: np.ndarray  # [lane, ring slot] households
    queue: np.ndarray  # [lane, class, city] processed, waiting for a seat
    notice: np.ndarray  # [lane, ring slot, monitored, class, city] on notice, by release day
    notice_slot_total: np.ndarray  # [lane, ring slot] households
    monitors_out: np.ndarray  # [lane, city] monitors worn
    beds_used: np.ndarray  # [lane] persons detained
    collateral: np.ndarray  # [lane, city] non-target persons arrested, cumulative
    counts: np.ndarray  # [lane, metric, class, city] stocks now, flows cumulative
    national: np.ndarray  # [lane, metric, class] counts summed over cities


class Scratch(NamedTuple):
    """Working arrays of one lane-day, allocated once per batch: the kernel allocates nothing
    (it runs without numba's reference counting, which would otherwise cost more than the
    draws: every array taken from a tuple is counted in and out)."""

    pool: np.ndarray  # [categories] sizes of the categories of a multivariate draw
    picked: np.ndarray  # [categories] its result
    fresh_picked: np.ndarray  # [class] never-attempted households picked in a city
    retry_picked: np.ndarray  # [attempts made - 1, class] attempted households picked
    meant: np.ndarray  # [class, city] households meant for detention
    placed: np.ndarray  # [class, city] households placed in beds or seats
    released: np.ndarray  # [class, city] households released on notice
    meant_monitor: np.ndarray  # [class, city] released households meant for a monitor
    stack_low: np.ndarray  # [depth] binary split of a quiet window: first day index
    stack_high: np.ndarray  # [depth] end day index
    stack_count: np.ndarray  # [depth] moves in the interval


class Recording(NamedTuple):
    """What the kernel writes for the results (per lane, per group, per sampled replication)."""

    daily_sum: np.ndarray  # [group, day, metric, class, city] int64 over the group's lanes
    collateral_daily_sum: np.ndarray  # [group, day, city]
    quiet_movers: np.ndarray  # [set, window, class, city] households moved in quiet windows
    at_field_end: np.ndarray  # [lane, place, FIELD_END_METRICS, measure] (place: cities, total)
    at_horizon: np.ndarray  # [lane, HORIZON_METRICS, measure] national
    city_at_horizon: np.ndarray  # [lane, city, CITY_HORIZON_METRICS, measure]
    collateral_at_field_end: np.ndarray  # [lane, place]
    collateral_at_horizon: np.ndarray  # [lane, place]
    full_capacity_days: np.ndarray  # [lane, city]
    bed_shortfall_days: np.ndarray  # [lane]
    monitor_shortfall_days: np.ndarray  # [lane, city]
    removal_backlog_max: np.ndarray  # [lane] persons
    bed_days: np.ndarray  # [lane] persons x days
    monitor_days: np.ndarray  # [lane] households x days
    band: np.ndarray  # [band row, day, metric, measure] national totals
    band_pending: np.ndarray  # [band row, day, class] quiet moves recorded early, national
    city_band: np.ndarray  # [band row, day, city, city band metric] persons
    trajectory: np.ndarray  # [trajectory row, day, metric, class, city]
    trajectory_pending: np.ndarray  # [trajectory row, day, class, city]


# -- the kernel ----------------------------------------------------------------------------
# Every kernel function runs without numba's reference counting (``_nrt=False``) and is
# inlined into ``_run_days``; the kernel allocates nothing (``Scratch``).

_KERNEL = {"cache": True, "inline": "always", "_nrt": False}
_SMALL = {"cache": True, "_nrt": False}  # small helpers: LLVM inlines them


@njit(**_SMALL)
def _record_change(
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


@njit(**_SMALL)
def _move(
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
    _record_change(
        state, keys, recording, daily, row, lane, day_index, _AT_ADDRESS, k, c, -households
    )
    _record_change(state, keys, recording, daily, row, lane, day_index, _MOVED, k, c, households)
    _record_change(state, keys, recording, daily, row, lane, day_index, flow, k, c, households)


@njit(**_SMALL)
def _national_total(state: LaneState, row: int, metric: int) -> int:
    """Households of a metric in the lane, all classes and cities."""
    total = 0
    for k in range(state.national.shape[2]):
        total += state.national[row, metric, k]
    return total


@njit(**_SMALL)
def _draw(
    seed: np.uint64, keys: LaneKeys, lane: int, stream: int, day: int, k: int, c: int, slot: int
) -> float:
    keys.uniforms[lane] += 1
    return uniform(seed, keys.replication[lane], keys.branch[lane], stream, day, k, c, slot)


@njit(**_SMALL)
def _binomial(
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
    return binomial_draw(trials, probability, _draw(seed, keys, lane, stream, day, k, c, slot))


@njit(**_SMALL)
def _hypergeometric(
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
    """A hypergeometric draw of a cell; a draw whose outcome is certain costs no uniform."""
    low, high = max(0, sample - bad), min(sample, good)
    if low >= high:
        return low
    return hypergeometric_draw(good, bad, sample, _draw(seed, keys, lane, stream, day, k, c, slot))


@njit(**_SMALL)
def _pick(
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
        taken = _hypergeometric(
            seed, keys, lane, stream, day, k, c, slot, good, remaining_pool, remaining
        )
        picked[j] = taken
        remaining -= taken


@njit(**_KERNEL)
def _initial_addresses(
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
            valid = _binomial(
                seed, keys, lane, _ADDRESS, 0, k, c, 0, n, table.p_address_valid[s, c]
            )
            state.at_address[row, 0, k, c] = valid
            state.moved[row, 0, k, c] = n - valid
            _record_change(state, keys, recording, daily, row, lane, 0, _OPEN, k, c, n)
            _record_change(state, keys, recording, daily, row, lane, 0, _AT_ADDRESS, k, c, valid)
            _record_change(state, keys, recording, daily, row, lane, 0, _MOVED, k, c, n - valid)


@njit(**_KERNEL)
def _quiet_window(
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
                movers = _binomial(
                    seed, keys, lane, _QUIET_MOVES, day, k, c, window * 64 + a, n, p_move
                )
                if movers == 0:
                    continue
                _move(state, keys, recording, daily, row, lane, first, _MOVED_AWAY, a, k, c, movers)
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
                    left = _binomial(
                        seed,
                        keys,
                        lane,
                        _QUIET_MOVE_DAYS,
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


@njit(**_KERNEL)
def _moves(
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
    windows are folded, see ``_quiet_window``)."""
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
                    leaving = _binomial(seed, keys, lane, _ALERT_MOVES, day, k, c, a, n, p_alert)
                    if leaving > 0:
                        _move(
                            state,
                            keys,
                            recording,
                            daily,
                            row,
                            lane,
                            day_index,
                            _MOVED_AFTER_ALERT,
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
                leaving = _binomial(seed, keys, lane, _MOVES, day, k, c, a, n, hazard)
                if leaving > 0:
                    _move(
                        state,
                        keys,
                        recording,
                        daily,
                        row,
                        lane,
                        day_index,
                        _MOVED_AWAY,
                        a,
                        k,
                        c,
                        leaving,
                    )


@njit(**_KERNEL)
def _field_attempts(
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
    day_index: int,
) -> None:
    """Step 2: attempts up to each city's capacity, never-attempted households first, then
    re-attempts, uniformly at random within each group (at most one attempt a day).

    Which households is chosen first by (attempts made, class), ignoring where they are, which
    is the same in runs that differ only in moves (common random numbers); then, within each
    cell, how many of the picked are at the address (a hypergeometric split)."""
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    if day < 0 or day >= calendar.field_days:
        return
    attempts, classes, cities = state.at_address.shape[1:]
    pool, picked = scratch.pool, scratch.picked
    fresh_picked, retry_picked = scratch.fresh_picked, scratch.retry_picked
    for c in range(cities):
        capacity = table.capacity[s, day, c]
        if capacity == 0:
            continue
        fresh_total = 0
        for k in range(classes):
            pool[k] = state.at_address[row, 0, k, c] + state.moved[row, 0, k, c]
            fresh_total += pool[k]
        fresh = min(capacity, fresh_total)
        _pick(seed, state, keys, row, lane, _SELECT_NEW, day, classes, fresh, scratch, -1, c, 0)
        for k in range(classes):
            fresh_picked[k] = picked[k]
        retry_total = 0
        for a in range(1, attempts):
            for k in range(classes):
                j = (a - 1) * classes + k
                pool[j] = state.at_address[row, a, k, c] + state.moved[row, a, k, c]
                retry_total += pool[j]
        retry = min(capacity - fresh, retry_total)
        _pick(
            seed,
            state,
            keys,
            row,
            lane,
            _SELECT_RETRY,
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
                retry_picked[a - 1, k] = picked[(a - 1) * classes + k]
        if fresh + retry == capacity:
            recording.full_capacity_days[lane, c] += 1
        contacts_in_city = 0
        # from the most attempts made down, so that a household moves up one slot only once
        for a in range(attempts - 1, -1, -1):
            for k in range(classes):
                visits = fresh_picked[k] if a == 0 else retry_picked[a - 1, k]
                if visits == 0:
                    continue
                at_home = _hypergeometric(
                    seed,
                    keys,
                    lane,
                    _SELECT_LOCATION,
                    day,
                    k,
                    c,
                    a,
                    state.at_address[row, a, k, c],
                    state.moved[row, a, k, c],
                    visits,
                )
                not_found = visits - at_home
                contacts = _binomial(
                    seed, keys, lane, _CONTACT, day, k, c, a, at_home, table.p_contact[s, c]
                )
                arrests = _binomial(
                    seed, keys, lane, _ARREST, day, k, c, a, contacts, table.p_arrest[s, c]
                )
                contacts_in_city += contacts
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
                        (_AT_ADDRESS, -stayed),
                        (_MOVED, -not_found),
                        (_OPEN, -closures),
                        (_CLOSED, closures),
                        (_CLOSURES, closures),
                    ):
                        _record_change(
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
                _record_change(
                    state, keys, recording, daily, row, lane, day_index, _ATTEMPTS, k, c, visits
                )
                _record_change(
                    state, keys, recording, daily, row, lane, day_index, _NOT_FOUND, k, c, not_found
                )
                _record_change(
                    state, keys, recording, daily, row, lane, day_index, _CONTACTS, k, c, contacts
                )
                if arrests > 0:
                    state.awaiting[row, k, c] += arrests
                    for metric, change in (
                        (_ARRESTS, arrests),
                        (_OPEN, -arrests),
                        (_AT_ADDRESS, -arrests),
                        (_AWAITING_DISPOSITION, arrests),
                    ):
                        _record_change(
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
        mean = table.collateral_per_contact[s, c] * contacts_in_city
        if mean > 0.0:
            u = _draw(seed, keys, lane, _COLLATERAL, day, 0, c, 0)
            collateral = poisson_draw(mean, u)
            state.collateral[row, c] += collateral
            if daily:
                recording.collateral_daily_sum[keys.group[lane], day_index, c] += collateral
    if day == calendar.field_days - 1:
        # after the last field day the attempts made no longer matter: pool them
        for a in range(1, attempts):
            for k in range(classes):
                for c in range(cities):
                    state.at_address[row, 0, k, c] += state.at_address[row, a, k, c]
                    state.moved[row, 0, k, c] += state.moved[row, a, k, c]
                    state.alerted[row, 0, k, c] += state.alerted[row, a, k, c]
                    state.at_address[row, a, k, c] = 0
                    state.moved[row, a, k, c] = 0
                    state.alerted[row, a, k, c] = 0


@njit(**_KERNEL)
def _fit_largest_first(
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
            _pick(seed, state, keys, row, lane, stream, day, cities, fits, scratch, k, -1, 0)
            for c in range(cities):
                placed[k, c] = scratch.picked[c]
        room -= fits * size
    return short


@njit(**_KERNEL)
def _dispositions(
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
    day_index: int,
) -> None:
    """Step 3: today's arrests and yesterday's re-arrests: detention if meant and beds fit,
    else a notice to depart (with a monitor if one is meant and free)."""
    if _national_total(state, row, _AWAITING_DISPOSITION) == 0:
        return
    classes, cities = state.awaiting.shape[1:]
    s = keys.parameter_set[lane]
    day = day_index + calendar.start_day
    meant, released, meant_monitor = scratch.meant, scratch.released, scratch.meant_monitor
    for k in range(classes):
        for c in range(cities):
            meant[k, c] = 0
            n = state.awaiting[row, k, c]
            if n > 0:
                meant[k, c] = _binomial(
                    seed, keys, lane, _DETAIN_INTENT, day, k, c, 0, n, table.p_detain[s, c]
                )
    beds_free = max(table.free_beds[s] - state.beds_used[row], 0)
    if _fit_largest_first(
        seed, calendar, state, keys, scratch, row, lane, _BED_ALLOCATION, day, meant, beds_free
    ):
        recording.bed_shortfall_days[lane] += 1
    slot = day_index % state.processing.shape[1]
    for k in range(classes):
        for c in range(cities):
            n = state.awaiting[row, k, c]
            released[k, c] = 0
            meant_monitor[k, c] = 0
            if n == 0:
                continue
            state.awaiting[row, k, c] = 0
            _record_change(
                state, keys, recording, daily, row, lane, day_index, _AWAITING_DISPOSITION, k, c, -n
            )
            held = scratch.placed[k, c]
            if held > 0:
                state.processing[row, slot, k, c] += held
                state.processing_slot_total[row, slot] += held
                state.beds_used[row] += held * calendar.sizes[k]
                _record_change(
                    state, keys, recording, daily, row, lane, day_index, _DETENTIONS, k, c, held
                )
                _record_change(
                    state, keys, recording, daily, row, lane, day_index, _DETAINED, k, c, held
                )
            released[k, c] = n - held
            if n > held:
                meant_monitor[k, c] = _binomial(
                    seed, keys, lane, _MONITOR_INTENT, day, k, c, 0, n - held, table.p_monitor[s, c]
                )
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
            _pick(
                seed,
                state,
                keys,
                row,
                lane,
                _MONITOR_ALLOCATION,
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
            _record_change(state, keys, recording, daily, row, lane, day_index, _NOTICES, k, c, n)
            _record_change(state, keys, recording, daily, row, lane, day_index, _ON_NOTICE, k, c, n)
            if worn > 0:
                _record_change(
                    state,
                    keys,
                    recording,
                    daily,
                    row,
                    lane,
                    day_index,
                    _MONITORS_FITTED,
                    k,
                    c,
                    worn,
                )
                _record_change(
                    state, keys, recording, daily, row, lane, day_index, _MONITORED, k, c, worn
                )


@njit(**_KERNEL)
def _detention_outflows(
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
            for k in range(classes):
                for c in range(cities):
                    done = state.processing[row, slot, k, c]
                    if done == 0:
                        continue
                    state.processing[row, slot, k, c] = 0
                    relief = _binomial(
                        seed, keys, lane, _RELIEF_STREAM, day, k, c, 0, done, table.p_relief[s]
                    )
                    state.queue[row, k, c] += done - relief
                    state.beds_used[row] -= relief * calendar.sizes[k]
                    for metric, change in (
                        (_RELIEF, relief),
                        (_DETAINED, -relief),
                        (_AWAITING_REMOVAL, done - relief),
                    ):
                        _record_change(
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
    if _national_total(state, row, _AWAITING_REMOVAL) == 0:
        return
    _fit_largest_first(
        seed,
        calendar,
        state,
        keys,
        scratch,
        row,
        lane,
        _REMOVAL_ALLOCATION,
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
                (_REMOVALS, removed),
                (_DETAINED, -removed),
                (_AWAITING_REMOVAL, -removed),
            ):
                _record_change(
                    state, keys, recording, daily, row, lane, day_index, metric, k, c, change
                )


@njit(**_KERNEL)
def _notice_deadlines(
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
    for monitored in range(2):
        for k in range(classes):
            for c in range(cities):
                due = state.notice[row, slot, monitored, k, c]
                if due == 0:
                    continue
                state.notice[row, slot, monitored, k, c] = 0
                departed = _binomial(
                    seed, keys, lane, _NOTICE_OUTCOME, day, k, c, monitored, due, table.p_comply[s]
                )
                stayed = due - departed
                rearrested = 0
                if monitored == 1:
                    state.monitors_out[row, c] -= due
                    _record_change(
                        state, keys, recording, daily, row, lane, day_index, _MONITORED, k, c, -due
                    )
                    if stayed > 0:
                        rearrested = _binomial(
                            seed,
                            keys,
                            lane,
                            _REARREST,
                            day,
                            k,
                            c,
                            0,
                            stayed,
                            table.p_rearrest_monitored[s],
                        )
                state.awaiting[row, k, c] += rearrested
                for metric, change in (
                    (_ON_NOTICE, -due),
                    (_DEPARTURES, departed),
                    (_LOSSES, stayed - rearrested),
                    (_REARRESTS, rearrested),
                    (_AWAITING_DISPOSITION, rearrested),
                ):
                    _record_change(
                        state, keys, recording, daily, row, lane, day_index, metric, k, c, change
                    )


@njit(**_KERNEL)
def _record(
    calendar: Calendar,
    state: LaneState,
    keys: LaneKeys,
    recording: Recording,
    row: int,
    lane: int,
    day_index: int,
) -> None:
    """Step 6: the end-of-day figures (counts are kept up to date by every change)."""
    classes, cities = state.queue.shape[1:]
    sizes = calendar.sizes
    recording.bed_days[lane] += state.beds_used[row]
    monitored = 0
    backlog = 0
    for k in range(classes):
        monitored += state.national[row, _MONITORED, k]
        backlog += state.national[row, _AWAITING_REMOVAL, k] * sizes[k]
    recording.monitor_days[lane] += monitored
    if backlog > recording.removal_backlog_max[lane]:
        recording.removal_backlog_max[lane] = backlog
    if day_index == calendar.field_days - 1 - calendar.start_day:
        _keep_by_place(calendar, state, row, _FIELD_END_ROWS, recording.at_field_end[lane])
        _keep_collateral(state, row, recording.collateral_at_field_end[lane])
    if day_index == calendar.day_count - 1:
        _keep_national(calendar, state, row, _HORIZON_ROWS, recording.at_horizon[lane])
        _keep_by_place(calendar, state, row, _CITY_HORIZON_ROWS, recording.city_at_horizon[lane])
        _keep_collateral(state, row, recording.collateral_at_horizon[lane])
    band_row = keys.band_row[lane]
    if band_row >= 0:
        weights = calendar.measure_weights
        for m in range(_METRIC_COUNT):
            for q in range(3):
                value = 0
                for k in range(classes):
                    value += state.national[row, m, k] * weights[k, q]
                recording.band[band_row, day_index, m, q] = value
        for j in range(_CITY_BAND_ROWS.shape[0]):
            for c in range(cities):
                value = 0
                for k in range(classes):
                    value += state.counts[row, _CITY_BAND_ROWS[j], k, c] * sizes[k]
                recording.city_band[band_row, day_index, c, j] = value
    trajectory_row = keys.trajectory_row[lane]
    if trajectory_row >= 0:
        for m in range(_METRIC_COUNT):
            for k in range(classes):
                for c in range(cities):
                    value = state.counts[row, m, k, c]
                    recording.trajectory[trajectory_row, day_index, m, k, c] = value


@njit(**_SMALL)
def _keep_national(
    calendar: Calendar, state: LaneState, row: int, rows: np.ndarray, into: np.ndarray
) -> None:
    """The lane's national totals of some metrics (``rows``) in the three measures, into
    ``into`` [metric, measure]. Converted here, per lane, rather than from [class, city]
    arrays afterwards: those would be most of a large batch's memory."""
    weights = calendar.measure_weights
    for j in range(rows.shape[0]):
        for q in range(3):
            value = 0
            for k in range(weights.shape[0]):
                value += state.national[row, rows[j], k] * weights[k, q]
            into[j, q] = value


@njit(**_SMALL)
def _keep_by_place(
    calendar: Calendar, state: LaneState, row: int, rows: np.ndarray, into: np.ndarray
) -> None:
    """The lane's counts of some metrics (``rows``) per city in the three measures, into
    ``into`` [place, metric, measure]; a place after the cities, if there is one, gets the
    national total."""
    weights = calendar.measure_weights
    cities = state.counts.shape[3]
    with_total = into.shape[0] > cities
    for j in range(rows.shape[0]):
        for q in range(3):
            total = 0
            for c in range(cities):
                value = 0
                for k in range(weights.shape[0]):
                    value += state.counts[row, rows[j], k, c] * weights[k, q]
                into[c, j, q] = value
                total += value
            if with_total:
                into[cities, j, q] = total


@njit(**_SMALL)
def _keep_collateral(state: LaneState, row: int, into: np.ndarray) -> None:
    """Non-target persons arrested per city, then in all, into ``into`` [place]."""
    total = 0
    for c in range(state.collateral.shape[1]):
        into[c] = state.collateral[row, c]
        total += state.collateral[row, c]
    into[state.collateral.shape[1]] = total


@njit(**_KERNEL)
def _day(
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
    day_index: int,
) -> None:
    """One day of one lane: the steps of ``day_steps.DAY_STEPS`` in their order, with the
    quiet windows folded on their first day (the start, before day 0; the day after the last
    field day)."""
    day = day_index + calendar.start_day
    if day_index == 0:
        _initial_addresses(seed, table, state, keys, recording, daily, row, lane)
        if day < 0:
            _quiet_window(
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
                _BEFORE_FIELD,
                0,
                -calendar.start_day,
            )
    if day >= 0:
        if day <= calendar.field_days:
            _moves(seed, table, calendar, state, keys, recording, daily, row, lane, day_index)
        if day == calendar.field_days:
            _quiet_window(
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
                _AFTER_FIELD,
                day_index,
                calendar.day_count,
            )
        _field_attempts(
            seed, table, calendar, state, keys, recording, scratch, daily, row, lane, day_index
        )
        _dispositions(
            seed, table, calendar, state, keys, recording, scratch, daily, row, lane, day_index
        )
        _detention_outflows(
            seed, table, calendar, state, keys, recording, scratch, daily, row, lane, day_index
        )
        _notice_deadlines(
            seed, table, calendar, state, keys, recording, daily, row, lane, day_index
        )
    _record(calendar, state, keys, recording, row, lane, day_index)


@njit(cache=True, _nrt=False)
def _run_days(
    seed: np.uint64,
    table: ParameterTable,
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
    cleared for each lane."""
    for lane in range(first_lane, end_lane):
        row = 0 if straight else lane
        if straight:
            _clear(state, row)
        for day_index in range(first_day_index, end_day_index):
            _day(
                seed, table, calendar, state, keys, recording, scratch, daily, row, lane, day_index
            )


@njit(**_KERNEL)
def _clear(state: LaneState, row: int) -> None:
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


# -- lanes: batches of replications with their state ----------------------------------------


def _calendar(structure: Structure) -> Calendar:
    sizes = np.array(structure.sizes, dtype=np.int64)
    return Calendar(
        sizes=sizes,
        measure_weights=structure.measure_weights,
        largest_first=np.argsort(-sizes, kind="stable").astype(np.int64),
        start_day=structure.start_day,
        day_count=structure.day_count,
        field_days=structure.field_days,
        max_attempts=structure.max_attempts,
        processing_days=structure.processing_days,
        notice_days=structure.notice_days,
    )


def _zeros(*shape: int, dtype: type = np.int64) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def _lane_state(structure: Structure, rows: int) -> LaneState:
    """Household counts are int32 (at most 10**8 households a city fit with room to spare):
    a paused batch keeps every lane's rings, so their size is what a pause costs."""
    attempts, classes, cities = structure.max_attempts, structure.classes, structure.cities
    cells = (classes, cities)
    counts = np.int32
    return LaneState(
        at_address=_zeros(rows, attempts, *cells, dtype=counts),
        moved=_zeros(rows, attempts, *cells, dtype=counts),
        alerted=_zeros(rows, attempts, *cells, dtype=counts),
        awaiting=_zeros(rows, *cells, dtype=counts),
        processing=_zeros(rows, structure.processing_days + 1, *cells, dtype=counts),
        processing_slot_total=_zeros(rows, structure.processing_days + 1),
        queue=_zeros(rows, *cells, dtype=counts),
        notice=_zeros(rows, structure.notice_days + 1, 2, *cells, dtype=counts),
        notice_slot_total=_zeros(rows, structure.notice_days + 1),
        monitors_out=_zeros(rows, cities),
        beds_used=_zeros(rows),
        collateral=_zeros(rows, cities),
        counts=_zeros(rows, len(METRICS), *cells, dtype=counts),
        national=_zeros(rows, len(METRICS), classes),
    )


def _recording(
    structure: Structure, keys: LaneKeys, groups: int, parameter_sets: int, daily: bool
) -> Recording:
    lanes, classes, cities = len(keys.parameter_set), structure.classes, structure.cities
    cells, metrics, days = (classes, cities), len(METRICS), structure.day_count
    measures = len(MEASURES)
    bands = int(keys.band_row.max()) + 1 if lanes else 0
    trajectories = int(keys.trajectory_row.max()) + 1 if lanes else 0
    return Recording(
        daily_sum=_zeros(groups if daily else 0, days, metrics, *cells),
        collateral_daily_sum=_zeros(groups if daily else 0, days, cities),
        quiet_movers=_zeros(parameter_sets, 2, *cells),
        at_field_end=_zeros(lanes, cities + 1, len(FIELD_END_METRICS), measures, dtype=np.int32),
        at_horizon=_zeros(lanes, len(HORIZON_METRICS), measures, dtype=np.int32),
        city_at_horizon=_zeros(lanes, cities, len(CITY_HORIZON_METRICS), measures, dtype=np.int32),
        collateral_at_field_end=_zeros(lanes, cities + 1),
        collateral_at_horizon=_zeros(lanes, cities + 1),
        full_capacity_days=_zeros(lanes, cities, dtype=np.int32),
        bed_shortfall_days=_zeros(lanes, dtype=np.int32),
        monitor_shortfall_days=_zeros(lanes, cities, dtype=np.int32),
        removal_backlog_max=_zeros(lanes),
        bed_days=_zeros(lanes),
        monitor_days=_zeros(lanes),
        band=_zeros(bands, days, metrics, 3, dtype=np.int32),
        band_pending=_zeros(bands, days, classes, dtype=np.int32),
        city_band=_zeros(bands, days, cities, len(_CITY_BAND_ROWS), dtype=np.int32),
        trajectory=_zeros(trajectories, days, metrics, *cells, dtype=np.int32),
        trajectory_pending=_zeros(trajectories, days, *cells, dtype=np.int32),
    )


def _scratch(structure: Structure) -> Scratch:
    attempts, classes, cities = structure.max_attempts, structure.classes, structure.cities
    categories = max(cities, attempts * classes)
    return Scratch(
        pool=_zeros(categories),
        picked=_zeros(categories),
        fresh_picked=_zeros(classes),
        retry_picked=_zeros(max(attempts - 1, 1), classes),
        meant=_zeros(classes, cities),
        placed=_zeros(classes, cities),
        released=_zeros(classes, cities),
        meant_monitor=_zeros(classes, cities),
        stack_low=_zeros(_SPLIT_STACK),
        stack_high=_zeros(_SPLIT_STACK),
        stack_count=_zeros(_SPLIT_STACK),
    )


@dataclass
class Lanes:
    """A batch of lanes: replications, each of one parameter set, run day by day together.

    Build one with ``Lanes.start``. ``run()`` runs every lane from start to horizon (a
    straight run: the state of one lane at a time is kept); a batch started with
    ``pausable=True`` keeps every lane's state instead, so that ``run_until(day)`` can stop
    at the end of any day, ``resample(parents)`` copy or drop lanes, and ``run_until`` go on.
    ``outputs()`` gives what was recorded, one ``ChunkOutput`` per group.
    """

    compiled: list[CompiledScenario]
    table: ParameterTable
    calendar: Calendar
    seed: int
    keys: LaneKeys
    state: LaneState
    recording: Recording
    scratch: Scratch
    daily: bool
    groups: int
    pausable: bool
    next_day_index: int = 0
    _outputs: list[ChunkOutput] | None = None

    @classmethod
    def start(
        cls,
        compiled: Sequence[CompiledScenario],
        seed: int,
        parameter_set: np.ndarray,
        replication: np.ndarray,
        group: np.ndarray | None = None,
        band_rows: np.ndarray | None = None,
        trajectory_rows: np.ndarray | None = None,
        daily: bool = True,
        pausable: bool = False,
        table: ParameterTable | None = None,
        state: LaneState | None = None,
        next_day_index: int = 0,
    ) -> Lanes:
        """Lanes of ``compiled[parameter_set[i]]`` for replication ``replication[i]``.

        ``group`` (default: the parameter set) says which output a lane's daily sums go to;
        ``band_rows`` / ``trajectory_rows`` give each lane's row in the daily band and
        trajectory samples (-1: not sampled). ``daily=False`` skips daily sums (searches that
        only need per-replication values). ``table`` gives the parameter sets directly
        (``compiled.parameter_table_with``: one scenario plus draws) instead of compiling
        ``compiled``, which then only gives the structure. ``state`` (with ``pausable``)
        resumes lanes kept at the end of day index ``next_day_index - 1``; the lanes then
        use these arrays as their own."""
        if not 0 <= seed < 2**64:
            raise ValueError(f"seed must be between 0 and 2**64 - 1, got {seed}")
        if state is not None and not pausable:
            raise ValueError("a kept state resumes pausable lanes only")
        compiled = list(compiled)
        structure = compiled[0].structure
        parameter_set = np.asarray(parameter_set, dtype=np.int64)
        lanes = len(parameter_set)
        group = parameter_set.copy() if group is None else np.asarray(group, dtype=np.int64)
        unsampled = np.full(lanes, -1, dtype=np.int64)
        keys = LaneKeys(
            parameter_set=parameter_set,
            replication=np.asarray(replication, dtype=np.int64),
            branch=_zeros(lanes),
            group=group,
            band_row=unsampled if band_rows is None else np.asarray(band_rows, np.int64),
            trajectory_row=(
                unsampled if trajectory_rows is None else np.asarray(trajectory_rows, np.int64)
            ),
            uniforms=_zeros(lanes),
        )
        groups = int(group.max()) + 1 if lanes else 0
        return cls(
            compiled=compiled,
            table=parameter_table(compiled) if table is None else table,
            calendar=_calendar(structure),
            seed=seed,
            keys=keys,
            state=_lane_state(structure, lanes if pausable else 1) if state is None else state,
            recording=_recording(
                structure, keys, groups, len(compiled) if table is None else len(table[0]), daily
            ),
            scratch=_scratch(structure),
            daily=daily,
            groups=groups,
            pausable=pausable,
            next_day_index=next_day_index,
        )

    @property
    def day(self) -> int:
        """The last simulated day (day number), or the day before the start."""
        return self.calendar.start_day + self.next_day_index - 1

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Every lane from the start to the horizon. ``progress(fraction)`` hears after each
        ``1 / PROGRESS_STEPS`` of the lanes how far the run has got (a long chunk is then
        seen to move); the lanes are independent, so the results are the same."""
        if self.pausable:
            self.run_until()
            return
        if self.next_day_index != 0:
            raise ValueError("a batch that is not pausable runs once, from the start")
        lanes = len(self.keys.parameter_set)
        step = lanes if progress is None else max(1, -(-lanes // PROGRESS_STEPS))
        for first in range(0, lanes, step):
            end = min(first + step, lanes)
            self._run(0, self.calendar.day_count, straight=True, lanes=(first, end))
            if progress is not None:
                progress(end / lanes)

    def run_until(self, day: int | None = None) -> None:
        """Advance every lane to the end of ``day`` (default: the horizon's last day)."""
        if not self.pausable:
            raise ValueError("start the lanes with pausable=True to stop them on a day")
        end = self.calendar.day_count if day is None else day - self.calendar.start_day + 1
        if not self.next_day_index <= end <= self.calendar.day_count:
            raise ValueError(
                f"cannot run until day {day}: the lanes are at the end of day {self.day} and "
                f"the last day is {self.calendar.start_day + self.calendar.day_count - 1}"
            )
        self._run(self.next_day_index, end, straight=False)

    def _run(
        self, first: int, end: int, straight: bool, lanes: tuple[int, int] | None = None
    ) -> None:
        first_lane, end_lane = (0, len(self.keys.parameter_set)) if lanes is None else lanes
        _run_days(
            np.uint64(self.seed),
            self.table,
            self.calendar,
            self.state,
            self.keys,
            self.recording,
            self.scratch,
            self.daily,
            first,
            end,
            straight,
            first_lane,
            end_lane,
        )
        self.next_day_index = end

    def resample(self, parents: np.ndarray) -> None:
        """Replace the lanes by copies of ``parents`` (lane indices; repeats copy, absences
        drop). The first copy of a lane keeps its random numbers; further copies get a new
        branch, so they diverge from the next draw on. Daily sums and the band and trajectory
        samples describe the lanes as they were, so they are dropped."""
        if not self.pausable:
            raise ValueError("start the lanes with pausable=True to resample them")
        parents = np.asarray(parents, dtype=np.int64)
        branch = resampled_branches(self.keys.branch, parents, self.day)
        unsampled = np.full(len(parents), -1, dtype=np.int64)
        self.keys = self.keys._replace(
            parameter_set=self.keys.parameter_set[parents],
            replication=self.keys.replication[parents],
            branch=branch,
            group=self.keys.group[parents],
            band_row=unsampled,
            trajectory_row=unsampled,
            uniforms=self.keys.uniforms[parents],
        )
        self.state = LaneState(*(value[parents] for value in self.state))
        recording = self.recording._asdict()
        for name in _PER_LANE_RECORDS:
            recording[name] = recording[name][parents]
        for name in _PER_GROUP_RECORDS:
            recording[name] = np.zeros((0, *recording[name].shape[1:]), recording[name].dtype)
        self.recording = Recording(**recording)
        self.daily = False

    def outputs(self) -> list[ChunkOutput]:
        """What each group of lanes recorded, as the results expect it (after the horizon)."""
        if self.next_day_index != self.calendar.day_count:
            raise ValueError(f"the lanes are at day {self.day}, not at the horizon")
        if self._outputs is not None:  # made once: making them completes the recording
            return self._outputs
        outputs = []
        for g in range(self.groups):
            lanes = self.keys.group == g
            sets = np.unique(self.keys.parameter_set[lanes])
            if self.daily and len(sets) > 1:
                raise ValueError("daily sums of a group need one parameter set per group")
            band_rows = self.keys.band_row[lanes]
            trajectory_rows = self.keys.trajectory_row[lanes]
            outputs.append(
                chunk_output(
                    self.compiled[0],
                    self.recording,
                    lanes,
                    band_rows[band_rows >= 0],
                    trajectory_rows[trajectory_rows >= 0],
                    g,
                    self.daily,
                    self.recording.quiet_movers[sets].sum(axis=0) if self.daily else None,
                )
            )
        self._outputs = outputs
        return outputs


_PER_GROUP_RECORDS = (
    "daily_sum",
    "collateral_daily_sum",
    "quiet_movers",
    "band",
    "band_pending",
    "city_band",
    "trajectory",
    "trajectory_pending",
)
_PER_LANE_RECORDS = (
    "at_field_end",
    "at_horizon",
    "city_at_horizon",
    "collateral_at_field_end",
    "collateral_at_horizon",
    "full_capacity_days",
    "bed_shortfall_days",
    "monitor_shortfall_days",
    "removal_backlog_max",
    "bed_days",
    "monitor_days",
)


def resampled_branches(branch: np.ndarray, parents: np.ndarray, day: int) -> np.ndarray:
    """The branch keys of lanes resampled on ``day`` as copies of ``parents``: the first copy
    of a lane keeps its parent's, further copies get new ones (``new_branch``)."""
    branches = branch[parents].copy()
    copies: dict[int, int] = {}
    for i, parent in enumerate(parents.tolist()):
        copy_number = copies.get(parent, 0)
        copies[parent] = copy_number + 1
        if copy_number:
            branches[i] = new_branch(int(branches[i]), day, copy_number)
    return branches


def new_branch(branch: int, day: int, copy_number: int) -> int:
    """A branch key for a further copy of a lane, from its parent's, the day and the copy's
    number: distinct for distinct copies (a 32-bit mix; collisions are as likely as 2**-32)."""
    mixed = np.random.SeedSequence([branch, day + 2**20, copy_number]).generate_state(1)
    return int(mixed[0])


def simulate_chunk(
    compiled: CompiledScenario,
    seed: int,
    first_replication: int,
    replications: int,
    band_sample: int = 0,
    trajectory_sample: int = 0,
    progress: Callable[[float], None] | None = None,
) -> ChunkOutput:
    """Simulate replications ``first_replication .. + replications - 1`` of one scenario
    (``progress`` as in ``Lanes.run``).

    A replication's numbers depend only on the seed and its index, so any cut of a run into
    chunks gives the same results. Replications with an index below ``band_sample`` keep
    their daily national totals (for daily quantile bands), below ``trajectory_sample``
    everything."""
    indices = np.arange(first_replication, first_replication + replications, dtype=np.int64)
    band = np.where(indices < band_sample, indices - first_replication, -1)
    trajectory = np.where(indices < trajectory_sample, indices - first_replication, -1)
    lanes = Lanes.start(
        [compiled],
        seed,
        parameter_set=np.zeros(replications, dtype=np.int64),
        replication=indices,
        band_rows=band,
        trajectory_rows=trajectory,
    )
    lanes.run(progress)
    return lanes.outputs()[0]
