"""Scenarios: the built-ins, household composition, and one clear message per bad input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fieldcast.catalog import builtin_names, load_scenario, scenario_to_toml
from fieldcast.scenario import (
    Range,
    ScenarioError,
    SizeClass,
    compose_households,
    parameter_info,
    parameter_paths,
    parameter_value,
)


def test_builtin_scenarios_are_listed_default_first() -> None:
    assert builtin_names() == [
        "seed-2019",
        "national",
        "seed-2019-as-executed",
        "seed-2019-docket",
    ]


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_parameter_has_provenance_unit_and_meaning(name: str) -> None:
    scenario = load_scenario(name)
    for path in parameter_paths(scenario):
        assert path in scenario.provenance, f"{name}: {path} has no provenance"
        unit, meaning = parameter_info(path)
        assert unit and meaning, path


def test_seed_scenario_carries_the_reported_figures() -> None:
    scenario = load_scenario("seed-2019")
    assert scenario.operation.goal_persons == 2040
    assert sum(city.target_persons for city in scenario.cities) == 2040
    assert scenario.notice.notice_days == 30
    assert scenario.detention.beds == 2400 + 1158 + 96
    assert scenario.city_parameter("New York", "p_detain") == 0.0
    assert scenario.city_parameter("Los Angeles", "local_support") < 1.0
    assert scenario.provenance["city_defaults.p_in_absentia"].kind == "source"
    assert scenario.start_day == -27


def test_as_executed_differs_from_the_plan_only_in_new_orleans() -> None:
    planned = load_scenario("seed-2019")
    executed = load_scenario("seed-2019-as-executed")
    assert executed.city_parameter("New Orleans", "stands_down_day") == 0
    assert planned.city_parameter("New Orleans", "stands_down_day") is None
    assert executed.cities == planned.cities
    assert executed.city_defaults == planned.city_defaults


def test_national_scenario_has_about_a_million_people() -> None:
    scenario = load_scenario("national")
    assert sum(city.target_persons for city in scenario.cities) == 1_000_000
    assert len(scenario.cities) == 24


def test_export_round_trips(tmp_path: Path) -> None:
    for name in builtin_names():
        scenario = load_scenario(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(scenario_to_toml(scenario))
        assert load_scenario(path) == scenario


CLASSES = [
    SizeClass(size=2, minors=1, share=0.65),
    SizeClass(size=3, minors=2, share=0.25),
    SizeClass(size=4, minors=3, share=0.07),
    SizeClass(size=5, minors=4, share=0.03),
]


@given(st.integers(min_value=2, max_value=2_000_000))
def test_household_composition_adds_up_to_the_persons_exactly(persons: int) -> None:
    counts = compose_households(persons, CLASSES)
    assert sum(n * c.size for n, c in zip(counts, CLASSES, strict=True)) == persons
    assert min(counts) >= 0


def test_household_composition_follows_the_shares() -> None:
    counts = compose_households(204, CLASSES)
    assert counts == [52, 22, 6, 2]  # 82 households: 204 / 2.48 split by share, then rounded
    with pytest.raises(ValueError, match="cannot be split"):
        compose_households(1, CLASSES)


# -- bad input: one message naming the field path and the reason ---------------------------


def _seed_text() -> str:
    return scenario_to_toml(load_scenario("seed-2019"))


def _error_for(tmp_path: Path, text: str | bytes, suffix: str = ".toml") -> str:
    path = tmp_path / f"bad{suffix}"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    return str(error.value)


# Issue 13's table of what a hostile but fair user found, row by row: (row, TOML text of the
# exported seed-2019, its replacement, the message now expected). Files that are not
# scenarios at all are in test_files_that_are_not_scenarios_are_refused_before_they_are_read,
# console markup in tests/test_cli.py.
ISSUE_13_ROWS = [
    (
        "traceback: 82 GiB",
        "horizon_days = 120\n",
        "horizon_days = 1000000000\n",
        "operation.horizon_days: Input should be less than or equal to 3650 days",
    ),
    (
        "traceback: cannot pick more items",
        "attempts_per_team_day = 6.0\n",
        "attempts_per_team_day = inf\n",
        "city_defaults.attempts_per_team_day: Input should be a finite number",
    ),
    (
        "traceback: teams = 2**63",
        "teams = 4\n",
        "teams = 9223372036854775807\n",
        "city_defaults.teams: Input should be less than or equal to 100000 teams",
    ),
    (
        "hang: horizon 100,000 days",
        "horizon_days = 120\n",
        "horizon_days = 100000\n",
        "operation.horizon_days: Input should be less than or equal to 3650 days (got 100000)",
    ),
    (
        "hang: collateral 1e20",
        "collateral_per_contact = 1.4\n",
        "collateral_per_contact = 1e20\n",
        "city_defaults.collateral_per_contact: Input should be less than or equal to 100",
    ),
    (
        "absurd: 1e12 target persons",
        '{ name = "Atlanta", target_persons = 204 }',
        '{ name = "Atlanta", target_persons = 1000000000000 }',
        "cities.0.target_persons: Input should be less than or equal to 100000000 persons",
    ),
    (
        "absurd: infinite half-life",
        "half_life_days = 10.0\n",
        "half_life_days = inf\n",
        "leak.events.0.half_life_days: Input should be a finite number",
    ),
    (
        "absurd: infinite cost",
        "officer_day = 700.0\n",
        "officer_day = inf\n",
        "costs.officer_day: Input should be a finite number",
    ),
    (
        "absurd: bed_day = 1e308",
        "bed_day = 319.37\n",
        "bed_day = 1e308\n",
        "costs.bed_day: Input should be less than or equal to 1000000000 USD per bed-day",
    ),
    (
        "absurd: teams = 10**9",
        "teams = 4\n",
        "teams = 1000000000\n",
        "city_defaults.teams: Input should be less than or equal to 100000 teams",
    ),
    (
        "absurd: a leak 3,650 days before day 0",
        "day = -27\n",
        "day = -3650\n",
        "leak.events.0.day: Input should be greater than or equal to -365 days (got -3650)",
    ),
    (
        "absurd: a long name",
        'name = "seed-2019"\n',
        f'name = "{"x" * 101}"\n',
        "name: String should have at most 100 characters",
    ),
    (
        "wrong: duplicate cities by case and a trailing space",
        '{ name = "Baltimore", target_persons = 204 }',
        '{ name = "atlanta ", target_persons = 204 }',
        "cities.1.name: a place name starts with a letter and does not end with a space",
    ),
    (
        "wrong: duplicate cities by case",
        '{ name = "Baltimore", target_persons = 204 }',
        '{ name = "ATLANTA", target_persons = 204 }',
        "cities: names must be unique (ignoring case, spaces at either end and how accents "
        "are encoded), repeated: 'ATLANTA', 'Atlanta'",
    ),
    (
        "wrong: duplicate cities by a combining accent",
        '"Atlanta", target_persons = 204 },\n    { name = "Baltimore"',
        '"Atlant\\u00e9", target_persons = 204 },\n    { name = "Atlante\\u0301"',
        "cities: names must be unique (ignoring case, spaces at either end and how accents "
        "are encoded), repeated:",
    ),
    (
        "wrong: a zero-width space in a city",
        '{ name = "Atlanta", target_persons = 204 }',
        '{ name = "Atlanta\\u200b", target_persons = 204 }',
        "cities.0.name: text must be printable, without control or invisible characters (U+200B)",
    ),
    (
        "wrong: terminal escape codes in the name",
        'name = "seed-2019"\n',
        'name = "seed\\u001b[2J"\n',
        "name: text must be printable, without control or invisible characters (U+001B)",
    ),
    (
        "wrong thing named: one size-30 class",
        "    { size = 2, minors = 1, share = 0.65 },\n"
        "    { size = 3, minors = 2, share = 0.25 },\n"
        "    { size = 4, minors = 3, share = 0.07 },\n"
        "    { size = 5, minors = 4, share = 0.03 },\n",
        "    { size = 30, minors = 0, share = 1.0 },\n",
        "cities.0.target_persons: 204 persons cannot be split into households of sizes [30]",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [row[1:] for row in ISSUE_13_ROWS],
    ids=[row[0] for row in ISSUE_13_ROWS],
)
def test_absurd_values_are_refused_with_their_limit(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = _seed_text()
    assert old in text
    message = _error_for(tmp_path, text.replace(old, new, 1))
    assert expected in message, message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '{ name = "Atlanta", target_persons = 204 }',
            '{ name = "Atlanta", target_persons = -5 }',
            "cities.0.target_persons: Input should be greater than or equal to 0 persons (got -5)",
        ),
        (
            "p_contact = 0.3\n",
            "p_contact = 1.3\n",
            "city_defaults.p_contact: Input should be less than or equal to 1 (got 1.3)",
        ),
        (
            '[city_overrides."New York"]',
            '[city_overrides."New Yrok"]',
            "city_overrides.New Yrok: not a city of this scenario (did you mean 'New York'?)",
        ),
        (
            "p_contact = 0.3\n",
            "p_contcat = 0.3\n",
            "city_defaults.p_contcat: unknown key (did you mean 'p_contact'?)",
        ),
        (
            "field_days = 7\n",
            'field_days = "seven"\n',
            "operation.field_days: Input should be a valid integer (got 'seven')",
        ),
        (
            "horizon_days = 120\n",
            "horizon_days = 3\n",
            "operation: horizon_days (3) must be at least field_days (7)",
        ),
    ],
)
def test_bad_values_name_the_field_and_the_reason(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = _seed_text()
    assert old in text
    message = _error_for(tmp_path, text.replace(old, new, 1))
    assert expected in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (
            '"city_defaults.p_contact" = { low = 0.2, high = 1.4 }',
            "ranges.city_defaults.p_contact: 1.4 is not a valid value (city_defaults.p_contact: "
            "Input should be less than or equal to 1 (got 1.4))",
        ),
        (
            '"city_defaults.p_contcat" = { low = 0.2, high = 0.4 }',
            "ranges.city_defaults.p_contcat: not a parameter of this scenario "
            "(did you mean 'city_defaults.p_contact'?)",
        ),
        (
            '"city_defaults.teams" = { low = 2.5, high = 4 }',
            "ranges.city_defaults.teams: the parameter is a whole number, so must be its range",
        ),
        ('"name" = { low = 1, high = 2 }', "ranges.name: only numbers can have a range"),
        (
            '"notice.p_comply" = { low = 0.5, high = 0.1 }',
            "ranges.notice.p_comply: low (0.5) must be below high (0.1)",
        ),
        (
            '"city_overrides.Los Angeles.local_support" = { low = 0.5, hgih = 1.0 }',
            "ranges.city_overrides.Los Angeles.local_support.hgih: unknown key",
        ),
    ],
)
def test_bad_ranges_name_the_range_and_the_reason(
    tmp_path: Path, declared: str, expected: str
) -> None:
    message = _error_for(tmp_path, f'extends = "seed-2019"\n[ranges]\n{declared}\n')
    assert expected in message


def test_ranges_hold_paths_with_city_names_and_concern_assumptions() -> None:
    seed = load_scenario("seed-2019")
    assert parameter_value(seed, "city_overrides.Los Angeles.local_support") == 0.8
    span = seed.ranges["city_overrides.Los Angeles.local_support"]
    assert (span.low, span.high) == (0.5, 1.0)
    assumptions = {p for p, v in seed.provenance.items() if v.kind == "assumption"}
    assert set(seed.ranges) <= assumptions  # the default ranges are about assumptions only


def test_empty_binary_and_malformed_files_are_refused_clearly(tmp_path: Path) -> None:
    assert "empty, or not a table of parameters" in _error_for(tmp_path, "")
    assert "not a text file" in _error_for(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    assert "not valid TOML" in _error_for(tmp_path, "name = \n")
    assert "not valid YAML" in _error_for(tmp_path, "a: [1, 2\n", suffix=".yaml")
    assert "unknown file type '.txt'" in _error_for(tmp_path, "x", suffix=".txt")
    with pytest.raises(ScenarioError, match="no such file and no built-in scenario"):
        load_scenario(tmp_path / "missing.toml")


def test_yaml_files_and_extends(tmp_path: Path) -> None:
    (tmp_path / "variant.yaml").write_text(
        "extends: seed-2019\nname: more-teams\ncity_defaults:\n  teams: 8\n"
    )
    scenario = load_scenario(tmp_path / "variant.yaml")
    assert scenario.name == "more-teams"
    assert scenario.city_defaults.teams == 8
    assert scenario.city_parameter("New York", "p_detain") == 0.0  # the rest is inherited
    (tmp_path / "loop.toml").write_text('extends = "loop.toml"\n')
    with pytest.raises(ScenarioError, match="loops back"):
        load_scenario(tmp_path / "loop.toml")


def test_an_extending_file_that_changes_the_operation_says_so_in_its_title(
    tmp_path: Path,
) -> None:
    """Reports head with the title: a file that changes the operation without a title of its
    own must not pass for its base ("10 cities, as planned" of a one-city variant). A file
    with its own title, or that changes only the name, keeps what it says; the name's note
    is the file's, not the base's ("chosen for the built-in scenario")."""
    base = load_scenario("seed-2019")
    (tmp_path / "one.toml").write_text(
        'extends = "seed-2019"\nname = "one-city"\n'
        'cities = [{ name = "Chicago", target_persons = 204 }]\n'
    )
    one = load_scenario(tmp_path / "one.toml")
    assert one.title == f"{base.title} (changed in one.toml)"
    assert one.provenance["title"].note == "seed-2019's title, marked as changed in one.toml"
    assert one.provenance["name"].note == "identifier chosen in one.toml"
    (tmp_path / "titled.toml").write_text(
        'extends = "one.toml"\ntitle = "Chicago alone"\n[operation]\ngoal_persons = 90\n'
    )
    assert load_scenario(tmp_path / "titled.toml").title == "Chicago alone"
    (tmp_path / "renamed.toml").write_text('extends = "seed-2019"\nname = "mine"\n')
    assert load_scenario(tmp_path / "renamed.toml").title == base.title
    (tmp_path / "long.toml").write_text(f'extends = "seed-2019"\ntitle = "{"x" * 200}"\n')
    (tmp_path / "longer.toml").write_text('extends = "long.toml"\n[operation]\nfield_days = 9\n')
    longer = load_scenario(tmp_path / "longer.toml")  # cut to the longest title there may be
    assert len(longer.title) == 200 and longer.title.endswith("…)")


def test_a_replaced_list_takes_the_bases_notes_about_it_along(tmp_path: Path) -> None:
    """Fewer cities than the base: the base's provenance of its eleven cities would name
    cities that are gone, so it goes with the list; notes on other parameters stay."""
    (tmp_path / "fewer.toml").write_text(
        'extends = "seed-2019"\n'
        'cities = [{ name = "New York", target_persons = 100 },'
        ' { name = "Los Angeles", target_persons = 100 },'
        ' { name = "Other field offices (standby)", target_persons = 0 }]\n'
        '[provenance]\n"cities.0.name" = { kind = "source", note = "the seed" }\n'
    )
    scenario = load_scenario(tmp_path / "fewer.toml")
    assert "cities.5.name" not in scenario.provenance
    assert scenario.provenance["cities.0.name"].note == "the seed"
    assert scenario.provenance["city_defaults.p_contact"].kind == "assumption"
    assert "city_defaults.p_contact" in scenario.ranges


def test_fewer_cities_take_the_bases_values_for_the_others_along(tmp_path: Path) -> None:
    """A variant of seed-2019 with Chicago alone: the base's own values for New York, Los
    Angeles and the standby office (and their notes) go with their cities, as TOML cannot say
    "no override"; the file's own values for a city it leaves out are still refused."""
    (tmp_path / "one.toml").write_text(
        'extends = "seed-2019"\ncities = [{ name = "Chicago", target_persons = 300 }]\n'
    )
    alone = load_scenario(tmp_path / "one.toml")
    assert [city.name for city in alone.cities] == ["Chicago"]
    assert alone.city_overrides == {}
    assert not any(path.startswith("city_overrides.") for path in alone.provenance)
    assert not any(path.startswith("city_overrides.") for path in alone.ranges)
    (tmp_path / "wrong.toml").write_text(
        'extends = "one.toml"\n[city_overrides."New York"]\nteams = 2\n'
    )
    with pytest.raises(ScenarioError, match=r"city_overrides\.New York: not a city"):
        load_scenario(tmp_path / "wrong.toml")


def test_odd_keys_and_names_in_an_extending_file_are_named_not_crashed_on(
    tmp_path: Path,
) -> None:
    """YAML allows numbers as keys and lists as names: reading what an extending file
    changes, and which cities it keeps, must leave them to validation to name."""
    (tmp_path / "odd.yaml").write_text(
        "extends: seed-2019\n1: 2\ncities:\n  - name: [a, b]\n    target_persons: 3\n"
        "provenance:\n  5: {kind: source, note: x}\ncity_defaults:\n  7: 3\n"
    )
    with pytest.raises(ScenarioError) as refused:
        load_scenario(tmp_path / "odd.yaml")
    for problem in ("city_defaults.7: Keys should be strings", "cities.0.name: Input should be"):
        assert problem in str(refused.value)


def test_a_value_changed_without_a_note_is_the_files_assumption(tmp_path: Path) -> None:
    """The base's note on a value it sourced is about its value: a file that changes the value
    without a note of its own gets a note saying so; values it repeats, or changes with a
    note, or adds (a city's own value), keep or get theirs."""
    (tmp_path / "variant.toml").write_text(
        'extends = "seed-2019"\n'
        "[city_defaults]\np_contact = 0.4\np_arrest_given_contact = 0.6\nteams = 8\n"
        "[city_overrides.Chicago]\nteams = 1\n"
        '[provenance]\n"city_defaults.teams" = { kind = "source", note = "a plan" }\n'
    )
    (tmp_path / "again.toml").write_text('extends = "variant.toml"\n')
    base = load_scenario("seed-2019").provenance
    for name in ("variant.toml", "again.toml"):  # a file extending it changes nothing more
        provenance = load_scenario(tmp_path / name).provenance
        contact = provenance["city_defaults.p_contact"]
        assert contact.kind == "assumption"
        old = base["city_defaults.p_contact"]
        assert contact.note == f"set in variant.toml (seed-2019 has 0.3, {old.kind}: {old.note})"
        repeated = "city_defaults.p_arrest_given_contact"
        assert provenance[repeated] == base[repeated]
        assert provenance["city_defaults.teams"].note == "a plan"
        assert provenance["city_overrides.Chicago.teams"].note == (
            "set in variant.toml (not set in seed-2019)"
        )


def test_a_value_set_is_held_where_assumptions_are_drawn() -> None:
    """``--set`` (``scenario_with``) holds the value asked for: its range goes, so that the
    assumptions drawn (uncertainty, sensitivity, calibration, tracking) leave it at 0.6, and
    its provenance says so; the other ranges stay."""
    from fieldcast.assumptions import priors
    from fieldcast.scenario import scenario_with

    seed = load_scenario("seed-2019")
    held = scenario_with(seed, ["city_defaults.p_contact=0.6"])
    assert held.city_defaults.p_contact == 0.6
    assert set(seed.ranges) - set(held.ranges) == {"city_defaults.p_contact"}
    assert "city_defaults.p_contact" not in {prior.path for prior in priors(held)}
    assert held.provenance["city_defaults.p_contact"].note.endswith(
        "; held at it: its range is dropped"
    )
    same = scenario_with(seed, ["city_defaults.p_contact=0.3"])  # held even where unchanged
    assert "city_defaults.p_contact" not in same.ranges
    assert same.provenance["city_defaults.p_contact"].note.startswith(
        "set with --set (seed-2019 has 0.3, assumption: calibrated"
    )


def test_a_value_the_scenario_leaves_out_can_be_set() -> None:
    """seed-2019 gives its cities no limit of monitors and no stand-down day (both left out):
    ``--set`` gives them one, as a whole number (the value left out says nothing of its kind,
    the field does), and refuses a fraction naming the path. Setting one was a traceback."""
    from fieldcast.scenario import ScenarioError, scenario_with

    seed = load_scenario("seed-2019")
    assert seed.city_defaults.monitors is None and seed.city_defaults.stands_down_day is None
    limited = scenario_with(seed, ["city_defaults.monitors=30", "city_defaults.stands_down_day=5"])
    assert limited.city_defaults.monitors == 30 and limited.city_defaults.stands_down_day == 5
    assert limited.city_parameter("Miami", "monitors") == 30
    assert "city_defaults.monitors" in limited.provenance  # and it says so
    with pytest.raises(ScenarioError, match=r"--set city_defaults\.monitors: a whole number"):
        scenario_with(seed, ["city_defaults.monitors=3.5"])
    assert seed.replace({"city_defaults.monitors": 7}).city_defaults.monitors == 7
    with pytest.raises(ScenarioError, match=r"did you mean 'city_defaults\.monitors'\?"):
        scenario_with(seed, ["city_defaults.monitor=5"])  # not p_monitor, which it said


def test_a_derived_value_set_is_refused_naming_what_it_is_derived_from() -> None:
    """seed-2019-docket derives each city's target persons from its court's docket: setting
    one is refused, naming the path and its derivation (it was a traceback)."""
    from fieldcast.scenario import ScenarioError, scenario_with

    docket = load_scenario("seed-2019-docket")
    with pytest.raises(ScenarioError) as refused:
        scenario_with(docket, ["cities.0.target_persons=100"])
    said = str(refused.value)
    assert said.startswith("--set cities.0.target_persons: derived from other values (docket")
    assert said.endswith("change those instead")


def test_scenarios_can_be_built_in_python() -> None:
    scenario = load_scenario("seed-2019")
    changed = scenario.model_copy(update={"name": "copy"})
    assert changed.name == "copy"
    twin = scenario.without_leak()
    assert [event.peak_hazard for event in twin.leak.events] == [0.0, 0.0]
    assert twin.start_day == scenario.start_day  # same days, same baseline moves
    assert twin.leak.baseline_hazard == scenario.leak.baseline_hazard


def test_files_that_are_not_scenarios_are_refused_before_they_are_read(tmp_path: Path) -> None:
    """Issue 13: /dev/zero was read to 5.5 GB, a FIFO blocked forever, a YAML bomb took
    4.3 GB, 500-deep nesting and a 5,000-digit number raised Python errors."""
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    deep = tmp_path / "deep.json"
    deep.write_text('{"name": ' + "[" * 500 + "]" * 500 + "}")
    digits = tmp_path / "digits.json"
    digits.write_text('{"name": ' + "9" * 5000 + "}")
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0")
    extends = tmp_path / "extends.toml"
    extends.write_text(f'extends = "{passwd}"\n')
    cases = {
        "/dev/zero": "not a regular file",
        str(fifo): "not a regular file",
        str(tmp_path): "a folder, not a scenario file",
        str(big): "a scenario file is at most 1,000,000 bytes",
        str(deep): "nested too deeply",
        str(digits): "not valid JSON",
        str(extends): "no file type (extension); a scenario file ends in",
    }
    for reference, expected in cases.items():
        with pytest.raises(ScenarioError, match=re.escape(expected)):
            load_scenario(reference)
    assert "anchors and aliases are not allowed" in _error_for(tmp_path, bomb, ".yaml")


def test_the_rest_of_the_issue_13_table(tmp_path: Path) -> None:
    """The table's rows that need JSON, YAML or ``extends`` (the others are ISSUE_13_ROWS)."""
    from fieldcast.scenario import editable_data

    data = editable_data(load_scenario("seed-2019"))
    twenty_digits = json.dumps(data).replace('"teams": 4', '"teams": 12345678901234567890', 1)
    many = {**data, "cities": [{"name": f"City {i}", "target_persons": 0} for i in range(10_001)]}
    huge = {**data, "cities": [{"name": f"City {i}", "target_persons": 1} for i in range(100_000)]}
    (tmp_path / "bomb.yaml").write_text("a: &a [x, x, x]\nb: [*a, *a, *a]\n")
    (tmp_path / "bomb.toml").write_text('extends = "bomb.yaml"\n')
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.toml").write_text('extends = "folder"\n')
    yaml_text = yaml.safe_dump(data, allow_unicode=True)
    cut = yaml_text[: yaml_text.index("beds: 3654") + len("beds: 36")]
    cases = {
        ("twenty.json", twenty_digits): "city_defaults.teams: Input should be less than or "
        "equal to 100000 teams (got 12345678901234567890)",
        ("many.json", json.dumps(many)): "cities: List should have at most 10000 items",
        ("huge.json", json.dumps(huge)): "a scenario file is at most 1,000,000 bytes",
        ("cut.yaml", cut): "the file does not end with a line break: was it cut short?",
        ("cut.toml", _seed_text().rstrip("\n")): "does not end with a line break",
    }
    for (name, text), expected in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ScenarioError, match=re.escape(expected)):
            load_scenario(tmp_path / name)
    with pytest.raises(ScenarioError, match="anchors and aliases are not allowed"):
        load_scenario(tmp_path / "bomb.toml")
    with pytest.raises(ScenarioError, match=re.escape("folder: a folder, not a scenario file")):
        load_scenario(tmp_path / "folder.toml")
    (tmp_path / "gone.toml").write_text('extends = "[[base.toml"\n')  # found by the fuzzer
    with pytest.raises(ScenarioError, match=re.escape("gone.toml: extends: '[[base.toml' is")):
        load_scenario(tmp_path / "gone.toml")
    (tmp_path / "whole.yaml").write_text(yaml_text)  # the file before it was cut loads
    assert load_scenario(tmp_path / "whole.yaml").detention.beds == 3654


def test_a_scenario_is_changed_in_python_through_validation() -> None:
    """The README's way to change a scenario validates the change, as a file would: a wrong
    type, a value out of its range, or an unknown path is refused, naming it."""
    scenario = load_scenario("seed-2019")
    assert scenario.replace({"city_defaults.teams": 8}).city_defaults.teams == 8
    changed = scenario.replace({"city_overrides.Los Angeles.local_support": 0.9})
    assert changed.city_overrides["Los Angeles"].local_support == 0.9
    cases = {
        "city_defaults.teams": ("eight", "city_defaults.teams: Input should be a valid integer"),
        "city_defaults.p_contact": (7.0, "city_defaults.p_contact: Input should be less than"),
        "city_defaults.p_contcat": (0.3, "not a parameter of this scenario (did you mean"),
    }
    for path, (value, expected) in cases.items():
        with pytest.raises(ScenarioError, match=re.escape(expected)):
            scenario.replace({path: value})


def test_one_citys_value_is_changed_with_or_without_its_override() -> None:
    """``city_overrides.CITY.FIELD`` changes that city alone: Chicago has no override, and
    gets one; New York's override keeps what it had. A misspelt city or field is named with
    the path meant."""
    scenario = load_scenario("seed-2019")
    assert "Chicago" not in scenario.city_overrides
    assert parameter_value(scenario, "city_overrides.Chicago.p_contact") == 0.3  # the default
    changed = scenario.replace({"city_overrides.Chicago.p_contact": 0.45})
    assert changed.city_parameter("Chicago", "p_contact") == 0.45
    assert changed.city_parameter("Atlanta", "p_contact") == 0.3
    new_york = scenario.replace({"city_overrides.New York.p_contact": 0.45})
    assert new_york.city_parameter("New York", "p_contact") == 0.45
    assert new_york.city_parameter("New York", "p_detain") == 0.0  # its override, kept
    for path, meant in (
        ("city_overrides.Chikago.p_contact", "city_overrides.Chicago.p_contact"),
        ("city_overrides.Chicago.p_contcat", "city_overrides.Chicago.p_contact"),
    ):
        with pytest.raises(ScenarioError, match=re.escape(f"(did you mean '{meant}'?)")):
            scenario.replace({path: 0.4})
    with pytest.raises(
        ScenarioError, match=re.escape("city_overrides.Chicago.p_contact: Input should be")
    ):
        scenario.replace({"city_overrides.Chicago.p_contact": 1.4})


def test_there_is_no_door_around_validation() -> None:
    """Issue 13: pydantic's ``model_copy(update=...)`` and ``model_construct`` skip validation,
    and attribute assignment would change a checked scenario; here all three are refused, at
    every level, with the field named, and cross-field checks hold for a copy too."""
    scenario = load_scenario("seed-2019")
    with pytest.raises(ValidationError, match="teams"):
        scenario.city_defaults.model_copy(update={"teams": -3})
    with pytest.raises(ValidationError, match="p_contact"):
        scenario.city_defaults.model_copy(update={"p_contact": float("nan")})
    with pytest.raises(ValidationError, match="field_days"):
        scenario.model_copy(
            update={"operation": scenario.operation.model_copy(update={"field_days": 0})}
        )
    too_wide = {**scenario.ranges, "city_defaults.p_contact": Range(low=0.1, high=1.5)}
    with pytest.raises(ValidationError, match=r"ranges\.city_defaults\.p_contact: 1\.5 is not"):
        scenario.model_copy(update={"ranges": too_wide})
    with pytest.raises(ValidationError, match="not a city of this scenario"):
        scenario.model_copy(update={"cities": scenario.cities[:1]})
    with pytest.raises(ValidationError, match="frozen"):
        scenario.city_defaults.teams = 8  # type: ignore[misc]
    with pytest.raises(ValidationError, match="name"):
        type(scenario).model_construct(**{**dict(scenario), "name": "\x1b[2J"})
    assert scenario.model_copy(update={"name": "copy"}).name == "copy"
    assert scenario.model_copy() == scenario


def test_place_names_look_like_place_names() -> None:
    """README, "What stays out": a city is named by letters, digits, spaces and a little
    punctuation, starting with a letter; an e-mail address, a URL, a bare number or markup
    is refused, naming the field and the character."""
    scenario = load_scenario("seed-2019")
    for name in ("St. Paul", "Région 9", "Winston-Salem", "Coeur d'Alene", "北京", "Atlante\u0301"):
        assert scenario.replace({"cities.0.name": name}).cities[0].name == name
    refused = {
        "someone@example.org": "not '@'",
        "https://example.org": "not ':'",
        "123-45-6789": "starts with a letter",
        "[/]Atlanta": "starts with a letter",
        "Atlanta ": "does not end with a space",
        "Atla\u200bnta": "invisible characters (U+200B)",
    }
    for name, reason in refused.items():
        with pytest.raises(ScenarioError, match=r"cities\.0\.name: .*" + re.escape(reason)):
            scenario.replace({"cities.0.name": name})


def test_every_cross_field_problem_is_listed_at_once(tmp_path: Path) -> None:
    """Issue 13: a scenario with several problems between fields lists them all, each with
    its path, not only the first one found."""
    text = _seed_text().replace('[city_overrides."New York"]', '[city_overrides."New Yrok"]')
    text = text.replace('{ name = "Baltimore"', '{ name = "ATLANTA"')
    text = text.replace('[provenance."operation.field_days"]', '[provenance."operation.fieldays"]')
    message = _error_for(tmp_path, text)
    assert "(5 problems)" in message, message  # and two notes on the misspelt city
    for expected in (
        "cities: names must be unique",
        "city_overrides.New Yrok: not a city of this scenario (did you mean 'New York'?)",
        "provenance.operation.fieldays: not a parameter of this scenario",
    ):
        assert f"\n  {expected}" in message, message


def test_with_parameters_sets_every_path_and_leaves_the_source_as_it_was() -> None:
    """It copies only the tables and lists along the changed paths and shares the rest with
    its source: the source must come out unchanged (compared with a deep copy taken before),
    every path set, including a list index, a key holding a dot and two paths that share
    their table."""
    import copy

    from fieldcast.scenario import editable_data, with_parameters

    data = editable_data(load_scenario("seed-2019"))
    before = copy.deepcopy(data)
    data["city_overrides"]["St. Louis"] = {"teams": 2}  # a key with a dot in it
    before["city_overrides"]["St. Louis"] = {"teams": 2}
    changes = {
        "city_defaults.teams": 9,
        "city_defaults.p_contact": 0.31,
        "cities.3.target_persons": 123,
        "city_overrides.Los Angeles.local_support": 0.55,
        "city_overrides.St. Louis.teams": 5,
    }
    changed = with_parameters(data, changes)
    assert data == before
    expected = copy.deepcopy(before)
    expected["city_defaults"] |= {"teams": 9, "p_contact": 0.31}
    expected["cities"][3]["target_persons"] = 123
    expected["city_overrides"]["Los Angeles"]["local_support"] = 0.55
    expected["city_overrides"]["St. Louis"]["teams"] = 5
    assert changed == expected
    assert changed["detention"] is data["detention"]  # untouched tables are shared, not copied
