"""A real ``fieldcast serve`` for the tests that need one (jobs run by worker processes, a
browser): started on a free loopback port, waited for, and its processes found."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

FIELDCAST = str(Path(sys.executable).parent / "fieldcast")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(tmp_path: Path, port: int, workers: int = 2, queue: int = 20) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            FIELDCAST,
            "serve",
            "--port",
            str(port),
            "--store",
            str(tmp_path / "runs.duckdb"),
            "--job-workers",
            str(workers),
            "--queue-size",
            str(queue),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/scenarios", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"the server did not start: {server.communicate()[1]}")


# A loaded server answers late, not never: while a job worker writes a run the store file is
# held and a request waits for it (up to the store's own wait, 120 s), so the tests give every
# call that long rather than httpx's default 5 s.
API_TIMEOUT = 120.0


def api_get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=API_TIMEOUT)


def api_post(url: str, **arguments: object) -> httpx.Response:
    return httpx.post(url, timeout=API_TIMEOUT, **arguments)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def session_processes(session: int) -> list[int]:
    """Processes of a session still alive (the server's and its workers')."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == session:
                    alive.append(int(entry.name))
            except ProcessLookupError:
                continue
    return alive
