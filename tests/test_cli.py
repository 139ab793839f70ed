"""The command line as a user calls it: the installed `fieldcast` script, in a subprocess."""

from __future__ import annotations

import atexit
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from conftest import variant
from fieldcast import run_forecast
from fieldcast.reports.terminal import render_forecast
from fieldcast.scenario import Scenario

FIELDCAST = str(Path(sys.executable).parent / "fieldcast")


STORE = Path(tempfile.mkdtemp(prefix="fieldcast-cli-")) / "runs.duckdb"
atexit.register(shutil.rmtree, STORE.parent, ignore_errors=True)  # shared by this module's tests


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """fieldcast as a user runs it, with the run store in a temporary folder."""
    result = subprocess.run(
        [FIELDCAST, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "FIELDCAST_STORE": str(STORE)},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fieldcast {' '.join(args)} failed:\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def forecast_json() -> dict:
    return json.loads(run("forecast", "--json", "-n", "300", "--seed", "3").stdout)


def test_forecast_json_has_the_documented_fields(forecast_json: dict) -> None:
    for key in (
        "scenario",
        "seed",
        "replications",
        "goal_persons",
        "p_goal",
        "persons_arrested",
        "by_city",
        "leak_effect_persons",
        "binding",
        "cost",
        "people_affected",
    ):
        assert key in forecast_json, key
    assert forecast_json["scenario"] == "seed-2019"
    assert forecast_json["seed"] == 3
    assert forecast_json["replications"] == 300
    assert forecast_json["goal_persons"] == 2040
    # the seed operation arrests about a tenth of its goal: no replication reaches it
    assert forecast_json["p_goal"] == 0.0
    assert forecast_json["persons_arrested"]["p95"] < forecast_json["goal_persons"]
    for interval in (
        forecast_json["persons_arrested"],
        forecast_json["leak_effect_persons"],
        forecast_json["by_city"]["Chicago"],
    ):
        assert interval["p05"] <= interval["median"] <= interval["p95"]
    assert len(forecast_json["by_city"]) == 11
    # the leak can only cost arrests in this scenario
    assert forecast_json["leak_effect_persons"]["mean"] < 0


def test_forecast_is_bit_identical_whatever_the_process_count() -> None:
    args = ("forecast", "seed-2019-as-executed", "--json", "-n", "2500", "--seed", "9")
    one = run(*args, "--processes", "1").stdout
    two = run(*args, "--processes", "2").stdout
    assert one == two
    assert json.loads(one)["replications"] == 2500


def test_forecast_report_is_readable() -> None:
    output = run("forecast", "-n", "200").stdout
    for heading in ("Reach", "By city", "Leak effect", "What binds", "Costs", "People affected"):
        assert heading in output
    assert "Probability of reaching the goal" in output
    listed = re.search(r"by field day \(median\): (.*)", arrested_by_day(output))
    assert listed is not None  # seven field days: every one listed
    assert re.findall(r"day (\d+):", listed[1]) == [str(d) for d in range(7)]


def arrested_by_day(output: str) -> str:
    """The report's line of persons arrested by field day, unwrapped from its panel."""
    start = output.index("Cumulative persons arrested by field day")
    return " ".join(output[start : output.index("╰", start)].replace("│", " ").split())


def test_a_long_field_window_is_listed_at_a_steady_step(tmp_path: Path) -> None:
    """Forty field days print day 0, every seventh day and the last, and say so; the JSON
    keeps every day."""
    long = tmp_path / "long.toml"
    exported = run("scenario", "export").stdout
    assert exported.count("field_days = 7\n") == 1
    long.write_text(exported.replace("field_days = 7\n", "field_days = 40\n"))
    output = run("forecast", str(long), "-n", "50", "--no-store").stdout
    line = re.search(r"by field day \(median; (.*?)\): (.*)", arrested_by_day(output))
    assert line is not None, output
    assert line[1] == (
        "of the 40 field days, every 7 days from day 0 and the last; every day in the JSON"
    )
    assert re.findall(r"day (\d+):", line[2]) == ["0", "7", "14", "21", "28", "35", "39"]
    summary = json.loads(run("forecast", str(long), "-n", "50", "--no-store", "--json").stdout)
    assert [row["day"] for row in summary["arrests_by_day"]] == list(range(40))


def test_bad_scenario_file_exits_non_zero_with_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(run("scenario", "export").stdout.replace("p_contact = 0.3", "p_contact = 1.3"))
    for command in (("forecast", str(bad)), ("scenario", "validate", str(bad))):
        result = run(*command, check=False)
        assert result.returncode == 2
        assert "city_defaults.p_contact: Input should be less than or equal to 1" in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
    unknown = run("forecast", "no-such-scenario", check=False)
    assert unknown.returncode == 2
    assert "no such file and no built-in scenario" in unknown.stderr


def test_scenario_commands(tmp_path: Path) -> None:
    listing = run("scenarios").stdout
    for name in ("seed-2019", "seed-2019-as-executed", "national"):
        assert name in listing
    listed = {s["name"]: s for s in json.loads(run("scenarios", "--json").stdout)}
    assert listed["seed-2019"]["default"] and listed["seed-2019"]["target_persons"] == 2040
    assert {"seed-2019-as-executed", "national", "seed-2019-docket"} <= set(listed)
    shown = run("scenario", "show", "seed-2019").stdout
    assert "city_defaults.p_in_absentia" in shown
    assert "ICE press call, July 2019" in shown
    exported = tmp_path / "mine.toml"
    exported.write_text(run("scenario", "export", "national").stdout)
    assert "valid scenario 'national'" in run("scenario", "validate", str(exported)).stdout


def test_runs_are_stored_listed_compared_exported_and_deleted(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.duckdb")
    planned = run("forecast", "-n", "200", "--json", "--store", store)
    assert "stored as run" in planned.stderr
    run("forecast", "seed-2019-as-executed", "-n", "200", "--store", store)
    run("forecast", "-n", "200", "--no-store", "--store", store)
    listed = json.loads(run("runs", "list", "--json", "--store", store).stdout)
    assert [r["scenario_name"] for r in listed] == ["seed-2019", "seed-2019-as-executed"]
    first, second = (r["run_id"] for r in listed)
    assert "Reach" in run("runs", "show", first[:15], "--store", store).stdout
    compared = run("runs", "compare", first, second, "--store", store).stdout
    assert "stands_down_day" in compared and "Outcomes" in compared
    # the same seed and replications: paired, New Orleans' standing down arrests fewer
    paired = compared[compared.index(f"Paired change, {first} -> {second}") :]
    arrested = re.search(r"persons arrested by end of field work\s*│\s*(\S+)", paired)
    assert arrested is not None and arrested.group(1).startswith("-")
    as_json = json.loads(run("runs", "compare", first, second, "--json", "--store", store).stdout)
    (compared_json,) = as_json["compared"]
    assert compared_json["run_id"] == second and compared_json["paired_change"]["unpaired"] is None
    rows = {row["outcome"]: row for row in compared_json["paired_change"]["rows"]}
    assert (
        arrested.group(1) == f"{rows['persons arrested by end of field work']['difference']:+,.0f}"
    )
    assert {"path": "city_overrides.New Orleans.stands_down_day", "before": None, "after": 0} in (
        compared_json["scenario_changes"]
    )
    exported = run(
        "runs", "export", second, "--format", "csv", "--out", str(tmp_path), "--store", store
    ).stdout
    assert f"{second}-daily.csv" in exported
    again = run(
        "runs", "export", second, "--format", "csv", "--out", str(tmp_path), "--store", store,
        check=False,
    )  # fmt: skip
    assert again.returncode == 2 and "nothing was overwritten" in again.stderr
    onto_file = run(
        "runs", "export", second, "--out", str(tmp_path / "runs.duckdb"), "--store", store,
        check=False,
    )  # fmt: skip
    assert onto_file.returncode == 2 and "is a file" in onto_file.stderr
    refused = run("runs", "delete", first, "--store", store, check=False)
    assert refused.returncode == 1  # asked, no answer: nothing deleted
    run("runs", "delete", first, "--yes", "--store", store)
    listed = json.loads(run("runs", "list", "--json", "--store", store).stdout)
    assert [r["run_id"] for r in listed] == [second]


def test_report_writes_html_and_pngs(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.duckdb")
    run("forecast", "-n", "200", "--store", store)
    run("forecast", "seed-2019-as-executed", "-n", "200", "--store", store)
    out = tmp_path / "report.html"
    run("report", "latest", "--out", str(out), "--png", str(tmp_path / "png"), "--store", store)
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert len(list((tmp_path / "png").glob("*.png"))) == 5
    ids = [r["run_id"] for r in json.loads(run("runs", "list", "--json", "--store", store).stdout)]
    comparison = tmp_path / "comparison.html"
    run("report", *ids, "--out", str(comparison), "--store", store)
    assert "Scenario differences" in comparison.read_text()


SMALL_PLAN = """
extends = "seed-2019"
name = "two-cities"
cities = [
  { name = "Atlanta", target_persons = 300 },
  { name = "Los Angeles", target_persons = 100 },
  { name = "New York", target_persons = 100 },
  { name = "Other field offices (standby)", target_persons = 0 },
]
[operation]
goal_persons = 40
field_days = 3
horizon_days = 40
tempo = [1.0, 0.5]
[city_defaults]
teams = 2
"""


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("plans") / "two-cities.toml"
    path.write_text(SMALL_PLAN)
    return str(path)


def test_planning_commands_answer_in_json(small_plan: str) -> None:
    """check, plan (across cities by either objective, and across days) and requirement, as a
    user runs them, each with --json."""
    findings = json.loads(run("check", small_plan, "--json").stdout)
    assert "teams_without_targets" in {finding["code"] for finding in findings}
    split = json.loads(run("plan", small_plan, "--teams", "4", "-n", "100", "--json").stdout)
    assert sum(split["recommended"].values()) == 4 and split["objective"] == "expected"
    chance = json.loads(
        run("plan", small_plan, "--objective", "probability", "-n", "100", "--json").stdout
    )
    assert chance["goal_persons"] == 40 and chance["proven_optimal"]
    compared = chance["p_goal"]
    assert compared["difference"] == pytest.approx(compared["recommended"] - compared["current"])
    assert compared["difference_low"] <= compared["difference"] <= compared["difference_high"]
    days = json.loads(
        run("plan", small_plan, "--across", "days", "--step", "0.5", "-n", "100", "--json").stdout
    )
    assert sum(days["recommended"]) == pytest.approx(sum(days["current"])) == 2.0
    needed = json.loads(
        run(
            "requirement", small_plan, "--goal", "30", "--vary", "teams", "-n", "100", "--json"
        ).stdout
    )
    assert needed["least"] is not None and needed["resource"] == "teams"


def test_planning_answers_as_csv_hold_the_jsons_figures(small_plan: str, tmp_path: Path) -> None:
    """``--csv`` beside ``--json``: one row per value, level, assumption, city and team count,
    field day or finding, with the JSON's figures in columns named by their path."""
    import csv

    def both(*arguments: str) -> tuple[Any, list[dict[str, str]]]:
        table = tmp_path / "table.csv"
        answer = json.loads(run(*arguments, "--json", "--csv", str(table)).stdout)
        with table.open(newline="", encoding="utf-8") as file:
            return answer, list(csv.DictReader(file))

    answer, rows = both("sweep", small_plan, "--vary", "city_defaults.teams", "--values", "1,3")
    assert [float(r["value"]) for r in rows] == [v["value"] for v in answer["values"]]
    assert [float(r["persons_arrested.p95"]) for r in rows] == [
        v["persons_arrested"]["p95"] for v in answer["values"]
    ]
    assert {r["parameter"] for r in rows} == {"city_defaults.teams"}
    answer, rows = both("requirement", small_plan, "--goal", "30", "-n", "100")
    assert [(int(r["level"]), float(r["p_goal"])) for r in rows] == [
        (level["level"], level["p_goal"]) for level in answer["levels"]
    ]
    answer, rows = both("plan", small_plan, "--teams", "4", "-n", "100")
    chosen = {r["city"]: int(r["teams"]) for r in rows if r["recommended"] == "True"}
    assert chosen == answer["recommended"]
    curves = answer["expected_persons_arrested_by_teams"]
    assert len(rows) == sum(len(curve) for curve in curves.values())
    answer, rows = both("plan", small_plan, "--across", "days", "--step", "0.5", "-n", "100")
    assert [float(r["share_recommended"]) for r in rows] == answer["recommended"]
    answer, rows = both("sensitivity", small_plan, "-n", "10", "--samples", "4")
    ranked = [
        (output, row["parameter"], row["mu_star"])
        for output, found in answer["outputs"].items()
        for row in found["ranking"]
    ]
    assert [(r["output"], r["parameter"], float(r["mu_star"])) for r in rows] == ranked
    answer, rows = both("check", small_plan)
    assert [r["code"] for r in rows] == [finding["code"] for finding in answer]


def test_planning_commands_refuse_bad_requests_clearly(small_plan: str) -> None:
    for args, message in (
        (("plan", small_plan, "--across", "days", "--teams", "3"), "--teams: only with"),
        (("plan", small_plan, "--across", "days", "--step", "0.3"), "not in whole steps"),
        (("sensitivity", "--method", "sobol", "--samples", "12"), "power of two"),
        (("requirement", small_plan, "--probability", "0"), "probability: must be in (0, 1]"),
        (("requirement", small_plan, "--goal", "0"), "'--goal'"),
        (("plan", small_plan, "--objective", "probability", "--goal", "0"), "'--goal'"),
        (
            ("requirement", small_plan, "--vary", "beds", "--ceiling", "1000000000000"),
            "ceiling: 1,000,000,000,000 free beds make no valid scenario",
        ),
    ):
        result = run(*args, check=False)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_json_output_is_always_valid_json() -> None:
    """JSON has no NaN or infinity; Python's json would write them as bare words."""
    from fieldcast.cli import finite

    document = {"a": float("nan"), "b": [float("inf"), 1.5, {"c": -float("inf")}], "d": (2, "x")}
    text = json.dumps(finite(document), allow_nan=False)
    assert json.loads(text) == {"a": None, "b": [None, 1.5, {"c": None}], "d": [2, "x"]}


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """`fieldcast --help` and `scenario validate` start fast (`make bench`:
    cli_help_seconds) because the CLI loads the engine, the store and the plotting and
    statistics libraries only in the commands that use them."""
    heavy = ("numba", "numpy", "duckdb", "scipy", "matplotlib", "pandas", "SALib", "distributed")
    code = f"import sys, fieldcast.cli; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_a_narrow_report_in_a_file_keeps_every_figure(tmp_path: Path) -> None:
    """Printed into a file at 60 columns, the report wraps and folds but never cuts: each
    figure of the JSON summary that the report shows is there whole (it once printed a
    correlation of 0.85 as "0.8" and cut a title with an ellipsis)."""
    common = ["forecast", "seed-2019", "-n", "200", "--seed", "3", "--no-store"]
    env = {**os.environ, "COLUMNS": "60"}
    summary = json.loads(
        subprocess.run(
            [FIELDCAST, *common, "--json"], capture_output=True, text=True, check=True
        ).stdout
    )
    text = subprocess.run(
        [FIELDCAST, *common], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 60
    numbers = set(re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text))
    intervals = [summary["persons_arrested"], *summary["by_city"].values()]
    expected = {f"{i[key]:,.0f}" for i in intervals for key in ("median", "p05", "p95")}
    expected |= {f"{row['median']:,.0f}" for row in summary["arrests_by_day"]}
    expected.add(f"{summary['leak_effect_persons']['correlation']:.2f}")
    assert expected <= numbers, sorted(expected - numbers)


@pytest.mark.parametrize(
    "command",
    [
        ["report", "latest", "--out", "{missing}/report.html"],
        ["report", "latest", "--out", "{folder}"],
        ["observe", "simulate", "--out", "{missing}/observed.csv"],
        ["calibrate", "--observed", "x.csv", "--out", "{missing}/calibrated.toml"],
        ["backtest", "--observed", "x.csv", "--out", "{missing}/backtest.html"],
        ["sensitivity", "--chart", "{missing}/chart.png"],
    ],
)
def test_an_output_that_cannot_be_written_is_refused_first(
    tmp_path: Path, command: list[str]
) -> None:
    """Checked before anything is computed or read: the command fails at once, naming the
    option and why (it used to fail with a traceback after the computation)."""
    filled = [part.format(missing=tmp_path / "missing", folder=tmp_path) for part in command]
    result = run(*filled, check=False)
    option = next(part for part in filled if part in ("--out", "--chart"))
    assert result.returncode == 2 and f"{option}:" in result.stderr, result.stderr
    assert "does not exist" in result.stderr or "is a folder" in result.stderr


def test_names_are_printed_as_they_are_never_as_console_markup(tmp_path: Path) -> None:
    """A city named "[/]Atlanta" once validated and then crashed the report (rich read it
    as markup); a title holding a [link=...] tag was rendered as a link. A city's name must
    now look like a place's, but a scenario's name and title may still hold brackets."""
    from fieldcast.catalog import load_scenario
    from fieldcast.scenario import editable_data

    data = editable_data(load_scenario("seed-2019"))
    data["name"] = "[/]plan [red]B"
    data["title"] = "[link=file:///etc/passwd]Docket[/link] [bold]operation"
    path = tmp_path / "markup.json"
    path.write_text(json.dumps(data))
    report = run("forecast", str(path), "-n", "50", "--no-store")
    assert "[/]plan [red]B" in report.stdout
    shown = run("scenario", "show", str(path))
    assert "[link=file:///etc/passwd]Docket[/link] [bold]operation" in shown.stdout
    data["cities"][0]["name"] = "[/]Atlanta"
    path.write_text(json.dumps(data))
    refused = run("scenario", "validate", str(path), check=False)
    assert refused.returncode == 2
    assert "cities.0.name: a place name starts with a letter" in refused.stderr
    data["cities"][0]["name"] = "Atlanta"
    data["city_defaults"]["[/]x"] = "[bold]1"  # once crashed `validate` with a MarkupError
    path.write_text(json.dumps(data))
    refused = run("scenario", "validate", str(path), check=False)
    assert refused.returncode == 2
    assert "city_defaults.[/]x: unknown key" in refused.stderr, refused.stderr


def test_set_changes_a_value_as_a_file_would_and_says_so(tmp_path: Path) -> None:
    """``--set PATH=VALUE`` runs the scenario a file extending it would give (the same numbers),
    marks the value's provenance and the title, and works on every command that reads a
    scenario; a path or value it cannot take is named."""
    (tmp_path / "variant.toml").write_text(
        'extends = "seed-2019"\n[city_defaults]\np_contact = 0.4\n'
        "[city_overrides.Chicago]\nteams = 6\n"
    )
    settings = ["--set", "city_defaults.p_contact=0.4", "--set", "city_overrides.Chicago.teams=6"]
    common = ["--json", "-n", "200", "--seed", "3", "--no-store"]
    by_set = json.loads(run("forecast", *settings, *common).stdout)
    by_file = json.loads(run("forecast", str(tmp_path / "variant.toml"), *common).stdout)
    plain = json.loads(run("forecast", *common).stdout)
    assert by_set["persons_arrested"] == by_file["persons_arrested"]
    assert by_set["by_city"] == by_file["by_city"]
    assert by_set["persons_arrested"] != plain["persons_arrested"]
    shown = run("scenario", "show", *settings).stdout
    assert "(with --set city_defaults.p_contact=0.4, city_overrides.Chicago.teams=6)" in shown
    assert "set with --set (seed-2019 has 0.3, assumption: calibrated" in shown
    exported = tmp_path / "exported.toml"
    exported.write_text(run("scenario", "export", *settings).stdout)
    assert "valid scenario 'seed-2019'" in run("scenario", "validate", str(exported)).stdout
    swept = run("sweep", "--vary", "city_defaults.teams", "--values", "4", *settings[:2], "--json")
    assert json.loads(swept.stdout)["scenario"] == "seed-2019"
    for setting, message in [
        ("city_defaults.p_contcat=0.4", "--set city_defaults.p_contcat: not a parameter"),
        ("city_defaults.p_contact=high", "--set city_defaults.p_contact: 'high' is not a number"),
        ("city_defaults.p_contact=1.5", "city_defaults.p_contact: Input should be less than"),
        ("city_defaults.teams", "write PATH=VALUE"),
    ]:
        refused = run("forecast", "--set", setting, "-n", "10", check=False)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        (["forecast", "--processes", "1000"], "--processes"),
        (["forecast", "-n", str(10**12)], "--replications"),
        (["forecast", "--seed", str(2**64)], "--seed"),
        (["forecast", "--workers", "500"], "--workers"),
        (["forecast", "--observed", "x.csv", "--particles", str(10**7)], "--particles"),
        (["plan", "--teams", str(10**9), "-n", "2"], "--teams"),
    ],
)
def test_an_absurd_argument_is_refused_before_any_work(arguments: list[str], option: str) -> None:
    """Each once exhausted the machine (1,002 processes, a MemoryError, a 4 GB plan) or
    failed only when the run was stored."""
    result = run(*arguments, check=False)
    assert result.returncode == 2 and f"'{option}'" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["forecast", "--particles", "500"], "--particles: only with --observed"),
        (["forecast", "--parameter", "city_defaults.p_contact"], "--parameter: only with"),
        (["forecast", "--draws", "50"], "--draws: only with --uncertainty assumptions"),
        (
            ["forecast", "--replication", "0", "--run", "latest", "--set", "operation.teams=1"],
            "--run: the run gives the scenario and the seed; give no scenario, --set",
        ),
        (["forecast", "--replication", "3", "--particles", "500"], "--particles: only with"),
        (
            ["forecast", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
            "--workers: give --workers (a local Dask cluster) or --scheduler",
        ),
    ],
)
def test_an_option_that_would_be_ignored_is_refused(arguments: list[str], message: str) -> None:
    """An option that does nothing in the run asked for is named, not silently dropped: the
    user who gave it expected it to count (a forecast ran without the filter's particles, or
    on the scheduler while --workers was given)."""
    result = run(*arguments, check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr


@pytest.mark.parametrize("first", ["fieldcast, numpy", "numpy, fieldcast"])
@pytest.mark.parametrize(("setting", "huge_pages"), [(None, "False"), ("1", "True")])
def test_numpy_is_told_not_to_ask_for_huge_pages_unless_the_user_says(
    setting: str | None, huge_pages: str, first: str
) -> None:
    """Importing fieldcast turns numpy's madvise of huge pages off (it stalled large copies:
    docs/performance.md, "Huge pages, again"), whether numpy was imported before or after it; a
    value the user set is kept."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if setting is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = setting
    code = f"import {first}; print(numpy._core.multiarray._get_madvise_hugepage())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == huge_pages


def test_teams_bind_where_a_city_with_targets_has_no_field_capacity(
    simple_scenario: Scenario,
) -> None:
    """B has targets and no teams: nobody there is arrested for want of teams, so team
    capacity binds, though A, with more teams than it can use, never uses every attempt. With
    teams in B too, nothing says it binds."""
    overrides = {"A": {"teams": 40}, "B": {"teams": 0}}
    without = run_forecast(
        variant(simple_scenario, city_overrides=overrides), replications=100, seed=4
    ).summary()
    binding = without["binding"]
    assert binding["team_capacity_full_share"] == 0.0
    assert binding["cities_with_targets_without_capacity"] == ["B"]
    assert "team_capacity" in binding["binds"]
    shown = io.StringIO()
    render_forecast(without, Console(file=shown, width=200))
    assert "no field capacity at all in 1 of the 2 cities with targets" in shown.getvalue()
    overrides["B"] = {"teams": 40}
    staffed = run_forecast(
        variant(simple_scenario, city_overrides=overrides), replications=100, seed=4
    ).summary()["binding"]
    assert staffed["cities_with_targets_without_capacity"] == []
    assert "team_capacity" not in staffed["binds"]
