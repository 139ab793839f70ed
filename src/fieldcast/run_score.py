"""A stored forecast held against what happened: `fieldcast runs score RUN --observed NAME`.

A forecast published before an operation says, for each place and metric, how many persons it
expected and within what interval. Once counts are observed, this module says where each
observed series fell in that forecast, twice:

- **as forecast**: the run's own replications (the scenario's values; its intervals hold
  replication noise only), recomputed with the run's seed, replication by replication, at the
  observed days (the same numbers as the stored run: counter-based random numbers);
- **with the assumptions' uncertainty**: the prior predictive of the scenario's ``[ranges]``
  (as ``fieldcast forecast --uncertainty assumptions`` draws it with the run's seed).

Each series is scored on the persons reported over its observed days (its counts summed),
against each predictive's simulated counts reported through the scenario's observation
model: the median and 90% interval (ends included), the mid-PIT (the share of the forecast
below the count plus half the share at it: near 0 or 1 when the count lies in a tail, 0.5 for
a forecast certain of it) and the CRPS in persons (``backtest.py``).

The series of one operation share its circumstances, so how many of them a 90% interval
holds is a description of this operation, not a test of calibration across operations
(``fieldcast backtest`` scores forecasts day by day).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fieldcast.assumptions import DEFAULT_DRAWS, prior_predictive_draws
from fieldcast.backtest import crps
from fieldcast.calibration import observation_draws, simulate_observed_in_chunks
from fieldcast.compiled import compile_scenario
from fieldcast.observations import OBSERVABLE, TOTAL, ObservationSet, ObservedCount
from fieldcast.recording import band_sample_size
from fieldcast.scenario import Scenario

if TYPE_CHECKING:
    from distributed import Client

SCORE_KEY = 0x5C0  # keys the reporting noise (with the run's seed)
SCORED_REPLICATIONS = 10_000  # of a larger run, its first this many are scored
QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class SeriesScore:
    """One observed series against the two predictives."""

    place: str
    metric: str
    first_day: int
    last_day: int
    days: str  # the days its counts cover, as spans ("0 to 6"; "0, 2 to 5" with a gap)
    observed: int  # persons reported over the series' observed days
    as_forecast: dict[str, Any]  # median, p05, p95, inside_90, pit (the mid-PIT), crps
    with_assumptions: dict[str, Any] | None  # the same, None without [ranges]


@dataclass(frozen=True)
class RunScore:
    """Every observed series of a set held against a stored run's forecast."""

    run_id: str
    scenario: Scenario
    seed: int
    replications: int  # of the run, scored
    assumption_draws: int  # of the prior predictive (0: the scenario has no ranges)
    observations: str
    series: list[SeriesScore]

    def summary(self) -> dict[str, Any]:
        """What ``fieldcast runs score`` prints, as JSON-ready data."""
        inside: dict[str, int | None] = {
            name: sum(1 for s in self.series if (score := getattr(s, name)) and score["inside_90"])
            for name in ("as_forecast", "with_assumptions")
        }
        if not self.assumption_draws:  # no ranges: nothing was held with them
            inside["with_assumptions"] = None
        return {
            "run_id": self.run_id,
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications_scored": self.replications,
            "assumption_draws": self.assumption_draws,
            "observations": self.observations,
            "scored": (
                "persons reported in each observed series over its observed days, against the "
                "run's replications (as forecast: replication noise only)"
                + (
                    " and against the prior predictive of the scenario's ranges (with the "
                    "assumptions' uncertainty)"
                    if self.assumption_draws
                    else ""
                )
                + ", each simulated count reported through the scenario's observation model"
            ),
            "series": [s.__dict__ for s in self.series],
            "inside_90": inside,
            "series_count": len(self.series),
        }


def recomputable(engine: str) -> bool:
    """Whether runs of ``engine`` can be scored: the per-household reference draws per
    household, so its replications cannot be recomputed at other days than it kept."""
    return engine == "counts"


def check_recomputable(run_id: str, engine: str) -> None:
    """Refuse, with the reason, a run that cannot be scored (``recomputable``).

    Raises
    ------
    ValueError
        If the run used another engine than the count-based one.
    """
    if not recomputable(engine):
        raise ValueError(
            f"run {run_id} used the {engine} engine; only runs of the counts engine can be "
            "recomputed at the observed days"
        )


def _spans(counts: list[ObservedCount]) -> str:
    """The days counts cover, as spans of consecutive days: "0 to 6", or "0, 2 to 5"."""
    covered = sorted({day for c in counts for day in range(c.first_day, c.last_day + 1)})
    spans: list[list[int]] = []
    for day in covered:
        if spans and day == spans[-1][1] + 1:
            spans[-1][1] = day
        else:
            spans.append([day, day])
    return ", ".join(str(a) if a == b else f"{a} to {b}" for a, b in spans)


def run_replications(
    scenario: Scenario,
    seed: int,
    replications: int,
    days: list[int],
    processes: int = 1,
    client: Client | None = None,
) -> np.ndarray:
    """The first ``replications`` replications of a run of ``scenario`` with ``seed`` (its
    values; ranges ignored), recomputed: cumulative persons of every observable metric at the
    end of each of ``days`` [replication, day, place, metric] (place: the cities, then the
    total). Each replication's random numbers are keyed by (seed, replication), and the first
    keep a daily path as the run's band sample did, so these are the stored run's own."""
    as_given = scenario.model_copy(update={"ranges": {}})
    sampled = band_sample_size(compile_scenario(as_given).day_count)  # as the run kept them
    each_alone = np.arange(replications)[:, None]  # the scenario's values, one lane a row
    cumulative = simulate_observed_in_chunks(
        as_given, np.zeros((replications, 0)), each_alone, seed, days, processes, client, sampled
    )
    return cumulative[:, 0]


def _prior_predictive(
    scenario: Scenario,
    seed: int,
    replications: int,
    draws: int,
    days: list[int],
    processes: int = 1,
    client: Client | None = None,
) -> tuple[np.ndarray, int]:
    """The prior predictive of the scenario's ranges as ``fieldcast forecast --uncertainty
    assumptions`` draws it with ``seed`` (``assumptions.prior_predictive_draws``), at
    ``days`` [lane, day, place, metric], and the number of draws; lanes of draws that make
    no valid scenario are left out."""
    points, per_draw = prior_predictive_draws(scenario, replications, seed, draws)
    indices = np.arange(len(points) * per_draw).reshape(len(points), per_draw)
    drawn = simulate_observed_in_chunks(scenario, points, indices, seed, days, processes, client)
    drawn = drawn.reshape(-1, *drawn.shape[2:])
    return drawn[np.isfinite(drawn).all(axis=(1, 2, 3))], len(points)


def score_run(
    run_id: str,
    scenario: Scenario,
    seed: int,
    replications: int,
    observed: ObservationSet,
    observations: str,
    assumption_draws: int = DEFAULT_DRAWS,
    processes: int = 1,
    client: Client | None = None,
) -> RunScore:
    """Score every observed series against a stored run's forecast (module docstring).

    Parameters
    ----------
    run_id : str
        The stored run.
    scenario : Scenario
        Its scenario, as stored.
    seed : int
        Its seed.
    replications : int
        Its replications (of more than ``SCORED_REPLICATIONS``, the first that many).
    observed : ObservationSet
        The observed counts, checked against the scenario.
    observations : str
        What they are (a stored set's name, version and hash, or a file).
    assumption_draws : int
        Draws of the ranged assumptions for the prior predictive (``--draws`` of
        ``forecast --uncertainty assumptions``).
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the lanes instead.

    Returns
    -------
    RunScore
    """
    counts = observed.counts()
    days = sorted({c.last_day for c in counts} | {c.first_day - 1 for c in counts} - {-1})
    scored = min(replications, SCORED_REPLICATIONS)
    predictives = {"as_forecast": run_replications(scenario, seed, scored, days, processes, client)}
    draws = 0
    if scenario.ranges:
        predictives["with_assumptions"], draws = _prior_predictive(
            scenario, seed, scored, assumption_draws, days, processes, client
        )
    by_series: dict[tuple[str, str], list[ObservedCount]] = {}
    for count in counts:
        by_series.setdefault((count.place, count.metric), []).append(count)
    places = [city.name for city in scenario.cities] + [TOTAL]
    generator = np.random.default_rng(np.random.SeedSequence([seed, SCORE_KEY]))
    series = []
    for (place, metric), members in sorted(by_series.items()):
        place_index, metric_index = places.index(place), list(OBSERVABLE).index(metric)
        observed_total = sum(c.persons for c in members)
        scores: dict[str, dict[str, Any]] = {}
        for name, cumulative in predictives.items():
            reported = np.zeros(len(cumulative))
            for count in members:
                end = cumulative[:, days.index(count.last_day), place_index, metric_index]
                before = (
                    cumulative[:, days.index(count.first_day - 1), place_index, metric_index]
                    if count.first_day > 0
                    else 0.0
                )
                reported += observation_draws(scenario.observation, end - before, generator)
            p05, median, p95 = np.quantile(reported, QUANTILES, method="inverted_cdf")
            scores[name] = {
                "median": float(median),
                "p05": float(p05),
                "p95": float(p95),
                "inside_90": bool(p05 <= observed_total <= p95),
                # the mid-PIT, F(y - 1) + P(y) / 2: 0.5 for a forecast certain of the count
                "pit": float(
                    np.mean(reported < observed_total) + np.mean(reported == observed_total) / 2
                ),
                "crps": crps(reported, observed_total),
            }
        series.append(
            SeriesScore(
                place,
                metric,
                min(c.first_day for c in members),
                max(c.last_day for c in members),
                _spans(members),
                observed_total,
                scores["as_forecast"],
                scores.get("with_assumptions"),
            )
        )
    return RunScore(run_id, scenario, seed, scored, draws, observations, series)
