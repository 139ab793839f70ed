"""Calibration: a posterior that matches a closed form, recovers known values, and is
calibrated in the sense of simulation-based calibration (Talts et al. 2018)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from conftest import variant
from fieldcast.assumptions import draw_priors, priors
from fieldcast.calibration import Settings, calibrate, synthetic_observations
from fieldcast.observations import check_observations
from fieldcast.scenario import Scenario, scenario_with
from fieldcast.workers import gather

HOUSEHOLDS = 200
CONTACT_RANGE = (0.2, 0.45)


@pytest.fixture(scope="module")
def one_draw(simple_scenario: Scenario) -> Scenario:
    """One city of 200 one-person households, all visited on day 0, all at their address,
    every contact an arrest: day 0's arrests are Binomial(200, p_contact), reported with
    Poisson noise. The posterior of p_contact is then a one-dimensional sum (below)."""
    return variant(
        simple_scenario,
        **{
            "cities": [{"name": "A", "target_persons": HOUSEHOLDS}],
            "city_overrides": {},
            "households.classes": [{"size": 1, "minors": 0, "share": 1.0}],
            "operation.field_days": 1,
            "operation.horizon_days": 3,
            "operation.tempo": [1.0],
            "leak.baseline_hazard": 0.0,
            "city_defaults.teams": 50,
            "city_defaults.attempts_per_team_day": 8.0,
            "city_defaults.p_address_valid_absentia": 1.0,
            "city_defaults.p_address_valid_other": 1.0,
            "city_defaults.p_arrest_given_contact": 1.0,
            "observation": {"model": "poisson", "dispersion": 20.0},
            "ranges": {
                "city_defaults.p_contact": {"low": CONTACT_RANGE[0], "high": CONTACT_RANGE[1]}
            },
        },
    )


def exact_posterior(observed: int) -> tuple[np.ndarray, np.ndarray]:
    """p_contact on a fine grid and its exact posterior density: uniform prior times
    sum over x of Binomial(x; 200, p) Poisson(y; max(x, 0.5))."""
    grid = np.linspace(*CONTACT_RANGE, 2001)
    x = np.arange(HOUSEHOLDS + 1)
    reported = stats.poisson.pmf(observed, np.maximum(x, 0.5))
    likelihood = stats.binom.pmf(x[None, :], HOUSEHOLDS, grid[:, None]) @ reported
    return grid, likelihood / np.trapezoid(likelihood, grid)


def _quantiles(grid: np.ndarray, density: np.ndarray, levels: list[float]) -> np.ndarray:
    cdf = np.cumsum(density) / density.sum()
    return np.interp(levels, cdf, grid)


def _observe(scenario: Scenario, arrests: int):
    return check_observations(
        [{"day": 0, "place": "A", "metric": "arrests", "value": arrests, "basis": "daily"}],
        scenario,
    )


@pytest.mark.parametrize("observed", [58, 75])
def test_posterior_matches_the_closed_form(one_draw: Scenario, observed: int) -> None:
    """The calibrated posterior's mean and 5/50/95% quantiles are within 0.2 posterior
    standard deviations of the exact ones, and its standard deviation within 15%. Monte
    Carlo error alone, with at least 500 effective particles, is about 0.05 sd for the
    mean; the rest of the allowance is the synthetic likelihood's normal approximation."""
    run = calibrate(
        one_draw,
        _observe(one_draw, observed),
        "test",
        Settings(particles=1000, target_ess=500, copies=64, seed=4),
    )
    assert run.converged
    sample = run.last.values[:, 0]
    grid, density = exact_posterior(observed)
    mean = np.trapezoid(grid * density, grid)
    sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
    assert abs(sample.mean() - mean) < 0.2 * sd
    assert abs(sample.std() / sd - 1) < 0.15
    expected = _quantiles(grid, density, [0.05, 0.5, 0.95])
    assert np.all(np.abs(np.quantile(sample, [0.05, 0.5, 0.95]) - expected) < 0.2 * sd)


def test_a_wrong_observation_model_fails_the_closed_form(one_draw: Scenario) -> None:
    """The same check has teeth: calibrating as if reports were negative binomial with k = 2
    (far noisier than the Poisson the exact posterior assumes) misses by more than the
    tolerance above."""
    noisy = variant(
        one_draw,
        observation={"model": "negative-binomial", "dispersion": 2.0},
        ranges={"city_defaults.p_contact": {"low": CONTACT_RANGE[0], "high": CONTACT_RANGE[1]}},
    )
    run = calibrate(
        noisy, _observe(noisy, 58), "test", Settings(particles=1000, target_ess=500, copies=64)
    )
    grid, density = exact_posterior(58)
    mean = np.trapezoid(grid * density, grid)
    sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
    assert abs(run.last.values[:, 0].std() / sd - 1) > 0.15


@pytest.mark.slow
def test_recovers_known_values_from_a_long_observation(simple_scenario: Scenario) -> None:
    """Six cities' arrests and detentions (2,000 target persons each, reported with Poisson
    noise), every other day of 14 field days, generated with
    p_contact 0.4 and p_detain 0.75 (the scenario's own values: 0.3 and 0.5); the
    posterior's 90% intervals hold both true values and are narrower than a third of their
    priors."""
    ranges = {
        "city_defaults.p_contact": {"low": 0.2, "high": 0.5},
        "city_defaults.p_detain": {"low": 0.1, "high": 0.9},
    }
    truths = {"city_defaults.p_contact": 0.4, "city_defaults.p_detain": 0.75}
    setting = {
        "cities": [{"name": name, "target_persons": 2000} for name in "ABCDEF"],
        "city_overrides": {},
        "city_defaults.teams": 12,
        "observation": {"model": "poisson", "dispersion": 20.0},
        "operation.field_days": 14,
        "operation.horizon_days": 20,
    }
    truth = variant(simple_scenario, **setting, **truths)
    every_day = synthetic_observations(
        truth, last_day=13, seed=77, metrics=("arrests", "detentions")
    )
    model = variant(simple_scenario, **setting, ranges=ranges)
    assert model.city_defaults.p_detain != 0.75 and model.city_defaults.p_contact != 0.4
    observed = check_observations(
        [row.__dict__ for row in every_day.rows if row.day % 2 == 1], model
    )
    run = calibrate(model, observed, "test", Settings(particles=400, target_ess=200))
    assert run.converged
    for j, (path, true) in enumerate(truths.items()):
        low, high = np.quantile(run.last.values[:, j], [0.05, 0.95])
        assert low < true < high, path
        assert high - low < (ranges[path]["high"] - ranges[path]["low"]) / 3, path


# -- simulation-based calibration (Talts et al. 2018) ------------------------------------------

SBC_PARAMETERS = ("city_defaults.p_contact", "city_defaults.p_arrest_given_contact")
SBC_METRICS = ("arrests", "collateral_arrests")
SBC_LEVELS = (0.5, 0.8, 0.95)
SBC_DATASETS = 100
SBC_PARTICLES = 200  # the posterior sample of each dataset (target ESS: half)
# Every check below (a KS test and three coverages per parameter) is made at 1% / 8, so the
# whole test fails a calibrated sampler with probability at most 1% (Bonferroni).
SBC_CHECK_LEVEL = 0.01 / (len(SBC_PARAMETERS) * (1 + len(SBC_LEVELS)))


def sbc_dataset(model: Scenario, index: int) -> tuple[np.ndarray, np.ndarray]:
    """One dataset: parameter values drawn from the priors (seeded by ``index``), the counts
    they produce (arrests and collateral arrests of every city, days 0 to 4, reported with
    the model's own negative binomial noise), and the calibration of ``model`` to them: the
    true values [parameter] and the posterior sample [particle, parameter]."""
    truth_values = draw_priors(priors(model), 1, np.random.default_rng(1000 + index))[0]
    settings = [f"{p}={v}" for p, v in zip(SBC_PARAMETERS, truth_values, strict=True)]
    truth = scenario_with(model, settings)
    observed = synthetic_observations(truth, 4, seed=5000 + index, metrics=SBC_METRICS)
    run = calibrate(model, observed, "sbc", Settings(particles=SBC_PARTICLES, seed=index))
    assert run.converged
    return truth_values, run.last.values


def sbc_ranks(truths: np.ndarray, posteriors: np.ndarray) -> np.ndarray:
    """[dataset, parameter] the share of each posterior sample below its true value."""
    return (posteriors < truths[:, None, :]).mean(axis=1)


def sbc_failures(ranks: np.ndarray) -> list[str]:
    """What is wrong with the ranks of a calibrated sampler: uniform by the KS test, and the
    central 50/80/95% posterior intervals holding the true value at their nominal rates,
    each within its binomial bounds at SBC_CHECK_LEVEL."""
    failures = []
    datasets = len(ranks)
    for j, path in enumerate(SBC_PARAMETERS):
        p_value = stats.kstest(ranks[:, j], "uniform").pvalue
        if p_value < SBC_CHECK_LEVEL:
            failures.append(f"{path}: ranks not uniform (KS p = {p_value:.2g})")
        for level in SBC_LEVELS:
            inside = int(np.sum(np.abs(ranks[:, j] - 0.5) < level / 2))
            low, high = stats.binom.interval(1 - SBC_CHECK_LEVEL, datasets, level)
            if not low <= inside <= high:
                failures.append(
                    f"{path}: {level:.0%} intervals hold the truth {inside} times of "
                    f"{datasets} (bounds {low:.0f} to {high:.0f})"
                )
    return failures


@pytest.fixture(scope="module")
def sbc_model(seed_scenario: Scenario) -> Scenario:
    """seed-2019 with two assumptions left to calibrate, the others at their values."""
    ranges = {path: seed_scenario.ranges[path] for path in SBC_PARAMETERS}
    return seed_scenario.model_copy(update={"ranges": ranges})


@pytest.fixture(scope="module")
def sbc_posteriors(sbc_model: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """The true values [dataset, parameter] and posterior samples [dataset, particle,
    parameter] of SBC_DATASETS datasets, calibrated in parallel (two processes): computed
    once, for the test and for its wrong variants."""
    truths = np.empty((SBC_DATASETS, len(SBC_PARAMETERS)))
    posteriors = np.empty((SBC_DATASETS, SBC_PARTICLES, len(SBC_PARAMETERS)))

    def receive(index: int, result: tuple[np.ndarray, np.ndarray]) -> None:
        truths[index], posteriors[index] = result

    tasks = [(sbc_model, index) for index in range(SBC_DATASETS)]
    gather(sbc_dataset, tasks, receive, processes=2)
    return truths, posteriors


@pytest.mark.slow
def test_simulation_based_calibration(sbc_posteriors: tuple[np.ndarray, np.ndarray]) -> None:
    """Over 100 datasets drawn from the priors, the posterior ranks of the true values are
    uniform and the 50/80/95% intervals cover at their rates. With 100 datasets the bounds
    are 34 to 66 of 100 for the 50% intervals, 66 to 92 for the 80% and 87 to 100 for the
    95%, and the KS test rejects ranks whose distribution is 0.19 or more from uniform: the
    wrong variants below show that this catches posteriors a quarter too narrow, and
    posteriors leaning by half their standard deviation."""
    assert sbc_failures(sbc_ranks(*sbc_posteriors)) == []


@pytest.mark.slow
def test_simulation_based_calibration_catches_an_overconfident_posterior(
    sbc_posteriors: tuple[np.ndarray, np.ndarray],
) -> None:
    """The same test fails the same posteriors narrowed to three quarters of their width
    about their means (a sampler that understates its uncertainty by a quarter): the true
    values fall outside their intervals too often. Here the 80% intervals hold them 63 and
    59 times of 100 (at least 66 needed), the 95% intervals 71 and 74 times (87 needed)."""
    truths, posteriors = sbc_posteriors
    centre = posteriors.mean(axis=1, keepdims=True)
    narrowed = centre + (posteriors - centre) * 3 / 4
    failures = sbc_failures(sbc_ranks(truths, narrowed))
    for path in SBC_PARAMETERS:
        assert f"{path}: 80% intervals hold the truth" in "\n".join(failures), failures


@pytest.mark.slow
def test_simulation_based_calibration_catches_a_biased_posterior(
    sbc_posteriors: tuple[np.ndarray, np.ndarray],
) -> None:
    """The same test fails the same posteriors shifted by half their standard deviation (a
    sampler that leans one way): the ranks are no longer uniform. Here their distributions
    are 0.24 and 0.235 from uniform (KS p = 1.5e-5 and 2.4e-5, where 0.00125 rejects)."""
    truths, posteriors = sbc_posteriors
    shifted = posteriors + posteriors.std(axis=1, keepdims=True) / 2
    failures = sbc_failures(sbc_ranks(truths, shifted))
    for path in SBC_PARAMETERS:
        assert f"{path}: ranks not uniform" in "\n".join(failures), failures


def test_the_target_ess_is_half_the_particles_unless_given() -> None:
    """Fewer particles alone must not be refused for a target above them (the command line,
    the dashboard and the library share this default)."""
    assert Settings().target_ess == 1000
    assert Settings(particles=200).target_ess == 100
    assert Settings(particles=200, target_ess=150).target_ess == 150
