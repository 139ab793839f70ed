"""The engine's draws alone: what a scenario's replications cost if the kernel did nothing but
draw (docs/performance.md, "What would move the missed targets").

    taskset -c 0 .venv/bin/python benchmarks/draw_replay.py [SCENARIO] [-r 300] [--rounds 15]

It runs ``-r`` replications of the scenario (seed-2019 unless named; national's take about
half a minute each) through the engine's own Python code (numba's
``NUMBA_DISABLE_JIT``, in a child process) and records every draw: its kind, its uniform's
key, its parameters and its outcome. The child's results must equal the compiled engine's
bit for bit (checked), so the record is the compiled engine's draws. Then, compiled, it
times, best of ``--rounds`` in turn, per replication:

* ``engine``: the engine itself (``simulate_chunk``);
* ``uniforms and draws``: the recorded draws replayed in the engine's order, each with its
  uniform computed from its key (``streams.uniform``) and drawn by the engine's sampler
  (``sampling``; ``binomial_draw`` where the engine has a parameter's log(1 - p) at hand,
  which differs only for draws of more than 24 trials: 40 of seed-2019's 1,400), every
  outcome checked against the record: a kernel that did nothing else would take this long;
* ``uniforms``: the uniforms alone, from the same keys, one at a time (the engine computes
  some side by side, ``draws.city_block``: these count them at the dearer rate);
* ``draws, engine's order``: the samplers alone on the uniforms computed beforehand;
* ``draws, sorted by size``: the same draws sorted by kind, size and probability, their
  outcomes still in random order;
* ``draws, sorted by outcome``: sorted by kind, size, probability and outcome, where every
  branch of a walk goes the way it went the draw before: the samplers' arithmetic without
  the processor's mispredicted branches.

The last three differ only in the order of the same draws, so their differences are what
the processor loses guessing wrong which way a walk's branches go. Three more give what the
draws would cost a kernel that ran its lanes in lockstep, each draw of a site (stream, day,
class, city, slot) for all the replications that draw there, one after another:

* ``uniforms side by side, by site``: the uniforms in that order, computed in a loop whose
  counters are all known first, as ``streams.city_uniforms`` computes a row of cities (it
  compiles to vector instructions): the generator at its best;
* ``draws, by site``: the samplers alone, in that order;
* ``draws, by site, eight at a time``: the same, but a site's small binomial draws (at most
  24 trials, the walk up from zero) eight replications at a time, the walk's steps in
  vector instructions (``draw_paths._walk_eight``, the engine's walk bit for bit). What a
  site's draws are is known before they are timed, as a kernel in lockstep would know it.

Last, the samplers alone by kind of draw (binomial by its trials, hypergeometric by what it
chooses, the Poisson), each kind replayed alone in the engine's order: where the samplers'
time goes.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numba import njit

from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine.lanes import Lanes, simulate_chunk
from fieldcast.sampling import (
    _SHORT_PRODUCT,
    _power,
    binomial_draw,
    hypergeometric_draw,
    poisson_draw,
)
from fieldcast.streams import DAY_OFFSET, STREAMS, philox4x32, uniform, unit_interval

sys.path.insert(0, str(Path(__file__).parent))
from draw_paths import EIGHT, _walk_eight  # the benchmarks are not a package

SEED = 1
BINOMIAL, HYPERGEOMETRIC, POISSON = 0, 1, 2
# a draw's row: kind, then its uniform's key (replication, branch, stream, day, class,
# city, slot), then its parameters (trials or good, bad, sample) and (probability or
# mean), then its outcome
KEY = slice(1, 8)
INTEGERS, PROBABILITY, OUTCOME = slice(8, 11), 11, 12


def record(scenario: str, replications: int, into: Path) -> None:
    """In the child (``NUMBA_DISABLE_JIT=1``): run the scenario through the engine's Python code
    with its draws hooked, save them and the results."""
    import scipy.special

    import fieldcast.engine.draws as draws
    import fieldcast.engine.field_attempts as field_attempts
    import fieldcast.engine.lanes as lanes
    import fieldcast.sampling as sampling

    rows: list[tuple[float, ...]] = []
    key: list[tuple[int, ...]] = [()]

    def hooked_uniform(*where: int) -> float:
        seed, replication, branch, stream, day, k, c, slot = where
        key[0] = tuple(int(v) for v in (replication, branch, stream, day, k, c, slot))
        return real_uniform(seed, replication, branch, stream, day, k, c, slot)

    def hooked_binomial(trials: int, probability: float, u: float) -> int:
        outcome = real_binomial(trials, probability, u)
        rows.append((BINOMIAL, *key[0], trials, 0, 0, probability, outcome))
        return outcome

    def hooked_binomial_log1m(trials: int, probability: float, log1m: float, u: float) -> int:
        outcome = real_binomial_log1m(trials, probability, log1m, u)
        rows.append((BINOMIAL, *key[0], trials, 0, 0, probability, outcome))
        return outcome

    def hooked_hypergeometric(good: int, bad: int, sample: int, u: float) -> int:
        outcome = real_hypergeometric(good, bad, sample, u)
        rows.append((HYPERGEOMETRIC, *key[0], good, bad, sample, 0.0, outcome))
        return outcome

    def hooked_poisson(mean: float, u: float) -> int:
        outcome = real_poisson(mean, u)
        rows.append((POISSON, *key[0], 0, 0, 0, mean, outcome))
        return outcome

    real_uniform, draws.uniform = draws.uniform, hooked_uniform
    real_binomial, draws.binomial_draw = draws.binomial_draw, hooked_binomial
    real_binomial_log1m = draws.binomial_draw_log1m
    draws.binomial_draw_log1m = hooked_binomial_log1m
    real_hypergeometric, draws.hypergeometric_draw = (
        draws.hypergeometric_draw,
        hooked_hypergeometric,
    )
    real_poisson, field_attempts.poisson_draw = field_attempts.poisson_draw, hooked_poisson
    # compiled, log1p(-1) is -inf (a probability of 1, whose draws are certain); Python's
    # math.log1p raises instead
    python_math = types.SimpleNamespace(**vars(math))
    python_math.log1p = lambda x: -math.inf if x == -1.0 else math.log1p(x)
    lanes.math = python_math
    np.seterr(over="ignore")  # Philox's 32-bit sums wrap around, as they do compiled
    # the scipy functions the samplers link to by symbol, as Python calls them: the same
    # cephes code (large draws only)
    for name in ("ndtri", "betainc", "gammaincc", "erfcx"):
        setattr(sampling, f"_{name}", getattr(scipy.special, name))
    sampling._stack_doubles = np.empty  # compiled, an array on the stack
    # every uniform one at a time, through the hooked generator, so that each draw is
    # recorded with its key: a row of cities side by side (``draws.city_block``) gives the
    # same numbers, which the comparison with the compiled engine's results below checks
    draws.worth_a_block = lambda drawn, width: False

    output = simulate_chunk(compile_scenario(load_scenario(scenario)), SEED, 0, replications)
    np.savez(into, draws=np.array(rows, dtype=np.float64), **results(output))


def results(output: object) -> dict[str, np.ndarray]:
    """A chunk's per-replication results, to compare two runs."""
    return {
        name: value
        for name, value in vars(output).items()
        if isinstance(value, np.ndarray) and name != "daily_sum"
    }


@njit(cache=True)
def _replay(
    kinds: np.ndarray,
    keys: np.ndarray,
    integers: np.ndarray,
    probabilities: np.ndarray,
    uniforms: np.ndarray,
    compute_uniforms: bool,
    draw: bool,
    outcomes: np.ndarray,
) -> None:
    """Each draw in turn: its uniform computed from its key (or read from ``uniforms``), then
    drawn by the engine's sampler (unless not ``draw``), its outcome into ``outcomes``."""
    for i in range(kinds.shape[0]):
        if compute_uniforms:
            u = uniform(
                np.uint64(SEED), keys[i, 0], keys[i, 1], keys[i, 2], keys[i, 3], keys[i, 4],
                keys[i, 5], keys[i, 6],
            )  # fmt: skip
        else:
            u = uniforms[i]
        if not draw:
            outcomes[i] = int(u * 2.0)
        elif kinds[i] == BINOMIAL:
            outcomes[i] = binomial_draw(integers[i, 0], probabilities[i], u)
        elif kinds[i] == HYPERGEOMETRIC:
            outcomes[i] = hypergeometric_draw(integers[i, 0], integers[i, 1], integers[i, 2], u)
        else:
            outcomes[i] = poisson_draw(probabilities[i], u)


class Draws:
    """The recorded draws, in some order."""

    def __init__(self, rows: np.ndarray, order: np.ndarray | None = None) -> None:
        rows = rows if order is None else rows[order]
        self.kinds = np.ascontiguousarray(rows[:, 0].astype(np.int64))
        self.keys = np.ascontiguousarray(rows[:, KEY].astype(np.int64))
        self.integers = np.ascontiguousarray(rows[:, INTEGERS].astype(np.int64))
        self.probabilities = np.ascontiguousarray(rows[:, PROBABILITY])
        self.recorded = rows[:, OUTCOME].astype(np.int64)
        self.uniforms = _uniforms_of(self.keys)
        self.outcomes = np.zeros(len(rows), dtype=np.int64)

    def replay(self, compute_uniforms: bool, draw: bool) -> None:
        _replay(
            self.kinds, self.keys, self.integers, self.probabilities, self.uniforms,
            compute_uniforms, draw, self.outcomes,
        )  # fmt: skip

    def check(self) -> None:
        """Every replayed outcome is the recorded one."""
        wrong = int((self.outcomes != self.recorded).sum())
        if wrong:
            raise SystemExit(f"{wrong} of {len(self.recorded)} replayed draws differ")


@njit(cache=True)
def _uniforms_of(keys: np.ndarray) -> np.ndarray:
    """The draws' uniforms, computed beforehand for the timings of the samplers alone."""
    uniforms = np.empty(keys.shape[0])
    for i in range(keys.shape[0]):
        uniforms[i] = uniform(
            np.uint64(SEED), keys[i, 0], keys[i, 1], keys[i, 2], keys[i, 3], keys[i, 4],
            keys[i, 5], keys[i, 6],
        )  # fmt: skip
    return uniforms


def counters_of(keys: np.ndarray) -> np.ndarray:
    """The four Philox counter words of each draw's key, as ``streams.uniform`` makes them:
    [word, draw], each word's row contiguous, so that a loop over the draws reads them as
    vectors."""
    replication, branch, stream, day, k, c, slot = keys.T
    words = [replication, branch, ((day + DAY_OFFSET) << 16) | (stream << 8) | k, (c << 16) | slot]
    return np.ascontiguousarray(np.stack(words).astype(np.uint32))


@njit(cache=True)
def _uniforms_side_by_side(counters: np.ndarray, out: np.ndarray) -> None:
    """``streams.uniform`` of each column of counters, in a loop whose counters are all known
    before any is used: vector instructions, as in ``streams.city_uniforms``."""
    seed = np.uint64(SEED)
    key0, key1 = np.uint32(seed & np.uint64(0xFFFFFFFF)), np.uint32(seed >> np.uint64(32))
    words0, words1, words2, words3 = counters[0], counters[1], counters[2], counters[3]
    for i in range(out.shape[0]):
        x0, x1, _, _ = philox4x32(words0[i], words1[i], words2[i], words3[i], key0, key1)
        out[i] = unit_interval(x0, x1)


def walks_eight_at_a_time(draws: Draws) -> np.ndarray:
    """Which draws walk eight at a time: binomial draws of 1 to ``_SHORT_PRODUCT`` trials
    (the engine walks those up from zero, ``sampling.binomial_draw``)."""
    trials, probability = draws.integers[:, 0], draws.probabilities
    return (
        (draws.kinds == BINOMIAL)
        & (trials >= 1)
        & (trials <= _SHORT_PRODUCT)
        & (probability > 0.0)
        & (probability < 1.0)
    )


@njit(cache=True)
def _replay_eight(
    kinds: np.ndarray,
    integers: np.ndarray,
    probabilities: np.ndarray,
    uniforms: np.ndarray,
    eight: np.ndarray,
    outcomes: np.ndarray,
) -> None:
    """``_replay`` of precomputed uniforms, the draws marked ``eight`` that follow each other
    with one probability (a site's, in lockstep order) walked up to eight at a time."""
    u, trials, pmf_zero, drawn = np.empty(EIGHT), np.empty(EIGHT), np.empty(EIGHT), np.empty(EIGHT)
    i = 0
    while i < kinds.shape[0]:
        if not eight[i]:
            if kinds[i] == BINOMIAL:
                outcomes[i] = binomial_draw(integers[i, 0], probabilities[i], uniforms[i])
            elif kinds[i] == HYPERGEOMETRIC:
                outcomes[i] = hypergeometric_draw(
                    integers[i, 0], integers[i, 1], integers[i, 2], uniforms[i]
                )
            else:
                outcomes[i] = poisson_draw(probabilities[i], uniforms[i])
            i += 1
            continue
        p = probabilities[i]
        lanes = 0
        while lanes < EIGHT and i + lanes < kinds.shape[0]:
            j = i + lanes
            if not eight[j] or probabilities[j] != p:
                break
            u[lanes], trials[lanes] = uniforms[j], integers[j, 0]
            pmf_zero[lanes] = _power(1.0 - p, integers[j, 0])
            lanes += 1
        for idle in range(lanes, EIGHT):  # no trials: the walk stops at once
            u[idle], trials[idle], pmf_zero[idle] = 0.0, 0.0, 1.0
        _walk_eight(u, trials, pmf_zero, drawn, p / (1.0 - p))
        for lane in range(lanes):
            outcomes[i + lane] = np.int64(drawn[lane])
        i += lanes


def samplers_by_kind(rows: np.ndarray, rounds: int) -> dict[str, tuple[Draws, float]]:
    """Each kind of draw alone (binomial by its trials, hypergeometric by its stream, the
    Poisson), replayed in the engine's order on uniforms computed first, outcomes checked:
    where the samplers' time goes."""
    kinds, trials, streams = rows[:, 0], rows[:, 8], rows[:, 3]
    binomial = kinds == BINOMIAL
    groups = {
        "binomial, 1 trial": binomial & (trials == 1),
        "binomial, 2-4 trials": binomial & (trials >= 2) & (trials <= 4),
        "binomial, 5-24 trials": binomial & (trials >= 5) & (trials <= _SHORT_PRODUCT),
        f"binomial, over {_SHORT_PRODUCT} trials": binomial & (trials > _SHORT_PRODUCT),
        "hypergeometric, whom to visit": np.isin(
            streams, [STREAMS["select_new"], STREAMS["select_retry"]]
        ),
        "hypergeometric, who is at home": streams == STREAMS["select_location"],
        "hypergeometric, beds and seats": np.isin(
            streams,
            [
                STREAMS["bed_allocation"],
                STREAMS["monitor_allocation"],
                STREAMS["removal_allocation"],
            ],
        ),
        "Poisson": kinds == POISSON,
    }
    timed = {}
    for name, chosen in groups.items():
        if chosen.any():
            draws = Draws(rows[chosen])
            draws.replay(False, True)
            draws.check()
            timed[name] = draws
    seconds = best_of(
        rounds, {name: lambda d=d: d.replay(False, True) for name, d in timed.items()}
    )
    return {name: (draws, seconds[name]) for name, draws in timed.items()}


def best_of(rounds: int, actions: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Each action's best time in ``rounds`` rounds, the actions timed in turn."""
    best = dict.fromkeys(actions, math.inf)
    for _ in range(rounds):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="seed-2019")
    parser.add_argument("-r", "--replications", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.record:
        record(args.scenario, args.replications, args.record)
        return
    with tempfile.TemporaryDirectory() as directory:
        recorded = Path(directory) / "draws.npz"
        child = [sys.executable, __file__, args.scenario, "-r", str(args.replications)]
        subprocess.run(
            [*child, "--record", str(recorded)],
            check=True,
            env=os.environ | {"NUMBA_DISABLE_JIT": "1"},
        )
        saved = np.load(recorded)
        rows = saved["draws"]
        python_results = {name: saved[name] for name in saved.files if name != "draws"}
    compiled = compile_scenario(load_scenario(args.scenario))
    engine_results = results(simulate_chunk(compiled, SEED, 0, args.replications))
    for name, value in engine_results.items():
        if not np.array_equal(value, python_results[name]):
            raise SystemExit(f"the recording run's {name} differs from the compiled engine's")
    lanes = Lanes.start(
        [compiled], SEED, np.zeros(args.replications, np.int64), np.arange(args.replications)
    )
    lanes.run()
    if len(rows) != lanes.keys.uniforms.sum():  # every uniform drawn is one recorded draw
        raise SystemExit(f"{len(rows)} draws recorded, {lanes.keys.uniforms.sum()} uniforms drawn")

    in_order = Draws(rows)
    kinds, sizes = rows[:, 0], np.where(rows[:, 0] == HYPERGEOMETRIC, rows[:, 10], rows[:, 8])
    by_size = Draws(rows, np.lexsort((rows[:, PROBABILITY], sizes, kinds)))
    by_outcome = Draws(rows, np.lexsort((rows[:, OUTCOME], rows[:, PROBABILITY], sizes, kinds)))
    # each site's draws across the replications together, the sites day by day
    site = (rows[:, 1], rows[:, 7], rows[:, 6], rows[:, 5], rows[:, 3], rows[:, 4])
    by_site = Draws(rows, np.lexsort(site))
    counters = counters_of(by_site.keys)
    side_by_side = np.empty(len(rows))
    _uniforms_side_by_side(counters, side_by_side)
    if not np.array_equal(side_by_side, by_site.uniforms):
        raise SystemExit("the uniforms side by side differ from those one at a time")
    for draws in (in_order, by_size, by_outcome, by_site):
        draws.replay(False, True)
        draws.check()
    eight = walks_eight_at_a_time(by_site)

    def replay_eight() -> None:
        _replay_eight(
            by_site.kinds, by_site.integers, by_site.probabilities, by_site.uniforms, eight,
            by_site.outcomes,
        )  # fmt: skip

    by_site.outcomes[:] = -1
    replay_eight()
    by_site.check()
    in_order.replay(True, True)
    in_order.check()

    seconds = best_of(
        args.rounds,
        {
            "engine": lambda: simulate_chunk(compiled, SEED, 0, args.replications),
            "uniforms and draws": lambda: in_order.replay(True, True),
            "uniforms": lambda: in_order.replay(True, False),
            "draws, engine's order": lambda: in_order.replay(False, True),
            "draws, sorted by size": lambda: by_size.replay(False, True),
            "draws, sorted by outcome": lambda: by_outcome.replay(False, True),
            "uniforms side by side, by site": lambda: _uniforms_side_by_side(
                counters, side_by_side
            ),
            "draws, by site": lambda: by_site.replay(False, True),
            "draws, by site, eight at a time": replay_eight,
        },
    )
    per_replication = len(rows) / args.replications
    print(
        f"{args.scenario}, {args.replications} replications, {per_replication:,.1f} draws each "
        f"(outcomes replayed bit for bit); best of {args.rounds} rounds, per replication:"
    )
    for name, value in seconds.items():
        print(f"  {name:32s} {1e6 * value / args.replications:7.2f} us")
    print(
        f"  ({int(eight.sum()) / args.replications:,.1f} draws a replication walk eight at a time)"
    )
    print("the samplers alone by kind of draw, each kind in the engine's order, per replication:")
    for name, (draws, each) in samplers_by_kind(rows, args.rounds).items():
        count = len(draws.kinds) / args.replications
        print(
            f"  {name:32s} {count:7.1f} draws {1e6 * each / args.replications:7.2f} us "
            f"({1e9 * each / max(len(draws.kinds), 1):5.1f} ns each)"
        )


if __name__ == "__main__":
    main()
