"""Comparing runs: what changed in the scenario, and what changed in the outcome.

Two runs of the counts engine with the same seed and number of replications drew the same
random numbers replication by replication (common random numbers: docs/model.md, section 7),
so their outcomes pair up: replication k of one against replication k of the other. The
paired changes (``paired_changes``) say what the scenario's change did, without most of the
replication noise that each run's own interval carries, as sweeps and the leak effect do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.costs import replication_costs
from fieldcast.results import interval, paired_change
from fieldcast.scenario import Scenario

if TYPE_CHECKING:
    from fieldcast.store import StoredRun

IGNORED_IN_DIFF = ("provenance",)


@dataclass(frozen=True)
class Change:
    """One parameter that differs between two scenarios (``None``: absent on that side)."""

    path: str
    before: Any
    after: Any


# What names an entry of a list of tables (a city, a court, a leak event), so that two
# scenarios' lists are compared entry by entry whatever their order, and a city added or
# removed is that, not every later city renamed.
ENTRY_KEYS = ("name", "city")


def _entry_labels(entries: list[dict[str, Any]]) -> list[str]:
    """``[NAME]`` for each entry by the first of ENTRY_KEYS that every entry has, uniquely;
    else its index (size classes, which have no name)."""
    for key in ENTRY_KEYS:
        labels = [entry.get(key) for entry in entries]
        if all(isinstance(label, str) for label in labels) and len(set(labels)) == len(labels):
            return [f"[{label}]" for label in labels]
    return [f".{index}" for index in range(len(entries))]


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A nested scenario as {dotted path: value}; entries of lists of tables by their name
    (``cities[Atlanta].target_persons``), or by index where they have none."""
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat |= flatten(value, f"{prefix}.{key}" if prefix else key)
        return flat
    if isinstance(data, list) and data and all(isinstance(entry, dict) for entry in data):
        flat = {}
        for label, value in zip(_entry_labels(data), data, strict=True):
            flat |= flatten(value, f"{prefix}{label}")
        return flat
    return {prefix: data}


def scenario_changes(before: Scenario, after: Scenario) -> list[Change]:
    """Every parameter whose value differs, in the order of the first scenario."""
    first = flatten(json.loads(before.canonical_json()))
    second = flatten(json.loads(after.canonical_json()))
    changes = []
    for path in [*first, *(p for p in second if p not in first)]:
        if path.split(".")[0] in IGNORED_IN_DIFF:
            continue
        if first.get(path) != second.get(path):
            changes.append(Change(path, first.get(path), second.get(path)))
    return changes


OUTCOME_ROWS = (
    ("probability of reaching the goal", lambda s: s["p_goal"], "share"),
    ("persons arrested by end of field work", lambda s: s["persons_arrested"], "interval"),
    ("leak effect (persons)", lambda s: s["leak_effect_persons"], "interval"),
    ("persons removed", lambda s: s["people_affected"]["removed"]["persons"], "interval"),
    ("minors removed", lambda s: s["people_affected"]["removed"]["minors"], "interval"),
    (
        "persons released on notice",
        lambda s: s["people_affected"]["released_on_notice"]["persons"],
        "interval",
    ),
    (
        "collateral arrests (persons)",
        lambda s: s["people_affected"]["collateral_arrests_persons"],
        "interval",
    ),
    ("total cost (USD)", lambda s: s["cost"]["total"], "interval"),
    (
        "what binds",
        lambda s: ", ".join(name.replace("_", " ") for name in s["binding"]["binds"]) or "nothing",
        "text",
    ),
)


def outcome_table(summaries: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Rows of (label, one formatted cell per run) for the key outcomes."""
    rows = []
    for label, pick, kind in OUTCOME_ROWS:
        cells = []
        for summary in summaries:
            value = pick(summary)
            if kind == "share":
                cells.append(f"{100 * value:.1f}%")
            elif kind == "interval":
                cells.append(f"{value['median']:,.0f} ({value['p05']:,.0f} to {value['p95']:,.0f})")
            else:
                cells.append(str(value))
        rows.append((label, cells))
    return rows


PAIRED_NOTE = (
    "Same seed and replications: replication k of one run against replication k of the other "
    "(common random numbers). Persons and cost: the median of the paired differences and their "
    "90% interval; P(goal): the difference in points with its 95% confidence interval."
)

# The outcomes paired replication by replication: (label, when, metric, measure), from what
# the run store keeps of every replication (``store.national_outcomes``).
PAIRED_ROWS = (
    ("persons arrested by end of field work", "field_end", "arrests", "persons"),
    ("persons removed", "horizon", "removals", "persons"),
    ("minors removed", "horizon", "removals", "minors"),
    ("persons released on notice", "horizon", "notices", "persons"),
    ("collateral arrests (persons)", "horizon", "collateral_arrests", "persons"),
)
# and, for runs that keep each replication's resource use (store schema 7), its total cost
COST_ROW = "total cost (USD)"
Totals = dict[tuple[int, str], dict[str, np.ndarray]]  # ``store.national_outcomes``


def unpaired_because(first: StoredRun, other: StoredRun) -> str | None:
    """Why two runs' replications do not pair up (None: they do)."""
    if first.engine != "counts" or other.engine != "counts":
        return "the reference engine draws its own random numbers"
    if first.seed != other.seed:
        return f"their seeds differ ({first.seed} and {other.seed})"
    if first.replications != other.replications:
        return f"their replications differ ({first.replications:,} and {other.replications:,})"
    return None


def paired_changes(
    first: StoredRun, other: StoredRun, first_totals: Totals, other_totals: Totals
) -> dict[str, Any]:
    """What changed from ``first`` to ``other``, replication by replication: the chance of the
    goal (each run's own goal; the difference in points with its 95% confidence interval) and
    the median and 90% interval of the paired differences of each ``PAIRED_ROWS`` outcome.
    ``rows`` is empty, and ``unpaired`` says why, when the runs do not pair up or one was
    stored before every replication's outcomes were kept."""
    reason = unpaired_because(first, other)
    if reason is None and not (first_totals and other_totals):
        reason = "a run was stored before fieldcast kept every replication's outcomes"
    if reason is not None:
        return {"unpaired": reason, "rows": []}

    def values(run: StoredRun, totals: Totals, when: str, metric: str, measure: str) -> np.ndarray:
        operation = run.scenario.operation
        day = operation.field_days - 1 if when == "field_end" else operation.horizon_days - 1
        return np.asarray(totals[(day, metric)][measure], dtype=float)

    reached = [
        values(run, totals, *PAIRED_ROWS[0][1:]) >= run.scenario.operation.goal_persons
        for run, totals in ((first, first_totals), (other, other_totals))
    ]
    goal = paired_change(reached[1], reached[0])
    rows = [
        {
            "outcome": "probability of reaching the goal",
            "statistic": "difference in points, 95% confidence interval",
            "difference": 100 * goal["difference"],
            "low": 100 * goal["difference_low"],
            "high": 100 * goal["difference_high"],
        }
    ]
    differences = [
        (label, values(other, other_totals, *where) - values(first, first_totals, *where))
        for label, *where in PAIRED_ROWS
    ]
    costs = [_costs(run, totals) for run, totals in ((first, first_totals), (other, other_totals))]
    if costs[0] is not None and costs[1] is not None:  # runs stored from store schema 7
        differences.append((COST_ROW, costs[1] - costs[0]))
    for label, difference in differences:
        found = interval(difference)
        rows.append(
            {
                "outcome": label,
                "statistic": "median of the paired differences, 90% interval",
                "difference": found["median"],
                "low": found["p05"],
                "high": found["p95"],
            }
        )
    return {"unpaired": None, "rows": rows}


def _costs(run: StoredRun, totals: Totals) -> np.ndarray | None:
    """Each replication's total cost from what the store keeps of it (its bed-days,
    monitor-days and persons removed by the last day, and the run's scheduled officer-days),
    as the forecast computes it; None for a run stored before they were kept."""
    last_day = run.scenario.operation.horizon_days - 1
    if (last_day, "bed_days") not in totals:
        return None
    return replication_costs(
        run.scenario.costs,
        run.summary["cost"]["officer_days"],
        totals[(last_day, "bed_days")]["value"],
        totals[(last_day, "monitor_days")]["value"],
        np.asarray(totals[(last_day, "removals")]["persons"], dtype=float),
    )


def paired_with_first(runs: list[StoredRun], totals: list[Totals]) -> list[dict[str, Any]]:
    """``paired_changes`` of every run after the first from the first, given each run's
    ``store.national_outcomes``."""
    return [
        paired_changes(runs[0], other, totals[0], other_totals)
        for other, other_totals in zip(runs[1:], totals[1:], strict=True)
    ]


def paired_cell(row: dict[str, Any]) -> str:
    """A paired change as a table shows it: ``+56 (+38 to +75)``, points for the goal."""
    points = row["statistic"].startswith("difference in points")
    unit, digits = (" pts", 1) if points else ("", 0)
    return (
        f"{row['difference']:+,.{digits}f}{unit} "
        f"({row['low']:+,.{digits}f} to {row['high']:+,.{digits}f})"
    )
