"""The uncertainty of a scenario's assumptions: its ``[ranges]`` read as prior distributions.

A scenario's values are single numbers, but most are assumptions known only to within a range
(``[ranges]``, each with a note saying why). Read as a prior (uniform over the range unless it
declares ``prior = "log-uniform"``), the ranges say how sure the scenario is of itself, and
two things follow:

* **prior predictive intervals** (``prior_predictive``): every lane draws its assumptions from
  the priors and runs its own replications, so the spread of the outcomes includes both the
  replication noise and the assumptions' uncertainty; a forecast run with
  ``--uncertainty assumptions`` reports them next to its replication-only intervals;
* **calibration** starts from the same priors and narrows them with observed counts.

Whole-number parameters (teams, days, seats) are drawn on the continuous range and rounded,
as ``fieldcast sensitivity`` does.

Draws come from a generator of their own, keyed by the run seed (``ASSUMPTION_DRAWS``): the
same seed gives the same draws, and the draws share nothing with the engine's random numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.compiled import CompiledScenario, ParameterTable, parameter_table
from fieldcast.costs import cost_items
from fieldcast.metrics import FIELD_END_METRICS, HORIZON_METRICS, MEASURES
from fieldcast.recording import ChunkOutput
from fieldcast.replications import replication_values
from fieldcast.results import goal_day_interval, goal_days, interval
from fieldcast.scenario import (
    Scenario,
    editable_data,
    parameter_value,
    validate_scenario,
    with_parameters,
)
from fieldcast.workers import Progress

if TYPE_CHECKING:
    from distributed import Client

ASSUMPTION_DRAWS = 0xA55  # keys the generator of assumption draws (with the run seed)
DEFAULT_DRAWS = 1000  # parameter draws of a prior predictive run (capped by the replications)

# The outputs every lane reports (``key_outputs``), in this order.
KEY_OUTPUTS = {
    "persons_arrested": "target persons arrested by the end of field work",
    "persons_arrested_by_horizon": "target persons arrested by the horizon",
    "persons_removed": "persons removed by the horizon",
    "total_cost": "total cost, USD",
}


@dataclass(frozen=True)
class Prior:
    """The prior of one assumption: its declared range and shape."""

    path: str
    low: float
    high: float
    shape: str  # "uniform" or "log-uniform"
    whole: bool  # a whole-number parameter: draws are rounded

    @property
    def distribution(self) -> Any:
        """The prior as a frozen scipy distribution (``rvs``, ``ppf``, ``logpdf``)."""
        # imported here: scipy.stats adds about 47 MB to every process that imports it, and
        # a forecast without assumption uncertainty never needs it
        from scipy import stats

        if self.shape == "log-uniform":
            return stats.loguniform(self.low, self.high)
        return stats.uniform(self.low, self.high - self.low)


def priors(scenario: Scenario) -> list[Prior]:
    """The scenario's priors, in the order of its ``[ranges]``."""
    return [
        Prior(
            path=path,
            low=span.low,
            high=span.high,
            shape=span.prior,
            whole=isinstance(parameter_value(scenario, path), int),
        )
        for path, span in scenario.ranges.items()
    ]


def draw_priors(
    prior_list: Sequence[Prior], count: int, generator: np.random.Generator
) -> np.ndarray:
    """``count`` independent draws from the priors, [draw, parameter] (by inversion, one
    uniform per value)."""
    columns = [p.distribution.ppf(generator.random(count)) for p in prior_list]
    return np.stack(columns, axis=1) if columns else np.zeros((count, 0))


def draw_assumptions(scenario: Scenario, count: int, seed: int) -> np.ndarray:
    """``count`` independent draws from the scenario's priors, keyed by ``seed``."""
    generator = np.random.default_rng(np.random.SeedSequence([seed, ASSUMPTION_DRAWS]))
    return draw_priors(priors(scenario), count, generator)


def scenario_at(scenario: Scenario, values: np.ndarray, source: str = "assumptions") -> Scenario:
    """The scenario with each ranged assumption set to its value in ``values`` (in the order
    of ``[ranges]``; whole numbers rounded), validated like any scenario, without ranges.
    An error names ``source`` and the values."""
    return scenario_maker(scenario)(values, source)


def scenario_maker(scenario: Scenario) -> Callable[[np.ndarray, str], Scenario]:
    """``scenario_at`` for many points of one scenario (sensitivity points, assumption draws,
    particles): the scenario's data and priors are made once, not at every point, where they
    were most of a point's cost."""
    data = editable_data(scenario)
    del data["ranges"]
    prior_list = priors(scenario)

    def at(values: np.ndarray, source: str = "assumptions") -> Scenario:
        changes = {
            prior.path: round(float(value)) if prior.whole else float(value)
            for prior, value in zip(prior_list, values, strict=True)
        }
        return validate_scenario(with_parameters(data, changes), source=f"{source} {changes}")

    return at


# Per-city parameters that set one field of the parameter table as they are, and
# operation-wide ones: a lane can take a drawn value of these without a scenario of its own
# (``direct_table``). Costs change no simulated count at all.
_CITY_FIELDS = {
    "p_contact": "p_contact",
    "p_arrest_given_contact": "p_arrest",
    "p_detain": "p_detain",
    "p_monitor": "p_monitor",
    "collateral_per_contact": "collateral_per_contact",
}
_OPERATION_FIELDS = {
    "leak.p_alert_move": "p_alert_move",
    "detention.p_relief": "p_relief",
    "detention.removal_seats_per_day": "removal_seats_per_day",
    "notice.p_comply": "p_comply",
    "notice.p_rearrest_monitored": "p_rearrest_monitored",
}


def direct_table(
    compiled: CompiledScenario, prior_list: Sequence[Prior], values: np.ndarray
) -> ParameterTable | None:
    """The parameter table of every row of ``values`` (one parameter set each), made from the
    compiled scenario without a scenario per row, or None if some prior's parameter feeds
    derived values (teams, hazards, address validity: those need ``scenario_at``).

    Each row's table equals that of ``compile_scenario(scenario_at(scenario, row))`` (a test
    checks it): a city default reaches the cities that do not override it, an override its
    city; whole numbers are rounded. Every value inside a declared range is valid, because
    the range's two ends were validated and these fields have bounds only of their own."""
    scenario = compiled.scenario
    cities = [city.name for city in scenario.cities]
    changes = []
    for prior in prior_list:
        parts = prior.path.split(".")
        if prior.path.startswith("costs."):
            continue
        if prior.path in _OPERATION_FIELDS:
            changes.append((prior, _OPERATION_FIELDS[prior.path], slice(None)))
            continue
        field = parts[-1]
        if field not in _CITY_FIELDS:
            return None
        if parts[0] == "city_defaults" and len(parts) == 2:
            mask = np.array(
                [getattr(scenario.city_overrides.get(name), field, None) is None for name in cities]
            )
        elif parts[0] == "city_overrides":
            mask = np.array([name == ".".join(parts[1:-1]) for name in cities])
        else:
            return None
        changes.append((prior, _CITY_FIELDS[field], mask))
    base = parameter_table([compiled])
    columns = {
        name: np.ascontiguousarray(np.repeat(value, len(values), axis=0))
        for name, value in base._asdict().items()
    }
    positions = {prior.path: j for j, prior in enumerate(prior_list)}
    for prior, name, where in changes:
        drawn = values[:, positions[prior.path]]
        drawn = np.round(drawn) if prior.whole else drawn
        column = columns[name]
        if column.ndim == 1:
            column[:] = drawn
        else:
            column[:, where] = drawn[:, None]
    return ParameterTable(**columns)


def key_outputs(compiled: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
    """A ``replication_values`` reducer: ``KEY_OUTPUTS`` of one chunk, [output, replication]."""
    persons = MEASURES.index("persons")
    arrested = chunk.at_field_end[:, -1, FIELD_END_METRICS.index("arrests"), persons]
    by_horizon = chunk.at_horizon[:, HORIZON_METRICS.index("arrests"), persons]
    removed = chunk.at_horizon[:, HORIZON_METRICS.index("removals"), persons]
    items = cost_items(
        compiled.scenario.costs,
        float(compiled.officer_days.sum()),
        chunk.bed_days,
        chunk.monitor_days,
        removed,
    )
    return np.stack([arrested, by_horizon, removed, sum(items)]).astype(float)


def prior_outputs(compiled: CompiledScenario, chunk: ChunkOutput) -> np.ndarray:
    """The prior predictive's ``replication_values`` reducer: ``key_outputs`` and, last, the
    day the goal is reached (``inf``: never), [output, replication]."""
    return np.vstack([key_outputs(compiled, chunk), goal_days(compiled.start_day, chunk.goal_day)])


@dataclass(frozen=True)
class PriorPredictive:
    """Outcomes with every lane's assumptions drawn from the priors."""

    parameters: tuple[str, ...]
    draws: np.ndarray  # [draw, parameter] the assumption values drawn
    replications_per_draw: int
    outputs: np.ndarray  # [draw, KEY_OUTPUTS and the goal's day, replication]
    field_days: int

    def summary(self) -> dict[str, Any]:
        """JSON-ready: what the intervals include, and each key output's interval."""
        values = {
            name: self.outputs[:, position].ravel() for position, name in enumerate(KEY_OUTPUTS)
        }
        draws, parameters = len(self.draws), len(self.parameters)
        goal_day = self.outputs[:, -1].ravel()
        return {
            "includes": (
                f"replication noise and the uncertainty of {parameters} assumptions: "
                f"{draws} draws from the priors declared in [ranges], "
                f"{self.replications_per_draw} replication(s) each"
            ),
            "parameters": list(self.parameters),
            "draws": draws,
            "replications_per_draw": self.replications_per_draw,
            # each lane's own goal reached by the end of field work (a range may draw it)
            "p_goal": float(np.mean(np.isfinite(goal_day))),
            **{name: interval(value) for name, value in values.items()},
            "goal_day": goal_day_interval(goal_day, self.field_days),
        }


def prior_predictive_draws(
    scenario: Scenario, replications: int, seed: int, draws: int = DEFAULT_DRAWS
) -> tuple[np.ndarray, int]:
    """The assumption draws of a prior predictive of ``replications`` lanes, and how many
    replications each gets: ``draws`` draws (at most ``replications``), draw i's lanes being
    replications ``i * per_draw`` to ``(i + 1) * per_draw - 1``. Shared by ``prior_predictive``
    and ``run_score``, which recomputes a run's prior predictive."""
    draws = max(1, min(draws, replications))
    return draw_assumptions(scenario, draws, seed), max(1, replications // draws)


def prior_predictive(
    scenario: Scenario,
    replications: int,
    seed: int,
    draws: int = DEFAULT_DRAWS,
    processes: int = 1,
    progress: Progress | None = None,
    client: Client | None = None,
) -> PriorPredictive:
    """Outcomes of ``replications`` lanes, ``draws`` assumption draws with the same number of
    replications each (``draws`` is lowered to ``replications`` if above). Every lane has its
    own replication index, so no two lanes share random numbers."""
    if not scenario.ranges:
        raise ValueError(
            f"ranges: the scenario {scenario.name!r} declares no [ranges], so it has no "
            "assumption uncertainty to propagate (see `fieldcast scenario show`)"
        )
    points, per_draw = prior_predictive_draws(scenario, replications, seed, draws)
    draws = len(points)
    at = scenario_maker(scenario)
    scenarios = [
        at(point, f"{scenario.name}, assumption draw {index}") for index, point in enumerate(points)
    ]
    values = replication_values(
        scenarios,
        per_draw,
        seed,
        prior_outputs,
        processes,
        progress,
        client,
        first_replications=[index * per_draw for index in range(draws)],
    )
    return PriorPredictive(
        parameters=tuple(scenario.ranges),
        draws=points,
        replications_per_draw=per_draw,
        outputs=np.stack(values),
        field_days=scenario.operation.field_days,
    )
