"""What changed between two scenarios, as `runs compare`, the comparison report and the
dashboard show it: entries of a list (cities, courts, leak events) matched by name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb

from fieldcast.catalog import load_scenario
from fieldcast.costs import replication_costs
from fieldcast.forecast import run_forecast
from fieldcast.reports.comparison import (
    OUTCOME_ROWS,
    Change,
    paired_changes,
    scenario_changes,
    unpaired_because,
)
from fieldcast.results import interval
from fieldcast.scenario import Scenario, scenario_with
from fieldcast.store import RunStore


def test_a_city_removed_is_one_city_removed_not_every_later_one_renamed(
    seed_scenario: Scenario,
) -> None:
    """Atlanta, the first city, dropped and Chicago's target raised: the changes are
    Atlanta's fields (gone) and Chicago's target, nothing of the eight cities that did not
    change (compared by position, each would have shown its neighbour's name)."""
    cities = [c for c in seed_scenario.cities if c.name != "Atlanta"]
    cities = [
        c.model_copy(update={"target_persons": 300}) if c.name == "Chicago" else c for c in cities
    ]
    after = seed_scenario.model_copy(update={"cities": cities, "provenance": {}})
    city_changes = [
        c for c in scenario_changes(seed_scenario, after) if c.path.startswith("cities")
    ]
    assert city_changes == [
        Change("cities[Atlanta].name", "Atlanta", None),
        Change("cities[Atlanta].target_persons", 204, None),
        Change("cities[Chicago].target_persons", 204, 300),
    ]


def test_entries_without_a_name_are_compared_by_position() -> None:
    """Size classes have no name: they are compared by index, as before."""
    before = load_scenario("seed-2019")
    classes = list(before.households.classes)
    classes[0], classes[1] = (
        classes[0].model_copy(update={"share": classes[0].share - 0.05}),
        classes[1].model_copy(update={"share": classes[1].share + 0.05}),
    )
    after = before.model_copy(
        update={"households": before.households.model_copy(update={"classes": classes})}
    )
    paths = [change.path for change in scenario_changes(before, after)]
    assert paths == ["households.classes.0.share", "households.classes.1.share"]


def test_runs_of_one_seed_pair_up_replication_by_replication(tmp_path: Path) -> None:
    """Two stored runs of seed-2019 with the same seed, the second with a contact rate of 0.4:
    the paired change in persons arrested is the interval of the per-replication differences
    of the two forecasts (computed here from their results), the change in removals and
    minors too; runs with other seeds, or of the reference engine, are not paired, and say
    why."""
    store = RunStore(tmp_path / "runs.duckdb")
    seed = load_scenario("seed-2019")
    more = scenario_with(seed, ["city_defaults.p_contact=0.4"])
    forecasts = [run_forecast(s, replications=300, seed=5) for s in (seed, more)]
    first, second = (store.get(store.save(f, seconds=1.0)) for f in forecasts)
    totals = [store.national_outcomes(run.run_id) for run in (first, second)]
    paired = paired_changes(first, second, *totals)
    assert paired["unpaired"] is None
    rows = {row["outcome"]: row for row in paired["rows"]}
    expected = {
        "persons arrested by end of field work": ("arrests", "persons", "field_end"),
        "persons removed": ("removals", "persons", "horizon"),
        "minors removed": ("removals", "minors", "horizon"),
    }
    for label, (metric, measure, when) in expected.items():
        ours, theirs = (f.results.outcome(metric, measure, when) for f in forecasts)
        found = interval(theirs.astype(float) - ours.astype(float))
        assert (rows[label]["difference"], rows[label]["low"], rows[label]["high"]) == (
            found["median"],
            found["p05"],
            found["p95"],
        )
    assert rows["persons arrested by end of field work"]["low"] > 0  # 0.4 > 0.3, paired
    # the cost, from each replication's bed-days, monitor-days and removals as stored: each
    # run's median is its forecast's, and the change that of the per-replication differences
    costs = [
        replication_costs(
            f.scenario.costs,
            float(f.results.officer_days.sum()),
            f.results.bed_days,
            f.results.monitor_days,
            f.results.outcome("removals", when="horizon"),
        )
        for f in forecasts
    ]
    for run, cost in zip((first, second), costs, strict=True):
        assert interval(cost)["median"] == run.summary["cost"]["total"]["median"]
    found = interval(costs[1] - costs[0])
    cost_row = rows["total cost (USD)"]
    assert (cost_row["difference"], cost_row["low"], cost_row["high"]) == (
        found["median"],
        found["p05"],
        found["p95"],
    )
    assert cost_row["low"] > 0  # more arrests: more beds, monitors and removals to pay for
    # a run stored before its resource use was kept (store schema 6): no paired cost, the rest
    with duckdb.connect(str(store.path)) as connection:
        connection.execute("DELETE FROM resource_use WHERE run_id = ?", [first.run_id])
    older = paired_changes(first, second, store.national_outcomes(first.run_id), totals[1])
    assert [row["outcome"] for row in older["rows"]] == [
        row["outcome"] for row in paired["rows"] if row["outcome"] != "total cost (USD)"
    ]
    other_seed = store.get(store.save(run_forecast(more, replications=300, seed=6), seconds=1.0))
    assert paired_changes(first, other_seed, totals[0], totals[1])["unpaired"] == (
        "their seeds differ (5 and 6)"
    )
    assert unpaired_because(first, replace(second, engine="reference")) == (
        "the reference engine draws its own random numbers"
    )


def test_what_binds_is_said_in_words_as_the_forecast_says_it() -> None:
    """A resource's name in the outcomes of compared runs reads as in every other report."""
    summaries = [
        {"binding": {"binds": ["team_capacity", "beds"]}},
        {"binding": {"binds": []}},
    ]
    _, pick, _ = next(row for row in OUTCOME_ROWS if row[0] == "what binds")
    assert [pick(summary) for summary in summaries] == ["team capacity, beds", "nothing"]
