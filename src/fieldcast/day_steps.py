"""The per-day order of transitions (docs/model.md, section 5), declared once.

The engine's compiled day calls its step functions in this order, the reference model
schedules its SimPy processes at times of day taken from it (``time_of_day``), and
``tests/test_day_steps.py`` checks both, and the model document, against it. Changing the
order is a change of the model: it changes the numbers, and all three must follow.
"""

from __future__ import annotations

DAY_STEPS = (
    "moves",  # 1. alert moves, then baseline or leak moves
    "field_attempts",  # 2. attempts up to capacity: contact, arrest, collateral, closure
    "dispositions",  # 3. today's arrests and yesterday's re-arrests: detention or notice
    "detention_outflows",  # 4. processing done (relief or the queue), then removal seats
    "notice_deadlines",  # 5. depart, re-arrest (monitored) or lost to follow-up
    "record",  # 6. end-of-day stocks and cumulative flows
)


def time_of_day(step: str, part: int = 0) -> float:
    """When ``step`` happens within a day, as a fraction of the day (its ``part``-th sub-step
    a little later): 0.1 for the first step, 0.2 for the second, and so on."""
    if not 0 <= part < 5:
        raise ValueError(f"a step has at most five parts, got part {part}")
    return (DAY_STEPS.index(step) + 1 + part / 10) / 10
