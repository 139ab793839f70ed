"""Named random streams: every uniform in the engine is a pure function of where it is used.

There is no global generator and no generator state. A uniform is the output of the
counter-based generator Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers:
as easy as 1, 2, 3", SC'11; the Random123 library) for

    key     = the run seed (64 bits, as two 32-bit words)
    counter = (replication, branch, (day + DAY_OFFSET) << 16 | stream << 8 | size class,
               city << 16 | slot)

Why Philox4x32-10: it is published with known-answer test vectors (``tests/test_streams.py``
reproduces Random123's), passes TestU01's BigCrush, and needs only 32 x 32 -> 64-bit
multiplications, which numba compiles to plain machine code inside the engine's day loop.
numpy's own ``Philox`` is the 4x64 variant, whose 128-bit products numba cannot express
directly; and no library offers a keyed, per-call generator callable from numba, which is why
the twenty lines below are written here.

What follows from keying every draw by its place:

* a cell with nothing to draw (no households, zero probability) draws nothing and shifts no
  other draw, so skipping it is free; and a row of cities whose uniforms are computed side by
  side (``city_uniforms``, where enough of them draw) gets the same numbers as one at a time;
* a replication's numbers depend on its index, not on the chunk, process or worker that ran
  it: results are bit-identical for any chunk size and any split of the work;
* two scenarios run with the same seed use the same uniform for the same transition of the
  same cell on the same day (common random numbers), whatever else differs;
* ``branch`` tells apart copies of one replication made when lanes are resampled: the first
  copy keeps its parent's branch, so a run that copies nothing is unchanged, and the others
  get a new one, so copies diverge after the copy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import fieldcast.compiled_code_cache  # noqa: F401 (first: where compiled code is cached)

DAY_OFFSET = 4096  # day numbers are >= -3650 and < 61440: (day + DAY_OFFSET) fits 16 bits

# Stream numbers are part of the random numbers: never renumber, only append.
STREAMS = {
    "address": 0,  # which households are still at the address on file at the start
    "moves": 1,  # baseline and leak moves on a field day
    "alert_moves": 2,  # moves of households alerted by a failed attempt
    "select_new": 3,  # which never-attempted households get today's attempts
    "select_retry": 4,  # which attempted households get the remaining attempts
    "select_location": 5,  # how many of the picked households are still at their address
    "contact": 6,  # contact at an attempt
    "arrest": 7,  # arrest given contact
    "collateral": 8,  # non-target arrests per contact
    "detain_intent": 9,  # arrested household meant for detention
    "bed_allocation": 10,  # which cities' households get the last beds on a full day
    "monitor_intent": 11,  # released household meant for a monitor
    "monitor_allocation": 12,  # which households get a city's last monitors
    "relief": 13,  # stay or reopened case after processing
    "removal_allocation": 14,  # which cities' households get the last seats of the day
    "notice_outcome": 15,  # departure by the notice deadline
    "rearrest": 16,  # re-arrest of a monitored household that did not depart
    "quiet_moves": 17,  # moves over a quiet window, drawn at once (docs/model.md, section 5)
    "quiet_move_days": 18,  # on which day of a quiet window each of those moves happened
    # never-visited households are not moved day by day (docs/model.md, section 5): of those
    # at the address on file when last counted, which moved since: the visited, at a visit
    # (slot 0), the rest, on the last field day (slot 1)
    "unvisited_moves": 19,
}

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)  # Philox4x32 multipliers
_W0, _W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)  # Weyl key increments
_LOW = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)


@njit(cache=True, inline="always")  # so that a loop of them can compile to vector code
def philox4x32(
    c0: np.uint32, c1: np.uint32, c2: np.uint32, c3: np.uint32, k0: np.uint32, k1: np.uint32
) -> tuple[np.uint32, np.uint32, np.uint32, np.uint32]:
    """Philox4x32 with 10 rounds: four 32-bit outputs for a four-word counter and two-word key."""
    x0, x1, x2, x3 = np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3)
    key0, key1 = np.uint32(k0), np.uint32(k1)
    for round_ in range(10):
        if round_ > 0:
            key0 = np.uint32(key0 + _W0)
            key1 = np.uint32(key1 + _W1)
        product0 = _M0 * np.uint64(x0)
        product1 = _M1 * np.uint64(x2)
        y0 = np.uint32(product1 >> _SHIFT) ^ x1 ^ key0
        y1 = np.uint32(product1 & _LOW)
        y2 = np.uint32(product0 >> _SHIFT) ^ x3 ^ key1
        y3 = np.uint32(product0 & _LOW)
        x0, x1, x2, x3 = y0, y1, y2, y3
    return x0, x1, x2, x3


@njit(cache=True)
def uniform(
    seed: np.uint64,
    replication: np.int64,
    branch: np.int64,
    stream: np.int64,
    day: np.int64,
    size_class: np.int64,
    city: np.int64,
    slot: np.int64,
) -> float:
    """The uniform in [0, 1) of one draw, from the first two output words."""
    seed_bits = np.uint64(seed)
    x0, x1, _, _ = philox4x32(
        np.uint32(replication),
        np.uint32(branch),
        np.uint32(((day + DAY_OFFSET) << 16) | (stream << 8) | size_class),
        np.uint32((city << 16) | slot),
        np.uint32(seed_bits & _LOW),
        np.uint32(seed_bits >> _SHIFT),
    )
    return unit_interval(x0, x1)


@njit(cache=True, inline="always")
def city_uniforms(
    seed: np.uint64,
    replication: np.int64,
    branch: np.int64,
    stream: np.int64,
    day: np.int64,
    size_class: np.int64,
    slot: np.int64,
    out: np.ndarray,
) -> None:
    """``uniform`` of cities 0, 1, ... for one (stream, day, class, slot), into each entry of
    ``out``: their counters are known before any is used, so the loop compiles to vector
    instructions (on the development machines a uniform in 1.5 ns, against 8-10 one call at
    a time: ``make bench``). The same numbers as ``uniform``, bit for bit (tested)."""
    seed_bits = np.uint64(seed)
    key0, key1 = np.uint32(seed_bits & _LOW), np.uint32(seed_bits >> _SHIFT)
    counter0, counter1 = np.uint32(replication), np.uint32(branch)
    counter2 = np.uint32(((day + DAY_OFFSET) << 16) | (stream << 8) | size_class)
    for city in range(out.shape[0]):
        x0, x1, _, _ = philox4x32(
            counter0, counter1, counter2, np.uint32((city << 16) | slot), key0, key1
        )
        out[city] = unit_interval(x0, x1)


@njit(cache=True, inline="always")
def unit_interval(x0: np.uint32, x1: np.uint32) -> float:
    """A uniform in [0, 1) from 53 bits of two 32-bit words, as numpy makes a double of
    them."""
    high = np.uint64(x0 >> np.uint32(5))  # 27 bits
    low = np.uint64(x1 >> np.uint32(6))  # 26 bits
    return (float(high) * 67108864.0 + float(low)) / 9007199254740992.0
