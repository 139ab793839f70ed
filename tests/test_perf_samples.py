"""How benchmarks/perf_samples.py --by-kind sorts the kernel's instructions: a spill and its
reload must count as stack traffic, and nothing else must."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import perf_samples


@pytest.mark.parametrize(
    ("instruction", "kind"),
    [
        ("mov    qword ptr [rsp + 0x1a8], rax", "writes the stack"),
        ("vmovsd qword ptr [rsp + 0x10], xmm0", "writes the stack"),
        ("mov    rax, qword ptr [rsp + 0x1a8]", "reads the stack"),
        ("vmovsd xmm0, qword ptr [rsp + 0x10]", "reads the stack"),
        ("add    rcx, qword ptr [rbp - 0x40]", "reads the stack"),
        ("mov    qword ptr [rax + 8*rcx], rdx", "other memory"),
        ("vmovsd xmm0, qword ptr [r12 + 8*rbx]", "other memory"),
        ("jne    1f40 <x+0x1f40>", "branch"),
        ("call   qword ptr [rip + 0x10]", "other memory"),
        ("call   rax", "call"),
        ("vdivsd xmm0, xmm1, xmm2", "division"),
        ("imul   rax, rcx", "registers only"),
    ],
)
def test_instruction_kinds(instruction: str, kind: str) -> None:
    assert perf_samples.instruction_kind(instruction) == kind
