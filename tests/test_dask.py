"""Runs on Dask distributed give the same bytes as in-process runs: with local clusters, with a
real scheduler and workers started here on 127.0.0.1, when a worker is killed mid-run, and a
cancelled run leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster

from fieldcast.replications import BAND_REPLICATION_COST, balanced_chunk_sizes, simulate_many

BIN = Path(sys.executable).parent
FORECAST = ("forecast", "seed-2019-as-executed", "--json", "--no-store", "--seed", "4")


def fieldcast(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(BIN / "fieldcast"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def in_process() -> str:
    return fieldcast(*FORECAST, "-n", "2500", "--processes", "1")


@pytest.fixture
def cluster() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A real `dask scheduler` and two `dask worker` processes (no nanny, one thread each)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [
            str(BIN / "dask"),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        **quiet,
    )
    workers = [
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ],
            **quiet,
        )
        for _ in range(2)
    ]
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=60)
    yield address, workers
    for process in [*workers, scheduler]:
        process.kill()
        process.wait()


def test_local_clusters_give_the_same_bytes(in_process: str) -> None:
    assert fieldcast(*FORECAST, "-n", "2500", "--workers", "1") == in_process
    assert fieldcast(*FORECAST, "-n", "2500", "--workers", "2") == in_process


def test_a_cluster_gets_chunks_of_equal_cost() -> None:
    """On a cluster the first replications (the band sample) cost more: its chunks are cut to
    equal cost, so the first chunk is shorter; a band spanning chunks is cut inside. (The
    forecasts above, 2,500 replications on two workers, run such a cut: [375, 375, 625, 1125].)
    """
    for replications, chunks, band in ((100_000, 4, 1000), (2500, 4, 1000), (7, 3, 0)):
        sizes = balanced_chunk_sizes(replications, chunks, band)
        assert len(sizes) == chunks and sum(sizes) == replications
        cost = np.where(np.arange(replications) < band, BAND_REPLICATION_COST, 1)
        costs = [part.sum() for part in np.split(cost, np.cumsum(sizes)[:-1])]
        assert max(costs) - min(costs) <= BAND_REPLICATION_COST, (sizes, costs)
    assert balanced_chunk_sizes(2500, 4, 1000) == [375, 375, 625, 1125]
    assert balanced_chunk_sizes(100_000, 4, 1000) == [23_500, 25_500, 25_500, 25_500]
    with pytest.raises(ValueError, match="cannot cut 3 replications into 4 chunks"):
        balanced_chunk_sizes(3, 4, 0)


def test_an_existing_cluster_gives_the_same_bytes(
    in_process: str, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    address, _ = cluster
    assert fieldcast(*FORECAST, "-n", "2500", "--scheduler", address) == in_process
    assert fieldcast(*FORECAST, "-n", "2500", env={"FIELDCAST_SCHEDULER": address}) == in_process


def test_a_worker_killed_mid_run_changes_nothing(
    cluster: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    address, workers = cluster
    arguments = (*FORECAST, "-n", "6000")
    expected = fieldcast(*arguments, "--processes", "2")
    run = subprocess.Popen(
        [str(BIN / "fieldcast"), *arguments, "--scheduler", address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with Client(address) as observer:  # kill a worker once it has work in hand
        deadline = time.monotonic() + 120
        while not any(observer.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        workers[0].kill()
        workers[0].wait()
    output, errors = run.communicate(timeout=600)
    assert run.returncode == 0, errors
    assert output == expected


def test_interrupting_a_run_cancels_its_work_and_stores_nothing(tmp_path: Path) -> None:
    from fieldcast.catalog import load_scenario

    scenario = load_scenario("seed-2019")
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as local,
        Client(local) as client,
    ):

        def interrupt(done: float, total: int) -> None:
            if done >= 1:  # a task's worth done (parts of running ones included)
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            simulate_many([scenario], 12_000, 1, progress=interrupt, client=client)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
            if left == 0:
                break
            time.sleep(0.1)
        assert left == 0, f"{left} tasks still on the cluster after the interrupt"

    store = tmp_path / "runs.duckdb"
    run = subprocess.Popen(
        [
            str(BIN / "fieldcast"),
            "forecast",
            "national",  # about a minute and a half on two workers: still running at 8 s
            "-n",
            "5000",
            "--workers",
            "2",
            "--store",
            str(store),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(8)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=120)
    assert run.returncode != 0
    assert (
        not store.exists() or fieldcast("runs", "list", "--json", "--store", str(store)) == "[]\n"
    )


def test_workers_given_win_over_the_scheduler_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FIELDCAST_SCHEDULER is a default: ``--workers`` given starts a local cluster even where
    it is set (here to an address nothing listens on: used, it would fail after 30 s), and both
    given explicitly are refused rather than one silently dropped."""
    from fieldcast.workers import SCHEDULER_ENVIRONMENT, dask_client

    monkeypatch.setenv(SCHEDULER_ENVIRONMENT, f"tcp://127.0.0.1:{free_port()}")
    with dask_client(1, None) as client:
        assert client is not None and len(client.scheduler_info()["workers"]) == 1
    with pytest.raises(ValueError, match="give --workers"), dask_client(1, "tcp://127.0.0.1:1"):
        pass
