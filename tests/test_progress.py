"""Progress that moves within a chunk (issue 13): a national chunk of 1,000 replications takes
15 s or more, and the bar used to stand still for all of it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fieldcast.engine import PROGRESS_STEPS, simulate_chunk
from fieldcast.replications import simulate
from fieldcast.scenario import Scenario
from fieldcast.workers import gather, task_progress


def test_a_chunk_reports_its_parts_and_gives_the_same_results(seed_scenario: Scenario) -> None:
    from fieldcast.compiled import compile_scenario

    plan = compile_scenario(seed_scenario)
    heard: list[float] = []
    with_parts = simulate_chunk(plan, 3, 0, 100, band_sample=100, progress=heard.append)
    without = simulate_chunk(plan, 3, 0, 100, band_sample=100)
    steps = -(-100 // -(-100 // PROGRESS_STEPS))  # 100 lanes in steps of ceil(100 / 32) = 4
    assert len(heard) == steps == 25
    assert heard == sorted(heard) and heard[-1] == 1.0 and 0 < heard[0] < 0.1
    for field in dataclasses.fields(without):
        a, b = getattr(with_parts, field.name), getattr(without, field.name)
        assert (a is None and b is None) or np.array_equal(a, b), field.name


def test_gather_reports_the_parts_of_a_running_task_in_this_process(
    seed_scenario: Scenario,
) -> None:
    heard: list[float] = []
    simulate(seed_scenario, 200, 1, chunk_size=100, progress=lambda done, _: heard.append(done))
    parts = [done for done in heard if done not in (0, 1, 2)]
    assert len(parts) == 2 * 24  # each chunk: 24 parts of 4 lanes, then the whole
    assert heard == sorted(heard) and heard[-1] == 2
    assert any(0 < done < 1 for done in parts) and any(1 < done < 2 for done in parts)


def test_a_forecast_reports_one_progress_over_its_twin_and_its_assumption_draws(
    seed_scenario: Scenario,
) -> None:
    """The forecast, its no-leak twin and its prior predictive report one progress in
    replications: the total never changes and the count never goes back, so a bar or a web
    job's time left does not start again at each part (each part counts its chunks from 0)."""
    from fieldcast.forecast import run_forecast

    heard: list[tuple[float, float]] = []
    run_forecast(
        seed_scenario,
        replications=100,
        seed=2,
        progress=lambda done, total: heard.append((done, total)),
        assumption_draws=10,
    )
    done = [count for count, _ in heard]
    assert {total for _, total in heard} == {300}  # the scenario, its twin, the draws
    assert done == sorted(done) and done[-1] == 300
    assert any(100 < count < 200 for count in done) and any(200 < count < 300 for count in done)


def _half_then_wait(signal_file: str) -> str:
    """A task that says it is half done, then waits until the caller has heard it (or 20 s:
    then the caller never heard it)."""
    task_progress(0.5)
    deadline = time.monotonic() + 20
    while not Path(signal_file).exists():
        if time.monotonic() > deadline:
            return "never heard"
        time.sleep(0.02)
    return "heard"


def test_gather_reads_the_parts_of_tasks_running_on_local_processes(tmp_path: Path) -> None:
    """The parent hears a worker's half-done task while it runs (it creates the file the
    task waits for only when it hears 1.5 tasks of 2 done), and never counts a task
    twice."""
    heard: list[float] = []
    signal_file = tmp_path / "heard"

    def progress(done: float, total: int) -> None:
        heard.append(done)
        if done == 1.0:  # both tasks half done: 0.5 + 0.5
            signal_file.touch()

    results: list[str] = []
    tasks = [(str(signal_file),), (str(signal_file),)]
    gather(_half_then_wait, tasks, lambda _, result: results.append(result), 2, None, progress)
    assert results == ["heard", "heard"]
    assert max(heard) == 2 and heard[-1] == 2


def test_gather_hears_the_parts_of_tasks_running_on_dask(tmp_path: Path) -> None:
    """The same on a local Dask cluster: a worker's half-done task is heard (as an event of a
    topic the client subscribes to) while it runs."""
    from fieldcast.workers import dask_client

    heard: list[float] = []
    signal_file = tmp_path / "heard"

    def progress(done: float, total: int) -> None:
        heard.append(done)
        if 0 < done < 1:
            signal_file.touch()

    results: list[str] = []
    with dask_client(1, None) as client:
        gather(
            _half_then_wait,
            [(str(signal_file),)],
            lambda _, result: results.append(result),
            client=client,
            progress=progress,
        )
    assert results == ["heard"]
    assert heard == [0, 0.5, 1]


def _report_fast_then_slow() -> None:
    """A hundred reports at once, then one more after ``EVENT_SECONDS`` have passed."""
    from fieldcast.workers import EVENT_SECONDS

    for i in range(1, 101):
        task_progress(i / 200)
    time.sleep(EVENT_SECONDS + 0.05)  # a sleep lasts at least this long
    task_progress(0.75)


def test_a_dask_task_sends_at_most_one_progress_event_every_event_seconds() -> None:
    """Events cost the worker time (workers.EVENT_SECONDS): of a hundred reports made at once
    only the first is sent; one made after EVENT_SECONDS is sent too."""
    from fieldcast.workers import _reporting_on_dask, dask_client

    with dask_client(1, None) as client:
        assert client is not None
        client.submit(_reporting_on_dask, "throttle", 7, _report_fast_then_slow).result()
        deadline = time.monotonic() + 10  # events reach the scheduler asynchronously
        while len(client.get_events("throttle")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # any further (wrongly sent) events arrive too
        sent = [message for _, message in client.get_events("throttle")]
    assert sent == [(7, 0.005), (7, 0.75)]


def test_the_engine_knows_whether_it_must_be_compiled_first(
    seed_scenario: Scenario, tmp_path: Path
) -> None:
    """Before the first run on a machine (an empty cache) the engine says it must be
    compiled; after a run it says it need not. Only the empty cache is checked in a fresh
    process: compiling there would take a minute."""
    from fieldcast.compiled import compile_scenario
    from fieldcast.engine import compiled_code_cached

    simulate_chunk(compile_scenario(seed_scenario), 1, 0, 2)
    assert compiled_code_cached()
    code = "from fieldcast.engine import compiled_code_cached; print(compiled_code_cached())"
    fresh = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert fresh.stdout.strip() == "False"


def test_the_command_line_says_when_a_run_compiles_the_engine_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The minute of compiling is said before the progress bar, which would stand still; a
    run that compiles nothing says nothing of it."""
    from typer.testing import CliRunner

    import fieldcast.engine
    from fieldcast.cli import app

    arguments = ["forecast", "-n", "20", "--processes", "1", "--no-store", "--json"]
    said = "compiling the engine for this machine first"
    for cached in (False, True):
        monkeypatch.setattr(fieldcast.engine, "compiled_code_cached", lambda cached=cached: cached)
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        assert (said in result.stderr) is not cached, result.stderr
