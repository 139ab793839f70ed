"""Asking for a paused lane's state ahead of its day (``prefetch_lane``).

A paused batch keeps every lane's state in a row of its own and runs one lane's day after
another, so each lane's day starts with its state out of the near caches since its day
before: for seed-2019, 139 cache lines of the row's 330 that the day touches, read as the
steps reach them. ``run_days`` asks for the next lane's while the current one runs (the
processor's prefetch instruction). With it, a seed-2019 batch stopped at the end of every
field day took 1.06-1.12 times as long as one run straight through, against 1.17-1.21
without (``benchmarks/pause_cost.py 5000``, docs/performance.md). Numba has no prefetch of
its own: the LLVM intrinsic is declared here.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.typing.templates import Signature
from numba.extending import intrinsic

from fieldcast.engine.state import KERNEL, Calendar, LaneState

# bytes, on x86-64; some ARM processors have 128-byte lines, where a prefetch every 64 bytes
# asks for each line twice: redundant, not wrong
CACHE_LINE = 64


@intrinsic
def _prefetch(typing_context: object, address: types.Integer) -> tuple[Signature, object]:
    """``llvm.prefetch`` of the byte at ``address``: a read, kept in every cache level
    (locality 3, as C's ``__builtin_prefetch`` by default; the second level only, locality
    2, measured the same), of data."""

    def codegen(context, builder, signature, arguments):  # type: ignore[no-untyped-def]
        word = ir.IntType(32)
        pointer = ir.IntType(8).as_pointer()
        prefetch = builder.module.declare_intrinsic(
            "llvm.prefetch", fnty=ir.FunctionType(ir.VoidType(), (pointer, word, word, word))
        )
        read, every_level, data = (ir.Constant(word, value) for value in (0, 3, 1))
        builder.call(prefetch, (builder.inttoptr(arguments[0], pointer), read, every_level, data))
        return context.get_dummy_value()

    return types.void(types.uintp), codegen


@njit(**KERNEL)
def _prefetch_bytes(start: int, size: int) -> None:
    for offset in range(0, size, CACHE_LINE):
        _prefetch(start + offset)


@njit(**KERNEL)
def _prefetch_row(array: np.ndarray, row: int) -> None:
    _prefetch_bytes(array.ctypes.data + row * array.strides[0], array.strides[0])


@njit(**KERNEL)
def _prefetch_slot(array: np.ndarray, row: int, slot: int) -> None:
    start = array.ctypes.data + row * array.strides[0] + slot * array.strides[1]
    _prefetch_bytes(start, array.strides[1])


@njit(**KERNEL)
def prefetch_lane(calendar: Calendar, state: LaneState, row: int, day_index: int) -> None:
    """Ask for what a lane's day ``day_index`` touches of its state row: its counts and
    cells whole, of its rings the slots of the day (those the steps fill and those they
    empty: dispositions.py, detention_outflows.py, notice_deadlines.py)."""
    _prefetch_row(state.at_address, row)
    _prefetch_row(state.moved, row)
    _prefetch_row(state.alerted, row)
    _prefetch_row(state.awaiting, row)
    _prefetch_row(state.queue, row)
    _prefetch_row(state.counts, row)
    _prefetch_row(state.national, row)
    _prefetch_row(state.processing_slot_total, row)
    _prefetch_row(state.notice_slot_total, row)
    _prefetch_row(state.monitors_out, row)
    _prefetch_row(state.collateral, row)
    processing_slots, notice_slots = state.processing.shape[1], state.notice.shape[1]
    _prefetch_slot(state.processing, row, day_index % processing_slots)
    _prefetch_slot(state.processing, row, (day_index - calendar.processing_days) % processing_slots)
    _prefetch_slot(state.notice, row, day_index % notice_slots)
    _prefetch_slot(state.notice, row, (day_index - calendar.notice_days) % notice_slots)
