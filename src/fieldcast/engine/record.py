"""Step 6 of the day: the end-of-day record. Bed-days, monitor-days and the removal backlog;
the day the goal is reached; the per-lane outcomes at the end of field work and at the
horizon; the band and trajectory samples.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fieldcast.compiled import ParameterTable
from fieldcast.engine.state import (
    ARRESTS,
    AWAITING_REMOVAL,
    CITY_BAND_ROWS,
    CITY_HORIZON_ROWS,
    FIELD_END_ROWS,
    HORIZON_ROWS,
    KERNEL,
    METRIC_COUNT,
    MONITORED,
    SMALL,
    Calendar,
    LaneKeys,
    LaneState,
    Recording,
)


@njit(**KERNEL)
def record(
    table: ParameterTable,
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
        monitored += state.national[row, MONITORED, k]
        backlog += state.national[row, AWAITING_REMOVAL, k] * sizes[k]
    recording.monitor_days[lane] += monitored
    if backlog > recording.removal_backlog_max[lane]:
        recording.removal_backlog_max[lane] = backlog
    if recording.goal_day[lane] < 0:  # when the goal is reached: its first day
        arrested = 0
        for k in range(classes):
            arrested += state.national[row, ARRESTS, k] * sizes[k]
        if arrested >= table.goal_persons[keys.parameter_set[lane]]:
            recording.goal_day[lane] = day_index
    if day_index == calendar.field_days - 1 - calendar.start_day:
        _keep_by_place(calendar, state, row, FIELD_END_ROWS, recording.at_field_end[lane])
        _keep_collateral(state, row, recording.collateral_at_field_end[lane])
    if day_index == calendar.day_count - 1:
        _keep_national(calendar, state, row, HORIZON_ROWS, recording.at_horizon[lane])
        _keep_by_place(calendar, state, row, CITY_HORIZON_ROWS, recording.city_at_horizon[lane])
        _keep_collateral(state, row, recording.collateral_at_horizon[lane])
    band_row = keys.band_row[lane]
    if band_row >= 0:
        weights = calendar.measure_weights
        for m in range(METRIC_COUNT):
            for q in range(3):
                value = 0
                for k in range(classes):
                    value += state.national[row, m, k] * weights[k, q]
                recording.band[band_row, day_index, m, q] = value
        for j in range(CITY_BAND_ROWS.shape[0]):
            for c in range(cities):
                value = 0
                for k in range(classes):
                    value += state.counts[row, CITY_BAND_ROWS[j], k, c] * sizes[k]
                recording.city_band[band_row, day_index, c, j] = value
    trajectory_row = keys.trajectory_row[lane]
    if trajectory_row >= 0:
        for m in range(METRIC_COUNT):
            for k in range(classes):
                for c in range(cities):
                    value = state.counts[row, m, k, c]
                    recording.trajectory[trajectory_row, day_index, m, k, c] = value


@njit(**SMALL)
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


@njit(**SMALL)
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


@njit(**SMALL)
def _keep_collateral(state: LaneState, row: int, into: np.ndarray) -> None:
    """Non-target persons arrested per city, then in all, into ``into`` [place]."""
    total = 0
    for c in range(state.collateral.shape[1]):
        into[c] = state.collateral[row, c]
        total += state.collateral[row, c]
    into[state.collateral.shape[1]] = total
