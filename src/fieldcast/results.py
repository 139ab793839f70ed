"""Results of a run: per-replication outcomes, daily means and bands, a trajectory sample.

A ``Results`` is assembled from the engine's chunks in chunk order, so the same scenario and
seed give the same arrays to the bit whatever the number of processes that computed them.

Axes used throughout: ``place`` is each city in scenario order, then ``"Total"``; ``metric`` is
``fieldcast.metrics.METRICS``; ``measure`` is households, persons, minors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fieldcast.engine import CompiledScenario
from fieldcast.metrics import CITY_BAND_METRICS, MEASURES, METRICS, metric_index
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
    at_field_end: np.ndarray  # [rep, place, metric, measure]
    at_horizon: np.ndarray  # [rep, place, metric, measure]
    collateral_at_field_end: np.ndarray  # [rep, place]
    collateral_at_horizon: np.ndarray  # [rep, place]
    full_capacity_days: np.ndarray  # [rep, city]
    bed_shortfall_days: np.ndarray  # [rep]
    monitor_shortfall_days: np.ndarray  # [rep, city]
    removal_backlog_max: np.ndarray  # [rep] persons
    bed_days: np.ndarray  # [rep] persons x days
    monitor_days: np.ndarray  # [rep] households x days
    officer_days: np.ndarray  # [city] scheduled officer-days (deterministic)
    field_days_with_capacity: np.ndarray  # [city] field days on which the city could attempt

    @classmethod
    def from_chunks(
        cls,
        plan: CompiledScenario,
        seed: int,
        chunk_size: int,
        chunks: Sequence[ChunkOutput],
    ) -> Results:
        """Merge chunk outputs, in chunk order (chunk 0 carries the bands and trajectories)."""
        replications = sum(chunk.replications for chunk in chunks)
        first = chunks[0]
        if first.band_sample is None or first.city_band_sample is None:
            raise ValueError("chunk 0 must carry the band sample")
        if first.trajectories is None:
            raise ValueError("chunk 0 must carry the trajectory sample")

        def stacked(name: str) -> np.ndarray:
            return np.concatenate([getattr(chunk, name) for chunk in chunks])

        daily_sum = np.zeros_like(first.daily_sum)
        collateral_sum = np.zeros_like(first.collateral_daily_sum)
        for chunk in chunks:  # always in chunk order: identical floating-point sums
            daily_sum += chunk.daily_sum
            collateral_sum += chunk.collateral_daily_sum
        scenario = plan.scenario
        return cls(
            scenario=scenario,
            seed=seed,
            replications=replications,
            chunk_size=chunk_size,
            days=np.arange(plan.start_day, plan.start_day + plan.days),
            places=(*(city.name for city in scenario.cities), TOTAL),
            daily_mean=daily_sum / replications,
            daily_bands=np.quantile(first.band_sample, QUANTILES, axis=0, method="inverted_cdf"),
            city_daily_bands=np.quantile(
                first.city_band_sample, QUANTILES, axis=0, method="inverted_cdf"
            ),
            band_replications=len(first.band_sample),
            trajectories=first.trajectories,
            collateral_daily_mean=collateral_sum / replications,
            at_field_end=stacked("at_field_end"),
            at_horizon=stacked("at_horizon"),
            collateral_at_field_end=stacked("collateral_at_field_end"),
            collateral_at_horizon=stacked("collateral_at_horizon"),
            full_capacity_days=stacked("full_capacity_days"),
            bed_shortfall_days=stacked("bed_shortfall_days"),
            monitor_shortfall_days=stacked("monitor_shortfall_days"),
            removal_backlog_max=stacked("removal_backlog_max"),
            bed_days=stacked("bed_days"),
            monitor_days=stacked("monitor_days"),
            officer_days=plan.officer_days,
            field_days_with_capacity=(plan.capacity > 0).sum(axis=0),
        )

    # -- access ------------------------------------------------------------------------------

    def place_index(self, place: str) -> int:
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
        """One number per replication: ``metric`` in ``measure`` at the end of field work or at
        the horizon, for a city or the total."""
        values = self.at_field_end if when == "field_end" else self.at_horizon
        return values[:, self.place_index(place), metric_index(metric), MEASURES.index(measure)]

    def collateral(self, when: When = "field_end", place: str = TOTAL) -> np.ndarray:
        """Non-target persons arrested, per replication."""
        values = self.collateral_at_field_end if when == "field_end" else self.collateral_at_horizon
        return values[:, self.place_index(place)]

    def daily(self, metric: str, measure: str = "persons", place: str = TOTAL) -> np.ndarray:
        """Daily mean of a metric (flows cumulative) over all replications, [day]."""
        return self.daily_mean[
            :, self.place_index(place), metric_index(metric), MEASURES.index(measure)
        ]

    def daily_band(self, metric: str, measure: str = "persons") -> np.ndarray:
        """Daily 5%, 50%, 95% quantiles of a national total, [quantile, day]."""
        return self.daily_bands[:, :, metric_index(metric), MEASURES.index(measure)]

    def city_daily_band(self, metric: str, city: str) -> np.ndarray:
        """Daily 5%, 50%, 95% quantiles of a city's persons, [quantile, day]."""
        if metric not in CITY_BAND_METRICS:
            raise KeyError(f"city bands are kept for {', '.join(CITY_BAND_METRICS)} only")
        column = CITY_BAND_METRICS.index(metric)
        return self.city_daily_bands[:, :, self.place_index(city), column]

    @property
    def cities(self) -> tuple[str, ...]:
        return self.places[:-1]

    @property
    def metrics(self) -> tuple[str, ...]:
        return METRICS


def interval(values: np.ndarray) -> dict[str, float]:
    """Median and 90% interval of per-replication values."""
    p05, median, p95 = np.quantile(values, QUANTILES, method="inverted_cdf")
    return {"median": float(median), "p05": float(p05), "p95": float(p95)}
