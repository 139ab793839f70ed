"""What would make the engine's small binomial draws cheaper: the same draws timed along
different paths, in nanoseconds per draw, best of ``--rounds`` (docs/performance.md, "What
would move the missed targets").

    taskset -c 1 .venv/bin/python benchmarks/draw_paths.py

Each draw is Binomial(n, p) with n from 1 to 12 and p one of four values, with its uniform
from the engine's generator (``streams.uniform``), as most of the engine's draws are:

* ``walk, chained``: the engine's sampler (``sampling.binomial_draw``), each draw's n
  depending on the draw before, as in the engine (whom to visit, then who is at home, then
  contact, then arrest);
* ``walk, independent``: the same draws with n known in advance, so that the processor may
  overlap them: the most that running independent lanes side by side could gain;
* ``walk, 4 lanes in lockstep``: four chains advanced together, one step of each in turn;
* ``table, chained`` and ``table, independent``: the CDF of each (n, p) computed once, and a
  draw the number of its entries at or below the uniform, without a branch (the rows come
  from scipy, not from the walk's arithmetic: only the time is compared here);
* ``uniform alone`` and ``uniforms in blocks``: the generator one call at a time, and in
  blocks of 64 whose counters are known first (vector instructions).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from numba import njit
from scipy import stats

from fieldcast.sampling import binomial_draw
from fieldcast.streams import uniform

PROBABILITIES = np.array([0.3, 0.6, 0.05, 0.45])
LARGEST = 12  # trials 1..LARGEST
WIDTH = 16  # a table row: LARGEST entries, then +inf
BLOCK = 64
SEED = np.uint64(1)


def cdf_tables() -> np.ndarray:
    """[probability, trials, x]: F(x) for x < trials, +inf from there (never below u)."""
    tables = np.full((len(PROBABILITIES), LARGEST + 1, WIDTH), np.inf)
    for j, p in enumerate(PROBABILITIES):
        for n in range(1, LARGEST + 1):
            tables[j, n, :n] = stats.binom.cdf(np.arange(n), n, p)
    return tables


@njit
def walk_chained(count: int) -> int:
    drawn, total = 0, 0
    for i in range(count):
        u = uniform(SEED, i, 0, 6, 3, i & 3, 5, 0)
        drawn = binomial_draw(1 + (drawn + i) % LARGEST, PROBABILITIES[i & 3], u)
        total += drawn
    return total


@njit
def walk_independent(count: int) -> int:
    total = 0
    for i in range(count):
        u = uniform(SEED, i, 0, 6, 3, i & 3, 5, 0)
        total += binomial_draw(1 + i % LARGEST, PROBABILITIES[i & 3], u)
    return total


@njit
def walk_lockstep(count: int) -> int:
    lanes = 4
    drawn = np.zeros(lanes, dtype=np.int64)
    total = 0
    for i in range(0, count, lanes):
        for lane in range(lanes):
            u = uniform(SEED, i + lane, 0, 6, 3, i & 3, 5, 0)
            drawn[lane] = binomial_draw(1 + (drawn[lane] + i) % LARGEST, PROBABILITIES[i & 3], u)
            total += drawn[lane]
    return total


@njit
def _table_draw(tables: np.ndarray, which: int, trials: int, u: float) -> int:
    row = tables[which, trials]
    drawn = 0
    for x in range(WIDTH):
        drawn += row[x] <= u
    return drawn


@njit
def table_chained(count: int, tables: np.ndarray) -> int:
    drawn, total = 0, 0
    for i in range(count):
        u = uniform(SEED, i, 0, 6, 3, i & 3, 5, 0)
        drawn = _table_draw(tables, i & 3, 1 + (drawn + i) % LARGEST, u)
        total += drawn
    return total


@njit
def table_independent(count: int, tables: np.ndarray) -> int:
    total = 0
    for i in range(count):
        u = uniform(SEED, i, 0, 6, 3, i & 3, 5, 0)
        total += _table_draw(tables, i & 3, 1 + i % LARGEST, u)
    return total


@njit
def uniform_alone(count: int) -> float:
    total = 0.0
    for i in range(count):
        total += uniform(SEED, i, 0, 6, 3, i & 3, 5, 0)
    return total


@njit
def uniforms_in_blocks(count: int) -> float:
    block = np.empty(BLOCK)
    total = 0.0
    for start in range(0, count, BLOCK):
        for j in range(BLOCK):
            block[j] = uniform(SEED, start + j, 0, 6, 3, 1, 5, 0)
        total += block[0]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tables = cdf_tables()
    count = args.draws - args.draws % BLOCK
    paths: dict[str, Callable[[int], object]] = {
        "walk, chained": walk_chained,
        "walk, independent": walk_independent,
        "walk, 4 lanes in lockstep": walk_lockstep,
        "table, chained": lambda n: table_chained(n, tables),
        "table, independent": lambda n: table_independent(n, tables),
        "uniform alone": uniform_alone,
        "uniforms in blocks": uniforms_in_blocks,
    }
    for path in paths.values():
        path(BLOCK)  # compile
    best = dict.fromkeys(paths, float("inf"))
    for _ in range(args.rounds):  # in turn, so that the machine's drift falls on all alike
        for name, path in paths.items():
            started = time.perf_counter()
            path(count)
            best[name] = min(best[name], time.perf_counter() - started)
    for name, seconds in best.items():
        print(f"{name}: {1e9 * seconds / count:.1f} ns per draw")


if __name__ == "__main__":
    main()
