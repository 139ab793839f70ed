"""Which assumptions the answer hangs on: global sensitivity analysis over declared ranges.

A scenario declares a plausible range for each assumption it wants examined (``[ranges]``,
keyed by the parameter's dotted path). SALib draws points in that box (Morris trajectories or
Saltelli's Sobol' sample), every point is run as a scenario of its own, and SALib turns the
outputs into indices:

* Morris: ``mu_star``, the mean absolute change of an output when one assumption moves one
  step (two thirds of its range, on four levels), divided by the step as SALib does, so it
  reads as a change over the whole range; ``sigma``, how much that change varies with the
  other assumptions (interactions, non-linearity). Cheap: trajectories x (assumptions + 1)
  points. Good for ranking.
* Sobol': ``S1``, the share of the output's variance due to the assumption alone, and ``ST``,
  its share including interactions. Dearer: samples x (assumptions + 2) points.

Every point runs with the same seed, so all points share their random numbers (common random
numbers) and differences between points are the assumptions' doing, not sampling noise. The
analysis reports its own sampling error twice: SALib's bootstrap confidence intervals over the
sampled points, and the share of the outputs' variance across points that replication noise
accounts for (the mean squared standard error of a point's mean over the variance of the point
means; near 0 means the replications per point are enough).

Whole-number parameters (teams, days, seats) are rounded to the nearest whole number at each
point; the indices still refer to the declared range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fieldcast.assumptions import KEY_OUTPUTS, key_outputs, scenario_maker
from fieldcast.compiled import CompiledScenario
from fieldcast.recording import ChunkOutput
from fieldcast.replications import replication_values
from fieldcast.scenario import Scenario
from fieldcast.workers import Progress

if TYPE_CHECKING:
    from distributed import Client

Method = Literal["morris", "sobol"]

OUTPUTS = {
    "persons_arrested": "persons arrested by the end of field work",
    "persons_removed": "persons removed by the horizon",
    "total_cost": "total cost, USD",
}
_OUTPUT_ROWS = [list(KEY_OUTPUTS).index(output) for output in OUTPUTS]
# The index each method ranks by, and the indices kept from SALib's answer.
MAIN_INDEX = {"morris": "mu_star", "sobol": "ST"}
INDICES = {
    "morris": ("mu_star", "mu_star_conf", "sigma"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}  # trajectories; base sample (a power of two)
# Below these, the analysis says its sample is small for its parameters (fieldcast's rules of
# thumb: Morris with fewer than 10 trajectories, as Campolongo, Cariboni and Saltelli (2007)
# use at least; Sobol' with fewer than 10 base samples per parameter).
MIN_MORRIS_TRAJECTORIES = 10
MIN_SOBOL_SAMPLES_PER_PARAMETER = 10
MORRIS_LEVELS = 4
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Sensitivity:
    """The indices of every assumption with a range, for each output."""

    scenario: str
    method: Method
    parameters: tuple[str, ...]
    ranges: dict[str, tuple[float, float]]
    samples: int
    points: int
    replications: int
    seed: int
    output_means: dict[str, float]  # mean over the points
    indices: dict[str, dict[str, list[float]]]  # output -> index -> value per parameter
    noise_share: dict[str, float]  # output -> replication noise / variance across points

    @property
    def main_index(self) -> str:
        return MAIN_INDEX[self.method]

    def distinguishable_from_zero(self, output: str) -> list[bool]:
        """Per parameter: whether its main index's confidence interval excludes zero (when
        it does not, the parameter's effect cannot be told from none with this sample)."""
        values = self.indices[output][self.main_index]
        margins = self.indices[output][f"{self.main_index}_conf"]
        return [
            math.isfinite(value) and math.isfinite(margin) and value - margin > 0
            for value, margin in zip(values, margins, strict=True)
        ]

    def warnings(self) -> list[str]:
        """What the reader should know about the sample before trusting the ranking."""
        count = len(self.parameters)
        warnings = []
        if self.method == "morris" and self.samples < MIN_MORRIS_TRAJECTORIES:
            warnings.append(
                f"{self.samples} Morris trajectories are few: rankings from fewer than "
                f"{MIN_MORRIS_TRAJECTORIES} are unstable (use --samples)."
            )
        if self.method == "sobol" and self.samples < MIN_SOBOL_SAMPLES_PER_PARAMETER * count:
            warnings.append(
                f"A Sobol' base sample of {self.samples} is small for {count} assumptions "
                f"(at least {MIN_SOBOL_SAMPLES_PER_PARAMETER} per assumption, "
                f"{MIN_SOBOL_SAMPLES_PER_PARAMETER * count}, is advised; use --samples): "
                "expect wide intervals."
            )
        for output in OUTPUTS:
            unclear = self.distinguishable_from_zero(output).count(False)
            if unclear:
                warnings.append(
                    f"{OUTPUTS[output]}: {unclear} of {count} assumptions have a "
                    f"{self.main_index} whose {CONFIDENCE:.0%} interval includes zero: their "
                    "effect cannot be told from none with this sample."
                )
        return warnings

    def reading(self) -> str:
        """How to read the indices and their intervals, in plain sentences (said here once,
        for the command line and the dashboard alike)."""
        what = (
            "mu*: mean absolute change of the output per whole range of the assumption (from "
            "steps of two thirds of it); sigma: how much that change depends on the other "
            "assumptions."
            if self.method == "morris"
            else "S1: share of the output's variance due to the assumption alone; ST: including "
            "its interactions with the others."
        )
        return (
            f"{self.method.capitalize()} over {self.points:,} points of {self.replications:,} "
            f"replications each (seed {self.seed}, common random numbers). {what} Intervals: "
            f"{CONFIDENCE:.0%} bootstrap over the points; (~0): the interval includes zero."
        )

    def ranked(self, output: str) -> list[int]:
        """Parameter positions, most influential first on ``output`` (NaN last)."""
        values = np.nan_to_num(np.asarray(self.indices[output][self.main_index]), nan=-np.inf)
        return sorted(range(len(self.parameters)), key=lambda i: (-values[i], i))

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "method": self.method,
            "samples": self.samples,
            "points": self.points,
            "replications_per_point": self.replications,
            "seed": self.seed,
            "confidence_level": CONFIDENCE,
            "main_index": self.main_index,
            "reading": self.reading(),
            "warnings": self.warnings(),
            "outputs": {
                output: {
                    "meaning": OUTPUTS[output],
                    "mean_over_points": self.output_means[output],
                    "replication_noise_share": _finite(self.noise_share[output]),
                    "ranking": [
                        {
                            "parameter": self.parameters[i],
                            "low": self.ranges[self.parameters[i]][0],
                            "high": self.ranges[self.parameters[i]][1],
                            **{
                                name: _finite(values[i])
                                for name, values in self.indices[output].items()
                            },
                            "distinguishable_from_zero": self.distinguishable_from_zero(output)[i],
                        }
                        for i in self.ranked(output)
                    ],
                }
                for output in OUTPUTS
            },
        }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def sample_points(scenario: Scenario, method: Method, samples: int, seed: int) -> np.ndarray:
    """The points SALib asks for, [point, parameter], in the ranges' order."""
    # SALib imported where it is used (here and in ``_analyse``): it imports pandas and
    # scipy.stats, most of a second that every command reading this module (``report``
    # charts a stored sensitivity analysis) would otherwise wait for
    from SALib.sample import morris as morris_sampling
    from SALib.sample import sobol as sobol_sampling

    problem = _problem(scenario)
    if method == "morris":
        if samples < 2:
            raise ValueError(f"samples: Morris needs at least 2 trajectories, got {samples}")
        return morris_sampling.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    if samples < 2 or samples & (samples - 1):
        raise ValueError(f"samples: Sobol' needs a power of two (64, 128, ...), got {samples}")
    return sobol_sampling.sample(problem, samples, calc_second_order=False, seed=seed)


def point_outputs(compiled: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
    """The outputs of one chunk of a point, [output, replication] (a ``replication_values``
    reducer, in the order of ``OUTPUTS``)."""
    return key_outputs(compiled, chunk)[_OUTPUT_ROWS]


def run_sensitivity(
    scenario: Scenario,
    method: Method = "morris",
    samples: int | None = None,
    replications: int = 200,
    seed: int = 2019,
    processes: int = 1,
    progress: Progress | None = None,
    client: Client | None = None,
) -> Sensitivity:
    """Rank the scenario's ranged assumptions by their effect on reach, removals and cost.

    Parameters
    ----------
    scenario : Scenario
        The operation, with at least two ``[ranges]``.
    method : {"morris", "sobol"}
        SALib's method.
    samples : int, optional
        Morris trajectories, or Sobol' base sample (default: 10 and 64).
    replications : int
        Replications per point.
    seed : int
        Seed of the sample and of every point.
    processes : int
        Local processes (1: this process).
    progress : callable, optional
        Called with (chunks done, chunks in all).
    client : distributed.Client, optional
        A Dask client whose cluster runs the chunks instead.

    Returns
    -------
    Sensitivity
        The indices with their confidence intervals, the share of replication noise, and
        warnings about the sample's size.

    Raises
    ------
    ValueError
        If the method is unknown, the scenario has fewer than two ranges, or
        ``replications`` is below 2.
    """
    if method not in MAIN_INDEX:
        raise ValueError(f"method: must be one of {', '.join(MAIN_INDEX)}, got {method!r}")
    if len(scenario.ranges) < 2:
        raise ValueError(
            f"ranges: the scenario {scenario.name!r} declares {len(scenario.ranges)} range(s); "
            "sensitivity needs at least two (add a [ranges] table, see `fieldcast scenario show`)"
        )
    if replications < 2:
        raise ValueError(f"replications: at least 2 per point are needed, got {replications}")
    samples = samples if samples is not None else DEFAULT_SAMPLES[method]
    points = sample_points(scenario, method, samples, seed)
    at = scenario_maker(scenario)
    scenarios = [at(row, "sensitivity point") for row in points]
    values = replication_values(
        scenarios, replications, seed, point_outputs, processes, progress, client
    )
    outputs = np.stack(values)  # [point, output, replication]
    problem = _problem(scenario)
    indices, noise = {}, {}
    for position, output in enumerate(OUTPUTS):
        means = outputs[:, position].mean(axis=1)
        variances = outputs[:, position].var(axis=1, ddof=1)
        indices[output] = _analyse(method, problem, points, means, seed)
        spread = means.var(ddof=1)
        noise[output] = float(variances.mean() / replications / spread) if spread > 0 else math.nan
    return Sensitivity(
        scenario=scenario.name,
        method=method,
        parameters=tuple(scenario.ranges),
        ranges={path: (span.low, span.high) for path, span in scenario.ranges.items()},
        samples=samples,
        points=len(points),
        replications=replications,
        seed=seed,
        output_means={o: float(outputs[:, i].mean()) for i, o in enumerate(OUTPUTS)},
        indices=indices,
        noise_share=noise,
    )


def _problem(scenario: Scenario) -> dict[str, Any]:
    return {
        "num_vars": len(scenario.ranges),
        "names": list(scenario.ranges),
        "bounds": [[span.low, span.high] for span in scenario.ranges.values()],
    }


def _analyse(
    method: Method, problem: dict[str, Any], points: np.ndarray, outputs: np.ndarray, seed: int
) -> dict[str, list[float]]:
    """SALib's indices for one output. Sobol' indices are shares of a variance: NaN when the
    output does not vary at all."""
    from SALib.analyze import morris as morris_analysis  # imported here: ``sample_points``
    from SALib.analyze import sobol as sobol_analysis

    names = INDICES[method]
    if method == "sobol" and np.ptp(outputs) == 0:
        return {name: [math.nan] * problem["num_vars"] for name in names}
    if method == "morris":
        answer = morris_analysis.analyze(
            problem,
            points,
            outputs,
            num_resamples=BOOTSTRAP_RESAMPLES,
            conf_level=CONFIDENCE,
            num_levels=MORRIS_LEVELS,
            seed=seed,
        )
    else:
        answer = sobol_analysis.analyze(
            problem,
            outputs,
            calc_second_order=False,
            num_resamples=BOOTSTRAP_RESAMPLES,
            conf_level=CONFIDENCE,
            seed=seed,
        )
    return {name: [float(v) for v in answer[name]] for name in names}
