"""The fast engine: exact count-based simulation, one compiled day loop over lanes.

One module per part: ``state`` (the arrays), ``draws`` (a cell's draws), one module per step
of the day, named for it (``moves``, ``field_attempts``, ``dispositions`` with
``beds_and_seats``, ``detention_outflows``, ``notice_deadlines``, ``record``), ``day`` (the
compiled day and the kernel) and ``lanes`` (batches of lanes: run, pause, resample, resume).

Households of one city and one size class are exchangeable, so a lane's state is a set of
counts per (size class, city) (and, for open households, attempts made), and every daily
transition is a binomial, Poisson or (multivariate) hypergeometric draw on counts, drawn by
inversion (``sampling.py``) from a uniform keyed by where it is used (``streams.py``). This is
exact, not an approximation: it has the distribution of the per-household model in
``docs/model.md``, and its cost grows with lanes x cells with something to draw, not with
households.

A **lane** is one replication of one parameter set. A batch of lanes (``Lanes``) shares its
structure (cities, size classes, calendar) but every lane may carry its own parameter set
(``compiled.ParameterTable``). The whole per-day order runs in one numba-compiled kernel, lane
by lane; the steps are the functions named in ``day_steps.DAY_STEPS``, called in that order
by ``day.one_day`` (a test checks the order against docs/model.md and the reference model). A batch
can be paused at the end of any day, its lanes copied (resampled) or dropped, and resumed; a
run paused and resumed without copying gives the same bits as one run straight through.

**Quiet windows.** Before day 0 and after the last field day, open households can only move
away; nothing else reads them. Each such window is folded into one binomial draw per cell
(who moves at all in the window, from the product of the daily survival chances), applied on
the window's first day. The daily series stay right: daily means get the expected day of
those moves (exact expectation given the draw), and the band and trajectory samples draw the
day of each move (``quiet_move_days``, a binary split of the window) so that every sampled
replication's daily path is a real one. docs/model.md, section 5, says the same.
"""

from __future__ import annotations

from fieldcast.engine.day import compiled_code_cached
from fieldcast.engine.lanes import (
    NATIONAL_FIELDS,
    PROGRESS_STEPS,
    Lanes,
    copied_state,
    distinct_lanes,
    new_branch,
    resampled_branches,
    simulate_chunk,
    splice_cities,
)
from fieldcast.engine.state import LaneState, Recording

__all__ = [
    "NATIONAL_FIELDS",
    "PROGRESS_STEPS",
    "LaneState",
    "Lanes",
    "Recording",
    "compiled_code_cached",
    "copied_state",
    "distinct_lanes",
    "new_branch",
    "resampled_branches",
    "simulate_chunk",
    "splice_cities",
]
