"""What a draw costs the engine, all in: seed-2019 run with fewer size classes and fewer
attempts, so that it makes fewer draws over the same days, cities and steps, and its time a
replication fitted to its uniforms a replication by least squares.

Usage: python benchmarks/draw_cost.py [--replications N] [--rounds R]

The variants keep seed-2019's cities, their targets in persons, the calendar and every
probability; only the households' classes (4, 2 or 1: the first classes, their shares made
to sum to one) and ``max_attempts`` (3 or 1) change. No probability of the model depends on
the class, so a variant differs in how many cells draw, not in what a draw is. Each variant
is timed in turn with the others (best of the rounds: the machine drifts within minutes),
its uniforms counted by the engine itself (``LaneKeys.uniforms``).

Prints each variant's time and uniforms a replication, the fitted line (microseconds fixed
per replication, nanoseconds per uniform drawn) and each variant's residual: a straight
line says the time goes with the draws, and its slope is what each draw costs with the
steps around it. Last, seed-2019's four classes with every household in the first: the
draws of one class (the same, bit for bit, as the one-class variant's) and the loops of
four, so that its difference from the one-class variant is what the steps' loops over
empty cells cost.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fieldcast.catalog import load_scenario
from fieldcast.compiled import CompiledScenario, compile_scenario
from fieldcast.engine.lanes import Lanes
from fieldcast.scenario import Scenario

VARIANTS = ((4, 3), (2, 3), (1, 3), (4, 1), (2, 1), (1, 1))  # (classes, max_attempts)
EMPTY = (4, 3, True)  # four classes, every household in the first


def variant(
    base: Scenario, classes: int, max_attempts: int, all_in_first: bool = False
) -> Scenario:
    """``base`` with its first ``classes`` household classes (shares rescaled to sum to one,
    or, ``all_in_first``, all of the first class's) and ``max_attempts``; provenance
    dropped, as it names the classes it had."""
    kept = base.households.classes[:classes]
    if all_in_first:
        shares = [1.0] + [0.0] * (len(kept) - 1)
    else:
        shares = [c.share / sum(c.share for c in kept) for c in kept]
    households = base.households.model_copy(
        update={
            "classes": [
                c.model_copy(update={"share": v}) for c, v in zip(kept, shares, strict=True)
            ]
        }
    )
    operation = base.operation.model_copy(update={"max_attempts": max_attempts})
    return base.model_copy(
        update={"households": households, "operation": operation, "provenance": {}}
    )


def run(compiled: CompiledScenario, replications: int) -> float:
    """Replications 0 .. ``replications`` - 1 as ``simulate_chunk`` runs them (no daily
    path kept); the uniforms they drew, a replication."""
    lanes = Lanes.start(
        [compiled],
        1,
        parameter_set=np.zeros(replications, dtype=np.int64),
        replication=np.arange(replications, dtype=np.int64),
        band_rows=np.full(replications, -1, dtype=np.int64),
        trajectory_rows=np.full(replications, -1, dtype=np.int64),
    )
    lanes.run(None)
    return float(lanes.keys.uniforms.sum()) / replications


def fit(uniforms: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """Least-squares line seconds = fixed + per_uniform * uniforms: (fixed, per_uniform)."""
    per_uniform, fixed = np.polyfit(uniforms, seconds, 1)
    return float(fixed), float(per_uniform)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--replications", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    base = load_scenario("seed-2019")
    compiled = {v: compile_scenario(variant(base, *v)) for v in VARIANTS}
    compiled[EMPTY] = compile_scenario(variant(base, *EMPTY))
    uniforms = {v: run(compiled[v], 10) for v in compiled}  # compiles the engine once
    best = dict.fromkeys(compiled, float("inf"))
    for _ in range(arguments.rounds):
        for v in compiled:
            start = time.perf_counter()
            uniforms[v] = run(compiled[v], arguments.replications)
            seconds = (time.perf_counter() - start) / arguments.replications
            best[v] = min(best[v], seconds)
    x = np.array([uniforms[v] for v in VARIANTS])
    y = np.array([best[v] for v in VARIANTS])
    fixed, per_uniform = fit(x, y)
    print(f"{'classes':>7} {'attempts':>8} {'us':>7} {'uniforms':>9} {'residual us':>11}")
    for v, u, s in zip(VARIANTS, x, y, strict=True):
        residual = s - (fixed + per_uniform * u)
        print(f"{v[0]:>7} {v[1]:>8} {1e6 * s:7.1f} {u:9.1f} {1e6 * residual:11.2f}")
    print(f"fit: {1e6 * fixed:.1f} us a replication + {1e9 * per_uniform:.1f} ns a uniform")
    one_class = VARIANTS[2]
    print(
        f"4 classes, all households in the first: {1e6 * best[EMPTY]:.1f} us, "
        f"{uniforms[EMPTY]:.1f} uniforms; the loops over the 3 empty classes "
        f"{1e6 * (best[EMPTY] - best[one_class]):.1f} us"
    )


if __name__ == "__main__":
    main()
