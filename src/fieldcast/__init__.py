"""fieldcast: plan and forecast coordinated multi-city field operations.

The core is three steps: a validated ``Scenario`` -> the engine runs replications ->
``Results`` (and a ``Forecast``, which pairs a run with its no-leak twin) to summarise.

    >>> from fieldcast import load_scenario, run_forecast
    >>> forecast = run_forecast(load_scenario("seed-2019"), replications=100, seed=1)
    >>> forecast.summary()["goal_persons"]
    2040

The names below are imported when first used (PEP 562), so that a command that needs none
of the engine (``fieldcast --help``, ``scenario validate``) does not load it.
"""

import os
import sys
from importlib import import_module
from typing import Any


def _numpy_without_huge_pages() -> None:
    """numpy asks Linux for transparent huge pages for every large array (madvise), and where
    the kernel compacts memory on such a request (the "madvise" defrag policy, its default)
    a new large array can wait for compaction once memory is fragmented: a tracked
    forecast's copies of its lanes' states then took most of its time (docs/performance.md,
    "Huge pages, again"). numpy reads ``NUMPY_MADVISE_HUGEPAGE`` when it is first imported,
    and a value the user set is kept. Where numpy came first (a script that imports it
    before fieldcast, a test runner), it is told directly, through the private function
    behind the variable (numpy has no public one), if that function is still there. A paused
    batch's lane state, which gains from huge pages, asks for them itself
    (``engine/lanes.py``)."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    os.environ["NUMPY_MADVISE_HUGEPAGE"] = "0"
    numpy = sys.modules.get("numpy")
    multiarray = getattr(getattr(numpy, "_core", None), "multiarray", None)
    set_madvise_hugepage = getattr(multiarray, "_set_madvise_hugepage", None)
    if set_madvise_hugepage is not None:
        set_madvise_hugepage(False)


_numpy_without_huge_pages()

# The public API: one entry point for each thing the command line does, and what they return.
_EXPORTS = {
    "Forecast": "fieldcast.forecast",
    "Replay": "fieldcast.forecast",
    "Results": "fieldcast.results",
    "RunStore": "fieldcast.store",
    "Scenario": "fieldcast.scenario",
    "ScenarioError": "fieldcast.scenario",
    "allocate_teams": "fieldcast.planning.allocation",
    "backtest": "fieldcast.backtest",
    "builtin_names": "fieldcast.catalog",
    "calibrate": "fieldcast.calibration",
    "check_plan": "fieldcast.planning.checks",
    "find_requirement": "fieldcast.planning.requirement",
    "load_scenario": "fieldcast.catalog",
    "plan_days": "fieldcast.planning.surge",
    "read_observations": "fieldcast.observations",
    "replay": "fieldcast.forecast",
    "run_forecast": "fieldcast.forecast",
    "run_sensitivity": "fieldcast.planning.sensitivity",
    "run_sweep": "fieldcast.planning.sweep",
    "simulate": "fieldcast.replications",
    "track": "fieldcast.tracking",
    "validate_scenario": "fieldcast.scenario",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fieldcast' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
