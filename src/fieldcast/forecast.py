"""A forecast: the scenario, its no-leak twin run with the same seed, and what a user sees first.

The leak effect is measured by running the scenario a second time without its leak events,
with the same seed: every transition draws from the same named stream on the same day in both
runs (common random numbers), and the effect is the per-replication difference, so that the
spread of the difference reflects the leak and as little sampling noise as the engine allows.
How strongly the two runs are coupled is reported with the effect (``correlation``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fieldcast.assumptions import PriorPredictive, prior_predictive
from fieldcast.costs import cost_items, replication_costs
from fieldcast.metrics import HORIZON_METRICS, MEASURES, METRICS, STORED_METRICS
from fieldcast.reference import simulate_reference
from fieldcast.replications import simulate_many, simulate_one
from fieldcast.results import (
    TOTAL,
    Results,
    binding_resources,
    goal_day_interval,
    goal_days,
    interval,
    outcome_rows,
)
from fieldcast.scenario import Scenario
from fieldcast.workers import Progress

if TYPE_CHECKING:
    from distributed import Client

# What the intervals of a forecast's results include (the prior predictive says its own).
REPLICATION_ONLY = (
    "replication noise only: the scenario's values are taken as exact; "
    "90% intervals (5th to 95th percentile)"
)


@dataclass(frozen=True)
class Forecast:
    """The run of a scenario and of the same scenario without its leak."""

    results: Results
    without_leak: Results  # kept at the end of field work only (what the leak effect needs)
    engine: str = "counts"
    # outcomes with the assumptions drawn from their priors (``--uncertainty assumptions``)
    assumptions: PriorPredictive | None = None

    @property
    def scenario(self) -> Scenario:
        return self.results.scenario

    def summary(self) -> dict[str, Any]:
        """The forecast as one JSON-ready dictionary (what ``fieldcast forecast --json`` prints).

        Returns
        -------
        dict
            Scenario, seed and replications; the chance of the goal and when it is reached;
            persons arrested (median and 90% interval) in total, per city and per field day;
            the leak's effect; what binds; costs; the people affected; and what the
            intervals include.
        """
        results, scenario = self.results, self.scenario
        goal = scenario.operation.goal_persons
        arrested = results.outcome("arrests")
        arrested_by_horizon = results.outcome("arrests", when="horizon")
        return {
            "fieldcast_version": version("fieldcast"),
            "scenario": scenario.name,
            "scenario_title": scenario.title,
            "scenario_sha256": hashlib.sha256(scenario.canonical_json().encode()).hexdigest(),
            "seed": results.seed,
            "replications": results.replications,
            "engine": self.engine,
            "intervals_include": REPLICATION_ONLY,
            "goal_persons": goal,
            "target_persons": sum(city.target_persons for city in scenario.cities),
            "p_goal": float(np.mean(arrested >= goal)),
            "p_goal_by_horizon": float(np.mean(arrested_by_horizon >= goal)),
            "persons_arrested": interval(arrested),
            "persons_arrested_by_horizon": interval(arrested_by_horizon),
            "goal_day": self._goal_day(),
            "by_city": self._by_city(),
            "arrests_by_day": self._arrests_by_day(),
            "arrests_by_day_replications": results.band_replications,
            "leak_effect_persons": self._leak_effect(),
            "binding": self._binding(),
            "cost": self._cost(),
            "people_affected": self._people_affected(),
            "with_assumption_uncertainty": (
                self.assumptions.summary() if self.assumptions is not None else None
            ),
        }

    def _by_city(self) -> dict[str, Any]:
        results = self.results
        by_city = {}
        for city in self.scenario.cities:
            at_field_end = interval(results.outcome("arrests", place=city.name))
            by_city[city.name] = {
                **at_field_end,
                "target_persons": city.target_persons,
                "by_horizon": interval(results.outcome("arrests", when="horizon", place=city.name)),
            }
        return by_city

    def _goal_day(self) -> dict[str, Any]:
        """When the goal is reached (``results.goal_day_interval``), over every replication."""
        results = self.results
        day = goal_days(int(results.days[0]), results.goal_day)
        return goal_day_interval(day, self.scenario.operation.field_days)

    def _arrests_by_day(self) -> list[dict[str, float]]:
        """Cumulative persons arrested on each field day (quantiles from the band sample)."""
        results = self.results
        band = results.band_by_day("arrests")
        field_days = range(self.scenario.operation.field_days)
        rows = []
        for day in field_days:
            index = day - int(results.days[0])
            rows.append(
                {
                    "day": day,
                    "p05": float(band[0, index]),
                    "median": float(band[1, index]),
                    "p95": float(band[2, index]),
                    "mean": float(results.mean_by_day("arrests")[index]),
                }
            )
        return rows

    def _leak_effect(self) -> dict[str, Any]:
        with_leak = self.results.outcome("arrests")
        without_leak = self.without_leak.outcome("arrests")
        difference = with_leak - without_leak
        spread = np.std(with_leak) * np.std(without_leak)
        correlation = float(np.corrcoef(with_leak, without_leak)[0, 1]) if spread > 0 else 1.0
        return {
            **interval(difference),
            "mean": float(np.mean(difference)),
            "persons_arrested_without_leak": interval(without_leak),
            "correlation": correlation,
        }

    def _binding(self) -> dict[str, Any]:
        results = self.results
        capacity_days = results.field_days_with_capacity  # [city]
        full_share_by_city = results.full_capacity_days.mean(axis=0) / np.maximum(capacity_days, 1)
        total_capacity_days = capacity_days.sum()
        full_share = (
            float(results.full_capacity_days.sum(axis=1).mean() / total_capacity_days)
            if total_capacity_days
            else 0.0
        )
        backlog_end = results.outcome("awaiting_removal", when="horizon")
        # a city with targets that can attempt on no field day: teams bind there, whatever
        # the share of full days elsewhere says
        targets = {city.name: city.target_persons for city in self.scenario.cities}
        without_capacity = [
            city
            for city, days in zip(results.cities, capacity_days, strict=True)
            if days == 0 and targets[city] > 0
        ]
        binding = binding_resources(
            full_share,
            float(np.mean(results.bed_shortfall_days > 0)),
            float(np.mean(backlog_end > 0)),
            float(np.mean(results.monitor_shortfall_days.sum(axis=1) > 0)),
            len(without_capacity),
        )
        return {
            "binds": binding,
            "team_capacity_full_share": full_share,
            "cities_with_targets_without_capacity": without_capacity,
            "team_capacity_full_share_by_city": {
                city: float(share)
                for city, share in zip(results.cities, full_share_by_city, strict=True)
            },
            "bed_pool_full_days": interval(results.bed_shortfall_days),
            "p_bed_pool_full": float(np.mean(results.bed_shortfall_days > 0)),
            "beds_free_at_start": max(
                self.scenario.detention.beds - self.scenario.detention.baseline_occupancy, 0
            ),
            "transport_backlog_max_persons": interval(results.removal_backlog_max),
            "transport_backlog_at_horizon_persons": interval(backlog_end),
            "monitor_stockout_days": interval(results.monitor_shortfall_days.sum(axis=1)),
            "p_monitor_stockout": float(np.mean(results.monitor_shortfall_days.sum(axis=1) > 0)),
        }

    def _cost(self) -> dict[str, Any]:
        results = self.results
        officer_days = float(results.officer_days.sum())
        removed_persons = results.outcome("removals", when="horizon")
        used = (officer_days, results.bed_days, results.monitor_days, removed_persons)
        officers, beds, monitors, transport = cost_items(self.scenario.costs, *used)
        total = replication_costs(self.scenario.costs, *used)
        arrested = results.outcome("arrests", when="horizon")
        with np.errstate(divide="ignore", invalid="ignore"):
            per_arrest = np.where(arrested > 0, total / arrested, np.nan)
            per_removal = np.where(removed_persons > 0, total / removed_persons, np.nan)
        return {
            "currency": "USD",
            "officer_days": officer_days,
            "officers": officers,
            "bed_days": interval(results.bed_days),
            "beds": interval(beds),
            "monitor_days": interval(results.monitor_days),
            "monitors": interval(monitors),
            "persons_removed": interval(removed_persons),
            "transport": interval(transport),
            "total": interval(total),
            "per_person_arrested": _nan_interval(per_arrest),
            "per_person_removed": _nan_interval(per_removal),
        }

    def _people_affected(self) -> dict[str, Any]:
        results = self.results
        affected: dict[str, Any] = {}
        for label, metric in (
            ("arrested", "arrests"),
            ("detained", "detentions"),
            ("removed", "removals"),
            ("released_on_notice", "notices"),
            ("fitted_with_monitor", "monitors_fitted"),
            ("departed_on_notice", "departures"),
            ("released_after_relief", "relief_releases"),
            ("lost_to_follow_up", "losses"),
            ("rearrested", "rearrests"),
        ):
            affected[label] = {
                measure: interval(results.outcome(metric, measure, when="horizon"))
                for measure in ("persons", "minors", "households")
            }
        affected["collateral_arrests_persons"] = interval(results.collateral(when="horizon"))
        return affected


# The outcomes reported with and without the assumptions' uncertainty: (label, key of the
# prior predictive's summary, in USD?)
_UNCERTAINTY_ROWS = (
    ("Target persons arrested by the end of field work", "persons_arrested", False),
    ("Target persons arrested by the horizon", "persons_arrested_by_horizon", False),
    ("Persons removed by the horizon", "persons_removed", False),
    ("Total cost to the horizon", "total_cost", True),
)
GOAL_DAY_LABEL = "Field day the goal is reached"  # its row follows ``_UNCERTAINTY_ROWS``


def uncertainty_pairs(summary: dict[str, Any]) -> list[tuple[str, dict, dict, bool]]:
    """Each outcome's interval with replication noise only and with the assumptions too."""
    forecast = {
        "persons_arrested": summary["persons_arrested"],
        "persons_arrested_by_horizon": summary["persons_arrested_by_horizon"],
        "persons_removed": summary["cost"]["persons_removed"],
        "total_cost": summary["cost"]["total"],
    }
    prior = summary["with_assumption_uncertainty"]
    return [(label, forecast[key], prior[key], money) for label, key, money in _UNCERTAINTY_ROWS]


def goal_day_pair(summary: dict[str, Any]) -> tuple[dict, dict] | None:
    """When the goal is reached with replication noise only and with the assumptions too, if
    one replication in twenty reaches it in either (runs stored before 2026-12-07 lack it)."""
    alone = summary.get("goal_day")
    with_prior = (summary.get("with_assumption_uncertainty") or {}).get("goal_day")
    if alone is None or with_prior is None:
        return None
    if alone["p05"] is None and with_prior["p05"] is None:
        return None
    return alone, with_prior


def _nan_interval(values: np.ndarray) -> dict[str, float | None]:
    if np.all(np.isnan(values)):
        return {"median": None, "p05": None, "p95": None}
    p05, median, p95 = np.nanquantile(values, (0.05, 0.5, 0.95))
    return {"median": float(median), "p05": float(p05), "p95": float(p95)}


def run_forecast(
    scenario: Scenario,
    replications: int = 10_000,
    seed: int = 2019,
    processes: int = 1,
    progress: Progress | None = None,
    engine: Literal["counts", "reference"] = "counts",
    client: Client | None = None,
    assumption_draws: int = 0,
) -> Forecast:
    """Run a scenario and its no-leak twin with the same seed (common random numbers).

    A scenario without leak events is its own twin: it is run once and the effect is zero.
    ``engine="reference"`` runs the per-household reference model instead (slow; its twin
    shares the seed but, drawing per household, not the random numbers). With a Dask
    ``client`` the chunks run on its cluster; the numbers are the same.

    Parameters
    ----------
    scenario : Scenario
        The operation to forecast.
    replications : int
        Replications of the scenario (and as many of its twin).
    seed : int
        Run seed: the same seed gives the same results, however the work is split.
    processes : int
        Local processes to run the chunks on (1: this process).
    progress : callable, optional
        Called with (replications done, in all) as chunks finish, the twin's and the prior
        predictive's counted too, so that it reaches its total once, at the end.
    engine : {"counts", "reference"}
        The fast count-based engine, or the per-household reference model.
    client : distributed.Client, optional
        A Dask client whose cluster runs the chunks instead of local processes.
    assumption_draws : int
        If above 0, also run the prior predictive (``assumptions.py``): as many replications
        again, with the assumptions drawn from the scenario's ``[ranges]`` that many times, so
        the report can show intervals that include what the scenario does not know.

    Returns
    -------
    Forecast
        The run, its twin, and the prior predictive if asked for.
    """
    scenarios = [scenario]
    if any(event.peak_hazard > 0 for event in scenario.leak.events):
        scenarios.append(scenario.without_leak())
    in_all = (len(scenarios) + bool(assumption_draws)) * replications

    def part(first: int, runs: int) -> Progress | None:
        """The progress of ``runs`` of the replications from run ``first`` on, as a part of
        the whole: each part counts its own chunks from zero."""
        if progress is None:
            return None
        return lambda done, total: progress((first + runs * done / total) * replications, in_all)

    if engine == "reference":
        runs = [
            simulate_reference(s, replications, seed, processes, part(i, 1), client)
            for i, s in enumerate(scenarios)
        ]
    else:
        # the twin is compared at the end of field work only: its horizon values are not kept
        keep_horizon = [True, False][: len(scenarios)]
        runs = simulate_many(
            scenarios,
            replications,
            seed,
            processes,
            part(0, len(scenarios)),
            client,
            keep_horizon=keep_horizon,
        )
    assumptions = None
    if assumption_draws:
        assumptions = prior_predictive(
            scenario,
            replications,
            seed,
            assumption_draws,
            processes,
            part(len(scenarios), 1),
            client,
        )
    return Forecast(results=runs[0], without_leak=runs[-1], engine=engine, assumptions=assumptions)


@dataclass(frozen=True)
class Replay:
    """One replication of a run, recomputed alone (``fieldcast forecast --replication K``).

    Its random numbers are keyed by (seed, replication), so it is the replication of any run
    of the scenario with that seed, however that run was cut into chunks; ``stored`` holds a
    stored run's outcomes of it, to show that they agree bit for bit."""

    scenario: Scenario
    seed: int
    replication: int
    outcomes: list[tuple]  # (day, place, metric, households, persons, minors), sorted
    days: np.ndarray  # [day] day numbers
    trajectory: np.ndarray  # [day, place, metric, measure]
    resource_use: tuple[int, int]  # (bed-days, monitor-days)
    total_cost: float  # USD, as the forecast's cost of each replication
    run_id: str | None = None
    stored: list[tuple] | None = None  # the stored run's outcome rows, as ``outcomes``
    stored_resource_use: tuple[int, int] | None = None  # the stored run's, if it kept them

    def same_as_stored(self) -> bool | None:
        """Whether the stored run kept the same outcomes (and, if it kept them, bed-days and
        monitor-days) of this replication, to the bit.

        Returns
        -------
        bool or None
            None if there is no stored run, or it kept none (stored before fieldcast did).
        """
        if self.stored is None:
            return None
        used = self.stored_resource_use
        return self.stored == self.outcomes and used in (None, self.resource_use)

    def summary(self) -> dict[str, Any]:
        """The replication as one JSON-ready dictionary (``--replication K --json``).

        Returns
        -------
        dict
            Scenario, seed, replication and run; whether it is the stored run's; its kept outcomes
            as (day, place, metric, measure, value) rows; and its daily national totals in persons.
        """
        persons, total = MEASURES.index("persons"), -1  # the total is the last place
        return {
            "fieldcast_version": version("fieldcast"),
            "scenario": self.scenario.name,
            "scenario_sha256": hashlib.sha256(self.scenario.canonical_json().encode()).hexdigest(),
            "seed": self.seed,
            "replication": self.replication,
            "run": self.run_id,
            "same_as_stored": self.same_as_stored(),
            "bed_days": self.resource_use[0],
            "monitor_days": self.resource_use[1],
            "total_cost": self.total_cost,
            "outcomes": [
                {"day": day, "place": place, "metric": metric, "measure": measure, "value": value}
                for day, place, metric, *values in self.outcomes
                for measure, value in zip(MEASURES, values, strict=True)
                if value is not None
            ],
            "daily_persons": {
                "day": self.days.tolist(),
                **{
                    metric: self.trajectory[:, total, index, persons].tolist()
                    for index, metric in enumerate(METRICS)
                },
            },
        }


def replay(
    scenario: Scenario,
    seed: int,
    replication: int,
    run_id: str | None = None,
    stored: list[tuple] | None = None,
    stored_resource_use: tuple[int, int] | None = None,
) -> Replay:
    """Recompute one replication of a run alone, with its daily path.

    Parameters
    ----------
    scenario : Scenario
        The run's scenario.
    seed : int
        The run's seed.
    replication : int
        Which replication, counted from 0.
    run_id : str, optional
        The stored run it is compared with, if any.
    stored : list of tuple, optional
        That run's outcome rows of this replication (``outcome_tuples`` of
        ``RunStore.replication``), to say whether they agree.
    stored_resource_use : tuple of int, optional
        That run's bed-days and monitor-days of it (``RunStore.replication_resource_use``).

    Returns
    -------
    Replay
        Its outcomes, daily path and, given ``stored``, the comparison.
    """
    chunk, compiled = simulate_one(scenario, seed, replication)
    assert chunk.trajectories is not None
    return Replay(
        scenario=scenario,
        seed=seed,
        replication=replication,
        outcomes=outcome_tuples(outcome_rows(chunk, scenario, replication), scenario),
        days=np.arange(compiled.start_day, compiled.start_day + compiled.day_count),
        trajectory=chunk.trajectories[0],
        resource_use=(int(chunk.bed_days[0]), int(chunk.monitor_days[0])),
        total_cost=float(
            replication_costs(
                scenario.costs,
                float(compiled.officer_days.sum()),
                chunk.bed_days,
                chunk.monitor_days,
                chunk.at_horizon[:, HORIZON_METRICS.index("removals"), MEASURES.index("persons")],
            )[0]
        ),
        run_id=run_id,
        stored=stored,
        stored_resource_use=stored_resource_use,
    )


def outcome_tuples(rows: dict[str, np.ndarray], scenario: Scenario) -> list[tuple]:
    """Outcome rows (``results.outcome_rows`` codes, or names as the store gives them) as
    sorted tuples (day, place, metric, households, persons, minors), None where masked."""
    places = [*(city.name for city in scenario.cities), TOTAL]

    def name(value: Any, names: Sequence[str]) -> str:
        return value if isinstance(value, str) else names[int(value)]

    def count(column: np.ndarray, row: int) -> int | None:
        masked = np.ma.getmaskarray(column)[row]
        return None if masked else int(np.ma.getdata(column)[row])

    return sorted(
        (
            int(rows["day"][row]),
            name(rows["place"][row], places),
            name(rows["metric"][row], STORED_METRICS),
            *(count(rows[measure], row) for measure in MEASURES),
        )
        for row in range(len(rows["day"]))
    )
