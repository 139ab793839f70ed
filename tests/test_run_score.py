"""A stored forecast held against what happened (`fieldcast runs score`): the run recomputed
replication by replication, intervals that hold what the run's own scenario produces as often
as they say, and a run whose assumptions were wrong told apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fieldcast.calibration import synthetic_observations
from fieldcast.catalog import load_scenario
from fieldcast.forecast import run_forecast
from fieldcast.observations import OBSERVABLE, TOTAL, ObservationSet, ObservedRow
from fieldcast.run_score import run_replications, score_run
from fieldcast.scenario import scenario_with
from fieldcast.store import RunStore
from test_calibrate_cli import fieldcast

SEED = load_scenario("seed-2019")


def test_the_run_is_recomputed_replication_by_replication(tmp_path: Path) -> None:
    """The persons each city arrested by the end of field work, recomputed, are the stored
    run's, replication by replication: in its band sample (whose lanes keep a daily path and
    draw other numbers than the rest) and after it."""
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.save(run_forecast(SEED, replications=1010, seed=3), 1.0)
    field_end = SEED.operation.field_days - 1
    recomputed = run_replications(SEED, 3, 1010, [field_end])[:, 0]
    arrests = list(OBSERVABLE).index("arrests")
    for replication in (0, 17, 999, 1000, 1009):
        rows = store.replication(run_id, replication)
        assert rows is not None
        for c, city in enumerate(SEED.cities):
            kept = (rows["day"] == field_end) & (rows["place"] == city.name)
            kept &= rows["metric"] == "arrests"
            assert rows["persons"][kept].tolist() == [recomputed[replication, c, arrests]]


def _coverage(truth_changes: list[str], operations: int = 30) -> dict[str, np.ndarray]:
    """Per operation, the share of its ten cities' arrests over days 0 to 6 inside the 90%
    intervals of a 400-replication run of seed-2019, as forecast and with the assumptions'
    uncertainty (50 draws), each operation one replication of the truth with its own seed."""
    truth = scenario_with(SEED, truth_changes) if truth_changes else SEED
    shares: dict[str, list[float]] = {"as_forecast": [], "with_assumptions": []}
    for operation in range(operations):
        observed = synthetic_observations(truth, 6, 100 + operation, ("arrests",), 10**6)
        summary = score_run("run", SEED, 2019, 400, observed, "synthetic", 50).summary()
        for name, inside in summary["inside_90"].items():
            shares[name].append(inside / summary["series_count"])
    return {name: np.array(values) for name, values in shares.items()}


def test_intervals_hold_what_the_runs_own_scenario_produces_and_a_wrong_one_is_told() -> None:
    """Thirty operations of seed-2019 itself: the run's 90% intervals (ends included) hold
    at least 90% of the series on average, within 2.58 standard errors (99% confidence;
    operations are independent, an operation's cities nearly so). Operations with contact
    and arrest rates at the top of their ranges (0.45 and 0.8; the scenario says 0.3 and
    0.6) fall below that band as forecast (the power to tell), and the intervals with the
    assumptions' uncertainty, whose ranges include those rates, hold more of them."""
    right = _coverage([])["as_forecast"]
    band = 0.90 - 2.58 * right.std(ddof=1) / np.sqrt(len(right))
    assert right.mean() >= band
    wrong = _coverage(["city_defaults.p_contact=0.45", "city_defaults.p_arrest_given_contact=0.8"])
    assert wrong["as_forecast"].mean() < band
    assert wrong["with_assumptions"].mean() > wrong["as_forecast"].mean()


def test_runs_score_prints_and_refuses(tmp_path: Path) -> None:
    """`runs score` as a user runs it: the JSON, the HTML page and the table; a run of the
    reference engine (which cannot be recomputed replication by replication) and an unknown
    run refused."""
    store = tmp_path / "runs.duckdb"
    RunStore(store).save(run_forecast(SEED, replications=200, seed=3), 1.0)
    observed = synthetic_observations(SEED, 4, 7, ("arrests", "detentions"))
    rows = [f"{r.day},{r.place},{r.metric},{r.value},{r.basis}" for r in observed.rows]
    (tmp_path / "counts.csv").write_text("day,place,metric,value,basis\n" + "\n".join(rows))
    score = ["runs", "score", "latest", "--observed", "counts.csv", "--draws", "20"]
    summary = json.loads(fieldcast(store, *score, "--json", "--out", "score.html").stdout)
    assert summary["seed"] == 3 and summary["replications_scored"] == 200
    assert summary["assumption_draws"] == 20
    assert summary["series_count"] == 20 == len(summary["series"])
    assert {s["last_day"] for s in summary["series"]} == {4}
    page = (tmp_path / "score.html").read_text()
    assert "Inside the 90% interval as forecast" in page and "Atlanta arrests" in page
    shown = fieldcast(store, *score).stdout
    assert "Inside the 90% interval as forecast" in shown and "Atlanta arrests" in shown
    RunStore(store).save(run_forecast(SEED, replications=2, seed=3, engine="reference"), 1.0)
    refused = fieldcast(store, *score, check=False)
    assert refused.returncode == 2 and "only runs of the counts engine" in refused.stderr
    unknown = fieldcast(store, "runs", "score", "nosuchrun", "--observed", "x.csv", check=False)
    assert unknown.returncode == 2 and "nosuchrun" in unknown.stderr


@pytest.mark.parametrize("replications", [1, 3])
def test_a_run_smaller_than_its_draws_scores_with_what_it_has(replications: int) -> None:
    """A run of fewer replications than the default draws gets one draw per replication."""
    observed = synthetic_observations(SEED, 2, 5, ("arrests",), 10**6)
    summary = score_run("run", SEED, 2019, replications, observed, "synthetic").summary()
    assert summary["replications_scored"] == replications == summary["assumption_draws"]


def test_a_score_does_not_depend_on_how_the_lanes_are_cut() -> None:
    """1,200 replications, cut into four chunks in this process and eight on two
    (``calibration.simulate_observed_in_chunks``): the same summary, bit for bit."""
    observed = synthetic_observations(SEED, 3, 5, ("arrests",), 10**6)
    one, two = (
        score_run("run", SEED, 2019, 1200, observed, "synthetic", 600, processes=p).summary()
        for p in (1, 2)
    )
    assert one == two


def test_a_scenario_without_ranges_is_scored_as_forecast_only() -> None:
    bare = SEED.model_copy(update={"ranges": {}})
    observed = synthetic_observations(bare, 2, 5, ("arrests",), 10**6)
    summary = score_run("run", bare, 2019, 50, observed, "synthetic").summary()
    assert summary["assumption_draws"] == 0 and summary["inside_90"]["with_assumptions"] is None
    assert all(series["with_assumptions"] is None for series in summary["series"])
    assert "prior predictive" not in summary["scored"]


def test_a_series_with_gaps_names_the_days_it_covers() -> None:
    """Daily counts of days 0, 2, 3 and 5 are scored over those days, and said to be."""
    rows = [ObservedRow(day, TOTAL, "arrests", 10, "daily") for day in (0, 2, 3, 5)]
    observed = ObservationSet(tuple(rows))
    series = score_run("run", SEED, 2019, 40, observed, "synthetic", 10).summary()["series"]
    assert [(s["days"], s["first_day"], s["last_day"], s["observed"]) for s in series] == [
        ("0, 2 to 3, 5", 0, 5, 40)
    ]
