"""Which path an engine draw should take, timed in nanoseconds per draw, best of
``--rounds`` (docs/performance.md, "Draws with many trials"):

    taskset -c 1 .venv/bin/python benchmarks/sampler_paths.py

* **Hypergeometric, from zero or from the mode.** A draw whose mean is small may walk the
  pmf up from zero (about a mean's steps) or start at the mode and sum its lower tail
  (about four standard deviations' steps, and more lookups). Both are timed over a grid of
  pools and samples, each draw's sample depending on the draw before (as in the engine);
  the sampler walks from zero only where the mean is below ``sampling._SMALL_MEAN`` and
  ``sampling._WALK_FROM_ZERO_SDS`` standard deviations (``sampling._walk_from_zero_pays``),
  which the last column shows.
* **Binomial, log(1 - p) per draw or given.** A draw of more than a few trials starts from
  f(0) = exp(trials log(1 - p)); ``binomial_draw`` takes the logarithm, ``binomial_draw_log1m``
  is given it (the engine's parameters have it computed once per batch, ``state.Log1m``).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from fieldcast.sampling import (
    _HYPERGEOMETRIC,
    _SMALL_MEAN,
    _from_mode,
    _hypergeometric_mode,
    _log_factorial,
    _walk,
    _walk_from_zero_pays,
    binomial_draw,
    binomial_draw_log1m,
)

POOLS = (2_000, 32_000)
GOOD_SHARES = (0.1, 0.25, 0.5, 0.8, 0.95)
SAMPLES = (26, 31, 40, 63, 126, 250)
BINOMIALS = ((3000, 0.0004), (200, 0.02), (30, 0.3), (60, 0.6))


@njit
def from_mode(good: int, bad: int, sample: int, us: np.ndarray) -> int:
    drawn = 0
    for u in us:
        n = sample + (drawn & 1)  # the next draw waits for this one, as in the engine
        mode, log_pmf = _hypergeometric_mode(good, bad, n)
        low, high = max(0, n - bad), min(n, good)
        drawn = _from_mode(_HYPERGEOMETRIC, u, low, high, mode, log_pmf, good, bad, n)
    return drawn


@njit
def from_zero(good: int, bad: int, sample: int, us: np.ndarray) -> int:
    drawn = 0
    for u in us:
        n = sample + (drawn & 1)
        total = good + bad
        log_pmf_zero = (
            _log_factorial(bad)
            - _log_factorial(bad - n)
            + _log_factorial(total - n)
            - _log_factorial(total)
        )
        f = math.exp(log_pmf_zero)
        drawn = _walk(_HYPERGEOMETRIC, u, 0, min(n, good), 0, f, f, good, bad, n)
    return drawn


@njit
def log1m_per_draw(trials: int, probability: float, us: np.ndarray) -> int:
    drawn = 0
    for u in us:
        drawn = binomial_draw(trials + (drawn & 1), probability, u)
    return drawn


@njit
def log1m_given(trials: int, probability: float, us: np.ndarray) -> int:
    log1m = math.log1p(-probability)
    drawn = 0
    for u in us:
        drawn = binomial_draw_log1m(trials + (drawn & 1), probability, log1m, u)
    return drawn


def best_of(
    paths: list[Callable[..., object]], arguments: tuple, rounds: int, count: int
) -> list[float]:
    """Nanoseconds per draw of each path given ``arguments``, best of ``rounds`` in turn."""
    for path in paths:
        path(*arguments)  # compile
    best = [math.inf] * len(paths)
    for _ in range(rounds):
        for i, path in enumerate(paths):
            started = time.perf_counter()
            path(*arguments)
            best[i] = min(best[i], time.perf_counter() - started)
    return [1e9 * seconds / count for seconds in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    us = np.random.default_rng(1).random(args.draws)
    print("hypergeometric: pool, good share, sample, mean, sd, from the mode, from zero (ns)")
    for total in POOLS:
        for share in GOOD_SHARES:
            for sample in SAMPLES:
                good = int(total * share)
                bad = total - good
                mean = sample * good / total
                if mean >= _SMALL_MEAN:
                    continue
                sd = math.sqrt(mean * bad / total * (total - sample) / (total - 1))
                mode, zero = best_of(
                    [from_mode, from_zero], (good, bad, sample, us), args.rounds, len(us)
                )
                taken = "zero" if _walk_from_zero_pays(good, bad, sample) else "mode"
                print(
                    f"{total:6d} {share:4.2f} {sample:4d} {mean:5.1f} {sd:4.1f} "
                    f"{mode:6.1f} {zero:6.1f}  faster: {'zero' if zero < mode else 'mode'}, "
                    f"taken: {taken}"
                )
    print("binomial: trials, p, log(1 - p) per draw, given (ns)")
    for trials, probability in BINOMIALS:
        per_draw, given = best_of(
            [log1m_per_draw, log1m_given], (trials, probability, us), args.rounds, len(us)
        )
        print(f"{trials:6d} {probability:6.4f} {per_draw:6.1f} {given:6.1f}")


if __name__ == "__main__":
    main()
