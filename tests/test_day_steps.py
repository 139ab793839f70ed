"""The per-day order is declared once (``day_steps.DAY_STEPS``) and followed everywhere: by the
engine's compiled day, by the reference model's schedule, and by docs/model.md."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from fieldcast import reference
from fieldcast.day_steps import DAY_STEPS, time_of_day
from fieldcast.engine import day

MODEL = Path(__file__).parents[1] / "docs" / "model.md"


def test_the_engine_runs_the_steps_in_the_declared_order() -> None:
    """Each step is a module of the engine, named for it, with a step function of the same
    name; the compiled day calls them in the declared order."""
    source = inspect.getsource(day.one_day)
    calls = [match for match in re.findall(r"\b(\w+)\(", source) if match in DAY_STEPS]
    assert calls == list(DAY_STEPS)
    for step in DAY_STEPS:
        module = importlib.import_module(f"fieldcast.engine.{step}")
        assert getattr(day, step) is getattr(module, step), step


def test_the_reference_schedules_the_steps_in_the_declared_order() -> None:
    times = {step: time_of_day(step) for step in DAY_STEPS}
    assert list(times.values()) == sorted(times.values())
    source = inspect.getsource(reference)
    used = re.findall(r'time_of_day\("(\w+)"', source)
    assert set(used) == set(DAY_STEPS), "every step is scheduled, and only those"
    # the reference's times all fall inside the day, in declared order of their steps
    assert time_of_day(DAY_STEPS[0]) > 0 and time_of_day(DAY_STEPS[-1], 4) < 1


def test_the_model_document_lists_the_steps_in_the_declared_order() -> None:
    section = MODEL.read_text().split("## 5. Per-day order")[1].split("\n## ")[0]
    headings = re.findall(r"^\d\. \*\*([A-Z][a-z ]+)", section, flags=re.MULTILINE)
    assert [h.strip().lower().replace(" ", "_") for h in headings] == list(DAY_STEPS)
