"""The run store: round trips, atomic writes under failure and kill -9, concurrent writers,
schema versions."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from fieldcast.forecast import Forecast, run_forecast
from fieldcast.metrics import METRICS
from fieldcast.scenario import Scenario
from fieldcast.store import RunStore, StoreError

RUN_TABLES = ("store_info", "runs", "daily", "trajectories", "outcomes", "resource_use")
FIELDCAST = str(Path(sys.executable).parent / "fieldcast")


@pytest.fixture(scope="module")
def forecast(seed_scenario: Scenario) -> Forecast:
    return run_forecast(seed_scenario, replications=150, seed=5)


EVIDENCE_TABLES = (
    "observation_sets",
    "observation_rows",
    "calibrations",
    "calibration_generations",
    "calibration_assessments",
    "trackings",
    "jobs",  # the web dashboard's queue
)


def _integrity(path: Path) -> tuple[int, list[str]]:
    """(runs stored, problems): every run complete, no rows without a run. A store killed
    while it was being created is an empty DuckDB file (the schema is one transaction): it
    holds no run, and the next writer creates the schema."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        problems = []
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        if not tables:
            return 0, []
        if tables != {*RUN_TABLES, *EVIDENCE_TABLES}:
            return 0, [f"a partial schema: {sorted(tables)}"]
        runs = [row[0] for row in connection.execute("SELECT run_id FROM runs").fetchall()]
        for run_id in runs:
            daily = connection.execute(
                "SELECT count(*) FROM daily WHERE run_id = ?", [run_id]
            ).fetchone()[0]
            trajectories = connection.execute(
                "SELECT count(*) FROM trajectories WHERE run_id = ?", [run_id]
            ).fetchone()[0]
            if daily == 0 or trajectories == 0:
                problems.append(f"{run_id}: {daily} daily rows, {trajectories} trajectory rows")
            replications, used = connection.execute(
                "SELECT replications, (SELECT count(*) FROM resource_use WHERE run_id = ?) "
                "FROM runs WHERE run_id = ?",
                [run_id, run_id],
            ).fetchone()
            if used != replications:
                problems.append(f"{run_id}: resource use of {used} of {replications} replications")
        orphans = connection.execute(
            "SELECT count(*) FROM daily WHERE run_id NOT IN (SELECT run_id FROM runs)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} daily rows belong to no run")
        return len(runs), problems
    finally:
        connection.close()


def test_a_stored_run_reads_back_as_it_was(tmp_path: Path, forecast: Forecast) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.save(forecast, seconds=1.5)
    stored = store.get(run_id)
    assert stored.summary == json.loads(json.dumps(forecast.summary()))
    assert stored.scenario == forecast.scenario
    assert (stored.seed, stored.replications, stored.engine) == (5, 150, "counts")
    results = forecast.results
    series = stored.series("arrests", "persons")
    assert np.array_equal(series["day"], results.days)
    assert np.allclose(series["mean"], results.mean_by_day("arrests"))
    assert np.allclose(series["p50"], results.band_by_day("arrests")[1])
    chicago = stored.series("detained", "persons", place="Chicago")
    assert np.allclose(chicago["p95"], results.city_band_by_day("detained", "Chicago")[2])
    assert np.isnan(stored.series("moved", "households", place="Chicago")["p50"]).all()
    no_leak = stored.series("at_address", "households", variant="no_leak")
    assert np.allclose(
        no_leak["mean"], forecast.without_leak.mean_by_day("at_address", "households")
    )
    assert store.resolve("latest") == run_id == store.resolve(run_id[:12])
    assert [info.run_id for info in store.list()] == [run_id]


def test_export_writes_every_table(tmp_path: Path, forecast: Forecast) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.save(forecast, seconds=1.0)
    for file_format in ("parquet", "csv"):
        files = store.export(run_id, tmp_path / file_format, file_format)
        assert [f.name.split(run_id + "-")[1] for f in files] == [
            f"runs.{file_format}",
            f"daily.{file_format}",
            f"trajectories.{file_format}",
            f"outcomes.{file_format}",
            f"resource_use.{file_format}",
        ]
        daily_rows = duckdb.sql(f"SELECT count(*) FROM '{files[1]}'").fetchall()[0][0]
        days, places = len(forecast.results.days), len(forecast.results.places)
        assert daily_rows == 2 * days * places * (len(METRICS) * 3 + 1)  # + collateral


def test_delete_and_unknown_runs(tmp_path: Path, forecast: Forecast) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    first, second = store.save(forecast, 1.0), store.save(forecast, 1.0)
    store.delete(first)
    assert [info.run_id for info in store.list()] == [second]
    assert _integrity(store.path) == (1, [])
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.get("nope")
    with pytest.raises(StoreError, match="no run store"):
        RunStore(tmp_path / "missing.duckdb").list()


def test_a_deleted_runs_text_is_gone_from_the_file(
    tmp_path: Path, seed_scenario: Scenario, forecast: Forecast
) -> None:
    """Issue 13: DuckDB only marks deleted rows; their bytes stayed in the file. The store is
    rewritten after a delete: the deleted run's names and notes are no longer in its bytes
    (read before the delete too, so that the test can fail), the other run is whole, and no
    copy is left beside it."""
    marker = "Marker Town Deleted"
    renamed = seed_scenario.replace({"cities.0.name": marker, "title": f"{marker} title"})
    store = RunStore(tmp_path / "runs.duckdb")
    kept = store.save(forecast, 1.0)
    gone = store.save(run_forecast(renamed, replications=20, seed=5), 1.0)
    assert marker.encode() in store.path.read_bytes()
    before = store.get(kept).summary, _rows(store.path, kept)
    store.delete(gone)
    assert marker.encode() not in store.path.read_bytes()
    assert [info.run_id for info in store.list()] == [kept]
    assert _integrity(store.path) == (1, [])
    assert (store.get(kept).summary, _rows(store.path, kept)) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.duckdb"]
    again = store.save(forecast, 1.0)  # still a store that takes runs
    assert {info.run_id for info in store.list()} == {kept, again}


def _rows(path: Path, run_id: str) -> str:
    """A run's stored daily series and trajectories, in a fixed order, as text (NaN == NaN)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return repr(
            [
                connection.execute(
                    f"SELECT * FROM {table} WHERE run_id = ? ORDER BY ALL", [run_id]
                ).fetchall()
                for table in ("daily", "trajectories")
            ]
        )


def test_an_empty_or_shared_prefix_names_no_run(tmp_path: Path, forecast: Forecast) -> None:
    """A destructive command needs a real match: `runs delete "" --yes` used to delete the
    only run (the empty prefix matched it)."""
    store = RunStore(tmp_path / "runs.duckdb")
    only = store.save(forecast, 1.0)
    for reference in ("", "  "):
        with pytest.raises(StoreError, match="empty run id names nothing"):
            store.resolve(reference)
    result = subprocess.run(
        [FIELDCAST, "runs", "delete", "", "--yes", "--store", str(store.path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "names nothing" in result.stderr
    assert [info.run_id for info in store.list()] == [only]
    store.save(forecast, 1.0)
    with pytest.raises(StoreError, match="matches 2 of them"):
        store.resolve(only[:4])  # both ids start with the year


def test_a_failure_mid_write_leaves_nothing(
    tmp_path: Path, forecast: Forecast, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    kept = store.save(forecast, 1.0)

    def broken(results: object) -> dict[str, np.ndarray]:  # rows of unequal length
        return {"replication": np.zeros(3, np.int32), "day": np.zeros(2, np.int32)}

    monkeypatch.setattr("fieldcast.store._trajectory_columns", broken)
    with pytest.raises(duckdb.Error):
        store.save(forecast, 1.0)
    assert _integrity(store.path) == (1, [])
    assert [info.run_id for info in store.list()] == [kept]


def test_a_run_is_never_overwritten(
    tmp_path: Path, forecast: Forecast, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    first = store.save(forecast, 1.0)

    monkeypatch.setattr("fieldcast.store.new_run_id", lambda: first)
    with pytest.raises(StoreError, match="already stored; nothing was overwritten"):
        store.save(forecast, 2.0)
    assert store.get(first).seconds == 1.0
    assert _integrity(store.path) == (1, [])


WRITER = """
import sys
from fieldcast import load_scenario, run_forecast
from fieldcast.store import RunStore
store = RunStore(sys.argv[1])
forecast = run_forecast(load_scenario("seed-2019"), replications=60, seed=1)
while True:
    store.save(forecast, 0.0)
    print("saved", flush=True)
"""


def test_kill_9_at_any_moment_leaves_whole_runs_and_a_store_that_opens(tmp_path: Path) -> None:
    """A writer saves runs in a loop and is killed with SIGKILL at staggered moments; after
    each kill the store must open, and hold only complete runs.

    The first kill comes at a fixed time after the start (in the imports, the forecast or
    the first save, depending on the machine); the others at staggered moments after the
    writer said it saved a run, so within the next save (about 0.9 s on the development
    machine) whatever the machine's speed: fixed times from the start all came before the
    first save on a slower machine under a full test run."""
    path = tmp_path / "runs.duckdb"
    stored = 0
    for after_a_save, delay in ((False, 1.0), *((True, d) for d in (0.05, 0.25, 0.45, 0.7))):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        try:
            if after_a_save:
                ready, _, _ = select.select([writer.stdout], [], [], 300)
                assert ready and writer.stdout.readline() == "saved\n", "the writer never saved"
            time.sleep(delay)
        finally:  # a failed wait leaves no writer behind either
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
        runs, problems = _integrity(path) if path.exists() else (0, [])
        moment = f"{delay} s {'after a save' if after_a_save else 'from the start'}"
        assert problems == [], f"after a kill {moment}: {problems}"
        assert runs >= stored
        stored = runs
    assert stored >= 4, "a run saved before each of the last four kills was lost"


def test_concurrent_writers_both_land_one_waiting(tmp_path: Path) -> None:
    """Two forecasts finish while a third process holds the store: both wait, say so, land."""
    path = tmp_path / "runs.duckdb"
    RunStore(path).save(run_forecast_small(), 0.0)  # create the store
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            "time.sleep(4)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    env = {**os.environ, "FIELDCAST_STORE": str(path)}
    command = [FIELDCAST, "forecast", "-n", "50", "--json", "--processes", "1"]
    writers = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    holder.wait()
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "stored as run" in err
    assert any("in use by another process; waiting" in err for _, err in outputs)
    assert _integrity(path) == (3, [])


def run_forecast_small() -> Forecast:
    from fieldcast.catalog import load_scenario

    return run_forecast(load_scenario("seed-2019"), replications=20, seed=1)


def test_schema_versions(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    RunStore(path).save(run_forecast_small(), 0.0)
    with duckdb.connect(str(path)) as connection:
        connection.execute("UPDATE store_info SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, written by a newer fieldcast"):
        RunStore(path).list()
    result = subprocess.run(
        [FIELDCAST, "runs", "list", "--store", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "newer fieldcast" in result.stderr
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as connection:
        connection.execute("CREATE TABLE things (x INTEGER)")
    with pytest.raises(StoreError, match="not a fieldcast run store"):
        RunStore(other).list()
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    with pytest.raises(StoreError, match=r"not a run store \(not a DuckDB file\)"):
        RunStore(text).list()


def test_a_stored_run_whose_scenario_no_longer_validates_is_named(
    tmp_path: Path, forecast: Forecast
) -> None:
    """A newer fieldcast may check more than the one that stored a run: `runs show`,
    `report` and `runs compare` then say which run and why, instead of crashing."""
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.save(forecast, 1.0)
    with duckdb.connect(str(store.path)) as connection:
        (scenario_json,) = connection.execute("SELECT scenario_json FROM runs").fetchone()
        data = json.loads(scenario_json)
        data["operation"]["horizon_days"] = 10**9  # beyond what this version accepts
        connection.execute("UPDATE runs SET scenario_json = ?", [json.dumps(data)])
    with pytest.raises(StoreError, match=f"(?s)run {run_id} .*does not validate.*horizon_days"):
        store.get(run_id)
    shown = subprocess.run(
        [FIELDCAST, "runs", "show", run_id, "--store", str(store.path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 2 and "does not validate" in shown.stderr


# Root may write anywhere: as root, fieldcast runs without the capabilities that override
# file permissions (setpriv, from util-linux), as an ordinary user would.
_AS_A_USER = (
    ["setpriv", "--inh-caps=-dac_override,-fowner", "--bounding-set=-dac_override,-fowner"]
    if os.geteuid() == 0
    else []
)


def _as_a_user(arguments: list[str], store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_AS_A_USER, FIELDCAST, *arguments, "--store", str(store)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,  # the refusals come before any computing; 10^6 replications take longer
    )


def test_a_damaged_store_is_named_not_crashed_on(tmp_path: Path, forecast: Forecast) -> None:
    """Issue 13: a store that is a folder, not DuckDB, cut short, read-only, or in a read-only
    folder: one message naming it, exit code 2, before a forecast computes anything (asked
    for 10^6 replications, it would not end within the time bound), and nothing written
    beside it."""
    folder = tmp_path / "stores"
    folder.mkdir()
    try:
        (folder / "a-folder.duckdb").mkdir()
        (folder / "text.duckdb").write_text("not a database\n" * 100)
        whole = RunStore(folder / "whole.duckdb")
        whole.save(forecast, 1.0)
        data = whole.path.read_bytes()
        (folder / "cut.duckdb").write_bytes(data[: len(data) // 2])
        (folder / "read-only.duckdb").write_bytes(data)
        (folder / "read-only.duckdb").chmod(0o444)
        locked = folder / "read-only-folder"
        locked.mkdir()
        locked.chmod(0o555)
        cases = {
            "a-folder.duckdb": "a folder, not a run store file",
            "text.duckdb": "not a run store (not a DuckDB file)",
            "cut.duckdb": "the run store is damaged (cut short or overwritten)",
            "read-only.duckdb": "the run store cannot be written here (permissions)",
            "read-only-folder/runs.duckdb": "run store",
        }
        before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
        for name, expected in cases.items():
            store = folder / name
            for arguments in (
                ["forecast", "-n", "1000000", "--processes", "1"],
                ["runs", "delete", "latest", "--yes"],
            ):
                result = _as_a_user(arguments, store)
                assert result.returncode == 2, (name, arguments, result.stderr)
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and str(store) in lines[0], result.stderr
                assert expected in lines[0], result.stderr
        assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
        assert RunStore(folder / "read-only.duckdb").list()  # untouched, still readable
    finally:
        locked.chmod(0o755)  # for pytest to clean up
