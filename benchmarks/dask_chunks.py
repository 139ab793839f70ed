"""Where a forecast on two local Dask workers loses time against one process, in parts
(docs/performance.md, "Dask runs"); seconds, best of ``--rounds``, timed in turn:

    .venv/bin/python benchmarks/dask_chunks.py --rounds 5

* **Band replications.** The first replications of a run (``recording.band_sample_size``)
  keep their daily path and record every day: 1,000 of them against the next 1,000, in this
  process. Their ratio is what ``replications.BAND_REPLICATION_COST`` rounds.
* **Progress events.** Two 25,000-replication chunks of seed-2019 at once, one per worker,
  sending no progress, sending an event for every part of the chunk (``engine.PROGRESS_STEPS``
  a chunk, as before ``workers.EVENT_SECONDS``), and as ``workers._reporting_on_dask`` sends
  them now (at most one every ``EVENT_SECONDS``).
* **The cut.** 100,000 replications of seed-2019 on the cluster in four chunks of 25,000
  (``chunk_size=25_000``) and in four of equal cost (the default on a cluster,
  ``replications.balanced_chunk_sizes``), and in this process.
* **Single rounds** of ``dask_2_workers_speedup`` (``benchmarks/run.py``): 100,000
  replications in this process, then on a fresh cluster, the ratio, each chunk's time on
  its worker (Dask's task stream) and the time after the last chunk ended (its output's
  transfer and the results' build in the client).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from distributed import get_task_stream

from fieldcast.catalog import load_scenario
from fieldcast.compiled import CompiledScenario, compile_scenario
from fieldcast.engine import simulate_chunk
from fieldcast.recording import TRAJECTORY_SAMPLE, band_sample_size
from fieldcast.replications import simulate
from fieldcast.workers import _reporting_on_dask, dask_client, task_progress

CHUNK = 25_000
TOPIC = "dask-chunks-benchmark"


def chunk_seconds(compiled: CompiledScenario, first: int, size: int, progress: bool) -> float:
    """One chunk as a forecast runs it (``replications._run_chunk``), timed where it runs."""
    started = time.perf_counter()
    simulate_chunk(
        compiled,
        1,
        first,
        size,
        band_sample=band_sample_size(compiled.day_count),
        trajectory_sample=TRAJECTORY_SAMPLE,
        progress=task_progress if progress else None,
    )
    return time.perf_counter() - started


def quiet(compiled: CompiledScenario, first: int, size: int) -> float:
    """``chunk_seconds`` sending no progress."""
    return chunk_seconds(compiled, first, size, False)


def every_part(compiled: CompiledScenario, first: int, size: int) -> float:
    """``chunk_seconds`` with an event sent for every part, as before ``EVENT_SECONDS``."""
    from distributed import get_worker

    from fieldcast import workers  # this script's functions go to the workers by value

    worker = get_worker()
    workers._current.report = lambda fraction: worker.log_event(TOPIC, (first, fraction))
    try:
        return chunk_seconds(compiled, first, size, True)
    finally:
        del workers._current.report


def throttled(compiled: CompiledScenario, first: int, size: int) -> float:
    """``chunk_seconds`` with its events sent as a forecast's are (``_reporting_on_dask``)."""
    return _reporting_on_dask(TOPIC, first, chunk_seconds, compiled, first, size, True)


def best(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    scenario = load_scenario("seed-2019")
    compiled = compile_scenario(scenario)
    band = band_sample_size(compiled.day_count)
    chunk_seconds(compiled, 0, 100, False)  # compile
    band_seconds = best(lambda: chunk_seconds(compiled, 0, band, False), rounds)
    plain_seconds = best(lambda: chunk_seconds(compiled, band, band, False), rounds)
    print(
        f"{band:,} band replications {band_seconds:.3f} s, the next {band:,} "
        f"{plain_seconds:.3f} s: {band_seconds / plain_seconds:.2f} times"
    )
    simulate(scenario, 2000, 1)
    in_process = best(lambda: simulate(scenario, 4 * CHUNK, 1), rounds)
    with dask_client(workers=2, scheduler=None) as client:
        assert client is not None
        client.subscribe_topic(TOPIC, lambda event: None)
        simulate(scenario, 2000, 1, client=client)  # both workers warm

        def two_chunks(function: Callable[[CompiledScenario, int, int], float]) -> float:
            """The slower of two chunks run at once, one on each worker."""
            futures = [
                client.submit(function, compiled, i * CHUNK, CHUNK, pure=False) for i in (1, 2)
            ]
            return max(future.result() for future in futures)

        ways = {
            "no progress": quiet,
            "an event every part": every_part,
            "at most one every EVENT_SECONDS": throttled,
        }
        chunk_best = dict.fromkeys(ways, float("inf"))
        run_best = {"four chunks of 25,000": float("inf"), "four of equal cost": float("inf")}
        for _ in range(rounds):
            for name, way in ways.items():
                chunk_best[name] = min(chunk_best[name], two_chunks(way))
            for name, size in zip(run_best, (CHUNK, None), strict=True):
                started = time.perf_counter()
                simulate(scenario, 4 * CHUNK, 1, client=client, chunk_size=size)
                run_best[name] = min(run_best[name], time.perf_counter() - started)
    print("single rounds: in process, on a fresh cluster, ratio; chunks; after the last")
    for _ in range(rounds):
        round_in_process = best(lambda: simulate(scenario, 4 * CHUNK, 1), 1)
        with dask_client(workers=2, scheduler=None) as client, get_task_stream(client) as stream:
            simulate(scenario, 2000, 1, client=client)
            started = time.time()
            simulate(scenario, 4 * CHUNK, 1, client=client)
            ended = time.time()
        computes = [
            part for task in stream.data for part in task["startstops"] if part["stop"] > started
        ]
        chunks = sorted(part["stop"] - part["start"] for part in computes)
        after = ended - max(part["stop"] for part in computes)
        print(
            f"  {round_in_process:.2f} s, {ended - started:.2f} s,"
            f" {round_in_process / (ended - started):.3f};"
            f" {', '.join(f'{seconds:.2f}' for seconds in chunks)} s; {after:.3f} s"
        )
    print("two chunks of 25,000 at once, the slower one's seconds:")
    for name, seconds in chunk_best.items():
        print(f"  {name}: {seconds:.3f} s")
    print(f"100,000 replications: in this process {in_process:.2f} s; on two workers:")
    for name, seconds in run_best.items():
        print(f"  {name}: {seconds:.2f} s ({in_process / seconds:.3f} times as fast)")


if __name__ == "__main__":
    main()
