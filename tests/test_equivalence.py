"""The fast engine computes the model: it matches the per-household reference in distribution.

Method. For each scenario the reference runs ``REFERENCE_REPS`` replications and the engine
``ENGINE_REPS``, with different seeds (independent samples). Each compared quantity is one
metric, for the national total on one day (day 0, the last field day, the last day), or for
one city on the last field day and the last day (``PER_CITY``), as a count per replication.
Two tests per quantity:

* a chi-square test of homogeneity of the two distributions of counts (adjacent values pooled
  so that every expected cell count is at least 5), which sees any difference in shape;
* Welch's t test of the means, which has more power against a small shift.

All tests of all scenarios form one family held at a 1% false-alarm rate by Bonferroni: a test
fails when its p-value is below ``FAMILY_ALPHA / number of tests``. Seeds are fixed, so the
suite is deterministic; a correct engine would fail it for about one seed in a hundred.

The last test shows the check has teeth: an engine run with ``p_contact`` raised by 0.03 must
be told apart from the reference of the unchanged scenario by the same family of tests.

The samples above keep every replication's daily path, so the engine's lanes there move
never-visited households day by day. Every other lane folds those moves into the visits
(docs/model.md, section 5): a second family (``folded_comparisons``, held at the same 1%)
compares lanes without samples with the reference, on what every lane keeps (the
per-replication values after the last field day and at the horizon) and on the daily means;
``test_the_folded_check_detects_a_wrong_fold`` shows its teeth.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from scipy import stats

from conftest import variant
from fieldcast.catalog import load_scenario
from fieldcast.compiled import (
    CompiledScenario,
    ParameterTable,
    compile_scenario,
    parameter_table,
)
from fieldcast.engine import Lanes, simulate_chunk
from fieldcast.metrics import HORIZON_METRICS, MEASURES, METRICS
from fieldcast.recording import ChunkOutput
from fieldcast.reference import simulate_reference_block
from fieldcast.results import _quiet_moves_to_come, _unvisited_moves_to_come
from fieldcast.scenario import Scenario

REFERENCE_REPS = 300
ENGINE_REPS = 3000
FAMILY_ALPHA = 0.01
COMPARED = (
    ("attempts", "households"),
    ("not_found", "households"),
    ("contacts", "households"),
    ("arrests", "households"),
    ("arrests", "persons"),
    ("at_address", "households"),
    ("moved", "households"),
    ("closures", "households"),
    ("detained", "persons"),  # beds in use
    ("awaiting_removal", "persons"),  # transport backlog
    ("on_notice", "households"),
    ("monitored", "households"),
    ("removals", "households"),
    ("departures", "households"),
    ("rearrests", "households"),
    ("awaiting_disposition", "households"),  # re-arrested today, disposed of tomorrow
    ("losses", "households"),
)
# compared city by city too (on the last field day and the last day): where families are
# arrested, held and removed, so that a rule applied to the wrong city would show
PER_CITY = (
    ("arrests", "households"),
    ("detained", "persons"),
    ("on_notice", "households"),
    ("removals", "households"),
)


def _small(**changes: object) -> Scenario:
    """Three cities with the seed operation's parameters, a shorter horizon."""
    return variant(
        load_scenario("seed-2019"),
        **{
            "cities": [
                {"name": "A", "target_persons": 160},
                {"name": "B", "target_persons": 110},
                {"name": "C", "target_persons": 70},
            ],
            "city_overrides": {"C": {"p_detain": 0.0, "local_support": 0.7}},
            "operation.field_days": 6,
            "operation.horizon_days": 45,
            "detention.processing_days": 4,
            "notice.notice_days": 12,
            **changes,
        },
    )


SCENARIOS = {
    "default": lambda: load_scenario("seed-2019"),
    "beds, seats and monitors bind": lambda: _small(
        **{
            "city_defaults.p_contact": 0.6,
            "city_defaults.p_arrest_given_contact": 0.8,
            "city_defaults.p_detain": 0.9,
            "city_defaults.monitors": 3,
            "detention.beds": 2540,  # 40 free beds
            "detention.removal_seats_per_day": 6,
            # notices end within the field window: monitors come back, re-arrests are disposed of
            "notice.notice_days": 3,
        }
    ),
    "heavy leak": lambda: _small(
        **{
            "leak.events": [
                {"name": "announcement", "day": -20, "peak_hazard": 0.15, "half_life_days": 8.0},
                {"name": "press", "day": -2, "peak_hazard": 0.3, "half_life_days": 2.0},
            ],
        }
    ),
    "team capacity binds, re-attempts": lambda: _small(
        **{
            "city_defaults.teams": 1,
            "city_defaults.attempts_per_team_day": 5.0,
            "city_defaults.p_contact": 0.4,
            "operation.field_days": 12,
            "operation.tempo": [1.0],
            "operation.max_attempts": 4,
            "leak.p_alert_move": 0.2,
        }
    ),
}


@cache
def scenario(name: str) -> Scenario:
    return SCENARIOS[name]()


def _days(scenario: Scenario) -> list[int]:
    operation = scenario.operation
    return [0, operation.field_days - 1, operation.horizon_days - 1]


def _kept_days(output_trajectories: np.ndarray, scenario: Scenario) -> np.ndarray:
    """[rep, compared day, place, metric, measure]: the compared days only."""
    start_day = compile_scenario(scenario).start_day
    return output_trajectories[:, [day - start_day for day in _days(scenario)]]


@cache
def reference_output(name: str) -> ChunkOutput:
    return simulate_reference_block(
        scenario(name), 101, 0, REFERENCE_REPS, trajectory_sample=REFERENCE_REPS
    )


@cache
def reference_samples(name: str) -> np.ndarray:
    """[rep, compared day, place, metric, measure] from the reference."""
    output = reference_output(name)
    assert output.trajectories is not None
    return _kept_days(output.trajectories, scenario(name))


def engine_samples(
    scenario: Scenario,
    seed: int = 202,
    simulate: Callable[..., ChunkOutput] = simulate_chunk,
    compile_with: Callable[[Scenario], CompiledScenario] = compile_scenario,
) -> np.ndarray:
    """[rep, compared day, place, metric, measure] from the engine (``simulate`` and
    ``compile_with`` let test_mutants.py put broken variants in their place)."""
    compiled = compile_with(scenario)
    chunks = []
    for first in range(0, ENGINE_REPS, 1000):
        output = simulate(compiled, seed, first, 1000, trajectory_sample=ENGINE_REPS)
        assert output.trajectories is not None
        chunks.append(_kept_days(output.trajectories, scenario))
    return np.concatenate(chunks)


def homogeneity_pvalue(first: np.ndarray, second: np.ndarray) -> float:
    """Chi-square test that two samples of counts come from one distribution."""
    pooled = np.concatenate([first, second])
    values, counts = np.unique(pooled, return_counts=True)
    needed = 5 * len(pooled) / min(len(first), len(second))  # pooled count per bin
    edges, running = [], 0
    for value, count in zip(values, counts, strict=True):
        running += count
        if running >= needed:
            edges.append(value)
            running = 0
    if running and edges:
        edges.pop()  # the last bin is too small: merge it into the one before
    if len(edges) < 1:
        return 1.0
    bins = np.searchsorted(np.array(edges), pooled, side="left")
    table = np.array(
        [
            np.bincount(bins[: len(first)], minlength=len(edges) + 1),
            np.bincount(bins[len(first) :], minlength=len(edges) + 1),
        ]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table)[1])


def _tests(label: str, first: np.ndarray, second: np.ndarray) -> list[tuple[str, float]]:
    first, second = first.astype(float), second.astype(float)
    if first.std() == 0 and second.std() == 0:
        return [(label + " [constant]", 1.0 if first[0] == second[0] else 0.0)]
    welch = stats.ttest_ind(first, second, equal_var=False).pvalue
    return [
        (label + " [distribution]", homogeneity_pvalue(first, second)),
        (label + " [mean]", float(welch)),
    ]


def comparisons(name: str, reference: np.ndarray, engine: np.ndarray) -> list[tuple[str, float]]:
    """(description, p-value) for every test of one scenario."""
    results = []
    cities = [city.name for city in scenario(name).cities]
    for position, day in enumerate(_days(scenario(name))):
        for metric, measure in COMPARED:
            index = (position, -1, METRICS.index(metric), MEASURES.index(measure))
            label = f"{name}: {metric} ({measure}) on day {day}"
            results += _tests(
                label, reference[(slice(None), *index)], engine[(slice(None), *index)]
            )
        if position == 0:
            continue
        for city_index, city in enumerate(cities):
            for metric, measure in PER_CITY:
                index = (position, city_index, METRICS.index(metric), MEASURES.index(measure))
                label = f"{name}: {metric} ({measure}) in {city} on day {day}"
                first, second = reference[(slice(None), *index)], engine[(slice(None), *index)]
                results += _tests(label, first, second)
    return results


def family_size() -> int:
    """Tests in the whole family (two per compared quantity)."""
    size = 0
    for name in SCENARIOS:
        cities = len(scenario(name).cities)
        size += 2 * (len(COMPARED) * 3 + len(PER_CITY) * 2 * cities)
    return size


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_engine_matches_reference_in_distribution(name: str) -> None:
    """Lanes that keep their daily path, then lanes that fold the moves of never-visited
    households (one test, so that the reference's samples are made once)."""
    threshold = FAMILY_ALPHA / family_size()
    results = comparisons(name, reference_samples(name), engine_samples(scenario(name)))
    failures = [(label, p) for label, p in results if p < threshold]
    assert not failures, f"p < {threshold:.1e}: {failures}"
    # the comparison is not vacuous: these scenarios do move the compared quantities
    assert sum(1 for label, _ in results if "[constant]" not in label) > len(results) / 3
    threshold = FAMILY_ALPHA / folded_family_size()
    results = folded_comparisons(name, folded_output(scenario(name)))
    failures = [(label, p) for label, p in results if p < threshold]
    assert not failures, f"folded lanes, p < {threshold:.1e}: {failures}"


def test_the_check_detects_a_small_change_in_one_parameter() -> None:
    name = "default"
    nudged = variant(scenario(name), **{"city_defaults.p_contact": 0.33})
    threshold = FAMILY_ALPHA / family_size()
    results = comparisons(name, reference_samples(name), engine_samples(nudged))
    detected = [label for label, p in results if p < threshold]
    assert detected, "p_contact + 0.03 went unnoticed"


# -- lanes that fold the moves of never-visited households ---------------------------------

FOLDED_MEANS = (("at_address", "households"), ("moved", "households"), ("moved_away", "households"))


def folded_output(scenario: Scenario, table: ParameterTable | None = None) -> ChunkOutput:
    """``ENGINE_REPS`` lanes with no daily samples (they fold), in one batch; ``table``
    replaces the scenario's parameter table (a deliberately wrong one below)."""
    compiled = compile_scenario(scenario)
    lanes = Lanes.start(
        [compiled],
        303,
        parameter_set=np.zeros(ENGINE_REPS, dtype=np.int64),
        replication=np.arange(ENGINE_REPS),
        table=table,
    )
    lanes.run()
    return lanes.outputs()[0]


def _folded_means(scenario: Scenario, output: ChunkOutput) -> np.ndarray:
    """[day, place, metric, measure] daily means as the results give them (the windows'
    moves placed at their expected days)."""
    compiled = compile_scenario(scenario)
    assert output.quiet_movers is not None and output.unvisited_movers is not None
    total = (
        output.daily_sum
        + _quiet_moves_to_come(compiled, output.quiet_movers)
        + _unvisited_moves_to_come(compiled, output.unvisited_movers)
    )
    return total / output.replications


def folded_comparisons(name: str, folded: ChunkOutput) -> list[tuple[str, float]]:
    """(description, p-value) of every test of folded lanes against the reference: the two
    tests of ``_tests`` on the per-replication values every lane keeps (arrests after the
    last field day in every place, the national horizon metrics, arrests at the horizon in
    every city), and a z test of the daily mean of the moves' stocks and flows on the
    compared days. A folded lane's daily value of those is an expectation over when its
    moves happened, whose variance is at most the daily path's, so the z test takes the
    reference's per-replication variance for both samples: its false-alarm rate is at most
    the nominal one."""
    reference = reference_output(name)
    cities = [city.name for city in scenario(name).cities]
    places = [*cities, "all"]
    households, persons = MEASURES.index("households"), MEASURES.index("persons")
    results = []
    for place_index, place in enumerate(places):
        for measure in (households, persons):
            label = f"{name}, folded: arrests ({MEASURES[measure]}) in {place}, field end"
            results += _tests(
                label,
                reference.at_field_end[:, place_index, 0, measure],
                folded.at_field_end[:, place_index, 0, measure],
            )
    for j, metric in enumerate(HORIZON_METRICS):
        label = f"{name}, folded: {metric} (households) at the horizon"
        results += _tests(
            label, reference.at_horizon[:, j, households], folded.at_horizon[:, j, households]
        )
    for city_index, city in enumerate(cities):
        label = f"{name}, folded: arrests (households) in {city} at the horizon"
        results += _tests(
            label,
            reference.city_at_horizon[:, city_index, 0, households],
            folded.city_at_horizon[:, city_index, 0, households],
        )
    means = _folded_means(scenario(name), folded)
    samples = reference_samples(name)
    start_day = compile_scenario(scenario(name)).start_day
    for position, day in enumerate(_days(scenario(name))):
        for metric, measure in FOLDED_MEANS:
            index = (METRICS.index(metric), MEASURES.index(measure))
            values = samples[:, position, -1, index[0], index[1]].astype(float)
            mean = means[day - start_day, -1, index[0], index[1]]
            spread = values.std(ddof=1) * np.sqrt(1 / len(values) + 1 / folded.replications)
            label = f"{name}, folded: daily mean of {metric} ({measure}) on day {day}"
            if spread == 0:
                results.append((label + " [constant]", 1.0 if mean == values[0] else 0.0))
            else:
                z = (mean - values.mean()) / spread
                results.append((label + " [mean]", float(2 * stats.norm.sf(abs(z)))))
    return results


def folded_family_size() -> int:
    """Tests in the folded lanes' family."""
    size = 0
    for name in SCENARIOS:
        cities = len(scenario(name).cities)
        size += 2 * (2 * (cities + 1) + len(HORIZON_METRICS) + cities) + 3 * len(FOLDED_MEANS)
    return size


def _visits_forget_the_moves(survival: np.ndarray, field_end: int) -> np.ndarray:
    """Visits find every household that was at the address on the first day still there."""
    wrong = survival.copy()
    wrong[:field_end] = 1.0
    return wrong


def _visits_one_day_late(survival: np.ndarray, field_end: int) -> np.ndarray:
    """Visits leave out the moves of their own day (the survival read one day early)."""
    wrong = survival.copy()
    wrong[1:field_end] = survival[: field_end - 1]
    return wrong


@pytest.mark.parametrize("broken", [_visits_forget_the_moves, _visits_one_day_late])
@pytest.mark.parametrize("name", ["default", "heavy leak"])
def test_the_folded_check_detects_a_wrong_fold(
    name: str, broken: Callable[[np.ndarray, int], np.ndarray]
) -> None:
    """A fold whose visits read the survival wrongly up to the last field day (the last
    field day itself, and the windows, read it rightly) is told apart from the reference by
    the folded family, in the seed scenario and in the one whose leak moves most families."""
    compiled = compile_scenario(scenario(name))
    field_end = compiled.field_days - compiled.start_day
    survival = broken(compiled.survival, field_end)
    wrong = parameter_table([compiled])._replace(survival=survival[None, :])
    threshold = FAMILY_ALPHA / folded_family_size()
    results = folded_comparisons(name, folded_output(scenario(name), wrong))
    detected = [label for label, p in results if p < threshold]
    assert detected, f"{broken.__name__} went unnoticed"
