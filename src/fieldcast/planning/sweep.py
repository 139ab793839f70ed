"""What if one value were different: a scenario run at several values of one parameter, every
value with the same random numbers.

A sweep answers questions such as "what if the plan had leaked a month earlier?" or "how does
reach grow with the contact rate?": one parameter (any number ``scenario show`` lists) takes
each value asked for, everything else stays as it is, and every value runs the same
replications (common random numbers), so that the differences between values are the
parameter's doing, not sampling noise. The scenario's own value always runs too: each value's
change in persons arrested is paired with it replication by replication, as the leak effect
is paired with the scenario without its leak.

A second parameter (``by``) makes the sweep a grid, for trade-offs such as teams against
field days: every pair of values runs, each paired with the scenario's own pair.

Values run together as lanes of shared batches (``replications.replication_values``), in this
process, on local processes or on a Dask cluster, with the same results to the bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.assumptions import KEY_OUTPUTS, key_outputs
from fieldcast.compiled import CompiledScenario
from fieldcast.fields import did_you_mean
from fieldcast.metrics import HORIZON_METRICS, MEASURES
from fieldcast.planning.requirement import arrests_and_full_capacity
from fieldcast.recording import ChunkOutput
from fieldcast.replications import replication_values
from fieldcast.results import (
    binding_resources,
    goal_day_interval,
    goal_days,
    interval,
    paired_change,
)
from fieldcast.scenario import (
    Scenario,
    ScenarioError,
    changeable_paths,
    parameter_info,
    parameter_value,
)
from fieldcast.workers import Progress

if TYPE_CHECKING:
    from distributed import Client

RANGE_POINTS = 5  # values tried across the parameter's declared range when none are given
MAX_VALUES = 50  # values in one sweep, the scenario's own included (pairs of values in a grid)

# Per replication, besides ``KEY_OUTPUTS``: what "what binds" reads (``results.binding_resources``)
BINDING_OUTPUTS = (
    "team_capacity_full_share",  # share of city field days with every attempt used
    "beds_full",  # 1 if a family meant for detention found no bed
    "transport_backlog_at_horizon",  # 1 if someone still awaits removal at the horizon
    "monitor_stockout",  # 1 if a monitor was meant but none was free
    "targeted_cities_without_capacity",  # cities with targets that can attempt on no day
)
# and last, the day the goal is reached (infinity: never)
OUTPUTS = (*KEY_OUTPUTS, *BINDING_OUTPUTS, "goal_day")


def sweep_outputs(compiled: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
    """A ``replication_values`` reducer: ``OUTPUTS`` of one chunk, [output, replication]."""
    persons = MEASURES.index("persons")
    backlog = chunk.at_horizon[:, HORIZON_METRICS.index("awaiting_removal"), persons]
    targets = np.array([city.target_persons for city in compiled.scenario.cities])
    without_capacity = int(((compiled.capacity > 0).sum(axis=0)[targets > 0] == 0).sum())
    return np.vstack(
        [
            key_outputs(compiled, chunk),
            arrests_and_full_capacity(compiled, chunk)[1],
            chunk.bed_shortfall_days > 0,
            backlog > 0,
            chunk.monitor_shortfall_days.sum(axis=1) > 0,
            np.full(chunk.bed_days.shape, without_capacity),
            goal_days(compiled.start_day, chunk.goal_day),
        ]
    ).astype(float)


@dataclass(frozen=True)
class Axis:
    """A parameter a sweep varies, and the values it takes."""

    parameter: str
    unit: str
    meaning: str
    current: float  # the scenario's own value
    values: tuple[float, ...]  # ascending, the scenario's own among them

    def as_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "unit": self.unit,
            "meaning": self.meaning,
            "scenarios_own_value": self.current,
            "values": list(self.values),
        }


@dataclass(frozen=True)
class Sweep:
    """Every value's outcomes, replication by replication; with a second parameter (``by``),
    every pair's, the first parameter's values outermost."""

    scenario: str
    parameter: str
    unit: str
    meaning: str
    current: float
    values: tuple[float, ...]  # ascending, the scenario's own among them
    replications: int
    seed: int
    goal_persons: int  # the scenario's own
    goals: tuple[int, ...]  # each run's goal: a sweep of ``operation.goal_persons`` varies it
    outputs: np.ndarray  # [value (or pair of values), OUTPUTS, replication]
    by: Axis | None = None

    def pairs(self) -> list[tuple[float, float | None]]:
        """The values each run of ``outputs`` had, in its order: (value, the second
        parameter's value, or None without one)."""
        seconds = self.by.values if self.by is not None else (None,)
        return [(value, second) for value in self.values for second in seconds]

    def includes(self) -> str:
        """What the intervals include, in one sentence."""
        if self.by is None:
            each, own = "value", f"the scenario's own value ({_shown(self.current)})"
        else:
            each = "pair of values"
            own = (
                f"the scenario's own pair ({self.parameter} {_shown(self.current)}, "
                f"{self.by.parameter} {_shown(self.by.current)})"
            )
        return (
            f"Replication noise only: medians with 90% intervals over {self.replications:,} "
            f"replications at each {each} (seed {self.seed}). Every {each} runs the same "
            "replications (common random numbers), so each change is paired, replication by "
            f"replication, with {own}."
        )

    def as_dict(self) -> dict[str, Any]:
        at = {name: position for position, name in enumerate(OUTPUTS)}
        pairs = self.pairs()
        own_pair = (self.current, self.by.current if self.by is not None else None)
        own = self.outputs[pairs.index(own_pair)]
        reached_own = own[at["persons_arrested"]] >= self.goal_persons
        rows = []
        for (value, second), out, goal in zip(pairs, self.outputs, self.goals, strict=True):
            arrested = out[at["persons_arrested"]]
            change = arrested - own[at["persons_arrested"]]
            reached = arrested >= goal
            full_share = float(out[at["team_capacity_full_share"]].mean())
            rows.append(
                {
                    "value": value,
                    **({"by_value": second} if self.by is not None else {}),
                    "scenarios_own": (value, second) == own_pair,
                    "p_goal": float(reached.mean()),
                    "p_goal_change": paired_change(reached, reached_own),
                    "persons_arrested": interval(arrested),
                    "change_in_persons_arrested": {
                        **interval(change),
                        "mean": float(change.mean()),
                    },
                    "persons_arrested_by_horizon": interval(out[at["persons_arrested_by_horizon"]]),
                    "persons_removed": interval(out[at["persons_removed"]]),
                    "total_cost": interval(out[at["total_cost"]]),
                    # without the chance by each field day: a year's, at 50 values, is
                    # 18,250 numbers in an answer read as a table of medians
                    "goal_day": goal_day_interval(out[at["goal_day"]]),
                    "team_capacity_full_share": full_share,
                    "binds": binding_resources(
                        full_share,
                        float(out[at["beds_full"]].mean()),
                        float(out[at["transport_backlog_at_horizon"]].mean()),
                        float(out[at["monitor_stockout"]].mean()),
                        int(out[at["targeted_cities_without_capacity"]].max()),
                    ),
                }
            )
        return {
            "scenario": self.scenario,
            "parameter": self.parameter,
            "unit": self.unit,
            "meaning": self.meaning,
            "scenarios_own_value": self.current,
            "replications": self.replications,
            "seed": self.seed,
            "goal_persons": self.goal_persons,
            # the second parameter of a grid (None: one parameter); each row's value of it
            # is its by_value
            "by": self.by.as_dict() if self.by is not None else None,
            "includes": self.includes(),
            "values": rows,
        }


def _shown(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def sweep_values(scenario: Scenario, parameter: str, values: list[float] | None) -> list[float]:
    """The values to run, ascending, the scenario's own among them: those asked for, or
    ``RANGE_POINTS`` across the parameter's declared range (evenly, or evenly in the
    logarithm for a log-uniform prior). Whole-number parameters take whole numbers.

    Raises ``ValueError`` naming the parameter or the value, and why."""
    try:
        current = parameter_value(scenario, parameter)
    except (KeyError, IndexError, TypeError):
        hint = did_you_mean(parameter, changeable_paths(scenario))
        raise ValueError(
            f"parameter: {parameter} is not a parameter of this scenario{hint}"
        ) from None
    if current is None:  # an optional value left out (monitors: no limit; a stand-down: none)
        raise ValueError(
            f"parameter: {parameter} is not set in this scenario; a sweep varies a number the "
            f"scenario sets: set it first (on the command line, --set {parameter}=VALUE)"
        )
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ValueError(
            f"parameter: {parameter} is not a number (it is {current!r}); a sweep varies one number"
        )
    whole = isinstance(current, int)
    if values is None:
        span = scenario.ranges.get(parameter)
        if span is None:
            raise ValueError(
                f"values: {parameter} has no range in [ranges]: give the values to try"
            )
        spaced = (
            np.geomspace(span.low, span.high, RANGE_POINTS)
            if span.prior == "log-uniform"
            else np.linspace(span.low, span.high, RANGE_POINTS)
        )
        # a whole-number parameter's points: the nearest whole numbers (fewer if they meet);
        # others to 12 significant digits, so that a point meant to be the scenario's own
        # value, or a round number, is not a float's rounding error away from it
        values = [float(round(value)) if whole else float(f"{value:.12g}") for value in spaced]
    chosen: set[float] = {current}
    for value in values:
        if not math.isfinite(value):
            raise ValueError(f"values: {value} is not a number to try")
        if whole and not float(value).is_integer():
            raise ValueError(f"values: {parameter} is a whole number, not {value:g}")
        chosen.add(int(value) if whole else float(value))
    if len(chosen) > MAX_VALUES:
        raise ValueError(f"values: at most {MAX_VALUES} in one sweep, got {len(chosen)}")
    return sorted(chosen)


def sweep_variants(
    scenario: Scenario,
    parameter: str,
    values: list[float] | None,
    by: str | None = None,
    by_values: list[float] | None = None,
) -> tuple[list[float], list[float] | None, list[Scenario]]:
    """The values to run (``sweep_values``), the second parameter's (None without one) and
    the scenario at each value, or at each pair of values (the first parameter's outermost),
    every one validated: what a sweep runs, checked before it runs (a job asked for is
    refused at once).

    Raises ``ValueError`` naming the parameter, the value or the pair, and why."""
    ordered = sweep_values(scenario, parameter, values)
    # each value alone first, so that one the parameter cannot take is refused by its own field
    alone = [_variant(scenario, {parameter: value}, "values") for value in ordered]
    if by is None:
        if by_values is not None:
            raise ValueError("by_values: name the second parameter (by) they are values of")
        return ordered, None, alone
    if by == parameter:
        raise ValueError(f"by: {by} is the parameter the sweep varies already; name another")
    try:
        seconds = sweep_values(scenario, by, by_values)
    except ValueError as error:
        field, _, reason = str(error).partition(": ")
        raise ValueError(f"{'by' if field == 'parameter' else 'by_values'}: {reason}") from None
    if len(ordered) * len(seconds) > MAX_VALUES:
        raise ValueError(
            f"by_values: at most {MAX_VALUES} pairs of values in one sweep, got "
            f"{len(ordered)} x {len(seconds)} = {len(ordered) * len(seconds)}"
        )
    for second in seconds:
        _variant(scenario, {by: second}, "by_values")
    variants = [  # a pair whose values are each valid alone may still not be together
        _variant(scenario, {parameter: value, by: second}, "by_values")
        for value in ordered
        for second in seconds
    ]
    return ordered, seconds, variants


def _variant(scenario: Scenario, changes: dict[str, float], field: str) -> Scenario:
    """The scenario with these values, or a ``ValueError`` naming ``field``, the values and
    the scenario's problems."""
    try:
        return scenario.replace(changes, source="sweep")
    except ScenarioError as error:  # its problems, each naming its field
        lines = str(error).splitlines()
        problems = "; ".join(line.strip() for line in lines[1:]) or lines[0]
        shown = ", ".join(
            _shown(value) if len(changes) == 1 else f"{path} {_shown(value)}"
            for path, value in changes.items()
        )
        raise ValueError(f"{field}: {shown} makes no valid scenario ({problems})") from None


def run_sweep(
    scenario: Scenario,
    parameter: str,
    values: list[float] | None = None,
    replications: int = 1000,
    seed: int = 2019,
    processes: int = 1,
    client: Client | None = None,
    progress: Progress | None = None,
    by: str | None = None,
    by_values: list[float] | None = None,
) -> Sweep:
    """Run the scenario at several values of one parameter (or at every pair of values of
    two), with common random numbers.

    Parameters
    ----------
    scenario : Scenario
        The operation.
    parameter : str
        The parameter's dotted path, as ``scenario show`` lists it (``leak.events.0.day``,
        ``city_defaults.p_contact``, ``city_overrides.Los Angeles.local_support``).
    values : list of float, optional
        The values to try (default: five across the parameter's range in ``[ranges]``). The
        scenario's own value is always run too.
    replications : int
        Replications at each value.
    seed : int
        Seed of every value (common random numbers).
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the chunks instead.
    progress : callable, optional
        Called with (chunks done, chunks in all).
    by : str, optional
        A second parameter, for a grid: every value of ``parameter`` runs at every one of
        ``by_values``.
    by_values : list of float, optional
        The second parameter's values (default: five across its range); its own runs too.

    Returns
    -------
    Sweep
        Every value's (or pair's) outcomes per replication; ``as_dict()`` summarises them.

    Raises
    ------
    ValueError
        If a parameter is not a number of the scenario, a value is not one it can take (the
        message names the value and why), there are no values to try, or more than
        ``MAX_VALUES`` values or pairs of them.
    """
    ordered, seconds, variants = sweep_variants(scenario, parameter, values, by, by_values)
    outputs = replication_values(
        variants, replications, seed, sweep_outputs, processes, progress, client
    )
    unit, meaning = parameter_info(parameter)
    second = None
    if by is not None and seconds is not None:
        by_unit, by_meaning = parameter_info(by)
        second = Axis(by, by_unit, by_meaning, parameter_value(scenario, by), tuple(seconds))
    return Sweep(
        scenario=scenario.name,
        parameter=parameter,
        unit=unit,
        meaning=meaning,
        current=parameter_value(scenario, parameter),
        values=tuple(ordered),
        replications=replications,
        seed=seed,
        goal_persons=scenario.operation.goal_persons,
        goals=tuple(variant.operation.goal_persons for variant in variants),
        outputs=np.stack(outputs),
        by=second,
    )
