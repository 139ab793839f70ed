"""The equivalence suite has teeth: deliberately wrong engines are told apart from the reference.

Each mutant (``mutants.py``) breaks one rule of the model. Its samples go through the same
family of tests as the real engine's in ``test_equivalence.py`` (same scenario, same
reference samples, same Bonferroni threshold), and the family must reject it. The real engine
passes that family (``test_engine_matches_reference_in_distribution``), so a rejection here is
the family seeing the broken rule, not noise at a loose threshold.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest

from fieldcast.compiled import compile_scenario
from fieldcast.engine import day, simulate_chunk
from mutants import MUTANTS, MUTANTS_CACHE, engine_copy, engine_mutant, load_mutant
from test_equivalence import (
    FAMILY_ALPHA,
    comparisons,
    engine_samples,
    family_size,
    reference_samples,
    scenario,
)


def mutant_samples(name: str, folder: Path) -> np.ndarray:
    """The mutant's samples for its scenario, as ``engine_samples`` gives the real engine's."""
    mutant = MUTANTS[name]
    if mutant.of_engine:
        return engine_samples(scenario(mutant.scenario), simulate=engine_mutant(folder, name))
    loaded = load_mutant(folder, name)
    return engine_samples(scenario(mutant.scenario), compile_with=loaded.compile_scenario)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MUTANTS))
def test_the_equivalence_suite_rejects_a_broken_rule(name: str, ahead: Path) -> None:
    mutant = MUTANTS[name]
    threshold = FAMILY_ALPHA / family_size()
    results = comparisons(
        mutant.scenario, reference_samples(mutant.scenario), mutant_samples(name, ahead)
    )
    rejected = sorted((p, label) for label, p in results if p < threshold)
    assert rejected, f"{name}: the equivalence suite did not see it (threshold {threshold:.1e})"


@pytest.mark.slow
def test_the_engine_copy_is_the_engine_when_no_mutant_is_asked(ahead: Path) -> None:
    """The engine's mutants share one copy of the engine, each mutation guarded by the seed's
    top byte (``mutants.py``). Without a mutant's number there, the copy gives the engine's
    bits, so a mutant's rejection above is its own mutation's doing."""
    compiled = compile_scenario(scenario("beds, seats and monitors bind"))
    copy = engine_copy(ahead).simulate_chunk(compiled, 7, 0, 300, trajectory_sample=300)
    real = simulate_chunk(compiled, 7, 0, 300, trajectory_sample=300)
    np.testing.assert_array_equal(copy.trajectories, real.trajectories)
    np.testing.assert_array_equal(copy.at_horizon, real.at_horizon)


@pytest.mark.slow
def test_the_engine_copy_is_cached_in_its_own_folder(ahead: Path) -> None:
    """The copy's compiled code is kept in the mutants' folder, which goes at the end of the
    session, not in the user's cache, where every session would leave 20 MB of it; the real
    engine's code stays in the user's cache."""
    # where a function's code is cached: numba's (private) cache locator, which takes it once
    copy_kernel = engine_copy(ahead).day.one_day
    assert Path(copy_kernel._cache._cache_path).is_relative_to(ahead / MUTANTS_CACHE)
    assert Path(day.one_day._cache._cache_path).is_relative_to(numba.config.CACHE_DIR)
