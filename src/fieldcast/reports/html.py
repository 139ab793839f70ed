"""Self-contained HTML reports of stored runs: charts inlined as SVG, no outside resources, so
the file opens offline and can be mailed or archived as it is."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from fieldcast.forecast import GOAL_DAY_LABEL, goal_day_pair, uncertainty_pairs
from fieldcast.reports.charts import compare_arrests, run_charts
from fieldcast.reports.comparison import (
    PAIRED_NOTE,
    outcome_table,
    paired_cell,
    scenario_changes,
)
from fieldcast.reports.numbers import goal_day_chances, goal_day_range, goal_day_sentence
from fieldcast.scenario import parameter_info, parameter_paths, parameter_value
from fieldcast.store import StoredRun

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1040px; margin: 2em auto; color: #111;
       line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 2em;
       border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.number { text-align: right; white-space: nowrap; }
.meta { color: #444; font-size: 0.9em; } .figure svg { max-width: 100%; height: auto; }
.kind-source { font-weight: 600; } .kind-assumption { font-style: italic; }
.kind-derived { color: #555; }
"""


def svg(figure: Figure) -> str:
    """The figure as inline SVG. Its text stays text (``svg.fonttype`` "none"), not glyph
    outlines: a reader can select and search it (a city's name, a figure), and the file is
    about a third smaller and a quarter quicker to write. The browser draws it in DejaVu Sans,
    as matplotlib would, or in the nearest sans-serif font the reader's machine has."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue: the SVG is inlined


def _page(title: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    lines = []
    for row in rows:
        cells = "".join(
            f"<td class='number'>{html.escape(c)}</td>"
            if i >= numeric_from
            else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(lines)}</table>"


def _metadata(run: StoredRun) -> str:
    summary = run.summary
    rows = [
        ["run id", run.run_id],
        ["stored", f"{run.created_at:%Y-%m-%d %H:%M:%S} UTC"],
        ["fieldcast version", run.fieldcast_version],
        ["scenario", f"{run.scenario.name}: {run.scenario.title}"],
        ["scenario sha256", summary["scenario_sha256"]],
        ["seed", str(run.seed)],
        ["replications", f"{run.replications:,}"],
        ["engine", run.engine],
        ["run time", f"{run.seconds:.1f} s"],
        [
            "to reproduce",
            f"fieldcast runs export {run.run_id} (for the scenario), then "
            f"fieldcast forecast SCENARIO.json --seed {run.seed} -n {run.replications} "
            f"--engine {run.engine}",
        ],
    ]
    return _table(["", ""], rows, numeric_from=2)


def _parameters(run: StoredRun) -> str:
    scenario = run.scenario
    rows = []
    for path in parameter_paths(scenario):
        value = parameter_value(scenario, path)
        unit, meaning = parameter_info(path)
        provenance = scenario.provenance.get(path)
        kind = provenance.kind if provenance else "not stated"
        note = provenance.note if provenance else ""
        rows.append(
            f"<tr><td><code>{html.escape(path)}</code></td><td>{html.escape(json.dumps(value))}"
            f"</td><td>{html.escape(unit)}</td><td>{html.escape(meaning)}</td>"
            f"<td class='kind-{html.escape(kind)}'>{html.escape(kind)}</td>"
            f"<td>{html.escape(note)}</td></tr>"
        )
    header = "".join(
        f"<th>{h}</th>" for h in ("parameter", "value", "unit", "meaning", "kind", "source / note")
    )
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


RESOURCE_NAMES = {
    "team_capacity": "team capacity (every attempt used on most field days, or none possible in "
    "a city with targets)",
    "beds": "family beds (households meant for detention found no bed)",
    "transport": "removal transport (families still waiting for seats at the horizon)",
    "monitors": "ankle monitors (stock-outs)",
}


def _binds(summary: dict[str, Any]) -> str:
    names = [RESOURCE_NAMES[name] for name in summary["binding"]["binds"]]
    return "; ".join(names) or "nothing: no resource limited the operation in most runs"


def _assumption_uncertainty(summary: dict[str, Any]) -> list[str]:
    """The outcomes with replication noise only and with the assumptions' uncertainty."""
    prior = summary.get("with_assumption_uncertainty")
    if not prior:
        return []

    def shown(interval: dict[str, Any], money: bool) -> str:
        unit = "$" if money else ""
        return (
            f"{unit}{interval['median']:,.0f} ({unit}{interval['p05']:,.0f} to "
            f"{unit}{interval['p95']:,.0f})"
        )

    rows = [
        [
            "Probability of reaching the goal",
            f"{100 * summary['p_goal']:.1f}%",
            f"{100 * prior['p_goal']:.1f}%",
        ]
    ]
    for label, alone, with_prior, money in uncertainty_pairs(summary):
        rows.append([label, shown(alone, money), shown(with_prior, money)])
    if (days := goal_day_pair(summary)) is not None:
        rows.append([GOAL_DAY_LABEL, *(goal_day_range(goal_day) for goal_day in days)])
    return [
        "<h2>How sure: replication noise and the assumptions</h2>",
        f"<p>With assumption uncertainty: {html.escape(prior['includes'])}. Without: the "
        "scenario's values taken as exact.</p>",
        _table(["Outcome", "Replication noise only", "With assumption uncertainty"], rows),
    ]


def _goal_day(summary: dict[str, Any]) -> list[str]:
    """When the goal is reached, if one replication in twenty reaches it (runs stored before
    2026-12-07 do not say)."""
    goal_day = summary.get("goal_day")
    if goal_day is None or goal_day["p05"] is None:
        return []
    return [
        f"<p data-goal-day>When: {html.escape(goal_day_sentence(goal_day))} Chance of having "
        f"reached it by field day: {goal_day_chances(goal_day)}.</p>"
    ]


def run_report(run: StoredRun) -> str:
    """The report of one run as an HTML document."""
    summary = run.summary
    charts = run_charts(run)
    arrested = summary["persons_arrested"]
    leak = summary["leak_effect_persons"]
    body = [
        f"<h1>{html.escape(run.scenario.title or run.scenario.name)}</h1>",
        f"<p class='meta'>fieldcast forecast, run {html.escape(run.run_id)}: "
        f"{run.replications:,} replications, seed {run.seed}, engine {run.engine}. "
        "Figures are medians with 90% intervals over replications; they include replication "
        "noise only, unless marked as including the assumptions' uncertainty.</p>",
        "<h2>Reach</h2>",
        f"<p>Goal: {summary['goal_persons']:,} target persons arrested by the end of field work. "
        f"Probability of reaching it: <b>{100 * summary['p_goal']:.1f}%</b>. "
        f"Target persons arrested by the end of field work: <b>{arrested['median']:,.0f}</b> "
        f"(90% interval {arrested['p05']:,.0f} to {arrested['p95']:,.0f}) "
        f"of {summary['target_persons']:,} targets.</p>",
        *_goal_day(summary),
        f"<div class='figure'>{svg(charts['arrests'])}</div>",
        *_assumption_uncertainty(summary),
        "<h2>Leak effect</h2>",
        f"<p>With minus without the leak: <b>{leak['median']:,.0f}</b> persons "
        f"(90% interval {leak['p05']:,.0f} to {leak['p95']:,.0f}); the two runs share their "
        f"random numbers (correlation of paired totals {leak['correlation']:.2f}).</p>",
        f"<div class='figure'>{svg(charts['leak'])}</div>",
        "<h2>Resources: what binds</h2>",
        f"<p>What binds: {html.escape(_binds(summary))}.</p>",
        f"<div class='figure'>{svg(charts['resources'])}</div>",
        "<h2>Costs</h2>",
        f"<div class='figure'>{svg(charts['costs'])}</div>",
        "<h2>People affected</h2>",
        f"<div class='figure'>{svg(charts['people'])}</div>",
        "<h2>Parameters and their provenance</h2>",
        "<p>Each value is from a cited <span class='kind-source'>source</span>, an "
        "<span class='kind-assumption'>assumption</span> to override when you know better, or "
        "<span class='kind-derived'>derived</span> from other values (the docket stage).</p>",
        _parameters(run),
        "<h2>Run</h2>",
        _metadata(run),
    ]
    return _page(f"fieldcast: {run.scenario.name} ({run.run_id})", body)


def comparison_report(runs: list[StoredRun], paired: Sequence[dict[str, Any]] = ()) -> str:
    """Several runs side by side: outcomes, the paired change of each run from the first
    (``comparison.paired_changes``, one per later run), scenario differences, arrests on
    shared axes."""
    ids = [run.run_id for run in runs]
    outcome_rows = [[label, *cells] for label, cells in outcome_table([r.summary for r in runs])]
    changes = []
    for run in runs[1:]:
        for change in scenario_changes(runs[0].scenario, run.scenario):
            changes.append(
                [run.run_id, change.path, json.dumps(change.before), json.dumps(change.after)]
            )
    body = [
        "<h1>fieldcast: comparison of runs</h1>",
        f"<p class='meta'>Runs: {html.escape(', '.join(ids))}.</p>",
        "<h2>Outcomes</h2>",
        _table(["", *[f"{r.run_id} ({r.scenario.name})" for r in runs]], outcome_rows),
        f"<div class='figure'>{svg(compare_arrests(runs))}</div>",
        *_paired_sections(ids, paired),
        f"<h2>Scenario differences from {html.escape(ids[0])}</h2>",
        _table(["run", "parameter", "in the first run", "in this run"], changes, numeric_from=4)
        if changes
        else "<p>The scenarios are identical.</p>",
    ]
    return _page("fieldcast: comparison", body)


def _paired_sections(ids: list[str], paired: Sequence[dict[str, Any]]) -> list[str]:
    """The paired change of each later run from the first, or why there is none."""
    if not paired:
        return []
    sections = ["<h2>Paired change</h2>"]
    for run_id, found in zip(ids[1:], paired, strict=True):
        title = f"<h3>{html.escape(ids[0])} → {html.escape(run_id)}</h3>"
        if found["unpaired"]:
            sections += [title, f"<p>Not paired: {html.escape(found['unpaired'])}.</p>"]
            continue
        rows = [[row["outcome"], paired_cell(row)] for row in found["rows"]]
        sections += [title, _table(["", "change"], rows)]
    return [*sections, f"<p class='meta'>{html.escape(PAIRED_NOTE)}</p>"]


def write_pngs(run: StoredRun, directory: str | Path) -> list[Path]:
    """The run's charts as PNG files, for slides and papers."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, figure in run_charts(run).items():
        path = directory / f"{run.run_id}-{stem}.png"
        figure.savefig(path, dpi=150)
        written.append(path)
    return written


def calibration_report(summary: dict[str, Any], values: Any) -> str:
    """A stored calibration (``Assessment.as_dict()`` and the last generation's particles):
    warnings first, the posterior beside the prior, the checks and the diagnostics."""
    from fieldcast.reports.charts import calibration_posteriors, predictive_check

    title = f"Calibration of {summary['scenario']} to {summary['observations']}"
    body = [f"<h1>{html.escape(title)}</h1>"]
    settings = summary["settings"]
    model = summary["observation_model"]
    body.append(
        "<p class='meta'>"
        + html.escape(
            f"calibration {summary['calibration_id']} · stopped: {summary['stopped']} · "
            f"{settings['particles']:,} particles x {summary['copies']} copies · seed "
            f"{settings['seed']} · reporting noise: {model['model']}"
            + (f" (size {model['dispersion']:g})" if model["model"] != "poisson" else "")
        )
        + "</p>"
    )
    if summary["warnings"]:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in summary["warnings"])
        body.append(f"<h2>Warnings</h2><ul>{items}</ul>")
    body.append("<h2>Assumptions: prior and posterior</h2>")
    body.append(
        _table(
            ["assumption", "scenario value", "prior", "posterior median", "90% interval"],
            [
                [
                    p["path"],
                    f"{p['scenario_value']:.4g}",
                    f"{p['prior']} {p['low']:g} to {p['high']:g}",
                    f"{p['median']:.4g}",
                    f"{p['p05']:.4g} to {p['p95']:.4g}",
                ]
                for p in summary["parameters"]
            ],
        )
    )
    body.append(f"<div class='figure'>{svg(calibration_posteriors(summary, values))}</div>")
    prior = summary["prior_predictive"]
    body.append(f"<h2>Observed series and the prior predictive {prior['level']:.0%} interval</h2>")
    body.append(
        _table(
            ["series (counts summed)", "observed", "interval", "conflict"],
            [
                [
                    s["series"],
                    f"{s['observed']:,}",
                    f"{s['low']:,.0f} to {s['high']:,.0f}",
                    "CONFLICT" if s["conflict"] else "no",
                ]
                for s in prior["series"]
            ],
        )
    )
    check = summary["posterior_predictive"]
    body.append(
        f"<h2>Posterior predictive check: {check['inside']} of {len(check['counts'])} "
        f"counts inside their {check['level']:.0%} interval</h2>"
    )
    body.append(f"<div class='figure'>{svg(predictive_check(summary))}</div>")
    body.append("<h2>Sampler diagnostics (tempered sequential Monte Carlo)</h2>")
    body.append(
        _table(
            [
                "generation",
                "temperature",
                "ESS",
                "acceptance",
                "moves",
                "simulations",
                "failed",
                "seconds",
            ],
            [
                [
                    str(g["generation"]),
                    f"{g['beta']:.4f}",
                    f"{g['ess']:,.0f}",
                    "-" if g["acceptance"] is None else f"{g['acceptance']:.2f}",
                    str(g["moves"]),
                    f"{g['simulations']:,}",
                    f"{g['failed_simulations']:,}",
                    f"{g['seconds']:,.1f}",
                ]
                for g in summary["generations"]
            ],
        )
    )
    body.append(
        "<p class='meta'>Posterior: the ranged assumptions given the observed counts; its "
        "intervals include the assumptions' uncertainty as the evidence leaves it. Method: "
        "docs/model.md, section 10.</p>"
    )
    return _page(title, body)


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:+.1f} pts" if percent else f"{value:+,.0f}"


def _interval(interval: dict[str, Any]) -> str:
    if interval["median"] is None:
        return "not reached"
    low = "n/a" if interval["p05"] is None else f"{interval['p05']:,.0f}"
    high = "n/a" if interval["p95"] is None else f"{interval['p95']:,.0f}"
    return f"{interval['median']:,.0f} ({low} to {high})"


def tracking_report(summary: dict[str, Any]) -> str:
    """A tracked forecast (``Tracking.summary()``): warnings, the forecast before and after
    the newest counts and what moved it, fan charts with the reported counts, the tracked
    assumptions and the filter's effective sample sizes."""
    from fieldcast.reports.charts import tracked_arrests

    title = f"{summary['scenario']} tracked to {summary['observations']}"
    went_on = summary["updated_from_day"]
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<p class='meta'>"
        + html.escape(
            f"tracking {summary.get('tracking_id', '')} · as of day {summary['as_of_day']} · "
            f"{summary['particles']:,} particles · seed {summary['seed']} · "
            + ("filtered from day 0" if went_on is None else f"updated from day {went_on}")
        )
        + "</p>",
        f"<p>Intervals include {html.escape(summary['intervals_include'])}.</p>",
    ]
    if summary["warnings"]:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in summary["warnings"])
        body.append(f"<h2>Warnings</h2><ul>{items}</ul>")
    before, after, change = summary["before"], summary["after"], summary["change"]
    since = "before any count" if before["as_of_day"] is None else f"day {before['as_of_day']}"
    body.append(
        f"<h2>Before and after the newest counts (goal {summary['goal_persons']:,} persons)</h2>"
    )
    body.append(
        _table(
            ["", f"before ({since})", f"after (day {after['as_of_day']})", "change"],
            [
                [
                    "P(goal)",
                    f"{before['p_goal']:.1%}",
                    f"{after['p_goal']:.1%}",
                    _signed(change["p_goal"], percent=True),
                ],
                [
                    "persons arrested by the end of field work",
                    _interval(before["persons_arrested"]),
                    _interval(after["persons_arrested"]),
                    _signed(change["persons_arrested_median"]),
                ],
                [
                    "day the goal is reached",
                    _interval(before["goal_day"]),
                    _interval(after["goal_day"]),
                    _signed(change["goal_day_median"]),
                ],
            ],
        )
    )
    if change["by_place"]:
        body.append("<h2>What moved it: each place's newest counts alone</h2>")
        body.append(
            _table(
                ["place", "P(goal)", "median persons arrested"],
                [
                    [
                        place,
                        _signed(moved["p_goal"], percent=True),
                        _signed(moved["persons_arrested_median"]),
                    ]
                    for place, moved in change["by_place"].items()
                ],
            )
        )
    body.append("<h2>Persons arrested: filtered, forecast and reported</h2>")
    body.append(f"<div class='figure'>{svg(tracked_arrests(summary))}</div>")
    body.append("<h2>Persons arrested by the end of field work, by city</h2>")
    body.append(
        _table(
            ["city", "before", "after"],
            [
                [city, _interval(before["by_city"][city]), _interval(interval)]
                for city, interval in after["by_city"].items()
            ],
        )
    )
    body.append("<h2>Tracked assumptions</h2>")
    body.append(
        _table(
            ["assumption", "prior (declared range)", "median", "90% interval"],
            [
                [
                    p["parameter"],
                    f"{p['prior_low']:g} to {p['prior_high']:g}",
                    f"{p['median']:.4g}",
                    f"{p['p05']:.4g} to {p['p95']:.4g}",
                ]
                for p in summary["parameters"]
            ],
        )
    )
    if summary["held_at_scenario_values"]:
        body.append(
            "<p>Held at the scenario's values (they cannot vary by lane; calibrate them "
            f"first): {html.escape(', '.join(summary['held_at_scenario_values']))}.</p>"
        )
    body.append("<h2>The filter, day by day</h2>")
    body.append(
        _table(
            ["day", "counts", "effective sample size", "collapsed"],
            [
                [
                    str(s["day"]),
                    str(s["counts"]),
                    f"{s['ess']:,.1f}",
                    "yes" if s["collapsed"] else "no",
                ]
                for s in summary["steps"]
            ],
        )
    )
    return _page(title, body)


def backtest_report(summary: dict[str, Any]) -> str:
    """A backtest (``Backtest.summary()``): scores by horizon, coverage and PIT charts, and
    every prediction."""
    from fieldcast.reports.charts import backtest_scores

    title = f"Backtest of {summary['scenario']} on {summary['observations']}"
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<p class='meta'>"
        + html.escape(f"{summary['particles']:,} particles · seed {summary['seed']}")
        + "</p>",
        f"<p>Scored: {html.escape(summary['scored'])}.</p>",
        "<h2>Scores by horizon</h2>",
        _table(
            ["horizon (days)", "predictions", "CRPS (persons)", "50% coverage", "90% coverage"],
            [
                [
                    str(r["horizon_days"]),
                    str(r["predictions"]),
                    f"{r['crps']:,.2f}",
                    f"{r['coverage_50']:.0%}",
                    f"{r['coverage_90']:.0%}",
                ]
                for r in summary["by_horizon"]
            ],
        ),
        f"<div class='figure'>{svg(backtest_scores(summary))}</div>",
        "<h2>Every prediction</h2>",
        _table(
            ["made on day", "for day", "series", "reported", "median", "90% interval", "CRPS"],
            [
                [
                    str(p["origin"]),
                    str(p["day"]),
                    f"{p['place']} {p['metric']}",
                    f"{p['observed']:,}",
                    f"{p['median']:,.0f}",
                    f"{p['p05']:,.0f} to {p['p95']:,.0f}",
                    f"{p['crps']:,.2f}",
                ]
                for p in summary["predictions"]
            ],
        ),
    ]
    return _page(title, body)


def run_score_report(summary: dict[str, Any]) -> str:
    """A stored run held against observed counts (``RunScore.summary()``): every series
    beside the forecast, as forecast and with the assumptions' uncertainty."""
    title = f"Run {summary['run_id']} of {summary['scenario']} against {summary['observations']}"
    draws = summary["assumption_draws"]
    names = ("as_forecast", "with_assumptions")[: 2 if draws else 1]
    header = ["series", "days", "observed"]
    header += ["as forecast: median", "90% interval", "PIT"]
    header += ["with the assumptions: median", "90% interval", "PIT"] if draws else []
    rows = []
    for series in summary["series"]:
        row = [
            f"{series['place']} {series['metric'].replace('_', ' ')}",
            series["days"],
            f"{series['observed']:,}",
        ]
        for name in names:
            score = series[name]
            outside = "" if score["inside_90"] else " (outside)"
            row += [
                f"{score['median']:,.0f}",
                f"{score['p05']:,.0f} to {score['p95']:,.0f}{outside}",
                f"{score['pit']:.2f}",
            ]
        rows.append(row)
    inside, count = summary["inside_90"], summary["series_count"]
    held = f"Inside the 90% interval as forecast: {inside['as_forecast']} of {count} series"
    if draws:
        held += f"; with the assumptions' uncertainty: {inside['with_assumptions']} of {count}"
    meta = f"seed {summary['seed']} · {summary['replications_scored']:,} replications"
    meta += f" · {draws:,} draws of the ranged assumptions" if draws else ""
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='meta'>{html.escape(meta)}</p>",
        f"<p>Scored: {html.escape(summary['scored'])}.</p>",
        f"<p><strong>{html.escape(held)}.</strong></p>",
        _table(header, rows, numeric_from=2),
        "<p class='meta'>PIT: the share of the forecast below the count, plus half the share "
        "at it; near 0 or 1, the count lies in a tail. The series of one operation share its "
        "circumstances: this describes the operation, it does not test the forecast's "
        "calibration (see <code>fieldcast backtest</code>).</p>",
    ]
    return _page(title, body)
