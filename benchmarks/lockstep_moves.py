"""Would lanes in lockstep pay, with the lane innermost in the state? One step of the day, the
hazard moves, run both ways over the same cells and days, in nanoseconds per lane-cell-day,
best of ``--rounds`` in turn (docs/performance.md, "What would move the missed targets"):

    taskset -c 1 .venv/bin/python benchmarks/lockstep_moves.py

Each of ``--lanes`` lanes has seed-2019's cells (3 attempt slots x 4 size classes x 11
cities), a share ``--filled`` of them holding 1 to 24 households at the address and the
others none; each of the 7 field
days moves a binomial share of them with the day's hazard, and records the change the
engine's way (the lane's counts, its national sums and the day's sums, three metrics each).

* ``one lane at a time``: the state [lane, cell], each lane's cells in turn, every draw
  with its own uniform, walk and bookkeeping, as the engine's kernel does;
* ``lanes in lockstep``: the state [cell, lane], and each cell of a day one pass over
  all the lanes: their uniforms (a loop that compiles to vector instructions), their f(0),
  their walks eight at a time in vector instructions (``draw_paths._walk_eight``), their
  bookkeeping (loops over the lanes; the day's sums once per cell). A lane with nothing to
  draw walks to zero; its uniform is computed all the same, and not counted as a draw.

Both give the same draws, bit for bit (checked before the timing): what differs is only the
order of the work.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from draw_paths import EIGHT, _walk_eight
from numba import njit

from fieldcast.sampling import _power, binomial_draw
from fieldcast.streams import uniform

CELLS = 3 * 4 * 11  # seed-2019: attempt slots x size classes x cities
CLASSES, CITIES = 4, 11
DAYS = 7
HAZARD = np.array([0.0124, 0.0116, 0.0108, 0.0101, 0.0095, 0.0089, 0.0083])  # about seed-2019's
METRICS = 3  # at the address, moved, moved away
SEED = np.uint64(1)


@njit
def one_lane_at_a_time(
    at_address: np.ndarray,
    moved: np.ndarray,
    counts: np.ndarray,
    national: np.ndarray,
    daily: np.ndarray,
) -> int:
    """at_address, moved [lane, cell]; counts [lane, metric, cell]; national [lane, metric,
    class]; daily [day, metric, cell]."""
    drawn = 0
    for lane in range(at_address.shape[0]):
        for day in range(DAYS):
            p = HAZARD[day]
            for cell in range(CELLS):
                n = at_address[lane, cell]
                if n == 0:
                    continue
                u = uniform(SEED, lane, 0, 1, day, cell // CITIES, cell % CITIES, 0)
                leaving = binomial_draw(n, p, u)
                drawn += 1
                if leaving == 0:
                    continue
                at_address[lane, cell] -= leaving
                moved[lane, cell] += leaving
                k = (cell // CITIES) % CLASSES
                for metric, change in ((0, -leaving), (1, leaving), (2, leaving)):
                    counts[lane, metric, cell] += change
                    national[lane, metric, k] += change
                    daily[day, metric, cell] += change
    return drawn


@njit
def lanes_in_lockstep(
    at_address: np.ndarray,
    moved: np.ndarray,
    counts: np.ndarray,
    national: np.ndarray,
    daily: np.ndarray,
) -> int:
    """The same arrays with the lane innermost: at_address, moved [cell, lane]; counts
    [metric, cell, lane]; national [metric, class, lane]; daily [day, metric, cell]. Each
    cell of a day is one pass over all the lanes: their uniforms (a loop of vector code),
    their f(0), their walks eight at a time, their bookkeeping."""
    lanes = at_address.shape[1]
    u, trials = np.empty(lanes), np.empty(lanes)
    pmf_zero, drawn_out = np.empty(lanes), np.empty(lanes)
    powers = np.empty(25)
    drawn = 0
    for day in range(DAYS):
        p = HAZARD[day]
        odds = p / (1.0 - p)
        for n in range(25):  # f(0) by trials, as the walk computes it
            powers[n] = _power(1.0 - p, n)
        for cell in range(CELLS):
            row = at_address[cell]
            k, c = cell // CITIES, cell % CITIES
            for lane in range(lanes):
                u[lane] = uniform(SEED, lane, 0, 1, day, k, c, 0)
            for lane in range(lanes):
                trials[lane] = row[lane]
                pmf_zero[lane] = powers[row[lane]]
                drawn += row[lane] > 0
            for first in range(0, lanes, EIGHT):
                _walk_eight(
                    u[first : first + EIGHT],
                    trials[first : first + EIGHT],
                    pmf_zero[first : first + EIGHT],
                    drawn_out[first : first + EIGHT],
                    odds,
                )
            size_class = k % CLASSES
            total = 0
            for lane in range(lanes):
                leaving = np.int64(drawn_out[lane])
                total += leaving
                row[lane] -= leaving
                moved[cell, lane] += leaving
                counts[0, cell, lane] -= leaving
                counts[1, cell, lane] += leaving
                counts[2, cell, lane] += leaving
                national[0, size_class, lane] -= leaving
                national[1, size_class, lane] += leaving
                national[2, size_class, lane] += leaving
            daily[day, 0, cell] -= total
            daily[day, 1, cell] += total
            daily[day, 2, cell] += total
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument(
        "--filled",
        type=float,
        default=0.7,
        help="share of the lane-cells that hold households (the engine's draw in about a fifth "
        "of seed-2019's, two-thirds of national's: docs/performance.md)",
    )
    args = parser.parse_args()
    lanes = args.lanes - args.lanes % EIGHT
    start = np.random.default_rng(5).integers(1, 25, (lanes, CELLS)).astype(np.int32)
    start[np.random.default_rng(6).random((lanes, CELLS)) >= args.filled] = 0

    def scalar() -> tuple[int, tuple[np.ndarray, ...]]:
        arrays = (
            start.copy(),
            np.zeros((lanes, CELLS), np.int32),
            np.zeros((lanes, METRICS, CELLS), np.int64),
            np.zeros((lanes, METRICS, CLASSES), np.int64),
            np.zeros((DAYS, METRICS, CELLS), np.int64),
        )
        return one_lane_at_a_time(*arrays), arrays

    def lockstep() -> tuple[int, tuple[np.ndarray, ...]]:
        arrays = (
            np.ascontiguousarray(start.T),
            np.zeros((CELLS, lanes), np.int32),
            np.zeros((METRICS, CELLS, lanes), np.int64),
            np.zeros((METRICS, CLASSES, lanes), np.int64),
            np.zeros((DAYS, METRICS, CELLS), np.int64),
        )
        return lanes_in_lockstep(*arrays), arrays

    (drawn, one), (same, eight) = scalar(), lockstep()
    if drawn != same or not (
        np.array_equal(one[0], eight[0].T)
        and np.array_equal(one[2], eight[2].transpose(2, 0, 1))
        and np.array_equal(one[3], eight[3].transpose(2, 0, 1))
        and np.array_equal(one[4], eight[4])
    ):
        raise SystemExit("the lockstep moves do not give the engine's draws")
    best = {"one lane at a time": math.inf, "lanes in lockstep": math.inf}
    for _ in range(args.rounds):  # in turn, so that the machine's drift falls on both alike
        for name, run in (("one lane at a time", scalar), ("lanes in lockstep", lockstep)):
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    cell_days = lanes * CELLS * DAYS
    print(f"{lanes:,} lanes x {CELLS} cells x {DAYS} days; {drawn:,} draws")
    for name, seconds in best.items():
        print(
            f"{name}: {1e9 * seconds / cell_days:.1f} ns per lane-cell-day, "
            f"{1e9 * seconds / drawn:.1f} ns per draw"
        )


if __name__ == "__main__":
    main()
