"""Allocating teams across cities to maximise the expected persons arrested, or the chance of
reaching the goal (``best_split_probability``, for ``--objective probability``).

In the model a city's arrests depend on its own teams only (beds, seats and monitors come
after the arrest, and households move independently), so the expected total is a sum of one
curve per city: f_c(t), the expected persons arrested in city c with t teams. Each curve is
estimated once for t = 0..N, from runs in which every city has t teams, all with the same seed
(common random numbers). The best split of N teams is then found exactly by dynamic
programming over cities (best[c][n] = max over t of best[c-1][n-t] + f_c(t)): optimal for any
sum of per-city curves, with or without diminishing returns (the estimated curves here do not
have them at one or two teams, where whole attempts are rounded down, so adding teams one at a
time where they gain most would not be optimal). A test checks it against exhaustive search.

Whichever the objective, the recommendation and the scenario's own split are compared on
fresh replications (the next seed): picking the best of many splits on one sample would
otherwise flatter it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.planning.objectives import (
    Objective,
    comparison_notes,
    fresh_comparison,
    objective_goal,
)
from fieldcast.planning.variants import with_allocation, with_teams_everywhere
from fieldcast.replications import persons_arrested, replication_values
from fieldcast.scenario import Scenario
from fieldcast.workers import Progress

if TYPE_CHECKING:
    from distributed import Client


NODE_LIMIT = 200_000  # search nodes before the probability search settles for its best so far


@dataclass(frozen=True)
class Allocation:
    """The recommended allocation, the scenario's own, and what the difference is worth."""

    cities: tuple[str, ...]
    teams: int
    objective: Objective
    goal_persons: int
    recommended: dict[str, int]
    current: dict[str, int]
    curves: dict[str, list[float]]  # expected persons arrested with 0..teams teams
    concave: bool  # every estimated curve has diminishing returns (not needed for optimality)
    proven_optimal: bool  # False only if the probability search hit its node limit
    validation_replications: int  # the fresh replications both allocations are compared on
    validation_seed: int
    gain_persons: dict[str, float]  # recommended minus current, paired replications
    p_goal: dict[str, float]  # current, recommended, difference and its 95% interval

    def marginal_gains(self) -> dict[str, list[float]]:
        """Per city, what each further team adds to the expected persons arrested."""
        return {city: list(np.diff(curve).round(3)) for city, curve in self.curves.items()}

    def notes(self) -> list[str]:
        """What the answer says and does not, in plain sentences."""
        notes = comparison_notes(
            self.objective,
            self.goal_persons,
            self.validation_replications,
            self.validation_seed,
            self.gain_persons,
            self.p_goal,
        )
        if self.objective == "probability" and not self.proven_optimal:
            notes.insert(
                0,
                "The search for the best chance stopped at its node limit: the split is the "
                "best found, not proven the best.",
            )
        return notes

    def as_dict(self) -> dict[str, Any]:
        return {
            "teams": self.teams,
            "objective": self.objective,
            "goal_persons": self.goal_persons,
            "recommended": self.recommended,
            "current": self.current,
            "proven_optimal": self.proven_optimal,
            "expected_persons_arrested_by_teams": self.curves,
            "marginal_gain_by_teams": self.marginal_gains(),
            "curves_concave": self.concave,
            "validation_replications": self.validation_replications,
            "validation_seed": self.validation_seed,
            "gain_persons": self.gain_persons,
            "p_goal": self.p_goal,
            "notes": self.notes(),
        }


def best_split(curves: list[list[float]], teams: int) -> list[int]:
    """The split of exactly ``teams`` teams maximising the sum of ``curves[c][teams_c]``, by
    dynamic programming over cities (exact; ties go to fewer teams in earlier cities)."""
    best = np.zeros(teams + 1)  # best value of n teams over the cities seen so far
    choices = []  # per city: teams given to it in the best split of n teams
    for index, curve in enumerate(curves):
        value = np.full(teams + 1, -np.inf)
        given = np.zeros(teams + 1, dtype=int)
        for total in range(teams + 1):
            for own in range(total + 1):
                if index == 0 and own != total:
                    continue
                candidate = (best[total - own] if index else 0.0) + curve[own]
                if candidate > value[total] + 1e-12:
                    value[total], given[total] = candidate, own
        best = value
        choices.append(given)
    split, left = [], teams
    for given in reversed(choices):
        split.append(int(given[left]))
        left -= split[-1]
    return split[::-1]


def best_split_probability(
    arrested: list[np.ndarray], teams: int, goal: float, start: list[int]
) -> tuple[list[int], bool]:
    """The split of exactly ``teams`` teams that reaches ``goal`` in the most replications.

    ``arrested[c]`` is [teams + 1, replication]: city c's persons arrested with 0..teams teams
    in each replication. With common random numbers a city's arrests do not depend on the
    other cities' teams, so any split's total in a replication is the sum of these rows. The
    search is branch and bound over cities, starting from ``start`` (ties keep it): a partial
    split is dropped when even the most each remaining city could add in each replication
    (its best row with at most the teams left) cannot beat the best count so far. Exact unless
    it stops at ``NODE_LIMIT`` nodes (the second value is then False).
    """
    cities = len(arrested)
    # reach_rest[c][n]: the most the cities from c on can add with n teams in all, in each
    # replication separately (each replication may pick its own split: an upper bound)
    reach_rest = np.zeros((cities + 1, teams + 1, arrested[0].shape[1]))
    for city in reversed(range(cities)):
        for total in range(teams + 1):
            options = arrested[city][: total + 1] + reach_rest[city + 1][total::-1]
            reach_rest[city][total] = options.max(axis=0)

    def count(split: list[int]) -> int:
        total = sum(arrested[c][t] for c, t in enumerate(split))
        return int(np.count_nonzero(total >= goal))

    best, best_count = list(start), count(start)
    nodes = 0

    def search(city: int, left: int, partial: np.ndarray, split: list[int]) -> None:
        nonlocal best, best_count, nodes
        nodes += 1
        if nodes > NODE_LIMIT:
            return
        if city == cities - 1:
            reached = int(np.count_nonzero(partial + arrested[city][left] >= goal))
            if reached > best_count:
                best, best_count = [*split, left], reached
            return
        if np.count_nonzero(partial + reach_rest[city][left] >= goal) <= best_count:
            return
        # nearest the starting split first, so that good splits are found early
        for own in sorted(range(left + 1), key=lambda t: (abs(t - start[city]), -t)):
            search(city + 1, left - own, partial + arrested[city][own], [*split, own])

    search(0, teams, np.zeros(arrested[0].shape[1]), [])
    return best, nodes <= NODE_LIMIT


def exhaustive(curves: list[list[float]], teams: int) -> list[int]:
    """The best allocation of exactly ``teams`` teams by trying them all (small cases only)."""
    best, best_value = None, -np.inf
    for given in itertools.product(range(teams + 1), repeat=len(curves)):
        if sum(given) != teams:
            continue
        value = sum(curve[count] for curve, count in zip(curves, given, strict=True))
        if value > best_value + 1e-12:
            best, best_value = list(given), value
    assert best is not None
    return best


def current_teams(scenario: Scenario) -> int:
    """Teams the scenario gives the cities that have targets."""
    return sum(
        scenario.city_parameter(city.name, "teams")
        for city in scenario.cities
        if city.target_persons > 0
    )


def allocate_teams(
    scenario: Scenario,
    teams: int,
    replications: int = 1000,
    seed: int = 2019,
    processes: int = 1,
    client: Client | None = None,
    objective: Objective = "expected",
    goal_persons: int | None = None,
    progress: Progress | None = None,
) -> Allocation:
    """Spread teams across the cities with targets to do best on an objective.

    The objective is the expected persons arrested by the end of field work, or the probability
    of arresting the goal; the recommendation is then compared with the current allocation on
    fresh replications (``fresh_comparison``).

    Parameters
    ----------
    scenario : Scenario
        The operation.
    teams : int
        Teams to spread.
    replications : int
        Replications per scenario run.
    seed : int
        Seed of every run (common random numbers across them).
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the chunks instead.
    objective : {"expected", "probability"}
        What to maximise.
    goal_persons : int, optional
        The goal for ``objective="probability"`` (default: the scenario's).
    progress : callable, optional
        Called with (chunks done, chunks in all).

    Returns
    -------
    Allocation
        The recommendation, each city's curve of arrests by teams, and the comparison.

    Raises
    ------
    ValueError
        If ``teams`` is negative.
    """
    if teams < 0:
        raise ValueError(f"teams: must be at least 0, got {teams}")
    goal = objective_goal(scenario, objective, goal_persons)
    places = [i for i, city in enumerate(scenario.cities) if city.target_persons > 0]
    cities = tuple(scenario.cities[i].name for i in places)
    levels = [with_teams_everywhere(scenario, level) for level in range(teams + 1)]
    by_level = replication_values(
        levels, replications, seed, persons_arrested, processes, progress, client
    )  # per level: [place, replication]
    arrested = [np.stack([values[place] for values in by_level]).astype(float) for place in places]
    curves = {city: list(rows.mean(axis=1)) for city, rows in zip(cities, arrested, strict=True)}
    given = best_split([curves[city] for city in cities], teams)
    proven = True
    if objective == "probability":
        given, proven = best_split_probability(arrested, teams, goal, start=given)
    recommended = dict(zip(cities, given, strict=True))
    current = {city: int(scenario.city_parameter(city, "teams")) for city in cities}
    concave = all(np.all(np.diff(curve, 2) <= 1e-9) for curve in curves.values() if len(curve) > 2)
    return Allocation(
        cities=cities,
        teams=teams,
        objective=objective,
        goal_persons=goal,
        recommended=recommended,
        current=current,
        curves=curves,
        concave=concave,
        proven_optimal=proven,
        **fresh_comparison(
            with_allocation(scenario, recommended),
            scenario,
            goal,
            replications,
            seed,
            processes,
            client,
        ),
    )
