"""The kernel profiler (benchmarks/kernel_profile.py) edits a copy of the engine by text: a
change to the engine that its replacements no longer match must fail here, not silently
profile something else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import kernel_profile

import fieldcast.engine.day
from fieldcast.day_steps import DAY_STEPS


def test_every_step_every_draw_and_the_generator_are_timed() -> None:
    sources = kernel_profile.profiled_sources()
    for name, source in sources.items():
        ast.parse(source, name)  # still Python
        assert "fieldcast.engine." not in source  # the copy imports itself, not the engine
    day = sources["day.py"]
    for index, _ in enumerate(DAY_STEPS):
        slot = kernel_profile.STEP_CYCLES + index
        assert day.count(f"keys.cycles[{slot}] += cycles() - started") == 1
    assert day.count("started = cycles()") == len(DAY_STEPS)
    draws = sources["draws.py"]
    for slot in (
        kernel_profile.GENERATOR_CYCLES,
        kernel_profile.BINOMIAL_CYCLES,
        kernel_profile.HYPERGEOMETRIC_CYCLES,
    ):
        assert f"keys.cycles[{slot}" in draws


def test_a_replacement_that_no_longer_matches_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = {**kernel_profile.REPLACEMENTS, "draws": (("a line the engine lacks\n", "x"),)}
    monkeypatch.setattr(kernel_profile, "REPLACEMENTS", changed)
    with pytest.raises(AssertionError, match="no longer matches once"):
        kernel_profile.profiled_sources()


def test_a_step_called_twice_is_refused() -> None:
    source = Path(fieldcast.engine.day.__file__).read_text()
    call = next(line for line in source.split("\n") if line.lstrip().startswith("record("))
    with pytest.raises(AssertionError, match="record is called 2 times"):
        kernel_profile._with_steps_timed(source.replace(call, call + "\n" + call))
