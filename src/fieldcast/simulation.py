"""Running replications: split into fixed-size chunks, computed in-process or on local processes.

A run of R replications is always cut into the same chunks (``CHUNK_SIZE`` replications each,
the last one shorter), and chunk i always draws from the seed's i-th spawned stream. Which
process computes a chunk, and when, changes nothing: chunks are merged in index order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from fieldcast.engine import CompiledScenario, compile_scenario, simulate_chunk
from fieldcast.recording import ChunkOutput
from fieldcast.results import Results, ResultsBuilder
from fieldcast.scenario import Scenario

CHUNK_SIZE = 1000  # replications per chunk; part of what makes results reproducible
BAND_SAMPLE = 1000  # replications (the first ones) whose daily totals give the daily bands
TRAJECTORY_SAMPLE = 10  # replications (the first ones) kept whole

Progress = Callable[[int, int], None]  # (chunks done, chunks in all)


def chunk_sizes(replications: int, chunk_size: int = CHUNK_SIZE) -> list[int]:
    """Replications per chunk: full chunks, then the remainder."""
    if replications < 1:
        raise ValueError(f"replications must be at least 1, got {replications}")
    full, rest = divmod(replications, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def _run_chunk(plan: CompiledScenario, seed: int, index: int, size: int) -> ChunkOutput:
    sample = index == 0
    return simulate_chunk(
        plan,
        seed,
        index,
        size,
        band_sample=BAND_SAMPLE if sample else 0,
        trajectory_sample=TRAJECTORY_SAMPLE if sample else 0,
    )


def simulate_many(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    processes: int = 1,
    progress: Progress | None = None,
) -> list[Results]:
    """Run several scenarios with the same seed (common random numbers) and replications."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    plans = [compile_scenario(scenario) for scenario in scenarios]
    sizes = chunk_sizes(replications)
    builders = [ResultsBuilder(plan, seed, sizes) for plan in plans]
    tasks = [(p, i, size) for p in range(len(plans)) for i, size in enumerate(sizes)]
    done = 0
    if progress:
        progress(done, len(tasks))
    if processes == 1:
        for p, i, size in tasks:
            builders[p].add(i, _run_chunk(plans[p], seed, i, size))
            done += 1
            if progress:
                progress(done, len(tasks))
    else:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            futures = {
                pool.submit(_run_chunk, plans[p], seed, i, size): (p, i) for p, i, size in tasks
            }
            for future in as_completed(futures):
                p, i = futures.pop(future)
                builders[p].add(i, future.result())
                done += 1
                if progress:
                    progress(done, len(tasks))
    return [builder.build() for builder in builders]


def simulate(
    scenario: Scenario,
    replications: int,
    seed: int,
    processes: int = 1,
    progress: Progress | None = None,
) -> Results:
    """Run one scenario."""
    return simulate_many([scenario], replications, seed, processes, progress)[0]
