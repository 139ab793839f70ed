"""Deliberately wrong variants of fieldcast ("mutants"), for ``test_mutants.py``.

Each breaks one rule of the model by text replacements in one module's source, which must each
match exactly once (so that a change to the engine cannot turn a mutant silently into the real
thing). A mutant of the engine is a copy of the whole ``fieldcast.engine`` package, with the
one module changed, imported as a package of its own beside the real one (its modules import
each other, so one changed module alone would not be used); a mutant of another module is a
copy of that module.

An engine mutant takes numba about 40 seconds to compile. ``conftest.py`` therefore writes
the mutants when a session collects ``test_mutants.py``, and ``ahead.py`` compiles them in a
background process while other tests run; numba caches the compiled code by file, so the
tests then load it in a second.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import fieldcast.engine

ENGINE = "fieldcast.engine"


class Mutant(NamedTuple):
    """A rule broken in one module: ``(old, new)`` text replacements, and the scenario of the
    equivalence suite in which the rule is at work."""

    module: str  # the module changed: a module of the engine, or another fieldcast module
    replacements: tuple[tuple[str, str], ...]
    scenario: str

    @property
    def of_engine(self) -> bool:
        return self.module.startswith(ENGINE + ".")


MUTANTS = {
    "beds filled smallest households first": Mutant(
        "fieldcast.engine.beds_and_seats",
        (
            (
                "from numba import njit\n",
                "from numba import njit\n\nfrom fieldcast.engine.state import BED_ALLOCATION\n",
            ),
            (
                "    for k in calendar.largest_first:\n",
                "    for position in range(calendar.largest_first.shape[0]):\n"
                "        k = calendar.largest_first[\n"
                "            -1 - position if stream == BED_ALLOCATION else position\n"
                "        ]\n",
            ),
        ),
        "beds, seats and monitors bind",
    ),
    "re-attempts before fresh visits": Mutant(
        "fieldcast.engine.field_attempts",
        (
            (
                "        fresh = min(capacity, fresh_total)\n",
                "        retries_waiting = 0\n"
                "        for a in range(1, attempts):\n"
                "            for k in range(classes):\n"
                "                retries_waiting += (\n"
                "                    state.at_address[row, a, k, c] + state.moved[row, a, k, c]\n"
                "                )\n"
                "        fresh = min(capacity - min(capacity, retries_waiting), fresh_total)\n",
            ),
        ),
        "team capacity binds, re-attempts",
    ),
    "a city's overrides applied to the next city": Mutant(
        "fieldcast.compiled",
        (
            (
                "scenario.city_parameter(n, field) for n in names]",
                "scenario.city_parameter(n, field) for n in names[1:] + names[:1]]",
            ),
        ),
        "beds, seats and monitors bind",
    ),
    "re-arrests disposed of the same day": Mutant(
        "fieldcast.engine.day",
        (
            (
                "        notice_deadlines(seed, table, calendar, state, keys, recording, daily, "
                "row, lane, day_index)\n",
                "        notice_deadlines(seed, table, calendar, state, keys, recording, daily, "
                "row, lane, day_index)\n"
                "        dispositions(\n"
                "            seed, table, calendar, state, keys, recording, scratch, daily, row, "
                "lane, day_index\n"
                "        )\n",
            ),
        ),
        "beds, seats and monitors bind",
    ),
    "monitors never returned": Mutant(
        "fieldcast.engine.notice_deadlines",
        (("                    state.monitors_out[row, c] -= due\n", ""),),
        "beds, seats and monitors bind",
    ),
}


def mutant_name(name: str) -> str:
    """The mutant's package (engine) or module name: valid, one per mutant."""
    base = "engine" if MUTANTS[name].of_engine else MUTANTS[name].module.rsplit(".", 1)[-1]
    return f"{base}_mutant_{list(MUTANTS).index(name)}"


def _mutated(mutant: Mutant, name: str) -> str:
    original = importlib.import_module(mutant.module)
    assert original.__file__ is not None
    source = Path(original.__file__).read_text()
    for old, new in mutant.replacements:
        assert source.count(old) == 1, f"{name}: the mutation no longer matches: {old!r}"
        source = source.replace(old, new)
    return source


def write_mutants(folder: Path) -> None:
    """Write every mutant's source into ``folder``."""
    engine_folder = Path(fieldcast.engine.__file__).parent
    for name, mutant in MUTANTS.items():
        if not mutant.of_engine:
            (folder / f"{mutant_name(name)}.py").write_text(_mutated(mutant, name))
            continue
        package = folder / mutant_name(name)
        package.mkdir()
        for path in engine_folder.glob("*.py"):
            source = path.read_text()
            if path.stem == mutant.module.rsplit(".", 1)[-1]:
                source = _mutated(mutant, name)
            (package / path.name).write_text(source.replace(ENGINE + ".", mutant_name(name) + "."))


def load_mutant(folder: Path, name: str) -> ModuleType:
    """Import mutant ``name`` from ``folder`` (written by ``write_mutants``)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(mutant_name(name))


def compile_mutants(folder: Path) -> None:
    """Compile every engine mutant once (numba caches the code by file)."""
    from fieldcast.catalog import load_scenario
    from fieldcast.compiled import compile_scenario

    compiled = compile_scenario(load_scenario("seed-2019"))
    for name, mutant in MUTANTS.items():
        if mutant.of_engine:
            load_mutant(folder, name).simulate_chunk(compiled, 1, 0, 2, trajectory_sample=2)
