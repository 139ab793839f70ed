"""Shared helpers: small scenarios built from the default, and a chunk runner that keeps every
replication's daily values so tests can check per-day, per-replication rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine import simulate_chunk
from fieldcast.metrics import MEASURES, METRICS
from fieldcast.scenario import Scenario, validate_scenario


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


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the work ahead that the selected tests need, in one background process."""
    needed = [
        job
        for job, (file, test) in AHEAD_TESTS.items()
        if any(
            item.path.name == file and (test is None or item.name == test) for item in session.items
        )
    ]
    if not needed:
        return
    folder = Path(tempfile.mkdtemp(prefix="fieldcast-ahead-"))
    if "mutants" in needed:
        from mutants import write_mutants

        write_mutants(folder)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "ahead.py"), str(folder)]
        + [f"--{job}" for job in needed],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    session.config.ahead = (folder, process)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def ahead(request: pytest.FixtureRequest) -> Path:
    """The folder of the work done ahead, once it is done (a failure is the test's)."""
    folder, process = request.config.ahead
    _, errors = process.communicate()
    assert process.returncode == 0, f"tests/ahead.py failed: {errors}"
    return folder


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No process working ahead is left behind, nor its folder."""
    started = getattr(session.config, "ahead", None)
    if started is not None:
        folder, process = started
        if process.poll() is None:  # not waited for (its tests were not reached)
            process.kill()
            process.communicate()
        shutil.rmtree(folder, ignore_errors=True)
