"""The docket stage (docs/model.md, section 4): from a dedicated court docket to the target list.

Here are the docket's part of a scenario (``Docket``, ``DocketCourt``), its arithmetic and the
two ways it meets the rest of the scenario: filling in the target lists before validation
(``with_docket_targets``) and checking given values against them after (``check_docket_targets``).

Persons enter each court's docket at an even rate over an intake window and wait for a
decision an exponentially distributed time (mean ``mean_days_to_decision``). By day 0 a share
of them have been decided; of the decided, a share hold a removal order issued in absentia and
a share an order issued after a hearing. The operation lists a share of the persons holding an
order at day 0 as its targets. The stage gives, per city:

* the target persons: flagged x decided by day 0 x (share in absentia + share after a
  hearing) x listed, rounded to the nearest whole person (halves to even);
* the share of target households with an in-absentia order, which the address-validity step
  uses (an in-absentia order often means the address on file was wrong).

The stage is computed in expected values, not drawn at random: the docket figures are reported
counts, so what is uncertain is the rates, which a user varies as assumptions (for example
with ``fieldcast sensitivity``). Its results are written into the scenario (``cities`` and
``city_overrides``, with "derived" provenance) before anything runs, so the engine and the
reference model see an ordinary target list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, model_validator

from fieldcast.fields import MAX_PERSONS, PlaceName, Probability, Strict, did_you_mean, param

if TYPE_CHECKING:
    from fieldcast.scenario import Scenario


class DocketCourt(Strict):
    """One court of the dedicated docket, and the city (field office) whose list it feeds."""

    city: PlaceName = param(..., "text", "city whose target list this court's orders feed")
    persons_flagged: int = param(
        ..., "persons", "persons entered on this court's dedicated docket", ge=0, le=MAX_PERSONS
    )
    p_order_in_absentia: Probability | None = param(
        None,
        "probability",
        "share of decided cases ending in a removal order issued in absentia (omit: the docket's)",
    )


class Docket(Strict):
    """Stage 1 (optional): a dedicated docket whose removal orders form the target lists
    (computed in ``docket.py``; the cities' target persons and in-absentia shares follow)."""

    intake_start_day: int = param(
        ..., "day", "first day persons entered the docket (negative: before day 0)", ge=-7300, le=0
    )
    intake_end_day: int = param(
        ..., "day", "last day persons entered the docket (negative: before day 0)", ge=-7300, le=0
    )
    mean_days_to_decision: float = param(
        ..., "days", "mean time from entering the docket to the court's decision", gt=0
    )
    p_order_in_absentia: Probability = param(
        ..., "probability", "share of decided cases ending in a removal order issued in absentia"
    )
    p_order_after_hearing: Probability = param(
        ..., "probability", "share of decided cases ending in a removal order after a hearing"
    )
    p_listed: Probability = param(
        ...,
        "probability",
        "share of persons holding a removal order at day 0 that the operation lists as targets",
    )
    courts: list[DocketCourt] = param(..., "list", "the docket's courts", min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Docket:
        if self.intake_start_day > self.intake_end_day:
            raise ValueError(
                f"intake_start_day ({self.intake_start_day}) must not be after intake_end_day "
                f"({self.intake_end_day})"
            )
        cities = [court.city for court in self.courts]
        repeated = sorted({city for city in cities if cities.count(city) > 1})
        if repeated:
            raise ValueError(f"courts: each city can have one court, repeated: {repeated}")
        for index, court in enumerate(self.courts):
            in_absentia = court.p_order_in_absentia
            in_absentia = self.p_order_in_absentia if in_absentia is None else in_absentia
            if in_absentia + self.p_order_after_hearing > 1:
                raise ValueError(
                    f"courts.{index}: orders in absentia ({in_absentia:g}) and after a hearing "
                    f"({self.p_order_after_hearing:g}) are more than all decided cases"
                )
        return self


def decided_share(
    intake_start_day: int, intake_end_day: int, mean_days_to_decision: float
) -> float:
    """Share of persons who entered evenly over [start, end] (days, up to day 0) and have had
    their decision by day 0, when time to decision is exponential with the given mean.

    A person entering on day t (t <= 0) is decided by day 0 with probability
    1 - exp(t / m); averaged over t in [a, b] that is 1 - m (e^(b/m) - e^(a/m)) / (b - a).
    """
    start, end, mean = intake_start_day, intake_end_day, mean_days_to_decision
    if end == start:
        return 1.0 - math.exp(start / mean)
    return 1.0 - mean * (math.exp(end / mean) - math.exp(start / mean)) / (end - start)


@dataclass(frozen=True)
class CourtTargets:
    """What one court's docket gives its city at day 0."""

    city: str
    persons_flagged: int
    persons_decided: float
    persons_with_orders: float
    target_persons: int
    p_in_absentia: float  # share of the city's targets whose order was issued in absentia


def court_targets(docket: Docket) -> list[CourtTargets]:
    """Each court's target persons and in-absentia share, in the order of ``docket.courts``."""
    decided = decided_share(
        docket.intake_start_day, docket.intake_end_day, docket.mean_days_to_decision
    )
    answer = []
    for court in docket.courts:
        in_absentia = (
            court.p_order_in_absentia
            if court.p_order_in_absentia is not None
            else docket.p_order_in_absentia
        )
        ordered_share = in_absentia + docket.p_order_after_hearing
        persons_decided = court.persons_flagged * decided
        persons_with_orders = persons_decided * ordered_share
        answer.append(
            CourtTargets(
                city=court.city,
                persons_flagged=court.persons_flagged,
                persons_decided=persons_decided,
                persons_with_orders=persons_with_orders,
                target_persons=round(persons_with_orders * docket.p_listed),
                p_in_absentia=in_absentia / ordered_share if ordered_share > 0 else 0.0,
            )
        )
    return answer


def with_docket_targets(data: dict[str, Any], docket: Docket) -> dict[str, Any]:
    """Scenario data with the docket's target persons and in-absentia shares filled in where
    missing, their provenance marked "derived". Data of the wrong shape is left as it is, for
    the field validation to report."""
    cities, overrides = data.get("cities"), data.get("city_overrides", {})
    if not isinstance(cities, list) or not isinstance(overrides, dict):
        return data
    cities = [c.model_dump() if isinstance(c, BaseModel) else c for c in cities]
    overrides = {
        name: o.model_dump(exclude_none=True) if isinstance(o, BaseModel) else o
        for name, o in overrides.items()
    }
    if not all(isinstance(c, dict) for c in cities) or not all(
        isinstance(o, dict) for o in overrides.values()
    ):
        return data
    cities = [dict(city) for city in cities]
    overrides = {name: dict(override) for name, override in overrides.items()}
    provenance = dict(data.get("provenance") or {})
    names = [city.get("name") for city in cities]
    for index, court in enumerate(court_targets(docket)):
        if court.city not in names:
            continue  # reported by the cross-checks
        position = names.index(court.city)
        if cities[position].get("target_persons") is None:
            cities[position]["target_persons"] = court.target_persons
        provenance[f"cities.{position}.target_persons"] = {
            "kind": "derived",
            "note": f"docket stage (docket.courts.{index}): {court.persons_flagged:,} flagged, "
            f"{court.persons_decided:,.0f} decided by day 0, {court.persons_with_orders:,.0f} "
            f"with removal orders, {docket.p_listed:.2%} of them listed",
        }
        override = overrides.setdefault(court.city, {})
        if override.get("p_in_absentia") is None:
            override["p_in_absentia"] = court.p_in_absentia
        provenance[f"city_overrides.{court.city}.p_in_absentia"] = {
            "kind": "derived",
            "note": f"docket stage (docket.courts.{index}): share of the removal orders issued "
            "in absentia",
        }
    return {**data, "cities": cities, "city_overrides": overrides, "provenance": provenance}


def check_docket_targets(scenario: Scenario, docket: Docket) -> None:
    """Every court must feed a city of the scenario, and values given for its city must be the
    docket's (a scenario cannot say two different things)."""
    names = [city.name for city in scenario.cities]
    for index, court in enumerate(court_targets(docket)):
        if court.city not in names:
            raise ValueError(
                f"docket.courts.{index}.city: {court.city!r} is not a city of this scenario"
                f"{did_you_mean(court.city, names)}"
            )
        position = names.index(court.city)
        given = scenario.cities[position].target_persons
        if given != court.target_persons:
            raise ValueError(
                f"cities.{position}.target_persons: {given} given, but the docket gives "
                f"{court.target_persons} (docket.courts.{index}); leave it out to use the docket's"
            )
        share = scenario.city_parameter(court.city, "p_in_absentia")
        if share != court.p_in_absentia:
            raise ValueError(
                f"city_overrides.{court.city}.p_in_absentia: {share:g} given, but the docket "
                f"gives {court.p_in_absentia:.4f} (docket.courts.{index}); leave it out to use "
                "the docket's"
            )
