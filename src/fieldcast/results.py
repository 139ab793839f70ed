"""Results of a run: per-replication outcomes, daily means and bands, a trajectory sample.

A ``Results`` is assembled from the engine's chunks as they arrive, in any order (sums of whole
numbers do not depend on it, and the samples are joined in chunk order), so the same scenario and
seed give the same arrays to the bit whatever the number of processes that computed them.

Axes used throughout: ``place`` is each city in scenario order, then ``"Total"``; ``metric`` is
``fieldcast.metrics.METRICS``; ``measure`` is households, persons, minors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from fieldcast.compiled import CompiledScenario
from fieldcast.metrics import (
    CITY_BAND_METRICS,
    CITY_HORIZON_METRICS,
    COLLATERAL,
    FIELD_END_METRICS,
    HORIZON_METRICS,
    MEASURES,
    METRICS,
    STORED_METRICS,
    metric_index,
)
from fieldcast.recording import ChunkOutput
from fieldcast.scenario import Scenario

TOTAL = "Total"
QUANTILES = (0.05, 0.5, 0.95)
When = Literal["field_end", "horizon"]


@dataclass(frozen=True)
class Results:
    """Everything one run of one scenario produced."""

    scenario: Scenario
    seed: int
    replications: int
    chunk_size: int
    days: np.ndarray  # [day] day numbers, start_day .. horizon_days - 1
    places: tuple[str, ...]  # cities, then "Total"
    daily_mean: np.ndarray  # [day, place, metric, measure] over all replications
    daily_bands: np.ndarray  # [quantile, day, metric, measure] totals, band replications
    city_daily_bands: np.ndarray  # [quantile, day, city, CITY_BAND_METRICS] persons
    band_replications: int  # how many replications (the first ones) the bands come from
    trajectories: np.ndarray  # [sampled rep, day, place, metric, measure] the first few runs
    collateral_daily_mean: np.ndarray  # [day, place] non-target persons, cumulative
    at_field_end: np.ndarray  # [rep, place, FIELD_END_METRICS, measure]
    at_horizon: np.ndarray  # [rep, HORIZON_METRICS, measure] national totals
    city_at_horizon: np.ndarray  # [rep, city, CITY_HORIZON_METRICS, measure]
    collateral_at_field_end: np.ndarray  # [rep, place]
    collateral_at_horizon: np.ndarray  # [rep, place]
    full_capacity_days: np.ndarray  # [rep, city]
    bed_shortfall_days: np.ndarray  # [rep]
    monitor_shortfall_days: np.ndarray  # [rep, city]
    removal_backlog_max: np.ndarray  # [rep] persons
    bed_days: np.ndarray  # [rep] persons x days
    monitor_days: np.ndarray  # [rep] households x days
    goal_day: np.ndarray  # [rep] index on ``days`` of the first with the goal reached; -1: none
    officer_days: np.ndarray  # [city] scheduled officer-days (deterministic)
    field_days_with_capacity: np.ndarray  # [city] field days on which the city could attempt

    # -- access ------------------------------------------------------------------------------

    def place_index(self, place: str) -> int:
        """Position of a place (a city, or ``"Total"``) on the place axis.

        Parameters
        ----------
        place : str
            A city of the scenario, or ``"Total"``.

        Returns
        -------
        int
            Its index into ``places``.

        Raises
        ------
        KeyError
            If the place is not one of the run's.
        """
        try:
            return self.places.index(place)
        except ValueError:
            raise KeyError(f"unknown place {place!r}; known: {', '.join(self.places)}") from None

    def outcome(
        self,
        metric: str,
        measure: str = "persons",
        when: When = "field_end",
        place: str = TOTAL,
    ) -> np.ndarray:
        """One number per replication: a metric at the end of field work or at the horizon.

        At the horizon every metric of ``HORIZON_METRICS`` is kept for the total, and
        ``CITY_HORIZON_METRICS`` per city; at the end of field work, ``FIELD_END_METRICS``.

        Parameters
        ----------
        metric : str
            A metric of ``fieldcast.metrics.METRICS`` that is kept there.
        measure : {"persons", "households", "minors"}
            What is counted.
        when : {"field_end", "horizon"}
            After the last field day, or after the last day.
        place : str
            A city, or ``"Total"``.

        Returns
        -------
        numpy.ndarray
            [replication] counts.

        Raises
        ------
        KeyError
            If the metric or place is not kept there (the message says what is).
        """
        column = MEASURES.index(measure)
        if when == "field_end":
            _check_kept(metric, FIELD_END_METRICS, "field_end")
            row = FIELD_END_METRICS.index(metric)
            return self.at_field_end[:, self.place_index(place), row, column]
        if len(self.at_horizon) < self.replications:
            raise KeyError("this run keeps per-replication values at the end of field work only")
        if place == TOTAL:
            _check_kept(metric, HORIZON_METRICS, "horizon")
            return self.at_horizon[:, HORIZON_METRICS.index(metric), column]
        _check_kept(metric, CITY_HORIZON_METRICS, "horizon for a city")
        row = CITY_HORIZON_METRICS.index(metric)
        return self.city_at_horizon[:, self.place_index(place), row, column]

    def collateral(self, when: When = "field_end", place: str = TOTAL) -> np.ndarray:
        """Non-target persons arrested (collateral arrests), per replication.

        Parameters
        ----------
        when : {"field_end", "horizon"}
            After the last field day, or after the last day.
        place : str
            A city, or ``"Total"``.

        Returns
        -------
        numpy.ndarray
            [replication] persons.
        """
        values = self.collateral_at_field_end if when == "field_end" else self.collateral_at_horizon
        return values[:, self.place_index(place)]

    def mean_by_day(self, metric: str, measure: str = "persons", place: str = TOTAL) -> np.ndarray:
        """Daily mean of a metric over all replications (flows cumulative).

        Parameters
        ----------
        metric : str
            Any metric of ``fieldcast.metrics.METRICS``.
        measure : {"persons", "households", "minors"}
            What is counted.
        place : str
            A city, or ``"Total"``.

        Returns
        -------
        numpy.ndarray
            [day] means, on the days of ``days``.
        """
        return self.daily_mean[
            :, self.place_index(place), metric_index(metric), MEASURES.index(measure)
        ]

    def band_by_day(self, metric: str, measure: str = "persons") -> np.ndarray:
        """Daily 5%, 50% and 95% quantiles of a national total (from ``band_replications``).

        Parameters
        ----------
        metric : str
            Any metric of ``fieldcast.metrics.METRICS``.
        measure : {"persons", "households", "minors"}
            What is counted.

        Returns
        -------
        numpy.ndarray
            [quantile, day].
        """
        return self.daily_bands[:, :, metric_index(metric), MEASURES.index(measure)]

    def city_band_by_day(self, metric: str, city: str) -> np.ndarray:
        """Daily 5%, 50% and 95% quantiles of a city's persons (from ``band_replications``).

        Parameters
        ----------
        metric : str
            One of ``CITY_BAND_METRICS``.
        city : str
            A city of the scenario.

        Returns
        -------
        numpy.ndarray
            [quantile, day].

        Raises
        ------
        KeyError
            If city bands are not kept for the metric, or the city is unknown.
        """
        if metric not in CITY_BAND_METRICS:
            raise KeyError(f"city bands are kept for {', '.join(CITY_BAND_METRICS)} only")
        column = CITY_BAND_METRICS.index(metric)
        return self.city_daily_bands[:, :, self.place_index(city), column]

    @property
    def cities(self) -> tuple[str, ...]:
        return self.places[:-1]


def outcome_rows(
    kept: Results | ChunkOutput, scenario: Scenario, first_replication: int = 0
) -> dict[str, np.ndarray]:
    """Every replication's kept outcomes (``kept`` from a run or one chunk) as long rows:
    columns ``replication``, ``day``, ``place`` (index into the cities, then the total),
    ``metric`` (index into ``STORED_METRICS``) and one per measure.

    Persons arrested per place on the last field day; ``HORIZON_METRICS`` in total and
    ``CITY_HORIZON_METRICS`` per city on the last day; non-target arrests per place on both
    (persons only: their households and minors are masked). This is what the run store keeps
    of every replication, and what ``fieldcast forecast --replication`` recomputes."""
    field_end_day = scenario.operation.field_days - 1
    last_day = scenario.operation.horizon_days - 1
    cities = len(scenario.cities)
    blocks = [  # (values [rep, place, metric, measure], day, first place, metric codes)
        (kept.at_field_end, field_end_day, 0, FIELD_END_METRICS),
        (kept.at_horizon[:, None], last_day, cities, HORIZON_METRICS),
        (kept.city_at_horizon, last_day, 0, CITY_HORIZON_METRICS),
    ]
    columns: dict[str, list[np.ndarray]] = {
        name: [] for name in ("replication", "day", "place", "metric", *MEASURES)
    }
    for values, day, first_place, metrics in blocks:
        if values.size == 0:
            continue  # not kept (a run kept at the end of field work only)
        rep, place, metric = (axis.ravel() for axis in np.indices(values.shape[:-1]))
        columns["replication"].append(rep + first_replication)
        columns["day"].append(np.full(rep.size, day))
        columns["place"].append(place + first_place)
        columns["metric"].append(np.array([METRICS.index(m) for m in metrics])[metric])
        flat = values.reshape(-1, len(MEASURES))
        for column, measure in enumerate(MEASURES):
            columns[measure].append(flat[:, column])
    for values, day in (
        (kept.collateral_at_field_end, field_end_day),
        (kept.collateral_at_horizon, last_day),
    ):
        rep, place = (axis.ravel() for axis in np.indices(values.shape))
        columns["replication"].append(rep + first_replication)
        columns["day"].append(np.full(rep.size, day))
        columns["place"].append(place)
        columns["metric"].append(np.full(rep.size, STORED_METRICS.index(COLLATERAL)))
        columns["persons"].append(values.ravel())
        for measure in ("households", "minors"):
            columns[measure].append(np.full(rep.size, -1))
    joined = {name: np.concatenate(parts) for name, parts in columns.items()}
    types = {"replication": np.int32, "day": np.int32, "place": np.int16, "metric": np.int16}
    return {
        **{name: joined[name].astype(dtype) for name, dtype in types.items()},
        # masked (NULL in the store) where a measure does not apply
        **{m: np.ma.masked_less(joined[m].astype(np.int64), 0) for m in MEASURES},
    }


def _check_kept(metric: str, kept: tuple[str, ...], when: str) -> None:
    if metric not in kept:
        raise KeyError(f"{metric!r} is not kept per replication at {when}; kept: {', '.join(kept)}")


# A resource binds when it limits the operation most of the time (docs/model.md, section 8):
# the one rule for "what binds", used by the forecast and the requirement search alike.
BINDING_SHARE = 0.5


def binds(share: float) -> bool:
    """Whether a resource binds, given the share of replications in which its limit was met
    (for team capacity: the share of city field days with every attempt used)."""
    return share >= BINDING_SHARE


# The resources "what binds" names, in the order reports list them.
BINDING_RESOURCES = ("team_capacity", "beds", "transport", "monitors")


def binding_resources(
    team_capacity_full_share: float,
    p_beds_full: float,
    p_transport_backlog_at_horizon: float,
    p_monitor_stockout: float,
    cities_without_capacity: int = 0,
) -> list[str]:
    """The resources that bind (``binds``), in the order of ``BINDING_RESOURCES``: team capacity
    by the share of city field days with every attempt used (or wherever a city with targets
    can attempt on no field day at all); beds, transport and monitors by the share of
    replications in which a family found no bed, someone still awaits removal at the horizon
    or a monitor was meant but none was free."""
    binding = {
        "team_capacity": binds(team_capacity_full_share) or cities_without_capacity > 0,
        "beds": binds(p_beds_full),
        "transport": binds(p_transport_backlog_at_horizon),
        "monitors": binds(p_monitor_stockout),
    }
    return [name for name in BINDING_RESOURCES if binding[name]]


def interval(values: np.ndarray) -> dict[str, float]:
    """Median and 90% interval of per-replication values."""
    p05, median, p95 = np.quantile(values, QUANTILES, method="inverted_cdf")
    return {"median": float(median), "p05": float(p05), "p95": float(p95)}


def finite_quantiles(
    values: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, float | None]:
    """Median and 90% interval, optionally weighted, None where a quantile is infinite (a
    goal never reached)."""
    if weights is None:
        found = np.quantile(values, QUANTILES, method="inverted_cdf")
    else:
        found = np.quantile(values, QUANTILES, weights=weights, method="inverted_cdf")
    p05, median, p95 = (float(v) if np.isfinite(v) else None for v in found)
    return {"median": median, "p05": p05, "p95": p95}


def goal_days(first_day: int, recorded: np.ndarray) -> np.ndarray:
    """The days the goal is reached as the engine records them (``goal_day``: an index on the
    days from ``first_day``, -1: never) as day numbers (day 0 the first field day; ``inf``:
    never): what ``goal_day_interval`` reads."""
    return np.where(recorded >= 0, first_day + recorded, np.inf)


def goal_day_interval(day: np.ndarray, field_days: int | None = None) -> dict[str, Any]:
    """When the goal is reached, from each replication's first day with the goal's persons
    arrested (``inf``: never): median and 90% interval, a quantile that falls among the
    replications that never reach it being None; the share that reach it; and, given the
    field days, the share that have reached it by each (arrests happen on field days only,
    so by the last the share is that of the goal met)."""
    days = {key: None if v is None else int(v) for key, v in finite_quantiles(day).items()}
    summary: dict[str, Any] = {**days, "p_reached": float(np.mean(np.isfinite(day)))}
    if field_days is not None:
        summary["p_by_field_day"] = [
            {"day": field_day, "p_reached": float(np.mean(day <= field_day))}
            for field_day in range(field_days)
        ]
    return summary


def paired_change(ours: np.ndarray, theirs: np.ndarray) -> dict[str, float]:
    """The change in the probability of the goal from ``theirs`` to ``ours`` (paired, with its
    95% confidence interval); none to speak of, and no spread, where every pair agrees."""
    if np.array_equal(ours, theirs):
        return {"difference": 0.0, "difference_low": 0.0, "difference_high": 0.0}
    paired = paired_probabilities(ours, theirs)
    return {key: paired[key] for key in ("difference", "difference_low", "difference_high")}


def paired_probabilities(ours: np.ndarray, theirs: np.ndarray) -> dict[str, float]:
    """Both probabilities of reaching the goal and their difference with a 95% confidence
    interval (normal approximation to the mean of paired differences)."""
    difference = ours.astype(float) - theirs.astype(float)
    mean = float(difference.mean())
    half_width = 1.96 * float(difference.std(ddof=1)) / math.sqrt(len(difference))
    return {
        "current": float(theirs.mean()),
        "recommended": float(ours.mean()),
        "difference": mean,
        "difference_low": mean - half_width,
        "difference_high": mean + half_width,
    }


class ResultsBuilder:
    """Assembles ``Results`` from chunks as they arrive, in any order.

    Per-replication values are copied into place and each chunk can then be dropped, so a run
    holds one copy of them; daily sums are integers, so their total does not depend on the
    order of arrival. The band and trajectory samples are the first replications' and come in
    the first chunks; they are joined in chunk order.
    """

    def __init__(
        self,
        compiled: CompiledScenario,
        seed: int,
        chunk_sizes: list[int],
        keep_horizon: bool = True,
    ) -> None:
        """``keep_horizon=False`` keeps per-replication values at the end of field work only
        (for a run that is only compared there, such as the no-leak twin: half the memory)."""
        self.compiled = compiled
        self.kept = _PER_REPLICATION if keep_horizon else _AT_FIELD_END
        self.seed = seed
        self.chunk_sizes = chunk_sizes
        self.offsets = np.concatenate([[0], np.cumsum(chunk_sizes)])
        self.replications = int(self.offsets[-1])
        self.arrived: set[int] = set()
        self.per_replication: dict[str, np.ndarray] = {}
        self.daily_sum: np.ndarray | None = None
        self.collateral_daily_sum: np.ndarray | None = None
        self.quiet_movers: np.ndarray | None = None
        self.unvisited_movers: np.ndarray | None = None
        self.samples: dict[int, ChunkOutput] = {}

    def add(self, index: int, chunk: ChunkOutput) -> None:
        if index in self.arrived:
            raise ValueError(f"chunk {index} arrived twice")
        if chunk.replications != self.chunk_sizes[index]:
            raise ValueError(f"chunk {index} has {chunk.replications} replications")
        self.arrived.add(index)
        rows = slice(self.offsets[index], self.offsets[index + 1])
        for name in self.kept:
            values = getattr(chunk, name)
            if name not in self.per_replication:
                shape = (self.replications, *values.shape[1:])
                self.per_replication[name] = np.zeros(shape, dtype=values.dtype)
            self.per_replication[name][rows] = values
        if self.daily_sum is None or self.collateral_daily_sum is None:
            self.daily_sum = np.zeros_like(chunk.daily_sum)
            self.collateral_daily_sum = np.zeros_like(chunk.collateral_daily_sum)
        self.daily_sum += chunk.daily_sum
        self.collateral_daily_sum += chunk.collateral_daily_sum
        if chunk.quiet_movers is not None:
            if self.quiet_movers is None:
                self.quiet_movers = np.zeros_like(chunk.quiet_movers)
            self.quiet_movers += chunk.quiet_movers
        if chunk.unvisited_movers is not None:
            if self.unvisited_movers is None:
                self.unvisited_movers = np.zeros_like(chunk.unvisited_movers)
            self.unvisited_movers += chunk.unvisited_movers
        if chunk.band_sample is not None or chunk.trajectories is not None:
            self.samples[index] = chunk

    def build(self) -> Results:
        missing = set(range(len(self.chunk_sizes))) - self.arrived
        if missing:
            raise ValueError(f"chunks {sorted(missing)} have not arrived")
        compiled = self.compiled
        assert self.daily_sum is not None and self.collateral_daily_sum is not None
        ordered = [self.samples[index] for index in sorted(self.samples)]
        bands = [chunk for chunk in ordered if chunk.band_sample is not None]
        trajectories = [chunk.trajectories for chunk in ordered if chunk.trajectories is not None]
        if not bands:
            raise ValueError("the first chunk must carry the band sample")
        if not trajectories:
            raise ValueError("the first chunk must carry the trajectory sample")
        band_sample = _joined([chunk.band_sample for chunk in bands])
        city_band_sample = _joined([chunk.city_band_sample for chunk in bands])
        daily_sum = self.daily_sum.astype(float)
        if self.quiet_movers is not None:
            daily_sum += _quiet_moves_to_come(compiled, self.quiet_movers)
        if self.unvisited_movers is not None:
            daily_sum += _unvisited_moves_to_come(compiled, self.unvisited_movers)
        scenario = compiled.scenario
        return Results(
            scenario=scenario,
            seed=self.seed,
            replications=self.replications,
            chunk_size=self.chunk_sizes[0],
            days=np.arange(compiled.start_day, compiled.start_day + compiled.day_count),
            places=(*(city.name for city in scenario.cities), TOTAL),
            daily_mean=daily_sum / self.replications,
            daily_bands=_quantiles(band_sample),
            city_daily_bands=_quantiles(city_band_sample),
            band_replications=len(band_sample),
            trajectories=np.concatenate(trajectories),
            collateral_daily_mean=self.collateral_daily_sum / self.replications,
            officer_days=compiled.officer_days,
            field_days_with_capacity=(compiled.capacity > 0).sum(axis=0),
            **self._per_replication(),
        )

    def _per_replication(self) -> dict[str, np.ndarray]:
        """Every per-replication array; those not kept are empty (no replications)."""
        return {
            name: self.per_replication.get(name, np.zeros((0, 0), dtype=np.int32))
            for name in _PER_REPLICATION
        }


def _joined(parts: list) -> np.ndarray:
    """Chunks' samples in order: the one part itself when there is one (no copy)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _quantiles(values: np.ndarray, block: int = 4096) -> np.ndarray:
    """``np.quantile(values, QUANTILES, axis=0, method="inverted_cdf")``: numpy sorts (or
    partitions) once per quantile and copies the whole sample; here each block of columns is
    sorted once, so the time is one sort and the extra memory one block. The block is
    transposed first: a sort along contiguous rows takes about a third of the time of one
    down strided columns, and the client builds the results alone after the last chunk."""
    count = len(values)
    rows = [max(math.ceil(count * q) - 1, 0) for q in QUANTILES]
    columns = values.reshape(count, -1)
    result = np.empty((len(rows), columns.shape[1]))
    for start in range(0, columns.shape[1], block):
        ordered = np.ascontiguousarray(columns[:, start : start + block].T)
        ordered.sort(axis=1)
        result[:, start : start + block] = ordered[:, rows].T
    return result.reshape(len(rows), *values.shape[1:])


def _quiet_moves_to_come(compiled: CompiledScenario, movers: np.ndarray) -> np.ndarray:
    """[day, place, metric, measure]: the correction that spreads each quiet window's moves,
    which daily sums count on the window's first day, over the window's days by their
    expected day (docs/model.md, section 5): the households expected still at the address at
    the end of each day, given how many moved in the window."""
    survival = compiled.survival
    start = -compiled.start_day
    windows = ((0, start), (compiled.field_days + start, compiled.day_count))
    to_come = np.zeros((compiled.day_count, *movers.shape[1:]))  # [day, class, city] households
    for window, (first, end) in enumerate(windows):
        if end <= first or survival[first] - survival[end] <= 0:
            continue
        share = (survival[first + 1 : end + 1] - survival[end]) / (survival[first] - survival[end])
        to_come[first:end] += share[:, None, None] * movers[window]
    return _still_at_address(compiled, to_come)


def _unvisited_moves_to_come(compiled: CompiledScenario, movers: np.ndarray) -> np.ndarray:
    """[day, place, metric, measure]: as ``_quiet_moves_to_come``, for the folded moves of
    never-visited households (docs/model.md, section 5), counted on the first day: those of
    ``movers`` [f, class, city] moved in [0, f + 1) (f: a visit's day, or the last day), and
    are expected still at the address at the end of day j < f with the share
    (S(j + 1) - S(f + 1)) / (S(0) - S(f + 1)). Summed over f by two cumulative sums from the
    last day back, rather than a window per day."""
    survival = compiled.survival
    gone = survival[0] - survival[1:]  # [f] S(0) - S(f + 1): the share moved by day f's end
    weight = np.divide(1.0, gone, out=np.zeros_like(gone), where=gone > 0)[:, None, None]
    weighted = movers * weight  # [f, class, city]
    # for each j: the sums over f > j of weighted and of S(f + 1) * weighted
    later = np.cumsum(weighted[::-1], axis=0)[::-1]
    later_survival = np.cumsum((survival[1:, None, None] * weighted)[::-1], axis=0)[::-1]
    after = np.zeros_like(later)
    after_survival = np.zeros_like(later_survival)
    after[:-1], after_survival[:-1] = later[1:], later_survival[1:]
    to_come = survival[1:, None, None] * after - after_survival
    return _still_at_address(compiled, to_come)


def _still_at_address(compiled: CompiledScenario, to_come: np.ndarray) -> np.ndarray:
    """[day, place, metric, measure]: the correction of daily sums for households [day,
    class, city] counted as moved already but expected still at the address."""
    weights = compiled.measure_weights
    per_place = np.einsum("dkc,kq->dcq", to_come, weights)
    per_place = np.concatenate([per_place, per_place.sum(axis=1, keepdims=True)], axis=1)
    correction = np.zeros((compiled.day_count, per_place.shape[1], len(METRICS), 3))
    for metric, sign in (("at_address", 1), ("moved", -1), ("moved_away", -1)):
        correction[:, :, METRICS.index(metric)] = sign * per_place
    return correction


_AT_FIELD_END = ("at_field_end", "collateral_at_field_end")
_PER_REPLICATION = (
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
