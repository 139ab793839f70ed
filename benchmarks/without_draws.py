"""What the engine costs without its draws: every step, loop, choice and count, with each draw
read from a record of the engine's own draws instead of drawn (docs/performance.md, "The
engine without its draws").

    taskset -c 1 .venv/bin/python benchmarks/without_draws.py [SCENARIO] [-r 1000] [--rounds 15]

It records the draws of replications 0 to ``-r`` - 1 with seed 1 (``draw_replay.py``'s
child, in a process of its own: a few minutes for 1,000 of seed-2019), then compiles a copy
of the engine package in which a draw returns the lane's next recorded outcome (the
technique of ``kernel_profile.py``: text replacements, each of which must match exactly
once): ``draws.draw`` reads the record instead of computing a uniform, ``draws.city_block``
computes no row, and the samplers return the recorded outcome as it comes. Draws whose
outcome is certain draw nothing in the engine and read nothing here.

The copy's results must equal the engine's bit for bit (checked): it then takes every branch
the engine takes, so its time is the engine's less the generator and the samplers, plus one
read of an array a draw. Both run in one process, alternating on the same core, and the
script prints each one's best time per replication and the median of the paired ratios
(engine / copy) with their range, as ``paired.py`` does.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

import fieldcast.engine
from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine import simulate_chunk

PACKAGE = "engine_without_draws"
SEED = 1  # the record's (``draw_replay.SEED``)

# The samplers of the copy: the "uniform" a draw is given is its recorded outcome plus a half
# (``_recorded``), so that rounding down gives it back.
RECORDED_OUTCOMES_SOURCE = """
from numba import njit


@njit(inline="always")
def binomial_draw(trials, probability, u):
    return int(u)


@njit(inline="always")
def binomial_draw_log1m(trials, probability, log1m, u):
    return int(u)


@njit(inline="always")
def hypergeometric_draw(good, bad, sample, u):
    return int(u)


@njit(inline="always")
def poisson_draw(mean, u):
    return int(u)
"""

REPLACEMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "state": (
        (
            "    uniforms: np.ndarray  # uniforms drawn so far",
            "    recorded: np.ndarray  # [lane, draw] outcomes (benchmarks/without_draws.py)\n"
            "    uniforms: np.ndarray  # uniforms drawn so far",
        ),
    ),
    "lanes": (
        (
            "            uniforms=_zeros(lanes),\n",
            "            uniforms=_zeros(lanes),\n"
            "            recorded=_recorded(np.asarray(replication, dtype=np.int64)),\n",
        ),
    ),
    "draws": (
        (
            "from fieldcast.sampling import binomial_draw, binomial_draw_log1m, "
            "hypergeometric_draw\n",
            "from recorded_outcomes import binomial_draw, binomial_draw_log1m, "
            "hypergeometric_draw\n",
        ),
        (
            "    return uniform(seed, keys.replication[lane], keys.branch[lane], stream, day, "
            "k, c, slot)\n",
            "    return keys.recorded[lane, keys.uniforms[lane] - 1]\n",
        ),
        (
            "    if not worth_a_block(drawn, block.shape[0]):\n"
            "        return False\n"
            "    city_uniforms(seed, replication, branch, stream, day, k, slot, block)\n"
            "    return True\n",
            "    return False\n",
        ),
    ),
    "field_attempts": (
        (
            "from fieldcast.sampling import poisson_draw\n",
            "from recorded_outcomes import poisson_draw\n",
        ),
    ),
}

# appended to the copy's lanes.py: the record, set by this script before any lane starts
LANES_RECORD = """

RECORD = np.zeros((0, 1))  # [replication, draw] outcome + 0.5, set by without_draws.py


def _recorded(replications: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(RECORD[replications])
"""


def sources() -> dict[str, str]:
    """The engine package's modules (file name: source), each draw read from the record."""
    folder = Path(fieldcast.engine.__file__).parent
    copied = {}
    for path in sorted(folder.glob("*.py")):
        source = path.read_text()
        for old, new in REPLACEMENTS.get(path.stem, ()):
            assert source.count(old) == 1, f"{path.name}: no longer matches once: {old!r}"
            source = source.replace(old, new)
        if path.stem == "lanes":
            source += LANES_RECORD
        copied[path.name] = source.replace("fieldcast.engine.", PACKAGE + ".")
    return copied


def load_copy(folder: Path) -> ModuleType:
    """The copy, written to ``folder`` and imported."""
    package = folder / PACKAGE
    package.mkdir(parents=True)
    for name, text in sources().items():
        (package / name).write_text(text)
    (folder / "recorded_outcomes.py").write_text(RECORDED_OUTCOMES_SOURCE)
    sys.path.insert(0, str(folder))
    return importlib.import_module(PACKAGE)


def record_table(rows: np.ndarray, replications: int) -> np.ndarray:
    """[replication, draw] each replication's recorded outcomes in the order drawn, plus a
    half (``draw_replay``'s rows: replication in column 1, outcome in column 12)."""
    which = rows[:, 1].astype(np.int64)
    counts = np.bincount(which, minlength=replications)
    table = np.zeros((replications, counts.max() + 1))
    order = np.argsort(which, kind="stable")  # each replication's draws in the order drawn
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(rows)) - starts[which[order]]
    table[which[order], position] = rows[order, 12] + 0.5
    return table


def per_replication_results(output: object) -> dict[str, np.ndarray]:
    return {
        name: value
        for name, value in vars(output).items()
        if isinstance(value, np.ndarray) and name != "daily_sum"
    }


def by_days(
    engine: ModuleType, compiled: object, lanes: int, ends: tuple[int, ...], rounds: int
) -> list[float]:
    """Microseconds a lane from each end of day in ``ends`` to the next (from the start to
    the first), paused lanes of ``engine`` run in turn, best of ``rounds``."""
    best = [float("inf")] * len(ends)

    def start() -> object:
        return engine.Lanes.start(
            [compiled], SEED, np.zeros(lanes, np.int64), np.arange(lanes), pausable=True
        )

    start().run_until()
    for _ in range(rounds):
        batch = start()
        times = [time.perf_counter()]
        for day in ends:
            batch.run_until(day)
            times.append(time.perf_counter())
        spans = [(b - a) / lanes * 1e6 for a, b in itertools.pairwise(times)]
        best = [min(m, s) for m, s in zip(best, spans, strict=True)]
    return [round(m, 1) for m in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="seed-2019")
    parser.add_argument("-r", "--replications", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--days",
        action="store_true",
        help="also time both by range of days: paused lanes run to the end of day -1, of the "
        "field days' last but one, of the last and of the horizon, best of --rounds",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        recorded = Path(directory) / "draws.npz"
        replay = Path(__file__).parent / "draw_replay.py"
        child = [sys.executable, str(replay), args.scenario, "-r", str(args.replications)]
        subprocess.run(
            [*child, "--record", str(recorded)],
            check=True,
            env=os.environ | {"NUMBA_DISABLE_JIT": "1"},
        )
        rows = np.load(recorded)["draws"]
        copy = load_copy(Path(directory) / "copy")
        copy.lanes.RECORD = record_table(rows, args.replications)
        compiled = compile_scenario(load_scenario(args.scenario))
        runs = {
            "engine": lambda: simulate_chunk(compiled, SEED, 0, args.replications),
            "without draws": lambda: copy.simulate_chunk(compiled, SEED, 0, args.replications),
        }
        results = {name: per_replication_results(run()) for name, run in runs.items()}
        for name, value in results["engine"].items():
            if not np.array_equal(value, results["without draws"][name]):
                raise SystemExit(f"the copy's {name} differs from the engine's")
        if args.days:
            scenario = load_scenario(args.scenario)
            field, horizon = scenario.operation.field_days, scenario.operation.horizon_days
            ends = (-1, field - 1, field, horizon - 1)
            for name, module in (("engine", fieldcast.engine), ("without draws", copy)):
                microseconds = by_days(module, compiled, args.replications, ends, args.rounds)
                print(f"{name}, up to the end of days {ends}, us per lane: {microseconds}")
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - start)
    ratios = sorted(e / w for e, w in zip(seconds["engine"], seconds["without draws"], strict=True))
    per_replication = 1e6 / args.replications
    print(
        f"{args.scenario}: the engine {min(seconds['engine']) * per_replication:.1f} us per "
        f"replication, without its draws {min(seconds['without draws']) * per_replication:.1f}"
        f" (results bit for bit the engine's); paired ratios engine / without draws: median "
        f"{ratios[len(ratios) // 2]:.3f} [{ratios[0]:.3f}, {ratios[-1]:.3f}]"
    )


if __name__ == "__main__":
    main()
