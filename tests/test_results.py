"""Results assembled from chunks: the same numbers whatever the order the chunks arrive in."""

from __future__ import annotations

import numpy as np
import pytest

from fieldcast.compiled import compile_scenario
from fieldcast.engine import simulate_chunk
from fieldcast.results import ResultsBuilder
from fieldcast.scenario import Scenario


def test_chunks_merge_to_the_same_results_in_any_order(simple_scenario: Scenario) -> None:
    plan = compile_scenario(simple_scenario)
    sizes = [40, 40, 25]
    firsts = [0, 40, 80]
    chunks = [
        simulate_chunk(plan, 3, first, size, band_sample=40, trajectory_sample=5)
        for first, size in zip(firsts, sizes, strict=True)
    ]
    in_order, reversed_order = ResultsBuilder(plan, 3, sizes), ResultsBuilder(plan, 3, sizes)
    for index in range(3):
        in_order.add(index, chunks[index])
    for index in reversed(range(3)):
        reversed_order.add(index, chunks[index])
    first, second = in_order.build(), reversed_order.build()
    assert first.replications == 105
    for name in ("at_field_end", "at_horizon", "daily_mean", "bed_days", "daily_bands"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert np.array_equal(first.at_horizon[40:80], chunks[1].at_horizon)


def test_builder_refuses_duplicate_and_missing_chunks(simple_scenario: Scenario) -> None:
    plan = compile_scenario(simple_scenario)
    builder = ResultsBuilder(plan, 3, [10, 10])
    chunk = simulate_chunk(plan, 3, 0, 10, band_sample=10, trajectory_sample=2)
    builder.add(0, chunk)
    with pytest.raises(ValueError, match="arrived twice"):
        builder.add(0, chunk)
    with pytest.raises(ValueError, match=r"chunks \[1\] have not arrived"):
        builder.build()


def test_outcome_names_what_is_kept(simple_scenario: Scenario) -> None:
    from fieldcast.replications import simulate

    results = simulate(simple_scenario, 20, 1)
    assert results.outcome("arrests", "persons", place="A").shape == (20,)
    with pytest.raises(KeyError, match="not kept per replication"):
        results.outcome("moved_away")
    with pytest.raises(KeyError, match="unknown place"):
        results.outcome("arrests", place="Atlantis")


@pytest.mark.parametrize("replications", [1, 2, 3, 19, 20, 1000])
def test_band_quantiles_are_numpys_inverted_cdf_quantiles(replications: int) -> None:
    """The bands' blockwise sort gives numpy's quantiles exactly, including across blocks."""
    from fieldcast.results import QUANTILES, _quantiles

    values = np.random.default_rng(replications).integers(0, 40, (replications, 30, 7, 3))
    expected = np.quantile(values, QUANTILES, axis=0, method="inverted_cdf")
    assert np.array_equal(_quantiles(values, block=37), expected)
    assert np.array_equal(_quantiles(values), expected)


def test_folded_moves_are_spread_as_a_window_from_the_first_day_to_their_last() -> None:
    """The two cumulative sums of ``_unvisited_moves_to_come`` equal spreading each day's
    movers over its own window [0, f + 1) as the quiet windows are spread."""
    from fieldcast.catalog import load_scenario
    from fieldcast.results import _still_at_address, _unvisited_moves_to_come

    compiled = compile_scenario(load_scenario("seed-2019"))
    survival = compiled.survival
    movers = np.random.default_rng(4).integers(0, 50, (compiled.day_count, 4, 11))
    movers[::3] = 0  # days with none, as most are
    to_come = np.zeros(movers.shape)
    for f in range(compiled.day_count):  # window [0, f + 1), spread as a quiet window
        share = (survival[1 : f + 2] - survival[f + 1]) / (survival[0] - survival[f + 1])
        to_come[: f + 1] += share[:, None, None] * movers[f]
    expected = _still_at_address(compiled, to_come)
    np.testing.assert_allclose(_unvisited_moves_to_come(compiled, movers), expected, atol=1e-9)
    assert np.abs(expected).max() > 100  # not vacuous
