"""The scenario: every parameter of an operation, validated, with its unit, meaning and provenance.

A scenario is plain data. It is built in Python, or loaded from TOML or YAML, and validated as a
whole before anything runs: unknown keys are rejected (a misspelt key is an error, not a silently
ignored value), every count and probability is range-checked, and fields are checked against each
other (an override must name a listed city, a tempo profile must fit the field window).

Per-city parameters live once in ``city_defaults`` and are overridden per city in
``city_overrides``, so a scenario says what is special about a city and nothing else.

Every parameter declares its unit and a one-line meaning in its ``Field`` (``unit`` in
``json_schema_extra``); every value's provenance (a source, an assumption, or derived) is
recorded in the scenario's ``provenance`` table under the parameter's dotted path, and an
assumption may declare a plausible range in ``ranges`` (for ``fieldcast sensitivity``).

An optional ``docket`` (model stage 1, ``docket.py``) derives the cities' target persons and
in-absentia shares before the rest is validated, so everything downstream sees a plain
target list.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from fieldcast.docket import Docket, check_docket_targets, with_docket_targets
from fieldcast.fields import (
    MAX_DAYS,
    MAX_LEAD_DAYS,
    MAX_PERSONS,
    MAX_USD,
    NOTE_LENGTH,
    Name,
    Note,
    PlaceName,
    Probability,
    Strict,
    did_you_mean,
    param,
)

TITLE_LENGTH = 200  # characters at most in a scenario's title
# per-city parameters the defaults may leave out (no limit of monitors; no stand-down day)
OPTIONAL_CITY_DEFAULTS = ("monitors", "stands_down_day")


class Operation(Strict):
    """The operation's goal and its time frame (day 0 is the first field day)."""

    goal_persons: int = param(
        ...,
        "persons",
        "target persons the operation means to arrest (reach goal)",
        ge=0,
        le=100 * MAX_PERSONS,
    )
    field_days: int = param(..., "days", "field days, from day 0", ge=1, le=MAX_DAYS)
    horizon_days: int = param(
        ...,
        "days",
        "days simulated from day 0, so removals and departures play out",
        ge=1,
        le=MAX_DAYS,
    )
    tempo: list[Annotated[float, Field(ge=0.0, le=100.0)]] = param(
        [1.0],
        "multiplier per field day",
        "surge profile: share of full team capacity on field day i (last value repeats)",
        min_length=1,
    )
    max_attempts: int = param(
        3, "attempts", "attempts on one household before its case is closed", ge=1, le=20
    )

    @model_validator(mode="after")
    def _horizon_covers_field_days(self) -> Operation:
        if self.horizon_days < self.field_days:
            raise ValueError(
                f"horizon_days ({self.horizon_days}) must be at least field_days "
                f"({self.field_days})"
            )
        if len(self.tempo) > self.field_days:
            raise ValueError(
                f"tempo has {len(self.tempo)} values but there are only "
                f"{self.field_days} field days"
            )
        return self


class LeakEvent(Strict):
    """A moment when the plan becomes known, raising the daily move-away hazard."""

    name: Name = param(..., "text", "what became known (e.g. public announcement)")
    day: int = param(
        ...,
        "days",
        "day it became known (negative: before day 0; at most a year before, since every day "
        "from the first leak on is simulated)",
        le=0,
        ge=-MAX_LEAD_DAYS,
    )
    peak_hazard: Probability = param(
        ..., "probability per day", "extra daily move-away probability on that day"
    )
    half_life_days: float = param(
        ...,
        "days",
        "days for the extra hazard to halve (it decays exponentially)",
        gt=0,
        le=MAX_DAYS,
    )


class Leak(Strict):
    """How households still at their address move away before and during the operation."""

    baseline_hazard: Probability = param(
        0.0, "probability per day", "daily move-away probability with no leak at all"
    )
    p_alert_move: Probability = param(
        0.0,
        "probability",
        "chance a household attempted but not contacted moves before the next day",
    )
    events: list[LeakEvent] = param(
        [], "list", "leak events (announcements, press reports); empty means no leak"
    )


class SizeClass(Strict):
    """A household-size class: households in a class are exchangeable."""

    size: int = param(..., "persons", "persons in each household of this class", ge=1, le=30)
    minors: int = param(..., "persons", "minors in each household of this class", ge=0, le=30)
    share: Probability = param(..., "share of households", "share of households in this class")

    @model_validator(mode="after")
    def _minors_fit(self) -> SizeClass:
        if self.minors > self.size:
            raise ValueError(f"minors ({self.minors}) cannot exceed size ({self.size})")
        return self


class Households(Strict):
    """How each city's target persons are composed into households."""

    classes: list[SizeClass] = param(
        ..., "list", "household-size classes with their shares of households", min_length=1
    )

    @model_validator(mode="after")
    def _classes_consistent(self) -> Households:
        sizes = [c.size for c in self.classes]
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"household sizes must be distinct, got {sizes}")
        total = sum(c.share for c in self.classes)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"household shares must add up to 1, they add up to {total:g}")
        return self


class CityParameters(Strict):
    """Per-city parameters: national defaults, overridable city by city (all optional there)."""

    teams: int | None = param(
        None, "teams", "field teams working this city's list", ge=0, le=100_000
    )
    attempts_per_team_day: float | None = param(
        None,
        "attempts per team per day",
        "household visits one team makes per field day",
        ge=0,
        le=1000,
    )
    local_support: float | None = param(
        None,
        "multiplier",
        "scales team capacity for local support (e.g. police that will not assist: below 1)",
        ge=0,
        le=100,
    )
    p_in_absentia: Probability | None = param(
        None, "probability", "share of target households whose order was issued in absentia"
    )
    p_address_valid_absentia: Probability | None = param(
        None, "probability", "chance the address on file is still valid, order in absentia"
    )
    p_address_valid_other: Probability | None = param(
        None, "probability", "chance the address on file is still valid, other orders"
    )
    p_contact: Probability | None = param(
        None, "probability", "chance an attempt at a household still there makes contact"
    )
    p_arrest_given_contact: Probability | None = param(
        None, "probability", "chance a contact ends in the household's arrest"
    )
    collateral_per_contact: float | None = param(
        None,
        "persons per contact",
        "non-target persons arrested per contact (reported apart from targets)",
        ge=0,
        le=100,
    )
    p_detain: Probability | None = param(
        None, "probability", "chance an arrested household is meant for family detention"
    )
    p_monitor: Probability | None = param(
        None, "probability", "chance a household released on notice is meant to get a monitor"
    )
    monitors: int | None = param(
        None,
        "devices",
        "ankle monitors this city can fit (omit: not binding)",
        ge=0,
        le=MAX_PERSONS,
    )
    stands_down_day: int | None = param(
        None,
        "day",
        "day from which the city does no more field work (omit: never)",
        ge=0,
        le=MAX_DAYS,
    )


class City(Strict):
    """A city (field office) of the operation."""

    name: PlaceName = param(..., "text", "city or field office name")
    target_persons: int = param(
        ..., "persons", "target persons on this city's list", ge=0, le=MAX_PERSONS
    )


class Detention(Strict):
    """The national family-bed pool and removal transport."""

    beds: int = param(
        ..., "beds", "family beds in the national pool (one per person)", ge=0, le=MAX_PERSONS
    )
    baseline_occupancy: int = param(
        ...,
        "beds",
        "beds already in use by others, unavailable to the operation",
        ge=0,
        le=MAX_PERSONS,
    )
    processing_days: int = param(
        ..., "days", "days a detained household waits before it can be removed", ge=0, le=MAX_DAYS
    )
    removal_seats_per_day: int = param(
        ...,
        "seats per day",
        "removal transport seats for the operation's households",
        ge=0,
        le=MAX_PERSONS,
    )
    p_relief: Probability = param(
        ..., "probability", "chance a detained household obtains a stay and is released"
    )


class Notice(Strict):
    """Release with a notice to depart."""

    notice_days: int = param(..., "days", "days given to leave the country", ge=1, le=MAX_DAYS)
    p_comply: Probability = param(..., "probability", "chance a household departs by the deadline")
    p_rearrest_monitored: Probability = param(
        ..., "probability", "chance a monitored household that did not depart is re-arrested"
    )


class Costs(Strict):
    """Unit costs, in US dollars."""

    officers_per_team: int = param(..., "officers", "officers in one field team", ge=1, le=1000)
    officer_day: float = param(
        ..., "USD per officer-day", "cost of one officer for a day", ge=0, le=MAX_USD
    )
    bed_day: float = param(
        ..., "USD per bed-day", "cost of one family bed for a day", ge=0, le=MAX_USD
    )
    monitor_day: float = param(
        ..., "USD per monitor-day", "cost of electronic monitoring for a day", ge=0, le=MAX_USD
    )
    removal_seat: float = param(
        ..., "USD per person removed", "transport cost of removing one person", ge=0, le=MAX_USD
    )


class Observation(Strict):
    """How observed counts scatter around what happened (the observation model of
    calibration and tracking): reporting noise, late or partial counts."""

    model: Literal["negative-binomial", "poisson"] = param(
        "negative-binomial",
        "text",
        "an observed count is drawn around the simulated one: negative binomial (Poisson "
        "noise and more) or Poisson",
    )
    dispersion: float = param(
        20.0,
        "1",
        "negative binomial size k: variance = mean + mean^2 / k (larger: closer to Poisson)",
        gt=0,
        le=1e6,
    )


class Provenance(Strict):
    """Where a value comes from: a cited source, an assumption a user should override,
    derived by fieldcast from other values (the docket stage), or calibrated by fieldcast to
    observed counts (``fieldcast calibrate``; the note names the observations and the date)."""

    kind: Literal["source", "assumption", "derived", "calibrated"]
    note: Note = Field(min_length=1)


class Range(Strict):
    """A plausible range for one numeric parameter: what ``fieldcast sensitivity`` varies, and
    the prior distribution of the parameter's value for assumption uncertainty and
    calibration (``assumptions.py``)."""

    low: float = param(..., "the parameter's unit", "lowest plausible value")
    high: float = param(..., "the parameter's unit", "highest plausible value")
    prior: Literal["uniform", "log-uniform"] = param(
        "uniform",
        "text",
        "how belief spreads over the range: uniform, or log-uniform (uniform in the "
        "logarithm, for a rate whose order of magnitude is uncertain)",
    )
    note: Note = param("", "text", "why this range (a source, or the reasoning behind it)")


class Scenario(Strict):
    """A complete, validated operation scenario."""

    name: Name = param(..., "text", "short identifier")
    title: Note = param("", "text", "one-line description", max_length=TITLE_LENGTH)
    operation: Operation
    leak: Leak = Leak()
    households: Households
    city_defaults: CityParameters
    city_overrides: dict[str, CityParameters] = Field(default_factory=dict)
    cities: list[City] = Field(min_length=1, max_length=10_000)
    docket: Docket | None = None
    detention: Detention
    notice: Notice
    costs: Costs
    observation: Observation = Observation()
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    ranges: dict[str, Range] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _targets_from_docket(cls, data: Any) -> Any:
        """With a valid docket, fill in the target persons and in-absentia share of each of its
        cities where they are not given (a given value is checked against it afterwards)."""
        if not isinstance(data, dict) or data.get("docket") is None:
            return data
        try:
            docket = Docket.model_validate(data["docket"])
        except ValidationError:
            return data  # reported by the field validation, with its path
        return with_docket_targets(data, docket)

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Scenario:
        """Fields checked against each other; every problem found is reported (one per line),
        not only the first."""
        problems: list[str] = []
        names = [city.name for city in self.cities]
        keys = [_name_key(name) for name in names]
        duplicates = sorted(
            {repr(n) for n, key in zip(names, keys, strict=True) if keys.count(key) > 1}
        )
        if duplicates:
            problems.append(
                "cities: names must be unique (ignoring case, spaces at either end and how "
                f"accents are encoded), repeated: {', '.join(duplicates)}"
            )
        for name in self.city_overrides:
            if name not in names:
                hint = did_you_mean(name, names)
                problems.append(f"city_overrides.{name}: not a city of this scenario{hint}")
        missing = [
            f for f, v in self.city_defaults if v is None and f not in OPTIONAL_CITY_DEFAULTS
        ]
        if missing:
            problems.append(f"city_defaults: must set every parameter, missing: {missing}")
        for city in self.cities:
            stands_down = self.city_parameter(city.name, "stands_down_day")
            if stands_down is not None and stands_down > self.operation.field_days:
                override = self.city_overrides.get(city.name)
                where = (
                    f"city_overrides.{city.name}"
                    if override is not None and override.stands_down_day is not None
                    else "city_defaults"
                )
                problems.append(
                    f"{where}.stands_down_day: {city.name} stands down on day {stands_down}, "
                    f"after the field days (0 to {self.operation.field_days - 1})"
                )
        for index, city in enumerate(self.cities):
            try:
                compose_households(city.target_persons, self.households.classes)
            except ValueError as error:
                problems.append(f"cities.{index}.target_persons: {error}")
        if self.docket is not None:
            try:
                check_docket_targets(self, self.docket)
            except ValueError as error:
                problems.append(str(error))
        if info.context != _PATHS_CHECKED:  # a range's end: the tables are checked already
            problems += _table_problems(self, check_ranges=not problems)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # -- derived views -----------------------------------------------------------------------

    def city_parameter(self, city: str, field: str) -> Any:
        """The value of a per-city parameter for one city: its override, else the default.

        Parameters
        ----------
        city : str
            A city of the scenario.
        field : str
            A field of ``CityParameters`` (``"teams"``, ``"p_contact"``, ...).

        Returns
        -------
        Any
            The value (None where neither override nor default gives one, for optional fields).
        """
        override = self.city_overrides.get(city)
        if override is not None and getattr(override, field) is not None:
            return getattr(override, field)
        return getattr(self.city_defaults, field)

    @property
    def start_day(self) -> int:
        """First simulated day: the earliest leak event, or day 0."""
        return min([0, *(event.day for event in self.leak.events)])

    def replace(
        self,
        changes: dict[str, Any],
        source: str = "replace",
        provenance: dict[str, dict[str, str]] | None = None,
    ) -> Scenario:
        """This scenario with parameters changed, validated like any scenario file.

        The way to change a scenario in Python: ``model_copy`` validates too, but takes whole
        sections, and keeps values derived from the docket as they are.

        Parameters
        ----------
        changes : dict
            New values by dotted path (``"city_defaults.teams"``, ``"cities.0.target_persons"``),
            as ``scenario show`` lists them; a city's own value of a per-city parameter as
            ``"city_overrides.Chicago.p_contact"``, whether the city has an override or not
            (it gets one).
        source : str
            What made the change, named in errors.
        provenance : dict, optional
            Provenance entries of the changed values (``changed_value_provenance``) by path,
            replacing the scenario's.

        Returns
        -------
        Scenario
            The changed scenario.

        Raises
        ------
        ScenarioError
            If a path names no parameter, or the changed scenario is invalid (the message names
            the path and why).

        Examples
        --------
        >>> from fieldcast import load_scenario
        >>> load_scenario("seed-2019").replace({"city_defaults.teams": 8}).city_defaults.teams
        8
        """
        for path in changes:
            try:
                parameter_value(self, path)
            except (KeyError, IndexError, TypeError):
                hint = did_you_mean(path, changeable_paths(self))
                message = f"{source} {path}: not a parameter of this scenario{hint}"
                raise ScenarioError(message) from None
            derived = self.provenance.get(path)
            if derived is not None and derived.kind == "derived":
                raise ScenarioError(
                    f"{source} {path}: derived from other values ({derived.note}); change "
                    "those instead"
                )
        data = with_parameters(editable_data(self, setting=changes), changes)
        if provenance:
            data["provenance"] = {**data.get("provenance", {}), **provenance}
        return validate_scenario(data, source=f"{self.name} with {source} {changes}")

    def without_leak(self) -> Scenario:
        """The same scenario with every leak event's extra hazard set to zero.

        The events stay (with no effect), so the twin starts on the same day and baseline moves run
        over the same days: the only difference is the leak (the name too, which may already be as
        long as a name can be).

        Returns
        -------
        Scenario
            The no-leak twin.
        """
        silent = [event.model_copy(update={"peak_hazard": 0.0}) for event in self.leak.events]
        return self.model_copy(update={"leak": self.leak.model_copy(update={"events": silent})})

    def canonical_json(self) -> str:
        """The scenario as sorted, compact JSON: equal scenarios give equal text.

        Returns
        -------
        str
            What the run store keeps and hashes.
        """
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


_NOT_PARAMETERS = ("provenance", "ranges")  # tables about the parameters


def parameter_paths(scenario: Scenario, left_out: bool = False) -> Iterator[str]:
    """Every parameter's dotted path (lists by index), as used in the provenance table; with
    ``left_out``, also the city defaults the scenario leaves out (``OPTIONAL_CITY_DEFAULTS``),
    in their place, for a form that may set them."""
    data = scenario.model_dump(exclude=set(_NOT_PARAMETERS))
    if left_out:
        for field in OPTIONAL_CITY_DEFAULTS:
            data["city_defaults"][field] = True  # listed as if set
    yield from _paths_in(data)


def _paths_in(data: Any, prefix: str = "") -> Iterator[str]:
    """The dotted paths of the values (not None) in dumped scenario data."""
    if isinstance(data, dict):
        for key, item in data.items():
            yield from _paths_in(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        for index, item in enumerate(data):
            yield from _paths_in(item, f"{prefix}.{index}")
    elif data is not None:
        yield prefix


def parameter_value(scenario: Scenario, path: str) -> Any:
    """The value of the parameter at a dotted path (as in the provenance table); for a city's
    own value of a per-city parameter (``city_override``), the value it has."""
    if (city_field := city_override(scenario, path)) is not None:
        return scenario.city_parameter(*city_field)
    container, key = _locate(scenario.model_dump(), path)
    return container[key]


def changeable_paths(scenario: Scenario) -> list[str]:
    """Every path ``Scenario.replace`` takes: the parameters (the city defaults left out
    too), then each city's own value of every per-city parameter (``city_override``) that is
    not among them."""
    paths = list(parameter_paths(scenario, left_out=True))
    listed = set(paths)
    for city in scenario.cities:
        for field in CityParameters.model_fields:
            path = f"city_overrides.{city.name}.{field}"
            if path not in listed:
                paths.append(path)
    return paths


def city_override(scenario: Scenario, path: str) -> tuple[str, str] | None:
    """(city, field) if ``path`` is ``city_overrides.CITY.FIELD`` for a city of the scenario
    and a per-city parameter (``CityParameters``), whether the city overrides it or not: what
    changes that city's value alone."""
    city, _, field = path.removeprefix("city_overrides.").rpartition(".")
    if not path.startswith("city_overrides.") or field not in CityParameters.model_fields:
        return None
    return (city, field) if city in {one.name for one in scenario.cities} else None


def editable_data(scenario: Scenario, setting: Iterable[str] = ()) -> dict[str, Any]:
    """The scenario as plain data without the values fieldcast derives (provenance "derived",
    from the docket stage), so that a changed value validates and derives them anew.

    Values left out are not in it (a city's own value it takes from the defaults, a limit of
    monitors it does not set): the paths of ``setting``, about to be set (``with_parameters``),
    get their place, as None."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    for path, provenance in scenario.provenance.items():
        if provenance.kind == "derived":
            container, key = _locate(data, path)
            del container[key]
            del data["provenance"][path]
    full = None  # the values left out too, as None: dumped only if a path needs it
    for path in setting:
        if (city_field := city_override(scenario, path)) is not None:
            city, field = city_field
            overrides = data.setdefault("city_overrides", {})
            overrides[city] = {field: None, **overrides.get(city, {})}
            continue
        try:
            _locate(data, path)
        except KeyError:
            full = scenario.model_dump(mode="json") if full is None else full
            container, key = _locate(full, path)
            if container[key] is None:
                parent = data
                for step in _keys(full, path)[:-1]:
                    parent = parent[step]
                parent[key] = None
    return data


def with_parameters(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Scenario data with the parameter at each path of ``values`` set, ``data`` left as it
    was: only the tables and lists along the paths are copied (``_with_value``), everything
    else is shared with ``data`` (validation reads data and never changes it). A deep copy of
    all of it was most of the cost of a changed scenario (a sensitivity point, an assumption
    draw)."""
    changed = dict(data)  # a table of its own even when nothing changes
    for path, value in values.items():
        changed = _with_value(changed, path, value)
    return changed


def _locate(data: Any, path: str) -> tuple[Any, Any]:
    """The container holding a dotted path's value, and its key there. Keys may themselves hold
    dots (a city called "St. Louis"), so each step takes the key the rest of the path starts
    with, longest first."""
    rest = path
    while True:
        key, tail = _first_key(data, rest, path)
        if not tail:
            return data, key
        data, rest = data[key], tail


def _keys(data: Any, path: str) -> list[Any]:
    """The keys a dotted path takes through ``data``, one per step (``_locate``'s)."""
    keys, rest = [], path
    while True:
        key, rest = _first_key(data, rest, path)
        keys.append(key)
        if not rest:
            return keys
        data = data[key]


def _first_key(data: Any, rest: str, path: str) -> tuple[Any, str]:
    """The key of a list or dict that the rest of a dotted path starts with, and what follows
    it."""
    if isinstance(data, list):
        head, _, tail = rest.partition(".")
        if head.isdigit() and int(head) < len(data):
            return int(head), tail
    elif isinstance(data, dict):
        keys = sorted((k for k in data if rest == k or rest.startswith(f"{k}.")), key=len)
        if keys:
            return keys[-1], rest[len(keys[-1]) + 1 :]
    raise KeyError(f"unknown parameter {path!r}")


def _with_value(node: Any, path: str, value: Any, rest: str | None = None) -> Any:
    """Scenario data that is ``node`` with the value at a dotted path replaced: only the
    sections along the path are copied (as plain data), the others stay validated models, so
    that validating it again costs little."""
    rest = path if rest is None else rest
    if isinstance(node, BaseModel):
        node = {name: getattr(node, name) for name in type(node).model_fields}
    node = list(node) if isinstance(node, list) else dict(node)
    key, tail = _first_key(node, rest, path)
    node[key] = _with_value(node[key], path, value, tail) if tail else value
    return node


def _table_problems(scenario: Scenario, check_ranges: bool) -> list[str]:
    """Problems of the provenance and ranges tables: entries that name no parameter, ranges
    that are not valid at both ends (checked only when nothing else is wrong: their ends
    would repeat the other problems)."""
    problems = []
    dumped = scenario.model_dump()
    known = set(_paths_in({k: v for k, v in dumped.items() if k not in _NOT_PARAMETERS}))
    for path in scenario.provenance:
        if path not in known:
            problems.append(
                f"provenance.{path}: not a parameter of this scenario{did_you_mean(path, known)}"
            )
    for path, span in scenario.ranges.items() if check_ranges else ():
        try:
            _check_range(scenario, dumped, known, path, span)
        except ValueError as error:
            problems.append(str(error))
    return problems


# Validation context of a scenario changed at one value: it has the same parameters, so its
# provenance and ranges tables need not be checked again.
_PATHS_CHECKED = "paths checked"


def _check_range(
    scenario: Scenario, dumped: dict[str, Any], known: set[str], path: str, span: Range
) -> None:
    """A declared range must be of a numeric parameter, ordered, and valid at both ends (as a
    whole scenario, so that cross-field checks hold there too)."""
    if path not in known:
        raise ValueError(
            f"ranges.{path}: not a parameter of this scenario{did_you_mean(path, known)}"
        )
    container, key = _locate(dumped, path)
    value = container[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"ranges.{path}: only numbers can have a range (the value is {value!r})")
    if not span.low < span.high:
        raise ValueError(f"ranges.{path}: low ({span.low}) must be below high ({span.high})")
    if span.prior == "log-uniform" and span.low <= 0:
        raise ValueError(f"ranges.{path}: a log-uniform prior needs low > 0, got {span.low:g}")
    whole = isinstance(value, int)
    if whole and not (span.low.is_integer() and span.high.is_integer()):
        raise ValueError(f"ranges.{path}: the parameter is a whole number, so must be its range")
    for end in (span.low, span.high):
        changed = int(end) if whole else end
        if path.startswith("docket."):  # the values derived from the docket are derived anew
            data = editable_data(scenario)  # a fresh dump, changed in place
            container, key = _locate(data, path)
            container[key] = changed
        else:
            data = _with_value(scenario, path, changed)
        try:
            Scenario.model_validate(data, context=_PATHS_CHECKED)
        except ValidationError as error:
            raise ValueError(
                f"ranges.{path}: {end:g} is not a valid value ({first_problem(error)})"
            ) from None


def compose_households(persons: int, classes: list[SizeClass]) -> list[int]:
    """Household counts per size class for a city's target persons (see _household_counts)."""
    return list(_household_counts(persons, tuple(classes)))


@functools.lru_cache(maxsize=4096)  # every validation composes every city (a few µs each)
def _household_counts(persons: int, classes: tuple[SizeClass, ...]) -> tuple[int, ...]:
    """Split a city's target persons into household counts per size class, summing exactly.

    The rule (docs/model.md, "Household composition"): with mean size m = sum(share * size),
    each class first gets floor(persons / m * share) households. The persons left over are then
    given, one household at a time, to the class with the largest unmet expected count among
    classes that still fit (ties: the earlier class). If fewer persons remain than the smallest
    household, one household is moved to a class that is exactly that many persons larger.
    """
    sizes = [c.size for c in classes]
    mean_size = sum(c.share * c.size for c in classes)
    expected = [persons / mean_size * c.share for c in classes]
    counts = [int(e) for e in expected]
    left = persons - sum(n * s for n, s in zip(counts, sizes, strict=True))
    while left > 0:
        fitting = [i for i, s in enumerate(sizes) if s <= left and classes[i].share > 0]
        if not fitting:
            break
        best = max(fitting, key=lambda i: (expected[i] - counts[i], -i))
        counts[best] += 1
        left -= sizes[best]
    if left > 0:
        for i, size in enumerate(sizes):
            if counts[i] > 0 and size + left in sizes:
                counts[i] -= 1
                counts[sizes.index(size + left)] += 1
                left = 0
                break
    if left > 0:
        raise ValueError(
            f"{persons} persons cannot be split into households of sizes {sizes} "
            "with the given shares"
        )
    return tuple(counts)


# -- loading ------------------------------------------------------------------------------------


class ScenarioError(ValueError):
    """A scenario could not be read or is invalid; the message names the field and the reason."""


def _name_key(name: str) -> str:
    """What makes two names the same place: Unicode-normalised (NFKC: a combining accent is
    the accented letter), case-folded and trimmed."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def _describe(error: dict[str, Any]) -> str:
    path = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if not path:  # a cross-field check: its message starts with the path it is about
        return message
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key{_suggest_key(error['loc'])}"
    if error["type"] == "missing":
        return f"{path}: required but missing"
    if error["type"] in _BOUNDS:
        message += _unit_of(path)
    if "input" in error and not isinstance(error["input"], dict | list | BaseModel):
        shown = repr(error["input"])
        shown = shown if len(shown) <= 80 else f"{shown[:60]}... ({len(shown):,} characters)"
        return f"{path}: {message} (got {shown})"
    return f"{path}: {message}"


def first_problem(error: ValidationError) -> str:
    """The first problem of a failed validation, as a scenario file's error names it (its
    field's path, relative to the model validated, and the reason), for a message about a
    value fieldcast itself tried."""
    return _describe(error.errors(include_url=False)[0]).split("\n")[0]


_BOUNDS = ("less_than_equal", "less_than", "greater_than_equal", "greater_than")


def _unit_of(path: str) -> str:
    """ " unit" of a parameter, to follow a bound in its error ("at most 3650 days"), or ""
    where the unit says nothing more (text, probabilities, ratios)."""
    try:
        unit = parameter_info(path)[0]
    except KeyError:
        return ""
    return "" if unit in ("", "text", "probability", "1") else f" {unit}"


def _suggest_key(loc: tuple[Any, ...]) -> str:
    """Walk the error's path down the scenario's models and suggest the closest field name."""
    model: Any = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is not None:  # list indices and city names in city_overrides keep the model
            model = _model_of(field.annotation)
        if model is None:
            return ""
    return did_you_mean(str(loc[-1]), model.model_fields)


def _model_of(annotation: Any) -> Any:
    """The BaseModel inside a field annotation such as list[City] or dict[str, CityParameters]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def validate_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Build a Scenario from plain data, turning pydantic's errors into one readable message.

    Parameters
    ----------
    data : Any
        The scenario as nested dicts and lists (as read from TOML, YAML or JSON).
    source : str
        Where it came from, named in errors.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        Listing every problem, one per line, each with its field's path and the reason.
    """
    if not isinstance(data, dict) or not data:
        raise ScenarioError(f"{source}: empty or not a table of parameters")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        # a cross-field check reports its problems one per line
        lines = [line for e in exc.errors(include_url=False) for line in _describe(e).split("\n")]
        plural = "s" if len(lines) > 1 else ""
        raise ScenarioError(
            f"{source}: invalid scenario ({len(lines)} problem{plural})\n  " + "\n  ".join(lines)
        ) from None


def changed_value_provenance(
    where: str, base_name: str, old: Any, kind: str | None, note: str | None, then: str = ""
) -> dict[str, str]:
    """The provenance of a value changed from a base scenario's ``old`` one (None: the base
    sets none there) without a note of its own: the base's note was about its value (a source
    quoted for 0.3 says nothing of 0.4), so the new value is an assumption, and its note says
    where it was set, what it replaced and ``then`` what follows."""
    was = f"{base_name} has {old}" if old is not None else f"not set in {base_name}"
    if note:
        was += f", {kind}: {note}"
    room = NOTE_LENGTH - len(f"set {where} ()") - len(then)
    if len(was) > room:  # the base's own note cut short, never the rest
        was = was[: room - 1] + "…"
    return {"kind": "assumption", "note": f"set {where} ({was}){then}"}


def scenario_with(scenario: Scenario, settings: list[str], source: str = "--set") -> Scenario:
    """The scenario with parameters changed by ``PATH=VALUE`` settings (numbers: whole ones
    for whole-number parameters), validated again, each changed value's provenance saying so
    (``changed_value_provenance``) and held at it (its range dropped). An error names the
    setting and why."""
    values: dict[str, Any] = {}
    notes: dict[str, dict[str, str]] = {}
    for setting in settings:
        path, equals, text = setting.partition("=")
        path = path.strip()
        if not equals:
            raise ScenarioError(f"{source} {setting!r}: write PATH=VALUE")
        try:
            current = parameter_value(scenario, path)
        except (KeyError, IndexError, TypeError):
            hint = did_you_mean(path, changeable_paths(scenario))
            message = f"{source} {path}: not a parameter of this scenario{hint}"
            raise ScenarioError(message) from None
        try:
            number = float(text)
        except ValueError:
            raise ScenarioError(f"{source} {path}: {text!r} is not a number") from None
        whole = takes_whole_numbers(path, current)
        if whole and not number.is_integer():
            raise ScenarioError(f"{source} {path}: a whole number, got {text!r}")
        values[path] = int(number) if whole else number
        provenance = scenario.provenance.get(path)
        held = "; held at it: its range is dropped" if path in scenario.ranges else ""
        if values[path] != current or held:  # (a derived value is refused by replace)
            kind, note = (provenance.kind, provenance.note) if provenance else (None, None)
            notes[path] = changed_value_provenance(
                f"with {source}", scenario.name, current, kind, note, held
            )
    changed = scenario.replace(values, source, notes)
    if not values:
        return changed
    # The value asked for is the value run: its range would otherwise draw it again where
    # assumptions are drawn (--uncertainty assumptions, calibration, tracking).
    ranges = {path: span for path, span in changed.ranges.items() if path not in values}
    # the title says it too: reports head with it, and a stored run keeps it
    settings_text = ", ".join(f"{path}={value}" for path, value in values.items())
    title = changed_title(scenario.title, f"with {source} {settings_text}")
    return changed.model_copy(update={"title": title, "ranges": ranges})


def changed_title(title: str, how: str) -> str:
    """A scenario's title with how it was changed in brackets, cut to ``TITLE_LENGTH``: a
    report heads with the title, and a changed scenario must not pass for the one it came
    from."""
    changed = f"{title} ({how})".strip()
    return changed if len(changed) <= TITLE_LENGTH else changed[: TITLE_LENGTH - 2] + "…)"


def parameter_info(path: str) -> tuple[str, str]:
    """The unit and one-line meaning of a parameter, from its dotted path."""
    field = _field(path)
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return str(extra.get("unit", "")), field.description or ""


def _field(path: str) -> Any:
    """The pydantic field of a parameter, from its dotted path."""
    model: Any = Scenario
    field = None
    for part in path.split("."):
        fields = getattr(model, "model_fields", {})
        if part not in fields:  # a list index or a city name in city_overrides
            continue
        field = fields[part]
        model = _model_of(field.annotation)
    if field is None:
        raise KeyError(f"unknown parameter {path!r}")
    return field


def takes_whole_numbers(path: str, current: Any) -> bool:
    """Whether a parameter takes whole numbers: as its value is one, or, for an optional value
    left out (None), as its field is declared (``monitors: int | None``)."""
    if current is not None:
        return isinstance(current, int) and not isinstance(current, bool)
    types = set(get_args(_field(path).annotation)) - {type(None)}
    return types == {int}
