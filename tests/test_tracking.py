"""Live tracking and backtests (tracking.py, backtest.py).

Statistical tests state their tolerance as a confidence level; each has a deliberately wrong
variant that the same check catches.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from fieldcast.assumptions import draw_priors, priors, scenario_at
from fieldcast.backtest import backtest, crps, randomized_pit
from fieldcast.calibration import synthetic_observations
from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.engine import LaneState
from fieldcast.observations import ObservationSet, simulated_persons
from fieldcast.scenario import scenario_with
from fieldcast.tracking import (
    SURPRISE_LEVEL,
    FilterState,
    _advance,
    start_filter,
    track,
    tracked_model,
)

SEED = load_scenario("seed-2019")


def _up_to(observed: ObservationSet, day: int) -> ObservationSet:
    return ObservationSet(tuple(row for row in observed.rows if row.day <= day))


def _totals(scenario, seed: int = 7, last_day: int = 6, replication: int = 10**6):
    return synthetic_observations(scenario, last_day, seed, ("arrests",), replication, total=True)


def test_a_filter_stored_before_distinct_states_were_kept_once_still_reads() -> None:
    """Filters stored by earlier versions hold every lane's state (no ``state_of``)."""
    import io
    import zlib

    observed = _totals(scenario_with(SEED, ["city_defaults.p_contact=0.4"]))
    state = track(SEED, _up_to(observed, 2), "t", particles=200, seed=3).state
    with np.load(io.BytesIO(zlib.decompress(state.to_bytes()))) as data:
        arrays = {name: data[name] for name in data.files}
    state_of = arrays.pop("state_of")
    assert len(np.unique(state_of)) < len(state_of)  # copies were stored once
    for name in [n for n in arrays if n.startswith("state_")]:
        arrays[name] = arrays[name][state_of]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    old = FilterState.from_bytes(state.model, state.metadata(), zlib.compress(buffer.getvalue()))
    for mine, stored in zip(state.lanes.state, old.lanes.state, strict=True):
        np.testing.assert_array_equal(mine, stored)


def test_a_filter_stored_before_moves_were_folded_counts_its_households_to_the_day() -> None:
    """Filters stored by earlier versions have no ``unvisited_as_of``: their lanes moved
    never-visited households day by day, so those are counted as of the next day to run."""
    import io
    import zlib

    observed = _totals(scenario_with(SEED, ["city_defaults.p_contact=0.4"]))
    state = track(SEED, _up_to(observed, 2), "t", particles=200, seed=3).state
    with np.load(io.BytesIO(zlib.decompress(state.to_bytes()))) as data:
        arrays = {name: data[name] for name in data.files if name != "state_unvisited_as_of"}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    old = FilterState.from_bytes(state.model, state.metadata(), zlib.compress(buffer.getvalue()))
    assert (state.lanes.state.unvisited_as_of == 0).all()  # folded from the first day
    next_day_index = state.lanes.next_day_index
    assert next_day_index > 0 and (old.lanes.state.unvisited_as_of == next_day_index).all()
    for name in LaneState._fields:
        if name != "unvisited_as_of":
            np.testing.assert_array_equal(
                getattr(state.lanes.state, name), getattr(old.lanes.state, name)
            )


def test_an_update_from_the_stored_filter_equals_one_run_over_all_days() -> None:
    observed = _totals(scenario_with(SEED, ["city_defaults.p_contact=0.4"]))
    first = track(SEED, _up_to(observed, 3), "t", particles=300, seed=3)
    stored = FilterState.from_bytes(
        first.state.model, first.state.metadata(), first.state.to_bytes()
    )
    updated = track(SEED, _up_to(observed, 4), "t", particles=300, seed=3, stored=stored)
    direct = track(SEED, _up_to(observed, 4), "t", particles=300, seed=3)
    assert updated.updated_from == 3 and direct.updated_from is None
    assert updated.summary()["after"] == direct.summary()["after"]
    assert updated.summary()["before"] == direct.summary()["before"]
    for mine, theirs in zip(updated.state.lanes.state, direct.state.lanes.state, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(updated.state.lanes.values, direct.state.lanes.values)


def test_a_lane_resumed_after_reaching_the_goal_keeps_the_day_it_reached_it() -> None:
    """Lanes paused on days 1 and 3, stored and read back, and resumed to day 6 have the goal
    days of the same lanes run straight (the engine's own record), though many reached the
    goal (100 persons) before a pause: resumed, the engine records the resume day."""
    model = tracked_model(scenario_with(SEED, ["operation.goal_persons=100"]))
    start = start_filter(model, 200, 3, _totals(model)).lanes
    straight, _, _ = _advance(model, 3, start, 6, (), 7)
    paused = start
    for day in (1, 3):
        paused, _, _ = _advance(model, 3, paused, day, (), 7)
        stored = FilterState(model, 3, day, "", paused, [], np.zeros((200, 0)), np.zeros(0))
        paused = FilterState.from_bytes(model, stored.metadata(), stored.to_bytes()).lanes
    resumed, _, _ = _advance(model, 3, paused, 6, (), 7)
    assert (straight.goal_day < 3).sum() >= 50  # 93 of the 200
    np.testing.assert_array_equal(resumed.goal_day, straight.goal_day)


def test_the_tracked_goal_day_stays_where_the_goal_was_reached() -> None:
    """Counts through day 5 of an operation whose reported total passed its goal (100) on
    day 2: the tracked forecast says day 2 or 3 at the median before and after the newest
    counts (the counts carry reporting noise), not the day its lanes were resumed (4 before,
    5 after, which it said before lanes kept their goal day)."""
    scenario = scenario_with(SEED, ["operation.goal_persons=100"])
    observed = _up_to(_totals(scenario_with(scenario, ["city_defaults.p_contact=0.4"])), 5)
    assert [row.value for row in observed.rows][1:3] == [63, 105]  # passed on day 2
    summary = track(scenario, observed, "t", particles=300, seed=3).summary()
    assert summary["before"]["goal_day"]["median"] <= 3
    assert summary["after"]["goal_day"]["median"] <= 3
    # on day 2, when the lanes pass the goal, each lane's day agrees with its own state, also
    # where the state was spliced from other children of the day (``_children_step``)
    lanes = track(scenario, _up_to(observed, 2), "t", particles=300, seed=3).state.lanes
    sizes = compile_scenario(scenario).sizes
    arrested = simulated_persons(lanes.state.counts, lanes.state.collateral, sizes)["arrests"]
    reached = arrested.sum(axis=1) >= 100
    assert 0.1 < reached.mean() < 0.9
    np.testing.assert_array_equal(lanes.goal_day <= 2, reached)


def test_progress_counts_the_days_filtered_from_day_0() -> None:
    """A dashboard job shows progress as a share: days filtered of days observed, both
    counted from day 0, so that day 0 filtered is a third of days 0 to 2 (it was day 0 of
    last day 2: none), and counts of day 0 alone are not 0 of 0."""
    for last_day, expected in ((2, [(1, 3), (2, 3), (3, 3)]), (0, [(1, 1)])):
        calls: list[tuple[float, float | None]] = []

        def record(done: float, total: float | None, calls: list = calls) -> None:
            calls.append((done, total))

        track(SEED, _up_to(_totals(SEED), last_day), "t", particles=50, seed=3, progress=record)
        assert calls == expected


def test_a_revised_count_filters_again_from_day_0() -> None:
    observed = _totals(SEED)
    first = track(SEED, _up_to(observed, 3), "t", particles=100, seed=3)
    rows = list(_up_to(observed, 4).rows)
    rows[1] = type(rows[1])(**{**rows[1].__dict__, "value": rows[1].value + 1})
    revised = ObservationSet(tuple(rows))
    again = track(SEED, revised, "t", particles=100, seed=3, stored=first.state)
    assert again.updated_from is None


@pytest.mark.parametrize("total", [True, False], ids=["national totals", "every city"])
def test_results_do_not_depend_on_how_the_lanes_are_cut(total: bool) -> None:
    """One process (one chunk) and two (two chunks, each observed day's children drawn and
    chosen where the chunk runs): the same summary and lanes, whether the counts are scored
    all together (a national total) or city by city (children spliced per city)."""
    observed = synthetic_observations(SEED, 2, 7, ("arrests",), total=total)
    one = track(SEED, observed, "t", particles=120, seed=5, processes=1)
    two = track(SEED, observed, "t", particles=120, seed=5, processes=2)  # other chunks too
    assert one.summary() == two.summary()
    np.testing.assert_array_equal(one.state.lanes.values, two.state.lanes.values)


def _interval(tracking, path: str) -> tuple[float, float]:
    row = next(p for p in tracking.summary()["parameters"] if p["parameter"] == path)
    return row["p05"], row["p95"]


def test_the_filter_finds_the_contact_rate_and_a_wrong_truth_is_told_apart() -> None:
    """Seven days of national arrests from p_contact = 0.4 (prior 0.2-0.45): the 90%
    interval holds 0.4 and is at most 70% of the prior's width; from p_contact = 0.25 the
    interval excludes 0.4 (the check has the power to tell)."""
    path = "city_defaults.p_contact"
    found = track(
        SEED, _totals(scenario_with(SEED, [f"{path}=0.4"])), "t", 2000, 11, parameters=[path]
    )
    low, high = _interval(found, path)
    assert low <= 0.4 <= high and high - low <= 0.7 * 0.25
    wrong = track(
        SEED, _totals(scenario_with(SEED, [f"{path}=0.25"])), "t", 2000, 11, parameters=[path]
    )
    low, high = _interval(wrong, path)
    assert not low <= 0.4 <= high


def test_a_collapse_of_the_weights_is_said_plainly() -> None:
    """Twenty counts a day (ten cities, two metrics) from the edge of the priors, declared
    as almost exact (Poisson-like reporting), with 100 particles: the weights collapse and
    the output says so."""
    truth = scenario_with(
        SEED, ["city_defaults.p_contact=0.45", "city_defaults.p_arrest_given_contact=0.8"]
    )
    observed = synthetic_observations(truth, 3, 7, ("arrests", "detentions"))
    exact = scenario_with(SEED, ["observation.dispersion=1000000"])
    summary = track(exact, observed, "t", particles=100, seed=1).summary()
    assert any(step["collapsed"] for step in summary["steps"])
    assert any("collapsed" in warning for warning in summary["warnings"])
    typical = synthetic_observations(SEED, 3, 7, ("arrests",))  # the scenario's own values
    healthy = track(SEED, typical, "t", particles=400, seed=1).summary()
    assert not any(step["collapsed"] for step in healthy["steps"]) and not healthy["warnings"]


def test_a_count_the_scenario_cannot_produce_is_named() -> None:
    """Arrests of the scenario's own values (ten cities, days 0 to 3: 40 counts) raise no
    surprise: a correct filter flags a count with probability at most 1 - SURPRISE_LEVEL, so
    any of 40 at most 4% of the time (a union bound). The same counts with 60 more arrests
    reported in Atlanta on day 1 (cumulative from then on) are named: that count, and no
    other, as more than the filter could expect."""
    typical = synthetic_observations(SEED, 3, 7, ("arrests",))
    quiet = track(SEED, typical, "t", particles=1000, seed=2).summary()
    assert not any(step["surprises"] for step in quiet["steps"]) and not quiet["warnings"]
    inflated = ObservationSet(
        tuple(
            replace(row, value=row.value + 60) if row.place == "Atlanta" and row.day >= 1 else row
            for row in typical.rows
        )
    )
    loud = track(SEED, inflated, "t", particles=1000, seed=2).summary()
    surprises = [(step["day"], s) for step in loud["steps"] for s in step["surprises"]]
    assert [(day, s["place"], s["first_day"]) for day, s in surprises] == [(1, "Atlanta", 1)]
    assert surprises[0][1]["p_at_least"] < (1 - SURPRISE_LEVEL) / 2
    assert any(
        "arrests reported in Atlanta on day 1 are more than the filter could expect" in warning
        for warning in loud["warnings"]
    )


def test_a_parameter_that_cannot_vary_by_lane_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"city_defaults\.teams.*cannot vary by lane"):
        tracked_model(SEED, ["city_defaults.teams"])


def test_crps_and_pit_by_hand() -> None:
    assert crps(np.full(10, 5.0), 7.0) == pytest.approx(2.0)
    # two equally likely values 0 and 2, observed 1: E|X - y| = 1, E|X - X'| = 1
    assert crps(np.array([0.0, 2.0]), 1.0) == pytest.approx(0.5)
    assert randomized_pit(np.array([1.0, 2.0, 3.0, 4.0]), 3.0, 0.5) == pytest.approx(0.625)


def _coverage(datasets: int, truth_changes: tuple[str, ...] = ()) -> np.ndarray:
    """[dataset, 2] the share of each synthetic operation's predictions inside their 50% and
    90% intervals (randomized PIT, backtest.py): operations simulated with every tracked
    assumption drawn from its prior (and ``truth_changes``, which the tracked model does not
    know), a week of arrests and detentions in every city, then backtested."""
    model = tracked_model(SEED)
    prior_list = priors(model)
    generator = np.random.default_rng(2026)
    shares = []
    for j in range(datasets):
        values = draw_priors(prior_list, 1, generator)[0]
        truth = scenario_with(scenario_at(model, values, "truth"), list(truth_changes))
        observed = synthetic_observations(truth, 6, 100 + j, ("arrests", "detentions"), 10**6 + j)
        pits = np.array([p.pit for p in backtest(SEED, observed, "t", 400, 7).predictions])
        shares.append(
            [np.mean((pits >= 0.25) & (pits <= 0.75)), np.mean((pits >= 0.05) & (pits <= 0.95))]
        )
    return np.array(shares)


@pytest.mark.slow
def test_backtests_of_operations_the_model_made_cover_as_stated() -> None:
    """40 synthetic operations (140 predictions each): the mean coverage of the 50% and 90%
    intervals is within 2.58 standard errors of nominal (99% confidence; operations are
    independent, predictions within one are not). When the truth had three times the teams
    the tracked model assumes (a wrong model), the coverage falls outside that band (with
    twice the teams it fell just below the band's edge: the tracked contact rate and the
    other assumptions take up much of the difference)."""
    datasets = 40
    shares = _coverage(datasets)
    mean = shares.mean(axis=0)
    error = shares.std(axis=0, ddof=1) / math.sqrt(datasets)
    for nominal, found, se in zip((0.5, 0.9), mean, error, strict=True):
        assert abs(found - nominal) <= 2.58 * se, (nominal, found, se)
    wrong = _coverage(20, ("city_defaults.teams=12",)).mean(axis=0)
    assert wrong[1] < 0.9 - 2.58 * error[1], wrong
