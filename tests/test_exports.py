"""What peers' users ask for: one replication re-run alone, bit for bit, and long-format exports
that other tools read without fieldcast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas
import polars
import pytest

from fieldcast.catalog import load_scenario
from fieldcast.costs import replication_costs
from fieldcast.forecast import Forecast, outcome_tuples, replay, run_forecast
from fieldcast.metrics import FIELD_END_METRICS, MEASURES, METRICS
from fieldcast.results import outcome_rows
from fieldcast.store import SCHEMA_VERSION, RunStore

FIELDCAST = str(Path(sys.executable).parent / "fieldcast")
LONG_COLUMNS = [
    "scenario",
    "run",
    "seed",
    "replication",
    "day",
    "place",
    "metric",
    "measure",
    "value",
    "series",
]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, str, Forecast]:
    """A run of 120 replications cut into chunks of 50 on two local processes."""
    store = RunStore(tmp_path_factory.mktemp("exports") / "runs.duckdb")
    forecast = run_forecast(load_scenario("seed-2019"), replications=120, seed=77, processes=2)
    return store, store.save(forecast, 1.0), forecast


def _fieldcast(*arguments: str, store: RunStore) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FIELDCAST, *arguments, "--store", str(store.path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("replication", [0, 7, 61, 119])
def test_one_replication_alone_is_the_stored_runs_bit_for_bit(
    stored: tuple[RunStore, str, Forecast], replication: int
) -> None:
    """Inside the trajectory sample (0, 7) and outside it, in the first chunk and the last."""
    store, run_id, forecast = stored
    shown = _fieldcast(
        "forecast", "--replication", str(replication), "--run", run_id, "--json", store=store
    )
    assert shown.returncode == 0, shown.stderr
    answer = json.loads(shown.stdout)
    assert answer["same_as_stored"] is True
    assert (answer["seed"], answer["replication"], answer["run"]) == (77, replication, run_id)
    # the outcomes agree with the run's own arrays, not only with the rows it stored
    arrests = forecast.results.outcome("arrests", "persons")[replication]
    total = [
        row["value"]
        for row in answer["outcomes"]
        if (row["day"], row["place"], row["metric"], row["measure"])
        == (6, "Total", "arrests", "persons")
    ]
    assert total == [arrests]
    # its resource use and cost are the run's own, replication by replication
    results = forecast.results
    used = (int(results.bed_days[replication]), int(results.monitor_days[replication]))
    assert (answer["bed_days"], answer["monitor_days"]) == used
    costs = replication_costs(
        forecast.scenario.costs,
        float(results.officer_days.sum()),
        results.bed_days,
        results.monitor_days,
        results.outcome("removals", when="horizon"),
    )
    assert answer["total_cost"] == costs[replication]
    if replication < len(forecast.results.trajectories):  # its daily path, too
        kept = forecast.results.trajectories[replication, :, -1, :, MEASURES.index("persons")]
        for index, metric in enumerate(METRICS):
            assert answer["daily_persons"][metric] == kept[:, index].tolist(), metric


def test_a_replay_that_differs_is_told(stored: tuple[RunStore, str, Forecast]) -> None:
    """The comparison has teeth: another seed's replication, or a changed stored count, is
    reported as different."""
    store, run_id, forecast = stored
    rows = store.replication(run_id, 5)
    assert rows is not None
    kept = outcome_tuples(rows, forecast.scenario)
    assert replay(forecast.scenario, 77, 5, run_id, kept).same_as_stored() is True
    assert replay(forecast.scenario, 78, 5, run_id, kept).same_as_stored() is False
    used = store.replication_resource_use(run_id, 5)
    assert replay(forecast.scenario, 77, 5, run_id, kept, used).same_as_stored() is True
    bed_days, monitor_days = used
    other = (bed_days + 1, monitor_days)  # a stored bed-day more: told apart too
    assert replay(forecast.scenario, 77, 5, run_id, kept, other).same_as_stored() is False
    with duckdb.connect(str(store.path)) as connection:
        connection.execute(
            "UPDATE outcomes SET persons = persons + 1 WHERE replication = 5 "
            "AND metric = 'removals' AND place = 'Total'"
        )
    try:
        shown = _fieldcast("forecast", "--replication", "5", "--run", run_id, store=store)
        assert shown.returncode == 0 and "DIFFERENT from what the run kept" in shown.stdout
    finally:
        with duckdb.connect(str(store.path)) as connection:
            connection.execute(
                "UPDATE outcomes SET persons = persons - 1 WHERE replication = 5 "
                "AND metric = 'removals' AND place = 'Total'"
            )


def test_replication_options_are_checked(stored: tuple[RunStore, str, Forecast]) -> None:
    store, run_id, _ = stored
    for arguments, message in (
        (["--replication", "120", "--run", run_id], "has 120 replications (0 to 119), not 120"),
        (["--run", run_id], "--run: give --replication K too"),
        (["national", "--replication", "1", "--run", run_id], "the run gives the scenario"),
        (["--seed", "4", "--replication", "1", "--run", run_id], "the run gives the scenario"),
        (["--replication", "1", "--engine", "reference"], "--engine reference does not apply"),
        (["--replication", "1", "-n", "5"], "--replications does not apply"),
    ):
        shown = _fieldcast("forecast", *arguments, store=store)
        assert shown.returncode == 2 and message in shown.stderr, (arguments, shown.stderr)


def test_a_replication_of_a_scenario_and_seed_needs_no_store(tmp_path: Path) -> None:
    scenario = load_scenario("seed-2019")
    alone = replay(scenario, 77, 61)
    assert alone.same_as_stored() is None
    forecast = run_forecast(scenario, replications=62, seed=77)
    rows = outcome_rows(forecast.results, scenario)
    one = {name: column[rows["replication"] == 61] for name, column in rows.items()}
    assert alone.outcomes == outcome_tuples(one, scenario)


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_the_long_export_is_read_by_duckdb_pandas_and_polars(
    stored: tuple[RunStore, str, Forecast], tmp_path: Path, file_format: str
) -> None:
    store, run_id, forecast = stored
    shown = _fieldcast(
        "runs",
        "export",
        run_id,
        "--long",
        "--format",
        file_format,
        "--out",
        str(tmp_path),
        store=store,
    )
    assert shown.returncode == 0, shown.stderr
    (path,) = tmp_path.glob(f"*-long.{file_format}")
    read = pandas.read_parquet if file_format == "parquet" else pandas.read_csv
    frame = read(path)
    assert list(frame.columns) == LONG_COLUMNS
    other = (polars.read_parquet if file_format == "parquet" else polars.read_csv)(path)
    assert other.columns == LONG_COLUMNS and other.height == len(frame)
    assert duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall() == [(len(frame),)]
    assert set(frame["scenario"]) == {"seed-2019"} and set(frame["run"]) == {run_id}
    assert set(frame["seed"]) == {77} and set(frame["series"]) == {"daily", "outcome"}
    # every replication's persons arrested by the end of field work, as the run computed them
    outcomes = frame[
        (frame["series"] == "outcome")
        & (frame["place"] == "Total")
        & (frame["metric"] == FIELD_END_METRICS[0])
        & (frame["measure"] == "persons")
        & (frame["day"] == forecast.scenario.operation.field_days - 1)
    ].sort_values("replication")
    assert outcomes["replication"].tolist() == list(range(120))
    np.testing.assert_array_equal(outcomes["value"], forecast.results.outcome("arrests"))
    # each replication's bed-days and monitor-days, on the last day, in their own measures
    last_day = forecast.scenario.operation.horizon_days - 1
    for metric, measure, values in (
        ("bed_days", "person_days", forecast.results.bed_days),
        ("monitor_days", "household_days", forecast.results.monitor_days),
    ):
        used = frame[(frame["metric"] == metric)].sort_values("replication")
        assert set(used["measure"]) == {measure} and set(used["day"]) == {last_day}
        assert set(used["place"]) == {"Total"} and set(used["series"]) == {"outcome"}
        np.testing.assert_array_equal(used["value"], values)
    # and the kept trajectories, day by day
    daily = frame[
        (frame["series"] == "daily")
        & (frame["place"] == "Total")
        & (frame["metric"] == "removals")
        & (frame["measure"] == "households")
        & (frame["replication"] == 3)
    ].sort_values("day")
    kept = forecast.results.trajectories[3, :, -1, METRICS.index("removals"), 0]
    np.testing.assert_array_equal(daily["value"], kept)
    np.testing.assert_array_equal(daily["day"], forecast.results.days)


def test_outcomes_do_not_depend_on_how_the_run_was_cut(
    stored: tuple[RunStore, str, Forecast],
) -> None:
    """The same scenario and seed in one process store the same outcome rows."""
    store, run_id, forecast = stored
    again = run_forecast(forecast.scenario, replications=120, seed=77, processes=1)
    other = store.save(again, 1.0)
    with duckdb.connect(str(store.path), read_only=True) as connection:
        query = (
            "SELECT replication, day, place, metric, households, persons, minors FROM outcomes "
            "WHERE run_id = ? ORDER BY ALL"
        )
        first = connection.execute(query, [run_id]).fetchall()
        second = connection.execute(query, [other]).fetchall()
    assert first == second and len(first) > 120


def test_a_run_stored_before_outcomes_were_kept(tmp_path: Path) -> None:
    """A store of schema 3: readable, exported without outcomes, its replications recomputed
    but not compared; the first write upgrades it."""
    store = RunStore(tmp_path / "runs.duckdb")
    forecast = run_forecast(load_scenario("seed-2019"), replications=20, seed=3)
    run_id = store.save(forecast, 1.0)
    with duckdb.connect(str(store.path)) as connection:
        for table in ("outcomes", "jobs", "resource_use"):  # the tables of versions 4, 5, 7
            connection.execute(f"DROP TABLE {table}")
        connection.execute("UPDATE store_info SET value = '3' WHERE key = 'schema_version'")
    assert store.replication(run_id, 2) is None
    files = store.export(run_id, tmp_path / "long", "parquet", long=True)
    series = duckdb.sql(f"SELECT DISTINCT series FROM '{files[0]}'").fetchall()
    assert series == [("daily",)]
    shown = _fieldcast("forecast", "--replication", "2", "--run", run_id, store=store)
    assert shown.returncode == 0 and "stored before fieldcast kept" in shown.stdout
    store.save(forecast, 1.0)
    with duckdb.connect(str(store.path), read_only=True) as connection:
        version = connection.execute(
            "SELECT value FROM store_info WHERE key = 'schema_version'"
        ).fetchone()
        assert version == (str(SCHEMA_VERSION),)
