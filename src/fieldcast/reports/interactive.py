"""Interactive charts for the web dashboard: Plotly figure specifications (plain JSON data),
drawn in the browser by the vendored plotly.js.

The same figures as the static report's (``charts.py``), from the same stored series: fan
charts of target persons arrested over time (the median and the 90% interval, from the 5th
to the 95th percentile; the mean where no band is kept) for all cities and each city, with
the goal; the leak effect (the run and its no-leak twin); several runs on shared axes; a
tracked forecast against the reported counts; a sweep's persons arrested at each value; a
sensitivity analysis's indices.
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
                "mode": "lines",
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
            "mode": "lines",
            "x": days,
            "y": _values(series["p50"] if traces else series["mean"]),
            "line": {"color": line, "width": 2},
            "name": f"{name}: median" if traces else f"{name}: mean",
        }
    )
    return traces


def _layout(title: str, days: list[int], y_title: str = "persons") -> dict[str, Any]:
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": "day (0: first field day)"}, "range": days},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2},  # below the axis title
        "margin": {"t": 48, "r": 16, "b": 96, "l": 64},
    }


def _goal_line(goal: int, days: list[int]) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": days,
        "y": [goal, goal],
        "mode": "lines",
        "line": {"color": GOAL, "dash": "dashdot", "width": 1.5},
        "name": f"goal: {goal:,} persons",
    }


def arrests_figure(run: StoredRun, place: str = "Total") -> dict[str, Any]:
    """Target persons arrested, cumulative, in a city or in all, with the goal (for all)."""
    series = run.series("arrests", place=place)
    name = "all cities" if place == "Total" else place
    traces = _fan(series, name, LINE, BAND)
    goal = run.scenario.operation.goal_persons
    layout = _layout(f"Target persons arrested, {name}", _days_shown(run))
    top = np.nanmax(series["p95"]) if np.isfinite(series["p95"]).any() else series["mean"].max()
    if place == "Total" and goal <= 1.5 * top:
        traces.append(_goal_line(goal, _days_shown(run)))
    elif place == "Total":
        layout["title"]["text"] += f" (the goal, {goal:,}, is far above this scale)"
    if place != "Total":
        _small(layout)
    return {"data": traces, "layout": layout}


def _small(layout: dict[str, Any]) -> None:
    """A city's chart, one of many side by side: no legend (the chart for all cities has
    it), so the axes keep their room."""
    layout["showlegend"] = False
    layout["margin"]["b"] = 48


def leak_figure(run: StoredRun) -> dict[str, Any]:
    """Target persons arrested with and without the leak (the paired no-leak twin); a
    scenario without leak events is its own twin, and has one fan."""
    if not run.has_leak_twin():
        traces = _fan(run.series("arrests"), "no leak in this scenario", LINE, BAND)
    else:
        traces = _fan(run.series("arrests"), "with the leak", LINE, BAND)
        traces += _fan(
            run.series("arrests", variant="no_leak"), "without the leak", TWIN, TWIN_BAND
        )
    return {"data": traces, "layout": _layout("The leak's effect on arrests", _days_shown(run))}


def comparison_figure(runs: list[StoredRun]) -> dict[str, Any]:
    """Several runs' arrests, all cities, on shared axes."""
    traces = []
    for index, run in enumerate(runs):
        color = PALETTE[index % len(PALETTE)]
        band = color + "33"
        traces += _fan(run.series("arrests"), f"{run.scenario.name} ({run.run_id})", color, band)
    days = [min(_days_shown(run)[0] for run in runs), max(_days_shown(run)[1] for run in runs)]
    layout = _layout("Target persons arrested, all cities", days)
    return {"data": traces, "layout": layout}


def sweep_figure(answer: dict[str, Any]) -> dict[str, Any]:
    """A sweep (``Sweep.as_dict()``): target persons arrested by the end of field work at each
    value, the median and the 90% interval (a grid's medians, a line per value of its second
    parameter, each point's interval on hover), the scenario's own value marked, with the
    goal when it is on the scale."""
    rows = answer["values"]
    by = answer.get("by")  # a sweep kept before grids (2026-12-07) has none
    values = [row["value"] for row in rows]
    arrested = {q: [row["persons_arrested"][q] for row in rows] for q in ("p05", "median", "p95")}
    own = next(row for row in rows if row["scenarios_own"])
    traces: list[dict[str, Any]] = []
    if by is None:
        traces += [
            {
                "type": "scatter",
                "x": values + values[::-1],
                "y": arrested["p95"] + arrested["p05"][::-1],
                "mode": "lines",
                "fill": "toself",
                "fillcolor": BAND,
                "line": {"width": 0},
                "hoverinfo": "skip",
                "name": "90% interval",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": values,
                "y": arrested["median"],
                "line": {"color": LINE, "width": 2},
                "name": "median",
            },
        ]
    else:  # without bands, which would hide one another
        for index, second in enumerate(by["values"]):
            line = [row for row in rows if row["by_value"] == second]
            now = " (now)" if second == by["scenarios_own_value"] else ""
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": [row["value"] for row in line],
                    "y": [row["persons_arrested"]["median"] for row in line],
                    "text": [
                        "90% interval {p05:,.0f} to {p95:,.0f}".format(**row["persons_arrested"])
                        for row in line
                    ],
                    "line": {"color": PALETTE[index % len(PALETTE)], "width": 2},
                    "name": f"{by['parameter']} {second:,}{now}",
                }
            )
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": [own["value"]],
            "y": [own["persons_arrested"]["median"]],
            "marker": {"color": TWIN, "size": 11, "symbol": "diamond"},
            "name": "the scenario's own value" + ("s" if by is not None else ""),
        }
    )
    goal = answer["goal_persons"]
    title = "Target persons arrested by the end of field work"
    title += f", by {answer['parameter']}" if by is None else ", medians"
    if goal <= 1.5 * max(arrested["p95"]):
        traces.append(_goal_line(goal, [values[0], values[-1]]))
    else:
        title += f" (the goal, {goal:,}, is far above this scale)"
    unit = f" ({answer['unit']})" if answer["unit"] else ""
    layout = {
        "title": {"text": title},
        "xaxis": {"title": {"text": answer["parameter"] + unit}},
        "yaxis": {"title": {"text": "persons"}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2},
        "margin": {"t": 48, "r": 16, "b": 96, "l": 64},
    }
    return {"data": traces, "layout": layout}


def sensitivity_figure(answer: dict[str, Any]) -> dict[str, Any]:
    """A sensitivity analysis (``Sensitivity.as_dict()``): each assumption's main index with
    its confidence interval, a panel per output side by side, the assumptions in the order of
    their effect on persons arrested (the first panel's). The dashboard's form of
    ``charts.sensitivity_chart``."""
    index = answer["main_index"]
    outputs = answer["outputs"]
    order = [row["parameter"] for row in outputs["persons_arrested"]["ranking"]]
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    width = 1 / len(outputs)
    for panel, result in enumerate(outputs.values(), 1):
        by_parameter = {row["parameter"]: row for row in result["ranking"]}
        rows = [by_parameter[parameter] for parameter in order]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": [row[index] for row in rows],
                "y": order,
                "error_x": {"type": "data", "array": [row[f"{index}_conf"] for row in rows]},
                "marker": {"color": LINE},
                "name": result["meaning"],
                "xaxis": f"x{panel}",
                "yaxis": "y",
                "showlegend": False,
            }
        )
        layout[f"xaxis{panel}"] = {
            "domain": [(panel - 1) * width + 0.02, panel * width - 0.02],
            "title": {"text": result["meaning"]},
            "rangemode": "tozero",
            "anchor": "y",
        }
    confidence = f"{100 * answer['confidence_level']:.0f}%"
    layout |= {
        "title": {
            "text": f"{answer['scenario']}: {index.replace('_star', '*')} of each assumption "
            f"({confidence} intervals)"
        },
        "yaxis": {"autorange": "reversed", "automargin": True},
        "height": 160 + 26 * len(order),
        "margin": {"t": 48, "r": 16, "b": 64, "l": 16},
    }
    return {"data": traces, "layout": layout}


def tracked_figure(summary: dict[str, Any], place: str = "Total") -> dict[str, Any]:
    """A tracked forecast (``Tracking.summary()``): the filtered band on each observed day
    (given the counts up to that day), the forecast after the last one, the reported counts
    as points, and the goal (for all cities); as the static report's ``tracked_arrests``."""
    places = list(summary["arrests_by_day"])
    column = places.index(place)
    steps = summary["steps"]
    name = "all cities" if place == "Total" else place
    traces = []
    if steps:
        filtered = {
            "day": np.array([step["day"] for step in steps]),
            **{
                key: np.array([step["band"][column][i] for step in steps], dtype=float)
                for i, key in enumerate(("p05", "p50", "p95"))
            },
        }
        traces += _fan(filtered, "filtered", TWIN, TWIN_BAND)
    rows = summary["arrests_by_day"][place]
    ahead = {
        "day": np.array([row["day"] for row in rows]),
        "p05": np.array([row["p05"] for row in rows], dtype=float),
        "p50": np.array([row["median"] for row in rows], dtype=float),
        "p95": np.array([row["p95"] for row in rows], dtype=float),
    }
    traces += _fan(ahead, "forecast", LINE, BAND)
    points = summary["observed_arrests"].get(place) or (
        _summed_cities(summary["observed_arrests"], summary["arrests_by_day"])
        if place == "Total"
        else []
    )
    if points:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [point[0] for point in points],
                "y": [point[1] for point in points],
                "marker": {"symbol": "x", "color": GOAL, "size": 9},
                "name": "reported",
            }
        )
    first = min([step["day"] for step in steps] + [int(ahead["day"].min())])
    days = [first, int(ahead["day"].max())]
    goal = summary["goal_persons"]
    if place == "Total" and goal <= 1.5 * np.nanmax(ahead["p95"]):
        traces.append(_goal_line(goal, days))
    layout = _layout(f"Target persons arrested, {name}: tracked", days)
    if place != "Total":
        _small(layout)
    return {"data": traces, "layout": layout}


def _summed_cities(
    observed: dict[str, list[list[int]]], bands: dict[str, list[dict[str, float]]]
) -> list[list[int]]:
    """All cities' reported counts, summed, on the days every city reported (none if a city
    that can have arrests is missing: a partial sum would look like a total and undercount;
    a city where the forecast is 0 on every day, with no targets, need not report)."""
    cities = _cities_with_arrests(bands)
    if not all(observed.get(city) for city in cities):
        return []
    by_city = [dict(map(tuple, observed[city])) for city in cities]
    days = sorted(set.intersection(*(set(counts) for counts in by_city)))
    return [[day, sum(counts[day] for counts in by_city)] for day in days]


def run_figures(run: StoredRun) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """A run page's figures: arrests in all cities ("arrests"), the leak ("leak") and each
    city with targets ("city-0", ...), and those cities' names in that order."""
    cities = [city.name for city in run.scenario.cities if city.target_persons > 0]
    figures = {
        "arrests": arrests_figure(run),
        "leak": leak_figure(run),
        **{f"city-{i}": arrests_figure(run, city) for i, city in enumerate(cities)},
    }
    return figures, cities


def tracking_figures(summary: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """A tracked forecast's figures: all cities ("tracked") and each city that can have
    arrests ("city-0", ...), and those cities' names in that order."""
    cities = _cities_with_arrests(summary["arrests_by_day"])
    figures = {
        "tracked": tracked_figure(summary),
        **{f"city-{i}": tracked_figure(summary, city) for i, city in enumerate(cities)},
    }
    return figures, cities


def _cities_with_arrests(bands: dict[str, list[dict[str, float]]]) -> list[str]:
    """The cities whose forecast of arrests is above 0 on some day (the others have none to
    make: no targets, or none left)."""
    return [
        place
        for place, rows in bands.items()
        if place != "Total" and any(row["p95"] > 0 for row in rows)
    ]
