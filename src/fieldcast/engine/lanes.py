"""Batches of lanes (``Lanes``): their arrays allocated once, run straight or paused at the
end of a day, copied or dropped (resampled) and resumed; and ``simulate_chunk``, a batch
of replications of one scenario.
"""

from __future__ import annotations

import contextlib
import math
import mmap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from fieldcast.compiled import CompiledScenario, ParameterTable, Structure, parameter_table
from fieldcast.engine.day import run_days
from fieldcast.engine.state import (
    CITY_BAND_ROWS,
    SPLIT_STACK,
    Calendar,
    LaneKeys,
    LaneState,
    Log1m,
    Recording,
    Scratch,
)
from fieldcast.metrics import (
    CITY_HORIZON_METRICS,
    FIELD_END_METRICS,
    HORIZON_METRICS,
    MEASURES,
    METRICS,
)
from fieldcast.recording import ChunkOutput, chunk_output

PROGRESS_STEPS = 32  # a straight run with a progress callback runs its lanes in this many parts
# Lane state that sums the cities; every other field has the city as its last axis.
NATIONAL_FIELDS = ("processing_slot_total", "notice_slot_total", "beds_used", "national")


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


@njit(cache=True)
def _log1m(probabilities: np.ndarray) -> np.ndarray:
    """log(1 - p) of each entry, as the kernel's ``math.log1p(-p)`` gives it (numba calls the C
    library's log1p in both; numpy's own log1p may differ in the last bit). -inf at p = 1,
    which no draw reads (its outcome is certain)."""
    flat = np.ascontiguousarray(probabilities).ravel()
    logarithms = np.empty(flat.size)
    for i in range(flat.size):
        logarithms[i] = math.log1p(-flat[i])
    return logarithms.reshape(probabilities.shape)


def log1m_table(table: ParameterTable) -> Log1m:
    """log(1 - p) of the table's probabilities that binomial draws use (``state.Log1m``)."""
    return Log1m(*(_log1m(getattr(table, name)) for name in Log1m._fields))


def _zeros(*shape: int, dtype: type = np.int64) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


HUGE_PAGE = 2 << 20  # bytes of a transparent huge page on x86-64


def _zeros_in_huge_pages(*shape: int, dtype: type = np.int64) -> np.ndarray:
    """Zeros in memory for which Linux is asked for transparent huge pages (2 MiB instead of
    4 KiB), if the array fills at least one. fieldcast turns numpy's own request for every
    array off (``fieldcast/__init__.py``: new arrays then waited for memory compaction), but a
    paused batch's state is large, made once and read all over by the kernel: with 4 KiB
    pages its first touch took a page fault every 4 KiB and its reads missed the address
    cache, a quarter more than a straight run (``pause_resume_overhead_ratio``: 1.26 ->
    1.15). Python's ``mmap`` is the documented way to ask (numpy has no public one); its
    private anonymous memory is zeroed (shared memory would get no huge pages), and the
    array keeps it alive."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size < HUGE_PAGE or not hasattr(mmap, "MADV_HUGEPAGE"):
        return _zeros(*shape, dtype=dtype)
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    with contextlib.suppress(OSError):  # a kernel without huge pages refuses: advice only
        memory.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(memory, dtype=dtype).reshape(shape)


def copied_state(state: LaneState, into: LaneState | None = None) -> LaneState:
    """A copy of a batch's state for another batch to run from (a particle filter runs one
    state forward several times), its large arrays in huge pages as ``_lane_state`` makes
    them: a copy into new 4 KiB pages takes a page fault every 4 KiB, which cost about as
    much again as the copying itself (the notice ring of 10,000 lanes, 109 MB, here).

    ``into``, a state of the same shapes that is no longer needed, is copied over instead:
    new memory takes page faults on its first touch, even in huge pages, that memory in use
    does not (``nowcast_update_seconds``, docs/performance.md)."""
    if into is None:
        into = LaneState(
            *(_zeros_in_huge_pages(*array.shape, dtype=array.dtype) for array in state)
        )
    for name, source, target in zip(state._fields, state, into, strict=True):
        if source.shape != target.shape or source.dtype != target.dtype:
            raise ValueError(f"cannot copy {name} {source.shape} into {target.shape}")
        np.copyto(target, source)
    return into


def _lane_state(structure: Structure, rows: int) -> LaneState:
    """Household counts are int32 (at most 10**8 households a city fit with room to spare):
    a paused batch keeps every lane's rings, so their size is what a pause costs."""
    attempts, classes, cities = structure.max_attempts, structure.classes, structure.cities
    cells = (classes, cities)
    counts = np.int32
    zeros = _zeros_in_huge_pages if rows > 1 else _zeros
    return LaneState(
        at_address=zeros(rows, attempts, *cells, dtype=counts),
        moved=zeros(rows, attempts, *cells, dtype=counts),
        alerted=zeros(rows, attempts, *cells, dtype=counts),
        awaiting=zeros(rows, *cells, dtype=counts),
        processing=zeros(rows, structure.processing_days + 1, *cells, dtype=counts),
        processing_slot_total=zeros(rows, structure.processing_days + 1),
        queue=zeros(rows, *cells, dtype=counts),
        notice=zeros(rows, structure.notice_days + 1, 2, *cells, dtype=counts),
        notice_slot_total=zeros(rows, structure.notice_days + 1),
        monitors_out=zeros(rows, cities),
        beds_used=zeros(rows),
        collateral=zeros(rows, cities),
        counts=zeros(rows, len(METRICS), *cells, dtype=counts),
        national=zeros(rows, len(METRICS), classes),
        unvisited_as_of=zeros(rows, cities),
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
        unvisited_movers=_zeros(parameter_sets if daily else 0, days, *cells),
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
        goal_day=np.full(lanes, -1, dtype=np.int32),
        band=_zeros(bands, days, metrics, 3, dtype=np.int32),
        band_pending=_zeros(bands, days, classes, dtype=np.int32),
        city_band=_zeros(bands, days, cities, len(CITY_BAND_ROWS), dtype=np.int32),
        trajectory=_zeros(trajectories, days, metrics, *cells, dtype=np.int32),
        trajectory_pending=_zeros(trajectories, days, *cells, dtype=np.int32),
    )


def _scratch(structure: Structure) -> Scratch:
    attempts, classes, cities = structure.max_attempts, structure.classes, structure.cities
    categories = max(cities, attempts * classes)
    return Scratch(
        pool=_zeros(categories),
        picked=_zeros(categories),
        visits=_zeros(attempts, classes, cities),
        contacts_in_city=_zeros(cities),
        at_home=_zeros(cities),
        contacts=_zeros(cities),
        meant=_zeros(classes, cities),
        placed=_zeros(classes, cities),
        released=_zeros(classes, cities),
        meant_monitor=_zeros(classes, cities),
        stack_low=_zeros(SPLIT_STACK),
        stack_high=_zeros(SPLIT_STACK),
        stack_count=_zeros(SPLIT_STACK),
        part_day=_zeros(structure.day_count),
        part_count=_zeros(structure.day_count),
        uniform_blocks=_zeros(2, -(-cities // 8) * 8, dtype=np.float64),
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
    log1m: Log1m  # of ``table``
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
        band_row = unsampled if band_rows is None else np.asarray(band_rows, np.int64)
        trajectory_row = (
            unsampled if trajectory_rows is None else np.asarray(trajectory_rows, np.int64)
        )
        keys = LaneKeys(
            parameter_set=parameter_set,
            replication=np.asarray(replication, dtype=np.int64),
            branch=_zeros(lanes),
            group=group,
            band_row=band_row,
            trajectory_row=trajectory_row,
            daily_path=(band_row >= 0) | (trajectory_row >= 0),
            uniforms=_zeros(lanes),
        )
        groups = int(group.max()) + 1 if lanes else 0
        table = parameter_table(compiled) if table is None else table
        return cls(
            compiled=compiled,
            table=table,
            log1m=log1m_table(table),
            calendar=_calendar(structure),
            seed=seed,
            keys=keys,
            state=_lane_state(structure, lanes if pausable else 1) if state is None else state,
            recording=_recording(structure, keys, groups, len(table.households), daily),
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
        run_days(
            np.uint64(self.seed),
            self.table,
            self.log1m,
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
            daily_path=self.keys.daily_path[parents],
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
                    self.recording.unvisited_movers[sets].sum(axis=0) if self.daily else None,
                )
            )
        self._outputs = outputs
        return outputs


_PER_GROUP_RECORDS = (
    "daily_sum",
    "collateral_daily_sum",
    "quiet_movers",
    "unvisited_movers",
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
    "goal_day",
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


def splice_cities(
    target: LaneState, source: LaneState, by_city: np.ndarray, whole: np.ndarray
) -> None:
    """Copy, in place, the state of city c of lane l from ``source`` into ``target`` where
    ``by_city`` [lane, city] is set, and the whole lane (national sums too) where ``whole``
    [lane] is. Where cities were taken and not whole lanes, the national sums no longer
    match the cities: recount them."""
    for name, into in target._asdict().items():
        origin = getattr(source, name)
        if name in NATIONAL_FIELDS:
            into[whole] = origin[whole]
        else:
            if not (into.flags.c_contiguous and origin.flags.c_contiguous):
                raise ValueError(f"splice_cities: {name} is not one contiguous array")
            lanes, cities = into.shape[0], into.shape[-1]
            _copy_cities(
                into.reshape(lanes, -1, cities), origin.reshape(lanes, -1, cities), by_city
            )


@njit(cache=True)
def _copy_cities(into: np.ndarray, origin: np.ndarray, by_city: np.ndarray) -> None:
    """into[l, :, c] = origin[l, :, c] where by_city[l, c]: one pass over the lanes that take
    a city (numpy's masked copy reads every element of both arrays and the mask, about ten
    times slower on a filter's state)."""
    lanes, middle, cities = into.shape
    for lane in range(lanes):
        taken = False
        for c in range(cities):
            taken |= by_city[lane, c]
        if not taken:
            continue
        for m in range(middle):
            for c in range(cities):
                if by_city[lane, c]:
                    into[lane, m, c] = origin[lane, m, c]


def distinct_lanes(state: LaneState) -> tuple[np.ndarray, np.ndarray]:
    """(the first lane of each distinct lane state, for every lane the index of its state
    among those): a resampled filter's lanes are mostly copies of a few, whose states need
    not be stored twice. Lanes are grouped by a 64-bit fingerprint and then compared in full,
    so the grouping is exact; if two different states ever shared a fingerprint, every lane
    is kept."""
    lanes = len(state.counts)
    fingerprint = np.zeros(lanes, dtype=np.uint64)
    for array in state:
        _fingerprint(np.ascontiguousarray(array).reshape(lanes, -1), fingerprint)
    _, firsts, index = np.unique(fingerprint, return_index=True, return_inverse=True)
    index = index.reshape(-1)
    for array in state:
        rows = np.ascontiguousarray(array).reshape(lanes, -1)
        if not _rows_equal(rows, firsts[index]):
            every = np.arange(lanes)
            return every, every
    return firsts, index


@njit(cache=True)
def _rows_equal(rows: np.ndarray, representative: np.ndarray) -> bool:
    """Whether every row equals the row of its representative."""
    for lane in range(rows.shape[0]):
        other = representative[lane]
        if other == lane:
            continue
        for j in range(rows.shape[1]):
            if rows[lane, j] != rows[other, j]:
                return False
    return True


@njit(cache=True)
def _fingerprint(rows: np.ndarray, fingerprint: np.ndarray) -> None:
    """Mix each row's values into its fingerprint (FNV-1a on 64-bit words)."""
    prime = np.uint64(0x100000001B3)
    for lane in range(rows.shape[0]):
        h = fingerprint[lane] ^ np.uint64(0xCBF29CE484222325)
        for j in range(rows.shape[1]):
            h = (h ^ np.uint64(rows[lane, j])) * prime
        fingerprint[lane] = h
