"""Shared helpers: small scenarios built from the default, and a chunk runner that keeps every
replication's daily values so tests can check per-day, per-replication rules."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine import simulate_chunk
from fieldcast.metrics import MEASURES, METRICS
from fieldcast.scenario import Scenario, validate_scenario

DONE_FILE = "done"  # written by tests/ahead.py when it ends: "ok", or what went wrong


def variant(base: Scenario, **changes: Any) -> Scenario:
    """The scenario with nested changes, given as dotted paths: variant(s, **{"leak.events": []}).
    Provenance and ranges are dropped (unless given). The result is validated again, as a
    user's file would be."""
    data = base.model_dump(mode="json", exclude_none=True)
    data["provenance"], data["ranges"] = {}, {}  # both name paths the changes may remove
    for path, value in changes.items():
        target = data
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        target[parts[-1]] = value
    return validate_scenario(data, source="test variant")


class Days:
    """Every replication's daily values: values(metric, measure) -> [rep, day, place]."""

    def __init__(self, scenario: Scenario, replications: int, seed: int) -> None:
        self.compiled = compile_scenario(scenario)
        self.output = simulate_chunk(
            self.compiled,
            seed,
            0,
            replications,
            band_sample=replications,
            trajectory_sample=replications,
        )
        self.days = np.arange(
            self.compiled.start_day, self.compiled.start_day + self.compiled.day_count
        )

    def values(self, metric: str, measure: str = "households") -> np.ndarray:
        trajectories = self.output.trajectories
        assert trajectories is not None
        return trajectories[:, :, :, METRICS.index(metric), MEASURES.index(measure)].astype(
            np.int64
        )

    def on_day(self, metric: str, day: int, measure: str = "households") -> np.ndarray:
        """[rep, place] on a given day number."""
        return self.values(metric, measure)[:, day - self.compiled.start_day]

    def daily_flow(self, metric: str, measure: str = "households") -> np.ndarray:
        """A flow per day (not cumulative): [rep, day, place]."""
        cumulative = self.values(metric, measure)
        return np.diff(cumulative, axis=1, prepend=0)


@pytest.fixture(scope="session")
def seed_scenario() -> Scenario:
    return load_scenario("seed-2019")


@pytest.fixture(scope="session")
def simple_scenario(seed_scenario: Scenario) -> Scenario:
    """Three cities, no leak, short horizon: fast and easy to reason about."""
    return variant(
        seed_scenario,
        **{
            "cities": [
                {"name": "A", "target_persons": 300},
                {"name": "B", "target_persons": 250},
                {"name": "C", "target_persons": 0},
            ],
            "city_overrides": {"B": {"p_detain": 0.0, "monitors": 5}},
            "leak.events": [],
            "operation.horizon_days": 60,
        },
    )


# Tests that need work done ahead (tests/ahead.py): mutants compiled, README figures computed
AHEAD_TESTS = {
    "mutants": ("test_mutants.py", None),
    "figures": ("test_readme.py", "test_the_worked_examples_figures_are_the_commands_output"),
}


AHEAD_FOLDER = "FIELDCAST_AHEAD_DIR"  # where the work ahead is done, shared by test workers
AHEAD_SECONDS = 1200  # the longest a test waits for it


def pytest_configure(config: pytest.Config) -> None:
    """The folder of the work ahead, made once for the session: by the one pytest process, or
    by the controller of parallel workers (``pytest -n 2``), which inherit its address."""
    if not hasattr(config, "workerinput"):
        folder = tempfile.mkdtemp(prefix="fieldcast-ahead-")
        os.environ[AHEAD_FOLDER] = folder
        config.ahead_folder = Path(folder)  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked ``slow``) run first and the tests that wait for the work ahead
    last. In parallel runs a long test then never starts near the end while the other test
    process has nothing left to do, and what the last tests wait for is done by then (no test
    process sits waiting while there is other work)."""
    items.sort(
        key=lambda item: (
            "ahead" in getattr(item, "fixturenames", ()),
            item.get_closest_marker("slow") is None,
        )
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the work ahead that the selected tests need, in one background process: the
    first test process to get here starts it (an atomic claim), the others find it started."""
    needed = [
        job
        for job, (file, test) in AHEAD_TESTS.items()
        if any(
            item.path.name == file and (test is None or item.name == test) for item in session.items
        )
    ]
    folder = Path(os.environ[AHEAD_FOLDER])
    if not needed:
        return
    try:
        (folder / "claimed").mkdir()
    except FileExistsError:
        return
    if "mutants" in needed:
        from mutants import write_mutants

        write_mutants(folder)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "ahead.py"), str(folder)]
        + [f"--{job}" for job in needed],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # ahead.py writes its failure to a file of the folder
    )
    (folder / "ahead.pid").write_text(str(process.pid))
    session.config.ahead_process = process  # type: ignore[attr-defined]


@pytest.fixture(scope="session", autouse=True)
def engine_compiled_once(request: pytest.FixtureRequest) -> None:
    """In parallel runs, the engine compiled by one test process while the others wait and
    then load it from numba's cache, instead of each compiling the same code at the same time
    (most of `first_forecast_seconds` of `make bench`); the background process of the work
    ahead gets the waiting core."""
    if not hasattr(request.config, "workerinput"):
        return
    with open(Path(os.environ[AHEAD_FOLDER]) / "engine.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        seed_2019 = compile_scenario(load_scenario("seed-2019"))
        simulate_chunk(seed_2019, 1, 0, 1, band_sample=1, trajectory_sample=1)


@pytest.fixture(scope="session")
def ahead() -> Path:
    """The folder of the work done ahead, once it is done (a failure is the test's)."""
    folder = Path(os.environ[AHEAD_FOLDER])
    deadline = time.monotonic() + AHEAD_SECONDS
    while not (folder / DONE_FILE).exists():
        pid_file = folder / "ahead.pid"
        if pid_file.exists() and not _alive(int(pid_file.read_text())):
            time.sleep(1)  # it may have just finished
            assert (folder / DONE_FILE).exists(), "tests/ahead.py died without a word"
            break
        assert time.monotonic() < deadline, f"tests/ahead.py took over {AHEAD_SECONDS} s"
        time.sleep(0.5)
    outcome = (folder / DONE_FILE).read_text()
    assert outcome == "ok", f"tests/ahead.py failed: {outcome}"
    return folder


def _alive(pid: int) -> bool:
    """Whether a process runs (and is not a zombie waiting for its parent to read it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No process working ahead is left behind, nor its folder (by the process that made it:
    in parallel runs the controller, which ends last; the test process that started the work
    may end while another still waits for it)."""
    process = getattr(session.config, "ahead_process", None)
    worker = hasattr(session.config, "workerinput")
    if process is not None and not worker and process.poll() is None:  # tests not reached
        process.kill()
        process.wait()
    folder = getattr(session.config, "ahead_folder", None)
    if folder is not None:
        pid_file = folder / "ahead.pid"
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
