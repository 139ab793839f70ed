"""What a calibration says, and how far to trust it.

From a calibration's particles (``calibration.py``) this module makes:

* the **posterior table**: each ranged assumption's median and 90% interval beside its prior's;
* the **diagnostics**: per generation the temperature, effective sample size, acceptance of
  the moves and simulations run, and the failed simulations;
* the **prior-data conflicts**: an observed series (a place and metric, its counts summed)
  outside the 99% interval of the prior predictive, that is, something the declared ranges
  could hardly have produced. A posterior is then an answer to the wrong question, and the
  report says so before anything else;
* **edges**: a posterior piled against an end of its declared range (the end's slice, 5% of
  the prior, holds more than any other slice and more than twice its prior share), with the
  advice to widen that range;
* the **posterior predictive check** of every observed count: its 90% interval under the
  posterior, and whether the count fell in it;
* the **calibrated scenario**: the scenario at the posterior medians, with the posterior 90%
  intervals as its ranges and provenance "calibrated to OBSERVATIONS (hash), DATE".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.calibration import Calibration, predictive_counts
from fieldcast.scenario import (
    Scenario,
    editable_data,
    parameter_value,
    validate_scenario,
    with_parameters,
)

if TYPE_CHECKING:
    from distributed import Client

CONFLICT_LEVEL = 0.99  # prior predictive interval outside which a series is a conflict
CHECK_LEVEL = 0.90  # posterior predictive interval of each observed count
# A range is cut into slices of EDGE_SHARE of its prior probability. A posterior "piles
# against an end" when the end slice holds more of it than any other slice and more than
# EDGE_ALARM times its prior share: the evidence points beyond the range.
EDGE_SHARE = 0.05
EDGE_ALARM = 2.0
PRIOR_PREDICTIVE = 1  # keys the reporting noise of the prior predictive draws
POSTERIOR_PREDICTIVE = 2  # and of the posterior predictive ones


@dataclass(frozen=True)
class ParameterPosterior:
    """One assumption: its prior (declared range) and what the observations make of it."""

    path: str
    prior: str  # "uniform" or "log-uniform"
    low: float
    high: float
    scenario_value: float  # the value the scenario gives it
    median: float
    p05: float
    p95: float
    share_below: float  # of the posterior in the prior's lowest EDGE_SHARE
    share_above: float  # and in its highest
    edge: str  # "low" or "high" where the posterior piles against that end, else ""

    @property
    def narrowing(self) -> float:
        """The posterior 90% interval's width as a share of the range's."""
        return (self.p95 - self.p05) / (self.high - self.low)


@dataclass(frozen=True)
class SeriesConflict:
    """An observed series (counts summed) beside the prior predictive's interval of it."""

    series: str
    observed: int
    low: float
    high: float

    @property
    def conflict(self) -> bool:
        return not self.low <= self.observed <= self.high


@dataclass(frozen=True)
class CountCheck:
    """An observed count beside the posterior predictive's 90% interval of it."""

    count: str
    observed: int
    median: float
    low: float
    high: float

    @property
    def inside(self) -> bool:
        return self.low <= self.observed <= self.high


@dataclass(frozen=True)
class Assessment:
    """A calibration's results and checks: what ``fieldcast calibrate`` prints and stores."""

    calibration: Calibration
    parameters: list[ParameterPosterior]
    conflicts: list[SeriesConflict]
    checks: list[CountCheck]

    @property
    def warnings(self) -> list[str]:
        """Plain sentences for what should stop a reader from taking the posterior as it is."""
        run = self.calibration
        found = []
        for series in self.conflicts:
            if series.conflict:
                found.append(
                    f"prior-data conflict: the observed {series.series} ({series.observed:,}) "
                    f"is outside the {CONFLICT_LEVEL:.0%} interval the declared ranges give "
                    f"({series.low:,.0f} to {series.high:,.0f}); the ranges (or the model) "
                    "cannot produce what was observed, so the posterior is not to be trusted"
                )
        for parameter in self.parameters:
            if parameter.edge:
                end = parameter.low if parameter.edge == "low" else parameter.high
                share = parameter.share_below if parameter.edge == "low" else parameter.share_above
                found.append(
                    f"{parameter.path}: {share:.0%} of the posterior lies in the "
                    f"{parameter.edge}est {EDGE_SHARE:.0%} of its range, against the end "
                    f"{end:g}; widen the range beyond {end:g} (unless that is a hard limit) "
                    "and calibrate again"
                )
        if not run.converged:
            found.append(
                f"stopped by the {run.stopped} before the posterior was reached (temperature "
                f"{run.last.beta:.3f} of 1): these are not posterior values; resume the "
                "calibration with a larger budget"
            )
        if run.last.failed:
            found.append(
                f"{run.last.failed:,} simulations failed (parameter sets that make no valid "
                "scenario) and count as impossible"
            )
        outside = sum(not check.inside for check in self.checks)
        expected = (1 - CHECK_LEVEL) * len(self.checks)
        if self.checks and outside > max(2.0, 2 * expected):
            found.append(
                f"{outside} of {len(self.checks)} observed counts fall outside their "
                f"posterior predictive {CHECK_LEVEL:.0%} interval (about {expected:.0f} "
                "expected): the model fits the observations poorly"
            )
        return found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: everything the report shows."""
        run = self.calibration
        return {
            "scenario": run.scenario.name,
            "observations": run.observations,
            "observation_model": run.scenario.observation.model_dump(mode="json"),
            "settings": asdict(run.settings),
            "copies": run.copies,
            "stopped": run.stopped,
            "warnings": self.warnings,
            "parameters": [{**asdict(p), "narrowing": p.narrowing} for p in self.parameters],
            "generations": [generation.as_dict() for generation in run.generations],
            "prior_predictive": {
                "level": CONFLICT_LEVEL,
                "series": [{**asdict(s), "conflict": s.conflict} for s in self.conflicts],
            },
            "posterior_predictive": {
                "level": CHECK_LEVEL,
                "inside": sum(check.inside for check in self.checks),
                "counts": [{**asdict(c), "inside": c.inside} for c in self.checks],
            },
        }


def assess(run: Calibration, processes: int = 1, client: Client | None = None) -> Assessment:
    """The posterior table and the checks of a calibration (converged or not). Simulates the
    prior predictive (from generation 0's particles) and the posterior predictive (from the
    last generation's), one replication of its own per particle."""
    layout = run.layout
    prior_draws = predictive_counts(
        run, run.generations[0].values, PRIOR_PREDICTIVE, processes, client
    )
    posterior_draws = predictive_counts(
        run, run.last.values, POSTERIOR_PREDICTIVE, processes, client
    )
    conflicts = []
    tail = (1 - CONFLICT_LEVEL) / 2
    for index, label in enumerate(layout.series_labels):
        members = layout.series == index
        totals = prior_draws[:, members].sum(axis=1)
        totals = totals[np.isfinite(totals)]
        low, high = np.quantile(totals, [tail, 1 - tail]) if len(totals) else (math.nan,) * 2
        conflicts.append(
            SeriesConflict(label, int(layout.persons[members].sum()), float(low), float(high))
        )
    tail = (1 - CHECK_LEVEL) / 2
    valid = posterior_draws[np.isfinite(posterior_draws).all(axis=1)]
    checks = []
    for index, label in enumerate(layout.labels):
        low, median, high = (
            np.quantile(valid[:, index], [tail, 0.5, 1 - tail]) if len(valid) else [math.nan] * 3
        )
        checks.append(
            CountCheck(label, int(layout.persons[index]), float(median), float(low), float(high))
        )
    return Assessment(run, parameter_posteriors(run), conflicts, checks)


def parameter_posteriors(run: Calibration) -> list[ParameterPosterior]:
    """The posterior table: each parameter's median and 90% interval, and its edges."""
    table = []
    for j, prior in enumerate(run.priors):
        sample = run.last.values[:, j]
        position = prior.distribution.cdf(sample)
        slices = np.histogram(position, bins=round(1 / EDGE_SHARE), range=(0.0, 1.0))[0]
        shares = slices / len(sample)
        edge = ""
        for end, share in (("low", shares[0]), ("high", shares[-1])):
            if share == shares.max() and share > EDGE_ALARM * EDGE_SHARE:
                edge = end
        p05, median, p95 = np.quantile(sample, [0.05, 0.5, 0.95])
        table.append(
            ParameterPosterior(
                path=prior.path,
                prior=prior.shape,
                low=prior.low,
                high=prior.high,
                scenario_value=float(parameter_value(run.scenario, prior.path)),
                median=float(median),
                p05=float(p05),
                p95=float(p95),
                share_below=float(shares[0]),
                share_above=float(shares[-1]),
                edge=edge,
            )
        )
    return table


def calibrated_scenario(assessment: Assessment, on: date) -> Scenario:
    """The scenario at the posterior medians, its ranges the posterior 90% intervals (same
    prior shape), each with provenance "calibrated" naming the observations and the date.
    Whole-number parameters take the rounded median and a range widened to whole numbers."""
    run = assessment.calibration
    if not run.converged:
        raise ValueError(
            f"the calibration stopped by the {run.stopped} before reaching the posterior: "
            "resume it before writing a calibrated scenario"
        )
    data = editable_data(run.scenario)
    values: dict[str, Any] = {}
    for parameter, prior in zip(assessment.parameters, run.priors, strict=True):
        low, high, median = parameter.p05, parameter.p95, parameter.median
        if prior.whole:
            median, low, high = round(median), math.floor(low), math.ceil(high)
            if low == high:  # a range must have two ends: one whole number more
                low, high = (low, high + 1) if high < prior.high else (low - 1, high)
        elif not low < high:  # every particle at one value: a sliver around it
            sliver = 1e-6 * (prior.high - prior.low)
            low, high = max(prior.low, median - sliver), min(prior.high, median + sliver)
        values[parameter.path] = median
        note = (
            f"calibrated to {run.observations}, {on.isoformat()}: posterior median; the range "
            f"is the posterior 90% interval (prior {parameter.low:g} to {parameter.high:g})"
        )
        data["provenance"][parameter.path] = {"kind": "calibrated", "note": note}
        data["ranges"][parameter.path] = {
            "low": float(low),
            "high": float(high),
            "prior": prior.shape,
            "note": note,
        }
    data["name"] = f"{run.scenario.name}-calibrated"
    data["title"] = f"{run.scenario.title} (calibrated to {run.observations})".strip()
    return validate_scenario(with_parameters(data, values), source="the calibrated scenario")
