"""What would it take: the least amount of one resource that meets its target with a given
probability.

Teams and field days are searched for the goal (persons arrested by the end of field work).
Beds, removal seats and ankle monitors cannot change arrests in this model (they act after an
arrest), so their target is what they are for: beds, that no household meant for detention
ever finds no bed; removal seats, that nobody still awaits removal at the horizon; monitors,
that no household meant for a monitor goes without one.

Every level of the resource is run with the same seed, so the levels share their random
numbers (common random numbers) and the probability of reaching the goal moves with the
resource, not with sampling noise. The search climbs the doubling ladder of the resource
(today's amount, twice that, ... up to a ceiling) three rungs at a time until the goal is
reached with the asked probability, then narrows the bracket, three levels at a time, down to
the least whole amount. Levels run together as lanes of shared batches
(``simulation.replication_values``). It assumes that more of the resource never lowers the
probability; the levels it ran are reported so that assumption can be seen to hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from fieldcast.compiled import CompiledScenario
from fieldcast.metrics import FIELD_END_METRICS, HORIZON_METRICS, MEASURES
from fieldcast.planning.variants import (
    with_field_days,
    with_free_beds,
    with_monitors_everywhere,
    with_removal_seats,
    with_teams_everywhere,
)
from fieldcast.recording import ChunkOutput
from fieldcast.replications import replication_values
from fieldcast.results import binds, goal_day_interval, goal_days
from fieldcast.scenario import Scenario, first_problem
from fieldcast.workers import Progress

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class Target:
    """What a level of a resource must achieve: its key among a level's figures (the share of
    replications that achieve it) and what that means, as a sentence's predicate."""

    key: str
    meaning: str


GOAL = Target("p_goal", "reach the goal")
NO_BED_SHORTFALL = Target(
    "p_no_bed_shortfall", "leave no household meant for detention without a bed"
)
NO_REMOVAL_QUEUE = Target("p_no_removal_queue", "leave nobody awaiting removal at the horizon")
NO_MONITOR_STOCKOUT = Target(
    "p_no_monitor_stockout", "leave no household meant for a monitor without one"
)


@dataclass(frozen=True)
class Resource:
    """A resource the search can vary: its name in a sentence, its units (for several, and
    for one), how to set it, how much the scenario has now, and what a level must achieve
    (``zero_allowed``: whether none of it makes a valid scenario that may achieve that, and is
    then tried)."""

    name: str
    noun: str
    unit: str
    unit_of_one: str
    apply: Callable[[Scenario, int], Scenario]
    current: Callable[[Scenario], int | None]  # None: not limited
    target: Target = GOAL
    zero_allowed: bool = False

    def amount(self, level: int) -> str:
        """``level`` with its unit: "1 free bed", "1,154 free beds"."""
        return f"{level:,} {self.unit_of_one if level == 1 else self.unit}"


def _most_monitors(scenario: Scenario) -> int | None:
    """The most monitors of a city with targets; None if any such city has no limit."""
    stocks = [
        scenario.city_parameter(city.name, "monitors")
        for city in scenario.cities
        if city.target_persons > 0
    ]
    return None if None in stocks else max(stocks)


RESOURCES = {
    "teams": Resource(
        "teams",
        "teams",
        "teams per city with targets",
        "team per city with targets",
        with_teams_everywhere,
        lambda s: max(s.city_parameter(c.name, "teams") for c in s.cities if c.target_persons > 0),
    ),
    "beds": Resource(
        "beds",
        "beds",
        "free beds",
        "free bed",
        with_free_beds,
        lambda s: max(s.detention.beds - s.detention.baseline_occupancy, 0),
        NO_BED_SHORTFALL,
        zero_allowed=True,
    ),
    "field_days": Resource(
        "field_days",
        "field days",
        "field days",
        "field day",
        with_field_days,
        lambda s: s.operation.field_days,
    ),
    "seats": Resource(
        "seats",
        "removal seats",
        "removal seats per day",
        "removal seat per day",
        with_removal_seats,
        lambda s: s.detention.removal_seats_per_day,
        NO_REMOVAL_QUEUE,
        zero_allowed=True,
    ),
    "monitors": Resource(
        "monitors",
        "ankle monitors",
        "monitors per city with targets",
        "monitor per city with targets",
        with_monitors_everywhere,
        _most_monitors,
        NO_MONITOR_STOCKOUT,
        zero_allowed=True,
    ),
}


@dataclass
class Requirement:
    """The search's answer and every level it ran."""

    resource: str
    unit: str
    goal_persons: int
    probability: float
    current: int | None  # None: not limited (monitors not given)
    least: int | None  # None: no level up to the ceiling met the target
    ceiling: int
    levels: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        return RESOURCES[self.resource].target

    def explanation(self) -> str:
        """The answer in one or two plain sentences, with its numbers."""
        kind = RESOURCES[self.resource]
        now = "(now not limited)" if self.current is None else f"(now {self.current:,})"
        if self.least is not None:
            reached = self.levels[self.least]
            share = reached[self.target.key]
            if self.target != GOAL:
                enough = "At least " if self.least else ""  # none needed: "0 free beds ..."
                return (
                    f"{enough}{kind.amount(self.least)} {now} {self.target.meaning} with "
                    f"probability {share:.2f} (asked: {self.probability:.2f}).{self._arrests()}"
                )
            day = reached["goal_day_median"]
            when = "" if day is None else f" There, half the replications reach it by day {day}."
            return (
                f"At least {kind.amount(self.least)} {now} reach {self.goal_persons:,} persons "
                f"arrested by the end of field work with probability {share:.2f} (asked: "
                f"{self.probability:.2f}).{when}"
            )
        most = max(self.levels)
        top = self.levels[most]
        if self.target != GOAL:
            return (
                f"Not even {kind.amount(most)} {self.target.meaning} with probability "
                f"{self.probability:.2f}: there, {top[self.target.key]:.2f} of the "
                f"replications do.{self._arrests()}"
            )
        limit = (
            "teams still use every attempt, so more field days or better contact would help"
            if binds(top["team_capacity_full_share"])
            else "teams no longer use all their attempts: what limits the operation is finding "
            "families (addresses, the leak, contact and arrest rates, attempts per household)"
        )
        return (
            f"No amount of {kind.noun} up to {kind.amount(most)} reaches "
            f"{self.goal_persons:,} persons with probability {self.probability:.2f}: there, "
            f"the median is {top['persons_arrested_median']:,.0f} persons and P(goal) is "
            f"{top['p_goal']:.2f}; {limit}."
        )

    def _arrests(self) -> str:
        """What the levels did to arrests, when that was nothing (beds, seats and monitors act
        after an arrest in this model; said only when the levels' figures show it)."""
        medians = {row["persons_arrested_median"] for row in self.levels.values()}
        if len(self.levels) < 2 or len(medians) > 1:
            return ""
        return (
            f" The median of persons arrested by the end of field work is the same at every "
            f"level ({medians.pop():,.0f}): {RESOURCES[self.resource].noun} act after an arrest."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "unit": self.unit,
            "target": {"key": self.target.key, "meaning": self.target.meaning},
            "goal_persons": self.goal_persons,
            "probability": self.probability,
            "current": self.current,
            "least": self.least,
            "ceiling": self.ceiling,
            "explanation": self.explanation(),
            "levels": [{"level": level, **row} for level, row in sorted(self.levels.items())],
        }


RUNGS_AT_ONCE = 3  # levels run together as lanes of shared batches


def find_requirement(
    scenario: Scenario,
    resource: str,
    goal_persons: int,
    probability: float,
    replications: int = 1000,
    seed: int = 2019,
    ceiling: int | None = None,
    processes: int = 1,
    client: Client | None = None,
    progress: Progress | None = None,
) -> Requirement:
    """The least whole amount of a resource that meets its target with a probability.

    The target (``RESOURCES``): for teams and field days, P(persons arrested by the end of
    field work >= goal_persons) >= probability; for beds, P(no household meant for detention
    ever finds no bed) >= probability; for seats, P(nobody awaits removal at the horizon) >=
    probability; for monitors, P(no city ever has a household meant for a monitor and none
    free) >= probability. Searched by doubling, then narrowing the bracket, every level with
    the same seed (common random numbers); none of a resource is tried where it may be enough.

    Parameters
    ----------
    scenario : Scenario
        The operation.
    resource : {"teams", "beds", "field_days", "seats", "monitors"}
        What to vary.
    goal_persons : int
        Persons to arrest (for beds, seats and monitors, only the levels' P(goal) depends on
        it).
    probability : float
        The chance asked for, in (0, 1].
    replications : int
        Replications per level.
    seed : int
        Seed of every level.
    ceiling : int, optional
        The most to try (default: 64 times the current amount, at least 64, and no more than
        makes a valid scenario).
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the chunks instead.
    progress : callable, optional
        Called with (chunks done, chunks in all).

    Returns
    -------
    Requirement
        The least amount (None if none up to the ceiling suffices), every level tried, and
        what limits the operation instead.

    Raises
    ------
    ValueError
        If the resource is unknown, the probability out of range, or the ceiling makes no
        valid scenario (the message says why, and the most that does).
    """
    if resource not in RESOURCES:
        raise ValueError(f"unknown resource {resource!r}; known: {', '.join(RESOURCES)}")
    if not 0 < probability <= 1:
        raise ValueError(f"probability: must be in (0, 1], got {probability}")
    kind = RESOURCES[resource]
    current = kind.current(scenario)
    lowest = max(current or 0, 1)
    if ceiling is None:
        ceiling = default_ceiling(scenario, resource)
    elif (problem := _problem_at(kind, scenario, ceiling)) is not None:
        most = _most_valid(kind, scenario, lowest, ceiling)
        raise ValueError(
            f"ceiling: {ceiling:,} {kind.unit} make no valid scenario ({problem}); "
            f"the most that does is {most:,}"
        )
    answer = Requirement(resource, kind.unit, goal_persons, probability, current, None, ceiling)
    # the levels aim at the asked goal, so that the engine records the day it is reached
    aimed = scenario.replace({"operation.goal_persons": goal_persons}, source="requirement")

    def run(levels: list[int]) -> None:
        """Run the levels not run yet, together."""
        new = [level for level in levels if level not in answer.levels]
        if not new:
            return
        values = replication_values(
            [kind.apply(aimed, level) for level in new],
            replications,
            seed,
            _level_outputs,
            processes,
            client=client,
        )
        for level, (arrested, full, goal_day, bed_shortfall_days, queue, stockout_days) in zip(
            new, values, strict=True
        ):
            answer.levels[level] = {
                "p_goal": float(np.mean(arrested >= goal_persons)),
                "persons_arrested_median": float(np.median(arrested)),
                "team_capacity_full_share": float(full.mean()),
                "goal_day_median": goal_day_interval(goal_day)["median"],
                NO_BED_SHORTFALL.key: float(np.mean(bed_shortfall_days == 0)),
                "bed_shortfall_days_median": float(np.median(bed_shortfall_days)),
                NO_REMOVAL_QUEUE.key: float(np.mean(queue == 0)),
                "removal_queue_at_horizon_median": float(np.median(queue)),
                NO_MONITOR_STOCKOUT.key: float(np.mean(stockout_days == 0)),
                "monitor_stockout_days_median": float(np.median(stockout_days)),
            }
        if progress:
            progress(len(answer.levels), len(answer.levels))

    def reaches(level: int) -> bool:
        return answer.levels[level][kind.target.key] >= probability

    ladder = [min(lowest, ceiling)]  # a ceiling below today's amount: from the ceiling down
    while ladder[-1] < ceiling:
        ladder.append(min(2 * ladder[-1], ceiling))
    # three rungs at a time: the top rungs (64 times today's amount) are the dearest to run,
    # and are not needed once a lower one reaches the goal
    reached: list[int] = []
    for start in range(0, len(ladder), RUNGS_AT_ONCE):
        run(ladder[start : start + RUNGS_AT_ONCE])
        reached = [level for level in ladder if level in answer.levels and reaches(level)]
        if reached:
            break
    if not reached:
        return answer
    high = reached[0]
    low = max([level for level in ladder if level < high], default=0)  # 0: assumed not to
    while high - low > 1:
        step = (high - low) / (RUNGS_AT_ONCE + 1)
        inside = sorted(
            {low + max(1, round(step * i)) for i in range(1, RUNGS_AT_ONCE + 1)} - {high}
        )
        inside = [level for level in inside if low < level < high]
        run(inside)
        for level in inside:
            if reaches(level):
                high = level
                break
            low = level
    if high == 1 and kind.zero_allowed:  # the ladder starts at 1: none may be enough
        run([0])
        high = 0 if reaches(0) else 1
    answer.least = high
    return answer


def _level_outputs(compiled: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
    """A level's reducer: ``arrests_and_full_capacity``, the day the goal is reached (``inf``:
    never), the days a household meant for detention found no bed, the persons awaiting
    removal at the horizon and the city-days a monitor was meant but none was free, [6,
    replication]."""
    goal_day = goal_days(compiled.start_day, chunk.goal_day)
    persons = MEASURES.index("persons")
    queue = chunk.at_horizon[:, HORIZON_METRICS.index("awaiting_removal"), persons]
    stockout_days = chunk.monitor_shortfall_days.sum(axis=1)
    return np.vstack(
        [
            arrests_and_full_capacity(compiled, chunk),
            goal_day,
            chunk.bed_shortfall_days,
            queue,
            stockout_days,
        ]
    )


def default_ceiling(scenario: Scenario, resource: str) -> int:
    """The most of a resource the search tries unless told: 64 times today's amount (at least
    64), or less where the scenario allows no more (field days add to a horizon of at most
    ten years, beds and seats have their maxima). Monitors not limited today: as many as the
    largest city's target persons (at least 64), more than it could ever have households on
    notice at once."""
    kind = RESOURCES[resource]
    current = kind.current(scenario)
    if current is None:
        largest = max(city.target_persons for city in scenario.cities)
        return _most_valid(kind, scenario, 1, max(64, largest))
    return _most_valid(kind, scenario, max(current, 1), max(64, 64 * current))


def _problem_at(kind: Resource, scenario: Scenario, level: int) -> str | None:
    """Why ``level`` of the resource makes no valid scenario, or None if it makes one."""
    try:
        kind.apply(scenario, level)
    except ValidationError as error:
        return first_problem(error)
    return None


def _most_valid(kind: Resource, scenario: Scenario, low: int, high: int) -> int:
    """The largest level from ``low`` (taken to be valid) to ``high`` that makes a valid
    scenario. Every limit on these resources is an upper bound (a field's maximum, or the
    horizon's, which field days add to), so validity is lost once as the level rises, and
    bisection finds where: a few dozen validations, each far cheaper than one run."""
    while low < high:
        middle = (low + high + 1) // 2
        if _problem_at(kind, scenario, middle) is None:
            low = middle
        else:
            high = middle - 1
    return low


def arrests_and_full_capacity(compiled: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
    """A reducer: per replication, persons arrested by the end of field work (national) and
    the share of city-days with capacity on which every attempt was used, [2, replication]."""
    persons = MEASURES.index("persons")
    arrested = chunk.at_field_end[:, -1, FIELD_END_METRICS.index("arrests"), persons]
    capacity_days = max(int((compiled.capacity > 0).sum()), 1)
    full = chunk.full_capacity_days.sum(axis=1) / capacity_days
    return np.stack([arrested.astype(float), full])
