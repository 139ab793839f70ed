"""The fast engine: exact count-based simulation of a scenario, vectorised over replications.

Households of one city and one size class are exchangeable, so the state is a set of count
arrays indexed by size class, replication and city (and, for open households, attempts made),
and every daily transition is a binomial, Poisson or (multivariate) hypergeometric draw on
counts, each drawn by inversion from one uniform of a named stream (``sampling.py``). This is
exact, not an approximation: it has the distribution of the per-household model in
``docs/model.md``, and its cost grows with replications x cities x size classes x days, not
with households.

Each day follows the order written in ``docs/model.md`` ("Per-day order"), in the methods
``_moves``, ``_field_attempts``, ``_dispositions``, ``_detention_outflows``,
``_notice_deadlines`` and ``_record``, called in that order by ``_Chunk.run``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fieldcast import sampling
from fieldcast.metrics import FLOWS, METRICS, STOCKS
from fieldcast.recording import ChunkOutput, Recorder
from fieldcast.scenario import Scenario, compose_households
from fieldcast.streams import Streams

UNLIMITED = np.iinfo(np.int64).max // 4  # stands for "no limit" in capacity arithmetic


@dataclass(frozen=True)
class CompiledScenario:
    """A scenario turned into the arrays the engine computes with (built once per run)."""

    scenario: Scenario
    households: np.ndarray  # [city, class] target households
    sizes: np.ndarray  # [class] persons per household
    minors: np.ndarray  # [class] minors per household
    p_address_valid: np.ndarray  # [city]
    capacity: np.ndarray  # [day index, city] attempts available on that day
    hazard: np.ndarray  # [day index] move-away probability for households at their address
    p_alert_move: float
    p_contact: np.ndarray  # [city]
    p_arrest: np.ndarray  # [city]
    collateral_per_contact: np.ndarray  # [city]
    p_detain: np.ndarray  # [city]
    p_monitor: np.ndarray  # [city]
    monitors: np.ndarray  # [city] monitor stock (UNLIMITED when not binding)
    free_beds: int  # beds minus baseline occupancy
    start_day: int  # first simulated day (day index 0)
    days: int  # number of simulated days
    field_days: int
    officer_days: np.ndarray  # [city] officer-days scheduled (teams x officers x active days)

    @property
    def cities(self) -> int:
        return self.households.shape[0]

    @property
    def classes(self) -> int:
        return self.households.shape[1]

    def day_index(self, day: int) -> int:
        return day - self.start_day


def compile_scenario(scenario: Scenario) -> CompiledScenario:
    """Resolve per-city overrides, compose households and tabulate the daily profiles."""
    op = scenario.operation
    names = [city.name for city in scenario.cities]

    def per_city(field: str) -> np.ndarray:
        return np.array([scenario.city_parameter(n, field) for n in names], dtype=float)

    households = np.array(
        [
            compose_households(c.target_persons, scenario.households.classes)
            for c in scenario.cities
        ],
        dtype=np.int64,
    )
    p_absentia = per_city("p_in_absentia")
    p_address_valid = p_absentia * per_city("p_address_valid_absentia") + (
        1 - p_absentia
    ) * per_city("p_address_valid_other")

    start_day = scenario.start_day
    days = op.horizon_days - start_day
    daily_attempts = (
        per_city("teams") * per_city("attempts_per_team_day") * per_city("local_support")
    )
    stand_downs = [scenario.city_parameter(n, "stands_down_day") for n in names]
    capacity = np.zeros((days, len(names)), dtype=np.int64)
    active_days = np.zeros(len(names))
    for day in range(op.field_days):
        tempo = op.tempo[min(day, len(op.tempo) - 1)]
        working = np.array(
            [stands_down is None or day < stands_down for stands_down in stand_downs]
        )
        capacity[day - start_day] = np.floor(daily_attempts * tempo * working + 1e-9)
        active_days += working
    officer_days = per_city("teams") * scenario.costs.officers_per_team * active_days

    hazard = np.full(days, scenario.leak.baseline_hazard)
    for event in scenario.leak.events:
        elapsed = np.arange(days) + start_day - event.day
        extra = event.peak_hazard * 0.5 ** (np.maximum(elapsed, 0) / event.half_life_days)
        hazard += np.where(elapsed >= 0, extra, 0.0)
    hazard = np.minimum(hazard, 1.0)

    monitors = np.array(
        [
            UNLIMITED if m is None else m
            for m in (scenario.city_parameter(n, "monitors") for n in names)
        ],
        dtype=np.int64,
    )
    det = scenario.detention
    return CompiledScenario(
        scenario=scenario,
        households=households,
        sizes=np.array([c.size for c in scenario.households.classes], dtype=np.int64),
        minors=np.array([c.minors for c in scenario.households.classes], dtype=np.int64),
        p_address_valid=p_address_valid,
        capacity=capacity,
        hazard=hazard,
        p_alert_move=scenario.leak.p_alert_move,
        p_contact=per_city("p_contact"),
        p_arrest=per_city("p_arrest_given_contact"),
        collateral_per_contact=per_city("collateral_per_contact"),
        p_detain=per_city("p_detain"),
        p_monitor=per_city("p_monitor"),
        monitors=monitors,
        free_beds=max(det.beds - det.baseline_occupancy, 0),
        start_day=start_day,
        days=days,
        field_days=op.field_days,
        officer_days=officer_days,
    )


_FLOW_INDEX = {flow: METRICS.index(flow) for flow in FLOWS}
_STOCK_INDEX = {stock: METRICS.index(stock) for stock in STOCKS}


class _ChunkState:
    """The count state of one chunk of replications.

    Household counts are int64 arrays shaped (class, replication, city), with any further axis
    (attempts made, ring-buffer slot, metric) in front, so that the slices the day loop touches
    are contiguous and per-city parameters broadcast along the last axis.
    """

    def __init__(self, plan: CompiledScenario, replications: int) -> None:
        shape = (plan.classes, replications, plan.cities)
        attempts = plan.scenario.operation.max_attempts
        # open households by attempts made so far: at the address on file, or moved away
        self.at_address = np.zeros((attempts, *shape), dtype=np.int64)
        self.moved = np.zeros((attempts, *shape), dtype=np.int64)
        self.alerted = np.zeros((attempts, *shape), dtype=np.int64)  # part of at_address
        self.attempt_slots_used = 1  # leading entries of the attempts axis that can be non-zero
        self.closed = np.zeros(shape, dtype=np.int64)
        self.awaiting_disposition = np.zeros(shape, dtype=np.int64)  # arrested, not disposed
        # ring buffers by the day a cohort entered, with running totals
        processing_slots = plan.scenario.detention.processing_days + 1
        self.in_processing = np.zeros((processing_slots, *shape), dtype=np.int64)
        self.processing_total = np.zeros(shape, dtype=np.int64)
        self.removal_queue = np.zeros(shape, dtype=np.int64)
        notice_slots = plan.scenario.notice.notice_days + 1
        # on notice by release day, then by monitor (0: none, 1: fitted)
        self.on_notice = np.zeros((notice_slots, 2, *shape), dtype=np.int64)
        self.notice_total = np.zeros((2, *shape), dtype=np.int64)
        # [metric, class, rep, city]: stocks are written by _record, flows accumulate here
        self.counts = np.zeros((len(METRICS), *shape), dtype=np.int64)
        self.collateral = np.zeros((replications, plan.cities), dtype=np.int64)

    def pool_attempts(self) -> None:
        """After the last field day the number of attempts made no longer matters: pool the
        open households into the first slot, so that later days touch a third of the cells."""
        for by_attempts in (self.at_address, self.moved, self.alerted):
            by_attempts[0] = by_attempts.sum(axis=0)
            by_attempts[1:] = 0
        self.attempt_slots_used = 1

    def add(self, flow: str, households: np.ndarray) -> None:
        """Add today's households of ``flow`` to its cumulative count."""
        self.counts[_FLOW_INDEX[flow]] += households


def simulate_chunk(
    plan: CompiledScenario,
    seed: int,
    chunk_index: int,
    replications: int,
    band_sample: int = 0,
    trajectory_sample: int = 0,
) -> ChunkOutput:
    """Simulate ``replications`` replications of ``plan``.

    The draws depend only on (seed, chunk_index), so any split of a run into chunks and
    processes gives the same numbers. The first ``band_sample`` replications keep their daily
    national totals (for daily quantile bands), the first ``trajectory_sample`` everything.
    """
    return _Chunk(
        plan, Streams(seed, chunk_index), replications, band_sample, trajectory_sample
    ).run()


class _Chunk:
    """One chunk's day loop; each step is a method, called in the documented per-day order."""

    def __init__(
        self,
        plan: CompiledScenario,
        streams: Streams,
        replications: int,
        band_sample: int,
        trajectory_sample: int,
    ) -> None:
        self.plan = plan
        self.streams = streams
        self.replications = replications
        self.state = _ChunkState(plan, replications)
        self.day_index = 0
        self.generators: dict[str, np.random.Generator] = {}
        self.recorder = Recorder(plan, replications, band_sample, trajectory_sample)
        # what happened today, for the binding-resource summaries
        self.full_capacity_today = np.zeros((replications, plan.cities), dtype=bool)
        self.bed_shortfall_today = np.zeros(replications, dtype=bool)
        self.monitor_shortfall_today = np.zeros((replications, plan.cities), dtype=bool)

    # -- random draws: every one goes through a named stream of the current day ------------

    def rng(self, stream: str) -> np.random.Generator:
        """The generator of ``stream`` today (made once a day, then continued)."""
        if stream not in self.generators:
            day = self.plan.start_day + self.day_index
            self.generators[stream] = self.streams.for_day(stream, day)
        return self.generators[stream]

    def binomial(
        self, stream: str, trials: np.ndarray, probability: np.ndarray | float
    ) -> np.ndarray:
        uniforms = self.rng(stream).random(np.shape(trials))
        return sampling.binomial(trials, probability, uniforms)

    def hypergeometric(
        self, stream: str, good: np.ndarray, bad: np.ndarray, sample: np.ndarray
    ) -> np.ndarray:
        uniforms = self.rng(stream).random(np.shape(good))
        return sampling.hypergeometric(good, bad, sample, uniforms)

    def poisson(self, stream: str, mean: np.ndarray) -> np.ndarray:
        return sampling.poisson(mean, self.rng(stream).random(np.shape(mean)))

    def pick(self, stream: str, counts: np.ndarray, picks: np.ndarray) -> np.ndarray:
        """How many of ``picks`` fall in each category (first axis) of ``counts``."""
        uniforms = self.rng(stream).random(np.shape(counts))
        return sampling.draw_without_replacement(counts, picks, uniforms)

    def run(self) -> ChunkOutput:
        self._initial_addresses()
        for day_index in range(self.plan.days):
            self.day_index = day_index
            self.generators.clear()
            for happened in (
                self.full_capacity_today,
                self.bed_shortfall_today,
                self.monitor_shortfall_today,
            ):
                happened.fill(False)
            self._moves()
            self._field_attempts()
            self._dispositions()
            self._detention_outflows()
            self._notice_deadlines()
            self._record()
        return self.recorder.output()

    # -- start -------------------------------------------------------------------------------

    def _initial_addresses(self) -> None:
        """Stage 2: each target household is still at its address with the city's probability."""
        plan, state = self.plan, self.state
        households = np.broadcast_to(plan.households.T[:, None, :], state.closed.shape)
        # Keyed to day 0 whatever the start day, so scenarios with other leak dates share it.
        uniforms = self.streams.for_day("address", 0).random(households.shape)
        at_address = sampling.binomial(households, plan.p_address_valid, uniforms)
        state.at_address[0] = at_address
        state.moved[0] = households - at_address

    # -- 1. moves ----------------------------------------------------------------------------

    def _moves(self) -> None:
        """Alert moves of households attempted but not contacted yesterday, then the baseline or
        leak hazard for every open household still at its address."""
        plan, state = self.plan, self.state
        used = state.attempt_slots_used
        at_address = state.at_address[:used]  # a view: updated in place
        yesterday_had_attempts = self.day_index > 0 and plan.capacity[self.day_index - 1].any()
        if plan.p_alert_move > 0 and yesterday_had_attempts:
            leaving = self.binomial("alert_moves", state.alerted[:used], plan.p_alert_move)
            at_address -= leaving
            state.moved[:used] += leaving
            state.add("moved_after_alert", leaving.sum(axis=0))
        state.alerted.fill(0)
        hazard = plan.hazard[self.day_index]
        if hazard > 0:
            leaving = self.binomial("moves", at_address, hazard)
            at_address -= leaving
            state.moved[:used] += leaving
            state.add("moved_away", leaving.sum(axis=0))

    # -- 2. field attempts -------------------------------------------------------------------

    def _field_attempts(self) -> None:
        """Attempts up to each city's capacity: never-attempted households first, then
        re-attempts, uniformly at random within each group (at most one attempt a day)."""
        plan, state = self.plan, self.state
        capacity = plan.capacity[self.day_index]
        if not capacity.any():
            return
        attempts, classes, reps, cities = state.at_address.shape
        capacity = np.broadcast_to(capacity, (reps, cities))
        open_households = state.at_address + state.moved  # [attempts made, class, rep, city]

        # Which households: first by (attempts made, class), ignoring where they are, which is
        # the same in runs that differ only in moves (common random numbers); then, within
        # each cell, how many of the picked are at the address (a hypergeometric split).
        fresh = open_households[0]
        fresh_attempts = np.minimum(capacity, fresh.sum(axis=0))
        picked = np.zeros_like(open_households)
        picked[0] = self.pick("select_new", fresh, fresh_attempts)
        retry = open_households[1:].reshape(-1, reps, cities)
        retry_attempts = np.minimum(capacity - fresh_attempts, retry.sum(axis=0))
        picked[1:] = self.pick("select_retry", retry, retry_attempts).reshape(
            attempts - 1, classes, reps, cities
        )
        visited_at_address = self.hypergeometric(
            "select_location", state.at_address, state.moved, picked
        )
        visited_moved = picked - visited_at_address
        self.full_capacity_today[...] = (fresh_attempts + retry_attempts == capacity) & (
            capacity > 0
        )

        contacts = self.binomial("contact", visited_at_address, plan.p_contact)
        arrests = self.binomial("arrest", contacts, plan.p_arrest)
        not_contacted = visited_at_address - contacts
        contacts_by_city = contacts.sum(axis=(0, 1))  # [rep, city]
        state.collateral += self.poisson(
            "collateral", plan.collateral_per_contact * contacts_by_city
        )

        # Everyone visited and not arrested has made one more attempt; at max_attempts: closed.
        state.at_address -= visited_at_address
        state.moved -= visited_moved
        still_at_address = visited_at_address - arrests
        state.at_address[1:] += still_at_address[:-1]
        state.moved[1:] += visited_moved[:-1]
        state.alerted[1:] += not_contacted[:-1]
        closures = still_at_address[-1] + visited_moved[-1]
        state.closed += closures
        state.attempt_slots_used = min(state.attempt_slots_used + 1, attempts)
        if self.day_index == plan.day_index(plan.field_days - 1):
            state.pool_attempts()

        arrested = arrests.sum(axis=0)
        state.add("attempts", picked.sum(axis=0))
        state.add("not_found", visited_moved.sum(axis=0))
        state.add("contacts", contacts.sum(axis=0))
        state.add("arrests", arrested)
        state.add("closures", closures)
        state.awaiting_disposition += arrested

    # -- 3. dispositions ---------------------------------------------------------------------

    def _dispositions(self) -> None:
        """Today's arrests and yesterday's re-arrests: detention if meant and beds fit, else a
        notice to depart (with a monitor if one is meant and free)."""
        plan, state = self.plan, self.state
        arrested = state.awaiting_disposition
        if not arrested.any():
            return
        state.awaiting_disposition = np.zeros_like(arrested)
        meant_for_detention = self.binomial("detain_intent", arrested, plan.p_detain)
        beds_free = plan.free_beds - self._beds_in_use()
        detained = self._fit_largest_first("bed_allocation", meant_for_detention, beds_free)
        self.bed_shortfall_today[...] = detained.sum(axis=(0, 2)) < meant_for_detention.sum(
            axis=(0, 2)
        )
        state.in_processing[self.day_index % len(state.in_processing)] += detained
        state.processing_total += detained
        state.add("detentions", detained)

        released = arrested - detained
        meant_for_monitor = self.binomial("monitor_intent", released, plan.p_monitor)
        monitors_free = plan.monitors - state.notice_total[1].sum(axis=0)  # [rep, city]
        wanted = meant_for_monitor.sum(axis=0)
        fitted_count = np.minimum(wanted, monitors_free)
        self.monitor_shortfall_today[...] = wanted > fitted_count
        fitted = self.pick("monitor_allocation", meant_for_monitor, fitted_count)
        released_by_monitor = np.stack([released - fitted, fitted])
        state.on_notice[self.day_index % len(state.on_notice)] += released_by_monitor
        state.notice_total += released_by_monitor
        state.add("notices", released)
        state.add("monitors_fitted", fitted)

    def _fit_largest_first(
        self, stream: str, demand: np.ndarray, room: np.ndarray | int
    ) -> np.ndarray:
        """Place households (demand: [class, rep, city]) into ``room`` persons' worth of places
        per replication (beds or seats).

        Largest households first (first-fit decreasing); within a size class, which cities'
        households get the last places is uniform at random (a hypergeometric draw).
        """
        sizes = self.plan.sizes
        room_left = np.broadcast_to(np.asarray(room, dtype=np.int64), demand.shape[1:2]).copy()
        placed = np.zeros_like(demand)
        for k in np.argsort(-sizes, kind="stable"):
            wanted = demand[k]  # [rep, city]
            fits = np.minimum(wanted.sum(axis=1), room_left // sizes[k])
            placed[k] = self.pick(stream, wanted.T, fits).T
            room_left -= fits * sizes[k]
        return placed

    def _beds_in_use(self) -> np.ndarray:
        """Persons in detention (processing or awaiting removal), per replication."""
        households = self.state.processing_total + self.state.removal_queue
        return np.tensordot(self.plan.sizes, households, axes=1).sum(axis=1)

    # -- 4. detention outflows ---------------------------------------------------------------

    def _detention_outflows(self) -> None:
        """Households done processing: relief releases, then removals up to today's seats."""
        plan, state = self.plan, self.state
        detention = plan.scenario.detention
        slot = (self.day_index - detention.processing_days) % len(state.in_processing)
        done = state.in_processing[slot].copy()
        if done.any():
            state.in_processing[slot] = 0
            state.processing_total -= done
            relief = self.binomial("relief", done, detention.p_relief)
            state.add("relief_releases", relief)
            state.removal_queue += done - relief
        if state.removal_queue.any():
            removed = self._fit_largest_first(
                "removal_allocation", state.removal_queue, detention.removal_seats_per_day
            )
            state.removal_queue -= removed
            state.add("removals", removed)

    # -- 5. notice deadlines -----------------------------------------------------------------

    def _notice_deadlines(self) -> None:
        """Households released ``notice_days`` ago: depart, or (if monitored) are re-arrested
        for disposition tomorrow, or are lost to follow-up."""
        plan, state = self.plan, self.state
        notice = plan.scenario.notice
        if self.day_index < notice.notice_days:
            return
        slot = (self.day_index - notice.notice_days) % len(state.on_notice)
        due = state.on_notice[slot].copy()  # [monitored, class, rep, city]
        if not due.any():
            return
        state.on_notice[slot] = 0
        state.notice_total -= due
        departed = self.binomial("notice_outcome", due, notice.p_comply)
        stayed = due - departed
        rearrested = self.binomial("rearrest", stayed[1], notice.p_rearrest_monitored)
        state.add("departures", departed.sum(axis=0))
        state.add("rearrests", rearrested)
        state.add("losses", stayed.sum(axis=0) - rearrested)
        state.awaiting_disposition += rearrested

    # -- 6. record ---------------------------------------------------------------------------

    def _record(self) -> None:
        """Write the end-of-day stocks (flows are already cumulative) and hand them over."""
        state = self.state
        counts = state.counts  # [metric, class, rep, city] households
        used = state.attempt_slots_used
        at_address = counts[_STOCK_INDEX["at_address"]]
        moved = counts[_STOCK_INDEX["moved"]]
        np.sum(state.at_address[:used], axis=0, out=at_address)
        np.sum(state.moved[:used], axis=0, out=moved)
        np.add(at_address, moved, out=counts[_STOCK_INDEX["open"]])
        counts[_STOCK_INDEX["closed"]] = state.closed
        np.add(state.processing_total, state.removal_queue, out=counts[_STOCK_INDEX["detained"]])
        counts[_STOCK_INDEX["awaiting_removal"]] = state.removal_queue
        np.add(state.notice_total[0], state.notice_total[1], out=counts[_STOCK_INDEX["on_notice"]])
        counts[_STOCK_INDEX["monitored"]] = state.notice_total[1]
        counts[_STOCK_INDEX["awaiting_disposition"]] = state.awaiting_disposition
        self.recorder.record(
            self.day_index,
            counts,
            state.collateral,
            self.full_capacity_today,
            self.bed_shortfall_today,
            self.monitor_shortfall_today,
        )
