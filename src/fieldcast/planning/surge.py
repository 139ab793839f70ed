"""Spreading field work across days: the surge profile that does most with the same team-days.

The scenario's ``tempo`` gives each field day's share of full team strength (day 0 at full
strength, then 60%, in ``seed-2019``). Keeping the total fixed (the sum of the shares over the
field days: the team-days every city works) and each day between nothing and full strength
(or the scenario's own highest share, if above), the search moves ``step`` of full strength
from one day to another while a move raises the objective: the expected persons arrested by
the end of field work, or the chance of reaching the goal. Every candidate runs with the same
seed (common random numbers), so candidates differ by their profile, not by noise, and a move
is taken only if its paired gain over the current best is significant (one-sided paired z-test
at 5%, Bonferroni over the moves of a round): where the profile hardly matters, the search
stops instead of chasing noise.

Days are not independent (a family arrested on day 0 is not there on day 1; families move
away as days pass), so the objective is not a sum over days and no split of it is exact. The
search is steepest ascent: each round tries every single move, takes the best, and repeats
that move while it keeps helping. It stops at a profile that no single move improves: a local
optimum in that sense, said so in the output. The recommended and the scenario's own profile
are then compared on fresh replications (the next seed), so that choosing the best of many
candidates on one sample does not flatter it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from fieldcast.planning.objectives import (
    Objective,
    comparison_notes,
    fresh_comparison,
    objective_goal,
)
from fieldcast.planning.variants import with_tempo
from fieldcast.replications import persons_arrested, replication_values
from fieldcast.scenario import Scenario
from fieldcast.workers import Progress

if TYPE_CHECKING:
    from distributed import Client

SIGNIFICANCE = 0.05  # a move must beat noise at this level (Bonferroni over a round's moves)
OPTIMALITY = (
    "a local optimum: no single move of one step between two days does significantly better "
    f"(one-sided paired z-test at {SIGNIFICANCE:.0%}, Bonferroni over a round's moves)"
)


@dataclass(frozen=True)
class SurgePlan:
    """The recommended surge profile, the scenario's own, and what the difference is worth."""

    objective: Objective
    goal_persons: int
    step: float
    current: list[float]  # share of full team strength on each field day
    recommended: list[float]
    rounds: int  # rounds of the search (each tries every single move)
    candidates: int  # profiles run
    validation_replications: int
    validation_seed: int
    gain_persons: dict[str, float]  # recommended minus current, paired fresh replications
    p_goal: dict[str, float]  # current, recommended, difference and its 95% interval

    def notes(self) -> list[str]:
        """How the profile was found and what it is worth, in plain sentences."""
        search = (
            f"Steepest ascent in steps of {100 * self.step:.0f}% ({self.candidates} candidate "
            f"profiles in {self.rounds} round(s)): {OPTIMALITY}."
        )
        return [
            search,
            *comparison_notes(
                self.objective,
                self.goal_persons,
                self.validation_replications,
                self.validation_seed,
                self.gain_persons,
                self.p_goal,
            ),
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "goal_persons": self.goal_persons,
            "step": self.step,
            "team_days_share": round(sum(self.current), 10),
            "current": self.current,
            "recommended": self.recommended,
            "optimality": OPTIMALITY,
            "rounds": self.rounds,
            "candidates": self.candidates,
            "validation_replications": self.validation_replications,
            "validation_seed": self.validation_seed,
            "gain_persons": self.gain_persons,
            "p_goal": self.p_goal,
            "notes": self.notes(),
        }


def daily_tempo(scenario: Scenario) -> list[float]:
    """The tempo of every field day (the profile's last value repeats)."""
    tempo = scenario.operation.tempo
    return [tempo[min(day, len(tempo) - 1)] for day in range(scenario.operation.field_days)]


def steps_of(scenario: Scenario, step: float) -> list[int]:
    """Each field day's share of full strength in whole steps of ``step``: what the search
    moves. Raises ``ValueError`` (naming ``step``) if the step is out of range or does not
    divide the scenario's tempo."""
    if not 0 < step <= 1:
        raise ValueError(f"step: must be in (0, 1], got {step}")
    current = daily_tempo(scenario)
    units = [round(share / step) for share in current]
    if any(
        not math.isclose(u * step, share, abs_tol=1e-9)
        for u, share in zip(units, current, strict=True)
    ):
        raise ValueError(
            f"step: the scenario's tempo {current} is not in whole steps of {step:g}; "
            "choose a step that divides every value"
        )
    return units


def plan_days(
    scenario: Scenario,
    step: float = 0.1,
    replications: int = 1000,
    seed: int = 2019,
    processes: int = 1,
    client: Client | None = None,
    objective: Objective = "expected",
    goal_persons: int | None = None,
    progress: Progress | None = None,
) -> SurgePlan:
    """The surge profile with the same team-days that does best on an objective.

    A search in steps of ``step`` of full strength, moving one step from one field day to
    another, that takes a move only when its gain is significant.

    Parameters
    ----------
    scenario : Scenario
        The operation.
    step : float
        The share of full strength moved at a time, in (0, 1].
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
    SurgePlan
        The recommended profile, the search, and its comparison with the scenario's own.

    Raises
    ------
    ValueError
        If the step is out of range or does not divide the scenario's tempo.
    """
    units = steps_of(scenario, step)
    goal = objective_goal(scenario, objective, goal_persons)
    current = daily_tempo(scenario)
    ceiling = max(round(1 / step), *units)
    evaluated = 0

    def run(profiles: list[tuple[int, ...]]) -> list[np.ndarray]:
        """Each profile's per-replication score: persons arrested, or 1 if the goal is met."""
        nonlocal evaluated
        scenarios = [with_tempo(scenario, _shares(profile, step)) for profile in profiles]
        totals = replication_values(
            scenarios, replications, seed, persons_arrested, processes, client=client
        )
        evaluated += len(profiles)
        if progress:
            progress(evaluated, evaluated)
        if objective == "probability":
            return [(values[-1] >= goal).astype(float) for values in totals]
        return [values[-1].astype(float) for values in totals]

    best = tuple(units)
    best_scores = run([best])[0]
    rounds = 0
    while True:
        rounds += 1
        moves = [
            (give, take)
            for give in range(len(best))
            for take in range(len(best))
            if give != take and best[give] > 0 and best[take] < ceiling
        ]
        if not moves:
            break
        candidates = run([_moved(best, give, take) for give, take in moves])
        gains = [_significant_gain(scores, best_scores, len(moves)) for scores in candidates]
        if max(gains) <= 0:
            break
        chosen = int(np.argmax(gains))
        move = moves[chosen]
        best, best_scores = _moved(best, *move), candidates[chosen]
        while best[move[0]] > 0 and best[move[1]] < ceiling:  # repeat the move while it helps
            following = _moved(best, *move)
            scores = run([following])[0]
            if _significant_gain(scores, best_scores, 1) <= 0:
                break
            best, best_scores = following, scores
    recommended = _shares(best, step)
    return SurgePlan(
        objective=objective,
        goal_persons=goal,
        step=step,
        current=current,
        recommended=recommended,
        rounds=rounds,
        candidates=evaluated,
        **fresh_comparison(
            with_tempo(scenario, recommended), scenario, goal, replications, seed, processes, client
        ),
    )


def _shares(profile: tuple[int, ...], step: float) -> list[float]:
    """Steps as shares of full strength, rounded so that 6 x 0.1 reads 0.6."""
    return [round(units * step, 9) for units in profile]


def _moved(profile: tuple[int, ...], give: int, take: int) -> tuple[int, ...]:
    changed = list(profile)
    changed[give] -= 1
    changed[take] += 1
    return tuple(changed)


def _significant_gain(scores: np.ndarray, best_scores: np.ndarray, tests: int) -> float:
    """The mean paired gain of a candidate over the best so far if it is significant (one-sided
    paired z-test at ``SIGNIFICANCE / tests``, Bonferroni over the candidates compared at
    once, so the search does not chase noise), else 0."""
    difference = scores - best_scores
    mean = float(difference.mean())
    spread = float(difference.std(ddof=1))
    if mean <= 0:
        return 0.0
    if spread == 0:
        return mean
    threshold = float(stats.norm.ppf(1 - SIGNIFICANCE / tests))
    return mean if mean / (spread / math.sqrt(len(difference))) > threshold else 0.0
