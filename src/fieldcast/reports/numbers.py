"""Numbers as reports write them, the same in the terminal, the charts and the dashboard."""

from __future__ import annotations

from typing import Any


def dollars(value: float, digits: int = 2) -> str:
    """An amount in US dollars, large ones shortened: $1.77M, $388.99k, $2.10bn."""
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:,.{digits}f}{suffix}"
    return f"${value:,.0f}"


def goal_day_sentence(goal_day: dict[str, Any]) -> str:
    """When the goal is reached, in words, from a forecast's ``goal_day`` whose 5% quantile is
    known (at least one replication in twenty reaches it). Arrests happen on field days only,
    so a replication that has not reached it by the end of field work never does."""
    never = "not reached by the end of field work"
    if goal_day["median"] is None:
        return (
            f"reached by day {goal_day['p05']} in 5% of replications; {never} in "
            f"{100 * (1 - goal_day['p_reached']):.1f}%."
        )
    last = never if goal_day["p95"] is None else f"day {goal_day['p95']}"
    return (
        f"the goal is reached on day {goal_day['median']} at the median "
        f"(90% interval: day {goal_day['p05']} to {last})."
    )


def goal_day_chances(goal_day: dict[str, Any]) -> str:
    """The chance of having reached the goal by field day, on the days a report lists:
    "day 0: 0.0%, day 1: 4.9%, ..."."""
    rows = goal_day["p_by_field_day"]
    return ", ".join(
        f"day {rows[i]['day']}: {100 * rows[i]['p_reached']:.1f}%"
        for i in listed_field_days(len(rows))
    )


def goal_day_range(goal_day: dict[str, Any]) -> str:
    """When the goal is reached, as a table cell: "day 5 (4 to 6)", a day not reached by the
    end of field work said so; "not reached" if fewer than one replication in twenty do."""
    if goal_day["p05"] is None:
        return "not reached"

    def day(value: int | None) -> str:
        return "not reached" if value is None else str(value)

    return f"day {day(goal_day['median'])} ({day(goal_day['p05'])} to {day(goal_day['p95'])})"


def sweep_goal_days(rows: list[dict[str, Any]]) -> list[str] | None:
    """A sweep's column of the field day the goal is reached at the median, value by value
    ("5", "not reached"); None if no value reaches it in half its replications, or the sweep
    was run before 2026-12-07 and does not say."""
    days = [row.get("goal_day", {}).get("median") for row in rows]
    if all(day is None for day in days):
        return None
    return ["not reached" if day is None else str(day) for day in days]


# A field window longer than two weeks is listed at a steady step, the first of these that
# lists at most _MOST_DAYS_LISTED days (a year's: every 30 days), so that the line stays short.
_MOST_DAYS_LISTED = 14
_DAY_STEPS = (2, 7, 14, 30, 60, 90, 180, 365)


def listed_field_days(count: int) -> list[int]:
    """Which of ``count`` field days a report lists: all of up to two weeks; else day 0,
    then every step (two days, a week, two, a month, ...) and the last."""
    if count <= _MOST_DAYS_LISTED:
        return list(range(count))
    step = next(
        (s for s in _DAY_STEPS if -(-count // s) < _MOST_DAYS_LISTED),
        -(-count // (_MOST_DAYS_LISTED - 1)),
    )
    return [*range(0, count - 1, step), count - 1]
