"""Comparing runs: what changed in the scenario, and what changed in the outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fieldcast.scenario import Scenario

IGNORED_IN_DIFF = ("provenance",)


@dataclass(frozen=True)
class Change:
    """One parameter that differs between two scenarios (``None``: absent on that side)."""

    path: str
    before: Any
    after: Any


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A nested scenario as {dotted path: value}; lists of tables by index."""
    if isinstance(data, dict):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat |= flatten(value, f"{prefix}.{key}" if prefix else key)
        return flat
    if isinstance(data, list) and data and isinstance(data[0], dict):
        flat = {}
        for index, value in enumerate(data):
            flat |= flatten(value, f"{prefix}.{index}")
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
    ("what binds", lambda s: ", ".join(s["binding"]["binds"]) or "nothing", "text"),
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
