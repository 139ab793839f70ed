"""The run store: every forecast kept in an embedded DuckDB database.

What is kept per run: its id and time, the fieldcast version, the canonical scenario (JSON) and
its hash, seed, replications, engine, timings, the summary (what ``--json`` prints), the daily
mean and quantile bands per city and metric for the scenario and its no-leak twin, and the
trajectory sample of the scenario.

Guarantees:

* **Atomic.** A run is written in one transaction: a process killed at any moment (Ctrl-C or
  kill -9) leaves either the whole run or nothing, and a database that opens.
* **Never overwritten.** Run ids are unique keys; storing a run under an existing id fails.
* **One writer at a time.** DuckDB lets one process hold the file; another fieldcast waits for
  it (saying so) and then writes, so two forecasts finishing together both land.
* **Versioned.** The schema has a version; an older store is upgraded in place, a newer one is
  refused with a message saying which version of fieldcast wrote it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import platformdirs

from fieldcast.forecast import Forecast
from fieldcast.metrics import CITY_BAND_METRICS, MEASURES, METRICS
from fieldcast.results import TOTAL, Results
from fieldcast.scenario import Scenario, validate_scenario

SCHEMA_VERSION = 1
STORE_ENVIRONMENT = "FIELDCAST_STORE"
COLLATERAL = "collateral_arrests"  # daily metric of non-target persons (measure: persons)

_SCHEMA = [
    """CREATE TABLE store_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    """CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMP NOT NULL,
        fieldcast_version VARCHAR NOT NULL,
        scenario_name VARCHAR NOT NULL,
        scenario_sha256 VARCHAR NOT NULL,
        scenario_json VARCHAR NOT NULL,
        seed UBIGINT NOT NULL,
        replications BIGINT NOT NULL,
        engine VARCHAR NOT NULL,
        seconds DOUBLE NOT NULL,
        summary_json VARCHAR NOT NULL
    )""",
    """CREATE TABLE daily (
        run_id VARCHAR NOT NULL,
        variant VARCHAR NOT NULL,  -- 'scenario' or 'no_leak'
        day INTEGER NOT NULL,
        place VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        measure VARCHAR NOT NULL,
        mean DOUBLE NOT NULL,
        p05 DOUBLE,  -- quantile bands where kept (all totals, some per-city series)
        p50 DOUBLE,
        p95 DOUBLE
    )""",
    """CREATE TABLE trajectories (
        run_id VARCHAR NOT NULL,
        replication INTEGER NOT NULL,
        day INTEGER NOT NULL,
        place VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        households BIGINT NOT NULL,
        persons BIGINT NOT NULL,
        minors BIGINT NOT NULL
    )""",
]


class StoreError(RuntimeError):
    """The run store cannot be used; the message says why and what to do."""


def new_run_id() -> str:
    """A new run id: the UTC time it was made, readable and sortable, and a random suffix."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def default_store_path() -> Path:
    """``FIELDCAST_STORE`` if set, else ``runs.duckdb`` in the user's data directory."""
    configured = os.environ.get(STORE_ENVIRONMENT)
    if configured:
        return Path(configured)
    return platformdirs.user_data_path("fieldcast") / "runs.duckdb"


@dataclass(frozen=True)
class RunInfo:
    """One line of ``fieldcast runs list``."""

    run_id: str
    created_at: datetime
    scenario_name: str
    seed: int
    replications: int
    engine: str
    p_goal: float
    persons_arrested_median: float
    fieldcast_version: str


@dataclass(frozen=True)
class StoredRun:
    """A run read back from the store, with its daily series."""

    run_id: str
    created_at: datetime
    fieldcast_version: str
    scenario: Scenario
    seed: int
    replications: int
    engine: str
    seconds: float
    summary: dict[str, Any]
    daily: dict[str, np.ndarray]  # columns of the daily table for this run

    def series(
        self,
        metric: str,
        measure: str = "persons",
        place: str = TOTAL,
        variant: Literal["scenario", "no_leak"] = "scenario",
    ) -> dict[str, np.ndarray]:
        """A daily series: ``day``, ``mean``, ``p05``, ``p50``, ``p95`` (NaN where no band)."""
        daily = self.daily
        rows = (
            (daily["metric"] == metric)
            & (daily["measure"] == measure)
            & (daily["place"] == place)
            & (daily["variant"] == variant)
        )
        if not rows.any():
            raise KeyError(f"no daily series {metric}/{measure}/{place}/{variant} in this run")
        order = np.argsort(daily["day"][rows])
        return {name: np.asarray(daily[name][rows][order]) for name in _SERIES_COLUMNS}


_SERIES_COLUMNS = ("day", "mean", "p05", "p50", "p95")


class RunStore:
    """The runs kept in one DuckDB file."""

    def __init__(
        self,
        path: str | Path | None = None,
        wait_seconds: float = 120.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.wait_seconds = wait_seconds
        self.on_wait = on_wait

    # -- connections -------------------------------------------------------------------------

    @contextmanager
    def _connect(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the store, waiting while another process holds it, and check its schema."""
        if not write and not self.path.exists():
            raise StoreError(f"no run store at {self.path} yet: run a forecast first")
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait_seconds
        told = False
        while True:
            try:
                connection = duckdb.connect(str(self.path), read_only=not write)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise StoreError(f"{self.path}: cannot open the run store ({error})") from None
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"{self.path}: the run store is still in use by another process after "
                        f"{self.wait_seconds:.0f} s; try again when it has finished"
                    ) from None
                if not told and self.on_wait:
                    self.on_wait(f"the run store {self.path} is in use by another process; waiting")
                    told = True
                time.sleep(0.2)
            except duckdb.Error as error:
                raise StoreError(f"{self.path}: not a fieldcast run store ({error})") from None
        try:
            self._check_schema(connection, write)
            yield connection
        finally:
            connection.close()

    def _check_schema(self, connection: duckdb.DuckDBPyConnection, write: bool) -> None:
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        if not tables:
            if not write:
                raise StoreError(f"{self.path}: the run store is empty")
            connection.execute("BEGIN TRANSACTION")
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO store_info VALUES ('schema_version', ?), ('created_by', ?)",
                [str(SCHEMA_VERSION), f"fieldcast {version('fieldcast')}"],
            )
            connection.execute("COMMIT")
            return
        if "store_info" not in tables:
            raise StoreError(f"{self.path}: a DuckDB file, but not a fieldcast run store")
        info = dict(connection.execute("SELECT key, value FROM store_info").fetchall())
        found = int(info.get("schema_version", "0"))
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: this run store has schema version {found}, written by a newer "
                f"fieldcast ({info.get('created_by', 'unknown')}); this fieldcast "
                f"({version('fieldcast')}) reads versions up to {SCHEMA_VERSION}. "
                "Upgrade fieldcast, or use another store with --store."
            )
        if found < SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {found} has no upgrade path to {SCHEMA_VERSION}"
            )

    # -- writing -----------------------------------------------------------------------------

    def save(self, forecast: Forecast, seconds: float) -> str:
        """Store a forecast as a new run, in one transaction; returns its id."""
        summary = forecast.summary()
        run_id = new_run_id()
        # DuckDB reads these local dicts of arrays as tables (replacement scans); names are
        # stored as codes and turned into text by the INSERT
        daily_rows = _daily_columns(forecast)  # noqa: F841 (read by name in the SQL below)
        trajectory_rows = _trajectory_columns(forecast.results)  # noqa: F841 (likewise)
        names = {
            "places": list(forecast.results.places),
            "metrics": [*METRICS, COLLATERAL],
            "measures": list(MEASURES),
        }
        scenario = forecast.scenario
        with self._connect(write=True) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                connection.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        datetime.now(UTC).replace(tzinfo=None),
                        summary["fieldcast_version"],
                        scenario.name,
                        summary["scenario_sha256"],
                        scenario.canonical_json(),
                        summary["seed"],
                        summary["replications"],
                        summary["engine"],
                        seconds,
                        json.dumps(summary),
                    ],
                )
                connection.execute(
                    "INSERT INTO daily SELECT $run_id, "
                    "CASE variant WHEN 0 THEN 'scenario' ELSE 'no_leak' END, day, "
                    "$places[place + 1], $metrics[metric + 1], $measures[measure + 1], "
                    "mean, p05, p50, p95 FROM daily_rows",
                    {"run_id": run_id, **names},
                )
                connection.execute(
                    "INSERT INTO trajectories SELECT $run_id, replication, day, "
                    "$places[place + 1], $metrics[metric + 1], households, persons, minors "
                    "FROM trajectory_rows",
                    {"run_id": run_id, "places": names["places"], "metrics": names["metrics"]},
                )
                connection.execute("COMMIT")
            except duckdb.ConstraintException:
                connection.execute("ROLLBACK")
                raise StoreError(
                    f"{self.path}: a run {run_id} is already stored; nothing was overwritten"
                ) from None
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return run_id

    def delete(self, run_id: str) -> None:
        with self._connect(write=True) as connection:
            connection.execute("BEGIN TRANSACTION")
            for table in ("trajectories", "daily", "runs"):
                connection.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            connection.execute("COMMIT")

    # -- reading -----------------------------------------------------------------------------

    def list(self) -> list[RunInfo]:
        with self._connect(write=False) as connection:
            rows = connection.execute(
                "SELECT run_id, created_at, scenario_name, seed, replications, engine, "
                "summary_json, fieldcast_version FROM runs ORDER BY created_at, run_id"
            ).fetchall()
        infos = []
        for run_id, created, name, seed, replications, engine, summary_json, made_by in rows:
            summary = json.loads(summary_json)
            infos.append(
                RunInfo(
                    run_id=run_id,
                    created_at=created,
                    scenario_name=name,
                    seed=seed,
                    replications=replications,
                    engine=engine,
                    p_goal=summary["p_goal"],
                    persons_arrested_median=summary["persons_arrested"]["median"],
                    fieldcast_version=made_by,
                )
            )
        return infos

    def resolve(self, reference: str) -> str:
        """A run id from a full id, a unique prefix of one, or ``latest``."""
        with self._connect(write=False) as connection:
            if reference == "latest":
                row = connection.execute(
                    "SELECT run_id FROM runs ORDER BY created_at DESC, run_id DESC LIMIT 1"
                ).fetchone()
                if row is None:
                    raise StoreError(f"{self.path}: no runs stored yet")
                return str(row[0])
            matches = [
                row[0]
                for row in connection.execute(
                    "SELECT run_id FROM runs WHERE starts_with(run_id, ?)", [reference]
                ).fetchall()
            ]
        if not matches:
            raise StoreError(f"no run {reference!r} in {self.path} (see `fieldcast runs list`)")
        if len(matches) > 1:
            raise StoreError(f"{reference!r} matches {len(matches)} runs; give more of the id")
        return str(matches[0])

    def get(self, reference: str) -> StoredRun:
        run_id = self.resolve(reference)
        with self._connect(write=False) as connection:
            row = connection.execute(
                "SELECT created_at, fieldcast_version, scenario_json, seed, replications, "
                "engine, seconds, summary_json FROM runs WHERE run_id = ?",
                [run_id],
            ).fetchone()
            assert row is not None
            daily = connection.execute(
                "SELECT * EXCLUDE (run_id) FROM daily WHERE run_id = ?", [run_id]
            ).fetchnumpy()
        created, made_by, scenario_json, seed, replications, engine, seconds, summary = row
        return StoredRun(
            run_id=run_id,
            created_at=created,
            fieldcast_version=made_by,
            scenario=validate_scenario(json.loads(scenario_json), source=f"run {run_id}"),
            seed=seed,
            replications=replications,
            engine=engine,
            seconds=seconds,
            summary=json.loads(summary),
            daily={name: _unmasked(column) for name, column in daily.items()},
        )

    def export(self, reference: str, directory: str | Path, file_format: str) -> list[Path]:
        """Write a run's tables (runs, daily, trajectories) as Parquet or CSV files."""
        if file_format not in ("parquet", "csv"):
            raise StoreError(f"unknown export format {file_format!r} (use parquet or csv)")
        run_id = self.resolve(reference)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        with self._connect(write=False) as connection:
            for table in ("runs", "daily", "trajectories"):
                target = directory / f"{run_id}-{table}.{file_format}"
                options = "FORMAT parquet" if file_format == "parquet" else "FORMAT csv, HEADER"
                quoted = target.as_posix().replace("'", "''")
                connection.execute(
                    f"COPY (SELECT * FROM {table} WHERE run_id = '{run_id}') "
                    f"TO '{quoted}' ({options})"
                )
                written.append(target)
        return written


def _unmasked(column: np.ndarray) -> np.ndarray:
    """A fetched column as a plain array, NULL numbers as NaN."""
    if isinstance(column, np.ma.MaskedArray):
        return column.astype(float).filled(np.nan) if column.dtype.kind == "f" else column.data
    return np.asarray(column)


def _daily_columns(forecast: Forecast) -> dict[str, np.ndarray]:
    """The daily table's rows for both variants of a forecast, as columns of codes."""
    parts = [_variant_daily(forecast.results, 0)]
    if forecast.without_leak is not forecast.results:
        parts.append(_variant_daily(forecast.without_leak, 1))
    return {name: np.ma.concatenate([part[name] for part in parts]) for name in parts[0]}


def _variant_daily(results: Results, variant: int) -> dict[str, np.ndarray]:
    """Rows (day, place, metric, measure) in the order of ``results.daily_mean``, then the
    non-target arrests (metric code len(METRICS), persons only)."""
    days, places = results.days, results.places
    shape = results.daily_mean.shape  # [day, place, metric, measure]
    day_index, place_index, metric_index, measure_index = (
        axis.ravel() for axis in np.indices(shape)
    )
    bands = np.full((3, *shape), np.nan)
    bands[:, :, -1] = results.daily_bands  # totals: every metric and measure
    persons = MEASURES.index("persons")
    for column, metric in enumerate(CITY_BAND_METRICS):
        bands[:, :, :-1, METRICS.index(metric), persons] = results.city_daily_bands[..., column]
    collateral_day, collateral_place = (
        axis.ravel() for axis in np.indices((len(days), len(places)))
    )
    count = collateral_day.size
    return {
        "variant": np.full(day_index.size + count, variant, dtype=np.int8),
        "day": np.concatenate([days[day_index], days[collateral_day]]).astype(np.int32),
        "place": np.concatenate([place_index, collateral_place]).astype(np.int16),
        "metric": np.concatenate([metric_index, np.full(count, len(METRICS))]).astype(np.int16),
        "measure": np.concatenate([measure_index, np.full(count, persons)]).astype(np.int8),
        "mean": np.concatenate([results.daily_mean.ravel(), results.collateral_daily_mean.ravel()]),
        # masked (NULL in the store) where no band is kept
        **{
            name: np.ma.masked_invalid(np.concatenate([band.ravel(), np.full(count, np.nan)]))
            for name, band in zip(("p05", "p50", "p95"), bands, strict=True)
        },
    }


def _trajectory_columns(results: Results) -> dict[str, np.ndarray]:
    trajectories = results.trajectories  # [rep, day, place, metric, measure]
    rep, day, place, metric = (axis.ravel() for axis in np.indices(trajectories.shape[:-1]))
    values = trajectories.reshape(-1, len(MEASURES)).astype(np.int64)
    return {
        "replication": rep.astype(np.int32),
        "day": results.days[day].astype(np.int32),
        "place": place.astype(np.int16),
        "metric": metric.astype(np.int16),
        **{measure: values[:, column] for column, measure in enumerate(MEASURES)},
    }
