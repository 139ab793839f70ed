"""The inversion samplers: exact against scipy's quantile functions, monotone in the uniform,
and what that buys: common random numbers that pair runs closely."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from conftest import variant
from fieldcast.replications import simulate_many
from fieldcast.sampling import binomial, hypergeometric, poisson
from fieldcast.scenario import Scenario

UNIFORMS = np.random.default_rng(2026).random(3000)


@pytest.mark.parametrize(
    ("trials", "probability"),
    [
        (0, 0.3),
        (1, 0.5),
        (10, 0.3),
        (24, 0.99),
        (50, 0.01),
        (60, 0.6),
        (1000, 0.999),
        (7, 0.0004),
        (30_000, 0.3),
        (10_000_000, 0.03),  # large counts: the CDF near the answer in closed form
        (100_000_000, 0.5),
        (650_000, 0.02),  # both beta parameters large: the asymptotic expansion
        (650_000, 0.9),
        (2_000_000, 0.3),
        (650_000, 0.0004),  # the smaller parameter near 260: scipy's betainc
    ],
)
def test_binomial_is_the_exact_quantile_function(trials: int, probability: float) -> None:
    mine = binomial(np.full(UNIFORMS.size, trials), probability, UNIFORMS)
    reference = stats.binom.ppf(UNIFORMS, trials, probability)
    assert np.array_equal(mine, reference)


@pytest.mark.parametrize(
    ("good", "bad", "sample"),
    [
        (5, 5, 3),
        (100, 3, 50),
        (3, 100, 50),
        (1000, 2000, 700),
        (0, 5, 3),
        (5, 0, 3),
        (1, 1, 1),
        (52, 30, 24),  # f(0) as a product
        (20, 4, 22),  # all the bad ones drawn at the lowest value: f(lo) as a product
        (1_000_000, 1_000_000, 20),
        (6400, 1600, 31),  # a mean of 25 within 11 standard deviations: from the mode
        (8000, 24000, 110),  # a mean of 27.5 within 6 standard deviations: from zero
    ],
)
def test_hypergeometric_is_the_exact_quantile_function(good: int, bad: int, sample: int) -> None:
    n = UNIFORMS.size
    mine = hypergeometric(np.full(n, good), np.full(n, bad), np.full(n, sample), UNIFORMS)
    reference = stats.hypergeom.ppf(UNIFORMS, good + bad, good, sample)
    assert np.array_equal(mine, reference)


@pytest.mark.parametrize("mean", [0.1, 3.0, 31.0, 50.0, 100_000.0, 1e9])
def test_poisson_is_the_exact_quantile_function(mean: float) -> None:
    mine = poisson(np.full(UNIFORMS.size, mean), UNIFORMS)
    assert np.array_equal(mine, stats.poisson.ppf(UNIFORMS, mean))
    assert poisson(0.0, 0.99) == 0


def test_samplers_are_monotone_in_the_uniform_and_in_the_count() -> None:
    ordered = np.sort(UNIFORMS)
    assert (np.diff(binomial(200, 0.3, ordered)) >= 0).all()
    assert (np.diff(hypergeometric(40, 60, 30, ordered)) >= 0).all()
    trials = np.arange(0, 300)
    assert (np.diff(binomial(trials, 0.3, 0.5)) >= 0).all()


def test_leak_and_no_leak_runs_are_closely_paired(seed_scenario: Scenario) -> None:
    """docs/model.md promises a correlation of about 0.85 for seed-2019. With 1,000
    replications the standard error of a correlation near 0.85 is about (1 - 0.85**2) / sqrt(1000)
    = 0.009, so 0.75 is over ten standard errors below: this fails only if pairing breaks."""
    with_leak, without = simulate_many([seed_scenario, seed_scenario.without_leak()], 1000, 4)
    correlation = np.corrcoef(with_leak.outcome("arrests"), without.outcome("arrests"))[0, 1]
    assert correlation > 0.75


def test_a_change_that_does_nothing_changes_nothing(simple_scenario: Scenario) -> None:
    """Costs do not enter the simulation, and an override equal to the default is no change:
    with named streams the outcomes are identical, not just alike."""
    same = variant(
        simple_scenario,
        **{"costs.officer_day": 1.0, "city_overrides.A": {"p_contact": 0.3}},
    )
    assert simple_scenario.city_defaults.p_contact == 0.3
    first, second = simulate_many([simple_scenario, same], 300, 8)
    assert np.array_equal(first.at_horizon, second.at_horizon)
    assert np.array_equal(first.bed_days, second.bed_days)


def test_the_log_factorial_table_holds_what_compiled_code_computes() -> None:
    """The table must hold numba's ``math.lgamma(n + 1)`` to the bit, so that reading it
    changes no draw. CPython's own ``math.lgamma`` would not do: it differs in the last bit
    for about half of these n."""
    import math

    from numba import njit

    from fieldcast.sampling import _LOG_FACTORIAL

    @njit
    def computed(count: int) -> np.ndarray:
        out = np.empty(count)
        for n in range(count):
            out[n] = math.lgamma(n + 1.0)
        return out

    assert np.array_equal(_LOG_FACTORIAL, computed(len(_LOG_FACTORIAL)))


def _exact_binomial_cdf(x: int, trials: int, probability: float) -> float:
    """F(x) summed in 30-digit arithmetic from 45 standard deviations below x (the terms
    below are under 1e-400 of it)."""
    import mpmath

    with mpmath.workdps(30):
        p = mpmath.mpf(probability)
        q = 1 - p
        k = max(0, int(x - 45 * math.sqrt(trials * probability * (1 - probability))))
        pmf = mpmath.exp(
            mpmath.loggamma(trials + 1)
            - mpmath.loggamma(k + 1)
            - mpmath.loggamma(trials - k + 1)
            + k * mpmath.log(p)
            + (trials - k) * mpmath.log(q)
        )
        total = pmf
        for j in range(k, x):
            pmf = pmf * (trials - j) * p / (q * (j + 1))
            total += pmf
        return float(total)


@pytest.mark.parametrize(
    ("trials", "probability"), [(650_000, 0.02), (650_000, 0.9), (300_000, 0.3)]
)
def test_the_binomial_cdf_of_large_counts_is_right_to_double_precision(
    trials: int, probability: float
) -> None:
    """Where the draws evaluate the CDF in closed form with both beta parameters large (the
    asymptotic expansion), it is right to within 1e-14 relative: a few units in the last
    place of a double, the precision the samplers claim (scipy's betainc misses here by up to
    1e-12). A planted error of 1e-12 in lambda's product (what computing it without the
    product's rounding error costs) is seen."""
    from fieldcast.sampling import _binomial_cdf, _incomplete_beta_asymptotic

    mean = trials * probability
    sd = math.sqrt(mean * (1 - probability))
    for z in (-2.5, -0.7, 0.0, 1.3, 3.1):
        x = round(mean + z * sd)
        exact = _exact_binomial_cdf(x, trials, probability)
        assert abs(_binomial_cdf(x, trials, probability) / exact - 1) < 1e-14
    x = round(mean + 2.0 * sd)
    a, b = trials - x + 0.0, x + 1.0
    lam = (a + b) * probability * (1 + 1e-12) - b
    exact = _exact_binomial_cdf(x, trials, probability)
    assert abs(_incomplete_beta_asymptotic(a, b, lam) / exact - 1) > 1e-14


@pytest.mark.parametrize(("trials", "probability"), [(650_000, 0.02), (2_000_000, 0.3)])
def test_the_binomial_pmf_of_large_counts_is_right_to_double_precision(
    trials: int, probability: float
) -> None:
    """The pmf the large draws walk with is right to within 1e-14 relative; the textbook
    difference of log-factorials, which it replaces there, misses by more (seen below)."""
    import mpmath

    from fieldcast.sampling import _log_binomial_pmf

    mean = trials * probability
    sd = math.sqrt(mean * (1 - probability))
    textbook_worst = 0.0
    with mpmath.workdps(30):
        p = mpmath.mpf(probability)
        for z in (-3.0, -1.0, 0.0, 0.5, 2.0, 4.0):
            x = round(mean + z * sd)
            exact = mpmath.binomial(trials, x) * p**x * (1 - p) ** (trials - x)
            assert (
                abs(float(math.exp(_log_binomial_pmf(x, trials, probability)) / exact) - 1) < 1e-14
            )
            textbook = math.exp(
                math.lgamma(trials + 1.0)
                - math.lgamma(x + 1.0)
                - math.lgamma(trials - x + 1.0)
                + x * math.log(probability)
                + (trials - x) * math.log1p(-probability)
            )
            textbook_worst = max(textbook_worst, abs(float(textbook / exact) - 1))
    assert textbook_worst > 1e-14


def test_a_draw_from_the_mode_gives_what_the_whole_tail_gives() -> None:
    """A hypergeometric draw from the mode sums its lower tail to the end only when the part
    summed first cannot decide the draw (``sampling._from_mode``); its result must be the one
    the whole tail gives, bit for bit (golden forecasts, common random numbers). Checked at
    random uniforms and at uniforms 1e-17 to 1e-3 on either side of every step of the CDF,
    where a draw that trusted the part summed would go wrong: one that ignores what is left
    of the tail (a planted error, ``rest = 0.0``) fails here at the first counts."""
    from numba import njit

    from fieldcast.sampling import (
        _HYPERGEOMETRIC,
        _NEGLIGIBLE,
        _from_mode,
        _hypergeometric_mode,
        _sum_tail,
        _walk,
    )

    @njit
    def both(uniforms: np.ndarray, good: int, bad: int, sample: int) -> np.ndarray:
        lo, hi = max(0, sample - bad), min(sample, good)
        mode, log_pmf = _hypergeometric_mode(good, bad, sample)
        pmf = math.exp(log_pmf)
        below = _sum_tail(
            _HYPERGEOMETRIC, lo, mode, mode, pmf, 0.0, _NEGLIGIBLE, good, bad, sample
        )[0]
        out = np.empty((uniforms.size, 2), dtype=np.int64)
        for i, u in enumerate(uniforms):
            out[i, 0] = _from_mode(_HYPERGEOMETRIC, u, lo, hi, mode, log_pmf, good, bad, sample)
            out[i, 1] = _walk(_HYPERGEOMETRIC, u, lo, hi, mode, below + pmf, pmf, good, bad, sample)
        return out

    rng = np.random.default_rng(7)
    offsets = np.array([1e-17, 1e-16, 3e-16, 1e-15, 1e-13, 1e-11, 1e-9, 1e-7, 1e-5, 1e-4, 1e-3])
    draws = 0
    counts = rng.integers((30, 30, 25), (40_000, 40_000, 600), size=(12, 3))
    for good, bad, sample in [(30_000, 3_000, 107), (500, 400, 60), (18_943, 20_487, 2_271)] + [
        (int(g), int(b), int(s)) for g, b, s in counts
    ]:
        steps = stats.hypergeom.cdf(np.arange(sample + 1), good + bad, good, sample)
        steps = steps[(steps > 1e-12) & (steps < 1 - 1e-12)]
        near = (steps[:, None] + np.concatenate([offsets, -offsets])[None, :]).ravel()
        uniforms = np.concatenate([rng.random(500), near[(near >= 0) & (near < 1)]])
        drawn = both(uniforms, good, bad, sample)
        assert np.array_equal(drawn[:, 0], drawn[:, 1]), (good, bad, sample)
        draws += len(uniforms)
    assert draws > 20_000


def test_a_draw_given_log1m_is_the_draw_that_takes_the_logarithm_itself() -> None:
    """The engine's parameters come with log(1 - p) computed once (``state.Log1m``); a draw
    given it must be the draw that computes it, bit for bit, for few trials and many. A
    logarithm off in its sixth digit changes some of these draws, so the comparison can
    tell."""
    from numba import njit

    from fieldcast.sampling import binomial_draw, binomial_draw_log1m

    @njit
    def both(trials: np.ndarray, p: np.ndarray, u: np.ndarray, error: float) -> np.ndarray:
        out = np.empty((2, len(u)), dtype=np.int64)
        for i in range(len(u)):
            log1m = math.log1p(-p[i]) * (1.0 + error)
            out[0, i] = binomial_draw(trials[i], p[i], u[i])
            out[1, i] = binomial_draw_log1m(trials[i], p[i], log1m, u[i])
        return out

    rng = np.random.default_rng(31)
    count = 200_000
    trials = np.where(
        rng.random(count) < 0.5, rng.integers(0, 30, count), 10 ** rng.uniform(1, 5, count)
    ).astype(np.int64)
    p = np.where(
        rng.random(count) < 0.1, rng.choice([0.0, 1.0], count), 10 ** rng.uniform(-5, 0, count)
    )
    u = rng.random(count)
    given, computed = both(trials, p, u, 0.0)
    assert np.array_equal(given, computed)
    off, right = both(trials, p, u, 1e-5)
    assert np.count_nonzero(off != right) > 0
