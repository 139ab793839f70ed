"""Sensitivity analysis: exact answers where the model gives them, rankings where it is clear,
reproducibility, and the command's errors."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import variant
from fieldcast.assumptions import scenario_at
from fieldcast.compiled import compile_scenario
from fieldcast.planning.sensitivity import run_sensitivity, sample_points
from fieldcast.reports.charts import sensitivity_chart
from fieldcast.scenario import Scenario

RANGES = {
    "costs.officer_day": {"low": 500.0, "high": 1000.0},
    "city_defaults.p_contact": {"low": 0.2, "high": 0.45},
    "leak.baseline_hazard": {"low": 0.0003, "high": 0.0004},
}


@pytest.fixture(scope="module")
def ranged(simple_scenario: Scenario) -> Scenario:
    return variant(simple_scenario, ranges=RANGES)


@pytest.fixture(scope="module")
def morris(ranged: Scenario):
    return run_sensitivity(ranged, "morris", samples=4, replications=30, seed=5)


def test_points_set_each_ranged_parameter_and_round_whole_numbers(ranged: Scenario) -> None:
    with_teams = variant(ranged, ranges={**RANGES, "city_defaults.teams": {"low": 1, "high": 6}})
    points = sample_points(with_teams, "morris", 3, seed=1)
    for row in points:
        scenario = scenario_at(with_teams, row)
        assert scenario.costs.officer_day == row[0]
        assert scenario.city_defaults.p_contact == row[1]
        assert scenario.city_defaults.teams == round(row[3])
        assert 1 <= scenario.city_defaults.teams <= 6


def test_a_cost_only_assumption_moves_cost_exactly_and_nothing_else(
    ranged: Scenario, morris
) -> None:
    """officer_day changes neither the draws (common random numbers) nor any count, and cost
    by officer-days x the change: every elementary effect is exactly that, so mu* equals the
    officer-days times the whole range (SALib scales effects to the whole range) and sigma
    is zero."""
    officer_days = compile_scenario(ranged).officer_days.sum()
    position = morris.parameters.index("costs.officer_day")
    cost = morris.indices["total_cost"]
    assert cost["mu_star"][position] == pytest.approx(officer_days * 500.0, rel=1e-9)
    assert cost["sigma"][position] == pytest.approx(0.0, abs=1e-6)
    for output in ("persons_arrested", "persons_removed"):
        assert morris.indices[output]["mu_star"][position] == 0.0


def test_contact_rate_outranks_a_narrow_baseline_hazard_on_arrests(morris) -> None:
    """p_contact spans 0.2-0.45 (arrests roughly double across it); the baseline hazard moves
    by a hundredth of a percent a day. Seeded run; the gap is wide (over tenfold)."""
    ranking = [morris.parameters[i] for i in morris.ranked("persons_arrested")]
    assert ranking[0] == "city_defaults.p_contact"
    effects = dict(
        zip(morris.parameters, morris.indices["persons_arrested"]["mu_star"], strict=True)
    )
    assert effects["city_defaults.p_contact"] > 10 * effects["leak.baseline_hazard"]


def test_sobol_gives_irrelevant_assumptions_exactly_zero(ranged: Scenario) -> None:
    """With common random numbers, swapping in an irrelevant column leaves the output unchanged,
    so Saltelli's S1 and Jansen's ST estimators are exactly 0 for officer_day on arrests."""
    answer = run_sensitivity(ranged, "sobol", samples=8, replications=20, seed=3)
    position = answer.parameters.index("costs.officer_day")
    arrests = answer.indices["persons_arrested"]
    assert arrests["ST"][position] == 0.0
    assert arrests["S1"][position] == 0.0
    contact = answer.parameters.index("city_defaults.p_contact")
    assert arrests["ST"][contact] > 0.5
    assert answer.points == 8 * (3 + 2)


def test_results_do_not_depend_on_the_number_of_processes(ranged: Scenario, morris) -> None:
    again = run_sensitivity(ranged, "morris", samples=4, replications=30, seed=5, processes=2)
    assert json.dumps(again.as_dict()) == json.dumps(morris.as_dict())


def test_the_replication_noise_share_is_small_with_common_random_numbers(morris) -> None:
    assert 0 < morris.noise_share["persons_arrested"] < 0.05


def test_the_chart_draws_the_main_index_of_every_assumption(morris) -> None:
    figure = sensitivity_chart(morris)
    axes = figure.axes[0]
    bars = [patch for patch in axes.patches if patch.get_gid() == "persons_arrested:mu_star"]
    order = morris.ranked("persons_arrested")
    expected = np.array(morris.indices["persons_arrested"]["mu_star"])[order]
    assert [bar.get_width() for bar in bars] == pytest.approx(list(expected))


def test_bad_requests_are_refused_with_the_reason(simple_scenario: Scenario, ranged) -> None:
    with pytest.raises(ValueError, match=r"ranges: .* declares 0 range"):
        run_sensitivity(simple_scenario)
    with pytest.raises(ValueError, match="samples: Sobol' needs a power of two"):
        run_sensitivity(ranged, "sobol", samples=12)


def _fieldcast(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "fieldcast"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_the_command_prints_json_and_writes_a_chart(ranged: Scenario, tmp_path) -> None:
    scenario_file = tmp_path / "ranged.json"
    scenario_file.write_text(ranged.model_dump_json())
    chart = tmp_path / "sensitivity.svg"
    done = _fieldcast(
        "sensitivity", str(scenario_file), "--samples", "2", "-n", "10", "--json",
        "--chart", str(chart), "--processes", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["method"] == "morris" and answer["points"] == 2 * (3 + 1)
    ranking = answer["outputs"]["total_cost"]["ranking"]
    assert {row["parameter"] for row in ranking} == set(RANGES)
    assert chart.read_text().startswith("<?xml")


def test_the_command_explains_a_scenario_without_ranges(tmp_path, simple_scenario) -> None:
    scenario_file = tmp_path / "plain.json"
    scenario_file.write_text(simple_scenario.model_dump_json())
    done = _fieldcast("sensitivity", str(scenario_file), "--processes", "1")
    assert done.returncode == 2
    assert "declares 0 range(s)" in done.stderr
    assert "Traceback" not in done.stderr


def test_guard_rails_say_when_the_sample_is_small_and_an_effect_is_unclear(morris) -> None:
    """Issue 14 (SALib users' ask): a small sample is named, and an index whose interval
    includes zero is marked as not distinguishable from zero. officer_day cannot move arrests
    at all (its mu* and interval are 0); p_contact moves them widely."""
    warnings = morris.warnings()
    assert warnings[0].startswith("4 Morris trajectories are few")
    flags = morris.distinguishable_from_zero("persons_arrested")
    clear = dict(zip(morris.parameters, flags, strict=True))
    assert clear["costs.officer_day"] is False
    assert clear["city_defaults.p_contact"] is True
    assert any("persons arrested by the end of field work: " in w for w in warnings)
    rows = morris.as_dict()["outputs"]["persons_arrested"]["ranking"]
    assert {row["parameter"]: row["distinguishable_from_zero"] for row in rows} == clear
    enough = dataclasses.replace(morris, samples=10)
    assert not any("trajectories are few" in warning for warning in enough.warnings())
