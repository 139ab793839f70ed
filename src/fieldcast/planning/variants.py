"""Variants of a scenario with one resource changed, as planning runs them: teams in every
city or per city, ankle monitors in every city, free beds, field days, removal seats, the
tempo of the field days.

Each goes through the scenario's validation like any change (``model_copy`` validates), so
a variant that would not be a valid scenario is refused, not run.
"""

from __future__ import annotations

from fieldcast.scenario import CityParameters, Scenario


def with_teams_everywhere(scenario: Scenario, teams: int) -> Scenario:
    """``teams`` teams in every city that has targets (overrides of teams for them dropped)."""
    return _everywhere(scenario, "teams", teams)


def with_monitors_everywhere(scenario: Scenario, monitors: int) -> Scenario:
    """``monitors`` ankle monitors in every city that has targets (overrides dropped)."""
    return _everywhere(scenario, "monitors", monitors)


def _everywhere(scenario: Scenario, parameter: str, value: int) -> Scenario:
    """A per-city parameter at ``value`` in every city that has targets: the default set, and
    the overrides of that parameter for those cities dropped."""
    targeted = {city.name for city in scenario.cities if city.target_persons > 0}
    overrides = {
        name: override.model_copy(update={parameter: None}) if name in targeted else override
        for name, override in scenario.city_overrides.items()
    }
    return scenario.model_copy(
        update={
            "city_defaults": scenario.city_defaults.model_copy(update={parameter: value}),
            "city_overrides": overrides,
        }
    )


def with_free_beds(scenario: Scenario, beds: int) -> Scenario:
    detention = scenario.detention
    total = detention.baseline_occupancy + beds
    return scenario.model_copy(update={"detention": detention.model_copy(update={"beds": total})})


def with_field_days(scenario: Scenario, field_days: int) -> Scenario:
    operation = scenario.operation
    after_field_work = operation.horizon_days - operation.field_days
    changed = operation.model_copy(
        update={
            "field_days": field_days,
            "horizon_days": field_days + after_field_work,
            "tempo": operation.tempo[:field_days],
        }
    )
    return scenario.model_copy(update={"operation": changed})


def with_removal_seats(scenario: Scenario, seats: int) -> Scenario:
    detention = scenario.detention
    changed = detention.model_copy(update={"removal_seats_per_day": seats})
    return scenario.model_copy(update={"detention": changed})


def with_allocation(scenario: Scenario, allocation: dict[str, int]) -> Scenario:
    """The scenario with these teams per city (as city overrides)."""
    overrides = dict(scenario.city_overrides)
    for city, teams in allocation.items():
        overrides[city] = overrides.get(city, CityParameters()).model_copy(update={"teams": teams})
    return scenario.model_copy(update={"city_overrides": overrides})


def with_tempo(scenario: Scenario, tempo: list[float]) -> Scenario:
    """The scenario with this share of full strength on each field day."""
    operation = scenario.operation.model_copy(update={"tempo": list(tempo)})
    return scenario.model_copy(update={"operation": operation})
