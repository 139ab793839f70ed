"""The counter-based generator: Random123's published answers, and what keying every draw by
its place buys (nothing shifts, any split of the work gives the same bits)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from conftest import variant
from fieldcast.replications import simulate, simulate_many
from fieldcast.scenario import Scenario
from fieldcast.streams import STREAMS, city_uniforms, philox4x32, uniform

# Known-answer vectors of philox4x32-10 from the kat_vectors file of the Random123
# distribution (D. E. Shaw Research): counter (4 words), key (2 words) -> output (4 words).
KAT_PHILOX4X32_10 = [
    ("0 0 0 0", "0 0", "6627e8d5 e169c58d bc57ac4c 9b00dbd8"),
    (
        "ffffffff ffffffff ffffffff ffffffff",
        "ffffffff ffffffff",
        "408f276d 41c83b0e a20bc7c6 6d5451fd",
    ),
    (
        "243f6a88 85a308d3 13198a2e 03707344",
        "a4093822 299f31d0",
        "d16cfe09 94fdcceb 5001e420 24126ea1",
    ),
]


def _words(text: str) -> list[np.uint32]:
    return [np.uint32(int(word, 16)) for word in text.split()]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT_PHILOX4X32_10)
def test_philox_reproduces_random123_known_answers(counter: str, key: str, expected: str) -> None:
    output = philox4x32(*_words(counter), *_words(key))
    assert [int(word) for word in output] == [int(word) for word in _words(expected)]


@njit
def _many_uniforms(count: int) -> np.ndarray:
    values = np.empty(count)
    for i in range(count):
        values[i] = uniform(np.uint64(2019), i, 0, 3, i % 40 - 20, i % 5, i % 11, i % 3)
    return values


def test_uniforms_are_uniform_and_differ_by_every_part_of_the_key() -> None:
    """100,000 uniforms over varying keys: the Kolmogorov-Smirnov distance to U(0, 1) stays
    below its 99.9% critical value (1.95 / sqrt(n) = 0.0062); a generator that ignored a key
    part, or drew from [0, 0.99), would exceed it (0.01)."""
    values = _many_uniforms(100_000)
    ordered = np.sort(values)
    grid = np.arange(1, len(ordered) + 1) / len(ordered)
    assert np.abs(ordered - grid).max() < 1.95 / np.sqrt(len(ordered))
    assert ((values >= 0) & (values < 1)).all()
    base = (np.uint64(7), 1, 0, STREAMS["contact"], 3, 1, 2, 0)
    first = uniform(*base)
    for position in range(len(base)):
        changed = list(base)
        changed[position] = changed[position] + 1
        assert uniform(*changed) != first, f"key part {position} is ignored"


@njit
def _city_uniforms_of(keys: np.ndarray, cities: int) -> np.ndarray:
    out = np.empty((len(keys), cities))
    for i in range(len(keys)):
        seed, replication, branch, stream, day, size_class, slot = keys[i]
        city_uniforms(np.uint64(seed), replication, branch, stream, day, size_class, slot, out[i])
    return out


@pytest.mark.parametrize("cities", [1, 7, 8, 11, 16, 24, 96])
def test_uniforms_side_by_side_are_the_uniforms_one_at_a_time(cities: int) -> None:
    """``city_uniforms`` (the uniforms of every city for one (stream, day, class, slot), in
    vector instructions: ``draws.city_block``) must give each city's ``uniform`` bit for bit,
    for any number of cities (whole vectors and a remainder), else a draw would change with
    whether its row was computed side by side. A block that keyed the city one off (planted)
    fails at once."""
    rng = np.random.default_rng(5)
    keys = np.column_stack(
        [
            rng.integers(0, 2**63, 200),  # the run seed, both halves
            rng.integers(0, 10**6, 200),
            rng.integers(0, 3, 200),
            rng.integers(0, len(STREAMS), 200),
            rng.integers(-3000, 3000, 200),
            rng.integers(0, 8, 200),
            rng.integers(0, 4, 200),
        ]
    ).astype(np.int64)
    blocks = _city_uniforms_of(keys, cities)
    for i, (seed, replication, branch, stream, day, size_class, slot) in enumerate(keys):
        one_at_a_time = [
            uniform(np.uint64(seed), replication, branch, stream, day, size_class, c, slot)
            for c in range(cities)
        ]
        assert blocks[i].tolist() == one_at_a_time, (i, cities)


def test_any_chunk_size_gives_the_same_bits(simple_scenario: Scenario) -> None:
    whole = simulate(simple_scenario, 230, seed=3, chunk_size=1000)
    cut = simulate(simple_scenario, 230, seed=3, chunk_size=37)
    for name in ("at_field_end", "at_horizon", "daily_mean", "daily_bands", "bed_days"):
        assert np.array_equal(getattr(whole, name), getattr(cut, name)), name
    assert np.array_equal(whole.trajectories, cut.trajectories)


def test_a_city_with_nothing_to_draw_shifts_no_other_draw(simple_scenario: Scenario) -> None:
    """Appending a city with no targets and no teams adds cells with nothing to draw (and an
    empty category to every national allocation): every other city's outcomes, to the bit,
    and the national pools' outcomes stay the same."""
    cities = [city.model_dump() for city in simple_scenario.cities]
    overrides = {
        name: override.model_dump(exclude_none=True)
        for name, override in simple_scenario.city_overrides.items()
    }
    extended = variant(
        simple_scenario,
        **{
            "cities": [*cities, {"name": "Empty", "target_persons": 0}],
            "city_overrides": {**overrides, "Empty": {"teams": 0}},
        },
    )
    base, more = simulate_many([simple_scenario, extended], 200, seed=9)
    for city in base.cities:
        assert np.array_equal(
            base.outcome("arrests", place=city), more.outcome("arrests", place=city)
        )
        assert np.array_equal(
            base.mean_by_day("removals", place=city), more.mean_by_day("removals", place=city)
        )
    assert np.array_equal(
        base.outcome("removals", when="horizon"), more.outcome("removals", when="horizon")
    )
    assert np.array_equal(base.bed_days, more.bed_days)
