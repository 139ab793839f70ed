"""The engine's instructions, branches and mispredicted branches per replication, counted by
valgrind's cachegrind: figures that repeat to within half a percent, where timings drift by
5-20% between runs on the development machines and a change of a few percent hides in the
drift.

Usage: python benchmarks/instruction_counts.py [SCENARIO] [--replications N]

Needs valgrind (``apt-get install valgrind``; not a dependency of fieldcast or its tests).
The engine is compiled for ``x86-64-v3`` (AVX2) in a cache of its own: valgrind does not run
AVX-512 code, and a processor named by the environment gives the same compiled code inside
and outside valgrind, so it compiles once, at native speed (compiling under valgrind takes
ten minutes). The figures are therefore those of x86-64-v3 code, not of the code ``make
bench`` times on a processor with AVX-512; compare them with each other, not with timings.

A replication's count is the difference between a run of ``N + 10`` replications and one of
10, divided by N, so that the start (imports, the scenario's compilation) cancels. Python's
own work in two such runs differs by ten million instructions or so from run to run (with
``PYTHONHASHSEED`` fixed); the default 4,000 replications make that 0.4% of the figure.
Mispredictions are those of cachegrind's simple model of a branch predictor, not of the
processor's (likely more than the processor's): useful to compare two versions of the engine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BASE = 10  # replications of the run subtracted from each count

_CHILD = """
import sys
import numpy as np
from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine import Lanes, simulate_chunk
count = int(sys.argv[1])
compiled = compile_scenario(load_scenario({scenario!r}))
simulate_chunk(compiled, 1, 0, 2)
lanes = Lanes.start([compiled], 1, np.zeros(count, dtype=np.int64), np.arange(count))
lanes.run()
print(int(lanes.keys.uniforms.sum()))
"""

_FIGURES = {
    "instructions": r"I\s+refs:\s+([\d,]+)",
    "conditional branches": r"Branches:\s+[\d,]+\s+\(\s*([\d,]+) cond",
    "mispredicted (cachegrind's model)": r"Mispredicts:\s+[\d,]+\s+\(\s*([\d,]+) cond",
}


def counts(child: Path, count: int, environment: dict[str, str]) -> dict[str, int]:
    """cachegrind's totals for one run of the child, and the uniforms its lanes drew."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--branch-sim=yes",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            str(child),
            str(count),
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    figures = {
        name: int(re.search(pattern, done.stderr).group(1).replace(",", ""))
        for name, pattern in _FIGURES.items()
    }
    figures["uniforms"] = int(done.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="seed-2019")
    parser.add_argument("-r", "--replications", type=int, default=4000)
    args = parser.parse_args()
    environment = dict(
        os.environ, NUMBA_CPU_NAME="x86-64-v3", NUMBA_CPU_FEATURES="", PYTHONHASHSEED="0"
    )
    with tempfile.TemporaryDirectory() as directory:
        environment["NUMBA_CACHE_DIR"] = directory
        child = Path(directory) / "child.py"
        child.write_text(_CHILD.format(scenario=args.scenario))
        # compile at native speed, outside valgrind, into the cache both runs read
        subprocess.run(
            [sys.executable, str(child), "2"], env=environment, check=True, capture_output=True
        )
        small = counts(child, BASE, environment)
        large = counts(child, BASE + args.replications, environment)
    print(f"{args.scenario}, {args.replications} replications, x86-64-v3 code, per replication:")
    for name in [*_FIGURES, "uniforms"]:
        print(f"  {name}: {(large[name] - small[name]) / args.replications:,.1f}")


if __name__ == "__main__":
    main()
