"""Local worker processes kept for all the gathers of a command (``local_processes_kept``):
started once, ended with the block, and ended at once by a gather cut short."""

from __future__ import annotations

import os
import time

import pytest

from conftest import _alive
from fieldcast.workers import gather, local_processes_kept


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _pids() -> set[int]:
    """The processes that ran a gather's four short tasks on two local processes."""
    found: set[int] = set()
    gather(_pid_after, [(0.05,)] * 4, lambda _, pid: found.add(pid), processes=2)
    return found


def test_a_block_starts_its_local_processes_once_and_ends_them() -> None:
    first, second = _pids(), _pids()
    assert first.isdisjoint(second)  # without the block, each gather starts its own
    assert not any(_alive(pid) for pid in first | second)
    with local_processes_kept():
        first, second = _pids(), _pids()
        with local_processes_kept():  # an inner block changes nothing
            third = _pids()
        assert len(first | second | third) <= 2  # the same two processes all along
        assert all(_alive(pid) for pid in first | second | third)
    assert not any(_alive(pid) for pid in first | second | third)


def test_a_gather_cut_short_ends_the_processes_it_kept() -> None:
    def refuse(index: int, pid: int) -> None:
        raise RuntimeError("a result refused")

    with local_processes_kept():
        kept = _pids()
        with pytest.raises(RuntimeError, match="a result refused"):
            gather(_pid_after, [(0.05,)] * 4, refuse, processes=2)
        assert not any(_alive(pid) for pid in kept)
        after = _pids()  # the next gather starts new ones
        assert after.isdisjoint(kept)
