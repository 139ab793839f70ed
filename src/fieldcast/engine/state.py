"""What a lane carries and what the kernel reads and writes: the named tuples of arrays
(``Calendar``, ``Log1m``, ``LaneKeys``, ``LaneState``, ``Scratch``, ``Recording``), the codes
of metrics and random streams and the kernel's compile options.

The codes are numpy integers, not Python ints: numba types a global Python int as a literal
and compiles a separate copy of every helper it is passed to for each value (a
``draws.binomial`` per stream, a ``record_change`` per metric), which made the first run
compile far longer (``first_forecast_seconds`` of ``make bench``, docs/performance.md); a
numpy integer is typed ``int64``, one copy each, and LLVM still folds it as a constant where
the helper is inlined.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import fieldcast.compiled_code_cache  # noqa: F401 (first: where compiled code is cached)
from fieldcast.metrics import (
    CITY_BAND_METRICS,
    CITY_HORIZON_METRICS,
    FIELD_END_METRICS,
    HORIZON_METRICS,
    METRICS,
)
from fieldcast.streams import STREAMS

OPEN = np.int64(METRICS.index("open"))
AT_ADDRESS = np.int64(METRICS.index("at_address"))
MOVED = np.int64(METRICS.index("moved"))
CLOSED = np.int64(METRICS.index("closed"))
DETAINED = np.int64(METRICS.index("detained"))
AWAITING_REMOVAL = np.int64(METRICS.index("awaiting_removal"))
ON_NOTICE = np.int64(METRICS.index("on_notice"))
MONITORED = np.int64(METRICS.index("monitored"))
AWAITING_DISPOSITION = np.int64(METRICS.index("awaiting_disposition"))
MOVED_AWAY = np.int64(METRICS.index("moved_away"))
MOVED_AFTER_ALERT = np.int64(METRICS.index("moved_after_alert"))
ATTEMPTS = np.int64(METRICS.index("attempts"))
NOT_FOUND = np.int64(METRICS.index("not_found"))
CONTACTS = np.int64(METRICS.index("contacts"))
ARRESTS = np.int64(METRICS.index("arrests"))
CLOSURES = np.int64(METRICS.index("closures"))
DETENTIONS = np.int64(METRICS.index("detentions"))
NOTICES = np.int64(METRICS.index("notices"))
MONITORS_FITTED = np.int64(METRICS.index("monitors_fitted"))
RELIEF = np.int64(METRICS.index("relief_releases"))
REMOVALS = np.int64(METRICS.index("removals"))
DEPARTURES = np.int64(METRICS.index("departures"))
REARRESTS = np.int64(METRICS.index("rearrests"))
LOSSES = np.int64(METRICS.index("losses"))
METRIC_COUNT = len(METRICS)
FIELD_END_ROWS = np.array([METRICS.index(m) for m in FIELD_END_METRICS], dtype=np.int64)
HORIZON_ROWS = np.array([METRICS.index(m) for m in HORIZON_METRICS], dtype=np.int64)
CITY_HORIZON_ROWS = np.array([METRICS.index(m) for m in CITY_HORIZON_METRICS], dtype=np.int64)
CITY_BAND_ROWS = np.array([METRICS.index(m) for m in CITY_BAND_METRICS], dtype=np.int64)

ADDRESS = np.int64(STREAMS["address"])
MOVES = np.int64(STREAMS["moves"])
ALERT_MOVES = np.int64(STREAMS["alert_moves"])
SELECT_NEW = np.int64(STREAMS["select_new"])
SELECT_RETRY = np.int64(STREAMS["select_retry"])
SELECT_LOCATION = np.int64(STREAMS["select_location"])
CONTACT = np.int64(STREAMS["contact"])
ARREST = np.int64(STREAMS["arrest"])
COLLATERAL = np.int64(STREAMS["collateral"])
DETAIN_INTENT = np.int64(STREAMS["detain_intent"])
BED_ALLOCATION = np.int64(STREAMS["bed_allocation"])
MONITOR_INTENT = np.int64(STREAMS["monitor_intent"])
MONITOR_ALLOCATION = np.int64(STREAMS["monitor_allocation"])
RELIEF_STREAM = np.int64(STREAMS["relief"])
REMOVAL_ALLOCATION = np.int64(STREAMS["removal_allocation"])
NOTICE_OUTCOME = np.int64(STREAMS["notice_outcome"])
REARREST = np.int64(STREAMS["rearrest"])
QUIET_MOVES = np.int64(STREAMS["quiet_moves"])
QUIET_MOVE_DAYS = np.int64(STREAMS["quiet_move_days"])
UNVISITED_MOVES = np.int64(STREAMS["unvisited_moves"])

BEFORE_FIELD, AFTER_FIELD = 0, 1  # the two quiet windows
SPLIT_STACK = 128  # intervals pending in the binary split of a window (about log2 of its days)


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


class Log1m(NamedTuple):
    """log(1 - p) of the probabilities of the parameter table (``compiled.ParameterTable``:
    the same names and shapes) that binomial draws use, made once per batch
    (``lanes.log1m_table``; the day's hazard is taken once a lane-day, in ``moves.moves``). A
    draw of more than a few trials starts from f(0) = exp(trials log(1 - p)); the logarithm,
    taken in each draw, cost the national scenario's engine about 8% (docs/performance.md)."""

    p_address_valid: np.ndarray  # [set, city]
    p_alert_move: np.ndarray  # [set]
    p_contact: np.ndarray  # [set, city]
    p_arrest: np.ndarray  # [set, city]
    p_detain: np.ndarray  # [set, city]
    p_monitor: np.ndarray  # [set, city]
    p_relief: np.ndarray  # [set]
    p_comply: np.ndarray  # [set]
    p_rearrest_monitored: np.ndarray  # [set]


class LaneKeys(NamedTuple):
    """Who each lane is (axis 0: lane)."""

    parameter_set: np.ndarray  # which row of the ParameterTable
    replication: np.ndarray  # the replication's index in its run (keys its random numbers)
    branch: np.ndarray  # tells apart copies of one replication (streams.py)
    group: np.ndarray  # which output (scenario) the lane's daily sums go to
    band_row: np.ndarray  # row in the band sample, or -1
    trajectory_row: np.ndarray  # row in the trajectory sample, or -1
    # moves never-visited households day by day (docs/model.md, section 5): the lanes of the
    # band and trajectory samples, and copies of them (whose sample rows a copy drops)
    daily_path: np.ndarray
    uniforms: np.ndarray  # uniforms drawn so far (what the benchmarks' generator floor needs)


class LaneState(NamedTuple):
    """Everything a lane carries from one day to the next (axis 0: the lane's row).

    A batch that is never paused keeps one row, used by each lane in turn (``run_days``),
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
    # [lane, city] the day index from whose start at_address[:, 0] (never visited) counts,
    # in lanes that fold those households' moves (``folds_unvisited``; the others never read
    # it): the first day until the last field day, then the horizon
    unvisited_as_of: np.ndarray


class Scratch(NamedTuple):
    """Working arrays of one lane-day, allocated once per batch: the kernel allocates nothing
    (it runs without numba's reference counting, which would otherwise cost more than the
    draws: every array taken from a tuple is counted in and out)."""

    pool: np.ndarray  # [categories] sizes of the categories of a multivariate draw
    picked: np.ndarray  # [categories] its result
    visits: np.ndarray  # [attempts made, class, city] households picked for a visit today
    contacts_in_city: np.ndarray  # [city] contacts made today
    at_home: np.ndarray  # [city] of a cell's visited households, at the address
    contacts: np.ndarray  # [city] of those, contacted
    meant: np.ndarray  # [class, city] households meant for detention
    placed: np.ndarray  # [class, city] households placed in beds or seats
    released: np.ndarray  # [class, city] households released on notice
    meant_monitor: np.ndarray  # [class, city] released households meant for a monitor
    stack_low: np.ndarray  # [depth] binary split of a quiet window: first day index
    stack_high: np.ndarray  # [depth] end day index
    stack_count: np.ndarray  # [depth] moves in the interval
    part_day: np.ndarray  # [day] the split's result: day indices ...
    part_count: np.ndarray  # [day] ... and the moves on each
    # [2, city] uniforms of a row of cities side by side (``draws.city_block``; two rows at
    # once for the notice outcomes and re-arrests), the cities padded to a whole number of
    # vectors of eight (a remainder would run one at a time)
    uniform_blocks: np.ndarray


class Recording(NamedTuple):
    """What the kernel writes for the results (per lane, per group, per sampled replication)."""

    daily_sum: np.ndarray  # [group, day, metric, class, city] int64 over the group's lanes
    collateral_daily_sum: np.ndarray  # [group, day, city]
    quiet_movers: np.ndarray  # [set, window, class, city] households moved in quiet windows
    # [set, day, class, city] folded moves of never-visited households by the last day they
    # could have happened (a visit's day; the last day for those never visited), counted on
    # the first day; empty without daily sums
    unvisited_movers: np.ndarray
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
    goal_day: np.ndarray  # [lane] index of the first day with the goal's persons arrested; -1
    band: np.ndarray  # [band row, day, metric, measure] national totals
    band_pending: np.ndarray  # [band row, day, class] quiet moves recorded early, national
    city_band: np.ndarray  # [band row, day, city, city band metric] persons
    trajectory: np.ndarray  # [trajectory row, day, metric, class, city]
    trajectory_pending: np.ndarray  # [trajectory row, day, class, city]


# -- the kernel ----------------------------------------------------------------------------
# Every kernel function runs without numba's reference counting (``_nrt=False``) and is
# inlined into ``run_days``; the kernel allocates nothing (``Scratch``).

KERNEL = {"cache": True, "inline": "always", "_nrt": False}
SMALL = {"cache": True, "_nrt": False}  # small helpers: LLVM inlines them
