"""Where the model has a closed form, the engine's counts have exactly that distribution.

Each test pools its replications: independent replications of a Binomial(n, p) count sum to a
Binomial(R n, p), so an exact two-sided binomial test of the pooled count checks the mean with
all the data, and a chi-square test of the per-replication counts against the binomial's
probabilities (adjacent values pooled so that every expected count is at least 5) checks the
shape. Every test is held at a 0.1% false-alarm rate (a correct engine fails it once in a
thousand seeds; the seeds are fixed). Each test also shows its power: the same check rejects
a deliberately wrong closed form, one plausible bug away from the right one.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from conftest import Days, variant
from fieldcast.scenario import Scenario

LEVEL = 0.001
REPLICATIONS = 2000


def binomial_pvalues(counts: np.ndarray, trials: np.ndarray, p: float) -> tuple[float, float]:
    """(mean, shape) p-values of per-replication counts against Binomial(trials, p).

    ``trials`` may differ by replication (the conditional tests): the shape test then uses
    the counts' binomial CDF values (randomised at the atoms), uniform under the model,
    in ten equal bins."""
    counts, trials = np.asarray(counts, dtype=np.int64), np.asarray(trials, dtype=np.int64)
    mean = stats.binomtest(int(counts.sum()), int(trials.sum()), p).pvalue
    generator = np.random.default_rng(12345)
    below = stats.binom.cdf(counts - 1, trials, p)
    at = stats.binom.pmf(counts, trials, p)
    pit = below + generator.uniform(size=counts.size) * at
    observed = np.histogram(pit, bins=10, range=(0, 1))[0]
    shape = stats.chisquare(observed).pvalue
    return float(mean), float(shape)


def rejects(counts: np.ndarray, trials: np.ndarray, p: float) -> bool:
    return min(binomial_pvalues(counts, trials, p)) < LEVEL / 2  # two tests: Bonferroni


def test_the_share_at_the_address_on_day_0_is_binomial(seed_scenario: Scenario) -> None:
    """Without field work, each household is at its address on file at the start of day 0
    with probability (address valid) x (no move on any day before), independently: the count
    per city is Binomial(households, q x survival)."""
    scenario = variant(seed_scenario, **{"city_defaults.teams": 0})
    replications = 400  # of ten cities, each with every day of a 147-day run kept
    days = Days(scenario, replications, seed=31)
    compiled = days.compiled
    survival = compiled.survival  # at the start of each day index
    day_0 = -compiled.start_day
    at_address = days.on_day("at_address", -1)  # at the end of day -1: the start of day 0
    wrong = []
    for city, households in enumerate(compiled.households.sum(axis=1)):
        if households == 0:
            continue
        q = compiled.p_address_valid[city]
        trials = np.full(replications, households)
        assert not rejects(at_address[:, city], trials, q * survival[day_0])
        # off by one day (the moves of day -1 forgotten): told apart
        wrong.append(rejects(at_address[:, city], trials, q * survival[day_0 - 1]))
    assert all(wrong)


def test_departures_are_a_binomial_of_the_notices_that_fall_due(
    simple_scenario: Scenario,
) -> None:
    """Everyone arrested on the one field day gets a notice (nobody detained); at its deadline
    each household departs with probability p_comply, independently: departures on that day
    are Binomial(notices of day 0, p_comply) given the notices."""
    scenario = variant(
        simple_scenario,
        **{
            "operation.field_days": 1,
            "operation.tempo": [1.0],
            "city_defaults.teams": 1000,  # every household visited
            "city_defaults.p_detain": 0.0,
            "city_overrides": {},
            "notice.notice_days": 9,
            "notice.p_comply": 0.4,
        },
    )
    days = Days(scenario, REPLICATIONS, seed=32)
    notices = days.on_day("notices", 0)[:, -1]
    departures = days.daily_flow("departures")[:, 9 - days.compiled.start_day, -1]
    assert notices.sum() > 10 * REPLICATIONS
    assert not rejects(departures, notices, 0.4)
    assert rejects(departures, notices, 0.4 - 0.03)  # a compliance rate off by 0.03


def test_closures_come_after_max_attempts_with_the_chance_of_every_attempt(
    simple_scenario: Scenario,
) -> None:
    """With room to visit everyone every day, no moves and three attempts: a household is
    arrested with probability q (1 - (1 - c a)^3) (at home if its address is valid, and
    contacted and arrested at one of three visits), and every other one is closed after its
    third visit, on day 2, none before."""
    scenario = variant(
        simple_scenario,
        **{
            "operation.field_days": 3,
            "operation.tempo": [1.0],
            "operation.max_attempts": 3,
            "city_defaults.teams": 1000,
            "leak.baseline_hazard": 0.0,
            "leak.p_alert_move": 0.0,
        },
    )
    days = Days(scenario, REPLICATIONS, seed=33)
    compiled = days.compiled
    households = int(compiled.households.sum())
    q, c, a = compiled.p_address_valid[0], compiled.p_contact[0], compiled.p_arrest[0]
    assert np.allclose(compiled.p_address_valid, q) and np.allclose(compiled.p_contact, c)
    closures = days.values("closures")[:, :, -1]
    field = np.searchsorted(days.days, [0, 1, 2])
    assert (closures[:, field[1]] == 0).all()  # none before the third visit
    closed = closures[:, field[2]]
    trials = np.full(REPLICATIONS, households)
    arrested_share = q * (1 - (1 - c * a) ** 3)
    assert not rejects(closed, trials, 1 - arrested_share)
    arrests = days.on_day("arrests", 2)[:, -1]
    assert (arrests + closed == households).all()  # every household arrested or closed
    # a retry that forgets the earlier visits (two chances instead of three): told apart
    assert rejects(closed, trials, 1 - q * (1 - (1 - c * a) ** 2))
