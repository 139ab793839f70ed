"""A fuzzer for scenario files, as a hostile but fair user would write them (issue 13).

Hypothesis mutates the built-in scenario along every field (wrong types, NaN and infinities,
huge and negative numbers, empty, repeated and very long lists, unknown and missing keys, text
with control characters, console markup, HTML and look-alike Unicode) and writes it through
every loader (TOML, YAML, JSON, and a file that ``extends`` an unchanged base); some files are
then cut short or given stray bytes. Each file goes through ``fieldcast scenario validate``,
and an accepted one through ``forecast`` (a few replications), ``runs show`` and, for some,
``report --out``, as a user would run them. Every case ends as one of:

- refused: exit code 2 and a message naming the field (or, for a file that does not parse,
  the file and where);
- accepted: every command exits 0, and ``--json`` prints valid JSON;
- unnamed: exit code 2 without a field or file named;
- traceback: any other ending (an exception, another exit code);
- hang: a command ran past its time bound (``--seconds``).

Memory is bounded for the whole run (``--memory-gb``, the address-space limit): a case that
needs more ends as a traceback (``MemoryError``), not by exhausting the machine.

    .venv/bin/python tests/fuzz_scenarios.py --examples 20000 --out fuzz.json

runs the long fuzz (about a second a case); ``tests/test_fuzz.py`` runs a few hundred cases in
``make test``. The report (JSON) gives the counts and up to 20 examples of each failing kind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import resource
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomli_w
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from typer.testing import CliRunner

from fieldcast.catalog import DEFAULT_SCENARIO, load_scenario
from fieldcast.cli import app
from fieldcast.scenario import Scenario, editable_data

BASE = editable_data(load_scenario(DEFAULT_SCENARIO))
TOP_LEVEL_FIELDS = tuple(Scenario.model_fields)

# Values a hostile but fair user might put anywhere.
SPECIAL_NUMBERS = [0, -1, 1, 2**31, 2**63, 2**64, 10**20, 10**12, 10**9, 100_000, 3651]
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324, 1e20, 0.5, 1.5, -0.5]
SPECIAL_TEXT = [
    "",
    " ",
    "[/]Atlanta",
    "[link=file:///etc/passwd]Atlanta[/link]",
    "\x1b[2JAtlanta",
    "Atlanta\x00",
    "<script>alert(1)</script>",
    "Atla\u200bnta",
    "Atlante\u0301",
    "ATLANTA ",
    "A" * 5000,
    "/etc/passwd",
    "seed-2019",
]
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=120
) | st.sampled_from(SPECIAL_TEXT)
_SCALAR = (
    st.integers()
    | st.sampled_from(SPECIAL_NUMBERS)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(SPECIAL_FLOATS)
    | _TEXT
    | st.booleans()
    | st.none()
)
_ANY = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


def node_paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into the data (sections, lists, list items and values), for mutations."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from node_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from node_paths(value, (*prefix, index))


PATHS = [path for path in node_paths(BASE) if path]


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _near(value: Any) -> st.SearchStrategy[Any]:
    """Values of the same type near or far from a valid one: a typo of a few zeros, a sign."""
    if isinstance(value, bool):
        return st.sampled_from([not value, 0, 1, "yes"])
    if isinstance(value, int):
        factors = [0, -1, 2, 10, 1000, 10**6, 10**9, 10**15]
        return st.sampled_from([value * f for f in factors] + [value + 1, value - 1, -value - 1])
    if isinstance(value, float):
        factors = [0.0, -1.0, 1.01, 1.5, 2.0, 10.0, 1e6, 1e12, 1e300]
        return st.sampled_from([value * f for f in factors] + [value + 1.0, 1.0 - value])
    if isinstance(value, str):
        return st.sampled_from([value.upper(), f" {value} ", value + "\u200b", value * 50])
    return _ANY


class Mutant:
    """Mutated scenario data, shown (by Hypothesis too) as the mutations' description: its
    data may nest hundreds of levels deep, too deep to print."""

    def __init__(self, data: dict[str, Any], description: str) -> None:
        self.data, self.description = data, description

    def __repr__(self) -> str:
        return self.description


@st.composite
def mutated(draw: st.DrawFn) -> Mutant:
    """Scenario data with one to three mutations, and a description of them."""
    data = json.loads(json.dumps(BASE))  # a fresh deep copy
    done: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        try:
            parent, key = _get(data, path[:-1]), path[-1]
            current = parent[key]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced it
        kind = draw(
            st.sampled_from(["near", "near", "any", "delete", "unknown key", "list", "deep"])
        )
        name = ".".join(str(part) for part in path)
        if kind == "near":
            parent[key] = draw(_near(current))
        elif kind == "any":
            parent[key] = draw(_ANY)
        elif kind == "delete":
            del parent[key]
        elif kind == "unknown key" and isinstance(current, dict):
            current[draw(_TEXT)] = draw(_SCALAR)
        elif kind == "list" and isinstance(current, list):
            how = draw(st.sampled_from(["empty", "repeat", "many", "near duplicate"]))
            if how == "empty":
                current.clear()
            elif how == "repeat" and current:
                current.append(json.loads(json.dumps(draw(st.sampled_from(current)))))
            elif how == "many" and current:
                copies = draw(st.sampled_from([100, 2_000, 20_000]))
                item = current[0]
                current.extend(json.loads(json.dumps(item)) for _ in range(copies))
                if isinstance(item, dict) and "name" in item:  # distinct names, as a user would
                    for index, extra in enumerate(current[-copies:]):
                        extra["name"] = f"City {index}"
            elif how == "near duplicate" and current and isinstance(current[0], dict):
                twin = json.loads(json.dumps(current[0]))
                if isinstance(twin.get("name"), str):
                    twin["name"] = draw(_near(twin["name"]))
                current.append(twin)
            name += f" ({how})"
        elif kind == "deep":
            nest: Any = 1
            for _ in range(draw(st.sampled_from([5, 30, 600]))):
                nest = [nest] if draw(st.booleans()) else {"a": nest}
            parent[key] = nest
        else:
            continue
        done.append(f"{kind} {name}")
    return Mutant(data, "; ".join(done) or "none")


def _serialized(data: dict[str, Any], suffix: str) -> str:
    if suffix == ".toml":
        return tomli_w.dumps(data)  # TypeError for None and mixed lists: JSON takes those
    if suffix == ".yaml":
        return yaml.safe_dump(data, allow_unicode=True)
    return json.dumps(data, ensure_ascii=False)


def write_case(
    folder: Path, data: dict[str, Any], loader: str, damage: tuple[str, float, bytes] | None
) -> Path:
    """The mutated data as a file through one loader (``extends``: a TOML file that extends
    the unchanged base, giving the mutated sections), perhaps damaged afterwards."""
    if loader == "extends":
        (folder / "base.toml").write_text(tomli_w.dumps(BASE))
        changed = {k: v for k, v in data.items() if v != BASE.get(k)}
        data, suffix = {"extends": "base.toml", **changed}, ".toml"
    else:
        suffix = loader
    try:
        text = _serialized(data, suffix)
    except (TypeError, ValueError, RecursionError):  # what TOML or YAML cannot hold
        text, suffix = _serialized(data, ".json"), ".json"
    raw = text.encode()
    if damage is not None:
        how, where, stray = damage
        at = int(len(raw) * where)
        raw = raw[:at] if how == "cut" else raw[:at] + stray + raw[at:]
    path = folder / f"scenario{suffix}"
    path.write_bytes(raw)
    return path


class Hang(Exception):
    """A command ran past the time bound."""


@contextlib.contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise Hang in the running code after ``seconds`` (SIGALRM: Python code is interrupted
    between bytecodes, compiled loops when they return)."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_NAMES_A_FIELD = re.compile(
    r"\b(" + "|".join(TOP_LEVEL_FIELDS) + r"|extends)\b[\w .'\-]*:", re.IGNORECASE
)


def names_the_problem(message: str, path: Path) -> bool:
    """Whether a refusal names a field (a dotted path followed by its reason), or, for a file
    that is not a scenario at all, the file."""
    return bool(_NAMES_A_FIELD.search(message)) or message.strip().startswith(
        ("error: " + str(path), str(path))
    )


class Outcome(Exception):
    """How a case ended (raised out of the Hypothesis test so it is counted, not shrunk)."""


def run_case(runner: CliRunner, folder: Path, path: Path, seconds: float, html: bool) -> str:
    """Run the commands a user would on the file; the outcome and the output that shows it."""
    store = str(folder / "runs.duckdb")
    commands = [["scenario", "validate", str(path)]]
    accepted = [
        ["forecast", str(path), "-n", "8", "--processes", "1", "--store", store, "--json"],
        ["runs", "show", "latest", "--store", store],
    ]
    if html:
        accepted.append(["report", "latest", "--out", str(folder / "r.html"), "--store", store])
    for index, arguments in enumerate(commands + accepted):
        started = time.perf_counter()
        try:
            with time_bound(seconds):
                result = runner.invoke(app, arguments)
        except Hang:
            raise Outcome("hang", arguments[0], seconds) from None
        if isinstance(result.exception, Hang):
            raise Outcome("hang", arguments[0], time.perf_counter() - started)
        if isinstance(result.exception, SystemExit) or result.exception is None:
            code = result.exit_code
        else:
            error = result.exception
            raise Outcome("traceback", arguments[0], f"{type(error).__name__}: {error}"[:300])
        if code == 2:
            message = result.stderr or result.stdout
            kind = "refused" if names_the_problem(message, path) else "unnamed"
            if index > 0:  # valid, then refused when run (a clear message is fine)
                kind = "refused at run" if kind == "refused" else "unnamed"
            raise Outcome(kind, arguments[0], message.strip()[:300])
        if code != 0:
            raise Outcome("traceback", arguments[0], f"exit code {code}: {result.output[:300]}")
        if "--json" in arguments:
            try:
                json.loads(result.stdout, parse_constant=_not_json)
            except ValueError as error:
                raise Outcome("traceback", arguments[0], f"invalid JSON: {error}") from None
    return "accepted"


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def fuzz(examples: int, seed: int, seconds: float, out: Path | None = None) -> dict[str, Any]:
    """Run ``examples`` cases; the counts of each outcome and examples of the failing ones
    (written to ``out`` every 500 cases too, so that a long run can be read as it goes)."""
    counts: Counter[str] = Counter()
    failures: dict[str, list[dict[str, Any]]] = {}
    runner = CliRunner()
    started = time.perf_counter()

    def report() -> dict[str, Any]:
        return {
            "cases": sum(counts.values()),
            "seed": seed,
            "seconds_per_command": seconds,
            "outcomes": dict(counts),
            "failures": failures,
            "wall_seconds": round(time.perf_counter() - started, 1),
        }

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # every case is counted; nothing to shrink
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=mutated(),
        loader=st.sampled_from([".toml", ".yaml", ".json", "extends"]),
        damage=st.none()
        | st.none()
        | st.none()
        | st.tuples(
            st.sampled_from(["cut", "insert"]),
            st.floats(0.0, 1.0),
            st.binary(min_size=1, max_size=8) | st.sampled_from([b"\xff\xfe", b"[[", b"\x00"]),
        ),
        html=st.integers(0, 7).map(lambda draw: draw == 0),
    )
    def one_case(
        case: Mutant,
        loader: str,
        damage: tuple[str, float, bytes] | None,
        html: bool,
    ) -> None:
        data, description = case.data, case.description
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            path = write_case(folder, data, loader, damage)
            try:
                kind, command, detail = "accepted", "", ""
                run_case(runner, folder, path, seconds, html)
            except Outcome as outcome:
                kind, command, detail = outcome.args
        counts[kind] += 1
        if out is not None and sum(counts.values()) % 500 == 0:
            _write(out, report())
        if kind in ("traceback", "hang", "unnamed"):
            found = failures.setdefault(kind, [])
            if len(found) < 20:
                found.append(
                    {
                        "mutation": description,
                        "loader": loader,
                        "damage": repr(damage),
                        "command": command,
                        "detail": str(detail),
                    }
                )

    one_case()
    return report()


def _write(out: Path, report: dict[str, Any]) -> None:
    """The report, replaced whole (a reader never sees half of it)."""
    partial = out.with_name(f"{out.name}.partial")
    partial.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    partial.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--seconds", type=float, default=60.0, help="time bound per command")
    parser.add_argument("--memory-gb", type=float, default=6.0, help="address-space limit")
    parser.add_argument("--out", type=Path, help="JSON report (default: print it)")
    arguments = parser.parse_args()
    limit = int(arguments.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    report = fuzz(arguments.examples, arguments.seed, arguments.seconds, arguments.out)
    if arguments.out is None:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _write(arguments.out, report)


if __name__ == "__main__":
    main()
