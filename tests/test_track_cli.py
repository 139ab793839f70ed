"""Tracking and backtests as a user runs them: counts added day by day, `fieldcast forecast
--observed` going on from its stored filter, the HTML report, `fieldcast backtest`."""

from __future__ import annotations

import csv
import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from test_calibrate_cli import FIELDCAST, fieldcast

SMALL = ["--particles", "300"]


def _first_days(source: Path, target: Path, last_day: int) -> Path:
    with source.open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if int(row["day"]) <= last_day]
    with target.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """National arrests of seed-2019 run with p_contact 0.4, days 0 to 6, in full.csv."""
    folder = tmp_path_factory.mktemp("track")
    store = folder / "runs.duckdb"
    fieldcast(
        store, "observe", "simulate", "seed-2019", "--set", "city_defaults.p_contact=0.4",
        "--metric", "arrests", "--total", "--seed", "3", "--out", "full.csv",
    )  # fmt: skip
    return folder


def test_tracking_day_by_day_goes_on_from_the_stored_filter(workdir: Path) -> None:
    store = workdir / "runs.duckdb"
    full = workdir / "full.csv"
    fieldcast(
        store, "observe", "add", str(_first_days(full, workdir / "d3.csv", 3)), "--name", "op"
    )
    first = json.loads(
        fieldcast(store, "forecast", "seed-2019", "--observed", "op", *SMALL, "--json").stdout
    )
    assert first["as_of_day"] == 3 and first["updated_from_day"] is None
    assert first["before"]["as_of_day"] == 2
    assert [step["day"] for step in first["steps"]] == [0, 1, 2, 3]
    fieldcast(
        store, "observe", "add", str(_first_days(full, workdir / "d4.csv", 4)), "--name", "op"
    )
    second = fieldcast(store, "forecast", "seed-2019", "--observed", "op", *SMALL, "--json")
    summary = json.loads(second.stdout)
    assert summary["as_of_day"] == 4 and summary["updated_from_day"] == 3
    assert summary["before"] == first["after"]  # what changed is measured from the last one
    change = summary["change"]
    assert change["p_goal"] == summary["after"]["p_goal"] - first["after"]["p_goal"]
    assert set(change["by_place"]) == {"Total"}
    report = workdir / "tracking.html"
    fieldcast(store, "report", "--tracking", summary["tracking_id"], "--out", str(report))
    page = report.read_text()
    assert "What moved it" in page and "reported:Total" in page and "<svg" in page
    text = fieldcast(store, "forecast", "seed-2019", "--observed", "op", *SMALL).stdout
    assert "Effective sample size" in text and "as of day 4" in text
    listed = fieldcast(store, "trackings").stdout
    assert first["tracking_id"] in listed and summary["tracking_id"] in listed
    kept = json.loads(fieldcast(store, "trackings", "--json").stdout)
    assert [(t["tracking_id"], t["day"]) for t in kept][:2] == [
        (first["tracking_id"], first["as_of_day"]),
        (summary["tracking_id"], summary["as_of_day"]),
    ]


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["-n", "500"], "--replications"),
        (["--engine", "reference"], "--engine reference"),
        (["--uncertainty", "assumptions"], "--uncertainty assumptions"),
    ],
)
def test_forecast_options_that_do_not_apply_to_tracking_are_refused(
    workdir: Path, option: list[str], named: str
) -> None:
    result = fieldcast(
        workdir / "runs.duckdb", "forecast", "seed-2019", "--observed", "full.csv", *option,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2 and named in result.stderr
    assert "does not apply to a tracked forecast" in result.stderr


def test_a_parameter_that_cannot_be_tracked_is_refused(workdir: Path) -> None:
    result = fieldcast(
        workdir / "runs.duckdb", "forecast", "seed-2019", "--observed", "full.csv",
        "--parameter", "city_defaults.teams", *SMALL, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "city_defaults.teams shapes the scenario's structure" in result.stderr


def test_backtest_scores_every_horizon_and_writes_its_report(workdir: Path) -> None:
    store = workdir / "runs.duckdb"
    result = fieldcast(
        store, "backtest", "seed-2019", "--observed", "full.csv", *SMALL, "--json",
        "--out", "backtest.html",
    )  # fmt: skip
    summary = json.loads(result.stdout)
    horizons = [row["horizon_days"] for row in summary["by_horizon"]]
    assert horizons == [1, 2, 3, 4, 5, 6]
    assert [row["predictions"] for row in summary["by_horizon"]] == [6, 5, 4, 3, 2, 1]
    for row in summary["by_horizon"]:
        assert 0 <= row["coverage_50"] <= row["coverage_90"] <= 1
        assert sum(row["pit_histogram"]) == row["predictions"] and row["crps"] >= 0
    page = (workdir / "backtest.html").read_text()
    assert "Scores by horizon" in page and "<svg" in page
    single = _first_days(workdir / "full.csv", workdir / "d0.csv", 0)
    refused = fieldcast(store, "backtest", "--observed", str(single), check=False)
    assert refused.returncode == 2 and "at least two days" in refused.stderr


def test_a_tracked_forecast_without_a_store_needs_none(workdir: Path) -> None:
    """`--no-store` with no run store yet used to fail looking for a stored filter; it runs
    from day 0 and leaves no store behind."""
    missing = workdir / "never-made.duckdb"
    result = fieldcast(
        missing, "forecast", "seed-2019", "--observed", "full.csv", "--no-store", "--json",
        *SMALL,
    )  # fmt: skip
    assert json.loads(result.stdout)["as_of_day"] == 6
    assert not missing.exists()


def _on_a_terminal(store: Path, *args: str) -> str:
    """What ``fieldcast ARGS`` writes to its standard error when it is a terminal (a
    pseudo-terminal here): where progress bars are shown."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [FIELDCAST, *args],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "FIELDCAST_STORE": str(store), "COLUMNS": "100"},
        cwd=store.parent,
    ) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end closed: the command is done
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=300) == 0
    os.close(leader)
    return shown.decode(errors="replace")


@pytest.mark.parametrize(
    ("command", "bar"),
    [
        (["forecast", "seed-2019", "--no-store"], "observed days filtered"),
        (["backtest", "seed-2019"], "forecasts scored"),
    ],
)
def test_tracking_and_backtests_show_their_progress_on_a_terminal(
    workdir: Path, command: list[str], bar: str
) -> None:
    shown = _on_a_terminal(workdir / "runs.duckdb", *command, "--observed", "full.csv", *SMALL)
    assert f"seed-2019: {bar}" in shown and "elapsed" in shown
