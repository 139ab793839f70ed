"""The forecast as a short terminal report, built from ``Forecast.summary()`` only.

Everything printed here is in the JSON too: the report formats, it does not compute.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from fieldcast.forecast import GOAL_DAY_LABEL, goal_day_pair, uncertainty_pairs
from fieldcast.reports.numbers import (
    dollars,
    goal_day_chances,
    goal_day_range,
    goal_day_sentence,
    listed_field_days,
    sweep_goal_days,
)
from fieldcast.reports.table import Table


def _show(console: Console, *renderables: Any) -> None:
    """Print wrapped to the console's width: a panel's text never runs past its frame (nor is
    it cropped there), whether the console is a terminal or a file."""
    console.print(*renderables, soft_wrap=False)


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _range(interval: dict[str, Any]) -> str:
    return f"{_count(interval['median'])} ({_count(interval['p05'])} to {_count(interval['p95'])})"


def _money(value: float | None) -> str:
    return "n/a" if value is None else dollars(value)


def _money_range(interval: dict[str, Any]) -> str:
    return f"{_money(interval['median'])} ({_money(interval['p05'])} to {_money(interval['p95'])})"


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def render_forecast(summary: dict[str, Any], console: Console) -> None:
    """Print the forecast: reach, by city, leak effect, what binds, costs, people affected."""
    _show(console, _header(summary))
    _show(console, _reach(summary))
    if summary.get("with_assumption_uncertainty"):
        _show(console, _assumption_uncertainty(summary))
    _show(console, _by_city(summary))
    _show(console, _leak(summary))
    _show(console, _binding(summary))
    _show(console, _costs(summary))
    _show(console, _people(summary))
    _show(
        console,
        Text(
            "Figures are medians with 90% intervals over replications; they include "
            "replication noise only, unless marked as including the assumptions' uncertainty. "
            "Targets are counted in persons; collateral (non-target) arrests are never "
            "included in them.",
            style="dim",
        ),
    )


def _header(summary: dict[str, Any]) -> Panel:
    lines = Text()
    lines.append(f"{summary['scenario_title'] or summary['scenario']}\n", style="bold")
    lines.append(
        f"scenario {summary['scenario']} · {summary['replications']:,} replications · "
        f"engine {summary['engine']} · "
        f"seed {summary['seed']} · scenario sha256 {summary['scenario_sha256'][:12]} · "
        f"fieldcast {summary['fieldcast_version']}",
        style="dim",
    )
    return Panel(lines, title="fieldcast forecast", expand=False)


def _reach(summary: dict[str, Any]) -> Panel:
    arrested = summary["persons_arrested"]
    targets = summary["target_persons"]
    share = arrested["median"] / targets if targets else 0.0
    last_field_day = summary["arrests_by_day"][-1]["day"] if summary["arrests_by_day"] else 0
    text = Text()
    text.append(f"Goal: {summary['goal_persons']:,} target persons arrested by the end of field ")
    text.append(f"work (day {last_field_day}).\n")
    text.append("Probability of reaching the goal: ")
    text.append(_percent(summary["p_goal"]), style="bold")
    text.append(f" (by the horizon: {_percent(summary['p_goal_by_horizon'])}).\n")
    goal_day = summary.get("goal_day")  # runs stored before 2026-12-07 lack it
    if goal_day is not None and goal_day["p05"] is not None:
        text.append(f"When: {goal_day_sentence(goal_day)}\n")
        text.append(f"Chance of having reached it by field day: {goal_day_chances(goal_day)}\n")
    text.append("Target persons arrested by the end of field work: ")
    text.append(_range(arrested), style="bold")
    text.append(f" of {targets:,} targets ({_percent(share)} at the median).\n")
    days = summary["arrests_by_day"]
    listed = listed_field_days(len(days))
    if len(listed) == len(days):
        text.append("Cumulative persons arrested by field day (median): ")
    else:
        step = listed[1] - listed[0]
        text.append(
            f"Cumulative persons arrested by field day (median; of the {len(days)} field "
            f"days, every {step} days from day 0 and the last; every day in the JSON): "
        )
    text.append(", ".join(f"day {days[i]['day']}: {days[i]['median']:,.0f}" for i in listed))
    return Panel(text, title="Reach", expand=False)


def _assumption_uncertainty(summary: dict[str, Any]) -> Table:
    prior = summary["with_assumption_uncertainty"]
    table = Table(
        title="How sure: replication noise only, and with the assumptions' uncertainty",
        title_justify="left",
        caption=Text(f"With assumptions: {prior['includes']}."),
        caption_justify="left",
    )
    table.add_column("Outcome")
    table.add_column("Replication noise only", justify="right")
    table.add_column("With assumption uncertainty", justify="right")
    table.add_row(
        "Probability of reaching the goal",
        _percent(summary["p_goal"]),
        _percent(prior["p_goal"]),
    )
    for label, alone, with_prior, money in uncertainty_pairs(summary):
        show = _money_range if money else _range
        table.add_row(label, show(alone), show(with_prior))
    if (days := goal_day_pair(summary)) is not None:
        table.add_row(GOAL_DAY_LABEL, *(goal_day_range(goal_day) for goal_day in days))
    return table


def _by_city(summary: dict[str, Any]) -> Table:
    table = Table(title="By city: target persons arrested", title_justify="left")
    table.add_column("City")
    table.add_column("Targets", justify="right")
    table.add_column("Arrested by end of field work", justify="right")
    table.add_column("Field days at full team capacity", justify="right")
    shares = summary["binding"]["team_capacity_full_share_by_city"]
    for city, row in summary["by_city"].items():
        table.add_row(
            city,
            f"{row['target_persons']:,}",
            _range(row),
            f"{100 * shares[city]:.0f}%",
        )
    return table


def _leak(summary: dict[str, Any]) -> Panel:
    leak = summary["leak_effect_persons"]
    text = Text()
    text.append("Without the leak: ")
    text.append(_range(leak["persons_arrested_without_leak"]))
    text.append(" persons arrested by the end of field work.\nLeak effect (with minus without): ")
    text.append(_range(leak), style="bold")
    text.append(f" persons; mean {leak['mean']:,.1f}.\n")
    text.append(
        f"Paired runs with common random numbers; correlation of the paired totals "
        f"{leak['correlation']:.2f}.",
        style="dim",
    )
    return Panel(text, title="Leak effect", expand=False)


def _binding(summary: dict[str, Any]) -> Table:
    binding = summary["binding"]
    binds = set(binding["binds"])
    table = Table(title="What binds", title_justify="left")
    table.add_column("Resource")
    table.add_column("Evidence")
    table.add_column("Binds?")

    def verdict(name: str) -> Text:
        return Text("yes", style="bold") if name in binds else Text("no")

    capacity = (
        f"every attempt used on {_percent(binding['team_capacity_full_share'])} of city field days"
    )
    without = binding.get("cities_with_targets_without_capacity") or []
    if without:
        with_targets = sum(1 for city in summary["by_city"].values() if city["target_persons"])
        capacity += (
            f"; no field capacity at all in {len(without)} of the {with_targets} cities with "
            "targets"
        )
    table.add_row("Team capacity", capacity, verdict("team_capacity"))
    table.add_row(
        "Family beds",
        f"{binding['beds_free_at_start']:,} free at the start; days a family found no bed: "
        f"{_range(binding['bed_pool_full_days'])} (any: {_percent(binding['p_bed_pool_full'])})",
        verdict("beds"),
    )
    table.add_row(
        "Removal transport",
        f"largest backlog {_range(binding['transport_backlog_max_persons'])} persons; "
        f"at the horizon {_range(binding['transport_backlog_at_horizon_persons'])}",
        verdict("transport"),
    )
    table.add_row(
        "Ankle monitors",
        f"stock-out days {_range(binding['monitor_stockout_days'])} "
        f"(any: {_percent(binding['p_monitor_stockout'])})",
        verdict("monitors"),
    )
    return table


def _costs(summary: dict[str, Any]) -> Table:
    cost = summary["cost"]
    table = Table(title="Costs to the horizon (USD)", title_justify="left")
    table.add_column("Item")
    table.add_column("Quantity", justify="right")
    table.add_column("Cost", justify="right")
    table.add_row("Officers", f"{cost['officer_days']:,.0f} officer-days", _money(cost["officers"]))
    table.add_row("Family beds", f"{_range(cost['bed_days'])} bed-days", _money_range(cost["beds"]))
    table.add_row(
        "Monitors", f"{_range(cost['monitor_days'])} monitor-days", _money_range(cost["monitors"])
    )
    table.add_row(
        "Transport", f"{_range(cost['persons_removed'])} persons", _money_range(cost["transport"])
    )
    table.add_row("Total", "", _money_range(cost["total"]), style="bold")
    table.add_row("Per target person arrested", "", _money_range(cost["per_person_arrested"]))
    table.add_row("Per person removed", "", _money_range(cost["per_person_removed"]))
    return table


def _people(summary: dict[str, Any]) -> Table:
    people = summary["people_affected"]
    table = Table(title="People affected, by the horizon", title_justify="left")
    table.add_column("")
    table.add_column("Persons", justify="right")
    table.add_column("of whom minors", justify="right")
    table.add_column("Households", justify="right")
    labels = {
        "arrested": "Arrested (targets)",
        "detained": "Detained",
        "removed": "Removed",
        "released_on_notice": "Released on notice to depart",
        "fitted_with_monitor": "Fitted with an ankle monitor",
        "departed_on_notice": "Departed by the deadline",
        "released_after_relief": "Released after a stay or reopened case",
        "rearrested": "Re-arrested at the deadline",
        "lost_to_follow_up": "Lost to follow-up",
    }
    for key, label in labels.items():
        row = people[key]
        table.add_row(
            label, _range(row["persons"]), _range(row["minors"]), _range(row["households"])
        )
    table.add_row(
        "Collateral arrests (non-targets)", _range(people["collateral_arrests_persons"]), "", ""
    )
    return table


def render_replay(summary: dict[str, Any], console: Console) -> None:
    """Print one replication recomputed alone (``Replay.summary()``): its outcomes on the
    last field day and the last day, and whether the stored run kept the same."""
    of = f"run {summary['run']}" if summary["run"] else f"scenario {summary['scenario']}"
    _show(
        console,
        Text(
            f"Replication {summary['replication']:,} of {of} (seed {summary['seed']}), "
            "recomputed alone",
            style="bold",
        ),
    )
    days = sorted({row["day"] for row in summary["outcomes"]})
    for day, title in zip(days, ("last field day", "last day"), strict=False):
        table = Table(title=f"Kept outcomes on day {day} ({title})", title_justify="left")
        for column in ("place", "metric", "households", "persons", "minors"):
            table.add_column(column, justify="left" if column in ("place", "metric") else "right")
        rows: dict[tuple[str, str], dict[str, int]] = {}
        for row in summary["outcomes"]:
            if row["day"] == day:
                rows.setdefault((row["place"], row["metric"]), {})[row["measure"]] = row["value"]
        for (place, metric), values in rows.items():
            table.add_row(
                place,
                metric,
                *(_count(values.get(measure)) for measure in ("households", "persons", "minors")),
            )
        _show(console, table)
    _show(
        console,
        Text(
            f"Bed-days {summary['bed_days']:,} (persons x days in family detention), "
            f"monitor-days {summary['monitor_days']:,} (households x days): total cost "
            f"{_money(summary['total_cost'])} to the last day."
        ),
    )
    same = summary["same_as_stored"]
    if same is None and summary["run"]:
        _show(
            console, Text("The run was stored before fieldcast kept every replication's outcomes.")
        )
    elif same is not None:
        verdict = "the same, bit for bit" if same else "DIFFERENT from what the run kept"
        _show(
            console,
            Text(f"Against the stored run: {verdict}.", style="bold" if same else "bold red"),
        )


def render_sensitivity(answer: dict[str, Any], console: Console) -> None:
    """Print a sensitivity analysis (``Sensitivity.as_dict()``): one ranking per output."""
    morris = answer["method"] == "morris"
    confidence = f"{100 * answer['confidence_level']:.0f}%"
    for output, result in answer["outputs"].items():
        money = output == "total_cost"
        mean = (_money if money else _count)(result["mean_over_points"])
        table = Table(
            title=f"{answer['scenario']}: what moves {result['meaning']} (mean over points {mean})",
            title_justify="left",
        )
        table.add_column("#", justify="right")
        table.add_column("assumption", overflow="fold")
        table.add_column("range", justify="right")
        if morris:
            table.add_column(f"mu* (+/- {confidence})", justify="right")
            table.add_column("sigma", justify="right")
        else:
            table.add_column(f"S1 (+/- {confidence})", justify="right")
            table.add_column(f"ST (+/- {confidence})", justify="right")
        for rank, row in enumerate(result["ranking"], 1):
            span = f"{row['low']:g} to {row['high']:g}"
            if morris:
                value = _money if money else _effect
                cells = [
                    f"{value(row['mu_star'])} +/- {value(row['mu_star_conf'])}",
                    value(row["sigma"]),
                ]
            else:
                cells = [
                    f"{_share(row['S1'])} +/- {_share(row['S1_conf'])}",
                    f"{_share(row['ST'])} +/- {_share(row['ST_conf'])}",
                ]
            if not row["distinguishable_from_zero"]:
                cells[0 if morris else 1] += " (~0)"
            table.add_row(str(rank), row["parameter"], span, *cells)
        _show(console, table)
        noise = result["replication_noise_share"]
        _show(
            console,
            Text(
                "replication noise: "
                + ("n/a (the output does not vary)" if noise is None else _percent(noise))
                + " of the variance across points",
                style="dim",
            ),
        )
    _show(console, Text(answer["reading"], style="dim"))
    for warning in answer["warnings"]:
        _show(console, Text.assemble(("warning: ", "bold yellow"), warning))


def render_sweep(answer: dict[str, Any], console: Console) -> None:
    """Print a sweep (``Sweep.as_dict()``): one row per value (or pair of values), the
    scenario's own marked; a grid's chance of the goal and persons arrested also as a grid."""
    by = answer.get("by")  # a sweep kept before grids (2026-12-07) has none
    varied = answer["parameter"] if by is None else f"{answer['parameter']} and {by['parameter']}"
    table = Table(
        title=f"{answer['scenario']}: what if {varied} were different", title_justify="left"
    )
    rows = answer["values"]
    when = sweep_goal_days(rows)
    values = [_headed("value" if by is None else answer["parameter"], answer["unit"])]
    if by is not None:
        values.append(_headed(by["parameter"], by["unit"]))
    columns = ["P(goal)", "arrested", "change", "removed", "cost", "binds"]
    for column in (*values, *columns[:1], *(["goal day"] if when else []), *columns[1:]):
        table.add_column(column, justify="left" if column == "binds" else "right")
    for row, day in zip(rows, when or [None] * len(rows), strict=True):
        change = row["change_in_persons_arrested"]
        now = " (now)" if row["scenarios_own"] else ""
        table.add_row(
            *(
                [f"{row['value']:,}{now}"]
                if by is None
                else [f"{row['value']:,}{now}", f"{row['by_value']:,}{now}"]
            ),
            f"{row['p_goal']:.3f}",
            *([day] if when else []),
            _range(row["persons_arrested"]),
            "-" if row["scenarios_own"] else _signed_range(change),
            _range(row["persons_removed"]),
            _money(row["total_cost"]["median"]),
            ", ".join(name.replace("_", " ") for name in row["binds"]) or "none",
        )
    _show(console, table)
    if by is not None:
        _show(console, _sweep_grid(answer, by))
    goal_day = (
        "goal day: the field day by which half the replications reach the goal (its interval "
        "in --json); "
        if when
        else ""
    )
    meanings = f"{answer['parameter']}: {answer['meaning']}. "
    if by is not None:
        meanings += f"{by['parameter']}: {by['meaning']}. "
    own = "value" if by is None else "pair of values"
    _show(
        console,
        Text(
            f"{meanings}{goal_day}arrested: target persons arrested by the end of field work, "
            f"and change: theirs against the scenario's own {own}; removed: persons removed by "
            "the horizon; cost: in all to the horizon (the median; its interval in --json).",
            style="dim",
        ),
    )
    _show(console, Text(answer["includes"], style="dim"))


def _headed(parameter: str, unit: str) -> str:
    return f"{parameter} ({unit})" if unit else parameter


def _sweep_grid(answer: dict[str, Any], by: dict[str, Any]) -> Table:
    """A grid's median persons arrested and P(goal): a row per value of the first parameter,
    a column per value of the second, the scenario's own values marked."""
    grid = Table(
        title=f"Median target persons arrested (P(goal)), {answer['parameter']} down, "
        f"{by['parameter']} across",
        title_justify="left",
    )
    grid.add_column(answer["parameter"], justify="right")
    for second in by["values"]:
        grid.add_column(
            f"{second:,}" + (" (now)" if second == by["scenarios_own_value"] else ""),
            justify="right",
        )
    cells = {(row["value"], row["by_value"]): row for row in answer["values"]}
    for value in dict.fromkeys(row["value"] for row in answer["values"]):
        own = " (now)" if value == answer["scenarios_own_value"] else ""
        grid.add_row(
            f"{value:,}{own}",
            *(
                f"{cells[value, second]['persons_arrested']['median']:,.0f} "
                f"({cells[value, second]['p_goal']:.2f})"
                for second in by["values"]
            ),
        )
    return grid


def _signed_range(interval: dict[str, Any]) -> str:
    return f"{interval['median']:+,.0f} ({interval['p05']:+,.0f} to {interval['p95']:+,.0f})"


def _effect(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def render_calibration(summary: dict[str, Any], console: Console) -> None:
    """Print a calibration (``Assessment.as_dict()``): warnings first, then the posterior
    beside the prior, the checks of the observed counts, and the sampler's diagnostics."""
    last = summary["generations"][-1]
    header = Text()
    header.append(f"{summary['scenario']} calibrated to {summary['observations']}\n", style="bold")
    model = summary["observation_model"]
    noise = (
        "Poisson"
        if model["model"] == "poisson"
        else f"negative binomial, size {model['dispersion']:g}"
    )
    header.append(
        f"calibration {summary.get('calibration_id', '')} · stopped: {summary['stopped']}\n"
        f"{len(summary['generations']) - 1} generations · {last['simulations']:,} simulations "
        f"· {last['seconds']:,.1f} s\n{summary['settings']['particles']:,} particles x "
        f"{summary['copies']} copies · seed {summary['settings']['seed']}\n"
        f"reporting noise: {noise}",
        style="dim",
    )
    _show(console, Panel(header, title="fieldcast calibrate", expand=False))
    for warning in summary["warnings"]:
        _show(console, Text(f"warning: {warning}", style="bold yellow"))
    table = Table(
        title="Assumptions: the prior (declared range) and the posterior",
        title_justify="left",
    )
    table.add_column("Assumption", overflow="fold")
    for column in ("Scenario", "Prior", "Median", "90% interval"):
        table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    for row in summary["parameters"]:
        shape = " (log)" if row["prior"] == "log-uniform" else ""
        table.add_row(
            row["path"],
            f"{row['scenario_value']:.3g}",
            f"{row['low']:g}-{row['high']:g}{shape}",
            f"{row['median']:.3g}",
            f"{row['p05']:.3g}-{row['p95']:.3g}",
        )
    _show(console, table)
    prior = summary["prior_predictive"]
    level = f"{prior['level']:.0%}"
    table = Table(title=f"Observed series beside the prior predictive ({level} interval)")
    for column in ("Series (counts summed)", "Observed", f"Prior {level} interval", "Conflict"):
        table.add_column(column, justify="left" if column.startswith("Series") else "right")
    for row in prior["series"]:
        table.add_row(
            row["series"],
            f"{row['observed']:,}",
            f"{_count(row['low'])} to {_count(row['high'])}",
            "CONFLICT" if row["conflict"] else "no",
        )
    _show(console, table)
    check = summary["posterior_predictive"]
    counts = check["counts"]
    level = f"{check['level']:.0%}"
    table = Table(
        title=f"Posterior predictive check: {check['inside']} of {len(counts)} observed counts "
        f"inside their {level} interval",
        title_justify="left",
    )
    for column in ("Observed count", "Observed", "Median", f"{level} interval", "Inside"):
        table.add_column(column, justify="left" if column == "Observed count" else "right")
    for row in counts:
        table.add_row(
            row["count"],
            f"{row['observed']:,}",
            _count(row["median"]),
            f"{_count(row['low'])} to {_count(row['high'])}",
            "yes" if row["inside"] else "NO",
        )
    _show(console, table)
    table = Table(title="Sampler diagnostics (tempered SMC)", title_justify="left")
    for column in ("Generation", "Temperature", "ESS", "Acceptance", "Moves", "Simulations"):
        table.add_column(column, justify="right")
    table.add_column("Failed", justify="right")
    table.add_column("Seconds", justify="right")
    for row in summary["generations"]:
        acceptance = row["acceptance"]
        table.add_row(
            str(row["generation"]),
            f"{row['beta']:.4f}",
            f"{row['ess']:,.0f}",
            "-" if acceptance is None else f"{acceptance:.2f}",
            str(row["moves"]),
            f"{row['simulations']:,}",
            f"{row['failed_simulations']:,}",
            f"{row['seconds']:,.1f}",
        )
    _show(console, table)
    _show(
        console,
        Text(
            "Posterior: the ranged assumptions given the observed counts, each count reported "
            "around the simulated one with the noise above; intervals include the assumptions' "
            "uncertainty as the evidence leaves it. ESS: effective sample size of each "
            "reweighting; acceptance: share of Metropolis-Hastings moves accepted.",
            style="dim",
        ),
    )


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:+.1f} pts" if percent else f"{value:+,.0f}"


def render_tracking(summary: dict[str, Any], console: Console) -> None:
    """Print a tracked forecast (``Tracking.summary()``): the filter's effective sample
    sizes, warnings, the forecast before and after the newest counts and what changed, the
    tracked assumptions."""
    header = Text()
    header.append(f"{summary['scenario']} tracked to {summary['observations']}\n", style="bold")
    went_on = summary["updated_from_day"]
    header.append(
        f"as of day {summary['as_of_day']} · {summary['particles']:,} particles · seed "
        f"{summary['seed']} · "
        + (
            "filtered from day 0"
            if went_on is None
            else f"updated from the filter of day {went_on}"
        )
        + f"\nintervals include: {summary['intervals_include']}",
        style="dim",
    )
    _show(console, Panel(header, title="fieldcast forecast --observed", expand=False))
    for warning in summary["warnings"]:
        _show(console, Text(f"warning: {warning}", style="bold yellow"))
    before, after, change = summary["before"], summary["after"], summary["change"]
    goal = summary["goal_persons"]
    table = Table(
        title=f"Before and after the newest counts (goal: {goal:,} persons by the end of field "
        "work)",
        title_justify="left",
    )
    for column in ("", "Before", "After", "Change"):
        table.add_column(column, justify="left" if not column else "right")
    since = "before any count" if before["as_of_day"] is None else f"day {before['as_of_day']}"
    table.add_row("as of", since, f"day {after['as_of_day']}", "")
    table.add_row(
        "P(goal)",
        _percent(before["p_goal"]),
        _percent(after["p_goal"]),
        _signed(change["p_goal"], percent=True),
    )
    table.add_row(
        "persons arrested",
        _range(before["persons_arrested"]),
        _range(after["persons_arrested"]),
        _signed(change["persons_arrested_median"]),
    )
    table.add_row(
        "day the goal is reached",
        _goal_day(before["goal_day"]),
        _goal_day(after["goal_day"]),
        _signed(change["goal_day_median"]),
    )
    _show(console, table)
    if change["by_place"]:
        table = Table(title="What moved it: each place's newest counts alone", title_justify="left")
        for column in ("Place", "P(goal)", "Median persons arrested"):
            table.add_column(column, justify="left" if column == "Place" else "right")
        ordered = sorted(
            change["by_place"].items(),
            key=lambda item: -abs(item[1]["persons_arrested_median"] or 0),
        )
        for place, moved in ordered:
            table.add_row(
                place,
                _signed(moved["p_goal"], percent=True),
                _signed(moved["persons_arrested_median"]),
            )
        _show(console, table)
    table = Table(title="Persons arrested by the end of field work, by city", title_justify="left")
    for column in ("City", "Before", "After"):
        table.add_column(column, justify="left" if column == "City" else "right")
    for city, interval in after["by_city"].items():
        table.add_row(city, _range(before["by_city"][city]), _range(interval))
    _show(console, table)
    table = Table(title="Tracked assumptions (prior: the declared range)", title_justify="left")
    for column in ("Assumption", "Prior", "Median", "90% interval"):
        table.add_column(column, justify="left" if column == "Assumption" else "right")
    for row in summary["parameters"]:
        table.add_row(
            row["parameter"],
            f"{row['prior_low']:g}-{row['prior_high']:g}",
            f"{row['median']:.3g}",
            f"{row['p05']:.3g}-{row['p95']:.3g}",
        )
    _show(console, table)
    if summary["held_at_scenario_values"]:
        _show(
            console,
            Text(
                "held at the scenario's values (they cannot vary by lane; calibrate them "
                "first): " + ", ".join(summary["held_at_scenario_values"]),
                style="dim",
            ),
        )
    table = Table(title="The filter, day by day", title_justify="left")
    for column in ("Day", "Counts", "Effective sample size", "Collapsed"):
        table.add_column(column, justify="right")
    for step in summary["steps"]:
        table.add_row(
            str(step["day"]),
            str(step["counts"]),
            f"{step['ess']:,.1f}",
            "yes" if step["collapsed"] else "no",
        )
    _show(console, table)


def _goal_day(goal_day: dict[str, Any]) -> str:
    if goal_day["median"] is None:
        return f"not reached ({_percent(goal_day['p_reached'])} reach it)"
    return f"day {_range(goal_day)}"


def render_backtest(summary: dict[str, Any], console: Console) -> None:
    """Print a backtest's scores per horizon (``Backtest.summary()``)."""
    header = Text()
    header.append(f"{summary['scenario']} backtested on {summary['observations']}\n", style="bold")
    header.append(
        f"{summary['particles']:,} particles · seed {summary['seed']}\nscored: {summary['scored']}",
        style="dim",
    )
    _show(console, Panel(header, title="fieldcast backtest", expand=False))
    table = Table(title="Scores by horizon", title_justify="left")
    for column in (
        "Horizon (days)",
        "Predictions",
        "CRPS (persons)",
        "50% coverage",
        "90% coverage",
        "PIT histogram (10 bins)",
    ):
        table.add_column(column, justify="right")
    for row in summary["by_horizon"]:
        table.add_row(
            str(row["horizon_days"]),
            str(row["predictions"]),
            f"{row['crps']:,.2f}",
            _percent(row["coverage_50"]),
            _percent(row["coverage_90"]),
            " ".join(str(n) for n in row["pit_histogram"]),
        )
    _show(console, table)
    _show(
        console,
        Text(
            "A calibrated forecast covers about 50% and 90%, and its PIT histogram is flat; "
            "U-shaped: overconfident; humped: too cautious; sloped: biased.",
            style="dim",
        ),
    )


def render_run_score(summary: dict[str, Any], console: Console) -> None:
    """Print a stored run held against observed counts (``RunScore.summary()``)."""
    header = Text()
    header.append(
        f"run {summary['run_id']} ({summary['scenario']}, seed {summary['seed']}) against "
        f"{summary['observations']}\n",
        style="bold",
    )
    draws = summary["assumption_draws"]
    header.append(
        f"{summary['replications_scored']:,} replications"
        + (f" · {draws:,} draws of the ranged assumptions" if draws else "")
        + f"\nscored: {summary['scored']}",
        style="dim",
    )
    _show(console, Panel(header, title="fieldcast runs score", expand=False))
    spans = {s["days"] for s in summary["series"]}
    shared = f", days {next(iter(spans))}" if len(spans) == 1 else ""
    table = Table(
        title=f"Observed series against the forecast (median and 90% interval{shared})",
        title_justify="left",
    )
    columns = ["Series", *([] if shared else ["Days"]), "Observed", "As forecast", "PIT"]
    columns += ["With the assumptions", "PIT"] if draws else []
    for column in columns:
        table.add_column(column, justify="left" if column == "Series" else "right")
    for series in summary["series"]:
        cells: list[str | Text] = [f"{series['place']} {series['metric'].replace('_', ' ')}"]
        cells += [] if shared else [series["days"]]
        cells.append(f"{series['observed']:,}")
        for name in ("as_forecast", "with_assumptions")[: 2 if draws else 1]:
            score = series[name]
            interval = (
                f"{_count(score['median'])} ({_count(score['p05'])} to {_count(score['p95'])})"
            )
            cells += [
                Text(interval, style="" if score["inside_90"] else "bold"),
                f"{score['pit']:.2f}",
            ]
        table.add_row(*cells)
    _show(console, table)
    inside, count = summary["inside_90"], summary["series_count"]
    lines = [
        f"Inside the 90% interval as forecast: {inside['as_forecast']} of {count} series "
        "(in bold, the intervals that do not hold the observed count)."
    ]
    if draws:
        lines.append(f"With the assumptions' uncertainty: {inside['with_assumptions']} of {count}.")
    lines.append(
        "PIT: the share of the forecast below the count (plus half the share at it); near 0 "
        "or 1, the count lies in a tail. The series of one operation share its "
        "circumstances: this describes the operation, it does not test the forecast's "
        "calibration (see fieldcast backtest)."
    )
    _show(console, Text("\n".join(lines), style="dim"))
