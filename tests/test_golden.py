"""Regression: small forecasts must reproduce their committed numbers.

A failure means the numbers changed. If that was intended (a model or default changed), run
``make golden`` and say why in the commit; if not, it is a regression.

Integers (counts) are compared exactly, floats (means, quantiles, the leak effect's
correlation) to 1e-12 relative: numpy computes them in floating point, and their last bits
may differ between processors, whose vector units sum in different orders (seen: a
correlation of 0.8460552818597558 where the goldens were written, ...565 on an AMD EPYC
without AVX-512, from the same counts). 1e-12 is a thousand times coarser than such rounding
and far finer than any change of the numbers.
"""

from __future__ import annotations

import json
import math

import pytest

from golden import CASES, GOLDEN, golden_summary

RELATIVE = 1e-12


def differences(found: object, expected: object, where: str = "") -> list[str]:
    """Where ``found`` differs from ``expected``: floats beyond ``RELATIVE``, anything else at
    all (keys, types, integers, strings)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        return [
            line
            for key in sorted(set(found) | set(expected))
            for line in (
                differences(found.get(key), expected.get(key), f"{where}.{key}")
                if key in found and key in expected
                else [f"{where}.{key}: only in {'found' if key in found else 'expected'}"]
            )
        ]
    if isinstance(expected, list) and isinstance(found, list) and len(found) == len(expected):
        return [
            line
            for i, (f, e) in enumerate(zip(found, expected, strict=True))
            for line in differences(f, e, f"{where}[{i}]")
        ]
    if isinstance(expected, float) and isinstance(found, float):
        if math.isclose(found, expected, rel_tol=RELATIVE, abs_tol=0.0):
            return []
    elif found == expected and type(found) is type(expected):
        return []
    return [f"{where}: found {found!r}, expected {expected!r}"]


@pytest.mark.parametrize("name", list(CASES))
def test_forecast_reproduces_its_golden_numbers(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    assert differences(json.loads(json.dumps(golden_summary(name))), expected) == []


def test_the_comparison_sees_a_changed_count_and_a_changed_statistic() -> None:
    """The tolerance takes a processor's last bits, not a change of the numbers."""
    expected = {"arrests": {"median": 112, "mean": 111.5}, "correlation": 0.8460552818597558}
    assert differences(json.loads(json.dumps(expected)), expected) == []
    assert differences({**expected, "correlation": 0.8460552818597565}, expected) == []
    assert differences({**expected, "correlation": 0.84605528}, expected) != []
    assert differences({**expected, "arrests": {"median": 113, "mean": 111.5}}, expected) != []
    assert differences({**expected, "arrests": {"median": 112.0, "mean": 111.5}}, expected) != []
    assert differences({"arrests": expected["arrests"]}, expected) != []
