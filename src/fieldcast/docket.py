"""The docket stage (docs/model.md, section 4): from a dedicated court docket to the target list.

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldcast.scenario import Docket


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
