"""Plan checks: what a planner should hear before running anything, with the numbers behind it.

The checks are arithmetic on the scenario (no simulation), so they run in milliseconds. Each
finding names what is wrong, the figures that show it, and the parameters involved. They are
warnings about the plan, not errors in the file: a scenario can be valid and still be a plan
that cannot work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldcast.compiled import CompiledScenario, compile_scenario
from fieldcast.scenario import Scenario


@dataclass(frozen=True)
class Finding:
    """One problem with a compiled."""

    code: str  # stable identifier, e.g. "beds"
    message: str  # one plain sentence with the numbers
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "figures": self.figures}


MOSTLY_MOVED = 0.5  # warn when fewer than this share of targets are expected at home on day 0


def check_plan(scenario: Scenario) -> list[Finding]:
    """Every problem found with the plan, most fundamental first, without simulating.

    Parameters
    ----------
    scenario : Scenario
        The plan.

    Returns
    -------
    list of Finding
        Each with a code, a sentence with its numbers, and the numbers themselves.
    """
    compiled = compile_scenario(scenario)
    names = [city.name for city in scenario.cities]
    targets = np.array([city.target_persons for city in scenario.cities])
    households = compiled.households.sum(axis=1)
    attempts = compiled.capacity.sum(axis=0)  # [city] attempts over the whole field window
    findings: list[Finding] = []

    for city, city_targets, city_attempts in zip(names, targets, attempts, strict=True):
        if city_targets > 0 and city_attempts == 0:
            findings.append(
                Finding(
                    "targets_without_teams",
                    f"{city} has {city_targets:,} target persons but no field capacity "
                    "(no teams, no attempts per team, or it stands down before day 0).",
                    {"city": city, "target_persons": int(city_targets)},
                )
            )
        if city_targets == 0 and city_attempts > 0:
            teams = scenario.city_parameter(city, "teams")
            findings.append(
                Finding(
                    "teams_without_targets",
                    f"{city} has {_counted(teams, 'team')} ({_counted(city_attempts, 'attempt')} "
                    "over the field days) "
                    "but no targets: their officer-days are counted as cost.",
                    {"city": city, "teams": teams, "attempts": int(city_attempts)},
                )
            )

    for city, city_households, city_attempts in zip(names, households, attempts, strict=True):
        if 0 < city_attempts < city_households:
            findings.append(
                Finding(
                    "field_window_too_short",
                    f"{city}: its teams can make {_counted(city_attempts, 'attempt')} in "
                    f"{_counted(scenario.operation.field_days, 'field day')}, fewer than its "
                    f"{city_households:,} target households: some will never be visited.",
                    {
                        "city": city,
                        "attempts": int(city_attempts),
                        "households": int(city_households),
                    },
                )
            )

    at_home = _share_at_address_on_day_0(compiled)
    if at_home < MOSTLY_MOVED:
        findings.append(
            Finding(
                "few_at_address_on_day_0",
                f"Only {100 * at_home:.0f}% of target households are expected at the address on "
                f"file on day 0 (address data and moves after the leak from day "
                f"{scenario.start_day}).",
                {"expected_share_at_address_day_0": round(at_home, 4)},
            )
        )

    goal_share = min(1.0, scenario.operation.goal_persons / max(targets.sum(), 1))
    p_detain = np.array([scenario.city_parameter(n, "p_detain") for n in names])
    detentions_at_goal = float((targets * p_detain).sum() * goal_share)
    if detentions_at_goal > compiled.free_beds:
        findings.append(
            Finding(
                "beds",
                f"Reaching the goal would mean about {detentions_at_goal:,.0f} persons meant for "
                f"detention, more than the {compiled.free_beds:,} free beds can hold at once "
                f"({scenario.detention.beds:,} less {scenario.detention.baseline_occupancy:,} "
                "in use): unless removals free beds as fast as arrests fill them, the rest "
                "will be released on notice.",
                {"detentions_at_goal": round(detentions_at_goal), "free_beds": compiled.free_beds},
            )
        )

    detention = scenario.detention
    removal_days = max(scenario.operation.horizon_days - detention.processing_days, 0)
    seats = detention.removal_seats_per_day * removal_days
    to_remove = detentions_at_goal * (1 - detention.p_relief)
    if to_remove > seats:
        findings.append(
            Finding(
                "transport",
                f"Removing the about {to_remove:,.0f} persons detained at the goal needs more "
                f"than the {seats:,} seats available before the horizon "
                f"({detention.removal_seats_per_day:,} a day for {_counted(removal_days, 'day')} "
                f"after {_counted(detention.processing_days, 'day')} of processing).",
                {"persons_to_remove": round(to_remove), "seats_before_horizon": seats},
            )
        )

    for city in names:
        stock = scenario.city_parameter(city, "monitors")
        released = 1 - scenario.city_parameter(city, "p_detain")
        wants_monitors = released > 0 and scenario.city_parameter(city, "p_monitor") > 0
        if wants_monitors and stock == 0 and targets[names.index(city)] > 0:
            findings.append(
                Finding(
                    "monitors",
                    f"{city} releases families on notice with monitors "
                    f"(p_monitor {scenario.city_parameter(city, 'p_monitor'):g}) but has no "
                    "monitors to fit.",
                    {"city": city, "monitors": 0},
                )
            )
    return findings


def _counted(count: int, noun: str) -> str:
    """``1 field day``, ``2 field days``, ``1,000 attempts``: a finding says what it counts
    as a reader would (a library for plurals would be a dependency for one line)."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _share_at_address_on_day_0(compiled: CompiledScenario) -> float:
    """Expected share of target households still at the address on file on day 0."""
    households = compiled.households.sum(axis=1)
    if households.sum() == 0:
        return 1.0
    before_day_0 = compiled.hazard[: compiled.day_index(0)]
    staying = math.prod(1.0 - h for h in before_day_0)
    return float((compiled.p_address_valid * households).sum() / households.sum() * staying)
