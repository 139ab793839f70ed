"""Observed counts of an operation: read, checked against a scenario, and put in one form.

An observation file (CSV or JSON) holds rows ``day, place, metric, value, basis``:

* ``day``: the day number (day 0 is the first field day), from 0 to the last simulated day;
* ``place``: a city of the scenario, or ``Total`` for the whole operation;
* ``metric``: one of ``OBSERVABLE`` (persons);
* ``value``: a whole number of persons, never negative (in a CSV file, grouped by thousands
  as the file's convention writes it: ``_plain_number``);
* ``basis``: ``cumulative`` (persons from the start of the operation to the end of that day)
  or ``daily`` (persons on that day alone). A JSON file may give it once for all rows.

Counts only: an observation is a number of persons per place and day, never a person.

Every observation becomes an **interval count** (``ObservedCount``): the persons counted over
days ``first_day`` to ``last_day``. A daily value is its own day; a cumulative series gives
its first value over the days up to it, then the difference between consecutive values. This
is what the observation model compares with a simulated run, so cumulative and daily files
mean the same thing, and no count is used twice.

The set's identity is the SHA-256 of its canonical rows (sorted, basis spelled out): adding
the same counts again, from a CSV or a JSON file, in any row order, is recognised as such.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fieldcast.compiled import compile_scenario
from fieldcast.metrics import metric_index
from fieldcast.scenario import Scenario

TOTAL = "Total"
BASES = ("cumulative", "daily")
# What a file may report, all in persons: name -> meaning
OBSERVABLE = {
    "arrests": "target persons arrested (first arrests, not re-arrests)",
    "collateral_arrests": "non-target persons arrested",
    "detentions": "persons placed in family detention",
    "notices": "persons released with a notice to depart",
    "removals": "persons removed",
}
MAX_FILE_BYTES = 10 * 1024 * 1024  # an observation file is counts: 10 MB is far beyond any
MAX_ROWS = 100_000
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ObservationError(ValueError):
    """An observation file that cannot be used; the message names the row and the reason."""


@dataclass(frozen=True)
class ObservedRow:
    day: int
    place: str
    metric: str
    value: int
    basis: Literal["cumulative", "daily"]


@dataclass(frozen=True)
class ObservedCount:
    """Persons of ``metric`` counted in ``place`` over days first_day .. last_day."""

    place: str
    metric: str
    first_day: int
    last_day: int
    persons: int


@dataclass(frozen=True)
class ObservationSet:
    """Checked, canonical observations (rows sorted by place, metric, day)."""

    rows: tuple[ObservedRow, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        return json.dumps(
            [[r.day, r.place, r.metric, r.value, r.basis] for r in self.rows],
            separators=(",", ":"),
        )

    @property
    def last_day(self) -> int:
        return max(row.day for row in self.rows)

    @property
    def days(self) -> tuple[int, int]:
        return min(row.day for row in self.rows), self.last_day

    def series(self) -> dict[tuple[str, str], list[ObservedRow]]:
        """The rows of each (place, metric), by day."""
        grouped: dict[tuple[str, str], list[ObservedRow]] = {}
        for row in self.rows:
            grouped.setdefault((row.place, row.metric), []).append(row)
        return grouped

    def counts(self, start_day: int = 0, up_to_day: int | None = None) -> list[ObservedCount]:
        """The interval counts (module docstring) of the rows up to ``up_to_day``; a
        cumulative series starts counting at ``start_day`` (the operation's first day)."""
        counts = []
        for (place, metric), rows in self.series().items():
            previous_day, previous_value = start_day - 1, 0
            for row in rows:
                if up_to_day is not None and row.day > up_to_day:
                    break
                if row.basis == "daily":
                    counts.append(ObservedCount(place, metric, row.day, row.day, row.value))
                    continue
                counts.append(
                    ObservedCount(
                        place, metric, previous_day + 1, row.day, row.value - previous_value
                    )
                )
                previous_day, previous_value = row.day, row.value
        return counts


def read_observations(path: str | Path, scenario: Scenario) -> ObservationSet:
    """Read and check an observation file (CSV or JSON) against a scenario.

    Parameters
    ----------
    path : str or Path
        A CSV or JSON file of rows ``day, place, metric, value, basis``.
    scenario : Scenario
        The scenario the counts are of: places and days are checked against it.

    Returns
    -------
    ObservationSet
        The checked counts.

    Raises
    ------
    ObservationError
        If the file cannot be read or a row is wrong (naming the row, the field and the
        reason).
    """
    path = Path(path)
    if not path.is_file():
        raise ObservationError(f"{path}: not a file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ObservationError(
            f"{path}: {path.stat().st_size:,} bytes; an observation file may hold at most "
            f"{MAX_FILE_BYTES:,}"
        )
    return parse_observations(path.read_bytes(), path.suffix, scenario, str(path))


def parse_observations(
    content: bytes, suffix: str, scenario: Scenario, source: str
) -> ObservationSet:
    """Read and check the content of an observation file (as uploaded to the dashboard).

    Parameters
    ----------
    content : bytes
        The file's bytes (UTF-8, with or without a byte-order mark).
    suffix : str
        Its type: ``.csv`` or ``.json``.
    scenario : Scenario
        The scenario the counts are of.
    source : str
        What to call the file in messages.

    Returns
    -------
    ObservationSet
        The checked counts.

    Raises
    ------
    ObservationError
        If the content is too big, not UTF-8, of an unknown type, or a row is wrong.
    """
    if len(content) > MAX_FILE_BYTES:
        raise ObservationError(
            f"{source}: {len(content):,} bytes; an observation file may hold at most "
            f"{MAX_FILE_BYTES:,}"
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ObservationError(f"{source}: not UTF-8 text ({error.reason})") from None
    suffix = suffix.lower()
    if suffix == ".csv":
        raw = _csv_rows(text, source)
    elif suffix == ".json":
        raw = _json_rows(text, source)
    else:
        raise ObservationError(f"{source}: unknown file type {suffix!r} (use .csv or .json)")
    return check_observations(raw, scenario, source)


# Digits grouped by threes, as a spreadsheet formats large numbers: with spaces (or their
# non-breaking kinds) or apostrophes in any file; with the thousands mark of the file's
# convention, a comma where commas or tabs separate the columns, a full stop where semicolons
# do (the decimal mark is then a comma).
_GROUPED_BY_SPACES = re.compile(r"\d{1,3}(?:[ \u00a0\u202f']\d{3})+")
_GROUPED = {",": re.compile(r"\d{1,3}(?:,\d{3})+"), ".": re.compile(r"\d{1,3}(?:\.\d{3})+")}


def _plain_number(cell: str | None, delimiter: str) -> str | None:
    """A number cell as Python reads numbers: digit groups joined and, in a file of
    semicolons, a whole number with a decimal comma without it ("1.234" is then 1234, "5,0"
    is 5), so that no value is read in another convention than its file's. Anything else is
    left as written, for the check to refuse in its own words."""
    if cell is None:
        return None
    text = cell.strip()
    thousands = "." if delimiter == ";" else ","
    if _GROUPED_BY_SPACES.fullmatch(text) or _GROUPED[thousands].fullmatch(text):
        return re.sub(r"\D", "", text)
    whole = re.fullmatch(r"(\d+),0+", text)
    return whole.group(1) if whole and delimiter == ";" else text


def _csv_rows(text: str, source: str) -> list[dict[str, Any]]:
    """The rows of a CSV file as a spreadsheet writes one: columns separated by commas,
    semicolons (where the decimal mark is a comma) or tabs, headers in any case, numbers
    grouped in thousands as the file's convention writes them (``_plain_number``)."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text.partition("\n")[0], delimiters=",;\t"
        )
    except csv.Error:  # one column only: the header check below says what is missing
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if reader.fieldnames:
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    required = {"day", "place", "metric", "value", "basis"}
    missing = required - set(reader.fieldnames or [])
    if missing:
        raise ObservationError(
            f"{source}: the header must name the columns day, place, metric, value, basis; "
            f"missing: {', '.join(sorted(missing))}"
        )
    extra = set(reader.fieldnames or []) - required
    if extra:
        raise ObservationError(f"{source}: unknown columns: {', '.join(sorted(extra))}")
    delimiter = dialect.delimiter
    return [
        {
            **row,
            "day": _plain_number(row["day"], delimiter),
            "value": _plain_number(row["value"], delimiter),
        }
        for row in reader
    ]


def _json_rows(text: str, source: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ObservationError(f"{source}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ObservationError(
            f'{source}: expected an object {{"basis": ..., "rows": [{{"day": ..., "place": '
            '..., "metric": ..., "value": ...}, ...]}'
        )
    unknown = set(data) - {"basis", "rows"}
    if unknown:
        raise ObservationError(f"{source}: unknown keys: {', '.join(sorted(unknown))}")
    rows = []
    for index, row in enumerate(data["rows"]):
        if not isinstance(row, dict):
            raise ObservationError(f"{source}: rows.{index}: expected an object")
        rows.append({"basis": data.get("basis"), **row})
    return rows


def check_observations(
    raw: list[dict[str, Any]], scenario: Scenario, source: str = "observations"
) -> ObservationSet:
    """Check raw rows against the scenario and put them in canonical form."""
    if not raw:
        raise ObservationError(f"{source}: no rows")
    if len(raw) > MAX_ROWS:
        raise ObservationError(f"{source}: {len(raw):,} rows; at most {MAX_ROWS:,} are read")
    cities = [city.name for city in scenario.cities]
    # a place as a spreadsheet user may type it ("chicago", "TOTAL"): the scenario's spelling,
    # where only one name matches without regard to case
    folded: dict[str, list[str]] = {}
    for name in (*cities, TOTAL):
        folded.setdefault(name.casefold(), []).append(name)
    last_day = scenario.operation.horizon_days - 1
    rows = []
    for index, entry in enumerate(raw):
        where = f"{source}: row {index + 1}"
        unknown = set(entry) - {"day", "place", "metric", "value", "basis"}
        if unknown:
            raise ObservationError(f"{where}: unknown fields: {', '.join(sorted(unknown))}")
        day = _whole(entry.get("day"), f"{where}: day")
        place = str(entry.get("place", "")).strip()
        if place not in cities and place != TOTAL and len(folded.get(place.casefold(), [])) == 1:
            place = folded[place.casefold()][0]
        metric = str(entry.get("metric", "")).strip().lower()
        value = _whole(entry.get("value"), f"{where}: value")
        basis = str(entry.get("basis") or "").strip().lower()
        if place != TOTAL and place not in cities:
            raise ObservationError(
                f"{where}: place {place!r} is not a city of scenario {scenario.name!r} nor "
                f"{TOTAL!r} (cities: {', '.join(cities)})"
            )
        if metric not in OBSERVABLE:
            raise ObservationError(
                f"{where}: metric {metric!r} is not observable; use one of {', '.join(OBSERVABLE)}"
            )
        if basis not in BASES:
            raise ObservationError(f"{where}: basis must be cumulative or daily, got {basis!r}")
        if not 0 <= day <= last_day:
            raise ObservationError(
                f"{where}: day {day} is outside the operation (day 0 to {last_day}, the "
                "horizon of the scenario)"
            )
        if value < 0:
            raise ObservationError(f"{where}: value {value} is negative")
        rows.append(ObservedRow(day, place, metric, value, basis))  # type: ignore[arg-type]
    rows.sort(key=lambda r: (r.place, r.metric, r.day))
    observed = ObservationSet(tuple(rows))
    _check_series(observed, scenario, source)
    return observed


def _whole(value: Any, where: str) -> int:
    """A whole number from a CSV cell or JSON value (``12`` or ``12.0``, not ``12.5``)."""
    if isinstance(value, bool):
        raise ObservationError(f"{where}: expected a whole number, got {value!r}")
    try:
        number = float(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ObservationError(f"{where}: expected a whole number, got {value!r}") from None
    if isinstance(number, float) and (not math.isfinite(number) or not number.is_integer()):
        raise ObservationError(f"{where}: expected a whole number, got {value!r}")
    if abs(number) > 10**12:
        raise ObservationError(f"{where}: {value!r} is not a plausible count")
    return int(number)


def _check_series(observed: ObservationSet, scenario: Scenario, source: str) -> None:
    """Rules across rows: one value per day, one basis per series, cumulative values that
    never fall, a metric either per city or in total, no arrests where nobody works, and no
    more target persons arrested than a place has."""
    compiled = compile_scenario(scenario)
    field = slice(-compiled.start_day, -compiled.start_day + max(compiled.field_days, 0))
    stood_down = {
        name
        for name, capacity in zip(
            [city.name for city in scenario.cities], compiled.capacity[field].T, strict=True
        )
        if capacity.sum() == 0
    }
    targets = {city.name: city.target_persons for city in scenario.cities}
    targets[TOTAL] = sum(targets.values())
    by_metric_day: dict[tuple[str, int], set[str]] = {}
    for (place, metric), rows in observed.series().items():
        name = f"{source}: {place} {metric}"
        days = [row.day for row in rows]
        if len(set(days)) != len(days):
            repeated = sorted({day for day in days if days.count(day) > 1})
            raise ObservationError(f"{name}: more than one value for day {repeated[0]}")
        if len({row.basis for row in rows}) > 1:
            raise ObservationError(f"{name}: a series is either cumulative or daily, not both")
        values = [row.value for row in rows]
        if rows[0].basis == "cumulative":
            for before, after in pairwise(rows):
                if after.value < before.value:
                    raise ObservationError(
                        f"{name}: a cumulative series cannot decrease ({before.value} on day "
                        f"{before.day}, {after.value} on day {after.day})"
                    )
            total = values[-1]
        else:
            total = sum(values)
        if metric == "arrests" and place in stood_down and total > 0:
            raise ObservationError(
                f"{name}: {total} arrests reported, but the scenario gives {place} no field "
                "capacity (it stood down); fix the scenario or the observations"
            )
        if metric == "arrests" and total > targets[place]:
            raise ObservationError(
                f"{name}: {total} target persons arrested, more than the {targets[place]:,} "
                "target persons the scenario gives it"
            )
        for day in days:
            by_metric_day.setdefault((metric, day), set()).add(place)
    for (metric, day), places in sorted(by_metric_day.items()):
        if TOTAL in places and len(places) > 1:
            raise ObservationError(
                f"{source}: {metric} on day {day} is given both per city and as the {TOTAL}; "
                "give one or the other (the total is the sum of the cities)"
            )


def check_name(name: str) -> str:
    """An observation set's name: letters, digits, '.', '_' and '-', at most 64 characters."""
    if not NAME_PATTERN.match(name):
        raise ObservationError(
            f"name {name!r}: use letters, digits, '.', '_' and '-' (at most 64 characters, "
            "starting with a letter or digit)"
        )
    return name


def simulated_persons(
    counts: np.ndarray, collateral: np.ndarray, sizes: np.ndarray
) -> dict[str, np.ndarray]:
    """Each observable metric in persons per lane and city, from a batch's state at the end
    of a day: ``counts`` [lane, metric, class, city] households (flows cumulative),
    ``collateral`` [lane, city] persons. Returns metric -> [lane, city]."""
    persons = {
        name: np.einsum("lkc,k->lc", counts[:, metric_index(name)], sizes)
        for name in ("arrests", "detentions", "notices", "removals")
    }
    persons["collateral_arrests"] = collateral.astype(np.int64)
    return persons
