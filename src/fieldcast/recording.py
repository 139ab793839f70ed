"""What a chunk of replications hands to the results (``ChunkOutput``), from either simulator.

The reference model hands over, for every day, the household counts per (metric, size class,
replication, city), with flows cumulative, plus what happened that day to the binding
resources; ``Recorder`` converts households into the three measures, sums over replications
for daily means, keeps daily national totals of the first replications (for quantile bands),
whole trajectories of the very first ones, and each replication's values after the last field
day and at the horizon. The engine's compiled kernel records the same things as it goes
(``engine.Recording``); ``chunk_output`` converts them. Neither holds a model rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fieldcast.metrics import (
    CITY_BAND_METRICS,
    CITY_HORIZON_METRICS,
    FIELD_END_METRICS,
    HORIZON_METRICS,
    MEASURES,
    METRICS,
)

if TYPE_CHECKING:
    from fieldcast.compiled import CompiledScenario
    from fieldcast.engine import Recording

_CITY_BAND_INDEX = [METRICS.index(metric) for metric in CITY_BAND_METRICS]
_HORIZON_INDEX = [METRICS.index(metric) for metric in HORIZON_METRICS]
_CITY_HORIZON_INDEX = [METRICS.index(metric) for metric in CITY_HORIZON_METRICS]
_FIELD_END_INDEX = [METRICS.index(metric) for metric in FIELD_END_METRICS]
_DETAINED = METRICS.index("detained")
_MONITORED = METRICS.index("monitored")
_AWAITING_REMOVAL = METRICS.index("awaiting_removal")
_ARRESTS = METRICS.index("arrests")


BAND_SAMPLE = 1000  # replications (the first ones) whose daily totals give the daily bands
# ... unless the run is long: the band sample keeps every sampled replication's every day,
# so it holds at most this many replication-days (1,000 replications of 400 days; a
# ten-year run keeps about 110), and at least MIN_BAND_SAMPLE replications.
BAND_REPLICATION_DAYS = 400_000
MIN_BAND_SAMPLE = 100
TRAJECTORY_SAMPLE = 10  # replications (the first ones) kept whole


def band_sample_size(day_count: int) -> int:
    """Replications (the first ones) whose daily totals give the daily bands of a run of
    ``day_count`` days: memory stays bounded however long the horizon."""
    return min(BAND_SAMPLE, max(MIN_BAND_SAMPLE, BAND_REPLICATION_DAYS // day_count))


@dataclass
class ChunkOutput:
    """One chunk's contribution to the results, already reduced over days.

    Axes: ``place`` is each city then the total; ``measure`` is households, persons, minors.
    Daily values are kept per replication only for the sampled replications (chunk 0).
    """

    replications: int
    daily_sum: np.ndarray  # [day, place, metric, measure] int64 sum over the replications
    collateral_daily_sum: np.ndarray  # [day, place] non-target persons, cumulative
    band_sample: np.ndarray | None  # [sampled rep, day, metric, measure] totals
    city_band_sample: np.ndarray | None  # [sampled rep, day, city, CITY_BAND_METRICS] persons
    trajectories: np.ndarray | None  # [sampled rep, day, place, metric, measure]
    at_field_end: np.ndarray  # [rep, place, FIELD_END_METRICS, measure] after the last field day
    at_horizon: np.ndarray  # [rep, HORIZON_METRICS, measure] national, after the last day
    city_at_horizon: np.ndarray  # [rep, city, CITY_HORIZON_METRICS, measure]
    collateral_at_field_end: np.ndarray  # [rep, place]
    collateral_at_horizon: np.ndarray  # [rep, place]
    full_capacity_days: np.ndarray  # [rep, city] field days with every attempt used
    bed_shortfall_days: np.ndarray  # [rep] days a household meant for detention found no bed
    monitor_shortfall_days: np.ndarray  # [rep, city] days a monitor was meant but none was free
    removal_backlog_max: np.ndarray  # [rep] largest removal queue, persons
    bed_days: np.ndarray  # [rep] persons x days in detention
    monitor_days: np.ndarray  # [rep] monitored households x days
    goal_day: np.ndarray  # [rep] index of the first day with the goal's persons arrested; -1
    # households that moved in each quiet window (docs/model.md, section 5), [window, class, city]:
    # counted in daily_sum on the window's first day, spread over its days by the results
    quiet_movers: np.ndarray | None = None
    # folded moves of never-visited households by the last day they could have happened,
    # [day, class, city] (same section): counted in daily_sum on the first day, spread over the
    # days up to that one by the results
    unvisited_movers: np.ndarray | None = None


class Recorder:
    """Collects one chunk's days into a ``ChunkOutput``."""

    def __init__(
        self,
        compiled: CompiledScenario,
        replications: int,
        band_sample: int = 0,
        trajectory_sample: int = 0,
    ) -> None:
        self.compiled = compiled
        self.replications = replications
        reps, days, cities = replications, compiled.day_count, compiled.cities
        places, metrics, measures = cities + 1, len(METRICS), len(MEASURES)
        self.field_end_index = compiled.day_index(compiled.field_days - 1)
        # [class, measure]: one household of a class in households, persons, minors
        self.measure_weights = compiled.measure_weights
        # integer sums: merging chunks in any order gives the same numbers
        self.daily_sum = np.zeros((days, places, metrics, measures), dtype=np.int64)
        self.collateral_daily_sum = np.zeros((days, places), dtype=np.int64)
        band_sample = min(band_sample, reps)
        self.band_sample = np.zeros((band_sample, days, metrics, measures), dtype=np.int32)
        self.city_band_sample = np.zeros(
            (band_sample, days, cities, len(CITY_BAND_METRICS)), dtype=np.int32
        )
        self.trajectories = np.zeros(
            (min(trajectory_sample, reps), days, places, metrics, measures), dtype=np.int32
        )
        self.at_field_end = np.zeros(
            (reps, places, len(FIELD_END_METRICS), measures), dtype=np.int32
        )
        self.at_horizon = np.zeros((reps, len(HORIZON_METRICS), measures), dtype=np.int32)
        self.city_at_horizon = np.zeros(
            (reps, cities, len(CITY_HORIZON_METRICS), measures), dtype=np.int32
        )
        self.collateral_at_field_end = np.zeros((reps, places), dtype=np.int64)
        self.collateral_at_horizon = np.zeros((reps, places), dtype=np.int64)
        self.full_capacity_days = np.zeros((reps, cities), dtype=np.int32)
        self.bed_shortfall_days = np.zeros(reps, dtype=np.int32)
        self.monitor_shortfall_days = np.zeros((reps, cities), dtype=np.int32)
        self.removal_backlog_max = np.zeros(reps, dtype=np.int64)
        self.bed_days = np.zeros(reps, dtype=np.int64)
        self.monitor_days = np.zeros(reps, dtype=np.int64)
        self.goal_day = np.full(reps, -1, dtype=np.int32)

    def record(
        self,
        day_index: int,
        counts: np.ndarray,
        collateral: np.ndarray,
        full_capacity: np.ndarray,
        bed_shortfall: np.ndarray,
        monitor_shortfall: np.ndarray,
    ) -> None:
        """One day: ``counts`` [metric, class, rep, city] households at the end of the day
        (flows cumulative), ``collateral`` [rep, city] cumulative persons, and whether every
        attempt was used [rep, city], a household found no bed [rep], a monitor was missing
        [rep, city]."""
        day = day_index
        by_city = counts.sum(axis=2)  # [metric, class, city]
        self.daily_sum[day, :-1] = np.einsum("mkc,kq->cmq", by_city, self.measure_weights)
        self.daily_sum[day, -1] = self.daily_sum[day, :-1].sum(axis=0)
        self.collateral_daily_sum[day, :-1] = collateral.sum(axis=0)
        self.collateral_daily_sum[day, -1] = collateral.sum()
        sizes = self.compiled.sizes
        self.bed_days += np.tensordot(sizes, counts[_DETAINED], axes=1).sum(axis=1)
        self.monitor_days += counts[_MONITORED].sum(axis=(0, 2))
        backlog = np.tensordot(sizes, counts[_AWAITING_REMOVAL], axes=1).sum(axis=1)
        np.maximum(self.removal_backlog_max, backlog, out=self.removal_backlog_max)
        self.full_capacity_days += full_capacity
        self.bed_shortfall_days += bed_shortfall
        self.monitor_shortfall_days += monitor_shortfall
        arrested = np.tensordot(sizes, counts[_ARRESTS], axes=1).sum(axis=1)  # [rep]
        reached = (self.goal_day < 0) & (arrested >= self.compiled.goal_persons)
        self.goal_day[reached] = day
        band = len(self.band_sample)
        if band:
            totals = counts[:, :, :band].sum(axis=3)  # [metric, class, rep]
            self.band_sample[:, day] = np.einsum("mkr,kq->rmq", totals, self.measure_weights)
            persons = np.einsum("mkrc,k->rcm", counts[_CITY_BAND_INDEX, :, :band], sizes)
            self.city_band_sample[:, day] = persons
        if len(self.trajectories):
            self.trajectories[:, day] = self._values(counts[:, :, : len(self.trajectories)])
        if day == self.field_end_index:
            self.at_field_end[...] = self._values(counts[_FIELD_END_INDEX])
            self.collateral_at_field_end[...] = self._with_total(collateral)
        if day == self.compiled.day_count - 1:
            self.at_horizon[...] = self._values(counts[_HORIZON_INDEX])[:, -1]
            self.city_at_horizon[...] = self._values(counts[_CITY_HORIZON_INDEX])[:, :-1]
            self.collateral_at_horizon[...] = self._with_total(collateral)

    def _values(self, counts: np.ndarray) -> np.ndarray:
        """Counts as [rep, place, metric, measure] (place: each city, then the total)."""
        per_city = np.einsum("mkrc,kq->rcmq", counts, self.measure_weights)
        return np.concatenate([per_city, per_city.sum(axis=1, keepdims=True)], axis=1)

    @staticmethod
    def _with_total(per_city: np.ndarray) -> np.ndarray:
        return np.concatenate([per_city, per_city.sum(axis=1, keepdims=True)], axis=1)

    def output(self) -> ChunkOutput:
        band, trajectories = len(self.band_sample), len(self.trajectories)
        return ChunkOutput(
            replications=self.replications,
            daily_sum=self.daily_sum,
            collateral_daily_sum=self.collateral_daily_sum,
            band_sample=self.band_sample if band else None,
            city_band_sample=self.city_band_sample if band else None,
            trajectories=self.trajectories if trajectories else None,
            at_field_end=self.at_field_end,
            at_horizon=self.at_horizon,
            city_at_horizon=self.city_at_horizon,
            collateral_at_field_end=self.collateral_at_field_end,
            collateral_at_horizon=self.collateral_at_horizon,
            full_capacity_days=self.full_capacity_days,
            bed_shortfall_days=self.bed_shortfall_days,
            monitor_shortfall_days=self.monitor_shortfall_days,
            removal_backlog_max=self.removal_backlog_max,
            bed_days=self.bed_days,
            monitor_days=self.monitor_days,
            goal_day=self.goal_day,
        )


def _measures(households: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[..., class, city] households -> [..., place, measure] (place: cities, then the total)."""
    per_city = np.einsum("...kc,kq->...cq", households, weights)
    return np.concatenate([per_city, per_city.sum(axis=-2, keepdims=True)], axis=-2)


def _with_total(per_city: np.ndarray) -> np.ndarray:
    return np.concatenate([per_city, per_city.sum(axis=-1, keepdims=True)], axis=-1)


def _rows(rows: np.ndarray) -> slice | np.ndarray:
    """Consecutive rows as a slice (indexing gives a view), others as they are."""
    if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return slice(int(rows[0]), int(rows[0]) + len(rows))
    return rows


def chunk_output(
    compiled: CompiledScenario,
    recording: Recording,
    lanes: np.ndarray,
    band_rows: np.ndarray,
    trajectory_rows: np.ndarray,
    group: int,
    daily: bool,
    quiet_movers: np.ndarray | None,
    unvisited_movers: np.ndarray | None,
) -> ChunkOutput:
    """The ``ChunkOutput`` of the lanes selected by the mask ``lanes`` (one group) from what
    the engine's kernel recorded. The kernel records each change on its day, and the moves of
    a quiet window on the window's first day; sampled replications also recorded how many of
    those moves were still to come each day (``*_pending``), which is put back here.
    ``band_rows`` and ``trajectory_rows`` are the sampled lanes' rows, in replication order;
    ``quiet_movers`` [window, class, city] sums the group's lanes' quiet-window moves, and
    ``unvisited_movers`` [day, class, city] their folded moves of never-visited households
    by the last day they could have happened."""
    weights = compiled.measure_weights
    moved_rows = [METRICS.index(m) for m in ("at_address", "moved", "moved_away")]
    moved_signs = np.array([1, -1, -1])  # a pending move is still at the address
    daily_sum = collateral_daily_sum = None
    if daily:
        cumulative = np.cumsum(recording.daily_sum[group], axis=0)  # [day, metric, class, city]
        daily_sum = np.moveaxis(_measures(cumulative, weights), 1, 2)  # [day, place, m, q]
        collateral_daily_sum = _with_total(np.cumsum(recording.collateral_daily_sum[group], 0))
    band = city_band = None
    if len(band_rows):
        rows = _rows(band_rows)
        band = recording.band[rows]  # a view when the rows are consecutive (no copy)
        pending = np.einsum("rdk,kq->rdq", recording.band_pending[rows], weights)
        for row, sign in zip(moved_rows, moved_signs, strict=True):
            band[:, :, row] += (sign * pending).astype(band.dtype)
        city_band = recording.city_band[rows]
    trajectories = None
    if len(trajectory_rows):
        households = recording.trajectory[trajectory_rows].astype(np.int64)
        pending = recording.trajectory_pending[trajectory_rows]
        households[:, :, moved_rows] += moved_signs[None, None, :, None, None] * pending[:, :, None]
        trajectories = _measures(households, weights).transpose(0, 1, 3, 2, 4).astype(np.int32)
    # per-lane values are already in measures (the kernel converts them): a batch of one
    # group hands them over without a copy
    selected = slice(None) if lanes.all() else lanes
    return ChunkOutput(
        replications=int(lanes.sum()),
        daily_sum=daily_sum,
        collateral_daily_sum=collateral_daily_sum,
        band_sample=band,
        city_band_sample=city_band,
        trajectories=trajectories,
        at_field_end=recording.at_field_end[selected],
        at_horizon=recording.at_horizon[selected],
        city_at_horizon=recording.city_at_horizon[selected],
        collateral_at_field_end=recording.collateral_at_field_end[selected],
        collateral_at_horizon=recording.collateral_at_horizon[selected],
        full_capacity_days=recording.full_capacity_days[selected],
        bed_shortfall_days=recording.bed_shortfall_days[selected],
        monitor_shortfall_days=recording.monitor_shortfall_days[selected],
        removal_backlog_max=recording.removal_backlog_max[selected],
        bed_days=recording.bed_days[selected],
        monitor_days=recording.monitor_days[selected],
        goal_day=recording.goal_day[selected],
        quiet_movers=quiet_movers if daily else None,
        unvisited_movers=unvisited_movers if daily else None,
    )
