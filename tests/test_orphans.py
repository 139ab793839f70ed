"""A run killed outright (SIGKILL: no clean-up runs) leaves no worker process behind, on
local processes or on a local Dask cluster (workers.die_with_parent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

FIELDCAST = str(Path(sys.executable).parent / "fieldcast")


def _workers(pid: int, wanted: int, seconds: float = 120.0) -> list[psutil.Process]:
    """The process's descendants, once at least ``wanted`` of them run (or the time is up)."""
    deadline = time.monotonic() + seconds
    found: list[psutil.Process] = []
    while time.monotonic() < deadline:
        found = psutil.Process(pid).children(recursive=True)
        if len(found) >= wanted:
            return found
        time.sleep(0.2)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("where", [["--processes", "2"], ["--workers", "2"]])
def test_a_killed_run_leaves_no_worker_behind(tmp_path: Path, where: list[str]) -> None:
    run = subprocess.Popen(
        [FIELDCAST, "forecast", "seed-2019", "-n", "400000", "--no-store", *where],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        workers = _workers(run.pid, 2)
        assert len(workers) >= 2, "the run never started its workers"
        time.sleep(2.0)  # the workers are computing
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"left running: {[(p.pid, p.name()) for p in alive]}"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
