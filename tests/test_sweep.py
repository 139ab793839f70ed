"""What if one value were different (``fieldcast sweep``): the values it runs, each the run of
the changed scenario to the bit, paired with the scenario's own value by common random
numbers, what binds at each, and every refusal naming its field."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import variant
from fieldcast.planning.sweep import MAX_VALUES, OUTPUTS, run_sweep, sweep_outputs, sweep_values
from fieldcast.replications import replication_values, simulate
from fieldcast.scenario import Scenario
from test_cli import run

ARRESTED = OUTPUTS.index("persons_arrested")


def test_the_values_run_are_those_asked_for_and_the_scenarios_own(
    seed_scenario: Scenario,
) -> None:
    assert sweep_values(seed_scenario, "leak.events.1.peak_hazard", [0.08, 0.0]) == [
        0.0,
        0.04,
        0.08,
    ]
    # five across the declared range (2 to 8 teams), whole numbers for a whole-number parameter
    assert sweep_values(seed_scenario, "city_defaults.teams", None) == [2, 4, 5, 6, 8]
    # a log-uniform prior: evenly in the logarithm (the scenario's own 0.0004 among them)
    span = {"low": 0.0001, "high": 0.0016, "prior": "log-uniform"}
    log_uniform = variant(seed_scenario, **{"ranges": {"leak.baseline_hazard": span}})
    spread = sweep_values(log_uniform, "leak.baseline_hazard", None)
    assert spread == [0.0001, 0.0002, 0.0004, 0.0008, 0.0016]


@pytest.mark.parametrize(
    ("parameter", "values", "said"),
    [
        ("city_defaults.p_contac", None, "parameter: city_defaults.p_contac is not a parameter"),
        ("city_defaults.p_contac", None, "(did you mean 'city_defaults.p_contact'?)"),
        ("operation.tempo", [1.0], "parameter: operation.tempo is not a number"),
        (
            "city_defaults.monitors",
            [5.0],
            "parameter: city_defaults.monitors is not set in this scenario; a sweep varies a "
            "number the scenario sets: set it first (on the command line, --set "
            "city_defaults.monitors=VALUE)",
        ),
        ("detention.beds", None, "values: detention.beds has no range in [ranges]"),
        ("city_defaults.teams", [2.5], "values: city_defaults.teams is a whole number, not 2.5"),
        (
            "city_defaults.p_contact",
            [0.2, 1.5],
            "values: 1.5 makes no valid scenario (city_defaults.p_contact: Input should be less "
            "than or equal to 1 (got 1.5))",
        ),
        ("city_defaults.p_contact", [float("nan")], "values: nan is not a number to try"),
        (
            "detention.beds",
            list(range(4000, 4000 + MAX_VALUES)),
            f"values: at most {MAX_VALUES} in one sweep, got {MAX_VALUES + 1}",
        ),
    ],
)
def test_a_sweep_that_cannot_run_is_refused_naming_the_field(
    seed_scenario: Scenario, parameter: str, values: list[float] | None, said: str
) -> None:
    with pytest.raises(ValueError) as refused:
        run_sweep(seed_scenario, parameter, values, replications=2)
    assert said in str(refused.value)


def test_each_value_is_the_changed_scenarios_own_run_to_the_bit(seed_scenario: Scenario) -> None:
    """The values run as lanes of shared batches, on two processes; each value's replications
    are those of the changed scenario run alone, in one process, with the same seed: so every
    value draws the same random numbers, whatever else runs beside it."""
    swept = run_sweep(
        seed_scenario, "leak.events.1.peak_hazard", [0.0, 0.08], 300, seed=11, processes=2
    )
    assert swept.values == (0.0, 0.04, 0.08)
    for value, outputs in zip(swept.values, swept.outputs, strict=True):
        changed = seed_scenario.replace({"leak.events.1.peak_hazard": value})
        (alone,) = replication_values([changed], 300, 11, sweep_outputs)
        assert np.array_equal(outputs, alone), value
        # and its outcomes are those a forecast counts (a forecast's first replications keep
        # their daily paths, drawn otherwise: the same distribution, other numbers)
        forecast = simulate(changed, 300, 11).outcome("arrests")
        # (within 8 persons: at 300 replications, with a spread of about 21 persons, the two
        # medians' difference has a standard error of about 2; 8 is four of them)
        assert abs(np.median(forecast) - np.median(outputs[ARRESTED])) <= 8, value
    in_one = run_sweep(seed_scenario, "leak.events.1.peak_hazard", [0.0, 0.08], 300, seed=11)
    assert np.array_equal(in_one.outputs, swept.outputs)  # however the work is split
    summary = swept.as_dict()
    own, without_leak = summary["values"][1], summary["values"][0]
    assert own["scenarios_own"] and own["change_in_persons_arrested"]["median"] == 0
    change = swept.outputs[0, ARRESTED] - swept.outputs[1, ARRESTED]
    assert without_leak["change_in_persons_arrested"]["mean"] == pytest.approx(change.mean())
    assert without_leak["change_in_persons_arrested"]["median"] > 0  # no press leak: more found
    assert "Replication noise only" in summary["includes"] and "(0.04)" in summary["includes"]
    assert json.loads(json.dumps(summary)) == summary  # JSON-ready as it is


def test_each_value_says_when_the_goal_is_reached(seed_scenario: Scenario) -> None:
    """Each value's day the goal is reached: by one of its own field days (a sweep of the
    field days changes them, and a day counted from another first day than the run's, day
    -27, would be later), exactly as often as its goal is met.
    The terminal shows the median day as a column only where some value reaches the goal in
    half its replications: a goal of 150 persons is, in 7 and 9 field days and not in 5;
    seed-2019's own 2,040 never is."""
    from rich.console import Console

    from fieldcast.reports.numbers import sweep_goal_days
    from fieldcast.reports.terminal import render_sweep

    def printed(summary: dict) -> str:
        console = Console(file=io.StringIO(), width=200)
        render_sweep(summary, console)
        return console.file.getvalue()  # type: ignore[attr-defined]

    lowered = variant(seed_scenario, **{"operation.goal_persons": 150})
    summary = run_sweep(lowered, "operation.field_days", [5, 9], 300, seed=3).as_dict()
    for row in summary["values"]:
        goal_day = row["goal_day"]
        assert goal_day["p_reached"] == row["p_goal"] and 0 <= goal_day["p05"] < row["value"]
        assert goal_day["median"] is None or goal_day["median"] < row["value"]
    days = sweep_goal_days(summary["values"])
    medians = [row["goal_day"]["median"] for row in summary["values"]]
    assert medians[0] is None and days == ["not reached", *map(str, medians[1:])]
    shown = printed(summary)
    assert "goal day" in shown and all(re.search(rf"│ +{day} │", shown) for day in days)
    far = run_sweep(seed_scenario, "operation.field_days", [5], 100, seed=3).as_dict()
    assert sweep_goal_days(far["values"]) is None and "goal day" not in printed(far)
    # a sweep of the goal itself: each value's chance and day are of its own goal
    goals = run_sweep(seed_scenario, "operation.goal_persons", [150], 300, seed=3).as_dict()
    lower, own = goals["values"]
    assert lower["p_goal"] == lower["goal_day"]["p_reached"] > 0.5 and own["p_goal"] == 0


def test_the_change_is_paired_by_common_random_numbers(seed_scenario: Scenario) -> None:
    """The point of running every value with the same replications: a value's persons arrested
    move with the scenario's own, replication by replication, so their change is far narrower
    than the spread of either. Over 1,000 replications the correlation of the totals at the
    scenario's own value (a press leak of 0.04) and without that leak is high (0.86 in the
    forecast's leak effect). The deliberately wrong variant runs the values on different
    replications (no common random numbers): there, independent totals, the correlation stays
    within +/-0.104, its 99.9% bound for 1,000 independent pairs (3.29 / sqrt(1,000))."""
    swept = run_sweep(seed_scenario, "leak.events.1.peak_hazard", [0.0], 1000, seed=3)
    without_leak, own = swept.outputs[:, ARRESTED]
    assert np.corrcoef(without_leak, own)[0, 1] > 0.6
    variants = [seed_scenario.replace({"leak.events.1.peak_hazard": v}) for v in swept.values]
    unpaired = replication_values(variants, 1000, 3, sweep_outputs, first_replications=[0, 1000])
    assert abs(np.corrcoef(unpaired[0][ARRESTED], unpaired[1][ARRESTED])[0, 1]) < 0.104
    paired_spread = np.std(own - without_leak)
    assert paired_spread < 0.5 * np.std(unpaired[1][ARRESTED] - unpaired[0][ARRESTED])


def test_one_citys_own_value_is_swept_alone(seed_scenario: Scenario) -> None:
    """Chicago has no override of its contact rate: the sweep starts from the value it has
    (the default, 0.3) and changes Chicago's alone; its own value is the scenario unchanged."""
    swept = run_sweep(seed_scenario, "city_overrides.Chicago.p_contact", [0.6], 300, seed=4)
    assert swept.values == (0.3, 0.6) and swept.current == 0.3
    (alone,) = replication_values([seed_scenario], 300, 4, sweep_outputs)
    assert np.array_equal(swept.outputs[0], alone)
    change = swept.as_dict()["values"][1]["change_in_persons_arrested"]
    assert change["median"] > 0  # more contact in one city of ten: more arrests, a few


def test_a_grid_runs_every_pair_each_the_changed_scenarios_own_run(
    seed_scenario: Scenario,
) -> None:
    """With a second parameter every pair of values runs (the first parameter's values
    outermost), each pair the scenario with both values run alone with the same seed, paired
    with the scenario's own pair; the terminal shows the grid of medians and chances."""
    from rich.console import Console

    from fieldcast.reports.terminal import render_sweep

    teams, days = "city_defaults.teams", "operation.field_days"
    grid = run_sweep(seed_scenario, teams, [6], 200, seed=5, by=days, by_values=[9], processes=2)
    assert grid.pairs() == [(4, 7), (4, 9), (6, 7), (6, 9)]
    for (value, second), outputs in zip(grid.pairs(), grid.outputs, strict=True):
        changed = seed_scenario.replace({teams: value, days: second})
        (alone,) = replication_values([changed], 200, 5, sweep_outputs)
        assert np.array_equal(outputs, alone), (value, second)
    # the rows that keep one value at the scenario's own are that one-parameter sweep's
    along = run_sweep(seed_scenario, teams, [6], 200, seed=5)
    assert np.array_equal(grid.outputs[[0, 2]], along.outputs)
    summary = grid.as_dict()
    assert summary["by"] == {
        "parameter": days,
        "unit": "days",
        "meaning": "field days, from day 0",
        "scenarios_own_value": 7,
        "values": [7, 9],
    }
    rows = summary["values"]
    assert [(row["value"], row["by_value"]) for row in rows] == grid.pairs()
    assert [row["scenarios_own"] for row in rows] == [True, False, False, False]
    both = grid.outputs[3, ARRESTED] - grid.outputs[0, ARRESTED]
    assert rows[3]["change_in_persons_arrested"]["mean"] == pytest.approx(both.mean())
    assert rows[3]["change_in_persons_arrested"]["median"] > 0  # more teams, more days
    assert "at each pair of values" in summary["includes"]
    assert f"({teams} 4, {days} 7)" in summary["includes"]
    assert json.loads(json.dumps(summary)) == summary
    console = Console(file=io.StringIO(), width=200)
    render_sweep(summary, console)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"what if {teams} and {days} were different" in shown
    medians = [
        re.escape(f"{row['persons_arrested']['median']:,.0f} ({row['p_goal']:.2f})") for row in rows
    ]
    assert re.search(rf"4 \(now\) │ {medians[0]} │ {medians[1]} │", shown)
    assert re.search(rf"│ +6 │ {medians[2]} │ {medians[3]} │", shown)


@pytest.mark.parametrize(
    ("by", "by_values", "said"),
    [
        (None, [9.0], "by_values: name the second parameter (by) they are values of"),
        ("city_defaults.teams", [6.0], "by: city_defaults.teams is the parameter the sweep"),
        ("operation.field_dys", [9.0], "by: operation.field_dys is not a parameter"),
        ("operation.field_days", [9.5], "by_values: operation.field_days is a whole number"),
        ("detention.beds", None, "by_values: detention.beds has no range in [ranges]"),
        (
            "operation.field_days",
            list(range(8, 8 + 12)),
            f"by_values: at most {MAX_VALUES} pairs of values in one sweep, got 5 x 13 = 65",
        ),
        ("operation.field_days", [0.0], "by_values: 0 makes no valid scenario"),
    ],
)
def test_a_grid_that_cannot_run_is_refused_naming_the_field(
    seed_scenario: Scenario, by: str | None, by_values: list[float] | None, said: str
) -> None:
    with pytest.raises(ValueError) as refused:
        run_sweep(seed_scenario, "city_defaults.teams", None, 2, by=by, by_values=by_values)
    assert said in str(refused.value)


def test_a_pair_of_values_valid_alone_but_not_together_is_refused(seed_scenario: Scenario) -> None:
    """A horizon of 10 days and 14 field days are each valid beside the scenario's other
    values (7 field days, a horizon of 120), not together; a value that is never valid is
    refused by its own option first."""
    with pytest.raises(ValueError) as refused:
        run_sweep(
            seed_scenario,
            "operation.horizon_days",
            [10],
            2,
            by="operation.field_days",
            by_values=[14],
        )
    assert str(refused.value) == (
        "by_values: operation.horizon_days 10, operation.field_days 14 makes no valid scenario "
        "(operation: horizon_days (10) must be at least field_days (14))"
    )
    with pytest.raises(ValueError, match=r"^values: 2 makes no valid scenario"):
        run_sweep(seed_scenario, "city_defaults.p_contact", [2], 2, by="operation.field_days")


def test_what_binds_follows_the_value(seed_scenario: Scenario) -> None:
    """No free beds at all: every family meant for detention finds none, and beds bind there;
    with the scenario's own 1,154 free beds they do not."""
    occupied = seed_scenario.detention.baseline_occupancy
    swept = run_sweep(seed_scenario, "detention.beds", [occupied], 200, seed=2)
    binds = {row["value"]: row["binds"] for row in swept.as_dict()["values"]}
    assert "beds" in binds[occupied]
    assert "beds" not in binds[seed_scenario.detention.beds]
    assert binds[seed_scenario.detention.beds] == ["team_capacity"]  # as the forecast says


def test_the_command_line_sweeps_and_refuses_by_option(tmp_path: Path) -> None:
    chart = tmp_path / "sweep.svg"
    answer = json.loads(
        run(
            "sweep",
            "--vary",
            "city_defaults.p_contact",
            "--values",
            "0.2, 0.45",
            "-n",
            "100",
            "--chart",
            str(chart),
            "--json",
        ).stdout
    )
    drawn = chart.read_text()  # the median at each value, the scenario's own marked
    assert 'id="sweep:median"' in drawn and 'id="sweep:own"' in drawn
    assert [row["value"] for row in answer["values"]] == [0.2, 0.3, 0.45]
    assert [row["scenarios_own"] for row in answer["values"]] == [False, True, False]
    medians = [row["persons_arrested"]["median"] for row in answer["values"]]
    assert medians == sorted(medians) and medians[0] < medians[-1]  # more contact, more arrests
    shown = run("sweep", "--vary", "city_defaults.p_contact", "--values", "0.2", "-n", "50")
    assert "what if city_defaults.p_contact were different" in shown.stdout
    assert "0.3 (now)" in shown.stdout and "Replication noise only" in shown.stdout
    for args, said in (  # each refusal by the option it names (the reasons: tested above)
        (("--vary", "city_defaults.p_contac"), "--vary: city_defaults.p_contac is not a"),
        (("--vary", "city_defaults.p_contact", "--values", "0.2,x"), "--values: numbers"),
        (("--vary", "city_defaults.p_contact", "--values", "2"), "--values: 2 makes no valid"),
        (("--vary", "city_defaults.p_contact", "--chart", "sweep.txt"), "--chart: use a .png"),
        (("--vary", "city_defaults.p_contact", "--by-values", "5"), "--by-values: name the"),
        (("--vary", "city_defaults.p_contact", "--by", "operation.field_dys"), "--by: operation"),
        (
            (
                "--vary",
                "city_defaults.p_contact",
                "--by",
                "operation.field_days",
                "--by-values",
                "a",
            ),
            "--by-values: numbers separated by commas",
        ),
    ):
        refused = run("sweep", *args, check=False)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr


def test_the_command_line_sweeps_a_grid(tmp_path: Path) -> None:
    """``--by`` and ``--by-values``: every pair runs; the chart draws a line of medians per
    value of the second parameter, and the CSV has both parameters and values in each row."""
    chart, table = tmp_path / "grid.svg", tmp_path / "grid.csv"
    options = ("--vary", "city_defaults.teams", "--values", "6", "--by", "operation.field_days")
    answer = json.loads(
        run(
            "sweep",
            *options,
            "--by-values",
            "9",
            "-n",
            "60",
            "--chart",
            str(chart),
            "--csv",
            str(table),
            "--json",
        ).stdout
    )
    assert [(row["value"], row["by_value"]) for row in answer["values"]] == [
        (4, 7),
        (4, 9),
        (6, 7),
        (6, 9),
    ]
    drawn = chart.read_text()
    assert 'id="sweep:median:0"' in drawn and 'id="sweep:median:1"' in drawn
    rows = list(csv.DictReader(table.open()))
    assert [(row["parameter"], row["value"], row["by"], row["by_value"]) for row in rows] == [
        ("city_defaults.teams", str(value), "operation.field_days", str(second))
        for value, second in ((4, 7), (4, 9), (6, 7), (6, 9))
    ]
    assert [float(row["persons_arrested.median"]) for row in rows] == [
        row["persons_arrested"]["median"] for row in answer["values"]
    ]
