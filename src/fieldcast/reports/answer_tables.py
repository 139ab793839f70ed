"""A planning answer's main table as rows for a spreadsheet (CSV): the same numbers as the
answer's JSON, one row per thing the answer compares (a value of a sweep, a level of a
requirement, an assumption of a sensitivity ranking, a city and team count of a plan, a
field day of a surge plan, a finding of a check).

Built from the answer's JSON alone, for the command line (``--csv``) and the dashboard's
download alike, so that both give the same file. Nested figures become columns named by
their path (``persons_arrested.median``); lists of words (what binds) one cell, joined by
"; ". The answer's sentences (its notes, what its intervals include) are in the JSON, not
in the table.
"""

from __future__ import annotations

import csv
import io
from typing import Any

Row = dict[str, Any]
ANSWER_KINDS = ("check", "plan", "requirement", "sensitivity", "sweep")  # the answers with a table


def answer_rows(kind: str, answer: dict[str, Any]) -> list[Row]:
    """The rows of a planning answer of ``kind`` (check, plan, requirement, sensitivity,
    sweep), each a flat mapping of column to value.

    Raises ``ValueError`` for a kind that has no table."""
    if kind == "check":
        return [_flat(finding) for finding in answer["findings"]]
    if kind == "sweep" and answer.get("by"):  # a grid: both parameters and their values first
        return [
            {
                "parameter": answer["parameter"],
                "value": row["value"],
                "by": answer["by"]["parameter"],
                **_flat(row),
            }
            for row in answer["values"]
        ]
    if kind == "sweep":
        return [{"parameter": answer["parameter"], **_flat(row)} for row in answer["values"]]
    if kind == "requirement":
        return [{"resource": answer["resource"], **_flat(row)} for row in answer["levels"]]
    if kind == "sensitivity":
        return [
            {"output": output, **_flat(row)}
            for output, found in answer["outputs"].items()
            for row in found["ranking"]
        ]
    if kind == "plan" and "team_days_share" in answer:  # the surge profile over field days
        return [
            {"field_day": day, "share_now": now, "share_recommended": best}
            for day, (now, best) in enumerate(
                zip(answer["current"], answer["recommended"], strict=True)
            )
        ]
    if kind == "plan":
        return [
            {
                "city": city,
                "teams": teams,
                "expected_persons_arrested": expected,
                "gain_of_one_more_team": _at(answer["marginal_gain_by_teams"][city], teams),
                "now": teams == answer["current"][city],
                "recommended": teams == answer["recommended"][city],
            }
            for city, curve in answer["expected_persons_arrested_by_teams"].items()
            for teams, expected in enumerate(curve)
        ]
    raise ValueError(f"a {kind} answer has no table")


def answer_json(kind: str, answer: dict[str, Any]) -> Any:
    """A planning answer as the command line's ``--json`` prints it: a check's findings as a
    list (a job keeps them as ``{"findings": [...]}``), the others as they are."""
    return answer["findings"] if kind == "check" else answer


def answer_csv(kind: str, answer: dict[str, Any]) -> str:
    """The rows of ``answer_rows`` as CSV text, with a header of every column any row has
    (in the order they first appear); a row without a column leaves its cell empty."""
    rows = answer_rows(kind, answer)
    columns = list(dict.fromkeys(column for row in rows for column in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def _flat(value: dict[str, Any], prefix: str = "") -> Row:
    """A nested mapping as one level of columns named by their path (what pandas'
    ``json_normalize`` does; pandas is no dependency of fieldcast's, for a few lines)."""
    row: Row = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            row |= _flat(item, f"{name}.")
        elif isinstance(item, list):
            row[name] = "; ".join(str(part) for part in item)
        else:
            row[name] = item
    return row


def _at(values: list[Any], index: int) -> Any:
    """``values[index]``, or None past its end (the gain of a team beyond those tried)."""
    return values[index] if index < len(values) else None
