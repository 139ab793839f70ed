"""Deliberately wrong variants of fieldcast ("mutants"), for ``test_mutants.py``.

Each breaks one rule of the model by text replacements in one module's source, which must each
match exactly once (so that a change to the engine cannot turn a mutant silently into the real
thing). A mutant of another module than the engine is a copy of that module.

The engine's mutants share one copy of the whole ``fieldcast.engine`` package, imported as a
package of its own beside the real one (its modules import each other, so one changed module
alone would not be used). In that copy each mutation is guarded by a condition on the run's
seed: it applies only when the seed's top byte holds the mutant's number, which
``engine_mutant`` puts there. numba takes about a minute to compile a copy of the engine, so
one copy for all the engine's mutants saves a minute of each test session per mutant; the
seed's other bits still key the random numbers, so each mutant is a whole run of its own.

``conftest.py`` writes the mutants when a session collects ``test_mutants.py``, and
``ahead.py`` compiles them in a background process while other tests run; numba caches the
compiled code by file, so the tests then load it in a second.
"""

from __future__ import annotations

import importlib
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import numba

import fieldcast.engine

ENGINE = "fieldcast.engine"
ENGINE_COPY = "engine_mutants"  # the package of the engine's mutants
MUTATION_SHIFT = 56  # the seed's top byte: which engine mutation applies (0: none)
MUTANTS_CACHE = "numba-cache"  # in the mutants' folder: where their compiled code is kept
MUTATED = "{mutated}"  # in a replacement of the engine: the condition that guards it


class Mutant(NamedTuple):
    """A rule broken in one module: ``(old, new)`` text replacements, and the scenario of the
    equivalence suite in which the rule is at work. In the engine, ``new`` guards the mutation
    with ``{mutated}``, the condition that the run is this mutant's."""

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
                "            -1 - position\n"
                "            if stream == BED_ALLOCATION and {mutated}\n"
                "            else position\n"
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
                "        fresh = min(capacity, fresh_total)\n"
                "        if {mutated}:\n"
                "            retries_waiting = 0\n"
                "            for a in range(1, attempts):\n"
                "                for k in range(classes):\n"
                "                    retries_waiting += state.at_address[row, a, k, c]\n"
                "                    retries_waiting += state.moved[row, a, k, c]\n"
                "            fresh = min(capacity - min(capacity, retries_waiting), fresh_total)\n",
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
                "            recording,\n"
                "            scratch,\n"
                "            daily,\n"
                "            row,\n"
                "            lane,\n"
                "            day_index,\n"
                "        )\n"
                "    record(",
                "            recording,\n"
                "            scratch,\n"
                "            daily,\n"
                "            row,\n"
                "            lane,\n"
                "            day_index,\n"
                "        )\n"
                "        if {mutated}:\n"
                "            dispositions(\n"
                "                seed, table, log1m, calendar, state, keys, recording, scratch, "
                "daily, row, lane, day_index\n"
                "            )\n"
                "    record(",
            ),
        ),
        "beds, seats and monitors bind",
    ),
    "monitors never returned": Mutant(
        "fieldcast.engine.notice_deadlines",
        (
            (
                "                    state.monitors_out[row, c] -= due\n",
                "                    if not {mutated}:\n"
                "                        state.monitors_out[row, c] -= due\n",
            ),
        ),
        "beds, seats and monitors bind",
    ),
}


def _mutation(name: str) -> int:
    """An engine mutant's number in the seed's top byte (from 1; 0 is the real engine)."""
    return 1 + [n for n, m in MUTANTS.items() if m.of_engine].index(name)


def _module_name(name: str) -> str:
    """A mutant of another module than the engine: its module's name (valid, one per mutant)."""
    return f"{MUTANTS[name].module.rsplit('.', 1)[-1]}_mutant_{list(MUTANTS).index(name)}"


def _mutated(source: str, name: str) -> str:
    """``source`` with mutant ``name``'s replacements, each of which must match exactly once."""
    mutant = MUTANTS[name]
    if mutant.of_engine:
        guarded = any(MUTATED in new for _, new in mutant.replacements)
        assert guarded, f"{name}: an engine mutation must be guarded by {MUTATED}"
    for old, new in mutant.replacements:
        assert source.count(old) == 1, f"{name}: the mutation no longer matches: {old!r}"
        if mutant.of_engine:
            condition = f"(seed >> np.uint64({MUTATION_SHIFT}) == np.uint64({_mutation(name)}))"
            new = new.replace(MUTATED, condition)
        source = source.replace(old, new)
    return source


def _source(module: str) -> str:
    path = importlib.import_module(module).__file__
    assert path is not None
    return Path(path).read_text()


def write_mutants(folder: Path) -> None:
    """Write every mutant's source into ``folder``: the engine's mutants as one package."""
    engine_mutants: dict[str, list[str]] = defaultdict(list)  # module stem: mutants
    for name, mutant in MUTANTS.items():
        if mutant.of_engine:
            engine_mutants[mutant.module.rsplit(".", 1)[-1]].append(name)
        else:
            (folder / f"{_module_name(name)}.py").write_text(_mutated(_source(mutant.module), name))
    package = folder / ENGINE_COPY
    package.mkdir()
    for path in Path(fieldcast.engine.__file__).parent.glob("*.py"):
        source = path.read_text()
        for name in engine_mutants[path.stem]:
            source = _mutated(source, name)
        (package / path.name).write_text(source.replace(ENGINE + ".", ENGINE_COPY + "."))


def _imported(folder: Path, module: str) -> ModuleType:
    """``module`` from ``folder``, its compiled code cached in ``folder`` too: numba names a
    cache after its source file's path, and the folder is new in every test session, so in the
    user's cache each session would leave a copy of the compiled engine (some 20 MB) that no
    session loads again. numba takes the cache directory when a function is decorated, that
    is, when its module is imported."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    user_cache = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(folder / MUTANTS_CACHE)
    try:
        return importlib.import_module(module)
    finally:
        numba.config.CACHE_DIR = user_cache


def load_mutant(folder: Path, name: str) -> ModuleType:
    """Mutant ``name`` of a module other than the engine, from ``folder`` (``write_mutants``)."""
    assert not MUTANTS[name].of_engine, f"{name}: an engine mutant (engine_mutant)"
    return _imported(folder, _module_name(name))


def engine_copy(folder: Path) -> ModuleType:
    """The copy of the engine that holds its mutants, from ``folder`` (``write_mutants``)."""
    return _imported(folder, ENGINE_COPY)


def engine_mutant(folder: Path, name: str) -> Callable[..., Any]:
    """``simulate_chunk`` of engine mutant ``name``, from ``folder`` (``write_mutants``): the
    engine copy's, with the mutant's number in the seed's top byte."""
    simulate_chunk = engine_copy(folder).simulate_chunk
    tag = _mutation(name) << MUTATION_SHIFT

    def simulate_mutant(compiled: Any, seed: int, *args: Any, **options: Any) -> Any:
        assert 0 <= seed < 1 << MUTATION_SHIFT, "the seed's top byte is the mutant's"
        return simulate_chunk(compiled, seed | tag, *args, **options)

    return simulate_mutant


def compile_mutants(folder: Path) -> None:
    """Compile the engine's mutants (one copy of the engine) once: numba caches the code by
    file."""
    from fieldcast.catalog import load_scenario
    from fieldcast.compiled import compile_scenario

    compiled = compile_scenario(load_scenario("seed-2019"))
    engine_copy(folder).simulate_chunk(compiled, 1, 0, 2, trajectory_sample=2)
