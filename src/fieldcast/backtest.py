"""Backtests: the forecasts tracking would have made at each observed day, scored against
the counts that followed.

At each day d that ends an observed count, the filter (``tracking.py``), conditioned on the
counts up to d, predicts every later count of every series: each lane's simulated count,
reported through the observation model. What is scored is the persons reported between d
and a later day t of a series (its counts from d + 1 to t summed), against what was
reported, per horizon h = t - d:

- the continuous ranked probability score (CRPS; Gneiting and Raftery 2007), in persons:
  0 for a forecast certain of the right value, lower is better;
- whether the central 50% and 90% prediction intervals held the value (coverage: a
  well-calibrated forecast's is 50% and 90%), counted by the randomized PIT below (PIT
  within 0.25-0.75, 0.05-0.95): a count on an interval's end counts by the share of its
  probability inside the interval, since whole-number intervals of small counts, ends
  included, would hold more than their nominal share;
- the probability integral transform (PIT, randomized for counts: Czado, Gneiting and Held
  2009) in ten bins: uniform for a calibrated forecast, U-shaped for an overconfident one.

The filter runs once, day by day, as tracking does: the backtest costs one filter and one
short forecast per observed day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.calibration import observation_draws
from fieldcast.observations import ObservationSet, ObservedCount
from fieldcast.scenario import Scenario
from fieldcast.tracking import filter_to, outlook, simulated_count, start_filter, tracked_model

if TYPE_CHECKING:
    from distributed import Client

BACKTEST_KEY = 0xBAC  # keys the reporting noise of the predictions (with the seed and day)
PIT_BINS = 10


def crps(samples: np.ndarray, observed: float) -> float:
    """The CRPS of an ensemble forecast: E|X - y| - E|X - X'| / 2, the second term from the
    sorted sample in O(m log m) (the few lines are why no scoring library)."""
    x = np.sort(np.asarray(samples, dtype=float))
    m = len(x)
    spread = 2.0 * np.sum((2 * np.arange(1, m + 1) - m - 1) * x) / m**2
    return float(np.mean(np.abs(x - observed)) - spread / 2)


def randomized_pit(samples: np.ndarray, observed: float, uniform: float) -> float:
    """F(y - 1) + u (F(y) - F(y - 1)): uniform on (0, 1) for a calibrated count forecast."""
    below = np.mean(samples < observed)
    at = np.mean(samples == observed)
    return float(below + uniform * at)


@dataclass
class Prediction:
    origin: int  # the day the forecast was made (after its counts)
    day: int  # the day predicted
    place: str
    metric: str
    observed: int  # persons reported from origin + 1 to day
    p05: float
    p25: float
    median: float
    p75: float
    p95: float
    crps: float
    pit: float

    @property
    def horizon(self) -> int:
        return self.day - self.origin


@dataclass
class Backtest:
    scenario: Scenario
    observations: str
    particles: int
    seed: int
    predictions: list[Prediction]

    def by_horizon(self) -> list[dict[str, Any]]:
        rows = []
        for horizon in sorted({p.horizon for p in self.predictions}):
            chosen = [p for p in self.predictions if p.horizon == horizon]
            pits = np.array([p.pit for p in chosen])
            rows.append(
                {
                    "horizon_days": horizon,
                    "predictions": len(chosen),
                    "crps": float(np.mean([p.crps for p in chosen])),
                    "coverage_50": float(np.mean((pits >= 0.25) & (pits <= 0.75))),
                    "coverage_90": float(np.mean((pits >= 0.05) & (pits <= 0.95))),
                    "pit_histogram": np.histogram(pits, PIT_BINS, (0.0, 1.0))[0].tolist(),
                }
            )
        return rows

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "observations": self.observations,
            "particles": self.particles,
            "seed": self.seed,
            "scored": (
                "persons reported in each series from the day after the forecast to a later "
                "observed day, against the forecast's predictive distribution (simulated "
                "counts reported through the observation model)"
            ),
            "by_horizon": self.by_horizon(),
            "predictions": [{**p.__dict__, "horizon": p.horizon} for p in self.predictions],
        }


def backtest(
    scenario: Scenario,
    observed: ObservationSet,
    observations: str,
    particles: int = 2000,
    seed: int = 2019,
    parameters: Sequence[str] = (),
    processes: int = 1,
    client: Client | None = None,
    progress: Callable[[float, float | None], None] | None = None,
) -> Backtest:
    """Score the forecast tracking would have made at each observed day (module docstring).

    Parameters
    ----------
    scenario : Scenario
        The operation.
    observed : ObservationSet
        The observed counts.
    observations : str
        What they are (a stored set's name and version, or a file).
    particles : int
        Lanes of the filter.
    seed : int
        The filter's seed.
    parameters : sequence of str
        The ranged assumptions to track (empty: every one that can vary by lane).
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the lanes instead.
    progress : callable, optional
        Called with (forecasts made, forecasts to make) after each.

    Returns
    -------
    Backtest
        Every forecast's scores by horizon: CRPS, interval coverage and PIT values.
    """
    model = tracked_model(scenario, parameters)
    state = start_filter(model, particles, seed, observed)
    counts = observed.counts()
    origins = sorted({c.last_day for c in counts})
    predictions: list[Prediction] = []
    for made, origin in enumerate(origins[:-1]):
        if progress is not None:
            progress(made, len(origins) - 1)
        state = filter_to(state, observed, origin, processes, client)
        later = [c for c in counts if c.first_day > origin]
        record = sorted({c.last_day for c in later} | {c.first_day - 1 for c in later})
        ahead = outlook(state, record, processes, client)
        generator = np.random.default_rng(np.random.SeedSequence([seed, BACKTEST_KEY, origin]))
        uniforms = np.random.default_rng(np.random.SeedSequence([seed, BACKTEST_KEY, origin, 1]))
        by_series: dict[tuple[str, str], list[ObservedCount]] = {}
        for count in sorted(later, key=lambda c: c.last_day):
            by_series.setdefault((count.place, count.metric), []).append(count)
        for (place, metric), series in by_series.items():
            if series[0].first_day != origin + 1:
                continue  # the series has no count ending on the origin: nothing to start from
            reported = np.zeros(particles)
            observed_total = 0
            for count in series:
                simulated = simulated_count(state, count, ahead.observed_at).astype(float)
                reported = reported + observation_draws(model.observation, simulated, generator)
                observed_total += count.persons
                p05, p25, median, p75, p95 = np.quantile(
                    reported, (0.05, 0.25, 0.5, 0.75, 0.95), method="inverted_cdf"
                )
                predictions.append(
                    Prediction(
                        origin=origin,
                        day=count.last_day,
                        place=place,
                        metric=metric,
                        observed=observed_total,
                        p05=float(p05),
                        p25=float(p25),
                        median=float(median),
                        p75=float(p75),
                        p95=float(p95),
                        crps=crps(reported, observed_total),
                        pit=randomized_pit(reported, observed_total, float(uniforms.random())),
                    )
                )
    if progress is not None:
        progress(len(origins) - 1, len(origins) - 1)
    return Backtest(scenario, observations, particles, seed, predictions)
