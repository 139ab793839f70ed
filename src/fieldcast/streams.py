"""Named random streams: the only source of randomness in fieldcast.

There is no global generator. Every random transition has a stable name, and its draws on a
given day of a given chunk of replications come from their own generator, seeded from

    SeedSequence(run_seed, spawn_key=(chunk_index, crc32(name), day + DAY_OFFSET))

which is what ``SeedSequence(run_seed).spawn(n)[chunk_index]`` spawns further. So:

* a chunk's results depend only on the run seed and the chunk's index, never on which process
  or worker ran it, or in which order (bit-identical whatever the split);
* two scenarios run with the same seed use the same uniforms for the same transition on the same
  day (common random numbers), whatever day each scenario's simulation starts on: a change
  that touches one transition leaves the others' draws aligned, and an intervention that does
  nothing changes nothing.
"""

from __future__ import annotations

import zlib

import numpy as np

DAY_OFFSET = 4096  # spawn keys are non-negative; scenarios start at day -3650 at the earliest

STREAM_NAMES = (
    "address",  # which households are still at the address on file at the start
    "moves",  # baseline and leak moves
    "alert_moves",  # moves of households alerted by a failed attempt
    "select_new",  # which never-attempted households get today's attempts
    "select_retry",  # which attempted households get the remaining attempts
    "select_location",  # how many of the picked households are still at their address
    "contact",  # contact at an attempt
    "arrest",  # arrest given contact
    "collateral",  # non-target arrests per contact
    "detain_intent",  # arrested household meant for detention
    "bed_allocation",  # which cities' households get the last beds on a full day
    "monitor_intent",  # released household meant for a monitor
    "monitor_allocation",  # which households get a city's last monitors
    "relief",  # stay or reopened case after processing
    "removal_allocation",  # which cities' households get the last seats of the day
    "notice_outcome",  # departure by the notice deadline
    "rearrest",  # re-arrest of a monitored household that did not depart
)


def stream_key(name: str) -> int:
    """A stable integer for a stream name (the same on every platform and Python version)."""
    if name not in STREAM_NAMES:
        raise KeyError(f"unknown random stream {name!r}")
    return zlib.crc32(name.encode("ascii"))


class Streams:
    """Generators for one chunk of replications: one per (stream name, day)."""

    def __init__(self, seed: int, chunk_index: int) -> None:
        self.seed = seed
        self.chunk_index = chunk_index

    def for_day(self, name: str, day: int) -> np.random.Generator:
        """The generator of stream ``name`` on day ``day`` (day 0: the first field day)."""
        sequence = np.random.SeedSequence(
            self.seed, spawn_key=(self.chunk_index, stream_key(name), day + DAY_OFFSET)
        )
        return np.random.Generator(np.random.PCG64(sequence))
