"""Running replications: cut into chunks, computed in this process, on local processes or on a
Dask cluster (``workers.py``).

A run of R replications is cut into chunks (``work_split``: enough for every worker, at most
``CHUNK_SIZE`` replications each, or ``CLUSTER_CHUNK_SIZE`` for a forecast on a Dask cluster,
there of about equal cost: ``balanced_chunk_sizes``).
Every replication's random numbers are keyed by its index (``streams.py``), so the cut does
not matter: any chunk size, and any process or worker computing any chunk in any order, gives
the same results, merged into place by replication index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from fieldcast.compiled import CompiledScenario, compile_scenario
from fieldcast.engine import Lanes, simulate_chunk
from fieldcast.metrics import FIELD_END_METRICS, MEASURES
from fieldcast.recording import TRAJECTORY_SAMPLE, ChunkOutput, band_sample_size
from fieldcast.results import Results, ResultsBuilder
from fieldcast.scenario import Scenario
from fieldcast.workers import Progress, gather, task_progress

if TYPE_CHECKING:
    from distributed import Client

Reducer = Callable[[CompiledScenario, ChunkOutput], np.ndarray]

CHUNK_SIZE = 1000  # at most this many lanes per chunk (memory per task stays small)
SMALLEST_CHUNK = 50  # at least this many (a task has a fixed cost of a few milliseconds)
# A forecast on a Dask cluster: every chunk's output travels to the client (1 MB of daily
# sums whatever the chunk's size, and about 0.7 KB per replication), and the client and
# scheduler may share the workers' cores, so fewer, larger chunks: two per worker, at most
# this many replications (100,000 replications of seed-2019 on two local workers ran 1.3 to
# 1.5 times as fast as in one process in chunks of 1,000, 1.7 to 1.8 in chunks of 25,000;
# docs/performance.md).
CLUSTER_CHUNK_SIZE = 25_000
# What a band replication (``recording.band_sample_size``: it keeps its daily path and
# records its every day) costs, in plain replications: seed-2019's first 1,000 replications
# took 3.0 to 3.2 times as long as the next 1,000 (benchmarks/dask_chunks.py).
BAND_REPLICATION_COST = 3


def chunk_sizes(replications: int, chunk_size: int = CHUNK_SIZE) -> list[int]:
    """Replications per chunk: full chunks, then the remainder."""
    if replications < 1:
        raise ValueError(f"replications must be at least 1, got {replications}")
    full, rest = divmod(replications, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def balanced_chunk_sizes(replications: int, chunks: int, band: int) -> list[int]:
    """Replications per chunk for ``chunks`` chunks of about equal cost, the first ``band``
    replications counting ``BAND_REPLICATION_COST`` each: on a cluster, with a few large
    chunks, a first chunk as long as the others is the slowest (seed-2019's 1,000 band
    replications take about 0.12 s more than 1,000 others: benchmarks/dask_chunks.py; a
    chunk of 25,000 takes about 1.4 s)."""
    cost = np.ones(replications)
    cost[:band] = BAND_REPLICATION_COST
    cumulative = np.cumsum(cost)
    ends = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, chunks) / chunks) + 1
    sizes = np.diff([0, *ends, replications])
    if chunks > replications or (sizes < 1).any():
        raise ValueError(f"cannot cut {replications} replications into {chunks} chunks")
    return [int(size) for size in sizes]


def work_split(
    lanes: int,
    processes: int = 1,
    client: Client | None = None,
    per_worker: int = 4,
    largest: int = CHUNK_SIZE,
) -> int:
    """Lanes per chunk for this many lanes on these workers: about ``per_worker`` chunks per
    worker, so that all of them stay busy to the end, within [SMALLEST_CHUNK, largest]. Only
    the speed depends on it: results are the same for any chunk size."""
    workers = processes if client is None else max(len(client.nthreads()), 1)
    wanted = -(-lanes // (per_worker * workers))  # ceiling
    return min(largest, max(SMALLEST_CHUNK, wanted))


def _run_chunk(compiled: CompiledScenario, seed: int, first: int, size: int) -> ChunkOutput:
    return simulate_chunk(
        compiled,
        seed,
        first,
        size,
        band_sample=band_sample_size(compiled.day_count),
        trajectory_sample=TRAJECTORY_SAMPLE,
        progress=task_progress,
    )


def _firsts(sizes: list[int]) -> list[int]:
    """The first replication of each chunk."""
    return [int(first) for first in np.cumsum([0, *sizes[:-1]])]


def simulate_many(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    processes: int = 1,
    progress: Progress | None = None,
    client: Client | None = None,
    chunk_size: int | None = None,
    keep_horizon: Sequence[bool] | None = None,
) -> list[Results]:
    """Run several scenarios with the same seed (common random numbers) and replications,
    in this process, on ``processes`` local processes, or on a Dask ``client``'s cluster.
    ``chunk_size`` (default: ``work_split``; on a cluster, chunks of about equal cost,
    ``balanced_chunk_sizes``) changes how the work is cut, never the results.
    ``keep_horizon[i] = False`` keeps scenario i's per-replication values at the end of field
    work only."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    compiled = [compile_scenario(scenario) for scenario in scenarios]
    if chunk_size is not None:
        sizes = chunk_sizes(replications, chunk_size)
    elif client is None:
        sizes = chunk_sizes(replications, work_split(replications, processes))
    else:
        size = work_split(replications, client=client, per_worker=2, largest=CLUSTER_CHUNK_SIZE)
        band = max(band_sample_size(one.day_count) for one in compiled)
        sizes = balanced_chunk_sizes(replications, -(-replications // size), band)
    keep = [True] * len(compiled) if keep_horizon is None else list(keep_horizon)
    builders = [
        ResultsBuilder(one, seed, sizes, kept) for one, kept in zip(compiled, keep, strict=True)
    ]
    tasks = [
        (one, seed, first, size)
        for one in compiled
        for first, size in zip(_firsts(sizes), sizes, strict=True)
    ]

    def receive(index: int, output: ChunkOutput) -> None:
        builders[index // len(sizes)].add(index % len(sizes), output)

    gather(_run_chunk, tasks, receive, processes, client, progress)
    return [builder.build() for builder in builders]


def _lane_values(
    compiled: Sequence[CompiledScenario],
    offsets: Sequence[int],
    seed: int,
    first: int,
    size: int,
    reduce: Reducer,
) -> list[np.ndarray]:
    """Replications first .. first + size - 1 of several parameter sets (one structure) as
    lanes of one batch, each set's replication indices shifted by its offset; ``reduce`` per
    set."""
    lanes = Lanes.start(
        compiled,
        seed,
        parameter_set=np.repeat(np.arange(len(compiled)), size),
        replication=np.repeat(np.asarray(offsets, dtype=np.int64), size)
        + np.tile(np.arange(first, first + size), len(compiled)),
        daily=False,
    )
    lanes.run(task_progress)
    return [reduce(one, output) for one, output in zip(compiled, lanes.outputs(), strict=True)]


def replication_values(
    scenarios: Sequence[Scenario],
    replications: int,
    seed: int,
    reduce: Reducer,
    processes: int = 1,
    progress: Progress | None = None,
    client: Client | None = None,
    first_replications: Sequence[int] | None = None,
) -> list[np.ndarray]:
    """Per-replication values of several scenarios run with the same seed: ``reduce(compiled,
    chunk)`` gives [..., replication] for one chunk, where the chunk ran. Unlike
    ``simulate_many`` nothing else is kept (no daily bands, no trajectories), so searches can
    run many scenarios at once. ``reduce`` must be a module-level function (it is pickled).

    By default every scenario runs replications 0 .. replications - 1, so that they share
    their random numbers (common random numbers: differences are the scenarios' doing);
    ``first_replications`` gives each scenario its own first index instead (draws from a
    distribution of scenarios, whose lanes must not share their noise).

    Scenarios that share their structure run as lanes of shared batches (several scenarios'
    replications in one compiled loop, ``work_split`` lanes each); a replication's numbers do
    not depend on its batch, so the values are those of separate runs, to the bit."""
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    batch = work_split(replications * len(scenarios), processes, client)
    sizes = chunk_sizes(replications, min(batch, replications))
    compiled = [compile_scenario(scenario) for scenario in scenarios]
    offsets = list(first_replications) if first_replications is not None else [0] * len(compiled)
    if len(offsets) != len(compiled):
        raise ValueError(f"first_replications: {len(offsets)} values for {len(compiled)} scenarios")
    by_structure: dict[object, list[int]] = {}
    for index, one in enumerate(compiled):
        by_structure.setdefault(one.structure, []).append(index)
    tasks, owners = [], []
    for members in by_structure.values():
        for chunk, (first, size) in enumerate(zip(_firsts(sizes), sizes, strict=True)):
            per_task = max(1, batch // size)
            for start in range(0, len(members), per_task):
                block = members[start : start + per_task]
                tasks.append(
                    (
                        [compiled[i] for i in block],
                        [offsets[i] for i in block],
                        seed,
                        first,
                        size,
                        reduce,
                    )
                )
                owners.append((block, chunk))
    parts: list[list[np.ndarray | None]] = [[None] * len(sizes) for _ in compiled]

    def receive(index: int, values: list[np.ndarray]) -> None:
        block, chunk = owners[index]
        for scenario_index, value in zip(block, values, strict=True):
            parts[scenario_index][chunk] = value

    gather(_lane_values, tasks, receive, processes, client, progress)
    return [np.concatenate(chunks, axis=-1) for chunks in parts]  # type: ignore[arg-type]


def persons_arrested(compiled: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
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
    chunk_size: int | None = None,
) -> Results:
    """Run one scenario: its replications, cut into chunks, in this process, on local processes
    or on a Dask cluster.

    Parameters
    ----------
    scenario : Scenario
        The operation.
    replications : int
        How many replications.
    seed : int
        Run seed: the same seed gives the same results, however the work is split.
    processes : int
        Local processes (1: this process).
    progress : callable, optional
        Called with (chunks done, chunks in all).
    client : distributed.Client, optional
        A Dask client whose cluster runs the chunks.
    chunk_size : int, optional
        Replications per chunk (default: ``work_split``); it changes how the work is cut,
        never the results.

    Returns
    -------
    Results
    """
    return simulate_many([scenario], replications, seed, processes, progress, client, chunk_size)[0]


def simulate_one(
    scenario: Scenario, seed: int, replication: int
) -> tuple[ChunkOutput, CompiledScenario]:
    """Replication ``replication`` of a run of ``scenario`` with ``seed``, alone, with its
    daily path (its trajectory), and the compiled scenario it ran (its days, its officers)."""
    compiled = compile_scenario(scenario)
    kept = replication + 1  # samples keep the replications with an index below this
    chunk = simulate_chunk(compiled, seed, replication, 1, band_sample=kept, trajectory_sample=kept)
    return chunk, compiled
