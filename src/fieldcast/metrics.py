"""The names of what fieldcast records, in one place (docs/model.md, section 3).

Every metric is counted in households per (replication, day, city, size class) by the engine and
reported in three measures: households, persons and minors. Stocks are the state at the end of
the day; flows are reported cumulatively (from the first simulated day to the end of the day),
so a daily flow is the difference of two days.
"""

STOCKS = (
    "open",  # not arrested, not closed (at the address or moved)
    "at_address",  # open and still at the address on file
    "moved",  # open and no longer at the address on file
    "closed",  # max_attempts reached without arrest
    "detained",  # in detention: processing or awaiting removal (persons = beds in use)
    "awaiting_removal",  # processed, waiting for a transport seat (persons = transport backlog)
    "on_notice",  # released with a notice to depart, deadline not reached
    "monitored",  # on notice and wearing an ankle monitor
    "awaiting_disposition",  # re-arrested at a notice deadline, disposed of the next day
)

FLOWS = (
    "moved_away",  # baseline and leak moves
    "moved_after_alert",  # moves of households alerted by a failed attempt
    "attempts",  # attempts made (a household is attempted at most once a day)
    "not_found",  # attempts at a household that had moved
    "contacts",  # attempts that reached the household
    "arrests",  # target households arrested (first arrests, not re-arrests)
    "closures",  # households closed at max_attempts
    "detentions",  # households placed in family detention
    "notices",  # households released with a notice to depart
    "monitors_fitted",  # households fitted with an ankle monitor
    "relief_releases",  # detained households released after a stay or reopened case
    "removals",  # households removed
    "departures",  # households that left by their notice deadline
    "rearrests",  # monitored households re-arrested at their deadline
    "losses",  # households lost to follow-up at their deadline
)

METRICS = STOCKS + FLOWS
MEASURES = ("households", "persons", "minors")
# Non-target persons arrested alongside (collateral arrests): kept apart from METRICS, in
# persons only, and stored and exported under this name after METRICS (code len(METRICS)).
COLLATERAL = "collateral_arrests"
STORED_METRICS = (*METRICS, COLLATERAL)

# Per-city daily series whose quantiles are kept (persons); every metric has a per-city daily
# mean and a national daily quantile band.
CITY_BAND_METRICS = ("arrests", "detained", "on_notice", "removals")

# Metrics kept for every replication, at the horizon and after the last field day: what the
# summaries use (every metric is kept for the trajectory sample).
FIELD_END_METRICS = ("arrests",)
HORIZON_METRICS = (
    "arrests",
    "attempts",
    "contacts",
    "closures",
    "detentions",
    "notices",
    "monitors_fitted",
    "relief_releases",
    "removals",
    "departures",
    "rearrests",
    "losses",
    "detained",
    "awaiting_removal",
    "on_notice",
)


# Of those, the ones kept per city too at the horizon (the others: national totals only; every
# metric has per-city daily means). Per-city values of every metric for every replication
# would be most of a large run's memory.
CITY_HORIZON_METRICS = ("arrests",)


def metric_index(name: str) -> int:
    """Position of a metric on the metric axis of the engine's arrays."""
    try:
        return METRICS.index(name)
    except ValueError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None
