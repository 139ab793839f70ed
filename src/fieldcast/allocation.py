"""Allocating teams across cities to maximise the expected persons arrested.

In the model a city's arrests depend on its own teams only (beds, seats and monitors come
after the arrest, and households move independently), so the expected total is a sum of one
curve per city: f_c(t), the expected persons arrested in city c with t teams. Each curve is
estimated once for t = 0..N, from runs in which every city has t teams, all with the same seed
(common random numbers). The best split of N teams is then found exactly by dynamic
programming over cities (best[c][n] = max over t of best[c-1][n-t] + f_c(t)): optimal for any
sum of per-city curves, with or without diminishing returns (the estimated curves here do not
have them at one or two teams, where whole attempts are rounded down, so adding teams one at a
time where they gain most would not be optimal). A test checks it against exhaustive search.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.requirement import RESOURCES
from fieldcast.results import interval
from fieldcast.scenario import CityParameters, Scenario
from fieldcast.simulation import simulate

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class Allocation:
    """The recommended allocation, the scenario's own, and what the difference is worth."""

    cities: tuple[str, ...]
    teams: int
    recommended: dict[str, int]
    current: dict[str, int]
    curves: dict[str, list[float]]  # expected persons arrested with 0..teams teams
    concave: bool  # every estimated curve has diminishing returns (not needed for optimality)
    gain_persons: dict[str, float]  # recommended minus current, paired replications

    def as_dict(self) -> dict[str, Any]:
        return {
            "teams": self.teams,
            "recommended": self.recommended,
            "current": self.current,
            "expected_persons_arrested_by_teams": self.curves,
            "marginal_gain_by_teams": {
                city: list(np.diff(curve).round(3)) for city, curve in self.curves.items()
            },
            "curves_concave": self.concave,
            "gain_persons": self.gain_persons,
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


def with_allocation(scenario: Scenario, allocation: dict[str, int]) -> Scenario:
    """The scenario with these teams per city (as city overrides)."""
    overrides = dict(scenario.city_overrides)
    for city, teams in allocation.items():
        overrides[city] = overrides.get(city, CityParameters()).model_copy(update={"teams": teams})
    return scenario.model_copy(update={"city_overrides": overrides})


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
) -> Allocation:
    """Spread ``teams`` teams across the cities with targets to maximise expected arrests."""
    if teams < 0:
        raise ValueError(f"teams must be at least 0, got {teams}")
    cities = tuple(city.name for city in scenario.cities if city.target_persons > 0)
    curves: dict[str, list[float]] = {city: [] for city in cities}
    for level in range(teams + 1):
        results = simulate(
            RESOURCES["teams"].apply(scenario, level), replications, seed, processes, client=client
        )
        for city in cities:
            curves[city].append(float(results.outcome("arrests", place=city).mean()))
    given = best_split([curves[city] for city in cities], teams)
    recommended = dict(zip(cities, given, strict=True))
    current = {city: int(scenario.city_parameter(city, "teams")) for city in cities}
    concave = all(np.all(np.diff(curve, 2) <= 1e-9) for curve in curves.values() if len(curve) > 2)
    ours = simulate(
        with_allocation(scenario, recommended), replications, seed, processes, client=client
    )
    theirs = simulate(scenario, replications, seed, processes, client=client)
    difference = ours.outcome("arrests") - theirs.outcome("arrests")
    gain = {**interval(difference), "mean": float(difference.mean())}
    return Allocation(cities, teams, recommended, current, curves, concave, gain)
