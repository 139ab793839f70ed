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
        "validation_replications": replications,
        "validation_seed": validation_seed,
        "gain_persons": {**interval(difference), "mean": float(difference.mean())},
        "p_goal": paired_probabilities(ours[-1] >= goal, theirs[-1] >= goal),
    }


def comparison_notes(
    objective: Objective,
    goal_persons: int,
    validation_replications: int,
    validation_seed: int,
    gain: dict[str, float],
    chance: dict[str, float],
) -> list[str]:
    """What the fresh comparison of a recommended plan with the scenario's own says, in plain
    sentences: the gain and both chances of the goal, and what they do not show."""
    notes = [
        f"On {validation_replications:,} fresh replications (seed {validation_seed}), "
        f"recommended minus current: {gain['median']:,.0f} persons arrested (90% interval "
        f"{gain['p05']:,.0f} to {gain['p95']:,.0f}; mean {gain['mean']:,.1f}); P(arresting "
        f"{goal_persons:,}) {chance['current']:.3f} now, {chance['recommended']:.3f} "
        f"recommended (difference {chance['difference']:+.3f}, 95% CI "
        f"{chance['difference_low']:+.3f} to {chance['difference_high']:+.3f})."
    ]
    if objective == "probability" and chance["current"] == chance["recommended"] == 0:
        notes.append(
            f"No candidate reaches {goal_persons:,} persons in any replication: the "
            "recommendation is the one with the most persons arrested on average."
        )
    if gain["p05"] <= 0 <= gain["p95"]:
        notes.append(
            "The interval includes zero: the scenario's own plan is as good, within noise."
        )
    return notes
