"""Would a kernel written from scratch, lean, meet the missed targets? seed-2019's field window
written with nothing but what its draws need, timed with the engine's generator and
samplers and with cheap stand-ins for them (docs/performance.md, "What a draw costs"):

    taskset -c 1 .venv/bin/python benchmarks/lean_field_window.py

The window is the engine's core of the seven field days: each day the alert moves and
the hazard moves of every cell (attempt slot x size class x city), then in each city whom
to visit (the never attempted first, then the others, as conditional hypergeometric draws
by class), who of them is at home, contact, arrest, and closure after ``max_attempts``,
with every change counted per metric, class and city and in national sums. It starts from
the addresses of day 0 (each cell's draw) with the moves before day 0 in one draw per cell.
It is not the engine: the never visited move day by day (the engine folds their moves), and
no disposition, detention, notice or daily record follows. Each lane's state is a few flat
arrays of the kernel's own, every loop bound a local: no named tuples of arrays, nothing for
LLVM to spill but what the loops need.

It runs eight ways, best of ``--rounds`` each, in microseconds a lane and nanoseconds a
draw, one lane at a time:

* ``engine's generator and samplers``: ``streams.uniform`` (Philox4x32-10) and
  ``sampling``'s exact inversion;
* ``stand-in generator``: a splitmix64 hash of the same key instead of Philox (a few
  multiplications: a bound, not a generator the engine could use);
* ``stand-in samplers``: a count proportional to the uniform instead of each draw's
  inversion (the wrong distributions: a bound on the samplers' cost, not a sampler);
* ``both stand-ins``: what the loops and the bookkeeping cost alone;

and with its lanes in lockstep, 64 at a time (``make_lockstep_window``: the state [cell,
lane], each site's uniforms for all the lanes in one loop of vector code, the samplers lane
by lane, the bookkeeping in loops over the lanes), the same draws in another order:

* ``in lockstep``: with the engine's samplers;
* ``in lockstep, stand-in hypergeometric`` and ``... binomial``: one kind of draw with its
  stand-in, what the other kind costs;
* ``in lockstep, stand-in samplers``: what everything but the samplers costs in lockstep.

The stand-ins change the outcomes, so the draws differ in number between the ways; the
arrests a lane are printed so that they can be told apart (the two ways with the engine's
generator and samplers give the same arrests, bit for bit).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from fieldcast.catalog import load_scenario
from fieldcast.compiled import compile_scenario
from fieldcast.sampling import binomial_draw_log1m, hypergeometric_draw
from fieldcast.streams import (
    _LOW,
    _SHIFT,
    DAY_OFFSET,
    STREAMS,
    philox4x32,
    uniform,
    unit_interval,
)

ADDRESS, MOVES, ALERT_MOVES, SELECT_NEW, SELECT_RETRY, LOCATION, CONTACT, ARREST, QUIET = (
    STREAMS[name]
    for name in (
        "address",
        "moves",
        "alert_moves",
        "select_new",
        "select_retry",
        "select_location",
        "contact",
        "arrest",
        "quiet_moves",
    )
)
# the metrics the window changes, per class and city
AT_ADDRESS, MOVED, OPEN, CLOSED, ATTEMPTS, NOT_FOUND, CONTACTS, ARRESTS = range(8)
CLOSURES, MOVED_AWAY, MOVED_AFTER_ALERT = 8, 9, 10
METRICS = 11


@njit(inline="always")
def splitmix_uniform(
    seed: np.uint64, replication: int, stream: int, day: int, k: int, c: int, slot: int
) -> float:
    """The stand-in generator: splitmix64's finalizer over the key, 53 bits."""
    word = ((day + DAY_OFFSET) << 16 | stream << 8 | k) << 32 | (c << 16 | slot)
    x = np.uint64(seed) ^ np.uint64(replication) * np.uint64(0x9E3779B97F4A7C15)
    x ^= np.uint64(word)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return float(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(inline="always")
def philox_uniform(
    seed: np.uint64, replication: int, stream: int, day: int, k: int, c: int, slot: int
) -> float:
    """The engine's generator, as the engine calls it."""
    return uniform(seed, replication, 0, stream, day, k, c, slot)


@njit(inline="always")
def exact_binomial(trials: int, probability: float, log1m: float, u: float) -> int:
    """The engine's binomial sampler, in the form the windows call."""
    return binomial_draw_log1m(trials, probability, log1m, u)


@njit(inline="always")
def exact_hypergeometric(good: int, bad: int, sample: int, lo: int, hi: int, u: float) -> int:
    """The engine's hypergeometric sampler, in the form the windows call."""
    return hypergeometric_draw(good, bad, sample, u)


@njit(inline="always")
def stand_in_binomial(trials: int, probability: float, log1m: float, u: float) -> int:
    """A count about as large as the binomial's, for next to no arithmetic (not a sampler)."""
    return min(trials, int(u * 2.0 * trials * probability))


@njit(inline="always")
def stand_in_hypergeometric(good: int, bad: int, sample: int, lo: int, hi: int, u: float) -> int:
    """A count in the hypergeometric's support, for next to no arithmetic (not a sampler)."""
    return min(hi, lo + int(u * (hi - lo + 1)))


def make_window(generate: Callable, binomial: Callable, hypergeometric: Callable) -> Callable:
    """The window's kernel with a generator and samplers of its own (each way compiles its
    own copy)."""

    @njit(inline="always")
    def binom(seed, rep, stream, day, k, c, slot, n, p, log1m, used):
        """A cell's binomial draw; no uniform if its outcome is certain, as in the engine."""
        if n <= 0 or p <= 0.0:
            return 0
        if p >= 1.0:
            return n
        used[0] += 1
        return binomial(n, p, log1m, generate(seed, rep, stream, day, k, c, slot))

    @njit(inline="always")
    def hyper(seed, rep, stream, day, k, c, slot, good, bad, sample, used):
        """A cell's hypergeometric draw; no uniform if its outcome is certain."""
        lo, hi = max(0, sample - bad), min(sample, good)
        if lo >= hi:
            return lo
        used[0] += 1
        return hypergeometric(
            good, bad, sample, lo, hi, generate(seed, rep, stream, day, k, c, slot)
        )

    @njit(inline="always")
    def change(counts, national, metric, k, c, classes, cities, n):
        """A metric's change in a cell: the lane's counts and its national sums."""
        counts[(metric * classes + k) * cities + c] += n
        national[metric * classes + k] += n

    @njit(inline="always")
    def move(at, moved, counts, national, i, flow, k, c, classes, cities, m):
        """``m`` households of cell i leave their address (``flow``: which kind of move), as
        the engine's ``draws.move``."""
        at[i] -= m
        moved[i] += m
        change(counts, national, AT_ADDRESS, k, c, classes, cities, -m)
        change(counts, national, MOVED, k, c, classes, cities, m)
        change(counts, national, flow, k, c, classes, cities, m)

    @njit
    def window(
        seed: np.uint64,
        first: int,
        lanes: int,
        households: np.ndarray,  # [city, class]
        p_valid: np.ndarray,  # [city]
        before_day_0: float,  # probability of a move before day 0
        capacity: np.ndarray,  # [field day, city]
        hazard: np.ndarray,  # [field day]
        p_alert: float,
        p_contact: np.ndarray,  # [city]
        p_arrest: np.ndarray,  # [city]
        attempts: int,
        used: np.ndarray,  # [1] draws made
    ) -> int:
        """Lanes first .. first + lanes - 1 through the field window; their arrests."""
        cities, classes = households.shape
        days = capacity.shape[0]
        cells = attempts * classes * cities
        at = np.zeros(cells, np.int64)  # [attempt slot, class, city], as the others
        moved = np.zeros(cells, np.int64)
        alerted = np.zeros(cells, np.int64)
        visits = np.zeros(cells, np.int64)
        counts = np.zeros(METRICS * classes * cities, np.int64)
        national = np.zeros(METRICS * classes, np.int64)
        pool = np.zeros(attempts * classes, np.int64)
        log1m_valid, log1m_contact = np.log1p(-p_valid), np.log1p(-p_contact)
        log1m_arrest = np.log1p(-p_arrest)
        log1m_alert, log1m_before = math.log1p(-p_alert), math.log1p(-before_day_0)
        arrests = 0
        for lane in range(lanes):
            rep = first + lane
            for array in (at, moved, alerted, counts, national):
                array[:] = 0
            for c in range(cities):
                for k in range(classes):
                    n = households[c, k]
                    valid = binom(
                        seed, rep, ADDRESS, 0, k, c, 0, n, p_valid[c], log1m_valid[c], used
                    )
                    gone = binom(
                        seed, rep, QUIET, 0, k, c, 0, valid, before_day_0, log1m_before, used
                    )
                    at[k * cities + c] = valid - gone
                    moved[k * cities + c] = n - valid + gone
                    change(counts, national, OPEN, k, c, classes, cities, n)
                    change(counts, national, AT_ADDRESS, k, c, classes, cities, valid - gone)
                    change(counts, national, MOVED, k, c, classes, cities, n - valid + gone)
            for day in range(days):
                h = hazard[day]
                log1m_h = math.log1p(-h)
                for i in range(cells):  # alert moves, then hazard moves
                    a, k, c = i // (classes * cities), (i // cities) % classes, i % cities
                    n = alerted[i]
                    if n > 0:
                        alerted[i] = 0
                        m = binom(
                            seed, rep, ALERT_MOVES, day, k, c, a, n, p_alert, log1m_alert, used
                        )
                        if m > 0:
                            move(
                                at,
                                moved,
                                counts,
                                national,
                                i,
                                MOVED_AFTER_ALERT,
                                k,
                                c,
                                classes,
                                cities,
                                m,
                            )
                    m = binom(seed, rep, MOVES, day, k, c, a, at[i], h, log1m_h, used)
                    if m > 0:
                        move(at, moved, counts, national, i, MOVED_AWAY, k, c, classes, cities, m)
                for c in range(cities):
                    for i in range(c, cells, cities):
                        visits[i] = 0
                    left = capacity[day, c]
                    for retry in range(2):  # whom to visit: never attempted first
                        first_slot = 0 if retry == 0 else 1
                        categories = (1 if retry == 0 else attempts - 1) * classes
                        rest = 0
                        for j in range(categories):
                            i = (first_slot * classes + j) * cities + c
                            pool[j] = at[i] + moved[i]
                            rest += pool[j]
                        remaining = min(left, rest)
                        left -= remaining
                        stream = SELECT_NEW if retry == 0 else SELECT_RETRY
                        for j in range(categories):
                            good = pool[j]
                            rest -= good
                            if remaining == 0 or good == 0:
                                continue
                            a, k = first_slot + j // classes, j % classes
                            taken = remaining
                            if rest > 0:
                                taken = hyper(
                                    seed, rep, stream, day, k, c, a, good, rest, remaining, used
                                )
                            visits[(a * classes + k) * cities + c] = taken
                            remaining -= taken
                    for a in range(attempts - 1, -1, -1):  # a household moves up once
                        for k in range(classes):
                            i = (a * classes + k) * cities + c
                            v = visits[i]
                            if v == 0:
                                continue
                            home = hyper(
                                seed, rep, LOCATION, day, k, c, a, at[i], moved[i], v, used
                            )
                            contacts = binom(
                                seed, rep, CONTACT, day, k, c, a, home, p_contact[c],
                                log1m_contact[c], used,
                            )  # fmt: skip
                            arrested = binom(
                                seed, rep, ARREST, day, k, c, a, contacts, p_arrest[c],
                                log1m_arrest[c], used,
                            )  # fmt: skip
                            not_found, stayed = v - home, home - arrested
                            at[i] -= home
                            moved[i] -= not_found
                            if a + 1 < attempts:
                                at[i + classes * cities] += stayed
                                moved[i + classes * cities] += not_found
                                alerted[i + classes * cities] += home - contacts
                            else:
                                closed = stayed + not_found
                                change(counts, national, AT_ADDRESS, k, c, classes, cities, -stayed)
                                change(counts, national, MOVED, k, c, classes, cities, -not_found)
                                change(counts, national, OPEN, k, c, classes, cities, -closed)
                                change(counts, national, CLOSED, k, c, classes, cities, closed)
                                change(counts, national, CLOSURES, k, c, classes, cities, closed)
                            change(counts, national, ATTEMPTS, k, c, classes, cities, v)
                            change(counts, national, NOT_FOUND, k, c, classes, cities, not_found)
                            change(counts, national, CONTACTS, k, c, classes, cities, contacts)
                            if arrested > 0:
                                change(counts, national, ARRESTS, k, c, classes, cities, arrested)
                                change(counts, national, OPEN, k, c, classes, cities, -arrested)
                                change(
                                    counts, national, AT_ADDRESS, k, c, classes, cities, -arrested
                                )
            for k in range(classes):
                arrests += national[ARRESTS * classes + k]
        return arrests

    return window


@njit(inline="always")
def site_uniforms(
    seed: np.uint64, first: int, stream: int, day: int, k: int, c: int, slot: int, out: np.ndarray
) -> None:
    """One site's uniforms for replications first, first + 1, ... (one per entry of ``out``),
    in one loop that compiles to vector instructions: ``streams.uniform``'s, bit for bit
    (``streams.city_uniforms`` is the same loop over the cities of one replication)."""
    seed_bits = np.uint64(seed)
    key0, key1 = np.uint32(seed_bits & _LOW), np.uint32(seed_bits >> _SHIFT)
    counter2 = np.uint32(((day + DAY_OFFSET) << 16) | (stream << 8) | k)
    counter3 = np.uint32((c << 16) | slot)
    for lane in range(out.shape[0]):
        x0, x1, _, _ = philox4x32(
            np.uint32(first + lane), np.uint32(0), counter2, counter3, key0, key1
        )
        out[lane] = unit_interval(x0, x1)


def make_lockstep_window(binomial: Callable, hypergeometric: Callable) -> Callable:
    """The window with its lanes in lockstep, ``BLOCK`` at a time: the state [cell, lane], each
    site's uniforms for all the block's lanes at once (``site_uniforms``), the samplers lane by
    lane, the bookkeeping in loops over the lanes. The same draws as ``make_window``'s with the
    engine's generator, in another order."""

    @njit(inline="always")
    def binom(n, p, log1m, u, used):
        """A binomial draw on a uniform computed beforehand; none if its outcome is certain."""
        if n <= 0 or p <= 0.0:
            return 0
        if p >= 1.0:
            return n
        used[0] += 1
        return binomial(n, p, log1m, u)

    @njit(inline="always")
    def hyper(good, bad, sample, u, used):
        """A hypergeometric draw on a uniform computed beforehand; none if certain."""
        lo, hi = max(0, sample - bad), min(sample, good)
        if lo >= hi:
            return lo
        used[0] += 1
        return hypergeometric(good, bad, sample, lo, hi, u)

    @njit
    def window(
        seed: np.uint64,
        first: int,
        lanes: int,  # a whole number of blocks
        households: np.ndarray,
        p_valid: np.ndarray,
        before_day_0: float,
        capacity: np.ndarray,
        hazard: np.ndarray,
        p_alert: float,
        p_contact: np.ndarray,
        p_arrest: np.ndarray,
        attempts: int,
        used: np.ndarray,
    ) -> int:
        """As ``make_window``'s."""
        cities, classes = households.shape
        days = capacity.shape[0]
        cells = attempts * classes * cities
        at = np.zeros((cells, BLOCK), np.int64)
        moved = np.zeros((cells, BLOCK), np.int64)
        alerted = np.zeros((cells, BLOCK), np.int64)
        visits = np.zeros((cells, BLOCK), np.int64)
        counts = np.zeros((METRICS, classes, cities, BLOCK), np.int64)
        pool = np.zeros((attempts * classes, BLOCK), np.int64)
        u, u_contact, u_arrest = np.zeros(BLOCK), np.zeros(BLOCK), np.zeros(BLOCK)
        drawn = np.zeros(BLOCK, np.int64)  # [lane], as the others
        home = np.zeros(BLOCK, np.int64)
        contacts = np.zeros(BLOCK, np.int64)
        arrested = np.zeros(BLOCK, np.int64)
        rest = np.zeros(BLOCK, np.int64)
        remaining = np.zeros(BLOCK, np.int64)
        left = np.zeros(BLOCK, np.int64)
        log1m_valid, log1m_contact = np.log1p(-p_valid), np.log1p(-p_contact)
        log1m_arrest = np.log1p(-p_arrest)
        log1m_alert, log1m_before = math.log1p(-p_alert), math.log1p(-before_day_0)
        arrests = 0
        for start in range(first, first + lanes, BLOCK):
            for array in (at, moved, alerted):
                array[:] = 0
            counts[:] = 0
            for c in range(cities):
                for k in range(classes):
                    n, i = households[c, k], k * cities + c
                    site_uniforms(seed, start, ADDRESS, 0, k, c, 0, u)
                    site_uniforms(seed, start, QUIET, 0, k, c, 0, u_contact)
                    for b in range(BLOCK):
                        valid = binom(n, p_valid[c], log1m_valid[c], u[b], used)
                        gone = binom(valid, before_day_0, log1m_before, u_contact[b], used)
                        at[i, b], moved[i, b] = valid - gone, n - valid + gone
                        counts[OPEN, k, c, b] += n
                        counts[AT_ADDRESS, k, c, b] += valid - gone
                        counts[MOVED, k, c, b] += n - valid + gone
            for day in range(days):
                h = hazard[day]
                log1m_h = math.log1p(-h)
                for i in range(cells):  # alert moves, then hazard moves
                    a, k, c = i // (classes * cities), (i // cities) % classes, i % cities
                    for alert in (True, False):
                        source = alerted if alert else at
                        if not source[i].any():
                            continue
                        stream = ALERT_MOVES if alert else MOVES
                        site_uniforms(seed, start, stream, day, k, c, a, u)
                        p, log1m = (p_alert, log1m_alert) if alert else (h, log1m_h)
                        for b in range(BLOCK):
                            drawn[b] = binom(source[i, b], p, log1m, u[b], used)
                        flow = MOVED_AFTER_ALERT if alert else MOVED_AWAY
                        for b in range(BLOCK):
                            if alert:
                                alerted[i, b] = 0
                            at[i, b] -= drawn[b]
                            moved[i, b] += drawn[b]
                            counts[AT_ADDRESS, k, c, b] -= drawn[b]
                            counts[MOVED, k, c, b] += drawn[b]
                            counts[flow, k, c, b] += drawn[b]
                for c in range(cities):
                    for i in range(c, cells, cities):
                        visits[i] = 0
                    left[:] = capacity[day, c]
                    for retry in range(2):  # whom to visit: never attempted first
                        first_slot = 0 if retry == 0 else 1
                        categories = (1 if retry == 0 else attempts - 1) * classes
                        stream = SELECT_NEW if retry == 0 else SELECT_RETRY
                        rest[:] = 0
                        for j in range(categories):
                            i = (first_slot * classes + j) * cities + c
                            for b in range(BLOCK):
                                pool[j, b] = at[i, b] + moved[i, b]
                                rest[b] += pool[j, b]
                        for b in range(BLOCK):
                            remaining[b] = min(left[b], rest[b])
                            left[b] -= remaining[b]
                        for j in range(categories):
                            a, k = first_slot + j // classes, j % classes
                            i = (a * classes + k) * cities + c
                            site_uniforms(seed, start, stream, day, k, c, a, u)
                            for b in range(BLOCK):
                                good = pool[j, b]
                                rest[b] -= good
                                taken = 0
                                if remaining[b] > 0 and good > 0:
                                    taken = remaining[b]
                                    if rest[b] > 0:
                                        taken = hyper(good, rest[b], remaining[b], u[b], used)
                                visits[i, b] = taken
                                remaining[b] -= taken
                    for a in range(attempts - 1, -1, -1):  # a household moves up once
                        for k in range(classes):
                            i = (a * classes + k) * cities + c
                            if not visits[i].any():
                                continue
                            site_uniforms(seed, start, LOCATION, day, k, c, a, u)
                            site_uniforms(seed, start, CONTACT, day, k, c, a, u_contact)
                            site_uniforms(seed, start, ARREST, day, k, c, a, u_arrest)
                            for b in range(BLOCK):
                                home[b] = hyper(at[i, b], moved[i, b], visits[i, b], u[b], used)
                                contacts[b] = binom(
                                    home[b], p_contact[c], log1m_contact[c], u_contact[b], used
                                )
                                arrested[b] = binom(
                                    contacts[b], p_arrest[c], log1m_arrest[c], u_arrest[b], used
                                )
                            up = i + classes * cities
                            for b in range(BLOCK):
                                v = visits[i, b]
                                not_found, stayed = v - home[b], home[b] - arrested[b]
                                at[i, b] -= home[b]
                                moved[i, b] -= not_found
                                if a + 1 < attempts:
                                    at[up, b] += stayed
                                    moved[up, b] += not_found
                                    alerted[up, b] += home[b] - contacts[b]
                                else:
                                    closed = stayed + not_found
                                    counts[AT_ADDRESS, k, c, b] -= stayed
                                    counts[MOVED, k, c, b] -= not_found
                                    counts[OPEN, k, c, b] -= closed
                                    counts[CLOSED, k, c, b] += closed
                                    counts[CLOSURES, k, c, b] += closed
                                counts[ATTEMPTS, k, c, b] += v
                                counts[NOT_FOUND, k, c, b] += not_found
                                counts[CONTACTS, k, c, b] += contacts[b]
                                counts[ARRESTS, k, c, b] += arrested[b]
                                counts[OPEN, k, c, b] -= arrested[b]
                                counts[AT_ADDRESS, k, c, b] -= arrested[b]
            arrests += counts[ARRESTS].sum()
        return arrests

    return window


WAYS = {
    "engine's generator and samplers": (philox_uniform, exact_binomial, exact_hypergeometric),
    "stand-in generator": (splitmix_uniform, exact_binomial, exact_hypergeometric),
    "stand-in samplers": (philox_uniform, stand_in_binomial, stand_in_hypergeometric),
    "both stand-ins": (splitmix_uniform, stand_in_binomial, stand_in_hypergeometric),
}
LOCKSTEP_WAYS = {
    "in lockstep": (exact_binomial, exact_hypergeometric),
    "in lockstep, stand-in hypergeometric": (exact_binomial, stand_in_hypergeometric),
    "in lockstep, stand-in binomial": (stand_in_binomial, exact_hypergeometric),
    "in lockstep, stand-in samplers": (stand_in_binomial, stand_in_hypergeometric),
}
BLOCK = 64  # lanes in lockstep (32 to 256 take the same time)


def seed_2019_window() -> tuple:
    """seed-2019's inputs to the window."""
    compiled = compile_scenario(load_scenario("seed-2019"))
    day_0 = -compiled.structure.start_day
    days = compiled.structure.field_days
    return (
        compiled.households.astype(np.int64),
        compiled.p_address_valid.astype(np.float64),
        1.0 - float(np.prod(1.0 - compiled.hazard[:day_0])),
        compiled.capacity[day_0 : day_0 + days].astype(np.int64),
        compiled.hazard[day_0 : day_0 + days].astype(np.float64),
        float(compiled.p_alert_move),
        compiled.p_contact.astype(np.float64),
        compiled.p_arrest.astype(np.float64),
        compiled.structure.max_attempts,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=2048, help="a multiple of 64")
    parser.add_argument("--rounds", type=int, default=9)
    arguments = parser.parse_args()
    inputs = seed_2019_window()
    windows = {name: make_window(*way) for name, way in WAYS.items()}
    for name, way in LOCKSTEP_WAYS.items():
        windows[name] = make_lockstep_window(*way)
    used = np.zeros(1, dtype=np.int64)
    for window in windows.values():
        window(np.uint64(1), 0, 10, *inputs, used)  # compile
    best = dict.fromkeys(windows, math.inf)
    draws, arrests = {}, {}
    for round_ in range(arguments.rounds):
        for name, window in windows.items():
            used[0] = 0
            start = time.perf_counter()
            arrested = window(
                np.uint64(1), round_ * arguments.lanes, arguments.lanes, *inputs, used
            )
            best[name] = min(best[name], (time.perf_counter() - start) / arguments.lanes)
            draws[name], arrests[name] = used[0] / arguments.lanes, arrested / arguments.lanes
    print(f"{'':38} {'us a lane':>9} {'draws':>8} {'ns a draw':>9} {'arrests':>8}")
    for name in windows:
        print(
            f"{name:38} {1e6 * best[name]:9.1f} {draws[name]:8.1f} "
            f"{1e9 * best[name] / draws[name]:9.1f} {arrests[name]:8.1f}"
        )


if __name__ == "__main__":
    main()
