"""The draw-cost benchmark (benchmarks/draw_cost.py): its variants are valid scenarios that
differ from seed-2019 only in classes and attempts, and make fewer draws; its line is the
least-squares one."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import draw_cost

from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario


def test_a_variant_changes_only_classes_and_attempts() -> None:
    base = load_scenario("seed-2019")
    fewer = draw_cost.variant(base, 2, 1)
    assert [c.size for c in fewer.households.classes] == [2, 3]
    assert sum(c.share for c in fewer.households.classes) == pytest.approx(1.0)
    assert fewer.operation.max_attempts == 1
    assert fewer.cities == base.cities
    assert fewer.leak == base.leak
    assert fewer.city_defaults == base.city_defaults


def test_fewer_classes_and_attempts_draw_fewer_uniforms() -> None:
    base = load_scenario("seed-2019")
    drawn = {
        v: draw_cost.run(compile_scenario(draw_cost.variant(base, *v)), 50)
        for v in ((4, 3), (1, 3), (4, 1))
    }
    assert drawn[(1, 3)] < 0.7 * drawn[(4, 3)]
    assert drawn[(4, 1)] < 0.7 * drawn[(4, 3)]


def test_empty_classes_draw_nothing() -> None:
    """Four classes with every household in the first draw what one class draws: what sets
    them apart in time is the loops over the empty cells."""
    base = load_scenario("seed-2019")
    four = draw_cost.variant(base, *draw_cost.EMPTY)
    assert [c.share for c in four.households.classes] == [1.0, 0.0, 0.0, 0.0]
    one = compile_scenario(draw_cost.variant(base, 1, 3))
    assert draw_cost.run(compile_scenario(four), 50) == draw_cost.run(one, 50)


def test_the_fit_recovers_a_line() -> None:
    uniforms = np.array([500.0, 700.0, 1400.0])
    fixed, per_uniform = draw_cost.fit(uniforms, 1e-5 + 4e-8 * uniforms)
    assert fixed == pytest.approx(1e-5)
    assert per_uniform == pytest.approx(4e-8)
