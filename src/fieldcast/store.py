"""The run store: every forecast and every set of observed counts, in an embedded DuckDB database.

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
* **Versioned.** The schema has a version; an older store (version 1 on) is upgraded in
  place by the first command that writes to it (reading needs no upgrade); one without a
  version, or a newer one, is refused with a message saying which fieldcast wrote it.
* **Deleted means gone.** Deleting a run rewrites the file, so its text (the scenario's names
  and notes) is not left in freed blocks.
* **Named when damaged.** A folder, a file that is not a store, a damaged or read-only one is
  named with the reason, before any computing (``check_writable``).

Observed counts are kept too (``observations.py``): named sets, each version with its content
hash and the time it was added, never changed once stored. And calibrations
(``calibration.py``): their scenario, counts and settings, every complete generation (each
written in its own transaction as it completes, so a killed calibration keeps its last one
and can resume), and the assessment of where each call stopped (``posterior.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np
import platformdirs

from fieldcast.metrics import CITY_BAND_METRICS, MEASURES, METRICS, STORED_METRICS
from fieldcast.observations import ObservationSet, ObservedRow, check_name
from fieldcast.results import TOTAL, Results, outcome_rows
from fieldcast.scenario import Scenario, ScenarioError, validate_scenario

if TYPE_CHECKING:  # calibration needs scipy: a forecast, which stores runs, does not load it
    from fieldcast.calibration import Calibration, Generation
    from fieldcast.forecast import Forecast
    from fieldcast.posterior import Assessment
    from fieldcast.tracking import FilterState, Tracking

SCHEMA_VERSION = 7
STORE_ENVIRONMENT = "FIELDCAST_STORE"

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
# What each schema version adds to the one before: an older store is upgraded in place.
_UPGRADES = {
    7: [
        # every replication's use of beds and monitors: with its removals (in ``outcomes``)
        # and the run's scheduled officer-days, its cost (``costs.replication_costs``), which
        # ``runs compare`` pairs up; runs stored before version 7 have none
        """CREATE TABLE resource_use (
            run_id VARCHAR NOT NULL,
            replication INTEGER NOT NULL,
            bed_days BIGINT NOT NULL,  -- persons x days in family detention
            monitor_days BIGINT NOT NULL  -- households x days on an ankle monitor
        )""",
    ],
    6: [
        # when the running job was claimed, and its worker's estimate of the time it has left
        # (``jobs.Pace``); NULL for jobs that ran before
        "ALTER TABLE jobs ADD COLUMN started_at TIMESTAMP",
        "ALTER TABLE jobs ADD COLUMN seconds_left DOUBLE",
    ],
    5: [
        # the web dashboard's jobs (``jobs.py``): never only in memory
        """CREATE TABLE jobs (
            job_id VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            fieldcast_version VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            scenario_name VARCHAR NOT NULL,
            scenario_json VARCHAR NOT NULL,
            settings_json VARCHAR NOT NULL,
            job_key VARCHAR NOT NULL,  -- identical submissions share it
            state VARCHAR NOT NULL,  -- queued, running, done, failed, cancelled
            progress DOUBLE NOT NULL,
            cancel_requested BOOLEAN NOT NULL,
            interruptions INTEGER NOT NULL,  -- times a server died while it ran
            worker VARCHAR,
            result_json VARCHAR,  -- a forecast's run id, or a planning answer
            error VARCHAR
        )""",
    ],
    4: [
        # every replication's kept outcomes (``results.outcome_rows``); runs stored before
        # version 4 have none
        """CREATE TABLE outcomes (
            run_id VARCHAR NOT NULL,
            replication INTEGER NOT NULL,
            day INTEGER NOT NULL,
            place VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            households BIGINT,  -- NULL where the measure does not apply (collateral arrests)
            persons BIGINT NOT NULL,
            minors BIGINT
        )""",
    ],
    3: [
        """CREATE TABLE trackings (
            tracking_id VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            fieldcast_version VARCHAR NOT NULL,
            scenario_name VARCHAR NOT NULL,
            model_sha256 VARCHAR NOT NULL,
            model_json VARCHAR NOT NULL,
            observation_name VARCHAR NOT NULL,
            observations VARCHAR NOT NULL,
            particles INTEGER NOT NULL,
            seed UBIGINT NOT NULL,
            day INTEGER NOT NULL,
            metadata_json VARCHAR NOT NULL,
            filter_state BLOB NOT NULL,
            summary_json VARCHAR NOT NULL
        )""",
    ],
    2: [
        """CREATE TABLE observation_sets (
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            added_at TIMESTAMP NOT NULL,
            scenario_name VARCHAR NOT NULL,
            scenario_sha256 VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            PRIMARY KEY (name, version)
        )""",
        """CREATE TABLE observation_rows (
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            day INTEGER NOT NULL,
            place VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            value BIGINT NOT NULL,
            basis VARCHAR NOT NULL
        )""",
        """CREATE TABLE calibrations (
            calibration_id VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            fieldcast_version VARCHAR NOT NULL,
            scenario_name VARCHAR NOT NULL,
            scenario_sha256 VARCHAR NOT NULL,
            scenario_json VARCHAR NOT NULL,
            observations VARCHAR NOT NULL,  -- which counts: name, version and hash, or a file
            observations_json VARCHAR NOT NULL,  -- the counts themselves (canonical rows)
            settings_json VARCHAR NOT NULL
        )""",
        """CREATE TABLE calibration_generations (
            calibration_id VARCHAR NOT NULL,
            generation INTEGER NOT NULL,
            beta DOUBLE NOT NULL,
            ess DOUBLE NOT NULL,
            acceptance DOUBLE,
            moves INTEGER NOT NULL,
            simulations BIGINT NOT NULL,
            failed BIGINT NOT NULL,
            seconds DOUBLE NOT NULL,
            particle_values BLOB NOT NULL,  -- [particle, parameter] float64, .npy
            log_likelihood BLOB NOT NULL,  -- [particle] float64, .npy
            PRIMARY KEY (calibration_id, generation)
        )""",
        """CREATE TABLE calibration_assessments (
            calibration_id VARCHAR NOT NULL,
            generation INTEGER NOT NULL,  -- the generation assessed
            assessed_at TIMESTAMP NOT NULL,
            stopped VARCHAR NOT NULL,
            summary_json VARCHAR NOT NULL,
            PRIMARY KEY (calibration_id, generation)
        )""",
    ],
}


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
class ObservationInfo:
    """One stored version of an observation set (a line of ``fieldcast observe list``)."""

    name: str
    version: int
    sha256: str
    added_at: datetime  # UTC
    scenario_name: str
    source: str
    rows: int
    first_day: int
    last_day: int


@dataclass(frozen=True)
class CalibrationInfo:
    """One line of ``fieldcast calibrations``."""

    calibration_id: str
    created_at: datetime  # UTC
    scenario_name: str
    observations: str
    generations: int
    beta: float  # the temperature reached (1: the posterior)
    simulations: int
    stopped: str  # where the last call stopped ("" if it was killed or is running)


JobState = Literal["queued", "running", "done", "failed", "cancelled"]
_JOB_COLUMNS = (
    "job_id, created_at, updated_at, kind, scenario_name, scenario_json, settings_json, "
    "job_key, state, progress, cancel_requested, interruptions, result_json, error, "
    "started_at, seconds_left"
)
# the same from a store of schema version 5 read without upgrading (it has no such columns)
_JOB_COLUMNS_5 = _JOB_COLUMNS.replace("started_at, seconds_left", "NULL, NULL")


@dataclass(frozen=True)
class JobInfo:
    """A job of the web dashboard's queue, as stored (``jobs.py``)."""

    job_id: str
    created_at: datetime
    updated_at: datetime
    kind: str
    scenario_name: str
    scenario_json: str
    settings_json: str
    job_key: str
    state: JobState
    progress: float
    cancel_requested: bool
    interruptions: int
    result_json: str | None
    error: str | None
    started_at: datetime | None  # when a worker claimed it (last), None before
    seconds_left: float | None  # the worker's estimate while it runs (``jobs.Pace``)

    @property
    def settings(self) -> dict[str, Any]:
        return json.loads(self.settings_json)

    @property
    def result(self) -> dict[str, Any] | None:
        return None if self.result_json is None else json.loads(self.result_json)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


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

    def has_leak_twin(self) -> bool:
        """Whether the run kept its twin without the leak (``variant="no_leak"``): a
        scenario without leak events has none, being its own."""
        return bool(np.any(self.daily["variant"] == "no_leak"))

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


_PROCESS_LOCKS: dict[str, threading.RLock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def _process_lock(path: Path) -> threading.RLock:
    """This process's lock on a store file (one per file, shared by every ``RunStore``)."""
    key = str(path.resolve())
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(key, threading.RLock())


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
        if self.path.is_dir():
            raise StoreError(f"{self.path}: a folder, not a run store file")
        deadline = time.monotonic() + self.wait_seconds
        told = False
        # one connection at a time in this process too: DuckDB shares one database between a
        # process's connections, where concurrent writers conflict (the web server's threads)
        in_process = _process_lock(self.path)
        if not in_process.acquire(timeout=self.wait_seconds):
            raise StoreError(
                f"{self.path}: the run store is still in use in this process after "
                f"{self.wait_seconds:.0f} s; try again when it has finished"
            )
        try:
            yield from self._connected(write, deadline, told)
        finally:
            in_process.release()

    def _connected(
        self, write: bool, deadline: float, told: bool
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        while True:
            try:
                connection = duckdb.connect(str(self.path), read_only=not write)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise StoreError(f"{self.path}: {_open_problem(str(error), write)}") from None
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
            for statement in _SCHEMA + [s for v in sorted(_UPGRADES) for s in _UPGRADES[v]]:
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
            if not write:  # what an older store has, it has in this version's form
                return
            if found < 1:
                raise StoreError(
                    f"{self.path}: schema version {found} has no upgrade path to {SCHEMA_VERSION}"
                )
            connection.execute("BEGIN TRANSACTION")
            for upgrade in range(found + 1, SCHEMA_VERSION + 1):
                for statement in _UPGRADES[upgrade]:
                    connection.execute(statement)
            connection.execute(
                "UPDATE store_info SET value = ? WHERE key = 'schema_version'",
                [str(SCHEMA_VERSION)],
            )
            connection.execute("COMMIT")

    # -- writing -----------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Open the store for writing (made, if new) and close it.

        A store that could not take a result (a folder, not a store, damaged, newer, read-only) is
        named before any computing, not after.

        Raises
        ------
        StoreError
            If the store cannot be written, with the reason.
        """
        with self._connect(write=True):
            pass

    def save(self, forecast: Forecast, seconds: float) -> str:
        """Store a forecast as a new run, in one transaction.

        Parameters
        ----------
        forecast : Forecast
            The forecast: its summary, daily series, trajectories and every replication's kept
            outcomes are stored.
        seconds : float
            How long it took (shown by ``runs list``).

        Returns
        -------
        str
            The new run's id.

        Raises
        ------
        StoreError
            If the store cannot be written, or (never expected) a run has the new id already:
            nothing is overwritten.
        """
        summary = forecast.summary()
        run_id = new_run_id()
        # DuckDB reads these local dicts of arrays as tables (replacement scans); names are
        # stored as codes and turned into text by the INSERT
        daily_rows = _daily_columns(forecast)  # noqa: F841 (read by name in the SQL below)
        trajectory_rows = _trajectory_columns(forecast.results)  # noqa: F841 (likewise)
        outcome = outcome_rows(forecast.results, forecast.scenario)  # noqa: F841 (likewise)
        resources = {  # noqa: F841 (likewise)
            "replication": np.arange(len(forecast.results.bed_days)),
            "bed_days": forecast.results.bed_days,
            "monitor_days": forecast.results.monitor_days,
        }
        names = {
            "places": list(forecast.results.places),
            "metrics": list(STORED_METRICS),
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
                connection.execute(
                    "INSERT INTO outcomes SELECT $run_id, replication, day, "
                    "$places[place + 1], $metrics[metric + 1], households, persons, minors "
                    "FROM outcome",
                    {"run_id": run_id, "places": names["places"], "metrics": names["metrics"]},
                )
                connection.execute(
                    "INSERT INTO resource_use SELECT $run_id, replication, bed_days, "
                    "monitor_days FROM resources",
                    {"run_id": run_id},
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
        """Delete a run, and rewrite the store so that its text is gone from the file too.

        DuckDB only marks deleted rows, and their bytes (the scenario's names and notes) stay in
        the file until the blocks are reused.

        Parameters
        ----------
        run_id : str
            The run's full id (``resolve`` finds it from a prefix).

        Raises
        ------
        StoreError
            If the store cannot be written.
        """
        with self._connect(write=True) as connection:
            connection.execute("BEGIN TRANSACTION")
            for table in ("resource_use", "outcomes", "trajectories", "daily", "runs"):
                connection.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            connection.execute("COMMIT")
            self._rewrite(connection)

    def _rewrite(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Copy the store into a new file and put it in the old one's place, while this
        connection still holds the store (no other process can write to the old file in
        between). Interrupted, it leaves the old file whole and a stray copy, removed by the
        next rewrite."""
        copy = self.path.with_name(f"{self.path.name}.rewriting")
        copy.unlink(missing_ok=True)
        name = connection.execute("SELECT current_database()").fetchone()[0]
        quoted = copy.as_posix().replace("'", "''")
        connection.execute("CHECKPOINT")
        connection.execute(f"ATTACH '{quoted}' AS rewritten")
        quoted_name = name.replace('"', '""')
        connection.execute(f'COPY FROM DATABASE "{quoted_name}" TO rewritten')
        connection.execute("DETACH rewritten")
        os.replace(copy, self.path)

    # -- observations ------------------------------------------------------------------------

    def add_observations(
        self, name: str, observed: ObservationSet, scenario: Scenario, source: str
    ) -> tuple[ObservationInfo, bool]:
        """Keep an observation set as the next version of ``name``.

        Unless its latest version holds the same counts (same hash). Versions are never changed
        or removed, so what was known at any time can be read back.

        Parameters
        ----------
        name : str
            The set's name (letters, digits, ``.``, ``_``, ``-``).
        observed : ObservationSet
            The checked counts.
        scenario : Scenario
            The scenario they were checked against (its name and hash are kept).
        source : str
            Where they came from (a file name), kept with them.

        Returns
        -------
        tuple of (ObservationInfo, bool)
            The version now latest, and whether it was added (False: the same counts were there).

        Raises
        ------
        StoreError
            If the store cannot be written, or another process added a version at the same time.
        """
        check_name(name)
        with self._connect(write=True) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                latest = connection.execute(
                    "SELECT version, sha256 FROM observation_sets WHERE name = ? "
                    "ORDER BY version DESC LIMIT 1",
                    [name],
                ).fetchone()
                added = latest is None or latest[1] != observed.sha256
                version_number = 1 if latest is None else latest[0] + int(added)
                if added:
                    self._insert_observations(
                        connection, name, version_number, observed, scenario, source
                    )
                connection.execute("COMMIT")
            except duckdb.ConstraintException:
                connection.execute("ROLLBACK")
                raise StoreError(
                    f"{self.path}: observations {name!r} were added by another process at the "
                    "same time; nothing was overwritten, add them again"
                ) from None
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return self.observation_info(name, version_number), added

    @staticmethod
    def _insert_observations(
        connection: duckdb.DuckDBPyConnection,
        name: str,
        version_number: int,
        observed: ObservationSet,
        scenario: Scenario,
        source: str,
    ) -> None:
        connection.execute(
            "INSERT INTO observation_sets VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                name,
                version_number,
                observed.sha256,
                datetime.now(UTC).replace(tzinfo=None),
                scenario.name,
                hashlib.sha256(scenario.canonical_json().encode()).hexdigest(),
                source,
            ],
        )
        connection.executemany(
            "INSERT INTO observation_rows VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [name, version_number, r.day, r.place, r.metric, r.value, r.basis]
                for r in observed.rows
            ],
        )

    def observation_infos(self, name: str | None = None) -> list[ObservationInfo]:
        """Every stored version of observed counts, oldest first.

        Parameters
        ----------
        name : str, optional
            Only this set's versions.

        Returns
        -------
        list of ObservationInfo
        """
        with self._connect(write=False) as connection:
            if not _has_table(connection, "observation_sets"):
                return []
            rows = connection.execute(
                "SELECT s.name, s.version, s.sha256, s.added_at, s.scenario_name, s.source, "
                "count(r.day), min(r.day), max(r.day) FROM observation_sets s "
                "JOIN observation_rows r ON r.name = s.name AND r.version = s.version "
                "WHERE ? IS NULL OR s.name = ? "
                "GROUP BY ALL ORDER BY s.name, s.version",
                [name, name],
            ).fetchall()
        return [ObservationInfo(*row) for row in rows]

    def observation_info(self, name: str, version: int | None = None) -> ObservationInfo:
        """One stored version of an observation set.

        Parameters
        ----------
        name : str
            The set's name.
        version : int, optional
            Which version (default: the latest).

        Returns
        -------
        ObservationInfo

        Raises
        ------
        StoreError
            If there is no such set or version.
        """
        infos = self.observation_infos(name)
        if not infos:
            raise StoreError(
                f"no observations named {name!r} in {self.path} (see `fieldcast observe list`)"
            )
        if version is None:
            return infos[-1]
        for info in infos:
            if info.version == version:
                return info
        raise StoreError(f"observations {name!r} have versions 1 to {infos[-1].version}")

    def observations(
        self, name: str, version: int | None = None, as_of: datetime | None = None
    ) -> tuple[ObservationInfo, ObservationSet]:
        """A stored observation set, with its counts.

        Parameters
        ----------
        name : str
            The set's name.
        version : int, optional
            Which version (default: the latest).
        as_of : datetime, optional
            The latest version added by then (UTC): what was known at that time.

        Returns
        -------
        tuple of (ObservationInfo, ObservationSet)

        Raises
        ------
        StoreError
            If there is no such set or version, or none was added by ``as_of``.
        """
        if as_of is not None:
            known = [i for i in self.observation_infos(name) if i.added_at <= as_of]
            if not known:
                raise StoreError(f"no version of observations {name!r} was added by {as_of}")
            version = known[-1].version
        info = self.observation_info(name, version)
        with self._connect(write=False) as connection:
            rows = connection.execute(
                "SELECT day, place, metric, value, basis FROM observation_rows "
                "WHERE name = ? AND version = ? ORDER BY place, metric, day",
                [name, info.version],
            ).fetchall()
        return info, ObservationSet(tuple(ObservedRow(*row) for row in rows))

    # -- calibrations ------------------------------------------------------------------------

    def start_calibration(self, run: Calibration) -> str:
        """Keep a new calibration's scenario, counts and settings.

        Parameters
        ----------
        run : Calibration
            The calibration, before its first generation.

        Returns
        -------
        str
            Its id.
        """
        calibration_id = new_run_id()
        scenario = run.scenario
        with self._connect(write=True) as connection:
            connection.execute(
                "INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    calibration_id,
                    datetime.now(UTC).replace(tzinfo=None),
                    version("fieldcast"),
                    scenario.name,
                    hashlib.sha256(scenario.canonical_json().encode()).hexdigest(),
                    scenario.canonical_json(),
                    run.observations,
                    run.observed.canonical_json(),
                    json.dumps(asdict(run.settings)),
                ],
            )
        return calibration_id

    def add_generation(self, calibration_id: str, generation: Generation) -> None:
        """Keep one complete generation of a calibration (one transaction: all of it or nothing).

        Parameters
        ----------
        calibration_id : str
            The calibration's id.
        generation : Generation
            The generation's particles, weights and diagnostics.

        Raises
        ------
        StoreError
            If the calibration has this generation already (nothing is overwritten).
        """
        with self._connect(write=True) as connection:
            try:
                connection.execute(
                    "INSERT INTO calibration_generations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        calibration_id,
                        generation.number,
                        generation.beta,
                        generation.ess,
                        None if np.isnan(generation.acceptance) else generation.acceptance,
                        generation.moves,
                        generation.simulations,
                        generation.failed,
                        generation.seconds,
                        _npy(generation.values),
                        _npy(generation.log_likelihood),
                    ],
                )
            except duckdb.ConstraintException:
                raise StoreError(
                    f"{self.path}: calibration {calibration_id} already has generation "
                    f"{generation.number}; nothing was overwritten (is it resumed twice?)"
                ) from None

    def add_assessment(self, calibration_id: str, assessment: Assessment) -> None:
        """Keep what a calibration said where it stopped (once per generation assessed).

        Parameters
        ----------
        calibration_id : str
            The calibration's id.
        assessment : Assessment
            The posterior's assessment at its last generation.
        """
        run = assessment.calibration
        with self._connect(write=True) as connection:
            connection.execute(
                "INSERT INTO calibration_assessments VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    calibration_id,
                    run.last.number,
                    datetime.now(UTC).replace(tzinfo=None),
                    run.stopped,
                    json.dumps(assessment.as_dict()),
                ],
            )

    def calibration_infos(self) -> list[CalibrationInfo]:
        """Every calibration, oldest first, with where it stands.

        Returns
        -------
        list of CalibrationInfo
        """
        with self._connect(write=False) as connection:
            if not _has_table(connection, "calibrations"):
                return []
            rows = connection.execute(
                "SELECT c.calibration_id, c.created_at, c.scenario_name, c.observations, "
                "count(g.generation), max(g.beta), max(g.simulations), "
                "(SELECT stopped FROM calibration_assessments a "
                " WHERE a.calibration_id = c.calibration_id ORDER BY generation DESC LIMIT 1) "
                "FROM calibrations c LEFT JOIN calibration_generations g "
                "ON g.calibration_id = c.calibration_id GROUP BY ALL "
                "ORDER BY c.created_at, c.calibration_id"
            ).fetchall()
        return [
            CalibrationInfo(*row[:4], row[4], row[5] or 0.0, row[6] or 0, row[7] or "")
            for row in rows
        ]

    # -- trackings ----------------------------------------------------------------------------

    def add_tracking(self, tracking: Tracking, observation_name: str) -> str:
        """Keep a tracked forecast and its filter's state (what the next update goes on from).

        Each update is a new row: none is ever overwritten.

        Parameters
        ----------
        tracking : Tracking
            The tracked forecast.
        observation_name : str
            The name of the observation set it was conditioned on (or the file's).

        Returns
        -------
        str
            Its id.
        """
        tracking_id = new_run_id()
        state = tracking.state
        model_json = state.model.canonical_json()
        with self._connect(write=True) as connection:
            connection.execute(
                "INSERT INTO trackings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    tracking_id,
                    datetime.now(UTC).replace(tzinfo=None),
                    version("fieldcast"),
                    tracking.scenario.name,
                    hashlib.sha256(model_json.encode()).hexdigest(),
                    model_json,
                    observation_name,
                    tracking.observations,
                    tracking.particles,
                    state.seed,
                    state.day,
                    json.dumps(state.metadata()),
                    state.to_bytes(),
                    json.dumps(tracking.summary()),
                ],
            )
        return tracking_id

    def latest_filter(
        self, model: Scenario, observation_name: str, particles: int, seed: int
    ) -> tuple[str, FilterState] | None:
        """The newest stored filter of this tracked scenario, observation set, particles and seed.

        Parameters
        ----------
        model : Scenario
            The tracked scenario (``tracking.tracked_model``).
        observation_name : str
            The observation set's name.
        particles : int
            The filter's lanes.
        seed : int
            The filter's seed.

        Returns
        -------
        tuple of (str, FilterState) or None
            The tracking id and the state to go on from; None if there is none (or no store).
        """
        from fieldcast.tracking import FilterState

        if not self.path.exists():
            return None  # no store yet (as with --no-store): no filter to go on from
        model_sha256 = hashlib.sha256(model.canonical_json().encode()).hexdigest()
        with self._connect(write=False) as connection:
            if not _has_table(connection, "trackings"):
                return None
            row = connection.execute(
                "SELECT tracking_id, metadata_json, filter_state FROM trackings "
                "WHERE model_sha256 = ? AND observation_name = ? AND particles = ? AND seed = ? "
                "ORDER BY created_at DESC, day DESC LIMIT 1",
                [model_sha256, observation_name, particles, seed],
            ).fetchone()
        if row is None:
            return None
        return row[0], FilterState.from_bytes(model, json.loads(row[1]), row[2])

    def tracking_infos(self) -> list[tuple[str, datetime, str, str, int, int]]:
        """Every tracked forecast, oldest first.

        Returns
        -------
        list of tuple
            (id, created, scenario, observations, as of day, particles).
        """
        with self._connect(write=False) as connection:
            if not _has_table(connection, "trackings"):
                return []
            return connection.execute(
                "SELECT tracking_id, created_at, scenario_name, observations, day, particles "
                "FROM trackings ORDER BY created_at, tracking_id"
            ).fetchall()

    def tracking_summary(self, reference: str) -> tuple[str, dict[str, Any]]:
        """A stored tracked forecast's summary.

        Parameters
        ----------
        reference : str
            Its id, a unique prefix of it, or ``latest``.

        Returns
        -------
        tuple of (str, dict)
            Its id and its summary.
        """
        ids = [info[0] for info in self.tracking_infos()]
        tracking_id = self._pick(ids, reference, "tracked forecast", "fieldcast trackings")
        with self._connect(write=False) as connection:
            row = connection.execute(
                "SELECT summary_json FROM trackings WHERE tracking_id = ?", [tracking_id]
            ).fetchone()
        assert row is not None
        return tracking_id, json.loads(row[0])

    def resolve_calibration(self, reference: str) -> str:
        """A calibration id from a full id, a unique prefix of one, or ``latest``.

        Parameters
        ----------
        reference : str
            The id, a prefix only it has, or ``latest``.

        Returns
        -------
        str
            The full id.
        """
        ids = [info.calibration_id for info in self.calibration_infos()]
        return self._pick(ids, reference, "calibration", "fieldcast calibrations")

    def _pick(self, ids: list[str], reference: str, what: str, listing: str) -> str:
        """The one id of ``ids`` (oldest first) that ``reference`` names: in full, by a prefix
        that only it has, or ``latest``. An empty reference names nothing (a delete by an
        empty prefix would otherwise take whatever is there)."""
        if not reference.strip():
            raise StoreError(f"an empty {what} id names nothing: give an id, a prefix or latest")
        named = [i for i in ids if i.startswith(reference)]
        matches = ids[-1:] if reference == "latest" else named
        if not matches:
            raise StoreError(f"no {what} {reference!r} in {self.path} (see `{listing}`)")
        if len(matches) > 1:
            raise StoreError(f"{reference!r} matches {len(matches)} of them; give more of the id")
        return matches[0]

    def calibration(self, reference: str) -> tuple[str, Calibration, dict[str, Any] | None]:
        """A stored calibration as it stands (its complete generations), ready to resume.

        Parameters
        ----------
        reference : str
            Its id, a unique prefix of it, or ``latest``.

        Returns
        -------
        tuple of (str, Calibration, dict or None)
            Its id, the calibration, and its latest assessment (None if none was made).
        """
        from fieldcast.calibration import Calibration, Generation, Settings

        calibration_id = self.resolve_calibration(reference)
        with self._connect(write=False) as connection:
            row = connection.execute(
                "SELECT scenario_json, observations, observations_json, settings_json "
                "FROM calibrations WHERE calibration_id = ?",
                [calibration_id],
            ).fetchone()
            assert row is not None
            generations = connection.execute(
                "SELECT generation, beta, particle_values, log_likelihood, ess, acceptance, "
                "moves, simulations, failed, seconds FROM calibration_generations "
                "WHERE calibration_id = ? ORDER BY generation",
                [calibration_id],
            ).fetchall()
            assessed = connection.execute(
                "SELECT stopped, summary_json FROM calibration_assessments "
                "WHERE calibration_id = ? ORDER BY generation DESC LIMIT 1",
                [calibration_id],
            ).fetchone()
        scenario_json, observations, observations_json, settings_json = row
        scenario = _stored_scenario(scenario_json, f"calibration {calibration_id}", "")
        observed = ObservationSet(
            tuple(ObservedRow(*fields) for fields in json.loads(observations_json))
        )
        stored = json.loads(settings_json)
        settings = Settings(**{**stored, "parameters": tuple(stored.get("parameters", ()))})
        run = Calibration(scenario, observed, observations, settings)
        for number, beta, values, loglik, ess, acceptance, moves, sims, failed, secs in generations:
            run.generations.append(
                Generation(
                    number=number,
                    beta=beta,
                    values=_from_npy(values),
                    log_likelihood=_from_npy(loglik),
                    ess=ess,
                    acceptance=math.nan if acceptance is None else acceptance,
                    moves=moves,
                    simulations=sims,
                    failed=failed,
                    seconds=secs,
                )
            )
        if assessed is not None:
            run.stopped = assessed[0]
        return calibration_id, run, None if assessed is None else json.loads(assessed[1])

    # -- reading -----------------------------------------------------------------------------

    def list(self) -> list[RunInfo]:
        """Every stored run, oldest first.

        Returns
        -------
        list of RunInfo
        """
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
        """A run id from a full id, a unique prefix of one, or ``latest``.

        Parameters
        ----------
        reference : str
            The id, a prefix only it has, or ``latest``.

        Returns
        -------
        str
            The full id.

        Raises
        ------
        StoreError
            If no run, or more than one, matches (or there are none yet).
        """
        with self._connect(write=False) as connection:
            ids = [
                str(row[0])
                for row in connection.execute(
                    "SELECT run_id FROM runs ORDER BY created_at, run_id"
                ).fetchall()
            ]
        if reference == "latest" and not ids:
            raise StoreError(f"{self.path}: no runs stored yet")
        return self._pick(ids, reference, "run", "fieldcast runs list")

    def get(self, reference: str) -> StoredRun:
        """A stored run with its daily series.

        Parameters
        ----------
        reference : str
            Its id, a unique prefix of it, or ``latest``.

        Returns
        -------
        StoredRun
        """
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
            scenario=_stored_scenario(scenario_json, f"run {run_id}", made_by),
            seed=seed,
            replications=replications,
            engine=engine,
            seconds=seconds,
            summary=json.loads(summary),
            daily={name: _unmasked(column) for name, column in daily.items()},
        )

    def export(
        self, reference: str, directory: str | Path, file_format: str, long: bool = False
    ) -> list[Path]:
        """Write a run's tables as Parquet or CSV files, or one long table.

        The tables: the run (scenario and summary), its daily series, trajectories, (from
        store schema 4) every replication's kept outcomes and (from schema 7) its bed-days and
        monitor-days. The long table has one row per value:
        (scenario, run, seed, replication, day, place, metric, measure, value, series), the
        trajectories with ``series`` "daily" and the outcomes with "outcome"; it is read without
        fieldcast (DuckDB, pandas, polars). Nothing is overwritten.

        Parameters
        ----------
        reference : str
            The run's id, a unique prefix of it, or ``latest``.
        directory : str or Path
            The folder to write into (made if missing).
        file_format : {"parquet", "csv"}
            The files' format.
        long : bool
            One long table instead of the tables.

        Returns
        -------
        list of Path
            The files written.

        Raises
        ------
        StoreError
            If the format is unknown, a file to write exists, or the folder cannot be written.
        """
        if file_format not in ("parquet", "csv"):
            raise StoreError(f"unknown export format {file_format!r} (use parquet or csv)")
        run_id = self.resolve(reference)
        directory = Path(directory)
        with self._connect(write=False) as connection:
            kept = [name for name in ("outcomes", "resource_use") if _has_table(connection, name)]
            (scenario_json,) = connection.execute(
                "SELECT scenario_json FROM runs WHERE run_id = ?", [run_id]
            ).fetchone()
        tables = ["runs", "daily", "trajectories", *kept]
        queries = {table: f"SELECT * FROM {table} WHERE run_id = '{run_id}'" for table in tables}
        if long:
            last_day = int(json.loads(scenario_json)["operation"]["horizon_days"]) - 1
            queries = {"long": _long_query(run_id, kept, last_day)}
        targets = {name: directory / f"{run_id}-{name}.{file_format}" for name in queries}
        if directory.exists() and not directory.is_dir():
            raise StoreError(f"{directory} is a file; give a folder to export into")
        existing = [str(target) for target in targets.values() if target.exists()]
        if existing:
            raise StoreError(f"{', '.join(existing)} exist: nothing was overwritten")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot make the folder {directory}: {error.strerror}") from None
        if not os.access(directory, os.W_OK):
            raise StoreError(f"cannot write in {directory} (permissions)")
        options = "FORMAT parquet" if file_format == "parquet" else "FORMAT csv, HEADER"
        with self._connect(write=False) as connection:
            for name, query in queries.items():
                quoted = targets[name].as_posix().replace("'", "''")
                connection.execute(f"COPY ({query}) TO '{quoted}' ({options})")
        return list(targets.values())

    def replication(self, reference: str, replication: int) -> dict[str, np.ndarray] | None:
        """A stored run's kept outcomes of one replication.

        Parameters
        ----------
        reference : str
            The run's id, a unique prefix of it, or ``latest``.
        replication : int
            Which replication, counted from 0.

        Returns
        -------
        dict of numpy.ndarray or None
            Columns as ``results.outcome_rows`` gives them (names for place and metric; NULLs
            masked), sorted by day, place and metric; None for a run stored before fieldcast kept
            them (store schema 4), or a replication it does not have.
        """
        run_id = self.resolve(reference)
        with self._connect(write=False) as connection:
            if not _has_table(connection, "outcomes"):
                return None
            rows = connection.execute(
                "SELECT replication, day, place, metric, households, persons, minors "
                "FROM outcomes WHERE run_id = ? AND replication = ? "
                "ORDER BY day, place, metric",
                [run_id, replication],
            ).fetchnumpy()
        if len(rows["replication"]) == 0:
            return None
        return rows  # NULLs are masked

    def replication_resource_use(self, reference: str, replication: int) -> tuple[int, int] | None:
        """A stored run's bed-days and monitor-days of one replication.

        Parameters
        ----------
        reference : str
            The run's id, a unique prefix of it, or ``latest``.
        replication : int
            Which replication, counted from 0.

        Returns
        -------
        tuple of int or None
            (bed-days, monitor-days); None for a run stored before fieldcast kept them (store
            schema 7), or a replication it does not have.
        """
        run_id = self.resolve(reference)
        with self._connect(write=False) as connection:
            if not _has_table(connection, "resource_use"):
                return None
            row = connection.execute(
                "SELECT bed_days, monitor_days FROM resource_use "
                "WHERE run_id = ? AND replication = ?",
                [run_id, replication],
            ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def national_outcomes(self, reference: str) -> dict[tuple[int, str], dict[str, np.ndarray]]:
        """A stored run's national totals of its kept outcomes, every replication's: what
        ``runs compare`` pairs up (``reports.comparison.paired_changes``).

        Parameters
        ----------
        reference : str
            The run's id, a unique prefix of it, or ``latest``.

        Returns
        -------
        dict
            By (day, metric): ``persons`` and ``minors`` per replication, in replication order
            (minors masked where they do not apply); empty for a run stored before fieldcast
            kept them (store schema 4). From store schema 7 also each replication's resource
            use by the last day, (day, ``"bed_days"``) and (day, ``"monitor_days"``), as
            ``value``: what its cost is computed from.
        """
        run_id = self.resolve(reference)
        with self._connect(write=False) as connection:
            if not _has_table(connection, "outcomes"):
                return {}
            rows = connection.execute(
                "SELECT day, metric, persons, minors FROM outcomes "
                "WHERE run_id = ? AND place = ? ORDER BY day, metric, replication",
                [run_id, TOTAL],
            ).fetchnumpy()
            used = (
                connection.execute(
                    "SELECT bed_days, monitor_days FROM resource_use WHERE run_id = ? "
                    "ORDER BY replication",
                    [run_id],
                ).fetchnumpy()
                if _has_table(connection, "resource_use")
                else {"bed_days": np.empty(0)}
            )
        day, metric = rows["day"], rows["metric"]
        # sorted: each (day, metric) in one stretch, found without a loop over the rows
        new = np.flatnonzero((day[1:] != day[:-1]) | (metric[1:] != metric[:-1])) + 1
        starts, ends = np.r_[0, new], np.r_[new, len(day)]
        totals = {
            (int(day[a]), str(metric[a])): {
                "persons": rows["persons"][a:b],
                "minors": rows["minors"][a:b],
            }
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
            if b > a
        }
        if len(used["bed_days"]) and len(day):
            last_day = int(day.max())
            for name in ("bed_days", "monitor_days"):
                totals[(last_day, name)] = {"value": np.asarray(used[name])}
        return totals

    # -- jobs (the web dashboard's queue, ``jobs.py``) ------------------------------------------

    def submit_job(
        self, kind: str, scenario: Scenario, settings: dict[str, Any], key: str, limit: int
    ) -> tuple[JobInfo | None, bool]:
        """Queue a job, unless one with the same key is queued, running or done.

        Parameters
        ----------
        kind : str
            The kind of job (``jobs.JOB_KINDS``).
        scenario : Scenario
            What it runs on (kept whole: the job does not depend on files).
        settings : dict
            Its settings, complete.
        key : str
            What identical submissions share (``jobs.JobRequest.key``).
        limit : int
            The most jobs that may wait at once.

        Returns
        -------
        tuple of (JobInfo or None, bool)
            The job and whether it is new; (None, False) if ``limit`` jobs are waiting.
        """
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._connect(write=True) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                same = connection.execute(
                    f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_key = ? "
                    "AND state IN ('queued', 'running', 'done') ORDER BY created_at LIMIT 1",
                    [key],
                ).fetchone()
                if same is not None:
                    connection.execute("COMMIT")
                    return JobInfo(*same), False
                (waiting,) = connection.execute(
                    "SELECT count(*) FROM jobs WHERE state = 'queued'"
                ).fetchone()
                if waiting >= limit:
                    connection.execute("COMMIT")
                    return None, False
                job_id = new_run_id()
                connection.execute(
                    "INSERT INTO jobs VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, false, 0, NULL, NULL, NULL, "
                    "NULL, NULL)",
                    [
                        job_id,
                        now,
                        now,
                        version("fieldcast"),
                        kind,
                        scenario.name,
                        scenario.canonical_json(),
                        json.dumps(settings, sort_keys=True),
                        key,
                    ],
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return self.job(job_id), True

    def claim_job(self, worker: str) -> JobInfo | None:
        """The oldest queued job, now running on ``worker``; None if nothing is queued.

        One process holds the store at a time, so two workers never claim one job.

        Parameters
        ----------
        worker : str
            Who runs it (host and process id).

        Returns
        -------
        JobInfo or None
        """
        with self._connect(write=True) as connection:
            row = connection.execute(
                "SELECT job_id FROM jobs WHERE state = 'queued' ORDER BY created_at, job_id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            now = datetime.now(UTC).replace(tzinfo=None)
            connection.execute(
                "UPDATE jobs SET state = 'running', worker = ?, updated_at = ?, started_at = ?, "
                "seconds_left = NULL WHERE job_id = ?",
                [worker, now, now, row[0]],
            )
        return self.job(row[0])

    def job_progress(self, job_id: str, progress: float, seconds_left: float | None = None) -> bool:
        """Record how far a running job has got.

        Parameters
        ----------
        job_id : str
            The job.
        progress : float
            The share done, 0 to 1.
        seconds_left : float, optional
            An estimate of the time it has left (None: none to give).

        Returns
        -------
        bool
            True if its cancellation has been asked for (the job should stop).
        """
        with self._connect(write=True) as connection:
            connection.execute(
                "UPDATE jobs SET progress = ?, seconds_left = ?, updated_at = ? WHERE job_id = ?",
                [
                    min(max(progress, 0.0), 1.0),
                    seconds_left,
                    datetime.now(UTC).replace(tzinfo=None),
                    job_id,
                ],
            )
            row = connection.execute(
                "SELECT cancel_requested FROM jobs WHERE job_id = ?", [job_id]
            ).fetchone()
        return bool(row and row[0])

    def finish_job(
        self, job_id: str, state: JobState, result_json: str | None, error: str | None
    ) -> None:
        """Record how a job ended.

        Parameters
        ----------
        job_id : str
            The job.
        state : {"done", "failed", "cancelled"}
            How it ended.
        result_json : str, optional
            Its answer (done).
        error : str, optional
            What went wrong (failed).
        """
        with self._connect(write=True) as connection:
            connection.execute(
                "UPDATE jobs SET state = ?, result_json = ?, error = ?, updated_at = ?, "
                "seconds_left = NULL, "
                "progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END WHERE job_id = ?",
                [state, result_json, error, datetime.now(UTC).replace(tzinfo=None), state, job_id],
            )

    def cancel_job(self, job_id: str) -> JobInfo:
        """Cancel a job: at once if it waits, at its next progress report if it runs.

        Parameters
        ----------
        job_id : str
            The job.

        Returns
        -------
        JobInfo
            The job as it now stands.
        """
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._connect(write=True) as connection:
            connection.execute(
                "UPDATE jobs SET state = 'cancelled', updated_at = ? "
                "WHERE job_id = ? AND state = 'queued'",
                [now, job_id],
            )
            connection.execute(
                "UPDATE jobs SET cancel_requested = true, updated_at = ? "
                "WHERE job_id = ? AND state = 'running'",
                [now, job_id],
            )
        return self.job(job_id)

    def recover_jobs(self, max_interruptions: int, worker: str | None = None) -> list[str]:
        """Queue again the jobs left running by a server (or a worker) that is gone, each
        counted as an interruption; a job interrupted ``max_interruptions`` times fails
        instead.

        Parameters
        ----------
        max_interruptions : int
            How often a job may be interrupted.
        worker : str, optional
            Only this worker's job (default: every running job).

        Returns
        -------
        list of str
            The ids of the jobs queued again.
        """
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._connect(write=True) as connection:
            rows = connection.execute(
                "SELECT job_id, interruptions FROM jobs WHERE state = 'running' "
                "AND (? IS NULL OR worker = ?)",
                [worker, worker],
            ).fetchall()
            requeued = []
            for job_id, interruptions in rows:
                if interruptions + 1 >= max_interruptions:
                    connection.execute(
                        "UPDATE jobs SET state = 'failed', interruptions = ?, updated_at = ?, "
                        "error = ? WHERE job_id = ?",
                        [
                            interruptions + 1,
                            now,
                            f"interrupted {interruptions + 1} times (the server stopped while "
                            "it ran)",
                            job_id,
                        ],
                    )
                    continue
                connection.execute(
                    "UPDATE jobs SET state = 'queued', progress = 0, worker = NULL, "
                    "seconds_left = NULL, interruptions = ?, updated_at = ? WHERE job_id = ?",
                    [interruptions + 1, now, job_id],
                )
                requeued.append(job_id)
        return requeued

    def job(self, job_id: str) -> JobInfo:
        """One job.

        Parameters
        ----------
        job_id : str
            Its id.

        Returns
        -------
        JobInfo

        Raises
        ------
        StoreError
            If there is no such job.
        """
        with self._connect(write=False) as connection:
            row = None
            if _has_table(connection, "jobs"):
                row = connection.execute(
                    f"SELECT {_job_columns(connection)} FROM jobs WHERE job_id = ?", [job_id]
                ).fetchone()
        if row is None:
            raise StoreError(f"no job {job_id!r} in {self.path}")
        return JobInfo(*row)

    def jobs(self, limit: int = 50) -> list[JobInfo]:
        """The newest jobs, newest first.

        Parameters
        ----------
        limit : int
            How many at most.

        Returns
        -------
        list of JobInfo
        """
        if not self.path.exists():
            return []
        with self._connect(write=False) as connection:
            if not _has_table(connection, "jobs"):
                return []
            rows = connection.execute(
                f"SELECT {_job_columns(connection)} FROM jobs "
                "ORDER BY created_at DESC, job_id DESC LIMIT ?",
                [limit],
            ).fetchall()
        return [JobInfo(*row) for row in rows]


def _long_query(run_id: str, kept: list[str], last_day: int) -> str:
    """One row per value: the trajectories' and (if stored) the outcomes' measures unpivoted,
    and each replication's bed-days and monitor-days (if stored) as outcomes of the last day
    in person-days and household-days, with the scenario, run and seed that identify each
    replication's random numbers."""
    unpivoted = [
        "SELECT *, 'daily' AS series FROM (UNPIVOT (SELECT * FROM trajectories "
        f"WHERE run_id = '{run_id}') ON households, persons, minors "
        "INTO NAME measure VALUE value)"
    ]
    if "outcomes" in kept:  # UNPIVOT leaves out NULLs: a measure that does not apply has no row
        unpivoted.append(
            "SELECT *, 'outcome' AS series FROM (UNPIVOT (SELECT * FROM outcomes "
            f"WHERE run_id = '{run_id}') ON households, persons, minors "
            "INTO NAME measure VALUE value)"
        )
    if "resource_use" in kept:
        unpivoted.append(
            f"SELECT run_id, replication, {last_day} AS day, '{TOTAL}' AS place, metric, "
            "CASE metric WHEN 'bed_days' THEN 'person_days' ELSE 'household_days' END "
            "AS measure, value, 'outcome' AS series FROM (UNPIVOT (SELECT * FROM resource_use "
            f"WHERE run_id = '{run_id}') ON bed_days, monitor_days "
            "INTO NAME metric VALUE value)"
        )
    return (
        "SELECT runs.scenario_name AS scenario, rows.run_id AS run, runs.seed, "
        "rows.replication, rows.day, rows.place, rows.metric, rows.measure, rows.value, "
        f"rows.series FROM ({' UNION ALL '.join(unpivoted)}) AS rows "
        "JOIN runs USING (run_id) "
        "ORDER BY rows.series, rows.replication, rows.day, rows.place, rows.metric, rows.measure"
    )


def _stored_scenario(scenario_json: str, what: str, made_by: str) -> Scenario:
    """A stored scenario, validated by this version of fieldcast; one that no longer
    validates (a newer version checks more) is a clear error, not a crash."""
    try:
        return validate_scenario(json.loads(scenario_json), source=what)
    except ScenarioError as error:
        by = f" (stored by fieldcast {made_by})" if made_by else ""
        raise StoreError(
            f"{what}{by}: its scenario does not validate with fieldcast {version('fieldcast')}: "
            + str(error).removeprefix(f"{what}: ")
        ) from None


def _open_problem(error: str, write: bool) -> str:
    """What DuckDB's error on opening a store means for the user."""
    if "not a valid DuckDB database file" in error:
        return "not a run store (not a DuckDB file)"
    if "Permission denied" in error or "Read-only file system" in error:
        return f"the run store cannot be {'written' if write else 'read'} here (permissions)"
    if "Could not read enough bytes" in error or "checksum" in error.lower():
        return (
            "the run store is damaged (cut short or overwritten); nothing was changed. "
            "Restore it from a copy, or use another store with --store"
        )
    return f"cannot open the run store ({error})"


def _npy(array: np.ndarray) -> bytes:
    """An array as .npy bytes (numpy's own format: exact, with its shape and type)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _from_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _has_table(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the store has a table (an older store read without upgrading may not)."""
    return table in {row[0] for row in connection.execute("SHOW TABLES").fetchall()}


def _job_columns(connection: duckdb.DuckDBPyConnection) -> str:
    """What to select for a ``JobInfo``: a store of schema version 5 read without upgrading
    has no ``started_at`` or ``seconds_left`` yet."""
    (found,) = connection.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'jobs' AND column_name = 'seconds_left'"
    ).fetchone()
    return _JOB_COLUMNS if found else _JOB_COLUMNS_5


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
