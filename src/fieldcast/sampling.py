"""Exact discrete samplers by inversion: one uniform in, one count out, monotone in the uniform.

Why not numpy's own samplers? They are exact too, but they use a varying number of uniforms
per draw (rejection), so two runs whose counts differ slightly fall out of step and their
draws become independent. Here every (cell, transition, day) consumes exactly one uniform,
and the count returned is the inverse CDF at that uniform: two runs that share the uniforms
(common random numbers) draw counts that differ only as much as their inputs do. Inversion is
as exact as the double-precision CDF it walks.

Each sampler is a numba ufunc, so it broadcasts like numpy (counts per cell, probabilities per
city). A draw with a small mean walks up from zero (about mean steps); otherwise the walk starts at
the distribution's mode (about a few standard deviations of steps), never the size of the
population.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, vectorize

_BINOMIAL, _HYPERGEOMETRIC, _POISSON = 0, 1, 2
_NEGLIGIBLE = 1e-20  # probability mass below which the lower tail is not summed
# With a small mean, walking up from zero is cheaper than finding the mode's CDF first; the
# walk starts at zero only if f(0) is comfortably representable.
_SMALL_MEAN = 30.0
_LOG_TINY = -600.0


@njit(cache=True)
def _pmf_ratio(kind: int, x: float, a: float, b: float, c: float) -> float:
    """f(x + 1) / f(x) for the distribution of ``kind`` with parameters (a, b, c)."""
    if kind == _BINOMIAL:  # a: trials, b: probability
        return (a - x) / (x + 1.0) * b / (1.0 - b)
    if kind == _HYPERGEOMETRIC:  # a: good, b: bad, c: sample
        return (a - x) * (c - x) / ((x + 1.0) * (b - c + x + 1.0))
    return a / (x + 1.0)  # Poisson, a: mean


@njit(cache=True)
def _invert(
    kind: int,
    u: float,
    lo: int,
    hi: int,
    mode: int,
    log_pmf_mode: float,
    a: float,
    b: float,
    c: float,
) -> int:
    """The smallest x in [lo, hi] with F(x) > u, walking the pmf outwards from the mode."""
    if lo >= hi:
        return lo
    pmf_mode = math.exp(log_pmf_mode)
    below = 0.0  # F(mode - 1), summed downwards until the terms are negligible
    f = pmf_mode
    x = mode
    while x > lo:
        f = f / _pmf_ratio(kind, x - 1.0, a, b, c)
        x -= 1
        below += f
        if f < _NEGLIGIBLE and x < mode - 1:
            break
    if u < below:  # the answer is below the mode: walk down, keeping cdf = F(x - 1)
        cdf = below
        f = pmf_mode
        x = mode
        while x > lo:
            f_previous = f / _pmf_ratio(kind, x - 1.0, a, b, c)
            if cdf - f_previous <= u:
                return x - 1
            cdf -= f_previous
            f = f_previous
            x -= 1
        return lo
    cdf = below + pmf_mode  # F(mode): walk up until it passes u
    f = pmf_mode
    x = mode
    while cdf <= u and x < hi:
        f = f * _pmf_ratio(kind, x, a, b, c)
        x += 1
        cdf += f
    return x


@vectorize(["int64(int64, float64, float64)"], cache=True)
def binomial(trials: int, probability: float, u: float) -> int:
    """Binomial(trials, probability) at uniform u."""
    if trials <= 0 or probability <= 0.0:
        return 0
    if probability >= 1.0:
        return trials
    log_pmf_zero = trials * math.log1p(-probability)
    if trials * probability < _SMALL_MEAN and log_pmf_zero > _LOG_TINY:
        return _invert(_BINOMIAL, u, 0, trials, 0, log_pmf_zero, trials, probability, 0.0)
    mode = min(int((trials + 1) * probability), trials)
    log_pmf = (
        math.lgamma(trials + 1.0)
        - math.lgamma(mode + 1.0)
        - math.lgamma(trials - mode + 1.0)
        + mode * math.log(probability)
        + (trials - mode) * math.log1p(-probability)
    )
    return _invert(_BINOMIAL, u, 0, trials, mode, log_pmf, trials, probability, 0.0)


@vectorize(["int64(int64, int64, int64, float64)"], cache=True)
def hypergeometric(good: int, bad: int, sample: int, u: float) -> int:
    """How many of ``sample`` items drawn without replacement from good + bad are good."""
    lo = max(0, sample - bad)
    hi = min(sample, good)
    if lo >= hi:
        return lo
    total = good + bad
    if lo == 0 and sample * good < _SMALL_MEAN * total:
        log_pmf_zero = (
            math.lgamma(bad + 1.0)
            - math.lgamma(bad - sample + 1.0)
            + math.lgamma(total - sample + 1.0)
            - math.lgamma(total + 1.0)
        )
        if log_pmf_zero > _LOG_TINY:
            return _invert(_HYPERGEOMETRIC, u, 0, hi, 0, log_pmf_zero, good, bad, sample)
    mode = min(max(int((sample + 1.0) * (good + 1.0) / (total + 2.0)), lo), hi)
    log_pmf = (
        math.lgamma(good + 1.0)
        - math.lgamma(mode + 1.0)
        - math.lgamma(good - mode + 1.0)
        + math.lgamma(bad + 1.0)
        - math.lgamma(sample - mode + 1.0)
        - math.lgamma(bad - sample + mode + 1.0)
        - math.lgamma(total + 1.0)
        + math.lgamma(sample + 1.0)
        + math.lgamma(total - sample + 1.0)
    )
    return _invert(_HYPERGEOMETRIC, u, lo, hi, mode, log_pmf, good, bad, sample)


@vectorize(["int64(float64, float64)"], cache=True)
def poisson(mean: float, u: float) -> int:
    """Poisson(mean) at uniform u."""
    if mean <= 0.0:
        return 0
    if mean < _SMALL_MEAN:
        return _invert(_POISSON, u, 0, 2**62, 0, -mean, mean, 0.0, 0.0)
    mode = int(mean)
    log_pmf = mode * math.log(mean) - mean - math.lgamma(mode + 1.0)
    return _invert(_POISSON, u, 0, 2**62, mode, log_pmf, mean, 0.0, 0.0)


def draw_without_replacement(
    counts: np.ndarray, picks: np.ndarray, uniforms: np.ndarray
) -> np.ndarray:
    """Pick ``picks`` items uniformly at random without replacement from categories ``counts``.

    ``counts`` has the categories on its first axis and ``picks`` the remaining shape;
    ``uniforms`` has the shape of ``counts`` (the last category's are unused). Returns how many
    were picked per category: a multivariate hypergeometric draw, as a sequence of conditional
    hypergeometric draws (category i among categories i, i+1, ...).
    """
    counts = np.asarray(counts, dtype=np.int64)
    remaining_picks = np.asarray(picks, dtype=np.int64)
    remaining_pool = counts.sum(axis=0)
    if np.any(remaining_picks > remaining_pool) or np.any(remaining_picks < 0):
        raise ValueError("cannot pick more items than there are, or a negative number")
    picked = np.empty_like(counts)
    for category in range(len(counts) - 1):
        good = counts[category]
        remaining_pool = remaining_pool - good
        taken = hypergeometric(good, remaining_pool, remaining_picks, uniforms[category])
        picked[category] = taken
        remaining_picks = remaining_picks - taken
    picked[-1] = remaining_picks
    return picked
