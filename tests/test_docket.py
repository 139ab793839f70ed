"""The docket stage: its arithmetic, the target list it gives, how it reaches address validity,
and clear errors when a scenario says two different things."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from fieldcast.assumptions import scenario_at
from fieldcast.catalog import load_scenario, scenario_to_toml
from fieldcast.compiled import compile_scenario
from fieldcast.docket import court_targets, decided_share
from fieldcast.scenario import Scenario, ScenarioError, editable_data, validate_scenario


@given(
    start=st.integers(-2000, 0),
    length=st.integers(0, 1000),
    mean=st.floats(1.0, 2000.0),
)
def test_decided_share_is_the_average_chance_of_a_decision_by_day_0(
    start: int, length: int, mean: float
) -> None:
    """Against numerical integration of 1 - exp(t / mean) over an even intake."""
    end = min(start + length, 0)
    if end == start:
        expected = 1 - math.exp(start / mean)
    else:
        area, _ = integrate.quad(lambda t: 1 - math.exp(t / mean), start, end)
        expected = area / (end - start)
    assert decided_share(start, end, mean) == pytest.approx(expected, rel=1e-7, abs=1e-12)


@pytest.fixture(scope="module")
def docket_scenario() -> Scenario:
    return load_scenario("seed-2019-docket")


def test_the_builtin_docket_gives_the_seed_target_list(docket_scenario: Scenario) -> None:
    """65,691 flagged, the share decided by day 0, orders, and the listed share: 2,040 persons,
    Miami more (more of its decisions are orders)."""
    targets = {city.name: city.target_persons for city in docket_scenario.cities}
    assert sum(targets.values()) == 2040
    assert targets["Miami"] == 222 and targets["Atlanta"] == 202
    assert targets["Other field offices (standby)"] == 0
    courts = court_targets(docket_scenario.docket)
    assert sum(court.persons_flagged for court in courts) == 65_691
    miami = next(court for court in courts if court.city == "Miami")
    assert miami.target_persons == round(6570 * decided_share(-293, -44, 300.0) * 1.0 * 0.0817)
    assert docket_scenario.provenance["cities.6.target_persons"].kind == "derived"


def test_the_in_absentia_share_reaches_address_validity(docket_scenario: Scenario) -> None:
    """In-absentia orders share of all orders: 0.81 / 0.91 in Atlanta, 0.9 / 1.0 in Miami; the
    engine's chance of a valid address mixes the two validity rates by it."""
    compiled = compile_scenario(docket_scenario)
    names = [city.name for city in docket_scenario.cities]
    for city, share in (("Atlanta", 0.81 / 0.91), ("Miami", 0.9)):
        assert docket_scenario.city_parameter(city, "p_in_absentia") == pytest.approx(share)
        expected = share * 0.5 + (1 - share) * 0.9
        assert compiled.p_address_valid[names.index(city)] == pytest.approx(expected)


def test_changing_a_docket_rate_derives_the_list_again(docket_scenario: Scenario) -> None:
    data = editable_data(docket_scenario)
    data["docket"]["p_listed"] = 0.1
    changed = validate_scenario(data)
    assert sum(city.target_persons for city in changed.cities) == pytest.approx(2040 / 0.817, 5)
    ranged = [p for p in docket_scenario.ranges if p.startswith("docket.")]
    assert ranged == ["docket.mean_days_to_decision", "docket.p_listed"]
    low = scenario_at(docket_scenario, [s.low for s in docket_scenario.ranges.values()])
    assert sum(c.target_persons for c in low.cities) < 2040


def test_export_round_trips_without_the_derived_values(
    docket_scenario: Scenario, tmp_path: Path
) -> None:
    text = scenario_to_toml(docket_scenario)
    assert "target_persons = 222" not in text  # Miami's is derived, so left out
    path = tmp_path / "docket.toml"
    path.write_text(text)
    assert load_scenario(path).canonical_json() == docket_scenario.canonical_json()


DOCKET = {
    "intake_start_day": -293,
    "intake_end_day": -44,
    "mean_days_to_decision": 300.0,
    "p_order_in_absentia": 0.81,
    "p_order_after_hearing": 0.1,
    "p_listed": 0.0817,
    "courts": [
        {"city": "Atlanta", "persons_flagged": 6569},
        {"city": "Miami", "persons_flagged": 6570, "p_order_in_absentia": 0.9},
    ],
}
BOTH = [{"name": "Atlanta"}, {"name": "Miami"}]


@pytest.mark.parametrize(
    ("cities", "overrides", "docket", "expected"),
    [
        (
            [{"name": "Atlanta", "target_persons": 204}, {"name": "Miami"}],
            {},
            {},
            "cities.0.target_persons: 204 given, but the docket gives 202 (docket.courts.0); "
            "leave it out to use the docket's",
        ),
        (
            [{"name": "Atlanta"}, {"name": "Miama", "target_persons": 10}],
            {},
            {},
            "docket.courts.1.city: 'Miami' is not a city of this scenario (did you mean 'Miama'?)",
        ),
        (
            BOTH,
            {"Miami": {"p_in_absentia": 0.5}},
            {},
            "city_overrides.Miami.p_in_absentia: 0.5 given, but the docket gives 0.9000",
        ),
        (
            BOTH,
            {},
            {"p_order_after_hearing": 0.2},
            "docket: courts.0: orders in absentia (0.81) and after a hearing (0.2) are more "
            "than all decided cases",
        ),
        (
            BOTH,
            {},
            {"intake_end_day": -300},
            "docket: intake_start_day (-293) must not be after intake_end_day (-300)",
        ),
        (
            BOTH,
            {},
            {"p_listed": 1.5},
            "docket.p_listed: Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            [{"name": "Atlanta"}, {"name": "Miami"}, {"name": "Boston"}],
            {},
            {},
            "cities.2.target_persons: required but missing",
        ),
    ],
)
def test_contradictions_and_bad_dockets_name_the_field(
    cities: list, overrides: dict, docket: dict, expected: str
) -> None:
    data = editable_data(load_scenario("seed-2019"))
    data.update(
        cities=cities,
        city_overrides=overrides,
        provenance={},
        ranges={},
        docket={**DOCKET, **docket},
    )
    with pytest.raises(ScenarioError) as error:
        validate_scenario(data)
    assert expected in str(error.value)
