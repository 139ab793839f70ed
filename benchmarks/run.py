"""fieldcast benchmarks: speed and memory, measured in one run on this machine.

Usage: python benchmarks/run.py [--out bench.json] [--quick] [--only NAME ...]

Writes ``bench.json`` (not committed) and prints a table with each figure, its target and
whether it is met. Ratios compare two things measured in the same run, so they travel between
machines better than seconds do; seconds are reported with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit
from rich.console import Console
from rich.table import Table

from fieldcast.calibration import Settings, calibrate, synthetic_observations
from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario, parameter_table_with
from fieldcast.engine import Lanes, simulate_chunk
from fieldcast.observations import ObservationSet
from fieldcast.planning.sensitivity import run_sensitivity
from fieldcast.reference import simulate_reference_block
from fieldcast.replications import simulate
from fieldcast.sampling import binomial
from fieldcast.scenario import Scenario, scenario_with
from fieldcast.store import RunStore
from fieldcast.streams import philox4x32, uniform, unit_interval
from fieldcast.tracking import track, tracked_model
from fieldcast.workers import dask_client

CORES = os.cpu_count() or 1

# key: (what, target, "max" if the figure must not exceed the target else "min")
TARGETS: dict[str, tuple[str, float, str]] = {
    "speedup_vs_reference": ("time per replication, reference / engine, seed-2019", 1000, "min"),
    "default_10k_seconds": ("10,000 replications of seed-2019, all cores", 2.0, "max"),
    "national_1k_seconds": (
        "national, 365-day horizon, 1,000 replications, all cores",
        10.0,
        "max",
    ),
    "population_scaling_ratio": ("time at 10,000,000 / at 1,000 households", 1.5, "max"),
    "rng_floor_ratio": ("engine time / Philox producing the uniforms it drew, alone", 3.0, "max"),
    "peak_rss_mb_100k": ("peak memory of a 100,000-replication forecast, MB", 512, "max"),
    "dask_2_workers_speedup": (
        "100,000 replications of seed-2019: in-process / 2 local Dask workers",
        1.7,
        "min",
    ),
    "morris_seed_seconds": ("sensitivity on seed-2019 (220 points x 200), all cores", 5.0, "max"),
    "lane_overhead_ratio": (
        "10,000 lanes with their own parameters / 10,000 replications of one scenario",
        1.25,
        "max",
    ),
    "calibrate_seed_seconds": (
        "calibrate 6 seed-2019 assumptions to 7 days of every city (ESS 1,000), all cores",
        60.0,
        "max",
    ),
    "nowcast_update_seconds": (
        "tracking: one more day of 20 counts, 10,000 particles, from the stored filter",
        5.0,
        "max",
    ),
    "cli_help_seconds": ("`fieldcast --help`, a fresh process (median of 5)", 0.5, "max"),
    "scenario_validate_seconds": (
        "`fieldcast scenario validate seed-2019.toml` (median of 5)",
        0.5,
        "max",
    ),
    "pause_resume_overhead_ratio": (
        "seed-2019 paused and resumed every field day / straight through",
        1.2,
        "max",
    ),
}


def timed(action: Callable[[], Any], repeat: int = 1) -> float:
    """Best wall-clock time of ``repeat`` runs (the first run also warms the JIT cache)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def timed_in_turn(*actions: Callable[[], Any], rounds: int = 3) -> tuple[float, ...]:
    """Best wall-clock times of some actions timed in turn, ``rounds`` times each: the
    machine's speed drifts within a minute, and timing all runs of one before all of the
    other would put the drift into their ratio."""
    best = [float("inf")] * len(actions)
    for _ in range(rounds):
        for i, action in enumerate(actions):
            best[i] = min(best[i], timed(action))
    return tuple(best)


def with_households(base: Scenario, households: int) -> Scenario:
    """The scenario with its targets scaled to about ``households`` households in all."""
    mean_size = sum(c.share * c.size for c in base.households.classes)
    cities = [c for c in base.cities if c.target_persons > 0]
    per_city = round(households * mean_size / len(cities))
    return base.model_copy(
        update={
            "cities": [c.model_copy(update={"target_persons": per_city}) for c in cities],
            "city_overrides": {
                name: o
                for name, o in base.city_overrides.items()
                if name in {c.name for c in cities}
            },
            "provenance": {},
        }
    )


def speedup_vs_reference(seed_2019: Scenario, quick: bool) -> dict[str, float]:
    compiled = compile_scenario(seed_2019)
    simulate_chunk(compiled, 1, 0, 10)  # compile the samplers
    engine_reps, reference_reps = (500, 5) if quick else (2000, 20)
    engine, reference = timed_in_turn(
        lambda: simulate_chunk(compiled, 1, 0, engine_reps),
        lambda: simulate_reference_block(seed_2019, 1, 0, reference_reps),
    )
    engine /= engine_reps
    reference /= reference_reps
    return {
        "speedup_vs_reference": reference / engine,
        "engine_ms_per_replication": 1000 * engine,
        "reference_ms_per_replication": 1000 * reference,
    }


@njit
def _philox_uniforms(count: int) -> float:
    """``count`` uniforms from the engine's generator, one counter word varying (summed, so
    that nothing is optimised away): the cost of the generator itself, nothing else."""
    total = 0.0
    for i in range(count):
        total += uniform(np.uint64(1), i, 0, 3, 5, 1, 4, 0)
    return total


_SIDE_BY_SIDE = 1024


@njit
def _philox_uniforms_side_by_side(count: int) -> float:
    """About ``count`` uniforms from the same generator, in blocks whose counters are known
    before any is used: the loop compiles to vector instructions (eight or sixteen counters
    at once), which the engine, drawing each uniform where it is used, does not get."""
    block = np.empty(_SIDE_BY_SIDE)
    total = 0.0
    for start in range(0, count, _SIDE_BY_SIDE):
        for i in range(_SIDE_BY_SIDE):
            x0, x1, _, _ = philox4x32(np.uint32(start + i), 0, 77, 5, 1, 0)
            block[i] = unit_interval(x0, x1)
        total += block[0]
    return total


def rng_floor(seed_2019: Scenario) -> dict[str, float]:
    """The floor is the generator alone producing as many uniforms as the engine drew (the
    engine counts them: a cell with nothing to draw draws none), in the same run."""
    compiled = compile_scenario(seed_2019)
    lanes = Lanes.start([compiled], 1, np.zeros(1000, dtype=np.int64), np.arange(1000))
    lanes.run()
    uniforms = int(lanes.keys.uniforms.sum())
    _philox_uniforms(10)
    _philox_uniforms_side_by_side(10)
    side_by_side = -(-uniforms // _SIDE_BY_SIDE) * _SIDE_BY_SIDE
    engine, floor, in_blocks = timed_in_turn(
        lambda: simulate_chunk(compiled, 1, 0, 1000),
        lambda: _philox_uniforms(uniforms),
        lambda: _philox_uniforms_side_by_side(side_by_side),
    )
    return {
        "rng_floor_ratio": engine / floor,
        "uniforms_per_1000_replications": uniforms,
        "philox_ns_per_uniform": 1e9 * floor / uniforms,
        "philox_ns_per_uniform_side_by_side": 1e9 * in_blocks / side_by_side,
    }


def population_scaling(seed_2019: Scenario, quick: bool) -> dict[str, float]:
    reps = 200 if quick else 1000
    small = compile_scenario(with_households(seed_2019, 1_000))
    large = compile_scenario(with_households(seed_2019, 10_000_000))
    simulate_chunk(large, 1, 0, 10)
    small_time, large_time = timed_in_turn(
        lambda: simulate_chunk(small, 1, 0, reps), lambda: simulate_chunk(large, 1, 0, reps)
    )
    return {
        "population_scaling_ratio": large_time / small_time,
        "households_small": int(small.households.sum()),
        "households_large": int(large.households.sum()),
    }


# Runs the forecast as its only child, so that the peak is the forecast's own: a process's
# RUSAGE_CHILDREN peak is the largest of all its children so far, and this benchmark's earlier
# children (process pools forked from it) would count otherwise.
_MEASURE_CHILD = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(replications: int) -> dict[str, float]:
    """Peak resident memory of ``fieldcast forecast`` in a fresh process, one process."""
    fieldcast = str(Path(sys.executable).parent / "fieldcast")
    command = [fieldcast, "forecast", "-n", str(replications), "--json", "--processes", "1"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_CHILD, *command, "--no-store"],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    return {
        "peak_rss_mb_100k": int(done.stdout.strip()) / 1024,
        "forecast_replications_for_rss": replications,
        "forecast_seconds_one_process": seconds,
    }


def dask_speedup(seed_2019: Scenario, quick: bool) -> dict[str, float]:
    """In-process time over the time on a local cluster of two worker processes (cluster start
    excluded, workers warmed), and the cluster's cost for a small run. Timed in turn, five
    times (a cluster started for each, so that no idle cluster shares the cores with the
    in-process run), and the best of each taken: this machine's speed drifts within a
    minute, and timing all of one before all of the other measured the drift too. (The best
    of three gave 1.71 to 1.87 in six runs on two engines: docs/performance.md.)"""
    replications = 10_000 if quick else 100_000
    in_process, on_cluster, small_on_cluster = float("inf"), float("inf"), float("inf")
    for _ in range(5):
        in_process = min(in_process, timed(lambda: simulate(seed_2019, replications, 1)))
        with dask_client(workers=2, scheduler=None) as client:
            assert client is not None
            simulate(seed_2019, 2000, 1, client=client)  # warm both workers' JIT cache
            on_cluster = min(
                on_cluster, timed(lambda: simulate(seed_2019, replications, 1, client=client))
            )
            small_on_cluster = min(
                small_on_cluster, timed(lambda: simulate(seed_2019, 1000, 1, client=client))
            )
    small_in_process = timed(lambda: simulate(seed_2019, 1000, 1), repeat=3)
    return {
        "dask_2_workers_speedup": in_process / on_cluster,
        "dask_replications": replications,
        "dask_small_run_overhead_seconds": small_on_cluster - small_in_process,
    }


def uniforms_drawn(scenario: Scenario, replications: int) -> float:
    """Uniforms the engine draws per replication of a scenario (it counts them)."""
    lanes = Lanes.start(
        [compile_scenario(scenario)],
        1,
        np.zeros(replications, dtype=np.int64),
        np.arange(replications),
        daily=False,
    )
    lanes.run()
    return float(lanes.keys.uniforms.sum() / replications)


def sampler_costs() -> dict[str, float]:
    """Nanoseconds per binomial draw (p = 0.3) by number of trials: small counts walk from
    zero, large ones start next to the answer with the CDF in closed form (sampling.py)."""
    rng = np.random.default_rng(3)
    uniforms = rng.random(100_000)
    figures = {}
    for trials in (20, 1_000, 1_000_000, 100_000_000):
        counts = np.full(len(uniforms), trials)
        binomial(counts[:10], 0.3, uniforms[:10])  # compile
        seconds = timed(lambda counts=counts: binomial(counts, 0.3, uniforms), repeat=3)
        figures[f"binomial_ns_at_{trials}_trials"] = 1e9 * seconds / len(uniforms)
    return figures


def morris_seconds(seed_2019: Scenario) -> dict[str, float]:
    """``fieldcast sensitivity`` as the README runs it (Morris, 10 trajectories, 200
    replications per point, all cores), in this process (interpreter start not counted)."""
    run_sensitivity(seed_2019, "morris", samples=2, replications=10, processes=CORES)  # warm
    seconds = timed(lambda: run_sensitivity(seed_2019, "morris", processes=CORES))
    return {"morris_seed_seconds": seconds}


def lane_overhead(seed_2019: Scenario, quick: bool) -> dict[str, float]:
    """10,000 lanes each with its own draw of five parameters (one parameter set per lane)
    against 10,000 replications of the scenario itself, in one process."""
    lanes_count = 2000 if quick else 10_000
    compiled = compile_scenario(seed_2019)
    rng = np.random.default_rng(7)
    draws = {
        "p_contact": rng.uniform(0.2, 0.45, lanes_count),
        "p_arrest": rng.uniform(0.45, 0.75, lanes_count),
        "p_address_valid": rng.uniform(0.4, 0.7, lanes_count),
        "p_detain": rng.uniform(0.3, 0.7, lanes_count),
        "p_comply": rng.uniform(0.1, 0.4, lanes_count),
    }
    table = parameter_table_with(compiled, draws)

    def own_parameters() -> None:
        lanes = Lanes.start(
            [compiled], 1, np.arange(lanes_count), np.arange(lanes_count), daily=False, table=table
        )
        lanes.run()

    def one_scenario() -> None:
        lanes = Lanes.start(
            [compiled],
            1,
            np.zeros(lanes_count, dtype=np.int64),
            np.arange(lanes_count),
            daily=False,
        )
        lanes.run()

    one_scenario()
    own_parameters()
    own, one = timed_in_turn(own_parameters, one_scenario)
    return {"lane_overhead_ratio": own / one}


def pause_resume_overhead(seed_2019: Scenario, quick: bool) -> dict[str, float]:
    """A seed-2019 batch stopped at the end of the day before the operation and of every
    field day, then resumed, against the same batch run straight through."""
    lanes_count = 1000 if quick else 5000
    compiled = compile_scenario(seed_2019)
    field_days = seed_2019.operation.field_days

    def batch(pausable: bool) -> Lanes:
        return Lanes.start(
            [compiled], 1, np.zeros(lanes_count, dtype=np.int64), np.arange(lanes_count),
            pausable=pausable,
        )  # fmt: skip

    def straight() -> None:
        batch(False).run()

    def paused() -> None:
        lanes = batch(True)
        for day in range(-1, field_days):
            lanes.run_until(day)
        lanes.run_until()

    straight()
    paused()
    paused_time, straight_time = timed_in_turn(paused, straight)
    return {"pause_resume_overhead_ratio": paused_time / straight_time}


CALIBRATED = (
    "city_defaults.p_contact",
    "city_defaults.p_arrest_given_contact",
    "city_defaults.p_detain",
    "leak.p_alert_move",
    "detention.p_relief",
    "notice.p_comply",
)


def calibration_seconds(seed_2019: Scenario, quick: bool) -> dict[str, float]:
    """``fieldcast calibrate`` of six seed-2019 assumptions to a synthetic 7-day observation
    of every city (arrests, collateral arrests, detentions, notices; made with p_contact 0.4
    and p_detain 0.6), 2,000 particles to an ESS of 1,000 at every step, all cores."""
    truth = scenario_with(seed_2019, ["city_defaults.p_contact=0.4", "city_defaults.p_detain=0.6"])
    metrics = ("arrests", "collateral_arrests", "detentions", "notices")
    observed = synthetic_observations(truth, 6, seed=7, metrics=metrics)
    particles = 400 if quick else 2000
    settings = Settings(particles=particles, target_ess=particles // 2, parameters=CALIBRATED)
    calibrate(seed_2019, observed, "bench", Settings(particles=20, target_ess=10), CORES)  # warm
    started = time.perf_counter()
    run = calibrate(seed_2019, observed, "bench", settings, CORES)
    seconds = time.perf_counter() - started
    assert run.converged
    return {
        "calibrate_seed_seconds": seconds,
        "calibrate_seed_generations": len(run.generations) - 1,
        "calibrate_seed_simulations": run.last.simulations,
    }


def nowcast_update_seconds(seed_2019: Scenario, quick: bool) -> dict[str, float]:
    """``fieldcast forecast seed-2019 --observed`` with one more day of counts (arrests and
    detentions of every city, made with p_contact 0.4 and p_detain 0.7): the stored filter of
    days 0 to 5 read, day 6 filtered, the forecast before and after, the new filter stored.
    In this process; the command line uses every core, which on two cores makes an update
    of one day about as fast (docs/performance.md, "An observed day in one task per
    chunk")."""
    truth = scenario_with(seed_2019, ["city_defaults.p_contact=0.4", "city_defaults.p_detain=0.7"])
    observed = synthetic_observations(truth, 6, seed=7, metrics=("arrests", "detentions"))
    first = ObservationSet(tuple(row for row in observed.rows if row.day <= 5))
    particles = 2000 if quick else 10_000
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "bench.duckdb")
        model = tracked_model(seed_2019)
        store.add_tracking(track(seed_2019, first, "bench", particles, 2019), "bench")
        started = time.perf_counter()
        _, stored = store.latest_filter(model, "bench", particles, 2019)  # type: ignore[misc]
        tracking = track(seed_2019, observed, "bench", particles, 2019, stored=stored)
        store.add_tracking(tracking, "bench")
        seconds = time.perf_counter() - started
    assert tracking.updated_from == 5
    return {
        "nowcast_update_seconds": seconds,
        "nowcast_update_min_ess": min(step.ess for step in tracking.state.steps),
    }


def first_forecast_seconds() -> dict[str, float]:
    """What the first forecast on a fresh machine costs: ``fieldcast forecast seed-2019 -n
    100`` in a fresh process with an empty numba cache (numba compiles the engine), then the
    same again with the cache it filled. No target: reported so that the README's figure for
    the first run comes from here."""
    fieldcast = str(Path(sys.executable).parent / "fieldcast")
    command = [fieldcast, "forecast", "seed-2019", "-n", "100", "--json", "--no-store"]
    times = []
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(
                command,
                check=True,
                capture_output=True,
                env={**os.environ, "NUMBA_CACHE_DIR": cache},
            )
            times.append(time.perf_counter() - started)
    return {"first_forecast_seconds": times[0], "cached_forecast_seconds": times[1]}


def cli_start_seconds() -> dict[str, float]:
    """The commands a user runs first: wall time of a fresh process, median of five (the
    first run of each is a warm-up: the operating system's file cache)."""
    fieldcast = str(Path(sys.executable).parent / "fieldcast")
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "seed-2019.toml"
        exported = subprocess.run(
            [fieldcast, "scenario", "export", "seed-2019"], check=True, capture_output=True
        )
        scenario.write_bytes(exported.stdout)
        figures = {}
        for key, arguments in (
            ("cli_help_seconds", ["--help"]),
            ("scenario_validate_seconds", ["scenario", "validate", str(scenario)]),
        ):
            times = []
            for _ in range(6):
                started = time.perf_counter()
                subprocess.run([fieldcast, *arguments], check=True, capture_output=True)
                times.append(time.perf_counter() - started)
            figures[key] = float(np.median(times[1:]))
    return figures


def benchmarks(quick: bool) -> dict[str, Callable[[], dict[str, Any]]]:
    """The benchmarks by name, in the order ``make bench`` runs them; ``--only NAME`` runs
    some alone (the machine's speed drifts, and a figure is sometimes wanted again)."""
    seed_2019 = load_scenario("seed-2019")
    national = load_scenario("national")

    def default_10k() -> dict[str, float]:
        simulate(seed_2019, 100, 1, processes=CORES)  # warm the workers' JIT cache
        replications = 2000 if quick else 10_000
        seconds = timed(lambda: simulate(seed_2019, replications, 1, processes=CORES))
        return {"default_10k_seconds": seconds * 10_000 / replications}

    def national_1k() -> dict[str, float]:
        replications = 100 if quick else 1000
        seconds = timed(lambda: simulate(national, replications, 1, processes=CORES))
        return {
            "national_1k_seconds": seconds * 1000 / replications,
            "uniforms_per_national_replication": uniforms_drawn(national, 10),
        }

    return {
        "speedup": lambda: speedup_vs_reference(seed_2019, quick),
        "rng_floor": lambda: rng_floor(seed_2019) | sampler_costs(),
        "default_10k": default_10k,
        "national_1k": national_1k,
        "population_scaling": lambda: population_scaling(seed_2019, quick),
        "dask": lambda: dask_speedup(seed_2019, quick),
        "morris": lambda: morris_seconds(seed_2019),
        "lanes": lambda: lane_overhead(seed_2019, quick) | pause_resume_overhead(seed_2019, quick),
        "calibration": lambda: (
            calibration_seconds(seed_2019, quick) | nowcast_update_seconds(seed_2019, quick)
        ),
        "cli": cli_start_seconds,
        "first_forecast": first_forecast_seconds,
        "peak_memory": lambda: peak_rss_mb(10_000 if quick else 100_000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", help="where to write the figures (default: bench.json, and nowhere with --only)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer replications (a smoke run)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    args = parser.parse_args()
    named = benchmarks(args.quick)
    chosen = args.only or list(named)
    unknown = sorted(set(chosen) - set(named))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(named)}")
    out = args.out or (None if args.only else "bench.json")
    console = Console()
    figures: dict[str, Any] = {}
    for name in chosen:
        console.print(f"{name} ...")
        figures |= named[name]()

    figures["machine"] = {
        "cores": CORES,
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "quick": args.quick,
    }
    if out is not None:
        Path(out).write_text(json.dumps(figures, indent=2) + "\n")

    table = Table(title=f"fieldcast benchmarks ({CORES} cores{', quick' if args.quick else ''})")
    for column in ("key", "what", "measured", "target", "met"):
        table.add_column(column)
    for key, (what, target, sense) in TARGETS.items():
        if key not in figures:
            continue
        value = figures[key]
        met = value >= target if sense == "min" else value <= target
        bound = ">=" if sense == "min" else "<="
        table.add_row(key, what, f"{value:,.2f}", f"{bound} {target:,}", "yes" if met else "NO")
    console.print(table)
    if out is not None:
        console.print(f"written to {out}")


if __name__ == "__main__":
    main()
