"""Plan checks: each problem is found when present, with its numbers, and not otherwise."""

from __future__ import annotations

import subprocess
import sys

from conftest import variant
from fieldcast.catalog import load_scenario
from fieldcast.planning.checks import check_plan
from fieldcast.scenario import Scenario


def codes(scenario: Scenario) -> list[str]:
    return [finding.code for finding in check_plan(scenario)]


def test_the_seed_operation_is_warned_about_its_leak_and_standby_teams() -> None:
    findings = check_plan(load_scenario("seed-2019"))
    assert [f.code for f in findings] == ["teams_without_targets", "few_at_address_on_day_0"]
    leak = findings[1]
    assert 0.4 < leak.figures["expected_share_at_address_day_0"] < 0.5
    assert "43%" in leak.message


def test_checks_are_arithmetic_and_run_nothing() -> None:
    """A check is arithmetic on the scenario (instant, before anything runs): it loads
    neither the engine nor the simulation of replications."""
    script = (
        "import sys; from fieldcast.catalog import load_scenario; "
        "from fieldcast.planning.checks import check_plan; "
        "check_plan(load_scenario('seed-2019')); "
        "print(sorted(m for m in sys.modules if m in ('fieldcast.engine', "
        "'fieldcast.replications', 'fieldcast.reference', 'numba')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_city_standing_down_on_day_0_has_targets_without_teams() -> None:
    findings = check_plan(load_scenario("seed-2019-as-executed"))
    stood_down = [f for f in findings if f.code == "targets_without_teams"]
    assert [f.figures for f in stood_down] == [{"city": "New Orleans", "target_persons": 204}]


def test_national_resources_cannot_hold_or_move_a_million(seed_scenario: Scenario) -> None:
    national = check_plan(load_scenario("national"))
    assert [f.code for f in national] == ["beds", "transport"]
    assert national[0].figures == {"detentions_at_goal": 700_000, "free_beds": 5_000}


def test_each_check_fires_only_when_its_problem_is_there(simple_scenario: Scenario) -> None:
    clean = variant(simple_scenario, **{"city_defaults.teams": 8})
    assert codes(clean) == ["teams_without_targets"]  # city C has teams but no targets
    assert "field_window_too_short" in codes(simple_scenario)  # A: 108 attempts, 121 households
    short = variant(clean, **{"city_defaults.teams": 1})
    assert "field_window_too_short" in codes(short)
    no_monitors = variant(clean, **{"city_defaults.monitors": 0})
    assert "monitors" in codes(no_monitors)
    few_beds = variant(clean, **{"detention.baseline_occupancy": 3650})
    assert "beds" in codes(few_beds)
    few_seats = variant(clean, **{"detention.removal_seats_per_day": 1})
    assert "transport" in codes(few_seats)
    early_leak = variant(
        clean,
        **{
            "leak.events": [
                {"name": "leak", "day": -60, "peak_hazard": 0.05, "half_life_days": 30.0}
            ]
        },
    )
    assert "few_at_address_on_day_0" in codes(early_leak)
    for changed in (no_monitors, few_beds, few_seats, early_leak):
        assert "field_window_too_short" not in codes(changed)


def test_a_finding_counts_one_of_a_thing_in_the_singular(seed_scenario: Scenario) -> None:
    """A plan of one field day says "in 1 field day", not "in 1 field days"."""
    one_day = variant(seed_scenario, **{"operation.field_days": 1, "operation.tempo": [1.0]})
    short = next(f for f in check_plan(one_day) if f.code == "field_window_too_short")
    assert " in 1 field day, fewer than " in short.message
    week = next(f for f in check_plan(seed_scenario) if f.code == "teams_without_targets")
    assert "has 2 teams (54 attempts over" in week.message
