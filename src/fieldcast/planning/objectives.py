"""What a plan is judged on, shared by the searches across cities (``allocation``) and across
days (``surge``): the objective, its goal, and the comparison of a recommended plan with the
scenario's own on fresh replications.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fieldcast.replications import persons_arrested, replication_values
from fieldcast.results import interval, paired_probabilities
from fieldcast.scenario import Scenario

if TYPE_CHECKING:
    from distributed import Client

Objective = Literal["expected", "probability"]


def objective_goal(scenario: Scenario, objective: Objective, goal_persons: int | None) -> int:
    """The goal a plan is judged on (the scenario's unless given), once the objective is known
    to be one fieldcast can optimise."""
    if objective not in ("expected", "probability"):
        raise ValueError(f"objective: must be 'expected' or 'probability', got {objective!r}")
    return scenario.operation.goal_persons if goal_persons is None else goal_persons


def fresh_comparison(
    recommended: Scenario,
    scenario: Scenario,
    goal: int,
    replications: int,
    seed: int,
    processes: int = 1,
    client: Client | None = None,
) -> dict[str, Any]:
    """The recommended and the scenario's own plan on fresh replications (the next seed),
    paired: the gain in persons arrested by the end of field work and both chances of the goal.
    Choosing the best of many candidates on one sample would otherwise flatter it."""
    validation_seed = seed + 1
    ours, theirs = replication_values(
        [recommended, scenario],
        replications,
        validation_seed,
        persons_arrested,
        processes,
        client=client,
    )
    difference = ours[-1] - theirs[-1]  # the totals
    return {
        "validation_seed": validation_seed,
        "gain_persons": {**interval(difference), "mean": float(difference.mean())},
        "p_goal": paired_probabilities(ours[-1] >= goal, theirs[-1] >= goal),
    }
