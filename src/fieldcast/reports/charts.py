"""Charts of stored runs and of sensitivity analyses, drawn with matplotlib's object API (no
global pyplot state).

Every run chart is built from the numbers in the run store only. Every chart labels its axes
in plain words with units, and stays readable in black and white: series differ by line style
as well as by shade, and bands are light grey fills. Each plotted series carries a ``gid``
naming what it is, so tests can compare what is drawn with what is stored.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from fieldcast.compiled import compile_scenario
from fieldcast.planning.sensitivity import CONFIDENCE, OUTPUTS, Sensitivity
from fieldcast.reports.numbers import dollars
from fieldcast.store import StoredRun

LINE_STYLES = ("-", "--", ":", "-.")
SHADES = ("#000000", "#555555", "#888888", "#333333")
DAY_LABEL = "day (0 = first field day)"


def _fan(
    axes: Axes, series: dict[str, np.ndarray], label: str, style: int = 0, gid: str = ""
) -> None:
    """A median line over a light 5%-95% band."""
    days = series["day"]
    if not np.all(np.isnan(series["p05"])):
        axes.fill_between(
            days,
            series["p05"],
            series["p95"],
            color=SHADES[style % 4],
            alpha=0.15,
            linewidth=0,
            label=f"{label}: 90% interval",
            gid=f"{gid}:band",
        )
    axes.plot(
        days,
        series["p50"],
        linestyle=LINE_STYLES[style % 4],
        color=SHADES[style % 4],
        linewidth=1.8,
        label=f"{label}: median",
        gid=f"{gid}:median",
    )


def _finish(axes: Axes, title: str, ylabel: str) -> None:
    top = axes.get_ylim()[1]
    axes.set_ylim(0, max(top, 1))  # counts: the axis starts at zero, even when all are zero
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_xlabel(DAY_LABEL)
    axes.set_ylabel(ylabel)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.legend(fontsize=7, loc="best", frameon=False)


def _active_days(run: StoredRun, margin: int = 3) -> tuple[int, int]:
    """From a few days before day 0 to a few days after the last field day."""
    return -margin, run.scenario.operation.field_days - 1 + margin


def cumulative_arrests(run: StoredRun) -> Figure:
    """Target persons arrested over time, total and per city, with the goal."""
    cities = [c.name for c in run.scenario.cities if c.target_persons > 0]
    columns = 3
    rows = 1 + math.ceil(len(cities) / columns)
    figure = Figure(figsize=(10, 3.2 * rows), layout="constrained")
    grid = figure.add_gridspec(rows, columns)
    total = figure.add_subplot(grid[0, :])
    series = run.series("arrests")
    _fan(total, series, "all cities", gid="arrests:Total")
    goal = run.scenario.operation.goal_persons
    title = "Target persons arrested, cumulative, all cities"
    if goal <= 1.5 * np.nanmax(series["p95"]):
        total.axhline(
            goal,
            color="black",
            linestyle=(0, (6, 2, 1, 2)),
            linewidth=1.2,
            label=f"goal: {goal:,} persons",
            gid="goal",
        )
    else:  # a goal far above the outcomes would flatten them: name it instead
        title += f" (the goal, {goal:,} persons, is far above this scale)"
    total.set_xlim(*_active_days(run))
    _finish(total, title, "persons")
    for index, city in enumerate(cities):
        axes = figure.add_subplot(grid[1 + index // columns, index % columns])
        _fan(axes, run.series("arrests", place=city), city, gid=f"arrests:{city}")
        axes.set_xlim(*_active_days(run))
        stands_down = run.scenario.city_parameter(city, "stands_down_day")
        note = f" (stood down from day {stands_down})" if stands_down is not None else ""
        _finish(axes, city + note, "persons")
    return figure


def leak_effect(run: StoredRun) -> Figure:
    """The same operation with and without its leak (paired runs, common random numbers)."""
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    arrests, at_address = figure.subplots(1, 2)
    variants = (("scenario", "with the leak"), ("no_leak", "without the leak"))
    if not run.has_leak_twin():  # a scenario without leak events is its own twin
        variants = (("scenario", "no leak in this scenario"),)
    for style, (variant, label) in enumerate(variants):
        _fan(
            arrests, run.series("arrests", variant=variant), label, style, gid=f"arrests:{variant}"
        )
        _fan(
            at_address,
            run.series("at_address", "households", variant=variant),
            label,
            style,
            gid=f"at_address:{variant}",
        )
    arrests.set_xlim(*_active_days(run))
    _finish(arrests, "Target persons arrested, cumulative", "persons")
    _finish(at_address, "Target households still at the address on file", "households")
    return figure


def resources(run: StoredRun) -> Figure:
    """Team capacity used, beds in use against the pool, transport backlog, monitors worn."""
    figure = Figure(figsize=(10, 6.4), layout="constrained")
    (teams, beds), (transport, monitors) = figure.subplots(2, 2)
    compiled = compile_scenario(run.scenario)
    days = np.arange(compiled.start_day, compiled.start_day + compiled.day_count)

    attempts = run.series("attempts", "households")
    daily_attempts = np.diff(attempts["mean"], prepend=0.0)
    teams.step(
        days,
        compiled.capacity.sum(axis=1),
        where="mid",
        color="black",
        linestyle="--",
        label="attempts the teams can make",
        gid="capacity",
    )
    teams.step(
        attempts["day"],
        daily_attempts,
        where="mid",
        color="#555555",
        label="attempts made (mean)",
        gid="attempts:mean",
    )
    teams.set_xlim(*_active_days(run))
    _finish(teams, "Team capacity, per day", "attempts (household visits)")

    _fan(beds, run.series("detained"), "persons detained", gid="detained")
    beds.axhline(
        compiled.free_beds,
        color="black",
        linestyle="--",
        linewidth=1.2,
        label=f"beds free for the operation: {compiled.free_beds:,}",
        gid="free_beds",
    )
    _finish(beds, "Family beds in use", "beds (persons)")

    _fan(
        transport,
        run.series("awaiting_removal"),
        "persons waiting for a seat",
        gid="awaiting_removal",
    )
    _finish(transport, "Removal transport backlog", "persons")

    _fan(
        monitors,
        run.series("monitored", "households"),
        "households wearing a monitor",
        gid="monitored",
    )
    stock = [run.scenario.city_parameter(c.name, "monitors") for c in run.scenario.cities]
    if all(s is not None for s in stock):
        monitors.axhline(sum(stock), color="black", linestyle="--", label="monitor stock")
    _finish(monitors, "Ankle monitors worn", "monitors (one per household)")
    return figure


def _dollars(value: float, _position: int) -> str:
    """An axis tick (matplotlib's ``FuncFormatter`` passes the tick's position too)."""
    return dollars(value, digits=1)


def _interval_bars(
    axes: Axes,
    labels: list[str],
    intervals: list[dict[str, Any]],
    offset: float = 0.0,
    height: float = 0.8,
    style: int = 0,
    legend: str = "",
    gid: str = "",
) -> None:
    positions = np.arange(len(labels)) + offset
    medians = np.array([i["median"] for i in intervals], dtype=float)
    low = medians - np.array([i["p05"] for i in intervals], dtype=float)
    high = np.array([i["p95"] for i in intervals], dtype=float) - medians
    axes.barh(
        positions,
        medians,
        height=height,
        color="white",
        edgecolor=SHADES[style],
        hatch=("", "///", "...", "xx")[style % 4],
        label=legend,
        gid=gid,
    )
    axes.errorbar(
        medians, positions, xerr=[low, high], fmt="none", ecolor="black", capsize=3, linewidth=1
    )
    axes.set_yticks(np.arange(len(labels)), labels)
    axes.invert_yaxis()


def costs(run: StoredRun) -> Figure:
    """Costs to the horizon by kind, median with 90% interval."""
    cost = run.summary["cost"]
    items = [
        (
            "officers",
            {"median": cost["officers"], "p05": cost["officers"], "p95": cost["officers"]},
        ),
        ("family beds", cost["beds"]),
        ("ankle monitors", cost["monitors"]),
        ("removal transport", cost["transport"]),
    ]
    figure = Figure(figsize=(10, 3), layout="constrained")
    axes = figure.subplots()
    _interval_bars(axes, [label for label, _ in items], [value for _, value in items], gid="costs")
    axes.xaxis.set_major_formatter(FuncFormatter(_dollars))
    axes.set_xlabel("US dollars to the horizon (median, bars: 90% interval)")
    axes.set_title("Costs by kind", fontsize=10, loc="left")
    axes.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    return figure


PEOPLE = (
    ("arrested", "arrested (targets)"),
    ("detained", "detained"),
    ("removed", "removed"),
    ("released_on_notice", "released on notice"),
    ("fitted_with_monitor", "fitted with a monitor"),
    ("departed_on_notice", "departed by the deadline"),
    ("lost_to_follow_up", "lost to follow-up"),
)


def people(run: StoredRun) -> Figure:
    """Persons and minors affected, by the horizon."""
    affected = run.summary["people_affected"]
    labels = [label for _, label in PEOPLE]
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots()
    for style, measure in enumerate(("persons", "minors")):
        _interval_bars(
            axes,
            labels,
            [affected[key][measure] for key, _ in PEOPLE],
            offset=-0.2 + 0.4 * style,
            height=0.38,
            style=style,
            legend=measure,
            gid=f"people:{measure}",
        )
    axes.set_xlabel("people by the horizon (median, bars: 90% interval)")
    axes.set_title("People affected", fontsize=10, loc="left")
    axes.legend(frameon=False)
    axes.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    return figure


def compare_arrests(runs: list[StoredRun]) -> Figure:
    """Cumulative target persons arrested for several runs on shared axes."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots()
    for style, run in enumerate(runs):
        _fan(
            axes,
            run.series("arrests"),
            f"{run.run_id} ({run.scenario.name})",
            style,
            gid=f"arrests:{run.run_id}",
        )
    starts, ends = zip(*(_active_days(run) for run in runs), strict=True)
    axes.set_xlim(min(starts), max(ends))
    _finish(axes, "Target persons arrested, cumulative", "persons")
    return figure


def run_charts(run: StoredRun) -> dict[str, Figure]:
    """Every chart of a run's report, by file stem."""
    return {
        "arrests": cumulative_arrests(run),
        "leak": leak_effect(run),
        "resources": resources(run),
        "costs": costs(run),
        "people": people(run),
    }


def sensitivity_chart(answer: Sensitivity) -> Figure:
    """The main index of every assumption, one panel per output, bars with their confidence
    intervals; assumptions in the order of their effect on persons arrested."""
    order = answer.ranked("persons_arrested")
    labels = [answer.parameters[i] for i in order]
    figure = Figure(figsize=(13, 1.2 + 0.32 * len(labels)), layout="constrained")
    panels = figure.subplots(1, len(OUTPUTS), sharey=True)
    index = answer.main_index
    for axes, (output, meaning) in zip(panels, OUTPUTS.items(), strict=True):
        values = np.array(answer.indices[output][index])[order]
        spread = np.array(answer.indices[output][f"{index}_conf"])[order]
        positions = np.arange(len(labels))
        axes.barh(
            positions, values, height=0.7, color="white", edgecolor="black", gid=f"{output}:{index}"
        )
        axes.errorbar(
            values, positions, xerr=spread, fmt="none", ecolor="black", capsize=2, linewidth=1
        )
        axes.set_yticks(positions, labels)
        axes.set_title(meaning, fontsize=10, loc="left")
        axes.grid(True, axis="x", color="#dddddd", linewidth=0.6)
        if index == "mu_star" and output == "total_cost":
            axes.xaxis.set_major_formatter(FuncFormatter(_dollars))
    panels[0].invert_yaxis()
    figure.supxlabel(
        "mu*: mean absolute change of the output per whole range of the assumption"
        if index == "mu_star"
        else "ST: share of the output's variance due to the assumption, interactions included",
        fontsize=10,
    )
    confidence = f"{100 * CONFIDENCE:.0f}%"
    figure.suptitle(
        f"{answer.scenario}: {answer.method} sensitivity over {answer.points:,} points "
        f"(bars: {confidence} bootstrap intervals)",
        fontsize=11,
        x=0.01,
        horizontalalignment="left",
    )
    return figure


def sweep_chart(answer: dict[str, Any]) -> Figure:
    """A sweep (``Sweep.as_dict()``): target persons arrested by the end of field work at each
    value (median, 90% interval; a grid's medians, a line per value of its second parameter),
    the scenario's own value marked; the goal when on the scale. The dashboard's figure of
    the same is ``interactive.sweep_figure``."""
    rows = answer["values"]
    by = answer.get("by")  # a sweep kept before grids (2026-12-07) has none
    arrested = {q: [row["persons_arrested"][q] for row in rows] for q in ("p05", "median", "p95")}
    own = next(row for row in rows if row["scenarios_own"])
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    if by is None:
        values = [row["value"] for row in rows]
        axes.fill_between(
            values,
            arrested["p05"],
            arrested["p95"],
            color=SHADES[0],
            alpha=0.15,
            linewidth=0,
            label="90% interval",
            gid="sweep:band",
        )
        axes.plot(
            values,
            arrested["median"],
            marker="o",
            color=SHADES[0],
            label="median",
            gid="sweep:median",
        )
    else:  # without bands, which would hide one another: the intervals are in the table
        for index, second in enumerate(by["values"]):
            line = [row for row in rows if row["by_value"] == second]
            now = " (now)" if second == by["scenarios_own_value"] else ""
            axes.plot(
                [row["value"] for row in line],
                [row["persons_arrested"]["median"] for row in line],
                marker="o",
                color=SHADES[index // len(LINE_STYLES) % len(SHADES)],
                linestyle=LINE_STYLES[index % len(LINE_STYLES)],
                label=f"{by['parameter']} {second:,}{now}",
                gid=f"sweep:median:{index}",
            )
    axes.plot(
        [own["value"]],
        [own["persons_arrested"]["median"]],
        marker="D",
        markersize=9,
        linestyle="none",
        color=SHADES[2],
        label="the scenario's own value" + ("s" if by is not None else ""),
        gid="sweep:own",
    )
    goal = answer["goal_persons"]
    title = f"{answer['scenario']}: target persons arrested by the end of field work"
    title += " (medians)" if by is not None else ""
    if goal <= 1.5 * max(arrested["p95"]):
        axes.axhline(goal, color="black", linestyle="-.", linewidth=1, label=f"goal: {goal:,}")
    else:
        title += f" (the goal, {goal:,}, is far above)"
    _finish(axes, title, "persons")
    unit = f" ({answer['unit']})" if answer["unit"] else ""
    axes.set_xlabel(answer["parameter"] + unit)
    return figure


def calibration_posteriors(summary: dict[str, Any], values: np.ndarray) -> Figure:
    """Each calibrated assumption: the posterior (histogram of the last generation's
    particles) over its declared range, the prior's density, and the scenario's value."""
    parameters = summary["parameters"]
    columns = min(3, len(parameters))
    rows = math.ceil(len(parameters) / columns)
    figure = Figure(figsize=(3.4 * columns, 2.6 * rows), layout="constrained")
    for index, parameter in enumerate(parameters):
        axes = figure.add_subplot(rows, columns, index + 1)
        low, high = parameter["low"], parameter["high"]
        axes.hist(
            values[:, index],
            bins=30,
            range=(low, high),
            density=True,
            color="#888888",
            label="posterior",
            gid=f"posterior:{parameter['path']}",
        )
        grid = np.linspace(low, high, 200)
        if parameter["prior"] == "log-uniform":
            density = 1 / (grid * math.log(high / low))
        else:
            density = np.full_like(grid, 1 / (high - low))
        axes.plot(
            grid, density, "k--", linewidth=1.2, label="prior", gid=f"prior:{parameter['path']}"
        )
        axes.axvline(parameter["scenario_value"], color="black", linestyle=":", label="scenario")
        axes.set_title(parameter["path"], fontsize=8, loc="left")
        axes.set_yticks([])
        if index == 0:
            axes.legend(fontsize=7, frameon=False)
    return figure


def predictive_check(summary: dict[str, Any]) -> Figure:
    """Every observed count beside its posterior predictive median and 90% interval."""
    counts = summary["posterior_predictive"]["counts"]
    figure = Figure(figsize=(9, 0.9 + 0.22 * len(counts)), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(counts))[::-1]
    medians = np.array([c["median"] for c in counts])
    axes.errorbar(
        medians,
        positions,
        xerr=[medians - [c["low"] for c in counts], [c["high"] for c in counts] - medians],
        fmt="o",
        color="#888888",
        markersize=3,
        label="posterior predictive: median and 90% interval",
        gid="predictive",
    )
    axes.plot(
        [c["observed"] for c in counts],
        positions,
        "kx",
        label="observed",
        gid="observed",
    )
    axes.set_yticks(positions, [c["count"] for c in counts], fontsize=7)
    axes.set_xlabel("persons in the count")
    axes.set_xlim(left=0)
    axes.legend(fontsize=8, frameon=False, loc="lower right")
    return figure


def tracked_arrests(summary: dict[str, Any]) -> Figure:
    """Persons arrested, cumulative, in the total and each city with targets: the filtered
    band on observed days (given the counts up to that day), the tracked forecast after the
    last one, and the reported counts as points."""
    bands = summary["arrests_by_day"]
    places = ["Total"] + [p for p in bands if p != "Total" and bands[p][-1]["p95"] > 0]
    columns = min(3, len(places))
    rows = math.ceil(len(places) / columns)
    figure = Figure(figsize=(3.6 * columns, 2.8 * rows), layout="constrained")
    names = list(bands)
    for index, place in enumerate(places):
        axes = figure.add_subplot(rows, columns, index + 1)
        column = names.index(place)
        steps = summary["steps"]
        if steps:
            filtered = {
                "day": np.array([s["day"] for s in steps]),
                "p05": np.array([s["band"][column][0] for s in steps], dtype=float),
                "p50": np.array([s["band"][column][1] for s in steps], dtype=float),
                "p95": np.array([s["band"][column][2] for s in steps], dtype=float),
            }
            _fan(axes, filtered, "filtered", 1, gid=f"filtered:{place}")
        ahead = {
            "day": np.array([r["day"] for r in bands[place]]),
            "p05": np.array([r["p05"] for r in bands[place]], dtype=float),
            "p50": np.array([r["median"] for r in bands[place]], dtype=float),
            "p95": np.array([r["p95"] for r in bands[place]], dtype=float),
        }
        _fan(axes, ahead, "forecast", 0, gid=f"forecast:{place}")
        points = summary["observed_arrests"].get(place, [])
        if points:
            axes.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                "kx",
                label="reported",
                gid=f"reported:{place}",
            )
        title = "Total: persons arrested" if place == "Total" else place
        _finish(axes, title, "persons")
        if index:
            legend = axes.get_legend()
            if legend is not None:
                legend.remove()
    return figure


def backtest_scores(summary: dict[str, Any]) -> Figure:
    """Coverage of the 50% and 90% intervals by horizon (against nominal), and the PIT
    histogram of all horizons together (flat when the forecasts are calibrated)."""
    rows = summary["by_horizon"]
    figure = Figure(figsize=(9, 3.2), layout="constrained")
    coverage, pit = figure.subplots(1, 2)
    horizons = np.array([r["horizon_days"] for r in rows])
    for level, style in ((50, 0), (90, 1)):
        coverage.plot(
            horizons,
            [100 * r[f"coverage_{level}"] for r in rows],
            marker="o",
            linestyle=LINE_STYLES[style],
            color=SHADES[style],
            label=f"{level}% interval",
            gid=f"coverage:{level}",
        )
        coverage.axhline(level, color=SHADES[style], linewidth=0.8, linestyle=":")
    coverage.set_ylim(0, 100)
    coverage.set_xlabel("horizon (days ahead)")
    coverage.set_ylabel("coverage (%); dotted: nominal")
    coverage.set_title("Interval coverage", fontsize=10, loc="left")
    coverage.legend(fontsize=7, frameon=False)
    counts = np.sum([r["pit_histogram"] for r in rows], axis=0)
    bins = len(counts)
    pit.bar(
        (np.arange(bins) + 0.5) / bins,
        counts,
        width=1 / bins,
        color="#888888",
        edgecolor="white",
        gid="pit",
    )
    pit.axhline(counts.sum() / bins, color="black", linestyle="--", linewidth=1, label="flat")
    pit.set_xlabel("probability integral transform")
    pit.set_ylabel("predictions")
    pit.set_title("PIT histogram, all horizons", fontsize=10, loc="left")
    pit.legend(fontsize=7, frameon=False)
    return figure
