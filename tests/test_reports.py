"""Reports: charts show the stored numbers, HTML is self-contained, PNGs are written, and the
terminal's tables cut no word that fits."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import rich.table
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from rich.console import Console
from rich.measure import Measurement

from conftest import variant
from fieldcast.compiled import compile_scenario
from fieldcast.forecast import run_forecast
from fieldcast.reports import charts
from fieldcast.reports import table as table_module
from fieldcast.reports.html import comparison_report, run_report, write_pngs
from fieldcast.reports.table import Table
from fieldcast.scenario import Scenario
from fieldcast.store import RunStore, StoredRun


@pytest.fixture(scope="module")
def stored(seed_scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> StoredRun:
    store = RunStore(tmp_path_factory.mktemp("store") / "runs.duckdb")
    run_id = store.save(run_forecast(seed_scenario, replications=200, seed=2), seconds=1.0)
    return store.get(run_id)


def test_a_forecast_says_when_the_goal_is_reached(seed_scenario: Scenario, tmp_path: Path) -> None:
    """The forecast's day the goal is reached agrees with its chance of the goal: reached by
    the last field day exactly as often as the goal is met by the end of field work, by the
    horizon as often as by the horizon; and the terminal, the HTML report and the dashboard's
    run page say when, with replication noise only and, in the table of how sure, with the
    assumptions too. A goal of 150 persons is met by seed-2019 in most replications, not
    all."""
    from fastapi.testclient import TestClient

    from fieldcast.reports.numbers import goal_day_range
    from fieldcast.reports.terminal import render_forecast
    from fieldcast.web.app import WebSettings, create_app

    ranges = seed_scenario.model_dump(mode="json")["ranges"]
    scenario = variant(seed_scenario, ranges=ranges, **{"operation.goal_persons": 150})
    forecast = run_forecast(scenario, replications=400, seed=4, assumption_draws=40)
    summary = forecast.summary()
    goal_day = summary["goal_day"]
    assert goal_day["p_by_field_day"][-1]["p_reached"] == summary["p_goal"]
    assert goal_day["p_reached"] == summary["p_goal_by_horizon"]
    chances = [row["p_reached"] for row in goal_day["p_by_field_day"]]
    assert chances == sorted(chances) and 0 < summary["p_goal"] < 1
    assert 0 <= goal_day["p05"] <= goal_day["median"] < scenario.operation.field_days
    said = f"When: the goal is reached on day {goal_day['median']} at the median"
    drawn = summary["with_assumption_uncertainty"]["goal_day"]
    assert (
        drawn["p_by_field_day"][-1]["p_reached"] == summary["with_assumption_uncertainty"]["p_goal"]
    )
    cells = [goal_day_range(goal_day), goal_day_range(drawn)]
    assert cells[0].startswith(f"day {goal_day['median']} ({goal_day['p05']} to ")
    console = Console(file=io.StringIO(), width=200)
    render_forecast(summary, console)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert said in printed
    assert re.search(rf"Field day the goal is reached +│ +{re.escape(cells[0])} +│ +", printed)
    assert re.search(rf"│ +{re.escape(cells[1])} +│", printed)
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.save(forecast, seconds=1.0)
    report = run_report(store.get(run_id))
    row = f"<td>Field day the goal is reached</td><td>{cells[0]}</td><td>{cells[1]}</td>"
    assert said in report and row in report.replace(" class='number'", "")
    settings = WebSettings(
        store_path=tmp_path / "runs.duckdb", scenarios_dir=tmp_path / "scenarios", workers=0
    )
    with TestClient(create_app(settings)) as client:
        page = client.get(f"/runs/{run_id}").text
    last_day = goal_day["p_by_field_day"][-1]
    assert said in page and f"day {last_day['day']}: {100 * summary['p_goal']:.1f}%." in page
    assert row in page.replace(' class="num"', "")


def _line(figure: Figure, gid: str) -> Line2D:
    for axes in figure.axes:
        for line in axes.get_lines():
            if line.get_gid() == gid:
                return line
    raise AssertionError(f"no line {gid!r}")


def test_arrest_fans_plot_the_stored_medians_and_the_goal(stored: StoredRun) -> None:
    figure = charts.cumulative_arrests(stored)
    total = _line(figure, "arrests:Total:median")
    series = stored.series("arrests")
    assert np.array_equal(total.get_xdata(), series["day"])
    assert np.array_equal(total.get_ydata(), series["p50"])
    chicago = _line(figure, "arrests:Chicago:median")
    assert np.array_equal(chicago.get_ydata(), stored.series("arrests", place="Chicago")["p50"])
    assert "the goal, 2,040 persons, is far above this scale" in figure.axes[0].get_title("left")
    labels = {axes.get_ylabel() for axes in figure.axes}
    assert labels == {"persons"}


def test_leak_chart_shows_both_variants(stored: StoredRun) -> None:
    figure = charts.leak_effect(stored)
    with_leak = _line(figure, "arrests:scenario:median").get_ydata()
    without = _line(figure, "arrests:no_leak:median").get_ydata()
    assert np.array_equal(without, stored.series("arrests", variant="no_leak")["p50"])
    assert with_leak[-1] < without[-1]


def test_resource_chart_shows_capacity_beds_and_stocks(stored: StoredRun) -> None:
    figure = charts.resources(stored)
    plan = compile_scenario(stored.scenario)
    assert np.array_equal(_line(figure, "capacity").get_ydata(), plan.capacity.sum(axis=1))
    attempts = stored.series("attempts", "households")["mean"]
    assert np.allclose(_line(figure, "attempts:mean").get_ydata(), np.diff(attempts, prepend=0))
    assert set(_line(figure, "free_beds").get_ydata()) == {plan.free_beds}
    assert np.array_equal(
        _line(figure, "detained:median").get_ydata(), stored.series("detained")["p50"]
    )


def test_cost_and_people_bars_are_the_summary_medians(stored: StoredRun) -> None:
    cost = stored.summary["cost"]
    bars = [p for p in charts.costs(stored).axes[0].patches if p.get_gid() == "costs"]
    widths = [bar.get_width() for bar in bars]
    assert widths == [
        cost["officers"],
        cost["beds"]["median"],
        cost["monitors"]["median"],
        cost["transport"]["median"],
    ]
    people = charts.people(stored).axes[0]
    minors = [p.get_width() for p in people.patches if p.get_gid() == "people:minors"]
    assert minors[0] == stored.summary["people_affected"]["arrested"]["minors"]["median"]


def test_html_report_is_self_contained_and_complete(stored: StoredRun) -> None:
    document = run_report(stored)
    for outside in ("<script src", "<link", 'src="http', 'href="http', "@import"):
        assert outside not in document
    assert document.count("<svg") == 5
    for heading in (
        "Reach",
        "Leak effect",
        "Resources",
        "Costs",
        "People affected",
        "Parameters and their provenance",
        "Run",
    ):
        assert f"<h2>{heading}" in document
    assert "ICE press call, July 2019" in document  # provenance of p_in_absentia
    assert stored.run_id in document
    comparison = comparison_report([stored, stored])
    assert "The scenarios are identical." in comparison
    assert "Paired change" not in comparison  # none given
    rows = [{"outcome": "persons removed", "statistic": "median of the paired differences, "
             "90% interval", "difference": 25.0, "low": 13.0, "high": 39.0}]  # fmt: skip
    paired = comparison_report([stored, stored], [{"unpaired": None, "rows": rows}])
    assert "<td>persons removed</td><td class='number'>+25 (+13 to +39)</td>" in paired
    unpaired = comparison_report([stored, stored], [{"unpaired": "their seeds differ", "rows": []}])
    assert "<p>Not paired: their seeds differ.</p>" in unpaired


def test_the_charts_text_is_text_a_reader_can_search(
    seed_scenario: Scenario, tmp_path: Path
) -> None:
    """A chart's labels are SVG text (not glyph outlines): a city's name can be found in the
    charts, written as XML wants it (a place name may hold "&", never "<" or ">")."""
    cities = [
        {"name": "St. Paul & Minneapolis", "target_persons": 120},
        {"name": "Baltimore", "target_persons": 80},
    ]
    scenario = variant(seed_scenario, cities=cities, city_overrides={})
    store = RunStore(tmp_path / "runs.duckdb")
    document = run_report(store.get(store.save(run_forecast(scenario, 20, seed=1), seconds=1.0)))
    charts_only = "".join(re.findall(r"<svg.*?</svg>", document, flags=re.S))
    assert "Baltimore</text>" in charts_only
    assert "St. Paul &amp; Minneapolis</text>" in charts_only


def test_pngs_are_written(stored: StoredRun, tmp_path: Path) -> None:
    paths = write_pngs(stored, tmp_path)
    assert len(paths) == 5
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


PLAN_TABLE = (  # the header and a row of `fieldcast plan`'s table, wider than 80 columns
    ["City", "Now", "Recommended", "Expected arrested (now)", "Expected arrested (recommended)",
     "Gain of one more team"],
    ["San Francisco", "4", "4", "18.3", "18.3", "3.05"],
)  # fmt: skip
SCORE_TABLE = (  # `fieldcast runs score`'s: the cells of narrow columns whole before the wide
    ["Series", "Observed", "As forecast", "PIT", "With the assumptions", "PIT"],
    ["Atlanta collateral arrests", "27", "16 (6 to 31)", "0.90", "17 (4 to 42)", "0.77"],
)  # fmt: skip
COSTS_TABLE = (  # the forecast's costs table: intervals in two columns, row names to wrap
    ["Item", "Quantity", "Cost"],
    [
        ["Officers", "1,764 officer-days", "$1.23M"],
        ["Family beds", "1,218 (882 to 1,582) bed-days", "$388.99k ($281.68k to $505.24k)"],
        ["Monitors", "1,110 (780 to 1,470) monitor-days", "$5.00k ($3.51k to $6.62k)"],
        ["Transport", "78 (56 to 103) persons", "$140.40k ($100.80k to $185.40k)"],
        ["Total", "", "$1.77M ($1.62M to $1.93M)"],
        ["Per target person arrested", "", "$10.03k ($8.70k to $11.81k)"],
        ["Per person removed", "", "$22.63k ($18.67k to $29.28k)"],
    ],
)
RUNS_TABLE = (  # `fieldcast runs list`'s until 2026-12-07: even cut, wider than 80 columns
    ["Run", "Stored (UTC)", "Scenario", "Seed", "Replications", "Engine", "P(goal)",
     "Arrested (median)"],
    ["20261207-005448-38579b", "2026-12-07 00:54", "seed-2019", "2019", "2,000", "counts",
     "0.0%", "176"],
)  # fmt: skip


def _printed(
    table_class: type[rich.table.Table], header: list[str], row: list[str], whole: str = ""
) -> str:
    table = table_class()
    for column in header:  # the column named ``whole`` may not wrap
        table.add_column(column, justify="right", overflow="fold", no_wrap=column == whole)
    table.add_row(*row)
    console = Console(file=io.StringIO(), width=80)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_table_wider_than_the_terminal_cuts_no_word_that_fits() -> None:
    """At 80 columns every word of the plan's table is printed whole, within the width;
    rich's own layout cuts some ("(recommende|d)"), which is why ``Table`` exists."""
    words = {word for text in PLAN_TABLE[0] + PLAN_TABLE[1] for word in text.split()}
    shown = {}
    for table_class in (Table, rich.table.Table):
        text = _printed(table_class, *PLAN_TABLE)
        assert max(len(line) for line in text.splitlines()) <= 80
        shown[table_class] = set(re.findall(r"[^\s\u2500-\u257f]+", text))
    assert words <= shown[Table], sorted(words - shown[Table])
    assert not words <= shown[rich.table.Table]


def test_a_table_whose_words_cannot_all_fit_cuts_only_its_widest_column() -> None:
    """`fieldcast runs list` at 80 columns with a long scenario name: the scenario's column is
    cut, and every other word stays whole ("Replications" too, which rich cuts). A table that
    cannot fit with its columns cut to eight characters (``RUNS_TABLE``, the runs list as it
    was) is laid out as rich does."""
    header = ["Run", "Scenario", "Seed", "Replications", "P(goal)", "Arrested (median)"]
    row = ["20261207-044912-01b62d", "seed-2019-as-executed", "2019", "100", "0.0%", "157"]
    others = {word for text in header + row for word in text.split()} - {row[1]}
    shown = {}
    for table_class in (Table, rich.table.Table):
        text = _printed(table_class, header, row, whole="Run")  # as the command makes it
        assert max(len(line) for line in text.splitlines()) <= 80
        shown[table_class] = set(re.findall(r"[^\s\u2500-\u257f]+", text))
    assert others <= shown[Table], sorted(others - shown[Table])
    assert row[1] not in shown[Table]  # the widest that may wrap, cut
    assert not others <= shown[rich.table.Table]
    assert _printed(Table, *RUNS_TABLE) == _printed(rich.table.Table, *RUNS_TABLE)


def _costs_lines(table_class: type[rich.table.Table]) -> int:
    """The lines of ``COSTS_TABLE``'s header and rows printed at 80 columns."""
    header, rows = COSTS_TABLE
    table = table_class()
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console = Console(file=io.StringIO(), width=80)
    console.print(table)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert max(len(line) for line in text.splitlines()) <= 80
    return len(text.splitlines()) - 3  # the rules above, below and under the header


def _fewest_costs_lines() -> int:
    """The fewest lines ``COSTS_TABLE`` can take within 80 columns, by trying every width of
    every column (each word whole), each cell's lines as rich renders it."""
    header, rows = COSTS_TABLE
    console = Console(file=io.StringIO(), width=80)
    columns = [[row[index] for row in [header, *rows]] for index in range(len(header))]
    room = 80 - (len(header) + 1)  # the table's borders
    lines = []  # of each column: {width with padding: each cell's lines}
    for cells in columns:
        longest_word = max(len(word) for cell in cells for word in cell.split())
        lines.append({
            width + 2: [len(console.render_lines(cell, console.options.update_width(width)))
                        for cell in cells]
            for width in range(longest_word, max(map(len, cells)) + 1)
        })  # fmt: skip
    return min(
        sum(
            max(column[width][row] for column, width in zip(lines, widths, strict=True))
            for row in range(len(rows) + 1)
        )
        for widths in itertools.product(*lines)
        if sum(widths) <= room
    )


def test_a_table_too_wide_is_printed_in_the_fewest_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The costs table at 80 columns takes the fewest lines any widths give, every one tried.
    Widening the columns whose cells lack least first, as the layout did before (a
    deliberately worse variant), prints more."""
    fewest = _fewest_costs_lines()
    assert _costs_lines(Table) == fewest

    def whole_first(self, console, options, least, most, room):  # type: ignore[no-untyped-def]
        wanted = [
            max(Measurement.get(console, options, cell).maximum for cell in column.cells)
            + self._get_padding_width(column._index)
            for column in self.columns
        ]
        return table_module._whole_first(least, wanted, room)

    monkeypatch.setattr(Table, "_fewest_lines", whole_first)
    assert _costs_lines(Table) > fewest


def test_the_columns_whose_cells_lack_least_are_made_whole_first() -> None:
    """Of a table too wide for 80 columns, the intervals' cells are printed whole and the
    long series name wraps at its spaces: as many lines, and fewer cells broken, than
    the other way round."""
    text = _printed(Table, *SCORE_TABLE)
    assert "16 (6 to 31)" in text and "17 (4 to 42)" in text
    assert max(len(line) for line in text.splitlines()) <= 80
