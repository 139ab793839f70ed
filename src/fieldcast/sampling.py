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
form, so only a few steps remain whatever the count. For the binomial that is the regularized
incomplete beta function: by the asymptotic expansion of DiDonato and Morris (TOMS 708) when
both of its parameters are large (a few tenths of a microsecond whatever the count, where
betainc sums a continued fraction that grows with it), else scipy's betainc;
the pmf there is Loader's saddle-point form, right to a few units in the last place where a
difference of log-factorials would lose nine digits. For the Poisson it is scipy's regularized
upper incomplete gamma function. ``make bench`` gives the costs by number of trials. The
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
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

import fieldcast.compiled_code_cache  # noqa: F401 (first: where compiled code is cached)

_BINOMIAL, _HYPERGEOMETRIC, _POISSON = 0, 1, 2
_NEGLIGIBLE = 1e-20  # probability mass below which the lower tail is not summed
# A draw from the mode first sums its lower tail only down to terms below this share of the
# pmf at the mode (about 3.3 standard deviations, where _NEGLIGIBLE is 9 or so): what is left
# is bounded, and decides the draw only for a uniform that close to a step of the CDF
_FIRST_TAIL = 2.0**-8
# How far rounding can set apart the CDF a draw from the mode walks on its first go and the
# one the whole tail gives, per point of the support: three sequences of at most that many
# operations (the rest of the tail's sum, and each of the two walks), each rounding by at
# most half a unit in the last place of a value below 2 (1.11e-16)
_ROUNDING_PER_STEP = 3.4e-16
# With a small mean, walking up from zero is cheaper than evaluating the CDF in closed form;
# the walk starts at zero only if f(0) is comfortably representable.
_SMALL_MEAN = 30.0
# ... and, for the hypergeometric, only if the mean is below this many standard deviations:
# walking from zero takes about a mean's steps, from the mode (``_from_mode``) about four
# standard deviations' and more lookups; ``benchmarks/sampler_paths.py`` times both over a
# grid, and this is where they cross (a visit that finds most households at home, as the
# national scenario's do, walks from the mode)
_WALK_FROM_ZERO_SDS = 6.5
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
# call twenty or more, and a hypergeometric pmf needs up to nine. Up to 65,536, a city's
# households in the national scenario (about 35,000; 16,384 before: national's engine 6%
# slower in paired runs, docs/performance.md). Numba compiles the table into the code as a
# constant (512 KB); making it takes about 40 ms when the engine is first imported.
_LOG_FACTORIAL = _libm_log_factorials(65536)


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
# scaled complementary error function exp(x^2) erfc(x)
_erfcx = _scipy_function("__pyx_fuse_1erfcx", "fieldcast_erfcx", _f64(_f64))

# The incomplete beta function of two large parameters by its asymptotic expansion (below):
# where both are at least _EXPANSION_FROM (valid from 100, TOMS 708; below 1,000 scipy's
# betainc is as fast) and |lambda| is at most _ASYMPTOTIC_LAMBDA_SHARE of the smaller.
# The pmf's Stirling series (``_stirling_remainder``) is exact to double precision from
# _STIRLING_FROM.
_EXPANSION_FROM = 1000.0
_ASYMPTOTIC_LAMBDA_SHARE = 0.03
_STIRLING_FROM = 100.0
_ASYMPTOTIC_TERMS = 20  # the expansion's last even order
_ASYMPTOTIC_TOLERANCE = 100 * 2.220446049250313e-16


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
def _pmf_ratio_down(kind: int, x: float, a: float, b: float, c: float) -> float:
    """f(x - 1) / f(x), the inverse of ``_pmf_ratio`` at x - 1, as one quotient: a walk down
    multiplies by it, so that its division does not wait for the previous step (dividing by
    ``_pmf_ratio`` put a division on every step's critical path)."""
    if kind == _BINOMIAL:
        return x / ((a - x + 1.0) * b)
    if kind == _HYPERGEOMETRIC:
        return (x * (b - c + x)) / ((a - x + 1.0) * (c - x + 1.0))
    return x / a


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
    return _walk_to(kind, u, lo, hi, x, cdf, pmf, a, b, c)[0]


@njit(cache=True)
def _walk_to(
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
) -> tuple[int, float, float]:
    """``_walk``, with F(y) and f(y) where it stopped (F(y - 1) if F stopped growing)."""
    if cdf > u:  # the answer is x or below: walk down while F(x - 1) > u
        while x > lo:
            below = cdf - pmf
            if below <= u:
                return x, cdf, pmf
            pmf = pmf * _pmf_ratio_down(kind, x, a, b, c)
            cdf = below
            x -= 1
        return lo, cdf, pmf
    while cdf <= u and x < hi:  # walk up until F(x) passes u
        pmf = pmf * _pmf_ratio(kind, x, a, b, c)
        x += 1
        if cdf + pmf == cdf:  # F no longer grows in double precision: u is within rounding of 1
            return x, cdf, pmf
        cdf += pmf
    return x, cdf, pmf


@njit(cache=True)
def _sum_tail(
    kind: int,
    lo: int,
    mode: int,
    x: int,
    f: float,
    below: float,
    until: float,
    a: float,
    b: float,
    c: float,
) -> tuple[float, float, int]:
    """The lower tail from the mode, summed on down from x (f = f(x), ``below`` the sum so
    far) to the first term below ``until`` (past the mode's neighbour) or to ``lo``: the
    sum, the last term and where it stopped."""
    while x > lo:
        f = f * _pmf_ratio_down(kind, x, a, b, c)
        x -= 1
        below += f
        if f < until and x < mode - 1:
            break
    return below, f, x


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
    """Invert by summing the lower tail from the mode (until its terms are negligible).

    In two goes, and the second only if needed: the first stops at terms of a ``_FIRST_TAIL``
    share of the mode's, and what is left is at most ``rest`` (below the mode each term is a
    smaller share of the one above it than that one was of its own: a geometric series bounds
    them). If the walk on the part summed stops at a y whose F(y) and F(y - 1) are further from
    u than ``rest`` and both walks' rounding, the whole tail would give the same y, and it is
    the draw: the result is the one the whole sum gives, bit for bit, for a fraction of its
    terms (about 3.3 standard deviations of them instead of 9). Else the tail is summed on to
    the end, as the first go would have, and walked again."""
    if lo >= hi:
        return lo
    pmf_mode = math.exp(log_pmf_mode)
    first = max(_FIRST_TAIL * pmf_mode, _NEGLIGIBLE)
    below, f, x = _sum_tail(kind, lo, mode, mode, pmf_mode, 0.0, first, a, b, c)
    if x > lo and f >= _NEGLIGIBLE:  # stopped short of where the whole sum stops
        ratio = _pmf_ratio_down(kind, x, a, b, c)
        rest = 2.0 * f * min(ratio / (1.0 - ratio), x - lo) if ratio < 1.0 else math.inf
        y, cdf, pmf = _walk_to(kind, u, lo, hi, mode, below + pmf_mode, pmf_mode, a, b, c)
        rounding = _ROUNDING_PER_STEP * (hi - lo + 8)
        if (y == hi or cdf - u > rounding) and (y == lo or u - (cdf - pmf) >= rest + rounding):
            return y
        below, f, x = _sum_tail(kind, lo, mode, x, f, below, _NEGLIGIBLE, a, b, c)
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


# the expansion's five coefficient arrays (a0, b0 for two powers, c, d)
_COEFFICIENTS = 5 * (_ASYMPTOTIC_TERMS + 1)
# 1 / m for the recurrences' divisions by small integers: a multiplication does not hold up
# the next step of a recurrence the way a division does (the two differ in the last place
# at most, in terms far below the expansion's value)
_RECIPROCALS = np.array([0.0] + [1.0 / m for m in range(1, _ASYMPTOTIC_TERMS + 4)])


@intrinsic
def _stack_doubles(typingctx, count):
    """A float64 array of ``count`` (a literal) elements on the calling function's stack.
    numba has no stack arrays, and the engine's kernel is compiled without its memory
    manager (no heap arrays), so a sampler's scratch space is allocated this way."""
    if not isinstance(count, types.IntegerLiteral):
        return None
    size = count.literal_value
    array_type = types.Array(types.float64, 1, "C")

    def codegen(context, builder, signature, args):
        data = cgutils.alloca_once(builder, context.get_data_type(types.float64), size=size)
        array = context.make_array(array_type)(context, builder)
        itemsize = context.get_constant(types.intp, 8)
        context.populate_array(
            array,
            data=data,
            shape=cgutils.pack_array(builder, [context.get_constant(types.intp, size)]),
            strides=cgutils.pack_array(builder, [itemsize]),
            itemsize=itemsize,
            meminfo=None,
        )
        return array._getvalue()

    return array_type(count), codegen


@njit(cache=True)
def _x_minus_log1p(x: float) -> float:
    """x - log(1 + x), accurate also where the two nearly cancel (small |x|): with r =
    x / (2 + x), log(1 + x) = 2 (r + r^3/3 + r^5/5 + ...) and x - 2r = x r."""
    if abs(x) > 0.5:
        return x - math.log1p(x)
    r = x / (2.0 + x)
    r2 = r * r
    power = r * r2
    series = 0.0
    k = 3.0
    while True:
        term = power / k
        series += term
        if abs(term) <= 1e-17 * abs(series):
            break
        power *= r2
        k += 2.0
    return x * r - 2.0 * series


@njit(cache=True)
def _stirling_remainder(x: float) -> float:
    """log Gamma(x) - ((x - 0.5) log x - x + log(2 pi) / 2) for x >= 100, from Stirling's
    series: the next term is below 1e-21 there."""
    t = 1.0 / (x * x)
    return (1.0 / 12.0 - t * (1.0 / 360.0 - t * (1.0 / 1260.0 - t / 1680.0))) / x


@njit(cache=True)
def _incomplete_beta_asymptotic(a: float, b: float, lam: float) -> float:
    """I_x(a, b) for a, b >= 100 and 0 <= lam = (a + b)(1 - x) - b <= 0.03 min(a, b): the
    asymptotic expansion of DiDonato and Morris (ACM TOMS 708, 1992, function BASYM), written
    here from the paper's algorithm. scipy's betainc sums a continued fraction whose length
    grows with the parameters; the expansion needs a few terms whatever they are, to double
    precision (``make bench``: ``binomial_ns_at_*_trials``)."""
    e0 = 2.0 / math.sqrt(math.pi)
    e1 = 2.0**-1.5
    if a < b:
        h = a / b
        r0 = 1.0 / (1.0 + h)
        r1 = (b - a) / b
        w0 = 1.0 / math.sqrt(a * (1.0 + h))
    else:
        h = b / a
        r0 = 1.0 / (1.0 + h)
        r1 = (b - a) / a
        w0 = 1.0 / math.sqrt(b * (1.0 + h))
    f = a * _x_minus_log1p(-lam / a) + b * _x_minus_log1p(lam / b)
    t = math.exp(-f)
    if t == 0.0:
        return 0.0
    z0 = math.sqrt(f)
    z2 = f + f
    size = _ASYMPTOTIC_TERMS + 1
    coefficients = _stack_doubles(_COEFFICIENTS)
    a0 = coefficients[:size]
    b0_this = coefficients[size : 2 * size]
    b0_next = coefficients[2 * size : 3 * size]
    c = coefficients[3 * size : 4 * size]
    d = coefficients[4 * size :]
    reciprocal = _RECIPROCALS
    a0[0] = 2.0 / 3.0 * r1
    c[0] = -0.5 * a0[0]
    d[0] = -c[0]
    j0 = 0.5 / e0 * _erfcx(z0)
    j1 = e1
    total = j0 + d[0] * w0 * j1
    s = 1.0
    h2 = h * h
    hn = 1.0
    w = w0
    znm1 = 0.5 * z0 / e1
    zn = z2
    for n in range(2, _ASYMPTOTIC_TERMS + 1, 2):
        hn *= h2
        a0[n - 1] = 2.0 * r0 * (1.0 + h * hn) * reciprocal[n + 2]
        s += hn
        a0[n] = 2.0 * r1 * s * reciprocal[n + 3]
        # b0: the coefficients of the a0 series to the power -(i + 1) / 2, for i = n (this)
        # and i = n + 1 (next), as two recurrences side by side where the paper's loop runs
        # one after the other: each step waits for the one before, and the processor
        # overlaps the two; each sum takes the newest coefficient last, so that the others
        # are summed while it is computed (``make bench``: ``binomial_ns_at_*_trials``)
        r_this = -0.5 * (n + 1.0)
        r_next = -0.5 * (n + 2.0)
        b0_this[0] = r_this * a0[0]
        b0_next[0] = r_next * a0[0]
        for m in range(2, n + 2):
            inner_this = 0.0
            inner_next = 0.0
            for j in range(m - 1, 0, -1):  # the newest coefficient last
                inner_this += (j * r_this - (m - j)) * a0[j - 1] * b0_this[m - j - 1]
                inner_next += (j * r_next - (m - j)) * a0[j - 1] * b0_next[m - j - 1]
            b0_this[m - 1] = r_this * a0[m - 1] + inner_this * reciprocal[m]
            b0_next[m - 1] = r_next * a0[m - 1] + inner_next * reciprocal[m]
        c[n - 1] = b0_this[n - 1] * reciprocal[n + 1]
        c[n] = b0_next[n] * reciprocal[n + 2]
        for i in range(n, n + 2):
            inner = 0.0
            for j in range(i - 1, 0, -1):  # the newest coefficient last
                inner += d[i - j - 1] * c[j - 1]
            d[i - 1] = -(inner + c[i - 1])
        j0 = e1 * znm1 + (n - 1.0) * j0
        j1 = e1 * zn + n * j1
        znm1 *= z2
        zn *= z2
        w *= w0
        t0 = d[n - 1] * w * j0
        w *= w0
        t1 = d[n] * w * j1
        total += t0 + t1
        if abs(t0) + abs(t1) <= _ASYMPTOTIC_TOLERANCE * total:
            break
    correction = _stirling_remainder(a) + _stirling_remainder(b) - _stirling_remainder(a + b)
    return e0 * t * math.exp(-correction) * total


@njit(cache=True)
def _product_error(x: float, y: float, product: float) -> float:
    """x * y - product exactly, for product = x * y rounded (Veltkamp's split into halves)."""
    split = 134217729.0  # 2^27 + 1
    c = split * x
    x_high = c - (c - x)
    x_low = x - x_high
    c = split * y
    y_high = c - (c - y)
    y_low = y - y_high
    return ((x_high * y_high - product) + x_high * y_low + x_low * y_high) + x_low * y_low


@njit(cache=True)
def _binomial_cdf(x: int, trials: int, probability: float) -> float:
    """F(x) of Binomial(trials, probability) for 0 <= x < trials: I_{1-p}(trials - x, x + 1),
    by the asymptotic expansion where it holds, else by scipy's betainc."""
    a = trials - x + 0.0
    b = x + 1.0
    smaller = min(a, b)
    if smaller >= _EXPANSION_FROM:
        # lambda = (a + b) p - b, the product's rounding error kept (Dekker's two-product):
        # lambda is a difference of two numbers near the mean, and an error of one unit in
        # the product's last place would be relative error 1e-13 in the result at 1e6 trials
        product = (a + b) * probability
        lam = (product - b) + _product_error(a + b, probability, product)
        if abs(lam) <= _ASYMPTOTIC_LAMBDA_SHARE * smaller:
            if lam >= 0.0:
                return _incomplete_beta_asymptotic(a, b, lam)
            # I_x(a, b) = 1 - I_y(b, a), whose lambda is -lam
            return 0.5 + (0.5 - _incomplete_beta_asymptotic(b, a, -lam))
    return _betainc(a, b, 1.0 - probability)


@njit(cache=True)
def _log_binomial_pmf(x: int, trials: int, probability: float) -> float:
    """log f(x). With x and trials - x both large, by Loader's saddle-point form ("Fast and
    accurate computation of binomial probabilities", 2000): Stirling remainders and
    deviances, no difference of large log-factorials (which near a million trials loses
    about nine digits); else from log-factorials."""
    rest = trials - x
    if x >= _STIRLING_FROM and rest >= _STIRLING_FROM:
        n, k, m = trials + 0.0, x + 0.0, rest + 0.0
        # deviance x log(x / M) + M - x = x (t - log(1 + t)), t = (M - x) / x, with the
        # means' rounding errors kept, as in _binomial_cdf; M - x = (x - M) for the other
        expected = n * probability
        gap = (expected - k) + _product_error(n, probability, expected)
        deviance = k * _x_minus_log1p(gap / k) + m * _x_minus_log1p(-gap / m)
        return (
            _stirling_remainder(n)
            - _stirling_remainder(k)
            - _stirling_remainder(m)
            - deviance
            + 0.5 * math.log(n / (2.0 * math.pi * k * m))
        )
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
    if trials > _SHORT_PRODUCT and 0.0 < probability < 1.0:
        return _binomial_draw_larger(trials, probability, math.log1p(-probability), u)
    return _binomial_draw_short(trials, probability, u)


@njit(cache=True, inline="always")
def binomial_draw_log1m(trials: int, probability: float, log1m: float, u: float) -> int:
    """``binomial_draw`` given ``log1m`` = log(1 - probability), as ``math.log1p(-probability)``
    gives it (the same draw, bit for bit): a probability that many draws share (a parameter)
    has its logarithm taken once, not per draw. A draw of more than a few trials starts from
    f(0) = exp(trials log(1 - p)), and the logarithm was a fifth to a quarter of its cost
    (``benchmarks/sampler_paths.py``, docs/performance.md)."""
    if trials > _SHORT_PRODUCT and 0.0 < probability < 1.0:
        return _binomial_draw_larger(trials, probability, log1m, u)
    return _binomial_draw_short(trials, probability, u)


@njit(cache=True, inline="always")
def _binomial_draw_short(trials: int, probability: float, u: float) -> int:
    """``binomial_draw`` for at most ``_SHORT_PRODUCT`` trials, or a certain outcome."""
    if trials <= 0 or probability <= 0.0:
        return 0
    if probability >= 1.0:
        return trials
    if trials == 1:  # the walk below in one comparison: F(0) = 1 - p
        return 0 if u < 1.0 - probability else 1
    # f(0) = (1 - p)^trials by multiplication: cheaper than exp
    pmf_zero = _power(1.0 - probability, trials)
    odds = probability / (1.0 - probability)
    return _walk(_BINOMIAL, u, 0, trials, 0, pmf_zero, pmf_zero, trials, odds, 0.0)


@njit(cache=True)
def _binomial_draw_larger(trials: int, probability: float, log1m: float, u: float) -> int:
    """``binomial_draw`` for more than ``_SHORT_PRODUCT`` trials, 0 < probability < 1
    (``log1m``: log(1 - probability))."""
    mean = trials * probability
    odds = probability / (1.0 - probability)
    log_pmf_zero = trials * log1m
    if mean < _SMALL_MEAN and log_pmf_zero > _LOG_TINY:
        pmf_zero = math.exp(log_pmf_zero)
        return _walk(_BINOMIAL, u, 0, trials, 0, pmf_zero, pmf_zero, trials, odds, 0.0)
    variance = mean * (1.0 - probability)
    sd = math.sqrt(variance)
    x = _normal_start(u, mean, sd, (1.0 - 2.0 * probability) / sd, 0, trials)
    cdf = 1.0 if x >= trials else _binomial_cdf(x, trials, probability)
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
    if lo == 0 and _walk_from_zero_pays(good, bad, sample):
        log_pmf_zero = (
            _log_factorial(bad)
            - _log_factorial(bad - sample)
            + _log_factorial(total - sample)
            - _log_factorial(total)
        )
        if log_pmf_zero > _LOG_TINY:
            pmf_zero = math.exp(log_pmf_zero)
            return _walk(_HYPERGEOMETRIC, u, 0, hi, 0, pmf_zero, pmf_zero, good, bad, sample)
    mode, log_pmf = _hypergeometric_mode(good, bad, sample)
    return _from_mode(_HYPERGEOMETRIC, u, lo, hi, mode, log_pmf, good, bad, sample)


@njit(cache=True, inline="always")
def _walk_from_zero_pays(good: int, bad: int, sample: int) -> bool:
    """Whether a hypergeometric draw whose support starts at zero is cheaper walked up from
    there than from its mode: a mean below ``_SMALL_MEAN`` and ``_WALK_FROM_ZERO_SDS``
    standard deviations. Asked only then, so that other draws skip its divisions."""
    total = good + bad
    mean = sample * good / total
    variance = mean * (bad / total) * (total - sample) / (total - 1.0)
    return mean < _SMALL_MEAN and mean * mean < _WALK_FROM_ZERO_SDS**2 * variance


@njit(cache=True)
def _hypergeometric_mode(good: int, bad: int, sample: int) -> tuple[int, float]:
    """A mode of the hypergeometric distribution and the log of its pmf there."""
    total = good + bad
    lo, hi = max(0, sample - bad), min(sample, good)
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
    return mode, log_pmf


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
