"""Calibration as a user runs it: synthetic counts, `fieldcast calibrate`, the checks it
reports, the calibrated scenario it writes, and a calibration that stops and resumes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import variant
from fieldcast.calibration import Calibration, Settings, advance, synthetic_observations
from fieldcast.catalog import load_scenario
from fieldcast.observations import check_observations
from fieldcast.posterior import Assessment, assess
from fieldcast.scenario import Scenario
from fieldcast.store import RunStore

FIELDCAST = str(Path(sys.executable).parent / "fieldcast")
CONTACT = "city_defaults.p_contact"
TEAMS = "city_defaults.teams"
SMALL = ["--particles", "200", "--target-ess", "100", "--processes", "1"]


def fieldcast(store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [FIELDCAST, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "FIELDCAST_STORE": str(store)},
        cwd=store.parent,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fieldcast {' '.join(args)} failed:\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic counts of seed-2019 run with p_contact 0.4 and 6 teams per city (the
    scenario says 0.3 and 4), days 0 to 6, kept in a store as the set 'syn'."""
    folder = tmp_path_factory.mktemp("calibrate")
    store = folder / "runs.duckdb"
    fieldcast(
        store,
        "observe",
        "simulate",
        "seed-2019",
        "--set",
        f"{CONTACT}=0.4",
        "--set",
        f"{TEAMS}=6",
        "--seed",
        "7",
        "--out",
        "syn.csv",
    )
    fieldcast(store, "observe", "add", "syn.csv", "--name", "syn")
    return folder


@pytest.fixture(scope="module")
def calibrated(workdir: Path) -> dict:
    out = fieldcast(
        workdir / "runs.duckdb",
        "calibrate",
        "seed-2019",
        "--observed",
        "syn",
        "--parameter",
        CONTACT,
        "--parameter",
        TEAMS,
        *SMALL,
        "--out",
        "calibrated.toml",
        "--json",
    )
    return json.loads(out.stdout)


def test_calibrate_finds_the_values_that_made_the_counts(calibrated: dict) -> None:
    """The posterior 90% intervals hold the values the counts were simulated with, which
    the scenario's own values (0.3 and 4 teams) are not the medians of."""
    assert calibrated["stopped"] == "converged"
    assert not any("conflict" in warning for warning in calibrated["warnings"])
    rows = {row["path"]: row for row in calibrated["parameters"]}
    assert set(rows) == {CONTACT, TEAMS}
    assert rows[CONTACT]["p05"] < 0.4 < rows[CONTACT]["p95"]
    assert rows[TEAMS]["p05"] < 6 < rows[TEAMS]["p95"]
    assert rows[CONTACT]["scenario_value"] == 0.3
    assert all(row["narrowing"] < 1 for row in rows.values())
    generations = calibrated["generations"]
    assert generations[0]["beta"] == 0 and generations[-1]["beta"] == 1
    assert calibrated["observations"].startswith("syn version 1 (sha256 ")
    # every observed series is checked against the prior, every count against the posterior
    assert len(calibrated["prior_predictive"]["series"]) == 20  # 10 cities x 2 metrics
    assert not any(s["conflict"] for s in calibrated["prior_predictive"]["series"])
    counts = calibrated["posterior_predictive"]["counts"]
    assert calibrated["posterior_predictive"]["inside"] >= 0.75 * len(counts)


def test_the_calibrated_scenario_carries_its_provenance(workdir: Path, calibrated: dict) -> None:
    scenario = load_scenario(str(workdir / "calibrated.toml"))
    rows = {row["path"]: row for row in calibrated["parameters"]}
    assert scenario.name == "seed-2019-calibrated"
    assert scenario.city_defaults.p_contact == pytest.approx(rows[CONTACT]["median"])
    assert scenario.city_defaults.teams == round(rows[TEAMS]["median"])
    for path in (CONTACT, TEAMS):
        provenance = scenario.provenance[path]
        assert provenance.kind == "calibrated"
        assert "syn version 1 (sha256 " in provenance.note
    assert scenario.ranges[CONTACT].low == pytest.approx(rows[CONTACT]["p05"])
    assert scenario.ranges[CONTACT].high == pytest.approx(rows[CONTACT]["p95"])
    # a whole-number parameter's range is the posterior interval widened to whole numbers
    assert scenario.ranges[TEAMS].low == math.floor(rows[TEAMS]["p05"])
    assert scenario.ranges[TEAMS].high == math.ceil(rows[TEAMS]["p95"])
    # the assumptions not calibrated keep their ranges and provenance
    seed = load_scenario("seed-2019")
    assert scenario.ranges["notice.p_comply"] == seed.ranges["notice.p_comply"]
    assert scenario.provenance["notice.p_comply"] == seed.provenance["notice.p_comply"]


def test_a_stopped_calibration_resumes_to_the_same_posterior(
    workdir: Path, calibrated: dict
) -> None:
    """A simulation budget stops it after generation 1; resumed with more, it ends exactly
    where the uninterrupted calibration did."""
    store = workdir / "runs.duckdb"
    args = ["--parameter", CONTACT, "--parameter", TEAMS, *SMALL, "--json"]
    stopped = json.loads(
        fieldcast(
            store, "calibrate", "--observed", "syn", "--max-simulations", "30000", *args
        ).stdout
    )
    assert stopped["stopped"] == "simulation budget"
    assert any("not posterior values" in warning for warning in stopped["warnings"])
    resumed = json.loads(
        fieldcast(
            store,
            "calibrate",
            "--resume",
            stopped["calibration_id"],
            "--max-simulations",
            "1000000",
            "--json",
        ).stdout
    )
    assert resumed["calibration_id"] == stopped["calibration_id"]
    assert resumed["stopped"] == "converged"
    assert resumed["parameters"] == calibrated["parameters"]
    listing = fieldcast(store, "calibrations").stdout
    assert stopped["calibration_id"] in listing  # whole, at 80 columns: to be copied
    kept = json.loads(fieldcast(store, "calibrations", "--json").stdout)
    (listed,) = [one for one in kept if one["calibration_id"] == stopped["calibration_id"]]
    assert listed["stopped"] == "converged" and listed["beta"] == 1.0


def test_a_killed_calibration_keeps_its_last_generation(
    simple_scenario: Scenario, tmp_path: Path
) -> None:
    """Interrupted while its last generation runs (as by Ctrl-C), the store holds the
    generations before; resumed from the store, the calibration ends bit-identical to one
    never interrupted."""
    scenario = variant(
        simple_scenario,
        ranges={CONTACT: {"low": 0.2, "high": 0.5}},
        **{"operation.field_days": 7},
    )
    observed = synthetic_observations(
        variant(simple_scenario, **{CONTACT: 0.4, "operation.field_days": 7}), 5, seed=3
    )
    settings = Settings(particles=100, target_ess=50, copies=16, seed=5)
    whole = advance(Calibration.start(scenario, observed, "test", settings))
    store = RunStore(tmp_path / "runs.duckdb")
    run = Calibration.start(scenario, observed, "test", settings)
    calibration_id = store.start_calibration(run)
    last = whole.last.number
    assert last >= 1

    def interrupt(generation: int, move: int) -> None:
        if generation == last:
            raise KeyboardInterrupt

    def keep(current: Calibration) -> None:
        store.add_generation(calibration_id, current.last)

    with pytest.raises(KeyboardInterrupt):
        advance(run, progress=interrupt, on_generation=keep)
    _, stored, assessment = store.calibration(calibration_id)
    assert [g.number for g in stored.generations] == list(range(last))
    assert assessment is None
    resumed = advance(stored, on_generation=keep)
    assert resumed.converged and whole.converged
    np.testing.assert_array_equal(resumed.last.values, whole.last.values)
    assert len(resumed.generations) == len(whole.generations)


def _calibrated_to(simple_scenario: Scenario, truth: float, days: int) -> Assessment:
    """Counts of A and B simulated with p_contact ``truth`` for ``days`` field days, and
    the calibration of p_contact to them within a range of 0.1 to 0.2."""
    setting = {"operation.field_days": days}
    observed = synthetic_observations(
        variant(simple_scenario, **{CONTACT: truth}, **setting), days - 1, seed=11
    )
    scenario = variant(simple_scenario, ranges={CONTACT: {"low": 0.1, "high": 0.2}}, **setting)
    settings = Settings(particles=200, target_ess=100)
    return assess(advance(Calibration.start(scenario, observed, "test", settings)))


def test_ranges_that_cannot_produce_the_counts_are_a_conflict(simple_scenario: Scenario) -> None:
    """Counts made with p_contact 0.9 are far outside what 0.1 to 0.2 can produce: the
    observed series fall outside the prior predictive 99% interval, and the report says
    the posterior is not to be trusted."""
    assessment = _calibrated_to(simple_scenario, 0.9, 7)
    assert all(series.conflict for series in assessment.conflicts)
    assert "prior-data conflict" in " ".join(assessment.warnings)


def test_a_posterior_against_the_end_of_its_range_says_widen_it(
    simple_scenario: Scenario,
) -> None:
    """Counts made with p_contact 0.3, beyond the range (yet not so far that the series
    conflict with it): the posterior piles against its upper end, and the report advises
    widening the range beyond 0.2."""
    assessment = _calibrated_to(simple_scenario, 0.3, 10)
    assert assessment.parameters[0].edge == "high"
    assert "widen the range beyond 0.2" in " ".join(assessment.warnings)


def test_counts_the_ranges_can_produce_raise_no_alarm(simple_scenario: Scenario) -> None:
    """The same checks, with counts made inside the range (0.15): no conflict, no edge."""
    assessment = _calibrated_to(simple_scenario, 0.15, 10)
    assert assessment.warnings == []
    assert assessment.parameters[0].p05 < 0.15 < assessment.parameters[0].p95


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["calibrate", "seed-2019"], "--observed"),
        (["calibrate", "seed-2019", "--observed", "nothing-like-it"], "no observations named"),
        (
            ["calibrate", "seed-2019", "--observed", "syn", "--parameter", "costs.nope"],
            "parameters: costs.nope",
        ),
        (["calibrate", "--resume", "latest", "--observed", "syn"], "--resume"),
        (
            ["calibrate", "--resume", "latest", "--set", "city_defaults.teams=5"],
            "do not give --set",
        ),
        (
            ["calibrate", "--observed", "syn", "--particles", "40", "--target-ess", "50"],
            "--target-ess: at most the particles (40), got 50",
        ),
        (  # the target ESS left to its default (half the particles) is no problem
            ["calibrate", "--observed", "syn", "--particles", "40", "--max-simulations", "10"],
            "max_simulations",
        ),
        (["observe", "simulate", "--set", "city_defaults.p_contact=2"], "p_contact"),
        (["observe", "simulate", "--set", "city_defaults.teams=2.5"], "whole number"),
        (["observe", "simulate", "--set", "nope=1"], "not a parameter"),
        (["observe", "simulate", "--last-day", "120"], "last_day: must be from 0 to 119"),
    ],
)
def test_bad_requests_name_the_option(workdir: Path, args: list[str], message: str) -> None:
    result = fieldcast(workdir / "runs.duckdb", *args, check=False)
    assert result.returncode == 2
    assert message in result.stderr


def test_observations_that_do_not_fit_the_scenario_are_refused(
    simple_scenario: Scenario,
) -> None:
    counts = [{"day": 0, "place": "A", "metric": "arrests", "value": 5, "basis": "daily"}]
    with pytest.raises(ValueError, match="ranges"):
        observed = check_observations(counts, simple_scenario)
        Calibration.start(simple_scenario, observed, "t", Settings())


def test_the_html_report_shows_the_calibration(workdir: Path, calibrated: dict) -> None:
    """The report of a stored calibration shows what the JSON says: the posterior of each
    assumption (table and chart), the series checked against the prior, and every count
    against the posterior predictive."""
    store = workdir / "runs.duckdb"
    fieldcast(store, "report", "--calibration", calibrated["calibration_id"], "--out", "cal.html")
    page = (workdir / "cal.html").read_text()
    for row in calibrated["parameters"]:
        assert f'id="posterior:{row["path"]}"' in page
        assert f"{row['median']:.4g}" in page
    assert f"{calibrated['posterior_predictive']['inside']} of 20 counts inside" in page
    assert "Atlanta arrests days 0-6" in page
    assert "<script" not in page  # self-contained, nothing to run
