"""Finding and reading scenarios: the built-in ones shipped with fieldcast, and files.

A scenario file may start from another scenario with ``extends = "NAME-or-PATH"`` and give
only what differs: tables are merged key by key (so a variant can override one city's
parameter), while lists (cities, household classes, leak events) are replaced whole, and with
them the base's provenance notes and ranges about their items; a list of cities takes the
base's own values for the cities it leaves out along too. A value the file changes
without a provenance note of its own is the file's assumption (the base's note was about the
base's value), its note saying what it replaced.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from fieldcast.scenario import (
    Scenario,
    ScenarioError,
    changed_title,
    changed_value_provenance,
    editable_data,
    validate_scenario,
)

DEFAULT_SCENARIO = "seed-2019"
_SUFFIXES = (".toml", ".yaml", ".yml", ".json")


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with fieldcast, default first.

    Returns
    -------
    list of str
    """
    files = resources.files("fieldcast") / "scenarios"
    names = sorted(
        f.name.removesuffix(".toml") for f in files.iterdir() if f.name.endswith(".toml")
    )
    return sorted(names, key=lambda name: name != DEFAULT_SCENARIO)


def load_scenario(reference: str | Path = DEFAULT_SCENARIO) -> Scenario:
    """A built-in scenario by name, or a scenario file by path (.toml, .yaml, .yml, .json).

    A file may extend another (``extends = "seed-2019"`` or a path) and give only what differs.

    Parameters
    ----------
    reference : str or Path
        A built-in name (``builtin_names()``) or a file's path.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        If the file cannot be read or the scenario is invalid (naming the file, the field and
        the reason).
    """
    data, source = _resolved_data(str(reference), seen=())
    return validate_scenario(data, source=source)


def _resolved_data(reference: str, seen: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    if reference in seen:
        raise ScenarioError(f"{reference}: 'extends' loops back to itself ({' -> '.join(seen)})")
    if reference in builtin_names():
        text = (resources.files("fieldcast") / "scenarios" / f"{reference}.toml").read_text()
        data, source = _parse(text, ".toml", reference), reference
    else:
        path = Path(reference)
        if not path.exists():
            raise ScenarioError(
                f"{reference}: no such file and no built-in scenario of that name "
                f"(built-in: {', '.join(builtin_names())})"
            )
        data, source = _read_file(path), str(path)
    base = data.pop("extends", None)
    if base is None:
        return data, source
    if not isinstance(base, str):
        raise ScenarioError(f"{source}: extends: must be a scenario name or a path")
    given = base
    if base not in builtin_names() and reference not in builtin_names():
        base = str(Path(source).parent / base)  # a path relative to the extending file
    if base not in builtin_names() and not Path(base).exists():
        raise ScenarioError(
            f"{source}: extends: {given!r} is neither a file (next to this one) nor a "
            f"built-in scenario (built-in: {', '.join(builtin_names())})"
        )
    base_data, _ = _resolved_data(base, (*seen, reference))
    replaced = list(_list_paths(data))
    replaced += _overrides_of_cities_gone(base_data, data)
    for table in ("provenance", "ranges"):  # the base's notes on lists this file replaces go
        notes = base_data.get(table)
        if isinstance(notes, dict):
            base_data[table] = {
                path: note
                for path, note in notes.items()
                if not any(
                    isinstance(path, str) and (path == r or path.startswith(f"{r}."))
                    for r in replaced
                )
            }
    merged = _merge(base_data, data)
    changed = _changed_provenance(base_data, data, given, Path(source).name)
    if changed and isinstance(merged.get("provenance", {}), dict):  # else refused as it is
        merged["provenance"] = {**merged.get("provenance", {}), **changed}
    own = data.get("provenance")
    own = own if isinstance(own, dict) else {}
    notes: dict[str, Any] = {}
    file_name = Path(source).name
    title = base_data.get("title")
    if "title" not in data and isinstance(title, str) and set(data) - _NOT_CHANGES:
        # the base's title would pass this scenario off as the base in every report
        merged["title"] = changed_title(title, f"changed in {file_name}")
        notes["title"] = f"{given}'s title, marked as changed in {file_name}"
    if data.get("name", base_data.get("name")) != base_data.get("name"):
        notes["name"] = f"identifier chosen in {file_name}"
    notes = {path: note for path, note in notes.items() if path not in own}
    if notes and isinstance(merged.get("provenance", {}), dict):
        merged["provenance"] = {
            **merged.get("provenance", {}),
            **{path: {"kind": "assumption", "note": note} for path, note in notes.items()},
        }
    return merged, source


# What an extending file may give without changing the operation it extends
_NOT_CHANGES = {"name", "title", "provenance"}


def _overrides_of_cities_gone(base: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """The paths of the base's own values for cities that a file's list of cities leaves out,
    dropped from the base (TOML cannot say "no override": a variant with fewer cities could
    not be written otherwise), to go with their notes as a replaced list's do."""
    cities, overrides = data.get("cities"), base.get("city_overrides")
    if not isinstance(cities, list) or not isinstance(overrides, dict):
        return []
    names = [city.get("name") for city in cities if isinstance(city, dict)]
    kept = {name for name in names if isinstance(name, str)}  # others are refused by name
    gone = [name for name in overrides if name not in kept]
    base["city_overrides"] = {name: value for name, value in overrides.items() if name in kept}
    return [f"city_overrides.{name}" for name in gone]


def _changed_provenance(
    base: dict[str, Any], data: dict[str, Any], base_name: str, file_name: str
) -> dict[str, dict[str, str]]:
    """Provenance for the values this file changes without a note of its own
    (``changed_value_provenance``)."""
    own = data.get("provenance")
    own = own if isinstance(own, dict) else {}
    notes = base.get("provenance")
    notes = notes if isinstance(notes, dict) else {}
    changed = {}
    for keys, value in _values(data):
        path = ".".join(map(str, keys))  # a YAML key may be a number: refused by validation
        old, note = _value_at(base, keys), notes.get(path)
        note = note if isinstance(note, dict) else {}
        if path in own or old == value or note.get("kind") == "derived":
            continue
        where = f"in {file_name}"
        changed[path] = changed_value_provenance(
            where, base_name, old, note.get("kind"), note.get("note")
        )
    return changed


def _values(
    data: dict[str, Any], keys: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """The keys leading to each single value in scenario data, and the value: not those in
    lists, which replace the base's whole, nor the tables about the parameters."""
    for key, value in data.items():
        if not keys and key in ("name", "title", "provenance", "ranges"):
            continue
        if isinstance(value, dict):
            yield from _values(value, (*keys, key))
        elif not isinstance(value, list):
            yield (*keys, key), value


def _value_at(data: Any, keys: tuple[str, ...]) -> Any:
    """The value the keys lead to in other data; None where they lead nowhere."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _list_paths(data: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of the lists in scenario data (they replace the base's lists whole)."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, list):
            yield path
        elif isinstance(value, dict) and key not in ("provenance", "ranges"):
            yield from _list_paths(value, f"{path}.")


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# A scenario holds counts and notes: a megabyte is far beyond any real one (national, with
# its 24 cities, is about 20 kB). Checked before reading, so /dev/zero or a 5 GB file is
# refused at once.
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 20  # tables within tables; a scenario needs about five


def _read_file(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if path.is_dir():
        raise ScenarioError(f"{path}: a folder, not a scenario file")
    if not path.is_file():  # a device, a FIFO, a socket: reading could block or never end
        raise ScenarioError(f"{path}: not a regular file (a device or a pipe?)")
    if suffix not in _SUFFIXES:
        what = f"unknown file type {suffix!r}" if suffix else "no file type (extension)"
        raise ScenarioError(f"{path}: {what}; a scenario file ends in .toml, .yaml or .json")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{path}: {size:,} bytes; a scenario file is at most {MAX_FILE_BYTES:,} bytes"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise ScenarioError(f"{path}: not a text file (expected TOML, YAML or JSON)")
    if suffix != ".json" and text and not text.endswith("\n"):
        # A file cut short in its last line can still parse: "beds = 3654" cut to "beds = 36"
        # is valid TOML and YAML, and wrong. (JSON cut short never parses.)
        raise ScenarioError(
            f"{path}: the file does not end with a line break: was it cut short? If it is "
            "complete, end it with a line break"
        )
    return _parse(text, suffix, str(path))


def _load_yaml(text: str) -> Any:
    """YAML without anchors and aliases: a few lines of them can stand for billions of values
    (a "YAML bomb"), and a scenario has no use for them. PyYAML is imported here, when a YAML
    file is read: importing it costs every command a fiftieth of a second."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "anchors and aliases are not allowed in a scenario",
                    event.start_mark,
                )
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=NoAliasLoader)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def _depth(value: Any) -> int:
    """How deep tables and lists nest (iteratively: a deep file must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _parse(text: str, suffix: str, source: str) -> dict[str, Any]:
    kind = {".yml": "YAML", ".yaml": "YAML"}.get(suffix, suffix[1:].upper())
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = _load_yaml(text)
        else:
            data = json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        # ValueError: also a number of thousands of digits (Python's int conversion limit)
        first_line = str(exc).strip().splitlines()[0]
        raise ScenarioError(f"{source}: not valid {kind}: {first_line}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: nested too deeply (at most {MAX_DEPTH} levels)") from None
    if not isinstance(data, dict) or not data:
        raise ScenarioError(f"{source}: empty, or not a table of parameters")
    if _depth(data) > MAX_DEPTH:
        raise ScenarioError(f"{source}: nested too deeply (at most {MAX_DEPTH} levels)")
    return data


def scenario_to_toml(scenario: Scenario) -> str:
    """The scenario as a complete TOML file (what ``fieldcast scenario export`` prints)."""
    data = editable_data(scenario)
    header = (
        f"# fieldcast scenario {scenario.name!r}, exported in full"
        + (" (values derived from the docket follow from it)" if scenario.docket else "")
        + ".\n# Edit values and their [provenance] notes, then run:\n"
        "#   fieldcast scenario validate FILE && fieldcast forecast FILE\n\n"
    )
    return header + tomli_w.dumps(data)
