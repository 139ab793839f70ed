"""What changed between two scenarios, as `runs compare`, the comparison report and the
dashboard show it: entries of a list (cities, courts, leak events) matched by name."""

from __future__ import annotations

from fieldcast.catalog import load_scenario
from fieldcast.reports.comparison import Change, scenario_changes
from fieldcast.scenario import Scenario


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
