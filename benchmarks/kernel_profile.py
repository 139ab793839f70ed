"""Where the kernel's time goes: by step of the day, by draw (kind and stream) and in the
random number generator, in processor cycles read around each of them.

Usage: python benchmarks/kernel_profile.py [SCENARIO ...] [--replications N] [--households N]
[--bands]

(``--households``: each scenario's targets scaled to about N households in all, as
``population_scaling_ratio`` of ``make bench`` does.)

The kernel is one compiled function with every step and draw inlined, so a sampling profiler
(perf) sees one anonymous block of machine code. This script compiles a copy of the engine
package instead (the technique of tests/mutants.py: text replacements, each of which must
match exactly once) in which the cycle counter (``llvm.readcyclecounter``, the x86 RDTSC) is
read around every step of ``day_steps.DAY_STEPS``, every binomial and hypergeometric draw and
every uniform, and the cycles are summed by what they surround. The real engine is untouched.

What the figures include: a reading takes cycles and keeps the processor from overlapping
the code around it, so a small draw looks dearer than it is, and the copy runs slower than
the engine (its total is printed next to the engine's); a step's figure includes
its draws and uniforms; a draw's excludes its uniform (the generator's line has those computed
one at a time; those of a row of cities computed side by side, ``draws.city_block``, are in
their step's time only: the block is one call that takes no lane's keys to count in).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from numba import njit
from rich.console import Console
from rich.table import Table
from run import with_households

import fieldcast.engine
from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.day_steps import DAY_STEPS
from fieldcast.engine import simulate_chunk
from fieldcast.scenario import Scenario
from fieldcast.streams import STREAMS

PACKAGE = "engine_profiled"
STREAM_COUNT = 32  # slots per kind of figure: streams.py numbers streams below this
BINOMIAL_CYCLES, BINOMIAL_DRAWS = 0, STREAM_COUNT
HYPERGEOMETRIC_CYCLES, HYPERGEOMETRIC_DRAWS = 2 * STREAM_COUNT, 3 * STREAM_COUNT
STEP_CYCLES = 4 * STREAM_COUNT
GENERATOR_CYCLES = STEP_CYCLES + len(DAY_STEPS)
GENERATOR_DRAWS = GENERATOR_CYCLES + 1  # uniforms computed one at a time (``draws.draw``)
SLOTS = GENERATOR_DRAWS + 1

# The counter as a compiled function (a module of the copy's folder): numba has no binding for
# it, and an intrinsic of a few lines is numba's documented way to call an LLVM intrinsic.
CYCLE_COUNTER_SOURCE = """
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def cycles(typingctx):
    def codegen(context, builder, signature, args):
        counter = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(counter, [])

    return types.int64(), codegen
"""


REPLACEMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "state": (
        (
            "    uniforms: np.ndarray  # uniforms drawn so far",
            "    cycles: np.ndarray  # the profile's sums (benchmarks/kernel_profile.py)\n"
            "    uniforms: np.ndarray  # uniforms drawn so far",
        ),
    ),
    "lanes": (
        (
            "            uniforms=_zeros(lanes),\n",
            "            uniforms=_zeros(lanes),\n"
            f"            cycles=np.zeros({SLOTS}, np.int64),\n",
        ),
    ),
    "draws": (
        (
            "from fieldcast.streams import city_uniforms, uniform\n",
            "from fieldcast.streams import city_uniforms, uniform\n"
            "from cycle_counter import cycles\n",
        ),
        (
            "    return uniform(seed, keys.replication[lane], keys.branch[lane], stream, day, k, "
            "c, slot)\n",
            "    started = cycles()\n"
            "    u = uniform(seed, keys.replication[lane], keys.branch[lane], stream, day, k, c, "
            "slot)\n"
            f"    keys.cycles[{GENERATOR_CYCLES}] += cycles() - started\n"
            f"    keys.cycles[{GENERATOR_DRAWS}] += 1\n"
            "    return u\n",
        ),
        (
            "    return binomial_draw(trials, probability, draw(seed, keys, lane, stream, day, k, "
            "c, slot))\n",
            "    u = draw(seed, keys, lane, stream, day, k, c, slot)\n"
            "    started = cycles()\n"
            "    outcome = binomial_draw(trials, probability, u)\n"
            f"    keys.cycles[{BINOMIAL_CYCLES} + stream] += cycles() - started\n"
            f"    keys.cycles[{BINOMIAL_DRAWS} + stream] += 1\n"
            "    return outcome\n",
        ),
        (
            "    u = draw(seed, keys, lane, stream, day, k, c, slot)\n"
            "    return binomial_draw_log1m(trials, probability, log1m, u)\n",
            "    u = draw(seed, keys, lane, stream, day, k, c, slot)\n"
            "    started = cycles()\n"
            "    outcome = binomial_draw_log1m(trials, probability, log1m, u)\n"
            f"    keys.cycles[{BINOMIAL_CYCLES} + stream] += cycles() - started\n"
            f"    keys.cycles[{BINOMIAL_DRAWS} + stream] += 1\n"
            "    return outcome\n",
        ),
        (
            "    u = uniform_of(seed, keys, lane, stream, day, k, c, slot, block, blocked)\n"
            "    return binomial_draw_log1m(trials, probability, log1m, u)\n",
            "    u = uniform_of(seed, keys, lane, stream, day, k, c, slot, block, blocked)\n"
            "    started = cycles()\n"
            "    outcome = binomial_draw_log1m(trials, probability, log1m, u)\n"
            f"    keys.cycles[{BINOMIAL_CYCLES} + stream] += cycles() - started\n"
            f"    keys.cycles[{BINOMIAL_DRAWS} + stream] += 1\n"
            "    return outcome\n",
        ),
        (
            "    u = uniform_of(seed, keys, lane, stream, day, k, c, slot, block, blocked)\n"
            "    return hypergeometric_draw(good, bad, sample, u)\n",
            "    u = uniform_of(seed, keys, lane, stream, day, k, c, slot, block, blocked)\n"
            "    started = cycles()\n"
            "    outcome = hypergeometric_draw(good, bad, sample, u)\n"
            f"    keys.cycles[{HYPERGEOMETRIC_CYCLES} + stream] += cycles() - started\n"
            f"    keys.cycles[{HYPERGEOMETRIC_DRAWS} + stream] += 1\n"
            "    return outcome\n",
        ),
        (
            "    return hypergeometric_draw(good, bad, sample, draw(seed, keys, lane, stream, day, "
            "k, c, slot))\n",
            "    u = draw(seed, keys, lane, stream, day, k, c, slot)\n"
            "    started = cycles()\n"
            "    outcome = hypergeometric_draw(good, bad, sample, u)\n"
            f"    keys.cycles[{HYPERGEOMETRIC_CYCLES} + stream] += cycles() - started\n"
            f"    keys.cycles[{HYPERGEOMETRIC_DRAWS} + stream] += 1\n"
            "    return outcome\n",
        ),
    ),
}


def _with_steps_timed(source: str) -> str:
    """day.py with the counter read around each call of a step of ``DAY_STEPS``: every
    statement that starts with the step's name and an opening parenthesis, up to the one
    that closes it (each step must be called exactly once)."""
    header = "from numba import njit\n"
    assert source.count(header) == 1, f"day.py: no longer matches once: {header!r}"
    source = source.replace(header, header + "\nfrom cycle_counter import cycles\n")
    for index, step in enumerate(DAY_STEPS):
        lines = source.split("\n")
        starts = [i for i, line in enumerate(lines) if line.lstrip().startswith(step + "(")]
        assert len(starts) == 1, f"day.py: {step} is called {len(starts)} times, not once"
        first = starts[0]
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        last, depth = first, 0
        for last in range(first, len(lines)):
            depth += lines[last].count("(") - lines[last].count(")")
            if depth == 0:
                break
        lines[first:first] = [f"{indent}started = cycles()"]
        lines.insert(last + 2, f"{indent}keys.cycles[{STEP_CYCLES + index}] += cycles() - started")
        source = "\n".join(lines)
    return source


def profiled_sources() -> dict[str, str]:
    """The engine package's modules (file name: source) with the counter read in them."""
    folder = Path(fieldcast.engine.__file__).parent
    sources = {}
    for path in sorted(folder.glob("*.py")):
        source = path.read_text()
        for old, new in REPLACEMENTS.get(path.stem, ()):
            assert source.count(old) == 1, f"{path.name}: no longer matches once: {old!r}"
            source = source.replace(old, new)
        if path.stem == "day":
            source = _with_steps_timed(source)
        sources[path.name] = source.replace("fieldcast.engine.", PACKAGE + ".")
    return sources


def load_profiled_engine() -> tuple[ModuleType, Callable[[], int]]:
    """The copy, written to a folder of the temporary directory (rewritten only when it
    changed, so that numba's cache of it holds between runs) and imported, and a function
    that reads the counter from Python."""
    folder = Path(tempfile.gettempdir()) / "fieldcast-kernel-profile"
    package = folder / PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    files = {package / name: text for name, text in profiled_sources().items()}
    files[folder / "cycle_counter.py"] = CYCLE_COUNTER_SOURCE
    for path, text in files.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    sys.path.insert(0, str(folder))
    cycles = importlib.import_module("cycle_counter").cycles

    @njit
    def read() -> int:
        return cycles()

    return importlib.import_module(PACKAGE), read


def cycles_per_second(read_counter: Callable[[], int]) -> float:
    read_counter()
    started, first = time.perf_counter(), read_counter()
    time.sleep(0.5)
    return (read_counter() - first) / (time.perf_counter() - started)


def profile(
    engine: ModuleType,
    read_counter: Callable[[], int],
    scenario: Scenario,
    name: str,
    replications: int,
    hertz: float,
    console: Console,
    bands: bool,
) -> None:
    compiled = compile_scenario(scenario)
    band_sample = replications if bands else 0
    simulate_chunk(compiled, 1, 0, 2, band_sample=band_sample)
    started = time.perf_counter()
    simulate_chunk(compiled, 1, 0, replications, band_sample=band_sample)
    real = (time.perf_counter() - started) / replications
    lanes = engine.Lanes.start([compiled], 1, np.zeros(2, np.int64), np.arange(2))
    lanes.run()  # compile the copy
    lanes = engine.Lanes.start(
        [compiled],
        1,
        np.zeros(replications, np.int64),
        np.arange(replications),
        band_rows=np.arange(replications) if bands else None,
    )
    first = read_counter()
    lanes.run()
    total = (read_counter() - first) / replications
    sums = lanes.keys.cycles / replications

    def us(cycles: float) -> str:
        return f"{1e6 * cycles / hertz:,.2f}"

    console.print(
        f"[bold]{name}[/]: {replications:,} replications; the engine {us(real * hertz)} us per "
        f"replication, the profiled copy {us(total)} us (the difference is what reading the "
        "counter costs, spread over the figures below)"
    )
    table = Table("what", "per replication", "cycles each", "us per replication", "share")
    for index, step in enumerate(DAY_STEPS):
        cycles = sums[STEP_CYCLES + index]
        table.add_row(f"step {step}", "", "", us(cycles), f"{cycles / total:.0%}")
    steps = sum(sums[STEP_CYCLES + index] for index in range(len(DAY_STEPS)))
    table.add_row(
        "the rest (day 0, quiet windows, loops)",
        "",
        "",
        us(total - steps),
        f"{1 - steps / total:.0%}",
    )
    one_at_a_time = sums[GENERATOR_DRAWS]
    cycles = sums[GENERATOR_CYCLES]
    table.add_row(
        "uniforms one at a time (Philox)",
        f"{one_at_a_time:,.1f}",
        f"{cycles / max(one_at_a_time, 1):,.0f}",
        us(cycles),
        f"{cycles / total:.0%}",
    )
    side_by_side = lanes.keys.uniforms.sum() / replications - one_at_a_time
    table.add_row("uniforms side by side (their time in their step's)", f"{side_by_side:,.1f}")
    for kind, at_cycles, at_draws in (
        ("binomial", BINOMIAL_CYCLES, BINOMIAL_DRAWS),
        ("hypergeometric", HYPERGEOMETRIC_CYCLES, HYPERGEOMETRIC_DRAWS),
    ):
        for stream, number in STREAMS.items():
            draws = sums[at_draws + number]
            if draws:
                cycles = sums[at_cycles + number]
                table.add_row(
                    f"{kind} {stream}",
                    f"{draws:,.1f}",
                    f"{cycles / draws:,.0f}",
                    us(cycles),
                    f"{cycles / total:.0%}",
                )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=None)
    parser.add_argument("scenarios", nargs="*", default=["seed-2019", "national"])
    parser.add_argument(
        "--replications", type=int, default=None, help="default: 3,000 of seed-2019, 10 of others"
    )
    parser.add_argument(
        "--bands",
        action="store_true",
        help="every replication keeps its daily path for the bands, as a forecast's first "
        "thousand do (all of national_1k_seconds')",
    )
    arguments = parser.parse_args()
    console = Console(width=110)
    engine, read_counter = load_profiled_engine()
    hertz = cycles_per_second(read_counter)
    console.print(f"cycle counter: {hertz / 1e9:.2f} GHz")
    for name in arguments.scenarios:
        replications = arguments.replications or (3000 if name == "seed-2019" else 10)
        scenario = load_scenario(name)
        if arguments.households:
            scenario = with_households(scenario, arguments.households)
            name = f"{name} with {arguments.households:,} households"
        profile(engine, read_counter, scenario, name, replications, hertz, console, arguments.bands)


if __name__ == "__main__":
    main()
