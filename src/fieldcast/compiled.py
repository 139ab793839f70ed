"""A scenario compiled into the arrays the engine computes with, and tables of many of them.

``compile_scenario`` resolves per-city overrides, composes households and tabulates the daily
profiles once; the engine never reads the pydantic scenario. ``ParameterTable`` stacks
compiled scenarios that share their structure (cities, size classes, days, attempts, ring
lengths) into arrays with a leading parameter-set axis, which is what lets one batch of lanes
carry many parameter sets: sensitivity points, requirement levels, allocation curves, draws
from the assumptions' ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from fieldcast.scenario import Scenario, compose_households

UNLIMITED = np.iinfo(np.int64).max // 4  # stands for "no limit" in capacity arithmetic


@dataclass(frozen=True)
class Structure:
    """What every lane of one batch shares: the shape of the state and of the calendar."""

    cities: int
    sizes: tuple[int, ...]  # [class] persons per household
    minors: tuple[int, ...]  # [class] minors per household
    start_day: int  # first simulated day (day index 0)
    day_count: int  # number of simulated days
    field_days: int
    max_attempts: int
    processing_days: int
    notice_days: int

    @property
    def classes(self) -> int:
        return len(self.sizes)

    @property
    def measure_weights(self) -> np.ndarray:
        """[class, measure]: one household of a class in households, persons and minors."""
        sizes = np.array(self.sizes, dtype=np.int64)
        minors = np.array(self.minors, dtype=np.int64)
        return np.ascontiguousarray(np.stack([np.ones_like(sizes), sizes, minors], axis=-1))


@dataclass(frozen=True)
class CompiledScenario:
    """One scenario's parameters as arrays (built once per run)."""

    scenario: Scenario
    structure: Structure
    households: np.ndarray  # [city, class] target households
    p_address_valid: np.ndarray  # [city]
    capacity: np.ndarray  # [day index, city] attempts available on that day
    hazard: np.ndarray  # [day index] move-away probability for households at their address
    p_alert_move: float
    p_contact: np.ndarray  # [city]
    p_arrest: np.ndarray  # [city]
    collateral_per_contact: np.ndarray  # [city]
    p_detain: np.ndarray  # [city]
    p_monitor: np.ndarray  # [city]
    monitors: np.ndarray  # [city] monitor stock (UNLIMITED when not binding)
    free_beds: int  # beds minus baseline occupancy
    removal_seats_per_day: int
    p_relief: float
    p_comply: float
    p_rearrest_monitored: float
    officer_days: np.ndarray  # [city] officer-days scheduled (teams x officers x active days)
    goal_persons: int  # the day it is reached is recorded; it changes no transition

    @property
    def cities(self) -> int:
        return self.structure.cities

    @property
    def classes(self) -> int:
        return self.structure.classes

    @property
    def sizes(self) -> np.ndarray:
        return np.array(self.structure.sizes, dtype=np.int64)

    @property
    def minors(self) -> np.ndarray:
        return np.array(self.structure.minors, dtype=np.int64)

    @property
    def measure_weights(self) -> np.ndarray:
        return self.structure.measure_weights

    @property
    def start_day(self) -> int:
        return self.structure.start_day

    @property
    def day_count(self) -> int:
        return self.structure.day_count

    @property
    def field_days(self) -> int:
        return self.structure.field_days

    def day_index(self, day: int) -> int:
        return day - self.structure.start_day

    @property
    def survival(self) -> np.ndarray:
        """[day index + 1]: the chance that a household at its address at the start is still
        there at the start of each day, from the daily hazards alone (survival[0] = 1)."""
        return np.concatenate([[1.0], np.cumprod(1.0 - self.hazard)])


def compile_scenario(scenario: Scenario) -> CompiledScenario:
    """Resolve per-city overrides, compose households and tabulate the daily profiles."""
    op = scenario.operation
    names = [city.name for city in scenario.cities]

    def per_city(field: str) -> np.ndarray:
        return np.array([scenario.city_parameter(n, field) for n in names], dtype=float)

    households = np.array(
        [
            compose_households(c.target_persons, scenario.households.classes)
            for c in scenario.cities
        ],
        dtype=np.int64,
    )
    p_absentia = per_city("p_in_absentia")
    p_address_valid = p_absentia * per_city("p_address_valid_absentia") + (
        1 - p_absentia
    ) * per_city("p_address_valid_other")

    start_day = scenario.start_day
    days = op.horizon_days - start_day
    daily_attempts = (
        per_city("teams") * per_city("attempts_per_team_day") * per_city("local_support")
    )
    stand_downs = [scenario.city_parameter(n, "stands_down_day") for n in names]
    capacity = np.zeros((days, len(names)), dtype=np.int64)
    active_days = np.zeros(len(names))
    for day in range(op.field_days):
        tempo = op.tempo[min(day, len(op.tempo) - 1)]
        working = np.array(
            [stands_down is None or day < stands_down for stands_down in stand_downs]
        )
        capacity[day - start_day] = np.floor(daily_attempts * tempo * working + 1e-9)
        active_days += working
    officer_days = per_city("teams") * scenario.costs.officers_per_team * active_days

    hazard = np.full(days, scenario.leak.baseline_hazard)
    for event in scenario.leak.events:
        elapsed = np.arange(days) + start_day - event.day
        extra = event.peak_hazard * 0.5 ** (np.maximum(elapsed, 0) / event.half_life_days)
        hazard += np.where(elapsed >= 0, extra, 0.0)
    hazard = np.minimum(hazard, 1.0)

    monitors = np.array(
        [
            UNLIMITED if m is None else m
            for m in (scenario.city_parameter(n, "monitors") for n in names)
        ],
        dtype=np.int64,
    )
    det, notice = scenario.detention, scenario.notice
    structure = Structure(
        cities=len(names),
        sizes=tuple(c.size for c in scenario.households.classes),
        minors=tuple(c.minors for c in scenario.households.classes),
        start_day=start_day,
        day_count=days,
        field_days=op.field_days,
        max_attempts=op.max_attempts,
        processing_days=det.processing_days,
        notice_days=notice.notice_days,
    )
    return CompiledScenario(
        scenario=scenario,
        structure=structure,
        households=households,
        p_address_valid=p_address_valid,
        capacity=capacity,
        hazard=hazard,
        p_alert_move=scenario.leak.p_alert_move,
        p_contact=per_city("p_contact"),
        p_arrest=per_city("p_arrest_given_contact"),
        collateral_per_contact=per_city("collateral_per_contact"),
        p_detain=per_city("p_detain"),
        p_monitor=per_city("p_monitor"),
        monitors=monitors,
        free_beds=max(det.beds - det.baseline_occupancy, 0),
        removal_seats_per_day=det.removal_seats_per_day,
        p_relief=det.p_relief,
        p_comply=notice.p_comply,
        p_rearrest_monitored=notice.p_rearrest_monitored,
        officer_days=officer_days,
        goal_persons=scenario.operation.goal_persons,
    )


class ParameterTable(NamedTuple):
    """Parameter sets stacked for the engine's compiled kernel: axis 0 is the set."""

    households: np.ndarray  # [set, city, class] int64
    p_address_valid: np.ndarray  # [set, city]
    capacity: np.ndarray  # [set, field day, city] int64
    hazard: np.ndarray  # [set, day index]
    survival: np.ndarray  # [set, day index + 1]
    p_alert_move: np.ndarray  # [set]
    p_contact: np.ndarray  # [set, city]
    p_arrest: np.ndarray  # [set, city]
    collateral_per_contact: np.ndarray  # [set, city]
    p_detain: np.ndarray  # [set, city]
    p_monitor: np.ndarray  # [set, city]
    monitors: np.ndarray  # [set, city] int64
    free_beds: np.ndarray  # [set] int64
    removal_seats_per_day: np.ndarray  # [set] int64
    p_relief: np.ndarray  # [set]
    p_comply: np.ndarray  # [set]
    p_rearrest_monitored: np.ndarray  # [set]
    goal_persons: np.ndarray  # [set] int64


def parameter_table(compiled: Sequence[CompiledScenario]) -> ParameterTable:
    """Stack compiled scenarios that share their structure (else ValueError, naming both)."""
    first = compiled[0].structure
    for other in compiled[1:]:
        if other.structure != first:
            raise ValueError(
                "scenarios in one batch of lanes must share cities, size classes, days, "
                f"attempts and ring lengths: {first} differs from {other.structure}"
            )
    field_days = max(first.field_days, 0)
    start = -first.start_day

    def stack(name: str, dtype: type = np.float64) -> np.ndarray:
        return np.ascontiguousarray(np.array([getattr(c, name) for c in compiled], dtype=dtype))

    return ParameterTable(
        households=stack("households", np.int64),
        p_address_valid=stack("p_address_valid"),
        capacity=np.ascontiguousarray(
            np.array([c.capacity[start : start + field_days] for c in compiled], dtype=np.int64)
        ),
        hazard=stack("hazard"),
        survival=np.ascontiguousarray(np.array([c.survival for c in compiled])),
        p_alert_move=stack("p_alert_move"),
        p_contact=stack("p_contact"),
        p_arrest=stack("p_arrest"),
        collateral_per_contact=stack("collateral_per_contact"),
        p_detain=stack("p_detain"),
        p_monitor=stack("p_monitor"),
        monitors=stack("monitors", np.int64),
        free_beds=stack("free_beds", np.int64),
        removal_seats_per_day=stack("removal_seats_per_day", np.int64),
        p_relief=stack("p_relief"),
        p_comply=stack("p_comply"),
        p_rearrest_monitored=stack("p_rearrest_monitored"),
        goal_persons=stack("goal_persons", np.int64),
    )


def parameter_table_with(
    compiled: CompiledScenario, draws: dict[str, np.ndarray]
) -> ParameterTable:
    """One parameter set per draw: the scenario's table repeated, with each field named in
    ``draws`` (a ``ParameterTable`` field) set to its values, one per set; a per-city field
    takes the same value in every city. This is how a batch gives every lane its own
    parameters without compiling a scenario per lane."""
    sizes = {len(values) for values in draws.values()}
    if len(sizes) != 1:
        raise ValueError(f"draws must all have the same length, got lengths {sorted(sizes)}")
    (sets,) = sizes
    base = parameter_table([compiled])
    columns = {}
    for name, value in base._asdict().items():
        repeated = np.repeat(value, sets, axis=0)
        if name in draws:
            if name not in _DRAWABLE:
                raise ValueError(f"{name!r} cannot be drawn per lane; drawable: {_DRAWABLE}")
            drawn = np.asarray(draws[name], dtype=repeated.dtype)
            repeated[...] = drawn.reshape((sets,) + (1,) * (repeated.ndim - 1))
        columns[name] = np.ascontiguousarray(repeated)
    unknown = set(draws) - set(columns)
    if unknown:
        raise ValueError(f"unknown parameter table fields: {', '.join(sorted(unknown))}")
    return ParameterTable(**columns)


# Fields a draw may set directly (probabilities and per-day pools; the hazard and survival
# profiles and capacities are derived from several scenario fields, so they are compiled).
_DRAWABLE = (
    "p_address_valid",
    "p_alert_move",
    "p_contact",
    "p_arrest",
    "collateral_per_contact",
    "p_detain",
    "p_monitor",
    "free_beds",
    "removal_seats_per_day",
    "p_relief",
    "p_comply",
    "p_rearrest_monitored",
)
