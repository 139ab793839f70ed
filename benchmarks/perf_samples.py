"""Where the compiled engine spends its time, sampled by ``perf`` while it runs as ``make
bench`` runs it: no counter read inside the code (``kernel_profile.py`` reads one around every
step and draw, which slows the copy it times by half and keeps the processor from
overlapping), so the shares are those of the engine itself.

Usage: python benchmarks/perf_samples.py [SCENARIO] [--seconds S] [--replications N]

Needs ``perf`` (Debian's ``linux-perf``) and binutils' ``nm`` and ``c++filt``; not
dependencies of fieldcast or its tests. ``perf`` samples the processor's instruction
pointer on a timer (``cpu-clock``: virtual machines without hardware counters have it), and
the addresses are matched to the engine's own object code. The engine is compiled in this
process, in a numba cache of its own (about a minute), because numba keeps the object code
of what it compiles, not of what it loads from its cache.

Prints the share of the samples in each compiled function (the kernel ``run_days``, with
every step and most draws inlined, and what it calls out of line: the generator's
``uniform``, a row's ``city_block``, the larger samplers), then how flat the kernel's own
samples are: its hottest instruction's share, and how many instructions hold half of them.
With ``--by-kind``, also the kernel's samples and instructions by kind of instruction
(binutils' ``objdump`` disassembles it): those that read or write the stack (LLVM's spills
of values it has no register for), other memory, branches, divisions, the rest. A sample
lands at or just after the instruction that was running, so a kind's share is blurred
towards the kinds that follow it.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _functions(object_file: Path) -> list[tuple[str, int, str]]:
    """(symbol, size, short name) of every function in the object file's code; C++ names
    demangled and cut at their first bracket (numba's ABI tags)."""
    listed = subprocess.run(
        ["nm", "-S", "--defined-only", str(object_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    raw = [line.split(maxsplit=3) for line in listed if line.count(" ") >= 3]
    raw = [(n, int(s, 16)) for _, s, kind, n in raw if kind in "TtWw"]
    demangled = subprocess.run(
        ["c++filt"], input="\n".join(n for n, _ in raw), capture_output=True, text=True
    ).stdout.split("\n")
    return [
        (
            symbol,
            size,
            "its callers' wrappers"
            if symbol.startswith(("_ZN7cpython", "cfunc."))
            else re.split(r"\[|\(", name, maxsplit=1)[0],
        )
        for (symbol, size), name in zip(raw, demangled, strict=False)
    ]


def sampled_pointers(
    run: Callable[[], None], seconds: float, frequency: int, work: Path
) -> list[int]:
    """The instruction pointers ``perf`` sampled in this process while ``run`` ran again and
    again for ``seconds``; ``perf`` is stopped and waited for whatever happens."""
    record = work / "perf.data"
    command = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(frequency)]
    sampler = subprocess.Popen(
        [*command, "-p", str(os.getpid()), "-o", str(record)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)  # perf attaches
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            run()
    finally:
        sampler.send_signal(signal.SIGINT)
        sampler.wait()
    listed = subprocess.run(
        ["perf", "script", "-i", str(record), "-F", "ip"], capture_output=True, text=True
    ).stdout
    return [int(pointer, 16) for pointer in listed.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="seed-2019")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to sample")
    parser.add_argument("--replications", type=int, default=2000, help="per chunk")
    parser.add_argument("--frequency", type=int, default=10000, help="samples a second")
    parser.add_argument(
        "--by-kind", action="store_true", help="the kernel's samples by kind of instruction"
    )
    arguments = parser.parse_args()
    tools = [("perf", "linux-perf"), ("nm", "binutils"), ("c++filt", "binutils")]
    if arguments.by_kind:
        tools.append(("objdump", "binutils"))
    for tool, package in tools:
        if shutil.which(tool) is None:
            sys.exit(f"perf_samples.py needs {tool}: apt-get install {package}")
    with tempfile.TemporaryDirectory(prefix="fieldcast-perf-") as temporary:
        profile(arguments, Path(temporary))


def profile(arguments: argparse.Namespace, work: Path) -> None:
    """Compile the engine in ``work``, sample it while it runs the scenario, print the
    shares by function and how flat the kernel's are."""
    os.environ["NUMBA_CACHE_DIR"] = str(work / "numba")  # compile here: keep the object code
    from fieldcast.catalog import load_scenario
    from fieldcast.compiled import compile_scenario
    from fieldcast.engine import simulate_chunk
    from fieldcast.engine.day import run_days

    compiled = compile_scenario(load_scenario(arguments.scenario))
    print("compiling the engine (about a minute)...", file=sys.stderr)
    simulate_chunk(compiled, 1, 0, 10)
    ((_, result),) = run_days.overloads.items()
    kernel_address = result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
    object_file = work / "run_days.o"
    object_file.write_bytes(result.library._get_compiled_object())  # numba keeps no other copy
    # where each function of the object code is in this process: the JIT lays them out in
    # its own order
    functions = sorted(
        (address, size, name)
        for symbol, size, name in _functions(object_file)
        if (address := result.library.get_pointer_to_function(symbol))
    )
    starts = [address for address, _, _ in functions]

    chunks = [0]

    def run() -> None:
        simulate_chunk(compiled, 1, chunks[0] * arguments.replications, arguments.replications)
        chunks[0] += 1

    by_function: collections.Counter[str] = collections.Counter()
    in_kernel: collections.Counter[int] = collections.Counter()
    for address in sampled_pointers(run, arguments.seconds, arguments.frequency, work):
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and address < functions[i][0] + functions[i][1]:
            name = "run_days" if functions[i][0] == kernel_address else functions[i][2]
            by_function[name] += 1
            if name == "run_days":
                in_kernel[address] += 1
        else:
            by_function["outside the engine (Python, numpy, the system)"] += 1
    total = sum(by_function.values())
    replications = chunks[0] * arguments.replications
    print(f"{arguments.scenario}: {replications:,} replications, {total:,} samples")
    for name, count in by_function.most_common():
        print(f"{100 * count / total:6.1f}%  {name}")
    kernel = sorted(in_kernel.values(), reverse=True)
    if not kernel:
        print("no samples in run_days: is perf allowed to attach (perf_event_paranoid)?")
        return
    half, held = 0, 0
    while held < sum(kernel) / 2:
        held += kernel[half]
        half += 1
    print(
        f"run_days: its hottest instruction {100 * kernel[0] / total:.2f}% of all samples; "
        f"half of its samples on {half:,} of the {len(kernel):,} instructions sampled"
    )
    if arguments.by_kind:
        symbol = result.fndesc.llvm_func_name
        by_kind(_instructions(object_file, symbol), in_kernel, kernel_address)


def _instructions(object_file: Path, symbol: str) -> dict[int, str]:
    """The function's instructions (Intel syntax) by their offset in it."""
    listing = subprocess.run(
        [
            "objdump",
            "-d",
            "--no-show-raw-insn",
            "-M",
            "intel",
            f"--disassemble={symbol}",
            str(object_file),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [re.match(r"\s*([0-9a-f]+):\s+(\S.*)", line) for line in listing.split("\n")]
    found = [(int(m.group(1), 16), m.group(2).strip()) for m in lines if m]
    start = found[0][0]
    return {offset - start: text for offset, text in found}


def instruction_kind(text: str) -> str:
    """What an instruction (Intel syntax) does, as ``--by-kind`` counts it."""
    operation, _, operands = text.partition(" ")
    operands = operands.strip()
    if "[rsp" in operands or "[rbp" in operands:
        if operation.lstrip("v").startswith("mov") and operands.split(",")[0].endswith("]"):
            return "writes the stack"
        return "reads the stack"
    if "[" in operands:
        return "other memory"
    if operation.startswith("j"):
        return "branch"
    if operation.startswith("call"):
        return "call"
    if "div" in operation:
        return "division"
    return "registers only"


def by_kind(
    instructions: dict[int, str], in_kernel: collections.Counter[int], kernel_address: int
) -> None:
    """The kernel's samples and instructions by kind (a sample counts for the instruction
    at or before its address)."""
    offsets = sorted(instructions)
    static = collections.Counter(instruction_kind(text) for text in instructions.values())
    sampled: collections.Counter[str] = collections.Counter()
    for address, count in in_kernel.items():
        offset = offsets[bisect.bisect_right(offsets, address - kernel_address) - 1]
        sampled[instruction_kind(instructions[offset])] += count
    samples = sum(sampled.values())
    print(f"run_days by kind of instruction ({len(instructions):,} instructions):")
    for kind, count in sampled.most_common():
        print(
            f"{100 * count / samples:6.1f}% of its samples, "
            f"{100 * static[kind] / len(instructions):5.1f}% of its instructions: {kind}"
        )


if __name__ == "__main__":
    main()
