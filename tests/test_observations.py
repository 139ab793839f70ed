"""Observed counts: every bad file refused with the row and the reason, one canonical form
whatever the file's format and order, and versions in the store that are never lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from conftest import variant
from fieldcast.forecast import run_forecast
from fieldcast.observations import (
    ObservationError,
    ObservedCount,
    check_name,
    check_observations,
    read_observations,
)
from fieldcast.scenario import Scenario
from fieldcast.store import SCHEMA_VERSION, RunStore, StoreError

FIELDCAST = str(Path(sys.executable).parent / "fieldcast")
HEADER = "day,place,metric,value,basis\n"
GOOD = [
    (0, "A", "arrests", 5, "cumulative"),
    (1, "A", "arrests", 9, "cumulative"),
    (3, "A", "arrests", 12, "cumulative"),
    (0, "B", "arrests", 4, "daily"),
    (1, "B", "arrests", 0, "daily"),
    (2, "Total", "removals", 1, "cumulative"),
    (1, "A", "collateral_arrests", 2, "daily"),
]


@pytest.fixture(scope="module")
def scenario(simple_scenario: Scenario) -> Scenario:
    """A, B with targets, C without; B's teams stand down in the variant below."""
    return simple_scenario


def _csv(path: Path, rows: list[tuple]) -> Path:
    path.write_text(HEADER + "".join(",".join(map(str, row)) + "\n" for row in rows))
    return path


def _raw(rows: list[tuple]) -> list[dict]:
    return [dict(zip(("day", "place", "metric", "value", "basis"), r, strict=True)) for r in rows]


def test_csv_and_json_in_any_order_are_the_same_set(scenario: Scenario, tmp_path: Path) -> None:
    from_csv = read_observations(_csv(tmp_path / "a.csv", GOOD), scenario)
    document = {"rows": _raw(list(reversed(GOOD)))}
    (tmp_path / "a.json").write_text(json.dumps(document))
    from_json = read_observations(tmp_path / "a.json", scenario)
    assert from_csv == from_json
    assert from_csv.sha256 == from_json.sha256
    changed = read_observations(
        _csv(tmp_path / "b.csv", [*GOOD[:-1], (1, "A", "notices", 2, "daily")]), scenario
    )
    assert changed.sha256 != from_csv.sha256


def test_a_spreadsheet_export_reads_as_the_plain_file(scenario: Scenario, tmp_path: Path) -> None:
    """What a spreadsheet writes (a byte-order mark, CRLF line ends, semicolons or tabs,
    capitalised headers and words, a city's name in other case) gives the same counts; a
    name that still matches no city is refused, naming the cities."""
    plain = read_observations(_csv(tmp_path / "plain.csv", GOOD), scenario)
    for delimiter in (";", "\t"):
        lines = [delimiter.join(("Day", "Place", "Metric", "Value", "Basis"))]
        for day, place, metric, value, basis in GOOD:
            place = place.lower() if place != "Total" else "TOTAL"
            lines.append(
                delimiter.join(map(str, (day, place, metric.title(), value, basis.title())))
            )
        exported = tmp_path / "exported.csv"
        exported.write_bytes("\r\n".join(lines).encode("utf-8-sig") + b"\r\n")
        observed = read_observations(exported, scenario)
        assert observed == plain and observed.sha256 == plain.sha256, repr(delimiter)
    with pytest.raises(ObservationError, match=r"place 'Boston' is not a city.*cities: A, B, C"):
        check_observations(_raw([(0, "Boston", "arrests", 1, "daily")]), scenario)


@pytest.mark.parametrize(
    ("delimiter", "written", "read"),
    [
        (",", '"1,234"', 1234),  # a comma file's thousands mark
        (",", "1.000", 1),  # and its decimal mark
        ("\t", "1,234", 1234),
        (";", "1.234", 1234),  # a semicolon file's thousands mark
        (";", "1.000", 1000),  # read as 1 before
        (";", "5,0", 5),  # and its decimal mark
        (";", "1 234", 1234),
        (",", "1\u00a0234", 1234),
        (",", "1'234", 1234),
    ],
)
def test_grouped_numbers_read_in_their_files_convention(
    scenario: Scenario, tmp_path: Path, delimiter: str, written: str, read: int
) -> None:
    """A spreadsheet writes large numbers grouped by thousands, with the thousands mark of
    its convention: a comma where commas or tabs separate the columns, a full stop where
    semicolons do (the decimal mark is then a comma); spaces and apostrophes in any."""
    header = delimiter.join(("day", "place", "metric", "value", "basis"))
    row = delimiter.join(("1", "A", "collateral_arrests", written, "daily"))
    (tmp_path / "grouped.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert read_observations(tmp_path / "grouped.csv", scenario).rows[0].value == read


@pytest.mark.parametrize(("delimiter", "written"), [(";", "1,5"), (";", "1,234"), (",", '"1,5"')])
def test_a_number_that_is_not_whole_in_its_files_convention_is_refused(
    scenario: Scenario, tmp_path: Path, delimiter: str, written: str
) -> None:
    header = delimiter.join(("day", "place", "metric", "value", "basis"))
    row = delimiter.join(("1", "A", "collateral_arrests", written, "daily"))
    (tmp_path / "odd.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    shown = written.strip('"')
    with pytest.raises(
        ObservationError, match=f"row 1: value: expected a whole number, got '{shown}'"
    ):
        read_observations(tmp_path / "odd.csv", scenario)


def test_json_may_give_the_basis_once(scenario: Scenario, tmp_path: Path) -> None:
    rows = [{"day": 0, "place": "A", "metric": "arrests", "value": 3}]
    (tmp_path / "once.json").write_text(json.dumps({"basis": "daily", "rows": rows}))
    observed = read_observations(tmp_path / "once.json", scenario)
    assert observed.rows[0].basis == "daily"


def test_counts_are_intervals_between_observed_days(scenario: Scenario) -> None:
    """A cumulative series counts from the operation's start, then between its values; a
    daily value is its own day; nothing is counted twice."""
    observed = check_observations(_raw(GOOD), scenario)
    counts = observed.counts(start_day=0)
    assert ObservedCount("A", "arrests", 0, 0, 5) in counts
    assert ObservedCount("A", "arrests", 1, 1, 4) in counts
    assert ObservedCount("A", "arrests", 2, 3, 3) in counts
    assert ObservedCount("B", "arrests", 1, 1, 0) in counts
    assert ObservedCount("Total", "removals", 0, 2, 1) in counts
    assert len(counts) == len(GOOD)
    assert sum(c.persons for c in counts if c.place == "A" and c.metric == "arrests") == 12
    assert len(observed.counts(start_day=0, up_to_day=1)) == 5


BAD = {
    "unknown city": ([(0, "Atlantis", "arrests", 1, "daily")], "place 'Atlantis' is not a city"),
    "unknown metric": ([(0, "A", "arrest", 1, "daily")], "metric 'arrest' is not observable"),
    "negative": ([(0, "A", "arrests", -1, "daily")], "value -1 is negative"),
    "fraction": ([(0, "A", "arrests", 1.5, "daily")], "expected a whole number"),
    "not a number": ([(0, "A", "arrests", "many", "daily")], "expected a whole number"),
    "infinite": ([(0, "A", "arrests", "inf", "daily")], "expected a whole number"),
    "no basis": ([(0, "A", "arrests", 1, "")], "basis must be cumulative or daily"),
    "before day 0": ([(-1, "A", "arrests", 1, "daily")], "day -1 is outside the operation"),
    "after the horizon": ([(60, "A", "arrests", 1, "daily")], "day 60 is outside"),
    "decreasing": (
        [(0, "A", "arrests", 5, "cumulative"), (1, "A", "arrests", 4, "cumulative")],
        "a cumulative series cannot decrease",
    ),
    "duplicate": (
        [(0, "A", "arrests", 5, "daily"), (0, "A", "arrests", 5, "daily")],
        "more than one value for day 0",
    ),
    "mixed basis": (
        [(0, "A", "arrests", 5, "daily"), (1, "A", "arrests", 6, "cumulative")],
        "either cumulative or daily",
    ),
    "city and total": (
        [(0, "A", "arrests", 5, "daily"), (0, "Total", "arrests", 6, "daily")],
        "both per city and as the Total",
    ),
    "more than the targets": ([(0, "C", "arrests", 1, "daily")], "more than the 0 target"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_rows_are_refused_with_the_reason(scenario: Scenario, case: str) -> None:
    rows, message = BAD[case]
    with pytest.raises(ObservationError, match=message):
        check_observations(_raw(rows), scenario)


def test_a_city_that_stood_down_cannot_report_arrests(scenario: Scenario) -> None:
    stood_down = variant(scenario, city_overrides={"B": {"teams": 0}})
    with pytest.raises(ObservationError, match=r"B arrests: 3 arrests reported.*stood down"):
        check_observations(_raw([(0, "B", "arrests", 3, "daily")]), stood_down)
    check_observations(_raw([(0, "B", "arrests", 0, "daily")]), stood_down)  # zero is true


def test_files_are_refused_before_they_are_read_wrongly(scenario: Scenario, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text(HEADER)
    with pytest.raises(ObservationError, match=r"unknown file type '\.txt'"):
        read_observations(tmp_path / "x.txt", scenario)
    (tmp_path / "short.csv").write_text("day,place,value\n0,A,1\n")
    with pytest.raises(ObservationError, match="missing: basis, metric"):
        read_observations(tmp_path / "short.csv", scenario)
    (tmp_path / "broken.json").write_text('{"rows": [')
    with pytest.raises(ObservationError, match="not valid JSON"):
        read_observations(tmp_path / "broken.json", scenario)
    with pytest.raises(ObservationError, match="not a file"):
        read_observations(tmp_path, scenario)
    for name in ("../etc", "", "a b", "x" * 65, ".hidden"):
        with pytest.raises(ObservationError, match="use letters, digits"):
            check_name(name)


def test_versions_are_kept_and_the_same_counts_add_nothing(
    scenario: Scenario, tmp_path: Path
) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    first = check_observations(_raw(GOOD[:3]), scenario)
    info, added = store.add_observations("op", first, scenario, "day1.csv")
    assert (info.version, added) == (1, True)
    info, added = store.add_observations("op", first, scenario, "again.csv")
    assert (info.version, added) == (1, False)
    between = datetime.now(UTC).replace(tzinfo=None)
    second = check_observations(_raw(GOOD), scenario)
    info, added = store.add_observations("op", second, scenario, "day3.csv")
    assert (info.version, added) == (2, True)
    assert store.observations("op")[1] == second
    assert store.observations("op", version=1)[1] == first
    assert store.observations("op", as_of=between)[1] == first  # what was known then
    assert [i.version for i in store.observation_infos()] == [1, 2]
    with pytest.raises(StoreError, match="versions 1 to 2"):
        store.observation_info("op", 3)
    with pytest.raises(StoreError, match="no observations named 'other'"):
        store.observations("other")


def test_a_version_1_store_is_upgraded_in_place(
    scenario: Scenario, seed_scenario: Scenario, tmp_path: Path
) -> None:
    """A store written before observations, calibrations, tracking and per-replication
    outcomes existed keeps its runs and gains their tables (version 1 to the latest, through
    every version between)."""
    path = tmp_path / "old.duckdb"
    store = RunStore(path)
    run_id = store.save(run_forecast(seed_scenario, replications=20, seed=1), 0.0)
    with duckdb.connect(str(path)) as connection:  # make it what fieldcast 1 wrote
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        for table in tables - {"store_info", "runs", "daily", "trajectories"}:
            connection.execute(f"DROP TABLE {table}")
        connection.execute("UPDATE store_info SET value = '1' WHERE key = 'schema_version'")
    assert store.observation_infos() == []  # reading needs no upgrade
    store.add_observations("op", check_observations(_raw(GOOD), scenario), scenario, "f.csv")
    assert store.get(run_id).run_id == run_id
    with duckdb.connect(str(path), read_only=True) as connection:
        version = connection.execute(
            "SELECT value FROM store_info WHERE key = 'schema_version'"
        ).fetchone()
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
    assert version == (str(SCHEMA_VERSION),)
    assert {"observation_sets", "calibrations", "trackings", "outcomes"} <= tables


def test_observe_commands(tmp_path: Path) -> None:
    env = {**os.environ, "FIELDCAST_STORE": str(tmp_path / "runs.duckdb")}

    def observe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FIELDCAST, "observe", *args], capture_output=True, text=True, env=env, timeout=120
        )

    rows = [(0, "Atlanta", "arrests", 5, "cumulative"), (1, "Atlanta", "arrests", 9, "cumulative")]
    path = _csv(tmp_path / "first-days.csv", rows)
    added = observe("add", str(path))
    assert added.returncode == 0, added.stderr
    assert "'first-days' added as version 1 (2 rows, days 0 to 1," in added.stdout
    assert "unchanged" in observe("add", str(path)).stdout
    one = observe("add", str(_csv(tmp_path / "one-day.csv", rows[:1])))
    assert "'one-day' added as version 1 (1 row, day 0," in one.stdout, one.stdout
    shown = json.loads(observe("show", "first-days", "--json").stdout)
    assert shown["version"] == 1 and shown["rows"][1]["value"] == 9
    listed = json.loads(observe("list", "--json").stdout)
    assert [(i["name"], i["version"], i["rows"]) for i in listed] == [
        ("first-days", 1, 2),
        ("one-day", 1, 1),
    ]
    bad = _csv(tmp_path / "bad.csv", [(0, "Atlanta", "arrests", 5, "cumulative")] * 2)
    refused = observe("add", str(bad))
    assert refused.returncode == 2
    assert "Atlanta arrests: more than one value for day 0" in refused.stderr
    assert "Traceback" not in refused.stderr
