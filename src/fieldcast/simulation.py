"""Running replications: split into fixed-size chunks, computed in this process, on local
processes or on a Dask cluster (``workers.py``).

A run of R replications is always cut into the same chunks (``CHUNK_SIZE`` replications each,
the last one shorter), and chunk i always draws from the seed's i-th spawned stream. Which
process computes a chunk, and when, changes nothing: chunks are merged in index order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from fieldcast.engine import CompiledScenario, compile_scenario, simulate_chunk
from fieldcast.metrics import FIELD_END_METRICS, MEASURES
from fieldcast.recording import ChunkOutput
from fieldcast.results import Results, ResultsBuilder
from fieldcast.scenario import Scenario
from fieldcast.workers import Progress, gather

if TYPE_CHECKING:
    from distributed import Client

Reducer = Callable[[CompiledScenario, ChunkOutput], np.ndarray]

CHUNK_SIZE = 1000  # replications per chunk; part of what makes results reproducible
BAND_SAMPLE = 1000  # replications (the first ones) whose daily totals give the daily bands
TRAJECTORY_SAMPLE = 10  # replications (the first ones) kept whole


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
    client: Client | None = None,
) -> list[Results]:
    """Run several scenarios with the same seed (common random numbers) and replications,
    in this process, on ``processes`` local processes, or on a Dask ``client``'s cluster."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    plans = [compile_scenario(scenario) for scenario in scenarios]
    sizes = chunk_sizes(replications)
    builders = [ResultsBuilder(plan, seed, sizes) for plan in plans]
    tasks = [(plan, seed, i, size) for plan in plans for i, size in enumerate(sizes)]

    def receive(index: int, output: ChunkOutput) -> None:
        builders[index // len(sizes)].add(index % len(sizes), output)

    gather(_run_chunk, tasks, receive, processes, client, progress)
    return [builder.build() for builder in builders]


def _chunk_values(
    plan: CompiledScenario, seed: int, index: int, size: int, reduce: Reducer
) -> np.ndarray:
    return reduce(plan, simulate_chunk(plan, seed, index, size))


def replication_values(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    reduce: Reducer,
    processes: int = 1,
    progress: Progress | None = None,
    client: Client | None = None,
) -> list[np.ndarray]:
    """Per-replication values of several scenarios run with the same seed: ``reduce(plan,
    chunk)`` gives [..., replication] for one chunk, where the chunk ran. Unlike
    ``simulate_many`` nothing else is kept (no daily bands, no trajectories), so searches can
    run many scenarios at once. ``reduce`` must be a module-level function (it is pickled)."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    sizes = chunk_sizes(replications)
    plans = [compile_scenario(scenario) for scenario in scenarios]
    tasks = [(plan, seed, i, size, reduce) for plan in plans for i, size in enumerate(sizes)]
    parts: list[list[np.ndarray | None]] = [[None] * len(sizes) for _ in plans]

    def receive(index: int, values: np.ndarray) -> None:
        parts[index // len(sizes)][index % len(sizes)] = values

    gather(_chunk_values, tasks, receive, processes, client, progress)
    return [np.concatenate(chunks, axis=-1) for chunks in parts]  # type: ignore[arg-type]


def persons_arrested(plan: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
    """A reducer: target persons arrested by the end of field work, [place, replication]
    (each city, then the total)."""
    return chunk.at_field_end[:, :, FIELD_END_METRICS.index("arrests"), MEASURES.index("persons")].T


def simulate(
    scenario: Scenario,
    replications: int,
    seed: int,
    processes: int = 1,
    progress: Progress | None = None,
    client: Client | None = None,
) -> Results:
    """Run one scenario."""
    return simulate_many([scenario], replications, seed, processes, progress, client)[0]
