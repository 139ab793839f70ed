"""The equivalence suite has teeth: deliberately wrong engines are told apart from the reference.

Each mutant (``mutants.py``) breaks one rule of the model. Its samples go through the same
family of tests as the real engine's in ``test_equivalence.py`` (same scenario, same
reference samples, same Bonferroni threshold), and the family must reject it. The real engine
passes that family (``test_engine_matches_reference_in_distribution``), so a rejection here is
the family seeing the broken rule, not noise at a loose threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mutants import MUTANTS, load_mutant
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
    loaded = load_mutant(folder, name)
    if mutant.of_engine:
        return engine_samples(scenario(mutant.scenario), simulate=loaded.simulate_chunk)
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
