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
