"""Calibration: what observed counts say about the scenario's assumptions.

**Model.** The assumptions with a declared range (``[ranges]``) are unknown, the range being
their prior (``assumptions.py``). Given their values, the operation runs as the engine
simulates it, and each observed count (an interval count, ``observations.py``; adjacent small
counts merged until each is expected to hold ``SMALLEST_COUNT`` persons) scatters around
the simulated one as the scenario's ``[observation]`` model says: negative binomial with
size k (variance m + m^2 / k) or Poisson; nothing is reported of nothing. In the likelihood
only, a simulated count of zero is read as 0.5, so that one stray report does not rule a
parameter set out.

**Likelihood.** The likelihood of the observed counts averages over the simulation's own
randomness, which no formula gives. It is approximated by a Gaussian synthetic likelihood
(Wood 2010): each parameter set runs ``copies`` replications, and the observed counts are
scored under the normal distribution those copies imply on the Anscombe scale, with the
reporting noise added analytically (``synthetic_log_likelihood``). Every parameter set runs
the same replication indices (common random numbers), so its likelihood is a deterministic,
smooth function of its values: the sampler below targets it exactly.

**Method.** Sequential Monte Carlo with likelihood tempering (Del Moral, Doucet and Jasra
2006):

1. draw ``particles`` parameter sets from the prior and simulate each;
2. raise the temperature beta from 0 as far as keeps the effective sample size (ESS) of the
   reweighted particles at ``target_ess``, and resample (systematic resampling);
3. move every particle with Metropolis-Hastings: a Gaussian random walk in the logit of each
   parameter's prior position, scaled from the particles' covariance (2.38^2 / dimensions),
   each proposal simulated; moves repeat until the particles have moved once on average (at
   most ``MAX_MOVES`` rounds);
4. repeat until beta = 1; the generation that reaches it moves its particles at beta = 1.

Every simulation of a generation is one batch of lanes, cut into chunks by the same path as
forecasts (in process, local processes or Dask). The sampler's random numbers are keyed by
(seed, generation, step) and the simulations' by (seed, replication), so a calibration is
reproducible to the bit, however it is split, and a resumed one goes on exactly as an
uninterrupted one would have.

Why not a library: pyabc and ELFI call the model once per particle and accept by ABC
tolerances, while here a generation's particles run as lanes of shared batches and the
observation model gives a likelihood; the loop below is short, and
``tests/test_calibration.py`` validates it (simulation-based calibration, recovery of known
parameters, a case with a closed-form posterior).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from fieldcast.assumptions import Prior, direct_table, draw_priors, priors, scenario_maker
from fieldcast.compiled import CompiledScenario, ParameterTable, compile_scenario
from fieldcast.engine import Lanes
from fieldcast.observations import (
    OBSERVABLE,
    TOTAL,
    ObservationSet,
    ObservedCount,
    check_observations,
    simulated_persons,
)
from fieldcast.replications import CHUNK_SIZE
from fieldcast.scenario import Observation, Scenario, ScenarioError
from fieldcast.workers import Progress, gather

if TYPE_CHECKING:
    from distributed import Client

CALIBRATION_KEY = 0xCA1  # keys the calibration's own random numbers (with the seed)
SYNTHETIC_KEY = 0x5E1  # keys the reporting noise of synthetic observations (with the seed)
SIZE_KEY = 0x517E  # keys the prior draws that set the expected size of each count
SIZE_DRAWS = 100  # prior draws for the expected sizes
PREDICTIVE_FIRST = 2**31  # first replication of predictive draws: apart from every copy's
MAX_MOVES = 10  # Metropolis-Hastings rounds per generation, at most
MOVES_PER_PARTICLE = 1.0  # accepted moves per particle, on average, that end a generation
SIMULATED_ZERO = 0.5  # a simulated count of zero is read as this (module docstring)
# Adjacent observed counts are merged until each is expected to hold this many persons
# (``merged_counts``): below it, a count's distribution is too far from normal for the
# synthetic likelihood.
SMALLEST_COUNT = 10
# Added to the variances of the synthetic likelihood (Anscombe scale, where a Poisson count's
# variance is about 1), so that a count that happened not to vary among a particle's copies
# (all of them zero, say) does not make its covariance singular.
VARIANCE_FLOOR = 0.01


# -- simulating the observed counts ----------------------------------------------------------


@dataclass(frozen=True)
class ObservedLayout:
    """Where each observed count is found in simulated cumulative counts [day, place, metric]
    (``days``: the days whose end is needed; place: the cities, then the total)."""

    days: tuple[int, ...]
    last: np.ndarray  # [count] position in days of the count's last day
    first: np.ndarray  # [count] position of the day before its first day, or -1 (from 0)
    place: np.ndarray  # [count]
    metric: np.ndarray  # [count] position in OBSERVABLE
    persons: np.ndarray  # [count] observed
    labels: tuple[str, ...]  # [count] "place metric days a-b"
    series: np.ndarray  # [count] which (place, metric) series it belongs to
    series_labels: tuple[str, ...]


def merged_counts(
    counts: Sequence[ObservedCount], sizes: Sequence[float], smallest: float
) -> list[ObservedCount]:
    """Adjacent counts of a series merged until each is expected to hold at least
    ``smallest`` persons (``sizes``: each count's expected size; a short remainder joins the
    count before it): the likelihood's normal approximation is poor for counts of a few
    persons, and a sum of adjacent counts is itself an interval count. Which counts merge
    must not depend on the observed values, or the merging itself would carry information
    the likelihood ignores (simulation-based calibration showed the bias): hence expected
    sizes, from the prior (``expected_sizes``)."""
    merged: list[tuple[ObservedCount, float]] = []
    ordered = sorted(zip(counts, sizes, strict=True), key=lambda c: _order(c[0]))
    for count, size in ordered:
        if merged and _adjacent(merged[-1][0], count) and merged[-1][1] < smallest:
            merged[-1] = (_joined(merged[-1][0], count), merged[-1][1] + size)
        else:
            merged.append((count, size))
    for index in range(len(merged) - 1, 0, -1):  # a short last count joins the one before it
        (count, size), (previous, previous_size) = merged[index], merged[index - 1]
        last_of_series = index == len(merged) - 1 or not _adjacent(count, merged[index + 1][0])
        if last_of_series and size < smallest and _adjacent(previous, count):
            merged[index - 1 : index + 1] = [(_joined(previous, count), previous_size + size)]
    return [count for count, _ in merged]


def _order(count: ObservedCount) -> tuple[str, str, int]:
    return count.place, count.metric, count.first_day


def _adjacent(first: ObservedCount, second: ObservedCount) -> bool:
    """Whether ``second`` follows ``first`` directly in the same series."""
    same_series = (first.place, first.metric) == (second.place, second.metric)
    return same_series and first.last_day + 1 == second.first_day


def _joined(first: ObservedCount, second: ObservedCount) -> ObservedCount:
    return ObservedCount(
        first.place, first.metric, first.first_day, second.last_day, first.persons + second.persons
    )


def observed_layout(counts: Sequence[ObservedCount], scenario: Scenario) -> ObservedLayout:
    """Observed counts as index arrays into simulated counts."""
    counts = sorted(counts, key=_order)
    cities = [city.name for city in scenario.cities]
    ends = {c.last_day for c in counts} | {c.first_day - 1 for c in counts if c.first_day > 0}
    days = tuple(sorted(ends))
    series_keys = sorted({(c.place, c.metric) for c in counts})
    metrics = list(OBSERVABLE)
    return ObservedLayout(
        days=days,
        last=np.array([days.index(c.last_day) for c in counts], dtype=np.int64),
        first=np.array(
            [days.index(c.first_day - 1) if c.first_day > 0 else -1 for c in counts],
            dtype=np.int64,
        ),
        place=np.array(
            [len(cities) if c.place == TOTAL else cities.index(c.place) for c in counts],
            dtype=np.int64,
        ),
        metric=np.array([metrics.index(c.metric) for c in counts], dtype=np.int64),
        persons=np.array([c.persons for c in counts], dtype=np.int64),
        labels=tuple(
            f"{c.place} {c.metric} day {c.last_day}"
            if c.first_day == c.last_day
            else f"{c.place} {c.metric} days {c.first_day}-{c.last_day}"
            for c in counts
        ),
        series=np.array([series_keys.index((c.place, c.metric)) for c in counts]),
        series_labels=tuple(f"{place} {metric}" for place, metric in series_keys),
    )


def expected_sizes(scenario: Scenario, counts: Sequence[ObservedCount], seed: int) -> np.ndarray:
    """[count] each count's median simulated size over ``SIZE_DRAWS`` draws from the priors
    (one replication each, apart from every other simulation's): what the assumptions lead
    one to expect before seeing any value."""
    layout = observed_layout(counts, scenario)
    generator = np.random.default_rng(np.random.SeedSequence([seed, CALIBRATION_KEY, SIZE_KEY]))
    values = draw_priors(priors(scenario), SIZE_DRAWS, generator)
    own = (PREDICTIVE_FIRST - SIZE_DRAWS + np.arange(SIZE_DRAWS))[:, None]
    cumulative = simulate_observed(scenario, values, own, seed, layout.days)
    expected = np.nanmedian(simulated_counts(layout, cumulative)[:, 0], axis=0)
    order = np.argsort([i for i, _ in sorted(enumerate(counts), key=lambda c: _order(c[1]))])
    return expected[order]  # back in the order of ``counts``


def calibration_layout(
    observed: ObservationSet, scenario: Scenario, seed: int, up_to_day: int | None = None
) -> ObservedLayout:
    """The observed counts (up to a day) as the calibration scores them: adjacent ones
    merged until each is expected to hold ``SMALLEST_COUNT`` persons."""
    counts = observed.counts(start_day=0, up_to_day=up_to_day)
    sizes = expected_sizes(scenario, counts, seed)
    return observed_layout(merged_counts(counts, sizes, SMALLEST_COUNT), scenario)


def simulate_observed(
    scenario: Scenario,
    values: np.ndarray,
    replications: np.ndarray,
    seed: int,
    days: Sequence[int],
    daily_paths: int = 0,
) -> np.ndarray:
    """Cumulative persons of every observable metric at the end of each of ``days``, for
    each row of ``values`` (a parameter set of the scenario's priors) run as one lane per
    copy, the copies of row i being replications ``replications[i]``:
    [particle, copy, day, place, OBSERVABLE] (place: the cities, then the total). NaN for a
    parameter set that makes no valid scenario (counted as a failed simulation).

    Lanes of a replication below ``daily_paths`` keep a daily path, as a run's first
    replications do (its band sample): they then draw that run's own numbers (a lane without
    one folds the moves of never-visited households, and draws others; docs/model.md,
    section 5)."""
    cities = len(scenario.cities)
    copies = replications.shape[1]
    shape = (len(values), copies, len(days), cities + 1, len(OBSERVABLE))
    out = np.full(shape, np.nan)
    compiled = compile_scenario(scenario)
    table = direct_table(compiled, priors(scenario), values)
    batches: list[tuple[list[int], list[CompiledScenario], ParameterTable | None]] = []
    if table is not None:  # every prior sets a table field: no scenario per parameter set
        batches.append((list(range(len(values))), [compiled], table))
    else:
        compiled: dict[int, CompiledScenario] = {}
        at = scenario_maker(scenario)
        for index, row in enumerate(values):
            try:
                compiled[index] = compile_scenario(at(row, "particle"))
            except ScenarioError:
                continue
        groups: dict[object, list[int]] = {}
        for index, one in compiled.items():
            groups.setdefault(one.structure, []).append(index)
        batches += [(members, [compiled[i] for i in members], None) for members in groups.values()]
    for members, plans_of_batch, batch_table in batches:
        replication = replications[members].ravel()
        lanes = Lanes.start(
            plans_of_batch,
            seed,
            parameter_set=np.repeat(np.arange(len(members)), copies),
            replication=replication,
            band_rows=np.where(replication < daily_paths, replication, -1),
            daily=False,
            pausable=True,
            table=batch_table,
        )
        sizes = lanes.calendar.sizes
        for position, day in enumerate(days):
            lanes.run_until(day)
            persons = simulated_persons(lanes.state.counts, lanes.state.collateral, sizes)
            for metric, name in enumerate(OBSERVABLE):
                by_city = persons[name].reshape(len(members), copies, cities)
                out[members, :, position, :cities, metric] = by_city
                out[members, :, position, cities, metric] = by_city.sum(axis=2)
    return out


def simulate_observed_in_chunks(
    scenario: Scenario,
    values: np.ndarray,
    replications: np.ndarray,
    seed: int,
    days: Sequence[int],
    processes: int,
    client: Client | None,
    daily_paths: int = 0,
) -> np.ndarray:
    """``simulate_observed`` for every particle, cut into chunks of at most ``CHUNK_SIZE``
    lanes run where asked; the same numbers however cut."""
    per_chunk = max(1, CHUNK_SIZE // replications.shape[1])
    size = max(1, min(per_chunk, -(-len(values) // (4 * max(processes, 1)))))
    tasks = [
        (
            scenario,
            values[s : s + size],
            replications[s : s + size],
            seed,
            tuple(days),
            daily_paths,
        )
        for s in range(0, len(values), size)
    ]
    parts: list[np.ndarray | None] = [None] * len(tasks)

    def receive(index: int, result: np.ndarray) -> None:
        parts[index] = result

    gather(simulate_observed, tasks, receive, processes, client)
    return np.concatenate(parts)  # type: ignore[arg-type]


# -- the observation model and the synthetic likelihood -----------------------------------------


def simulated_counts(layout: ObservedLayout, cumulative: np.ndarray) -> np.ndarray:
    """[..., count] simulated interval counts from cumulative ones [..., day, place, metric]."""
    last = cumulative[..., layout.last, layout.place, layout.metric]
    before = cumulative[..., np.maximum(layout.first, 0), layout.place, layout.metric]
    return last - np.where(layout.first >= 0, before, 0)


def minimum_copies(layout: ObservedLayout) -> int:
    """Copies per particle enough to estimate the covariance of the largest place's counts
    (d of them) well: 2d + 10. With fewer, the inverse of the estimated covariance is noisy
    and biased (by (R - 1) / (R - d - 2)), and the correction for it grows large."""
    largest = max(int(np.sum(layout.place == place)) for place in np.unique(layout.place))
    return 2 * largest + 10


def reporting_variance(model: Observation, mean: np.ndarray) -> np.ndarray:
    """The variance of an observed count around a simulated mean."""
    if model.model == "poisson":
        return mean
    return mean + mean**2 / model.dispersion


def observation_draws(
    model: Observation, simulated: np.ndarray, generator: np.random.Generator
) -> np.ndarray:
    """Observed counts drawn around simulated ones, as the observation model says (nothing
    is reported of a count of zero: ``SIMULATED_ZERO`` is the likelihood's guard only)."""
    mean = np.maximum(np.nan_to_num(simulated), 0.0)
    if model.model == "poisson":
        return generator.poisson(mean)
    k = model.dispersion
    return generator.negative_binomial(k, k / (k + mean))


def _anscombe(counts: np.ndarray) -> np.ndarray:
    """2 sqrt(x + 3/8): counts on a scale where their spread hardly depends on their size,
    so that a normal approximation fits them."""
    return 2.0 * np.sqrt(np.asarray(counts, dtype=float) + 0.375)


def synthetic_log_likelihood(
    layout: ObservedLayout, model: Observation, simulated: np.ndarray
) -> np.ndarray:
    """[particle] the Gaussian synthetic log-likelihood of the observed counts (Wood 2010;
    Price et al. 2018) from each particle's simulated counts [particle, copy, count].

    On the Anscombe scale A(y) = 2 sqrt(y + 3/8), an observed count y reported around a
    simulated x has mean A(x) - v(x) / (4 (x + 3/8)^1.5) and variance v(x) / (x + 3/8)
    (second- and first-order expansions; v is the reporting variance). Over the copies,
    these give the mean and covariance of what would be observed: the covariance of the
    conditional means plus the mean conditional variance. The observed counts are scored
    under that normal distribution, each place a block of its own (field work in one city
    does not depend on another's). A particle whose simulation failed scores -inf."""
    x = np.maximum(simulated, SIMULATED_ZERO)
    variance = reporting_variance(model, x)
    conditional_mean = _anscombe(x) - variance / (4 * (x + 0.375) ** 1.5)
    conditional_variance = variance / (x + 0.375)
    observed = _anscombe(layout.persons)
    copies = simulated.shape[1]
    total = np.zeros(len(simulated))
    for place in np.unique(layout.place):
        block = np.flatnonzero(layout.place == place)
        sample = conditional_mean[:, :, block]  # [particle, copy, d]
        mean = sample.mean(axis=1)
        centred = sample - mean[:, None, :]
        dimensions = len(block)
        if copies < dimensions + 3:
            raise ValueError(
                f"copies: {copies} copies cannot estimate the covariance of {dimensions} "
                f"counts of one place; use at least {dimensions + 3} (or observe fewer days)"
            )
        covariance = np.einsum("nri,nrj->nij", centred, centred) / (copies - 1)
        noise = conditional_variance[:, :, block].mean(axis=1)  # [particle, d]
        covariance += np.eye(dimensions) * (noise + VARIANCE_FLOOR)[:, None, :]
        # The inverse of an estimated covariance overstates the precision by (R - 1) /
        # (R - d - 2) on average, and the estimated mean adds its own variance (1 / R of the
        # covariance): corrected, so that few copies do not make the posterior overconfident.
        covariance *= (copies - 1) / (copies - dimensions - 2) * (1 + 1 / copies)
        factor = np.linalg.cholesky(np.nan_to_num(covariance, nan=1.0))
        residual = np.linalg.solve(factor, np.nan_to_num(observed[block] - mean)[..., None])
        log_det = 2 * np.log(np.diagonal(factor, axis1=1, axis2=2)).sum(axis=1)
        total += -0.5 * (
            (residual[..., 0] ** 2).sum(axis=1) + log_det + len(block) * math.log(2 * math.pi)
        )
    failed = np.isnan(simulated).any(axis=(1, 2))
    return np.where(failed, -np.inf, total)


# -- the prior in unconstrained coordinates ----------------------------------------------------


def to_unconstrained(prior_list: Sequence[Prior], values: np.ndarray) -> np.ndarray:
    """Each value as the logit of its prior probability position: the random walk's space."""
    positions = np.column_stack(
        [p.distribution.cdf(values[:, j]) for j, p in enumerate(prior_list)]
    )
    return special.logit(np.clip(positions, 1e-12, 1 - 1e-12))


def from_unconstrained(prior_list: Sequence[Prior], points: np.ndarray) -> np.ndarray:
    positions = special.expit(points)
    return np.column_stack([p.distribution.ppf(positions[:, j]) for j, p in enumerate(prior_list)])


def log_prior_unconstrained(points: np.ndarray) -> np.ndarray:
    """The prior's log density in the random walk's space: uniform in prior position, so the
    density of logit(q) is q (1 - q)."""
    return (-np.logaddexp(0, -points) - np.logaddexp(0, points)).sum(axis=1)


# -- the sampler -------------------------------------------------------------------------------


@dataclass
class Generation:
    """The particles after one generation (equally weighted after resampling and moves)."""

    number: int
    beta: float
    values: np.ndarray  # [particle, parameter]
    log_likelihood: np.ndarray  # [particle]
    ess: float  # of the reweighting that raised beta to here (particles at generation 0)
    acceptance: float  # of this generation's moves (NaN at generation 0)
    moves: int  # Metropolis-Hastings rounds
    simulations: int  # lanes simulated so far (particles x copies per batch)
    failed: int  # particles whose parameter set made no valid scenario, so far
    seconds: float  # so far

    def as_dict(self) -> dict[str, Any]:
        return {
            "generation": self.number,
            "beta": self.beta,
            "ess": self.ess,
            "acceptance": None if math.isnan(self.acceptance) else self.acceptance,
            "moves": self.moves,
            "simulations": self.simulations,
            "failed_simulations": self.failed,
            "seconds": self.seconds,
        }


@dataclass
class Settings:
    """How hard to work, and when to stop."""

    particles: int = 2000
    # each reweighting keeps this effective sample size; None: half the particles (1,000 of
    # the default 2,000), whatever the particles
    target_ess: int | None = None
    copies: int = 24  # simulations per particle for its synthetic likelihood
    max_simulations: int = 1_000_000  # in all, over every generation and resumption
    max_seconds: float = 3600.0  # of one call (a resumed calibration has its own)
    seed: int = 2019
    parameters: tuple[str, ...] = ()  # the ranged assumptions to calibrate (empty: all)

    def __post_init__(self) -> None:
        if self.target_ess is None:
            self.target_ess = max(self.particles // 2, 5)


@dataclass
class Calibration:
    """A calibration's state and outcome: every generation so far."""

    scenario: Scenario  # as given, every range in it
    observed: ObservationSet
    observations: str  # "NAME version V (sha256 ...)" or a file's name and hash
    settings: Settings
    generations: list[Generation] = field(default_factory=list)
    stopped: str = ""  # "converged", "simulation budget", "time limit" ("" while running)

    @classmethod
    def start(
        cls, scenario: Scenario, observed: ObservationSet, observations: str, settings: Settings
    ) -> Calibration:
        """A new calibration, checked: the scenario has priors, the settings can work."""
        if not scenario.ranges:
            raise ValueError(
                f"ranges: the scenario {scenario.name!r} declares no [ranges]: calibration "
                "infers the assumptions that have one (their priors)"
            )
        unknown = [path for path in settings.parameters if path not in scenario.ranges]
        if unknown:
            raise ValueError(
                f"parameters: {', '.join(unknown)}: no range in the scenario {scenario.name!r} "
                f"(ranged: {', '.join(scenario.ranges)})"
            )
        if not 1 <= settings.target_ess <= settings.particles:
            raise ValueError(
                f"target_ess: must be between 1 and the particles ({settings.particles}), got "
                f"{settings.target_ess}"
            )
        run = cls(scenario, observed, observations, settings)
        if run.copies * settings.particles > settings.max_simulations:
            raise ValueError(
                f"max_simulations: {settings.max_simulations:,} cannot run even the first "
                f"generation ({settings.particles:,} particles x {run.copies} copies)"
            )
        return run

    @property
    def last(self) -> Generation:
        return self.generations[-1]

    @cached_property
    def model(self) -> Scenario:
        """The scenario as calibrated: only the assumptions calibrated keep their ranges (the
        others are fixed at their values)."""
        if not self.settings.parameters:
            return self.scenario
        ranges = {path: self.scenario.ranges[path] for path in self.settings.parameters}
        return self.scenario.model_copy(update={"ranges": ranges})

    @cached_property
    def priors(self) -> list[Prior]:
        return priors(self.model)

    @cached_property
    def layout(self) -> ObservedLayout:
        return calibration_layout(self.observed, self.model, self.settings.seed)

    @property
    def copies(self) -> int:
        """Copies per particle: as asked, or more where a place has many counts."""
        return max(self.settings.copies, minimum_copies(self.layout))

    @property
    def converged(self) -> bool:
        return self.stopped == "converged"


Callback = Callable[[Calibration], None]


def _generator(settings: Settings, generation: int, step: int) -> np.random.Generator:
    """The sampler's random numbers for one step of one generation: keyed by the seed, so a
    resumed calibration draws what an uninterrupted one would have."""
    key = [settings.seed, CALIBRATION_KEY, generation, step]
    return np.random.default_rng(np.random.SeedSequence(key))


def effective_sample_size(log_weights: np.ndarray) -> float:
    finite = np.isfinite(log_weights)
    if not finite.any():
        return 0.0
    weights = np.exp(log_weights - log_weights[finite].max())
    weights[~finite] = 0.0
    return float(weights.sum() ** 2 / (weights**2).sum())


def _next_beta(beta: float, log_likelihood: np.ndarray, target_ess: float) -> float:
    """The largest beta' in (beta, 1] whose reweighting keeps the ESS at the target
    (bisection; the ESS falls as beta' rises)."""
    if effective_sample_size((1.0 - beta) * log_likelihood) >= target_ess:
        return 1.0
    low, high = beta, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if effective_sample_size((middle - beta) * log_likelihood) >= target_ess:
            low = middle
        else:
            high = middle
    return max(low, beta + 1e-12)


def systematic_resample(log_weights: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    finite = np.isfinite(log_weights)
    weights = np.where(finite, np.exp(log_weights - log_weights[finite].max()), 0.0)
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    count = len(log_weights)
    positions = (generator.random() + np.arange(count)) / count
    return np.searchsorted(cumulative, positions, side="left")


def calibrate(
    scenario: Scenario,
    observed: ObservationSet,
    observations: str,
    settings: Settings | None = None,
    processes: int = 1,
    client: Client | None = None,
    progress: Progress | None = None,
    on_generation: Callback | None = None,
) -> Calibration:
    """Calibrate the scenario's ranged assumptions to observed counts (module docstring).

    A new calibration, run until it converges or a stopping rule of ``settings`` says stop;
    ``advance`` goes on with a stopped one.

    Parameters
    ----------
    scenario : Scenario
        The operation, with ``[ranges]`` for the assumptions to calibrate.
    observed : ObservationSet
        The observed counts.
    observations : str
        What they are (a stored set's name, version and hash, or a file), kept with the
        calibration.
    settings : Settings, optional
        Particles, simulations per particle, stopping rules, seed and parameters.
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the simulations instead.
    progress : callable, optional
        Called with (chunks done, chunks in all) within a generation.
    on_generation : callable, optional
        Called with the calibration after each complete generation (to store it).

    Returns
    -------
    Calibration
        Its generations, where it stopped and why.
    """
    run = Calibration.start(scenario, observed, observations, settings or Settings())
    return advance(run, processes, client, progress, on_generation)


def advance(
    run: Calibration,
    processes: int = 1,
    client: Client | None = None,
    progress: Progress | None = None,
    on_generation: Callback | None = None,
) -> Calibration:
    """Run (or resume) the sampler until beta = 1 and the last moves are made, or a stopping
    rule says stop: the simulation budget (all simulations so far) or the time limit (of this
    call), checked before each batch. A generation that a stopping rule (or a kill)
    interrupts is dropped, so the last complete one stands, and a resumed calibration goes on
    exactly as an uninterrupted one would have. ``on_generation`` is called after every
    complete generation (to keep it), ``progress(generation, move)`` after every round of
    moves."""
    scenario, settings, prior_list = run.model, run.settings, run.priors
    layout = run.layout
    model = scenario.observation
    copies = run.copies
    started = time.perf_counter()
    seconds_before = run.last.seconds if run.generations else 0.0
    run.stopped = ""

    def elapsed() -> float:
        return seconds_before + time.perf_counter() - started

    def likelihood(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Simulate every particle's copies: the simulated counts [particle, copy, count] and
        the synthetic log-likelihoods."""
        common = np.broadcast_to(np.arange(copies), (len(values), copies))
        cumulative = simulate_observed_in_chunks(
            scenario, values, common, settings.seed, layout.days, processes, client
        )
        simulated = simulated_counts(layout, cumulative)
        return simulated, synthetic_log_likelihood(layout, model, simulated)

    def failures(simulated: np.ndarray) -> int:
        return int(np.isnan(simulated).any(axis=(1, 2)).sum())

    def out_of_budget(simulations: int) -> str:
        if simulations + settings.particles * copies > settings.max_simulations:
            return "simulation budget"
        if time.perf_counter() - started > settings.max_seconds:
            return "time limit"
        return ""

    if not run.generations:
        values = draw_priors(prior_list, settings.particles, _generator(settings, 0, 0))
        simulated, loglik = likelihood(values)
        run.generations.append(
            Generation(
                number=0,
                beta=0.0,
                values=values,
                log_likelihood=loglik,
                ess=float(settings.particles),
                acceptance=math.nan,
                moves=0,
                simulations=settings.particles * copies,
                failed=failures(simulated),
                seconds=elapsed(),
            )
        )
        if on_generation:
            on_generation(run)
    while True:
        last = run.last
        if last.beta >= 1.0 and last.number > 0:
            run.stopped = "converged"
            return run
        stop = out_of_budget(last.simulations)
        if stop:
            run.stopped = stop
            return run
        number = last.number + 1
        beta = _next_beta(last.beta, last.log_likelihood, settings.target_ess)
        log_weights = (beta - last.beta) * last.log_likelihood
        ess = effective_sample_size(log_weights)
        parents = systematic_resample(log_weights, _generator(settings, number, 0))
        values = last.values[parents]
        loglik = last.log_likelihood[parents]
        points = to_unconstrained(prior_list, values)
        covariance = np.atleast_2d(np.cov(points, rowvar=False))
        scale = 2.38**2 / len(prior_list)
        jitter = 1e-9 * np.eye(len(prior_list))
        factor = np.linalg.cholesky(scale * covariance + jitter)
        simulations, failed, accepted_share, moves = last.simulations, last.failed, 0.0, 0
        while moves < MAX_MOVES and accepted_share < MOVES_PER_PARTICLE:
            stop = out_of_budget(simulations)
            if stop:  # the generation is incomplete: the last complete one stands
                run.stopped = stop
                return run
            generator = _generator(settings, number, moves + 1)
            proposal = points + generator.standard_normal(points.shape) @ factor.T
            proposed_values = from_unconstrained(prior_list, proposal)
            simulated, proposed_loglik = likelihood(proposed_values)
            simulations += len(proposal) * copies
            failed += failures(simulated)
            with np.errstate(invalid="ignore"):
                log_ratio = (
                    beta * (proposed_loglik - loglik)
                    + log_prior_unconstrained(proposal)
                    - log_prior_unconstrained(points)
                )
            accept = np.log(generator.random(len(points))) < np.nan_to_num(log_ratio, nan=-np.inf)
            points[accept] = proposal[accept]
            values[accept] = proposed_values[accept]
            loglik[accept] = proposed_loglik[accept]
            accepted_share += float(accept.mean())
            moves += 1
            if progress:
                progress(number, moves)
        acceptance = accepted_share / moves if moves else math.nan
        run.generations.append(
            Generation(
                number=number,
                beta=beta,
                values=values,
                log_likelihood=loglik,
                ess=ess,
                acceptance=acceptance,
                moves=moves,
                simulations=simulations,
                failed=failed,
                seconds=elapsed(),
            )
        )
        if on_generation:
            on_generation(run)


def predictive_counts(
    run: Calibration,
    values: np.ndarray,
    purpose: int,
    processes: int = 1,
    client: Client | None = None,
) -> np.ndarray:
    """[particle, count] what would be observed under each parameter set: one replication of
    its own (none shared with another set or with the copies of the likelihood), reported
    through the observation model. NaN where a set makes no valid scenario. ``purpose``
    keys the reporting noise (the prior and the posterior predictive draw apart)."""
    layout = run.layout
    own = (PREDICTIVE_FIRST + np.arange(len(values)))[:, None]
    cumulative = simulate_observed_in_chunks(
        run.model, values, own, run.settings.seed, layout.days, processes, client
    )
    simulated = simulated_counts(layout, cumulative)[:, 0]
    key = [run.settings.seed, CALIBRATION_KEY, PREDICTIVE_FIRST, purpose]
    generator = np.random.default_rng(np.random.SeedSequence(key))
    reported = observation_draws(run.scenario.observation, simulated, generator)
    return np.where(np.isnan(simulated), np.nan, reported)


# -- synthetic observations ------------------------------------------------------------------


def synthetic_observations(
    scenario: Scenario,
    last_day: int,
    seed: int,
    metrics: Sequence[str] = ("arrests",),
    replication: int = 0,
    total: bool = False,
) -> ObservationSet:
    """Cumulative counts of every city with targets, days 0 to ``last_day``, as one
    replication of ``scenario`` produced them, reported through its observation model: what a
    calibration should find the scenario's values from (the README's worked example, the
    validation tests). ``total``: the national totals only, reported as totals (one series
    per metric: what a national press release gives)."""
    horizon = scenario.operation.horizon_days
    if not 0 <= last_day < horizon:
        raise ValueError(
            f"last_day: must be from 0 to {horizon - 1}, the scenario's last day "
            f"(operation.horizon_days is {horizon}), got {last_day}"
        )
    days = tuple(range(last_day + 1))
    as_given = scenario.model_copy(update={"ranges": {}})  # its own values, nothing drawn
    cumulative = simulate_observed(
        as_given, np.zeros((1, 0)), np.array([[replication]]), seed, days
    )[0, 0]  # [day, place, metric]
    generator = np.random.default_rng(np.random.SeedSequence([seed, SYNTHETIC_KEY]))
    if total:
        cumulative = cumulative[:, -1:, :]  # the total's column, as a place of its own
    daily = np.diff(cumulative, axis=0, prepend=0.0)
    reported = observation_draws(scenario.observation, daily, generator).cumsum(axis=0)
    rows = []
    metric_names = list(OBSERVABLE)
    places = [TOTAL] if total else [c.name for c in scenario.cities if c.target_persons > 0]
    columns = [0] if total else [i for i, c in enumerate(scenario.cities) if c.target_persons > 0]
    for c, city in zip(columns, places, strict=True):
        for name in metrics:
            for d, day in enumerate(days):
                value = int(reported[d, c, metric_names.index(name)])
                rows.append(
                    {
                        "day": day,
                        "place": city,
                        "metric": name,
                        "value": value,
                        "basis": "cumulative",
                    }
                )
    return check_observations(rows, scenario, f"synthetic observations of {scenario.name}")
