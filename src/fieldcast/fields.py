"""The building blocks of scenario sections: the strict base model, fields that carry their
unit and meaning, and the value types and limits every section shares.

They live apart from ``scenario.py`` so that a section defined elsewhere (the docket's, in
``docket.py``) is built from the same blocks without importing the scenario it belongs to.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# Text is printed and stored: printable (no control characters, which could move a terminal's
# cursor or clear its screen), and bounded, since a scenario holds counts, not documents.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


def _printable(text: str) -> str:
    """Text without control or invisible characters (named by code point in the error)."""
    found = sorted(set(_UNPRINTABLE.findall(text)))
    if found:
        codes = ", ".join(f"U+{ord(char):04X}" for char in found)
        raise ValueError(
            f"text must be printable, without control or invisible characters ({codes})"
        )
    return text


Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_printable)]
NOTE_LENGTH = 2000  # characters at most in a note
Note = Annotated[str, StringConstraints(max_length=NOTE_LENGTH), AfterValidator(_printable)]
PLACE_PUNCTUATION = " .,'\u2019()/&-"  # the apostrophe and the typographic one


def _place_name(name: str) -> str:
    """A place name looks like one (README, "What stays out"): it starts with a letter and
    holds letters (accents included), digits, spaces and ``. , ' ( ) / & -`` only, so that
    an e-mail address, a URL, a number alone or markup cannot pass for a city."""

    def allowed(char: str) -> bool:
        return unicodedata.category(char)[0] in "LMN" or char in PLACE_PUNCTUATION

    if not unicodedata.category(name[0]).startswith("L") or name[-1] == " ":
        raise ValueError("a place name starts with a letter and does not end with a space")
    wrong = sorted({char for char in name if not allowed(char)})
    if wrong:
        raise ValueError(
            f"a place name holds letters, digits, spaces and {PLACE_PUNCTUATION.strip()} only, "
            f"not {''.join(wrong)!r}"
        )
    return name


PlaceName = Annotated[Name, AfterValidator(_place_name)]
# Upper bounds of counts, days and money: far beyond any real operation, low enough that a
# run fits in memory and ends (a typo of a few zeros is refused, not run for hours).
MAX_DAYS = 3650  # ten years
MAX_LEAD_DAYS = 365  # how long before day 0 a plan can have become known
MAX_PERSONS = 100_000_000  # in one city, or a pool of beds
MAX_USD = 1_000_000_000.0  # per unit of anything
# Limits on what a command or a job is asked for, checked before any work: beyond them a run
# would exhaust the machine (memory grows with replications and particles).
MAX_SEED = 2**64 - 1  # seeds are 64-bit keys of the random numbers (streams.py)
DEFAULT_SEED = 2019  # every command's seed unless given
MAX_REPLICATIONS = 1_000_000
MAX_PARTICLES = 100_000  # of a tracking filter: each lane keeps its whole state
MAX_TEAMS = 100_000  # teams of one operation (a team is a handful of officers)


def param(default: Any, unit: str, meaning: str, **constraints: Any) -> Any:
    """A model field that carries its unit and one-line meaning (shown by ``scenario show``)."""
    return Field(default, description=meaning, json_schema_extra={"unit": unit}, **constraints)


class Strict(BaseModel):
    """Base for every scenario section: unknown keys are errors, values are checked, and there
    is one door in: a section is frozen (no attribute assignment), and ``model_copy`` and
    ``model_construct``, which pydantic lets skip validation, validate here like a file does."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy with the fields in ``update`` changed, validated (pydantic's does not)."""
        if not update:
            return super().model_copy(deep=deep)  # frozen and valid, so the copy is too
        return type(self).model_validate({**dict(self), **update})

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Any:
        """Built from ``values`` and validated (pydantic's ``model_construct`` is not)."""
        return cls.model_validate(values)


def did_you_mean(word: str, options: Any) -> str:
    """ " (did you mean 'x'?)" for the closest of ``options`` to a misspelt ``word``, or ""."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
