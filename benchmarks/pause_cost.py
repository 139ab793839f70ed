"""What a pause costs, in parts: a batch of seed-2019 lanes run straight through, the same
lanes started ``pausable=True`` and run to the horizon without a stop (each lane on a state
row of its own), and stopped at the end of day -1 and of every field day as
``pause_resume_overhead_ratio`` of ``make bench`` does. Best of ``ROUNDS`` rounds, the three
timed in turn; microseconds per lane (docs/performance.md, "What the pause costs").

    taskset -c 1 .venv/bin/python benchmarks/pause_cost.py 5000 --rounds 10
    taskset -c 1 .venv/bin/python benchmarks/pause_cost.py 500 --rounds 40
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine import Lanes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lanes", type=int)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    scenario = load_scenario("seed-2019")
    compiled = compile_scenario(scenario)
    field_days = scenario.operation.field_days

    def batch(pausable: bool) -> Lanes:
        lanes = np.arange(args.lanes)
        return Lanes.start([compiled], 1, np.zeros_like(lanes), lanes, pausable=pausable)

    def straight(lanes: Lanes) -> None:
        lanes.run()

    def without_a_stop(lanes: Lanes) -> None:
        lanes.run_until()

    def stopped(lanes: Lanes) -> None:
        for day in range(-1, field_days):
            lanes.run_until(day)
        lanes.run_until()

    ways = {"straight": (False, straight), "pausable": (True, without_a_stop)}
    ways["paused"] = (True, stopped)
    best = dict.fromkeys(ways, float("inf"))
    for round_ in range(args.rounds + 1):  # the first round compiles and warms
        for name, (pausable, run) in ways.items():
            lanes = batch(pausable)
            started = time.perf_counter()
            run(lanes)
            if round_:
                best[name] = min(best[name], time.perf_counter() - started)
    per_lane = {name: 1e6 * seconds / args.lanes for name, seconds in best.items()}
    print(
        f"{args.lanes} lanes, us per lane: straight {per_lane['straight']:.1f}, pausable "
        f"without a stop {per_lane['pausable']:.1f} ({best['pausable'] / best['straight']:.3f}), "
        f"paused {per_lane['paused']:.1f} ({best['paused'] / best['straight']:.3f})"
    )


if __name__ == "__main__":
    main()
