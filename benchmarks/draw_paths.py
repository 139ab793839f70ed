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
* ``walk, 8 lanes as loops``: eight chains, each step of the walk a loop over the lanes
  with selects instead of branches, left to numba's (LLVM's) vectorizers;
* ``walk, 8 lanes in vector registers``: the same eight chains, their uniforms computed
  together and the walk written in LLVM's vector instructions (``_walk_eight``): one step
  of the walk is one step of all eight lanes, each stopping where its own walk would. It
  gives the engine's walk's draws, bit for bit (checked before the timing);
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
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from scipy import stats

from fieldcast.sampling import _power, binomial_draw
from fieldcast.streams import philox4x32, uniform, unit_interval

PROBABILITIES = np.array([0.3, 0.6, 0.05, 0.45])
LARGEST = 12  # trials 1..LARGEST
WIDTH = 16  # a table row: LARGEST entries, then +inf
BLOCK = 64
SEED = np.uint64(1)
EIGHT = 8  # lanes in one vector of doubles with AVX-512 (two with AVX2)


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


def _lanes(kind: object) -> ir.VectorType:
    return ir.VectorType(kind, EIGHT)


@intrinsic
def _walk_eight(typingctx, u, trials, pmf_zero, drawn, odds):
    """``sampling._walk`` up from zero for eight lanes at once, in LLVM vector instructions:
    ``drawn`` [lane] = the smallest x with F(x) > u [lane], F of Binomial(trials [lane], p)
    from f(0) = ``pmf_zero`` [lane] and p / (1 - p) = ``odds``. Every step computes the next
    pmf and CDF of all lanes with the walk's own operations; a lane stops (a select keeps its
    values) where the walk would: F past u, x at trials, or F no longer growing. numba has no
    vector types, and its vectorizers do not make the step of a loop over lanes vector code
    (the ``as loops`` path: no packed division in its machine code):
    an intrinsic is numba's way to write the instructions."""
    signature = types.void(u, trials, pmf_zero, drawn, odds)

    def codegen(context, builder, sig, args):
        vector, flags = _lanes(ir.DoubleType()), _lanes(ir.IntType(1))

        def pointer(position: int) -> ir.Value:
            array = context.make_array(sig.args[position])(context, builder, args[position])
            return builder.bitcast(array.data, vector.as_pointer())

        u_v, trials_v, pmf_zero_v = (builder.load(pointer(j), align=8) for j in range(3))
        spread = builder.insert_element(
            ir.Constant(vector, ir.Undefined), args[4], ir.Constant(ir.IntType(32), 0)
        )
        zeros = ir.Constant(_lanes(ir.IntType(32)), [0] * EIGHT)
        odds_v = builder.shuffle_vector(spread, ir.Constant(vector, ir.Undefined), zeros)
        one = ir.Constant(vector, [1.0] * EIGHT)
        entry = builder.block
        step = builder.append_basic_block("step")
        done = builder.append_basic_block("done")
        builder.branch(step)
        builder.position_at_end(step)
        pmf, cdf, x, alive = (builder.phi(t) for t in (vector, vector, vector, flags))
        pmf.add_incoming(pmf_zero_v, entry)
        cdf.add_incoming(pmf_zero_v, entry)
        x.add_incoming(ir.Constant(vector, [0.0] * EIGHT), entry)
        alive.add_incoming(ir.Constant(flags, [1] * EIGHT), entry)
        go = builder.and_(
            alive,
            builder.and_(
                builder.fcmp_ordered("<=", cdf, u_v), builder.fcmp_ordered("<", x, trials_v)
            ),
        )
        # (a - x) * b / (x + 1), as ``sampling._pmf_ratio``
        ratio = builder.fdiv(builder.fmul(builder.fsub(trials_v, x), odds_v), builder.fadd(x, one))
        next_pmf = builder.fmul(pmf, ratio)
        next_cdf = builder.fadd(cdf, next_pmf)
        grows = builder.fcmp_ordered("!=", next_cdf, cdf)
        new_pmf = builder.select(go, next_pmf, pmf)
        new_cdf = builder.select(builder.and_(go, grows), next_cdf, cdf)
        new_x = builder.select(go, builder.fadd(x, one), x)
        new_alive = builder.and_(go, grows)
        for phi, value in ((pmf, new_pmf), (cdf, new_cdf), (x, new_x), (alive, new_alive)):
            phi.add_incoming(value, step)
        any_alive = builder.icmp_unsigned(
            "!=", builder.bitcast(new_alive, ir.IntType(EIGHT)), ir.Constant(ir.IntType(EIGHT), 0)
        )
        builder.cbranch(any_alive, step, done)
        builder.position_at_end(done)
        builder.store(new_x, pointer(3), align=8)
        return context.get_dummy_value()

    return signature, codegen


@njit
def eight_lanes_in_vectors(count: int, out: np.ndarray) -> int:
    """Eight chains of draws (as ``walk_chained``, the lanes' uniforms keyed by their own
    replication), each draw's eight uniforms computed together; ``out`` gets the first
    draws, for the check."""
    u, trials, pmf_zero, drawn = np.empty(EIGHT), np.empty(EIGHT), np.empty(EIGHT), np.empty(EIGHT)
    last = np.zeros(EIGHT, dtype=np.int64)
    total = 0
    for i in range(0, count, EIGHT):
        p = PROBABILITIES[(i // EIGHT) & 3]
        for lane in range(EIGHT):
            x0, x1, _, _ = philox4x32(np.uint32(i + lane), 0, 77, 5, 1, 0)
            u[lane] = unit_interval(x0, x1)
        for lane in range(EIGHT):
            n = 1 + (last[lane] + i) % LARGEST
            trials[lane] = n
            pmf_zero[lane] = _power(1.0 - p, n)
        _walk_eight(u, trials, pmf_zero, drawn, p / (1.0 - p))
        for lane in range(EIGHT):
            last[lane] = np.int64(drawn[lane])
            total += last[lane]
            if i + lane < out.shape[0]:
                out[i + lane] = last[lane]
    return total


@njit
def eight_lanes_as_loops(count: int, out: np.ndarray) -> int:
    """The same draws with the walk's step a loop over the eight lanes, selects for
    branches: what numba makes of lockstep code without vector instructions written out."""
    u, trials, pmf, cdf = np.empty(EIGHT), np.empty(EIGHT), np.empty(EIGHT), np.empty(EIGHT)
    x, alive = np.empty(EIGHT), np.empty(EIGHT, dtype=np.bool_)
    last = np.zeros(EIGHT, dtype=np.int64)
    total = 0
    for i in range(0, count, EIGHT):
        p = PROBABILITIES[(i // EIGHT) & 3]
        odds = p / (1.0 - p)
        for lane in range(EIGHT):
            x0, x1, _, _ = philox4x32(np.uint32(i + lane), 0, 77, 5, 1, 0)
            u[lane] = unit_interval(x0, x1)
            n = 1 + (last[lane] + i) % LARGEST
            trials[lane] = n
            pmf[lane] = cdf[lane] = _power(1.0 - p, n)
            x[lane], alive[lane] = 0.0, True
        for _ in range(LARGEST):
            for lane in range(EIGHT):
                go = alive[lane] & (cdf[lane] <= u[lane]) & (x[lane] < trials[lane])
                next_pmf = pmf[lane] * ((trials[lane] - x[lane]) * odds / (x[lane] + 1.0))
                next_cdf = cdf[lane] + next_pmf
                grows = next_cdf != cdf[lane]
                pmf[lane] = next_pmf if go else pmf[lane]
                cdf[lane] = next_cdf if go & grows else cdf[lane]
                x[lane] = x[lane] + 1.0 if go else x[lane]
                alive[lane] = go & grows
        for lane in range(EIGHT):
            last[lane] = np.int64(x[lane])
            total += last[lane]
            if i + lane < out.shape[0]:
                out[i + lane] = last[lane]
    return total


@njit
def eight_lanes_by_the_engine(count: int, out: np.ndarray) -> int:
    """The same eight chains drawn by the engine's sampler, one draw at a time: the draws
    the other two must give."""
    last = np.zeros(EIGHT, dtype=np.int64)
    total = 0
    for i in range(0, count, EIGHT):
        p = PROBABILITIES[(i // EIGHT) & 3]
        for lane in range(EIGHT):
            x0, x1, _, _ = philox4x32(np.uint32(i + lane), 0, 77, 5, 1, 0)
            n = 1 + (last[lane] + i) % LARGEST
            last[lane] = binomial_draw(n, p, unit_interval(x0, x1))
            total += last[lane]
            if i + lane < out.shape[0]:
                out[i + lane] = last[lane]
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
    checked = {}
    for lanes in (eight_lanes_by_the_engine, eight_lanes_as_loops, eight_lanes_in_vectors):
        checked[lanes] = np.zeros(200_000, dtype=np.int64)
        lanes(200_000, checked[lanes])
    for lanes in (eight_lanes_as_loops, eight_lanes_in_vectors):
        if not np.array_equal(checked[lanes], checked[eight_lanes_by_the_engine]):
            raise SystemExit(f"{lanes.__name__} does not give the engine's draws")
    nothing = np.zeros(0, dtype=np.int64)
    paths: dict[str, Callable[[int], object]] = {
        "walk, chained": walk_chained,
        "walk, independent": walk_independent,
        "walk, 4 lanes in lockstep": walk_lockstep,
        "walk, 8 lanes, one draw at a time": lambda n: eight_lanes_by_the_engine(n, nothing),
        "walk, 8 lanes as loops": lambda n: eight_lanes_as_loops(n, nothing),
        "walk, 8 lanes in vector registers": lambda n: eight_lanes_in_vectors(n, nothing),
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
    for lanes in (eight_lanes_as_loops, eight_lanes_in_vectors):
        code = lanes.inspect_asm(lanes.signatures[0])
        print(f"{lanes.__name__}: {code.count('vdivpd')} packed divisions in its machine code")


if __name__ == "__main__":
    main()
