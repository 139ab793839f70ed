"""Deliberately wrong variants of fieldcast ("mutants"), for ``test_mutants.py``.

Each is the source of one fieldcast module with one rule of the model broken by text
replacements, which must each match exactly once (so that a change to the engine cannot turn
a mutant silently into the real thing), written to a file of its own and imported beside the
real module.

An engine mutant takes numba about 40 seconds to compile. ``conftest.py`` therefore writes
the mutants when a session collects ``test_mutants.py``, and ``ahead.py`` compiles them in a
background process while other tests run; numba caches the compiled code by file, so the
tests then load it in a second.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import NamedTuple


class Mutant(NamedTuple):
    """A rule broken in one module: ``(old, new)`` text replacements, and the scenario of the
    equivalence suite in which the rule is at work."""

    module: str  # the module's name, for a process that compiles mutants ahead
    replacements: tuple[tuple[str, str], ...]
    scenario: str


MUTANTS = {
    "beds filled smallest households first": Mutant(
        "fieldcast.engine",
        (
            (
                "    for k in calendar.largest_first:\n",
                "    for position in range(calendar.largest_first.shape[0]):\n"
                "        k = calendar.largest_first[\n"
                "            -1 - position if stream == _BED_ALLOCATION else position\n"
                "        ]\n",
            ),
        ),
        "beds, seats and monitors bind",
    ),
    "re-attempts before fresh visits": Mutant(
        "fieldcast.engine",
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
        "fieldcast.engine",
        (
            (
                "        _notice_deadlines(\n"
                "            seed, table, calendar, state, keys, recording, daily, row, lane, "
                "day_index\n"
                "        )\n",
                "        _notice_deadlines(\n"
                "            seed, table, calendar, state, keys, recording, daily, row, lane, "
                "day_index\n"
                "        )\n"
                "        _dispositions(\n"
                "            seed, table, calendar, state, keys, recording, scratch, daily, row, "
                "lane, day_index\n"
                "        )\n",
            ),
        ),
        "beds, seats and monitors bind",
    ),
    "monitors never returned": Mutant(
        "fieldcast.engine",
        (("                    state.monitors_out[row, c] -= due\n", ""),),
        "beds, seats and monitors bind",
    ),
}


def mutant_path(folder: Path, name: str) -> Path:
    """Where mutant ``name`` is written: a valid module name, one per mutant."""
    module = MUTANTS[name].module.rsplit(".", 1)[-1]
    return folder / f"{module}_mutant_{list(MUTANTS).index(name)}.py"


def write_mutants(folder: Path) -> None:
    """Write every mutant's source into ``folder``."""
    for name, mutant in MUTANTS.items():
        original = importlib.import_module(mutant.module)
        assert original.__file__ is not None
        source = Path(original.__file__).read_text()
        for old, new in mutant.replacements:
            assert source.count(old) == 1, f"{name}: the mutation no longer matches: {old!r}"
            source = source.replace(old, new)
        mutant_path(folder, name).write_text(source)


def load_mutant(folder: Path, name: str) -> ModuleType:
    """Import mutant ``name`` from ``folder`` (written by ``write_mutants``)."""
    path = mutant_path(folder, name)
    if path.stem in sys.modules:
        return sys.modules[path.stem]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def compile_mutants(folder: Path) -> None:
    """Compile every engine mutant once (numba caches the code by file)."""
    from fieldcast.catalog import load_scenario
    from fieldcast.compiled import compile_scenario

    compiled = compile_scenario(load_scenario("seed-2019"))
    for name, mutant in MUTANTS.items():
        if mutant.module == "fieldcast.engine":
            load_mutant(folder, name).simulate_chunk(compiled, 1, 0, 2, trajectory_sample=2)
