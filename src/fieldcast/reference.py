"""The reference model: docs/model.md executed one household at a time, with SimPy.

This is the specification in code, written to be read, not to be fast. Every household and
every field team is a SimPy process; each decision is one Bernoulli trial (or one uniform
choice) from the replication's own generator. It shares no transition code with the fast
count-based engine (only the scenario, household composition, and the recorder that turns end
of day counts into results), so that the equivalence tests compare two independent
implementations of the same rules.

The steps of docs/model.md ("Per-day order") happen at fixed times within each day, taken from
the declared order (``day_steps.time_of_day``), so SimPy runs them in that order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from fieldcast.compiled import compile_scenario
from fieldcast.day_steps import time_of_day
from fieldcast.metrics import FLOWS, METRICS, STOCKS
from fieldcast.recording import TRAJECTORY_SAMPLE, ChunkOutput, Recorder, band_sample_size
from fieldcast.results import Results, ResultsBuilder
from fieldcast.scenario import Scenario, compose_households
from fieldcast.workers import Progress, gather, task_progress

if TYPE_CHECKING:
    from distributed import Client

ALERT_MOVES = time_of_day("moves", 0)  # 1a. households alerted yesterday may move
HAZARD_MOVES = time_of_day("moves", 1)  # 1b. baseline or leak moves
FIELD = time_of_day("field_attempts")  # 2. field attempts
DISPOSITIONS = time_of_day("dispositions")  # 3. today's arrests and yesterday's re-arrests
PROCESSING_DONE = time_of_day("detention_outflows", 0)  # 4a. relief or the removal queue
REMOVALS = time_of_day("detention_outflows", 1)  # 4b. removal seats
DEADLINES = time_of_day("notice_deadlines")  # 5. notice deadlines
RECORD = time_of_day("record")  # 6. end-of-day counts

BLOCK = 250  # replications handed to one recorder (a results chunk)
_STOCK_ROW = {stock: METRICS.index(stock) for stock in STOCKS}


@dataclass(eq=False)  # each household is itself: two alike are still two
class Household:
    """One target household. It has a city and a size class, and no identity beyond that."""

    city: int
    size_class: int
    at_address: bool
    state: str = "open"  # open, closed, awaiting_disposition, detained, awaiting_removal,
    # on_notice, removed, departed, released, lost
    attempts: int = 0
    last_visit_day: int | None = None
    monitored: bool = False


class Replication:
    """One run of the operation."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.scenario = scenario
        self.rng = rng
        self.cities = [city.name for city in scenario.cities]
        self.classes = scenario.households.classes
        self.start_day = min([0, *(event.day for event in scenario.leak.events)])
        self.day_count = scenario.operation.horizon_days - self.start_day
        self.env = simpy.Environment(initial_time=self.start_day)
        shape = (len(self.classes), len(self.cities))
        self.cumulative = {flow: np.zeros(shape, dtype=np.int64) for flow in FLOWS}
        self.collateral = np.zeros(len(self.cities), dtype=np.int64)
        self.counts = np.zeros((self.day_count, len(METRICS), *shape), dtype=np.int64)
        self.collateral_by_day = np.zeros((self.day_count, len(self.cities)), dtype=np.int64)
        self.full_capacity = np.zeros((self.day_count, len(self.cities)), dtype=bool)
        self.bed_shortfall = np.zeros(self.day_count, dtype=bool)
        self.monitor_shortfall = np.zeros((self.day_count, len(self.cities)), dtype=bool)
        self.attempts_today = np.zeros(len(self.cities), dtype=np.int64)
        self.hazards = [
            self.hazard(day) for day in range(self.start_day, self.start_day + self.day_count)
        ]
        self.households = self._households()
        self.stocks = np.zeros((len(METRICS), *shape), dtype=np.int64)  # flows rows unused
        for household in self.households:
            for stock in self.stocks_of(household):
                self.stocks[(_STOCK_ROW[stock], household.size_class, household.city)] += 1
        self.households_of = [
            [h for h in self.households if h.city == city] for city in range(len(self.cities))
        ]

    def city_parameter(self, city: int, field: str) -> Any:
        return self.scenario.city_parameter(self.cities[city], field)

    def chance(self, probability: float) -> bool:
        return bool(self.rng.random() < probability)

    def count(self, flow: str, household: Household) -> None:
        self.cumulative[flow][household.size_class, household.city] += 1

    # -- the start: who is still at the address on file (stage 2) --------------------------

    def _households(self) -> list[Household]:
        households = []
        for city_index, city in enumerate(self.scenario.cities):
            per_class = compose_households(city.target_persons, self.classes)
            for size_class, count in enumerate(per_class):
                for _ in range(count):
                    in_absentia = self.chance(self.city_parameter(city_index, "p_in_absentia"))
                    valid = self.city_parameter(
                        city_index,
                        "p_address_valid_absentia" if in_absentia else "p_address_valid_other",
                    )
                    households.append(Household(city_index, size_class, self.chance(valid)))
        return households

    def run(self) -> None:
        for household in self.households:
            if household.at_address:
                self.env.process(self.own_move(household))
        for city in range(len(self.cities)):
            for team in range(self.city_parameter(city, "teams")):
                self.env.process(self.field_team(city, team))
        self.env.process(self.every_day(DISPOSITIONS, self.dispositions))
        self.env.process(self.every_day(REMOVALS, self.removals))
        self.env.process(self.every_day(RECORD, self.record))
        self.env.run(until=self.scenario.operation.horizon_days)

    def at(self, day: int, step: float) -> simpy.Timeout:
        """Wait until ``step`` of ``day``."""
        return self.env.timeout(day + step - self.env.now)

    def every_day(self, step: float, action: Any) -> Iterator[simpy.Timeout]:
        for day in range(self.start_day, self.scenario.operation.horizon_days):
            yield self.at(day, step)
            action(day)

    # -- 1. moves ----------------------------------------------------------------------------

    def hazard(self, day: int) -> float:
        leak = self.scenario.leak
        extra = sum(
            event.peak_hazard * 0.5 ** ((day - event.day) / event.half_life_days)
            for event in leak.events
            if day >= event.day
        )
        return min(1.0, leak.baseline_hazard + extra)

    def own_move(self, household: Household) -> Iterator[simpy.Timeout]:
        """Baseline or leak moves: each day, while open and at its address, the household moves
        with that day's hazard. The hazard does not depend on the household, so the day it
        would first move is drawn at the start (the first day whose cumulative probability of
        having moved exceeds one uniform draw); it moves then if it is still open and there."""
        threshold = self.rng.random()
        stayed = 1.0
        for day in range(self.start_day, self.scenario.operation.horizon_days):
            stayed *= 1.0 - self.hazards[day - self.start_day]
            if 1.0 - stayed > threshold:
                yield self.at(day, HAZARD_MOVES)
                if household.state == "open" and household.at_address:
                    self.change(household, at_address=False)
                    self.count("moved_away", household)
                return

    def alert_move(self, household: Household, day: int) -> Iterator[simpy.Timeout]:
        """A household attempted but not contacted may move before the next day's attempts."""
        yield self.at(day, ALERT_MOVES)
        still_there = household.state == "open" and household.at_address
        if still_there and self.chance(self.scenario.leak.p_alert_move):
            self.change(household, at_address=False)
            self.count("moved_after_alert", household)

    # -- 2. field attempts -------------------------------------------------------------------

    def capacity(self, city: int, day: int) -> int:
        """Attempts the city's teams can make on a field day."""
        operation = self.scenario.operation
        stands_down = self.city_parameter(city, "stands_down_day")
        if not 0 <= day < operation.field_days or (stands_down is not None and day >= stands_down):
            return 0
        tempo = operation.tempo[min(day, len(operation.tempo) - 1)]
        full = (
            self.city_parameter(city, "teams")
            * self.city_parameter(city, "attempts_per_team_day")
            * self.city_parameter(city, "local_support")
            * tempo
        )
        return math.floor(full + 1e-9)

    def field_team(self, city: int, team: int) -> Iterator[simpy.Timeout]:
        """One team: each field day, its share of the city's attempts (the city's capacity
        split as evenly as whole attempts allow)."""
        teams = self.city_parameter(city, "teams")
        for day in range(self.scenario.operation.field_days):
            yield self.at(day, FIELD)
            city_capacity = self.capacity(city, day)
            share = city_capacity // teams + (1 if team < city_capacity % teams else 0)
            if team == 0:
                self.attempts_today[city] = 0
            for _ in range(share):
                household = self.next_household(city, day)
                if household is None:
                    break
                self.attempt(household, day)
            if team == teams - 1:
                used = self.attempts_today[city]
                self.full_capacity[day - self.start_day, city] = (
                    city_capacity > 0 and used == city_capacity
                )

    def next_household(self, city: int, day: int) -> Household | None:
        """Never-attempted open households first, then those attempted before; uniformly at
        random within the group; nobody twice on the same day."""
        candidates = [
            h for h in self.households_of[city] if h.state == "open" and h.last_visit_day != day
        ]
        fresh = [h for h in candidates if h.attempts == 0]
        group = fresh or candidates
        if not group:
            return None
        return group[self.rng.integers(len(group))]

    def attempt(self, household: Household, day: int) -> None:
        household.last_visit_day = day
        self.attempts_today[household.city] += 1
        self.count("attempts", household)
        contacted = False
        if not household.at_address:
            self.count("not_found", household)
        elif self.chance(self.city_parameter(household.city, "p_contact")):
            contacted = True
            self.count("contacts", household)
            rate = self.city_parameter(household.city, "collateral_per_contact")
            self.collateral[household.city] += self.rng.poisson(rate)
            if self.chance(self.city_parameter(household.city, "p_arrest_given_contact")):
                self.change(household, state="awaiting_disposition")
                self.count("arrests", household)
                return
        household.attempts += 1
        if household.attempts == self.scenario.operation.max_attempts:
            self.change(household, state="closed")
            self.count("closures", household)
        elif household.at_address and not contacted:
            self.env.process(self.alert_move(household, day + 1))

    # -- 3. dispositions ---------------------------------------------------------------------

    def persons(self, household: Household) -> int:
        return self.classes[household.size_class].size

    def dispositions(self, day: int) -> None:
        arrested = [h for h in self.households if h.state == "awaiting_disposition"]
        if not arrested:
            return
        for_detention = [
            h for h in arrested if self.chance(self.city_parameter(h.city, "p_detain"))
        ]
        detention = self.scenario.detention
        in_use = sum(
            self.persons(h) for h in self.households if h.state in ("detained", "awaiting_removal")
        )
        placed = self.largest_first(
            for_detention, detention.beds - detention.baseline_occupancy - in_use
        )
        self.bed_shortfall[day - self.start_day] = len(placed) < len(for_detention)
        for household in placed:
            self.change(household, state="detained")
            self.count("detentions", household)
            self.env.process(self.detention(household, day))
        released = [h for h in arrested if h.state == "awaiting_disposition"]
        for city in range(len(self.cities)):
            from_city = [h for h in released if h.city == city]
            wanted = [h for h in from_city if self.chance(self.city_parameter(city, "p_monitor"))]
            stock = self.city_parameter(city, "monitors")
            fitted: list[Household] = wanted
            if stock is not None:
                worn = sum(
                    1
                    for h in self.households
                    if h.city == city and h.state == "on_notice" and h.monitored
                )
                order = self.rng.permutation(len(wanted))
                fitted = [wanted[i] for i in order[: max(stock - worn, 0)]]
                self.monitor_shortfall[day - self.start_day, city] = len(fitted) < len(wanted)
            for household in from_city:
                self.change(household, state="on_notice", monitored=household in fitted)
                self.count("notices", household)
                if household.monitored:
                    self.count("monitors_fitted", household)
                self.env.process(self.notice(household, day))

    def largest_first(self, households: list[Household], room: int) -> list[Household]:
        """Households that get places (beds or seats) for ``room`` persons: largest first, in
        random order within a size, each taking its size if it still fits."""
        chosen = []
        sizes = sorted({self.persons(h) for h in households}, reverse=True)
        for size in sizes:
            same_size = [h for h in households if self.persons(h) == size]
            for index in self.rng.permutation(len(same_size)):
                if size <= room:
                    chosen.append(same_size[index])
                    room -= size
        return chosen

    # -- 4. detention outflows ---------------------------------------------------------------

    def detention(self, household: Household, day: int) -> Iterator[simpy.Timeout]:
        yield self.at(day + self.scenario.detention.processing_days, PROCESSING_DONE)
        if self.chance(self.scenario.detention.p_relief):
            self.change(household, state="released")
            self.count("relief_releases", household)
        else:
            self.change(household, state="awaiting_removal")

    def removals(self, day: int) -> None:
        queue = [h for h in self.households if h.state == "awaiting_removal"]
        for household in self.largest_first(queue, self.scenario.detention.removal_seats_per_day):
            self.change(household, state="removed")
            self.count("removals", household)

    # -- 5. notice deadlines -----------------------------------------------------------------

    def notice(self, household: Household, day: int) -> Iterator[simpy.Timeout]:
        notice = self.scenario.notice
        yield self.at(day + notice.notice_days, DEADLINES)
        if household.state != "on_notice":
            return
        monitored = household.monitored
        self.change(household, monitored=False)
        if self.chance(notice.p_comply):
            self.change(household, state="departed")
            self.count("departures", household)
        elif monitored and self.chance(notice.p_rearrest_monitored):
            self.change(household, state="awaiting_disposition")
            self.count("rearrests", household)
        else:
            self.change(household, state="lost")
            self.count("losses", household)

    # -- 6. record ---------------------------------------------------------------------------

    def record(self, day: int) -> None:
        counts = self.counts[day - self.start_day]
        for flow, cumulative in self.cumulative.items():
            counts[METRICS.index(flow)] = cumulative
        for row in _STOCK_ROW.values():
            counts[row] = self.stocks[row]
        self.collateral_by_day[day - self.start_day] = self.collateral

    def change(self, household: Household, **changes: Any) -> None:
        """Change a household (its state, whether it is at its address, whether it wears a
        monitor), keeping the end-of-day stock counts up to date."""
        cell = (household.size_class, household.city)
        for stock in self.stocks_of(household):
            self.stocks[(_STOCK_ROW[stock], *cell)] -= 1
        for name, value in changes.items():
            setattr(household, name, value)
        for stock in self.stocks_of(household):
            self.stocks[(_STOCK_ROW[stock], *cell)] += 1

    @staticmethod
    def stocks_of(household: Household) -> tuple[str, ...]:
        """The stocks (docs/model.md, section 3) a household counts in."""
        state = household.state
        if state == "open":
            return ("open", "at_address") if household.at_address else ("open", "moved")
        if state == "detained":
            return ("detained",)
        if state == "awaiting_removal":
            return ("detained", "awaiting_removal")
        if state == "on_notice":
            return ("on_notice", "monitored") if household.monitored else ("on_notice",)
        if state in ("closed", "awaiting_disposition"):
            return (state,)
        return ()  # removed, departed, released, lost: counted by their flows


def simulate_reference_block(
    scenario: Scenario,
    seed: int,
    first: int,
    replications: int,
    band_sample: int = 0,
    trajectory_sample: int | None = None,
) -> ChunkOutput:
    """Replications ``first`` .. ``first + replications - 1``; replication r draws from the
    generator of ``SeedSequence(seed, spawn_key=(r,))``, so blocks can be split at will.
    Trajectories are kept for the first ``trajectory_sample`` (default: as in the engine's
    first chunk when there is a band sample, else none)."""
    runs = []
    for replication in range(first, first + replications):
        sequence = np.random.SeedSequence(seed, spawn_key=(replication,))
        run = Replication(scenario, np.random.Generator(np.random.PCG64(sequence)))
        run.run()
        runs.append(run)
        task_progress(len(runs) / replications)
    compiled = compile_scenario(scenario)
    if trajectory_sample is None:
        trajectory_sample = TRAJECTORY_SAMPLE if band_sample else 0
    recorder = Recorder(compiled, replications, band_sample, trajectory_sample)
    for day in range(compiled.day_count):
        recorder.record(
            day,
            np.stack([run.counts[day] for run in runs], axis=2),  # [metric, class, rep, city]
            np.stack([run.collateral_by_day[day] for run in runs]),
            np.stack([run.full_capacity[day] for run in runs]),
            np.array([run.bed_shortfall[day] for run in runs]),
            np.stack([run.monitor_shortfall[day] for run in runs]),
        )
    return recorder.output()


def simulate_reference(
    scenario: Scenario,
    replications: int,
    seed: int,
    processes: int = 1,
    progress: Progress | None = None,
    client: Client | None = None,
) -> Results:
    """Run the reference model; the same interface and results as ``simulation.simulate``."""
    compiled = compile_scenario(scenario)
    banded = band_sample_size(compiled.day_count)
    tasks = [
        (scenario, seed, first, min(BLOCK, replications - first), banded if first == 0 else 0)
        for first in range(0, replications, BLOCK)
    ]
    builder = ResultsBuilder(compiled, seed, [task[3] for task in tasks])
    gather(simulate_reference_block, tasks, builder.add, processes, client, progress)
    return builder.build()
