"""Numbers as reports write them, the same in the terminal, the charts and the dashboard."""

from __future__ import annotations


def dollars(value: float, digits: int = 2) -> str:
    """An amount in US dollars, large ones shortened: $1.77M, $388.99k, $2.10bn."""
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:,.{digits}f}{suffix}"
    return f"${value:,.0f}"
