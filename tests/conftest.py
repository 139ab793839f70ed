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
        self.days = np.arange(self.compiled.start_day, self.compiled.start_day + self.compiled.days)

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


def pytest_collection_finish(session: pytest.Session) -> None:
    """When the session will run test_mutants.py, write the mutants and compile them in a
    background process (about 40 s of numba per engine mutant, on the core the test run
    leaves idle); the tests wait for it (``mutants.py``)."""
    if not any(item.path.name == "test_mutants.py" for item in session.items):
        return
    from mutants import write_mutants

    folder = Path(tempfile.mkdtemp(prefix="fieldcast-mutants-"))
    write_mutants(folder)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "mutants.py"), str(folder)],
        stdout=subprocess.DEVNULL,
    )
    session.config.mutants_compiling = (folder, process)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No compiling process is left behind, nor its folder."""
    compiling = getattr(session.config, "mutants_compiling", None)
    if compiling is not None:
        folder, process = compiling
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)
