"""Regression: small forecasts must reproduce their committed numbers exactly.

A failure means the numbers changed. If that was intended (a model or default changed), run
``make golden`` and say why in the commit; if not, it is a regression.
"""

from __future__ import annotations

import json

import pytest

from golden import CASES, GOLDEN, golden_summary


@pytest.mark.parametrize("name", list(CASES))
def test_forecast_reproduces_its_golden_numbers(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    assert json.loads(json.dumps(golden_summary(name))) == expected
