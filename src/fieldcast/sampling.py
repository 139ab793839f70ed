"""Exact discrete samplers by inversion: one uniform in, one count out, monotone in the uniform.

Why not numpy's own samplers? They are exact too, but they use a varying number of uniforms
per draw (rejection), so two runs whose counts differ slightly fall out of step and their
draws become independent. Here every draw consumes exactly one uniform, and the count
returned is the inverse CDF at that uniform: two runs that share the uniforms (common random
numbers) draw counts that differ only as much as their inputs do. Inversion is as exact as
the double-precision CDF it walks.

A draw does not walk the spread of a large count. A draw with a small mean walks the pmf up
from zero (about mean steps). Otherwise the walk starts next to the answer: at the normal
approximation's quantile (with its skewness correction), where the CDF is evaluated in closed
form, the regularized incomplete beta function for the binomial and the regularized upper
incomplete gamma function for the Poisson (scipy's implementations, called from compiled
code), so only a few steps remain whatever the count; the closed form itself costs 0.5
microseconds at a thousand trials and 6 at a hundred million (``make bench``). The
hypergeometric has no such closed form in scipy; its draws in the engine are bounded by a
day's attempts, arrests or seats, not by the population, and it walks from its mode.

``binomial_draw``, ``hypergeometric_draw`` and ``poisson_draw`` are the scalar samplers the
engine's compiled day loop calls; ``binomial``, ``hypergeometric`` and ``poisson`` are the same
as numpy ufuncs (they broadcast), for tests and interactive use.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types, vectorize
from numba.extending import get_cython_function_address

import fieldcast.compiled_code_cache  # noqa: F401 (first: where compiled code is cached)

_BINOMIAL, _HYPERGEOMETRIC, _POISSON = 0, 1, 2
_NEGLIGIBLE = 1e-20  # probability mass below which the lower tail is not summed
# With a small mean, walking up from zero is cheaper than evaluating the CDF in closed form;
# the walk starts at zero only if f(0) is comfortably representable.
_SMALL_MEAN = 30.0
_LOG_TINY = -600.0
# Up to this many factors, a pmf at the edge of the support is a product (no lgamma, exp):
# 2 x 24 factors of at most 1e12 stay far inside double range.
_SHORT_PRODUCT = 24


def _libm_log_factorials(count: int) -> np.ndarray:
    """log(n!) for n < count, from the C library's ``lgamma``: the function numba's
    ``math.lgamma`` calls, so that a value read from the table is the value computed in place
    (CPython's ``math.lgamma`` is its own implementation and may differ in the last bit)."""
    lgamma = ctypes.CDLL(ctypes.util.find_library("m")).lgamma
    lgamma.restype, lgamma.argtypes = ctypes.c_double, [ctypes.c_double]
    return np.array([lgamma(n + 1.0) for n in range(count)])


# log(n!) for the counts most draws have: a table read costs a few nanoseconds, an lgamma
# call twenty or more, and a hypergeometric pmf needs up to nine. Numba compiles the table
# into the code as a constant (128 KB).
_LOG_FACTORIAL = _libm_log_factorials(16384)


def _scipy_function(name: str, symbol: str, signature: types.Function) -> types.ExternalFunction:
    """A scipy.special (cephes) function callable from compiled code. It is linked by symbol
    name rather than through a ctypes pointer, so that numba can cache what calls it."""
    llvm.add_symbol(symbol, get_cython_function_address("scipy.special.cython_special", name))
    return types.ExternalFunction(symbol, signature)


_f64 = types.float64
# regularized incomplete beta I_x(a, b)
_betainc = _scipy_function("__pyx_fuse_0betainc", "fieldcast_betainc", _f64(_f64, _f64, _f64))
# regularized upper incomplete gamma Q(a, x)
_gammaincc = _scipy_function("gammaincc", "fieldcast_gammaincc", _f64(_f64, _f64))
# inverse of the standard normal CDF
_ndtri = _scipy_function("ndtri", "fieldcast_ndtri", _f64(_f64))


@njit(cache=True, inline="always")
def _log_factorial(n: int) -> float:
    """log(n!) for n >= 0."""
    if n < _LOG_FACTORIAL.shape[0]:
        return _LOG_FACTORIAL[n]
    return math.lgamma(n + 1.0)


@njit(cache=True)
def _pmf_ratio(kind: int, x: float, a: float, b: float, c: float) -> float:
    """f(x + 1) / f(x) for the distribution of ``kind`` with parameters (a, b, c)."""
    if kind == _BINOMIAL:  # a: trials, b: odds p / (1 - p), so that a step divides once
        return (a - x) * b / (x + 1.0)
    if kind == _HYPERGEOMETRIC:  # a: good, b: bad, c: sample
        return (a - x) * (c - x) / ((x + 1.0) * (b - c + x + 1.0))
    return a / (x + 1.0)  # Poisson, a: mean


@njit(cache=True)
def _walk(
    kind: int,
    u: float,
    lo: int,
    hi: int,
    x: int,
    cdf: float,
    pmf: float,
    a: float,
    b: float,
    c: float,
) -> int:
    """The smallest y in [lo, hi] with F(y) > u, from x with cdf = F(x) and pmf = f(x)."""
    if cdf > u:  # the answer is x or below: walk down while F(x - 1) > u
        while x > lo:
            below = cdf - pmf
            if below <= u:
                return x
            pmf = pmf / _pmf_ratio(kind, x - 1.0, a, b, c)
            cdf = below
            x -= 1
        return lo
    while cdf <= u and x < hi:  # walk up until F(x) passes u
        pmf = pmf * _pmf_ratio(kind, x, a, b, c)
        x += 1
        if cdf + pmf == cdf:  # F no longer grows in double precision: u is within rounding of 1
            return x
        cdf += pmf
    return x


@njit(cache=True)
def _from_mode(
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
    """Invert by summing the lower tail from the mode (until its terms are negligible)."""
    if lo >= hi:
        return lo
    pmf_mode = math.exp(log_pmf_mode)
    below = 0.0
    f = pmf_mode
    x = mode
    while x > lo:
        f = f / _pmf_ratio(kind, x - 1.0, a, b, c)
        x -= 1
        below += f
        if f < _NEGLIGIBLE and x < mode - 1:
            break
    return _walk(kind, u, lo, hi, mode, below + pmf_mode, pmf_mode, a, b, c)


@njit(cache=True)
def _normal_start(u: float, mean: float, sd: float, skewness: float, lo: int, hi: int) -> int:
    """Where to start walking: the normal approximation's u-quantile with the first
    Cornish-Fisher (skewness) term, rounded and kept within [lo, hi]."""
    z = _ndtri(min(max(u, 1e-300), 1.0 - 1e-16))
    x = mean + sd * (z + skewness * (z * z - 1.0) / 6.0) - 0.5
    return int(min(max(math.floor(x + 0.5), lo), hi))


@njit(cache=True)
def _power(base: float, exponent: int) -> float:
    """base ** exponent for a small non-negative integer exponent, by repeated squaring: a
    few dependent multiplications instead of ``exponent`` of them, and no exp or log."""
    result = 1.0
    while exponent > 0:
        if exponent & 1:
            result *= base
        base *= base
        exponent >>= 1
    return result


@njit(cache=True)
def _log_binomial_pmf(x: int, trials: int, probability: float) -> float:
    return (
        _log_factorial(trials)
        - _log_factorial(x)
        - _log_factorial(trials - x)
        + x * math.log(probability)
        + (trials - x) * math.log1p(-probability)
    )


@njit(cache=True, inline="always")
def binomial_draw(trials: int, probability: float, u: float) -> int:
    """Binomial(trials, probability) at uniform u. Inlined where it is called: most of the
    engine's draws have a few trials, and their cost is then the walk, not the call; larger
    ones call ``_binomial_draw_larger``."""
    if trials <= 0 or probability <= 0.0:
        return 0
    if probability >= 1.0:
        return trials
    if trials == 1:  # the walk below in one comparison: F(0) = 1 - p
        return 0 if u < 1.0 - probability else 1
    if trials <= _SHORT_PRODUCT:  # f(0) = (1 - p)^trials by multiplication: cheaper than exp
        pmf_zero = _power(1.0 - probability, trials)
        odds = probability / (1.0 - probability)
        return _walk(_BINOMIAL, u, 0, trials, 0, pmf_zero, pmf_zero, trials, odds, 0.0)
    return _binomial_draw_larger(trials, probability, u)


@njit(cache=True)
def _binomial_draw_larger(trials: int, probability: float, u: float) -> int:
    """``binomial_draw`` for more than ``_SHORT_PRODUCT`` trials, 0 < probability < 1."""
    mean = trials * probability
    odds = probability / (1.0 - probability)
    log_pmf_zero = trials * math.log1p(-probability)
    if mean < _SMALL_MEAN and log_pmf_zero > _LOG_TINY:
        pmf_zero = math.exp(log_pmf_zero)
        return _walk(_BINOMIAL, u, 0, trials, 0, pmf_zero, pmf_zero, trials, odds, 0.0)
    variance = mean * (1.0 - probability)
    sd = math.sqrt(variance)
    x = _normal_start(u, mean, sd, (1.0 - 2.0 * probability) / sd, 0, trials)
    # F(x) = I_{1-p}(trials - x, x + 1) for x < trials
    cdf = 1.0 if x >= trials else _betainc(trials - x, x + 1.0, 1.0 - probability)
    pmf = math.exp(_log_binomial_pmf(x, trials, probability))
    return _walk(_BINOMIAL, u, 0, trials, x, cdf, pmf, trials, odds, 0.0)


@njit(cache=True, inline="always")
def hypergeometric_draw(good: int, bad: int, sample: int, u: float) -> int:
    """How many of ``sample`` items drawn without replacement from good + bad are good.
    Inlined where it is called, as ``binomial_draw``; large samples call
    ``_hypergeometric_draw_larger``."""
    lo = max(0, sample - bad)
    hi = min(sample, good)
    if lo >= hi:
        return lo
    total = good + bad
    if sample == 1:  # the walk below in one comparison: F(0) = bad / total
        return 0 if u < bad / total else 1
    if lo == 0 and sample <= _SHORT_PRODUCT:
        # f(0) = prod over i < sample of (bad - i) / (total - i): cheaper than four lgammas
        numerator = 1.0
        denominator = 1.0
        for i in range(sample):
            numerator *= bad - i
            denominator *= total - i
        pmf_zero = numerator / denominator
        return _walk(_HYPERGEOMETRIC, u, 0, hi, 0, pmf_zero, pmf_zero, good, bad, sample)
    if lo > 0 and bad <= _SHORT_PRODUCT:
        # all the bad ones drawn: f(lo) = prod over i = 1..bad of (lo + i) / (good + i)
        numerator = 1.0
        denominator = 1.0
        for i in range(1, bad + 1):
            numerator *= lo + i
            denominator *= good + i
        pmf_low = numerator / denominator
        return _walk(_HYPERGEOMETRIC, u, lo, hi, lo, pmf_low, pmf_low, good, bad, sample)
    return _hypergeometric_draw_larger(good, bad, sample, u)


@njit(cache=True)
def _hypergeometric_draw_larger(good: int, bad: int, sample: int, u: float) -> int:
    """``hypergeometric_draw`` when neither end of the support has a short product."""
    lo = max(0, sample - bad)
    hi = min(sample, good)
    total = good + bad
    if lo == 0 and sample * good < _SMALL_MEAN * total:
        log_pmf_zero = (
            _log_factorial(bad)
            - _log_factorial(bad - sample)
            + _log_factorial(total - sample)
            - _log_factorial(total)
        )
        if log_pmf_zero > _LOG_TINY:
            pmf_zero = math.exp(log_pmf_zero)
            return _walk(_HYPERGEOMETRIC, u, 0, hi, 0, pmf_zero, pmf_zero, good, bad, sample)
    mode = min(max(int((sample + 1.0) * (good + 1.0) / (total + 2.0)), lo), hi)
    log_pmf = (
        _log_factorial(good)
        - _log_factorial(mode)
        - _log_factorial(good - mode)
        + _log_factorial(bad)
        - _log_factorial(sample - mode)
        - _log_factorial(bad - sample + mode)
        - _log_factorial(total)
        + _log_factorial(sample)
        + _log_factorial(total - sample)
    )
    return _from_mode(_HYPERGEOMETRIC, u, lo, hi, mode, log_pmf, good, bad, sample)


@njit(cache=True)
def poisson_draw(mean: float, u: float) -> int:
    """Poisson(mean) at uniform u."""
    if mean <= 0.0:
        return 0
    top = 2**62
    if mean < _SMALL_MEAN:
        return _walk(_POISSON, u, 0, top, 0, math.exp(-mean), math.exp(-mean), mean, 0.0, 0.0)
    sd = math.sqrt(mean)
    x = _normal_start(u, mean, sd, 1.0 / sd, 0, top)
    cdf = _gammaincc(x + 1.0, mean)  # F(x) = Q(x + 1, mean)
    pmf = math.exp(x * math.log(mean) - mean - _log_factorial(x))
    return _walk(_POISSON, u, 0, top, x, cdf, pmf, mean, 0.0, 0.0)


@vectorize(cache=True)  # compiled on first use: importing the engine does not
def binomial(trials: int, probability: float, u: float) -> int:
    """Binomial(trials, probability) at uniform u, broadcasting."""
    return binomial_draw(trials, probability, u)


@vectorize(cache=True)  # compiled on first use: importing the engine does not
def hypergeometric(good: int, bad: int, sample: int, u: float) -> int:
    """Hypergeometric draw at uniform u, broadcasting."""
    return hypergeometric_draw(good, bad, sample, u)


@vectorize(cache=True)  # compiled on first use: importing the engine does not
def poisson(mean: float, u: float) -> int:
    """Poisson(mean) at uniform u, broadcasting."""
    return poisson_draw(mean, u)
