"""Interactive charts for the web dashboard: Plotly figure specifications (plain JSON data),
drawn in the browser by the vendored plotly.js.

The same figures as the static report's (``charts.py``), from the same stored series: fan
charts of target persons arrested over time (the median and the 90% interval, from the 5th
to the 95th percentile; the mean where no band is kept) for all cities and each city, with
the goal; the leak effect (the run and its no-leak twin); several runs on shared axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fieldcast.store import StoredRun

BAND = "rgba(31, 119, 180, 0.22)"
LINE = "rgb(31, 119, 180)"
TWIN = "rgb(214, 39, 40)"
TWIN_BAND = "rgba(214, 39, 40, 0.18)"
GOAL = "rgb(40, 40, 40)"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _days_shown(run: StoredRun, margin: int = 3) -> list[int]:
    """From a few days before day 0 to a few days after the last field day."""
    return [-margin, run.scenario.operation.field_days - 1 + margin]


def _values(array: np.ndarray) -> list[float | None]:
    """JSON numbers, None where there is no value (NaN)."""
    return [None if np.isnan(value) else round(float(value), 3) for value in array]


def _fan(series: dict[str, np.ndarray], name: str, line: str, band: str) -> list[dict[str, Any]]:
    days = series["day"].tolist()
    low, high = _values(series["p05"]), _values(series["p95"])
    traces = []
    if any(value is not None for value in high):
        traces.append(
            {
                "type": "scatter",
                "x": days + days[::-1],
                "y": high + low[::-1],
                "fill": "toself",
                "fillcolor": band,
                "line": {"width": 0},
                "hoverinfo": "skip",
                "name": f"{name}: 90% interval",
            }
        )
    traces.append(
        {
            "type": "scatter",
            "x": days,
            "y": _values(series["p50"] if traces else series["mean"]),
            "line": {"color": line, "width": 2},
            "name": f"{name}: median" if traces else f"{name}: mean",
        }
    )
    return traces


def _layout(title: str, run: StoredRun, y_title: str = "persons") -> dict[str, Any]:
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": "day (0: first field day)"}, "range": _days_shown(run)},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2},  # below the axis title
        "margin": {"t": 48, "r": 16, "b": 96, "l": 64},
    }


def arrests_figure(run: StoredRun, place: str = "Total") -> dict[str, Any]:
    """Target persons arrested, cumulative, in a city or in all, with the goal (for all)."""
    series = run.series("arrests", place=place)
    name = "all cities" if place == "Total" else place
    traces = _fan(series, name, LINE, BAND)
    goal = run.scenario.operation.goal_persons
    layout = _layout(f"Target persons arrested, {name}", run)
    top = np.nanmax(series["p95"]) if np.isfinite(series["p95"]).any() else series["mean"].max()
    if place == "Total" and goal <= 1.5 * top:
        days = _days_shown(run)
        traces.append(
            {
                "type": "scatter",
                "x": days,
                "y": [goal, goal],
                "mode": "lines",
                "line": {"color": GOAL, "dash": "dashdot", "width": 1.5},
                "name": f"goal: {goal:,} persons",
            }
        )
    elif place == "Total":
        layout["title"]["text"] += f" (the goal, {goal:,}, is far above this scale)"
    return {"data": traces, "layout": layout}


def leak_figure(run: StoredRun) -> dict[str, Any]:
    """Target persons arrested with and without the leak (the paired no-leak twin)."""
    traces = _fan(run.series("arrests"), "with the leak", LINE, BAND)
    traces += _fan(run.series("arrests", variant="no_leak"), "without the leak", TWIN, TWIN_BAND)
    return {"data": traces, "layout": _layout("The leak's effect on arrests", run)}


def comparison_figure(runs: list[StoredRun]) -> dict[str, Any]:
    """Several runs' arrests, all cities, on shared axes."""
    traces = []
    for index, run in enumerate(runs):
        color = PALETTE[index % len(PALETTE)]
        band = color + "33"
        traces += _fan(run.series("arrests"), f"{run.scenario.name} ({run.run_id})", color, band)
    layout = _layout("Target persons arrested, all cities", runs[0])
    layout["xaxis"]["range"] = [
        min(_days_shown(run)[0] for run in runs),
        max(_days_shown(run)[1] for run in runs),
    ]
    return {"data": traces, "layout": layout}
