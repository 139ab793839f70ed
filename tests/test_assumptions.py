"""Assumption uncertainty: priors from [ranges], their draws, and the prior predictive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from conftest import variant
from fieldcast.assumptions import (
    KEY_OUTPUTS,
    draw_assumptions,
    key_outputs,
    prior_predictive,
    priors,
)
from fieldcast.catalog import scenario_to_toml
from fieldcast.replications import replication_values
from fieldcast.scenario import Scenario, ScenarioError

RANGES = {
    "city_defaults.p_contact": {"low": 0.2, "high": 0.45},
    "leak.baseline_hazard": {"low": 0.0001, "high": 0.001, "prior": "log-uniform"},
    "city_defaults.teams": {"low": 1, "high": 6},
}
FIELDCAST = str(Path(sys.executable).parent / "fieldcast")
FORECAST = [FIELDCAST, "forecast", "--uncertainty", "assumptions"]


@pytest.fixture(scope="module")
def ranged(simple_scenario: Scenario) -> Scenario:
    return variant(simple_scenario, ranges=RANGES)


def test_draws_follow_the_declared_priors(ranged: Scenario) -> None:
    """Kolmogorov-Smirnov at the 1% level on 4,000 draws: a correct sampler fails 1% of the
    time at most, and this seed passes. The log-uniform parameter would fail as uniform (the
    wrong-prior variant below, p far below 1e-6), so the test can tell the shapes apart."""
    draws = draw_assumptions(ranged, 4000, seed=11)
    for prior, column in zip(priors(ranged), draws.T, strict=True):
        assert np.all((column >= prior.low) & (column <= prior.high))
        assert stats.kstest(column, prior.distribution.cdf).pvalue > 0.01, prior.path
    hazard = draws[:, 1]
    assert stats.kstest(hazard, stats.uniform(0.0001, 0.0009).cdf).pvalue < 1e-6


def test_draws_are_keyed_by_the_seed(ranged: Scenario) -> None:
    first = draw_assumptions(ranged, 50, seed=3)
    assert np.array_equal(first, draw_assumptions(ranged, 50, seed=3))
    assert not np.array_equal(first, draw_assumptions(ranged, 50, seed=4))


def test_a_log_uniform_prior_needs_a_positive_range(simple_scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match="log-uniform prior needs low > 0"):
        variant(
            simple_scenario,
            ranges={"city_defaults.p_contact": {"low": 0.0, "high": 0.4, "prior": "log-uniform"}},
        )


def test_own_first_replications_give_the_lanes_of_a_plain_run(simple_scenario: Scenario) -> None:
    """A scenario given first replication 7 has the values of replications 7, 8, ... of a
    plain run: lanes of a prior predictive never share their random numbers, and are the
    same replications they would be alone."""
    plain = replication_values([simple_scenario], 20, 5, key_outputs)[0]
    shifted = replication_values(
        [simple_scenario, simple_scenario], 10, 5, key_outputs, first_replications=[7, 0]
    )
    assert np.array_equal(shifted[0], plain[:, 7:17])
    assert np.array_equal(shifted[1], plain[:, :10])


@pytest.fixture(scope="module")
def predictive(ranged: Scenario):
    return prior_predictive(ranged, 2000, seed=9, draws=200)


def test_prior_predictive_is_wider_than_replication_noise(ranged: Scenario, predictive) -> None:
    """With p_contact over 0.2 to 0.45 and teams over 1 to 6, the arrests' 90% interval with
    the assumptions' uncertainty holds the replication-only one and is at least twice as wide
    (a run whose draws ignored the ranges would give the same width)."""
    alone = replication_values([ranged], 2000, 9, key_outputs)[0][0]
    with_prior = predictive.outputs[:, 0].ravel()
    p05, p95 = np.quantile(alone, [0.05, 0.95])
    q05, q95 = np.quantile(with_prior, [0.05, 0.95])
    assert q05 < p05 and q95 > p95
    assert q95 - q05 > 2 * (p95 - p05)
    assert predictive.outputs.shape == (200, len(KEY_OUTPUTS) + 1, 10)  # and the goal's day


def test_the_prior_predictive_says_when_the_goal_is_reached(seed_scenario: Scenario) -> None:
    """With the assumptions' uncertainty too, the goal is reached by the last field day
    exactly as often as it is met by the end of field work (a day counted from another first
    day than the run's, which is day -27 in seed-2019, would not be), and never before day
    0; and with the goal itself drawn, each lane's chance is that of its own goal."""
    lowered = variant(seed_scenario, ranges=RANGES, **{"operation.goal_persons": 150})
    summary = prior_predictive(lowered, 500, seed=3, draws=100).summary()
    goal_day = summary["goal_day"]
    assert 0 < summary["p_goal"] < 1
    assert goal_day["p_by_field_day"][-1]["p_reached"] == summary["p_goal"]
    assert goal_day["p_reached"] == summary["p_goal"] and goal_day["p05"] >= 0
    # a drawn goal (seed-2019's own is "about 2,040"): each lane's chance is of its own goal
    goal_range = {"operation.goal_persons": {"low": 100, "high": 300}}
    drawn_goal = variant(seed_scenario, ranges=goal_range)
    summary = prior_predictive(drawn_goal, 500, seed=3, draws=100).summary()
    assert 0.05 < summary["p_goal"] == summary["goal_day"]["p_reached"] < 0.95


def test_prior_predictive_is_reproducible_across_processes(ranged: Scenario, predictive) -> None:
    again = prior_predictive(ranged, 2000, seed=9, draws=200, processes=2)
    assert np.array_equal(again.outputs, predictive.outputs)
    assert np.array_equal(again.draws, predictive.draws)


def test_prior_predictive_follows_its_draws(ranged: Scenario, predictive) -> None:
    """Each draw's outcomes are its own scenario's: a draw's mean arrests rise with its
    contact probability and with its teams (Spearman correlations above 0.3 over 200 draws;
    if the outcomes ignored the draws, each would be within +-0.18 of 0 at 99%)."""
    arrests = predictive.outputs[:, 0].mean(axis=1)
    for column in (0, 2):  # p_contact, teams
        assert stats.spearmanr(predictive.draws[:, column], arrests).statistic > 0.3


def test_forecast_reports_both_intervals_and_says_what_they_include(tmp_path: Path) -> None:
    store = tmp_path / "runs.duckdb"
    result = subprocess.run(
        [*FORECAST, "-n", "400", "--seed", "1", "--json", "--draws", "40"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ, "FIELDCAST_STORE": str(store)},
    )
    summary = json.loads(result.stdout)
    assert summary["intervals_include"].startswith("replication noise only")
    prior = summary["with_assumption_uncertainty"]
    assert prior["draws"] == 40 and prior["replications_per_draw"] == 10
    assert "uncertainty of 21 assumptions" in prior["includes"]
    for key in KEY_OUTPUTS:
        assert prior[key]["p05"] <= prior[key]["median"] <= prior[key]["p95"]
    report = tmp_path / "report.html"
    subprocess.run(
        [FIELDCAST, "report", "latest", "--out", str(report)],
        check=True,
        capture_output=True,
        env={**os.environ, "FIELDCAST_STORE": str(store)},
    )
    assert "With assumption uncertainty" in report.read_text()


def test_assumption_uncertainty_needs_ranges(simple_scenario: Scenario, tmp_path: Path) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text(scenario_to_toml(simple_scenario))  # the test variant has no ranges
    result = subprocess.run(
        [*FORECAST, str(bare), "-n", "10", "--no-store"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "declares no [ranges]" in result.stderr
