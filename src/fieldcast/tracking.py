"""Live tracking (nowcast): the forecast conditioned on the counts observed so far.

**Method.** A particle filter over lanes (Gordon, Salmond and Smith 1993), nested for the
cities (Naesseth, Lindsten and Schoen 2015), with parameter rejuvenation by kernel shrinkage
(Liu and West 2001):

1. every particle is a lane: its own values of the tracked assumptions, drawn from their
   ranges (the priors), and its own replication;
2. the lanes run to the day before the next day that ends counts; that day, each lane runs
   ``CHILDREN`` times (``_children_step``): for each city with counts (or all places, when a
   total is counted) one child's city is kept, chosen by the likelihood of its counts under
   the scenario's ``[observation]`` model (negative binomial or Poisson around the simulated
   count; a simulated zero is read as ``SIMULATED_ZERO``, as in calibration), and the lane is
   weighted by the children's mean likelihoods: the day's luck is averaged out of the
   weights, city by city, which a filter weighting whole lanes by ten cities' counts at once
   could not do (its effective sample size fell to a handful);
3. the lanes are resampled (systematic resampling): heavy ones copied, light ones dropped;
   further copies of a lane draw their own random numbers from the next draw on;
4. the tracked values are rejuvenated: each moves towards the particles' mean and is jittered
   (the Liu-West kernel on the logit of each value's prior position, which keeps the
   particles' mean and covariance), so that the values keep moving as evidence accumulates
   instead of staying at their first draws. When the effective sample size (ESS, always
   reported) falls below ``COLLAPSE_SHARE`` of the particles (or ``COLLAPSE_FLOOR``) the
   filter says so and rejuvenates harder (``COLLAPSE_DISCOUNT``);
5. after the last observed day every lane runs to the end of field work: the tracked forecast.

The filter's state after its last observed day is kept (run store), so that one more day of
counts updates it instead of refitting from day 0; an update gives exactly what one run over
all the days gives (a test checks it). Every step runs in chunks of lanes on the same path as
forecasts (in process, local processes or Dask); resampling, the choice of children and
rejuvenation draw from generators keyed by (seed, day), so the numbers do not depend on how
the lanes are cut.

**What is tracked.** The ranged assumptions that a lane can carry without compiling a
scenario of its own (``direct_table``: contact, arrest, detention and monitor probabilities,
collateral per contact, alert moves, relief, compliance, re-arrest, removal seats). The other
ranged assumptions (teams, hazards, attempts, address validity) shape the structure or derived
profiles: they are held at the scenario's values, and the output says so (calibrate them
first, ``fieldcast calibrate``, and track the calibrated scenario).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from fieldcast.assumptions import Prior, direct_table, draw_priors, priors
from fieldcast.calibration import (
    SIMULATED_ZERO,
    effective_sample_size,
    from_unconstrained,
    systematic_resample,
    to_unconstrained,
)
from fieldcast.compiled import CompiledScenario, ParameterTable, compile_scenario
from fieldcast.engine import (
    Lanes,
    LaneState,
    copied_state,
    distinct_lanes,
    resampled_branches,
    splice_cities,
)
from fieldcast.observations import (
    OBSERVABLE,
    TOTAL,
    ObservationSet,
    ObservedCount,
    simulated_persons,
)
from fieldcast.replications import work_split
from fieldcast.results import finite_quantiles, goal_days
from fieldcast.scenario import Observation, Scenario
from fieldcast.workers import gather

if TYPE_CHECKING:
    from distributed import Client

_METRICS = list(OBSERVABLE)
TRACKING_KEY = 0x7AC  # keys the filter's own random numbers (with the seed)
DISCOUNT = 0.99  # Liu-West discount: the kernel's shrinkage a = (3d - 1) / (2d), jitter 1 - a^2
COLLAPSE_DISCOUNT = 0.95  # after a collapse: about five times the jitter
# The weights have collapsed when the ESS falls below this share of the particles, or below
# COLLAPSE_FLOOR (too few to describe a 90% interval): the forecast then rests on a few
# distinct histories.
COLLAPSE_SHARE = 0.01
COLLAPSE_FLOOR = 10.0
# A count is a surprise when it lies outside this central interval of what the filter
# predicted for it (its lanes, equally weighted, run on from the last observed day, with the
# reporting noise): a correct filter flags one of an operation's 70 counts (ten cities, a
# week) 7% of the time.
SURPRISE_LEVEL = 0.999
QUANTILES = (0.05, 0.5, 0.95)
INTERVALS_INCLUDE = (
    "replication noise, the tracked assumptions' uncertainty (drawn from their ranges) and "
    "the observed counts (through the observation model); 90% intervals (5th to 95th "
    "percentile)"
)


def trackable(scenario: Scenario) -> list[str]:
    """The scenario's ranged assumptions that lanes can carry (module docstring)."""
    compiled = compile_scenario(scenario)
    return [
        prior.path
        for prior in priors(scenario)
        if not prior.path.startswith("costs.")
        and direct_table(compiled, [prior], np.array([[prior.low]])) is not None
    ]


def tracked_model(scenario: Scenario, parameters: Sequence[str] = ()) -> Scenario:
    """The scenario as tracked: only the tracked assumptions keep their ranges (default: all
    that can be tracked); a named one that cannot be tracked is an error that says why."""
    possible = trackable(scenario)
    for path in parameters:
        if path not in scenario.ranges:
            raise ValueError(
                f"parameters: {path}: no range in the scenario {scenario.name!r} "
                f"(ranged: {', '.join(scenario.ranges)})"
            )
        if path not in possible:
            raise ValueError(
                f"parameters: {path} shapes the scenario's structure or derived profiles and "
                f"cannot vary by lane; trackable: {', '.join(possible)} (calibrate {path} "
                "first with `fieldcast calibrate` and track the calibrated scenario)"
            )
    chosen = list(parameters) or possible
    return scenario.model_copy(update={"ranges": {p: scenario.ranges[p] for p in chosen}})


# -- lanes in chunks ----------------------------------------------------------------------------


@dataclass
class LaneChunk:
    """Lanes as plain arrays: what a task needs to go on with them, and what is stored."""

    values: np.ndarray  # [lane, tracked assumption]
    replication: np.ndarray  # [lane]
    branch: np.ndarray  # [lane]
    uniforms: np.ndarray  # [lane]
    # [lane] the first day with the goal's persons arrested (inf: not yet): kept here because
    # a lane resumed from its state knows its arrests so far but not when they came
    goal_day: np.ndarray
    state: LaneState | None  # None: not started
    next_day_index: int
    # the lanes' parameter table, made once for their values (``table``)
    parameters: ParameterTable | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.replication)

    def table(self, model: Scenario) -> ParameterTable:
        """The lanes' parameter table (one set per lane), made once per set of values."""
        if self.parameters is None:
            self.parameters = direct_table(_compiled(model), priors(model), self.values)
        assert self.parameters is not None
        return self.parameters

    def take(self, rows: np.ndarray | slice) -> LaneChunk:
        state = None if self.state is None else LaneState(*(a[rows] for a in self.state))
        table = None
        if self.parameters is not None:
            table = ParameterTable(*(a[rows] for a in self.parameters))
        return LaneChunk(
            self.values[rows],
            self.replication[rows],
            self.branch[rows],
            self.uniforms[rows],
            self.goal_day[rows],
            state,
            self.next_day_index,
            table,
        )

    @staticmethod
    def join(chunks: Sequence[LaneChunk]) -> LaneChunk:
        if len(chunks) == 1:
            return chunks[0]
        first = chunks[0]
        state = None
        if first.state is not None:
            state = LaneState(
                *(np.concatenate([c.state[i] for c in chunks]) for i in range(len(first.state)))  # type: ignore[index]
            )
        return LaneChunk(
            np.concatenate([c.values for c in chunks]),
            np.concatenate([c.replication for c in chunks]),
            np.concatenate([c.branch for c in chunks]),
            np.concatenate([c.uniforms for c in chunks]),
            np.concatenate([c.goal_day for c in chunks]),
            state,
            first.next_day_index,
        )


_COMPILED: dict[str, CompiledScenario] = {}  # by canonical JSON: every task of a filter


def _compiled(model: Scenario) -> CompiledScenario:
    """The compiled model, kept in this process: a filter runs many short tasks on one model
    (the cache holds the last few: one filter at a time in practice)."""
    key = model.canonical_json()
    if key not in _COMPILED:
        if len(_COMPILED) >= 4:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = compile_scenario(model)
    return _COMPILED[key]


def _lanes(model: Scenario, seed: int, chunk: LaneChunk, spare: LaneState | None) -> Lanes:
    """The chunk's lanes, ready to run on a copy of its state (into ``spare`` if given: a
    state of the same shapes no longer needed)."""
    compiled = _compiled(model)
    state = None if chunk.state is None else copied_state(chunk.state, spare)
    lanes = Lanes.start(
        [compiled],
        seed,
        parameter_set=np.arange(len(chunk)),
        replication=chunk.replication,
        daily=False,
        pausable=True,
        table=chunk.table(model),
        state=state,
        next_day_index=chunk.next_day_index if state is not None else 0,
    )
    lanes.keys = lanes.keys._replace(branch=chunk.branch.copy(), uniforms=chunk.uniforms.copy())
    return lanes


def _observables(lanes: Lanes) -> np.ndarray:
    """[lane, place, OBSERVABLE] cumulative persons now (place: the cities, then the total)."""
    persons = simulated_persons(lanes.state.counts, lanes.state.collateral, lanes.calendar.sizes)
    by_city = np.stack([persons[name] for name in OBSERVABLE], axis=-1)
    return np.concatenate([by_city, by_city.sum(axis=1, keepdims=True)], axis=1)


def _advance(
    model: Scenario,
    seed: int,
    chunk: LaneChunk,
    until: int,
    record_days: tuple[int, ...],
    arrests_from: int,
    spare: LaneState | None = None,
) -> tuple[LaneChunk, np.ndarray, np.ndarray]:
    """Run the lanes to the end of day ``until``: the lanes as they are then, the observables
    at the end of each of ``record_days`` [day, lane, place, metric], and the cumulative
    persons arrested on each day from ``arrests_from`` on [lane, day, place] (int32). The
    lanes run on a copy of the chunk's state, made into ``spare`` if given."""
    lanes = _lanes(model, seed, chunk, spare)
    places = len(model.cities) + 1
    observed = np.zeros((len(record_days), len(chunk), places, len(OBSERVABLE)), np.int64)
    wanted = {day: i for i, day in enumerate(record_days)}
    arrests = []
    if lanes.day in wanted:
        observed[wanted[lanes.day]] = _observables(lanes)
    if arrests_from <= lanes.day:
        arrests.append(_observables(lanes)[:, :, _METRICS.index("arrests")].astype(np.int32))
    for day in range(lanes.day + 1, until + 1):
        lanes.run_until(day)
        if day in wanted or day >= arrests_from:
            now = _observables(lanes)
            if day in wanted:
                observed[wanted[day]] = now
            if day >= arrests_from:
                arrests.append(now[:, :, _METRICS.index("arrests")].astype(np.int32))
    # a lane that reached the goal before it was resumed records its resume day: the earlier
    # day stands
    since = goal_days(lanes.calendar.start_day, lanes.recording.goal_day)
    after = LaneChunk(
        chunk.values,
        chunk.replication,
        lanes.keys.branch,
        lanes.keys.uniforms,
        np.minimum(chunk.goal_day, since),
        lanes.state,
        lanes.next_day_index,
        lanes.table,
    )
    by_day = np.stack(arrests, axis=1) if arrests else np.zeros((len(chunk), 0, places), np.int32)
    return after, observed, by_day


def _in_chunks(
    model: Scenario,
    seed: int,
    lanes: LaneChunk,
    until: int,
    record_days: Sequence[int],
    arrests_from: int,
    processes: int,
    client: Client | None,
    spare: LaneState | None = None,
) -> tuple[LaneChunk, np.ndarray, np.ndarray]:
    """``_advance`` over every lane, cut into chunks run where asked, joined in lane order.
    ``spare``: a state of the lanes' shapes no longer needed, for the copy they run on when
    they run here in one chunk (elsewhere each chunk's copy is made where it runs)."""
    # In this process one chunk is fastest (no joining); elsewhere, enough for the workers.
    single = client is None and processes == 1
    size = len(lanes) if single else work_split(len(lanes), processes, client)
    starts = list(range(0, len(lanes), size))
    tasks = [
        (
            model,
            seed,
            lanes.take(slice(s, s + size)),
            until,
            tuple(record_days),
            arrests_from,
            spare if single else None,
        )
        for s in starts
    ]
    parts: list[Any] = [None] * len(tasks)

    def receive(index: int, result: Any) -> None:
        parts[index] = result

    gather(_advance, tasks, receive, processes, client)
    return (
        LaneChunk.join([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts], axis=1),
        np.concatenate([p[2] for p in parts], axis=0),
    )


# -- the observation model -----------------------------------------------------------------------


def count_log_likelihood(
    model: Observation, observed: np.ndarray, simulated: np.ndarray
) -> np.ndarray:
    """[..., count] log probability of each observed count around the simulated one."""
    mean = np.maximum(simulated, SIMULATED_ZERO)
    if model.model == "poisson":
        return stats.poisson.logpmf(observed, mean)
    k = model.dispersion
    return stats.nbinom.logpmf(observed, k, k / (k + mean))


def count_tails(
    model: Observation, observed: np.ndarray, simulated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """[..., count] the probabilities of a reported count at most and at least the observed
    one around each simulated count (the observation model's CDF and survival function)."""
    mean = np.maximum(simulated, SIMULATED_ZERO)
    if model.model == "poisson":
        return stats.poisson.cdf(observed, mean), stats.poisson.sf(observed - 1, mean)
    k = model.dispersion
    p = k / (k + mean)
    return stats.nbinom.cdf(observed, k, p), stats.nbinom.sf(observed - 1, k, p)


def _place_index(scenario: Scenario, place: str) -> int:
    cities = [city.name for city in scenario.cities]
    return len(cities) if place == TOTAL else cities.index(place)


@dataclass
class Step:
    """One observed day of the filter."""

    day: int
    counts: int  # counts that end on this day
    ess: float  # of this day's weights, before resampling
    collapsed: bool
    band: list[list[float]]  # [place] 5%, 50%, 95% of persons arrested by this day, filtered
    # the counts outside the SURPRISE_LEVEL interval the filter predicted for them, each with
    # place, metric, first_day, persons and the predicted probability of as few (p_at_most)
    # and as many (p_at_least); none in filters stored before they were kept
    surprises: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "counts": self.counts,
            "ess": self.ess,
            "collapsed": self.collapsed,
            "band": self.band,
            "surprises": self.surprises,
        }


@dataclass
class FilterState:
    """The filter after its last observed day (``day``): what an update goes on from."""

    model: Scenario  # ranges: the tracked assumptions only
    seed: int
    day: int  # the last day the lanes ran to and the counts were conditioned on
    counts_sha256: str  # of the counts conditioned on
    lanes: LaneChunk
    series: list[tuple[str, str]]  # (place, metric)
    reference: np.ndarray  # [lane, series] cumulative at reference_day
    reference_day: np.ndarray  # [series]
    steps: list[Step] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """The lanes and references, compressed (zlib level 1, fast: most of a lane's state
        is zeros); each distinct lane state once (``state_of``: which one each lane has),
        since after resampling most lanes are copies."""
        assert self.lanes.state is not None
        distinct, state_of = distinct_lanes(self.lanes.state)
        buffer = io.BytesIO()
        arrays = {
            "values": self.lanes.values,
            "replication": self.lanes.replication,
            "branch": self.lanes.branch,
            "uniforms": self.lanes.uniforms,
            "goal_day": self.lanes.goal_day,
            "reference": self.reference,
            "reference_day": self.reference_day,
            "state_of": state_of,
            **{f"state_{k}": v[distinct] for k, v in self.lanes.state._asdict().items()},
        }
        np.savez(buffer, **arrays)
        return zlib.compress(buffer.getvalue(), 1)

    def metadata(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "day": self.day,
            "counts_sha256": self.counts_sha256,
            "next_day_index": self.lanes.next_day_index,
            "series": [list(s) for s in self.series],
            "steps": [s.as_dict() for s in self.steps],
        }

    @classmethod
    def from_bytes(cls, model: Scenario, metadata: dict[str, Any], blob: bytes) -> FilterState:
        with np.load(io.BytesIO(zlib.decompress(blob))) as data:
            arrays = {name: data[name] for name in data.files}
        if "state_unvisited_as_of" not in arrays:
            # stored before lanes folded the moves of never-visited households: their counts
            # at the address were kept to the day
            lanes, cities = arrays["state_monitors_out"].shape
            next_day_index = int(metadata["next_day_index"])
            arrays["state_unvisited_as_of"] = np.full((lanes, cities), next_day_index)
        state = LaneState(*(arrays[f"state_{name}"] for name in LaneState._fields))
        if "state_of" in arrays:  # stored since distinct states are stored once
            state = LaneState(*(a[arrays["state_of"]] for a in state))
        lanes = LaneChunk(
            arrays["values"],
            arrays["replication"],
            arrays["branch"],
            arrays["uniforms"],
            # stored before lanes kept it: a goal already reached counts from the next day run
            arrays.get("goal_day", np.full(len(arrays["replication"]), np.inf)),
            state,
            int(metadata["next_day_index"]),
        )
        return cls(
            model=model,
            seed=int(metadata["seed"]),
            day=int(metadata["day"]),
            counts_sha256=metadata["counts_sha256"],
            lanes=lanes,
            series=[tuple(s) for s in metadata["series"]],  # type: ignore[misc]
            reference=arrays["reference"],
            reference_day=arrays["reference_day"],
            steps=[Step(**s) for s in metadata["steps"]],
        )


def counts_sha256(counts: Sequence[ObservedCount]) -> str:
    rows = sorted((c.place, c.metric, c.first_day, c.last_day, c.persons) for c in counts)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _generator(seed: int, day: int, purpose: int) -> np.random.Generator:
    """The filter's own random numbers, keyed by (seed, day, purpose): 0 the priors' draws,
    1 resampling, 2 rejuvenation, 16 + c the choice of child c (``_children_step``)."""
    return np.random.default_rng(np.random.SeedSequence([seed, TRACKING_KEY, day + 2**20, purpose]))


def start_filter(
    model: Scenario, particles: int, seed: int, observed: ObservationSet
) -> FilterState:
    """The filter before any count: the tracked values drawn from their priors, one lane each
    (replications 0 .. particles - 1), not yet run."""
    if particles < 2:
        raise ValueError(f"particles: at least 2, got {particles}")
    values = draw_priors(priors(model), particles, _generator(seed, -(2**19), 0))
    series = sorted({(c.place, c.metric) for c in observed.counts()})
    lanes = LaneChunk(
        values,
        np.arange(particles, dtype=np.int64),
        np.zeros(particles, np.int64),
        np.zeros(particles, np.int64),
        np.full(particles, np.inf),
        None,
        0,
    )
    return FilterState(
        model=model,
        seed=seed,
        day=-1,
        counts_sha256=counts_sha256([]),
        lanes=lanes,
        series=series,
        reference=np.zeros((particles, len(series)), np.int64),
        reference_day=np.full(len(series), -1, np.int64),
    )


def _chunk_day(model: Scenario, lanes: LaneChunk) -> int:
    """The day lanes have run to (the day before the start if not started)."""
    start = _compiled(model).structure.start_day
    return start - 1 if lanes.state is None else start + lanes.next_day_index - 1


def _pending(state: FilterState, counts: Sequence[ObservedCount]) -> list[ObservedCount]:
    return [c for c in counts if c.last_day > state.day]


def can_update(state: FilterState, observed: ObservationSet) -> bool:
    """Whether the filter can go on with these observations: the counts it conditioned on
    are theirs unchanged, and every new count starts where a reference was kept."""
    counts = observed.counts()
    if counts_sha256([c for c in counts if c.last_day <= state.day]) != state.counts_sha256:
        return False
    if any((c.place, c.metric) not in state.series for c in counts):
        return False
    for count in _pending(state, counts):
        before = count.first_day - 1
        s = state.series.index((count.place, count.metric))
        if before <= state.day and before != state.reference_day[s]:
            return False
    return True


def _pause_days(state: FilterState, pending: Sequence[ObservedCount]) -> list[int]:
    ends = {c.last_day for c in pending}
    starts = {c.first_day - 1 for c in pending if c.first_day - 1 > state.day}
    return sorted(ends | starts)


def simulated_count(
    state: FilterState,
    count: ObservedCount,
    at_day: dict[int, np.ndarray],
) -> np.ndarray:
    """[lane] the simulated interval count of ``count`` (snapshots by day, or the state's
    reference where the count starts after it)."""
    model = state.model
    place, metric = _place_index(model, count.place), _METRICS.index(count.metric)
    end = at_day[count.last_day][:, place, metric]
    before = count.first_day - 1
    if before in at_day:
        return end - at_day[before][:, place, metric]
    s = state.series.index((count.place, count.metric))
    if state.reference_day[s] != before:
        raise ValueError(f"no simulated count on day {before} for {count.place} {count.metric}")
    return end - state.reference[:, s]


def _rejuvenate(
    model: Scenario, values: np.ndarray, discount: float, generator: np.random.Generator
) -> np.ndarray:
    """The Liu-West kernel on the logit of each value's prior position."""
    prior_list: list[Prior] = priors(model)
    if not prior_list:
        return values
    points = to_unconstrained(prior_list, values)
    shrink = (3 * discount - 1) / (2 * discount)
    mean = points.mean(axis=0)
    covariance = np.atleast_2d(np.cov(points, rowvar=False)) + 1e-12 * np.eye(len(prior_list))
    factor = np.linalg.cholesky(covariance)
    jitter = generator.standard_normal(points.shape) @ factor.T * math.sqrt(1 - shrink**2)
    return from_unconstrained(prior_list, shrink * points + (1 - shrink) * mean + jitter)


def _resample(lanes: LaneChunk, parents: np.ndarray, day: int) -> LaneChunk:
    """Copies of the parents, their branches as ``Lanes.resample`` gives them."""
    out = lanes.take(parents)
    out.branch = resampled_branches(lanes.branch, parents, day)
    return out


CHILDREN = 8  # children per lane on an observed day (the proposal, ``_children_step``)


def _child_branches(branch: np.ndarray, day: int, child: int) -> np.ndarray:
    """Branch keys of one child of every lane for one day (32 bits, as ``streams.py`` uses
    them): splitmix64 of (branch, day, child). Vectorised by hand because a SeedSequence
    per lane and child (``engine.new_branch``) would cost seconds per observed day."""
    x = (
        branch.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        + np.uint64((day + 2**20) * 0xBF58476D1CE4E5B9 % 2**64)
        + np.uint64((child + 1) * 0x94D049BB133111EB % 2**64)
    )
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(32)).astype(np.int64)


def _blocks(model: Scenario, ending: Sequence[ObservedCount]) -> list[list[int]]:
    """Places whose counts are scored together: each city with counts on its own (field
    work in one city does not depend on another's on the day), or all of them when a total
    is counted."""
    places = sorted({_place_index(model, c.place) for c in ending})
    if len(model.cities) in places:
        return [list(range(len(model.cities) + 1))]
    return [[place] for place in places]


def _recount(state: LaneState, sizes: np.ndarray) -> LaneState:
    """The national sums of a lane state whose cities come from different children."""
    return state._replace(
        processing_slot_total=state.processing.sum(axis=(2, 3)),
        notice_slot_total=state.notice.sum(axis=(2, 3, 4)),
        beds_used=np.einsum("lskc,k->l", state.processing, sizes)
        + np.einsum("lkc,k->l", state.queue, sizes),
        national=state.counts.sum(axis=3),
    )


def _splice(
    target: LaneState,
    source: LaneState,
    blocks: Sequence[Sequence[int]],
    switch: np.ndarray,
    cities: int,
) -> None:
    """Copy the cities of each block from ``source`` into ``target`` where ``switch``
    [block, lane] says so (in place)."""
    by_city = np.zeros((switch.shape[1], cities), dtype=bool)
    whole = np.zeros(switch.shape[1], dtype=bool)
    for block, take in zip(blocks, switch, strict=True):
        if len(block) > cities:  # the total: every city and the national sums
            whole |= take
        else:
            by_city[:, block[0]] |= take
    by_city |= whole[:, None]
    splice_cities(target, source, by_city, whole)


def _children_step(
    state: FilterState,
    ending: Sequence[ObservedCount],
    day: int,
    processes: int,
    client: Client | None,
) -> tuple[LaneChunk, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Day ``day`` of every lane drawn ``CHILDREN`` times (``_children_of_chunk``, over the
    lanes cut into chunks run where asked: each chunk's state goes there and back once a
    day), the lanes first run to the day before if they are behind.

    Returns the lanes at the end of the day, their observables [lane, place, metric],
    log-weights [lane] and the day's surprising counts (``Step.surprises``): each count's
    predictive probabilities are those of the lanes as they came in, equally weighted, one
    child each, with the reporting noise."""
    lanes = state.lanes
    single = client is None and processes == 1
    size = len(lanes) if single else work_split(len(lanes), processes, client)
    tasks = [
        (
            state.model,
            state.seed,
            lanes.take(slice(s, s + size)),
            s,
            len(lanes),
            day,
            tuple(ending),
            state.series,
            state.reference[s : s + size],
            state.reference_day,
        )
        for s in range(0, len(lanes), size)
    ]
    parts: list[Any] = [None] * len(tasks)

    def receive(index: int, result: Any) -> None:
        parts[index] = result

    gather(_children_of_chunk, tasks, receive, processes, client)
    chosen = LaneChunk.join([p[0] for p in parts])
    now, log_weights, at_most, at_least = (
        np.concatenate([p[i] for p in parts]) for i in range(1, 5)
    )
    tail = (1 - SURPRISE_LEVEL) / 2
    surprises = [
        {
            "place": count.place,
            "metric": count.metric,
            "first_day": count.first_day,
            "persons": count.persons,
            "p_at_most": float(low),
            "p_at_least": float(high),
        }
        for count, low, high in zip(
            ending, at_most.mean(axis=0), at_least.mean(axis=0), strict=True
        )
        if min(low, high) < tail
    ]
    return chosen, now, log_weights, surprises


def _children_of_chunk(
    model: Scenario,
    seed: int,
    lanes: LaneChunk,
    first_lane: int,
    all_lanes: int,
    day: int,
    ending: tuple[ObservedCount, ...],
    series: list[tuple[str, str]],
    reference: np.ndarray,
    reference_day: np.ndarray,
) -> tuple[LaneChunk, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Day ``day`` of the chunk's lanes (lanes ``first_lane`` on of ``all_lanes``) drawn
    ``CHILDREN`` times (each child its own random numbers): for each block of places
    (``_blocks``), one child chosen with probability proportional to the likelihood of the
    block's counts, its cities spliced into the lane; each lane weighted by the product over
    blocks of the children's mean likelihood, an unbiased estimate of the likelihood of the
    day's counts given the lane's past (a nested or random-weight particle filter: Naesseth,
    Lindsten and Schoen 2015; Fearnhead, Papaspiliopoulos and Roberts 2008). The day's luck
    is thus averaged out of the weights, city by city, so they reflect the lanes' assumptions
    and histories; cities share national resources (family beds, removal seats) only
    approximately on a day when these bind and cities come from different children.
    Children are chosen by weighted reservoir sampling, one child at a time, so only two lane
    states are held at once; the choices' uniforms are those of all the lanes, this chunk's
    taken from them, so that no result depends on the cut.

    Returns the lanes at the end of the day, their observables [lane, place, metric],
    log-weights [lane], and each count's predictive probabilities of as few and as many
    [lane, count] around the lane's first child."""
    if _chunk_day(model, lanes) < day - 1:  # behind: days without counts to weigh
        lanes, _, _ = _advance(model, seed, lanes, day - 1, (), day)
    blocks = _blocks(model, ending)
    cities = len(model.cities)
    members = [
        [i for i, c in enumerate(ending) if _place_index(model, c.place) in block]
        for block in blocks
    ]
    persons = np.array([c.persons for c in ending])
    # what ``simulated_count`` reads: the chunk's lanes with their references
    references = FilterState(model, seed, day - 1, "", lanes, series, reference, reference_day)
    at_most = at_least = np.zeros(0)
    running = np.full((len(blocks), len(lanes)), -np.inf)
    rows = slice(first_lane, first_lane + len(lanes))
    chosen: LaneChunk | None = None
    spare: LaneState | None = None  # a child's state once spliced: the next child's copy
    now = np.zeros(0)
    for child in range(CHILDREN):
        children = LaneChunk(
            lanes.values,
            lanes.replication,
            _child_branches(lanes.branch, day, child),
            lanes.uniforms,
            lanes.goal_day,
            lanes.state,
            lanes.next_day_index,
            lanes.table(model),
        )
        advanced, snapshot, _ = _advance(model, seed, children, day, (day,), day + 1, spare)
        child_now = snapshot[0]
        simulated = np.stack(
            [simulated_count(references, c, {day: child_now}) for c in ending], axis=1
        )
        log_likelihood = count_log_likelihood(model.observation, persons, simulated)
        if child == 0:  # one child a lane is a draw of the predictive: enough, and 1/8 the cost
            at_most, at_least = count_tails(model.observation, persons, simulated)
        by_block = np.stack([log_likelihood[:, m].sum(axis=1) for m in members])
        running = np.logaddexp(running, by_block)
        if chosen is None:
            chosen, now = advanced, child_now
            continue
        assert chosen.state is not None and advanced.state is not None
        uniforms = _generator(seed, day, 16 + child).random((len(blocks), all_lanes))[:, rows]
        switch = uniforms < np.exp(by_block - running)
        _splice(chosen.state, advanced.state, blocks, switch, cities)
        spare = advanced.state
        for block, take in zip(blocks, switch, strict=True):
            taken = np.flatnonzero(take)
            now[np.ix_(taken, block)] = child_now[np.ix_(taken, block)]
    assert chosen is not None and chosen.state is not None
    if any(len(block) <= cities for block in blocks):  # cities spliced: national sums anew
        chosen.state = _recount(chosen.state, _compiled(model).sizes)
        now[:, cities] = now[:, :cities].sum(axis=1)
    # the spliced lane's day: its parent's if reached before, else today if reached now
    reached = now[:, cities, _METRICS.index("arrests")] >= lanes.table(model).goal_persons
    chosen.goal_day = np.minimum(lanes.goal_day, np.where(reached, day, np.inf))
    chosen.branch = lanes.branch  # the lane goes on with its own random numbers
    log_weights = (running - math.log(CHILDREN)).sum(axis=0)
    return chosen, now, log_weights, at_most, at_least


def filter_to(
    state: FilterState,
    observed: ObservationSet,
    up_to_day: int,
    processes: int = 1,
    client: Client | None = None,
    progress: Callable[[float, float | None], None] | None = None,
) -> FilterState:
    """Condition the filter on the counts that end after its last day, up to ``up_to_day``
    (``progress(days filtered, days observed)`` after each day, both counted from day 0: the
    days before it, which are not observed, count as none)."""
    counts = [c for c in observed.counts() if c.last_day <= up_to_day]
    pending = _pending(state, counts)
    state.reference = state.reference.copy()  # another FilterState may share the arrays
    state.reference_day = state.reference_day.copy()
    conditioned = [c for c in counts if c.last_day <= state.day]
    particles = len(state.lanes)
    arrests = _METRICS.index("arrests")
    for day in _pause_days(state, pending):
        ending = [c for c in pending if c.last_day == day]
        ess, collapsed = float(particles), False
        surprises: list[dict[str, Any]] = []
        if not ending:
            state.lanes, snapshot, _ = _in_chunks(
                state.model, state.seed, state.lanes, day, [day], day + 1, processes, client
            )
            now = snapshot[0]
        else:
            lanes, now, log_weights, surprises = _children_step(
                state, ending, day, processes, client
            )
            ess = effective_sample_size(log_weights)
            collapsed = ess < max(COLLAPSE_SHARE * particles, COLLAPSE_FLOOR)
            parents = systematic_resample(log_weights, _generator(state.seed, day, 1))
            state.lanes = _resample(lanes, parents, day)
            now = now[parents]
            state.reference = state.reference[parents]
            discount = COLLAPSE_DISCOUNT if collapsed else DISCOUNT
            state.lanes.values = _rejuvenate(
                state.model, state.lanes.values, discount, _generator(state.seed, day, 2)
            )
            state.lanes.parameters = None  # new values: a new table
            conditioned += ending
        for s, (place, metric) in enumerate(state.series):
            ended = any((c.place, c.metric) == (place, metric) for c in ending)
            starts = any(
                (c.place, c.metric) == (place, metric) and c.first_day - 1 == day for c in pending
            )
            if ended or starts:
                state.reference[:, s] = now[
                    :, _place_index(state.model, place), _METRICS.index(metric)
                ]
                state.reference_day[s] = day
        if ending:
            band = np.quantile(now[:, :, arrests], QUANTILES, axis=0, method="inverted_cdf").T
            state.steps.append(Step(day, len(ending), ess, collapsed, band.tolist(), surprises))
        state.day = day
        if progress is not None:
            progress(max(day + 1, 0), observed.last_day + 1)
    state.counts_sha256 = counts_sha256(conditioned)
    return state


# -- the tracked forecast --------------------------------------------------------------------------


@dataclass
class Outlook:
    """What the lanes say from where they stand: per lane, arrests by the end of field work
    (each place) and the day the goal is reached (inf: not reached)."""

    as_of_day: int | None  # None: before any count
    first_day: int  # of ``by_day``
    by_day: np.ndarray  # [lane, day, place] cumulative persons arrested (int32)
    at_field_end: np.ndarray  # [lane, place]
    finish: np.ndarray  # [lane]
    observed_at: dict[int, np.ndarray]  # day -> [lane, place, metric] (recorded days)

    def summary(self, scenario: Scenario, weights: np.ndarray | None = None) -> dict[str, Any]:
        total = self.at_field_end[:, -1]
        goal = scenario.operation.goal_persons
        w = None if weights is None else weights / weights.sum()
        reached = self.finish < np.inf
        return {
            "as_of_day": self.as_of_day,
            "p_goal": float(np.mean(total >= goal) if w is None else np.sum(w * (total >= goal))),
            "persons_arrested": finite_quantiles(total, weights),
            "by_city": {
                city.name: finite_quantiles(self.at_field_end[:, c], weights)
                for c, city in enumerate(scenario.cities)
            },
            "goal_day": {
                **finite_quantiles(self.finish, weights),
                "p_reached": float(np.mean(reached) if w is None else np.sum(w * reached)),
            },
        }

    def bands(self, scenario: Scenario) -> dict[str, list[dict[str, float]]]:
        """Per place, the 5%, 50% and 95% of cumulative persons arrested on each day."""
        places = [city.name for city in scenario.cities] + [TOTAL]
        quantiles = np.quantile(self.by_day, QUANTILES, axis=0, method="inverted_cdf")
        return {
            place: [
                {
                    "day": self.first_day + d,
                    "p05": float(quantiles[0, d, p]),
                    "median": float(quantiles[1, d, p]),
                    "p95": float(quantiles[2, d, p]),
                }
                for d in range(self.by_day.shape[1])
            ]
            for p, place in enumerate(places)
        }


def outlook(
    state: FilterState,
    record_days: Sequence[int] = (),
    processes: int = 1,
    client: Client | None = None,
) -> Outlook:
    """Run copies of the filter's lanes to the end of field work (and to the last of
    ``record_days``, whose observables are kept)."""
    scenario = state.model
    field_end = scenario.operation.field_days - 1
    end = max([field_end, *record_days])
    first = max(state.day, 0) if state.lanes.state is not None else 0
    record = sorted(set(record_days))
    ahead, observed, by_day = _in_chunks(
        scenario, state.seed, state.lanes, end, record, first, processes, client
    )
    at_field_end = by_day[:, min(field_end, end) - first if field_end >= first else 0].astype(
        np.int64
    )
    return Outlook(
        as_of_day=state.day if state.steps else None,
        first_day=first,
        by_day=by_day[:, : max(field_end - first + 1, 1)],
        at_field_end=at_field_end,
        finish=ahead.goal_day,
        observed_at={day: observed[i] for i, day in enumerate(record)},
    )


# -- tracking: the filter, the forecast before and after the newest counts, what changed ---------


@dataclass
class Tracking:
    """A tracked forecast: the filter after the last observed day, the forecast from there,
    the forecast before the newest counts, and what those counts changed."""

    scenario: Scenario  # as given
    observations: str  # "NAME version V (sha256 ...)" or a file's name and hash
    particles: int
    state: FilterState
    before: dict[str, Any]  # the forecast as of the day before the newest counts
    after: dict[str, Any]
    attribution: dict[str, dict[str, float | None]]  # place -> what its newest counts alone do
    bands: dict[str, list[dict[str, float]]]  # the tracked forecast, per place
    updated_from: int | None  # the stored filter's day it went on from (None: from day 0)
    observed: dict[str, list[list[int]]] = field(default_factory=dict)  # place -> [day, persons]

    def summary(self) -> dict[str, Any]:
        model, state = self.state.model, self.state
        values = state.lanes.values
        parameters = []
        for j, prior in enumerate(priors(model)):
            p05, median, p95 = np.quantile(values[:, j], QUANTILES)
            parameters.append(
                {
                    "parameter": prior.path,
                    "prior_low": prior.low,
                    "prior_high": prior.high,
                    "median": float(median),
                    "p05": float(p05),
                    "p95": float(p95),
                }
            )
        held = [
            path
            for path in self.scenario.ranges
            if path not in model.ranges and not path.startswith("costs.")  # not simulated
        ]
        warnings = []  # day by day: a collapse, then the counts it could not expect
        for step in state.steps:
            if step.collapsed:
                warnings.append(
                    f"day {step.day}: the effective sample size collapsed to {step.ess:.1f} of "
                    f"{self.particles:,} particles: the forecast rests on few distinct "
                    "histories (rejuvenated harder; more particles, or a noisier observation "
                    "model if reports are noisier than declared, would help)"
                )
            warnings += [surprise_warning(step.day, surprise) for surprise in step.surprises]
        return {
            "scenario": self.scenario.name,
            "observations": self.observations,
            "particles": self.particles,
            "seed": state.seed,
            "as_of_day": self.after["as_of_day"],
            "updated_from_day": self.updated_from,
            "intervals_include": INTERVALS_INCLUDE,
            "goal_persons": self.scenario.operation.goal_persons,
            "steps": [step.as_dict() for step in state.steps],
            "warnings": warnings,
            "parameters": parameters,
            "held_at_scenario_values": held,
            "before": self.before,
            "after": self.after,
            "change": {
                "p_goal": self.after["p_goal"] - self.before["p_goal"],
                "persons_arrested_median": _difference(
                    self.after["persons_arrested"]["median"],
                    self.before["persons_arrested"]["median"],
                ),
                "goal_day_median": _difference(
                    self.after["goal_day"]["median"], self.before["goal_day"]["median"]
                ),
                "by_place": self.attribution,
            },
            "arrests_by_day": self.bands,
            "observed_arrests": self.observed,
        }


def surprise_warning(day: int, surprise: dict[str, Any]) -> str:
    """A plain sentence for a count the filter could hardly have predicted (``Step``)."""
    more = surprise["p_at_least"] < surprise["p_at_most"]
    chance = surprise["p_at_least"] if more else surprise["p_at_most"]
    odds = "less than one in a million" if chance < 1e-6 else f"about one in {1 / chance:,.0f}"
    first = surprise["first_day"]
    days = f"on day {day}" if first == day else f"over days {first} to {day}"
    return (
        f"day {day}: the {surprise['persons']:,} {surprise['metric'].replace('_', ' ')} "
        f"reported in {surprise['place']} {days} are {'more' if more else 'fewer'} than the "
        f"filter could expect (a chance of {odds} of as {'many' if more else 'few'}, the "
        "reporting noise included): the scenario cannot produce them (its held assumptions, "
        "the ranges of the tracked ones, or the model), so the forecast does not follow them; "
        "check the counts, or calibrate the held assumptions and track the calibrated scenario"
    )


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _attribution(
    before_state: FilterState,
    before: Outlook,
    new_counts: Sequence[ObservedCount],
    summary_before: dict[str, Any],
) -> dict[str, dict[str, float | None]]:
    """For each place with new counts: the change in P(goal) and in the median persons
    arrested if only that place's new counts were taken into account (the forecast before,
    reweighted by their likelihood)."""
    scenario = before_state.model
    at_day = {**before.observed_at}
    out: dict[str, dict[str, float | None]] = {}
    for place in sorted({c.place for c in new_counts}):
        mine = [c for c in new_counts if c.place == place]
        simulated = np.stack([simulated_count(before_state, c, at_day) for c in mine], axis=1)
        persons = np.array([c.persons for c in mine])
        log_weights = count_log_likelihood(scenario.observation, persons, simulated).sum(axis=1)
        weights = np.exp(log_weights - log_weights.max())
        summary = before.summary(scenario, weights)
        out[place] = {
            "p_goal": summary["p_goal"] - summary_before["p_goal"],
            "persons_arrested_median": _difference(
                summary["persons_arrested"]["median"],
                summary_before["persons_arrested"]["median"],
            ),
            "ess": effective_sample_size(log_weights),
        }
    return out


def _observed_arrests(observed: ObservationSet) -> dict[str, list[list[int]]]:
    """Cumulative persons arrested as reported, per place: the points on the fan charts."""
    out: dict[str, list[list[int]]] = {}
    for (place, metric), rows in observed.series().items():
        if metric != "arrests":
            continue
        total, points = 0, []
        for row in rows:
            total = row.value if row.basis == "cumulative" else total + row.value
            points.append([row.day, total])
        out[place] = points
    return out


def _copy(state: FilterState) -> FilterState:
    """A filter state to go on from, leaving ``state`` as it is (``filter_to`` replaces its
    arrays rather than writing into them, and copies the references it writes into)."""
    return replace(state, series=list(state.series), steps=list(state.steps))


def track(
    scenario: Scenario,
    observed: ObservationSet,
    observations: str,
    particles: int = 10_000,
    seed: int = 2019,
    parameters: Sequence[str] = (),
    stored: FilterState | None = None,
    processes: int = 1,
    client: Client | None = None,
    progress: Callable[[float, float | None], None] | None = None,
) -> Tracking:
    """The forecast conditioned on every observed count so far (module docstring).

    A particle filter over lanes; it goes on from ``stored`` (a filter of the same scenario,
    particles and seed, on counts that extend its own) where it can, with the same numbers as a
    run from day 0.

    Parameters
    ----------
    scenario : Scenario
        The operation.
    observed : ObservationSet
        The observed counts.
    observations : str
        What they are (a stored set's name and version, or a file).
    particles : int
        Lanes of the filter.
    seed : int
        The filter's seed.
    parameters : sequence of str
        The ranged assumptions to track (empty: every one that can vary by lane).
    stored : FilterState, optional
        A stored filter to go on from.
    processes : int
        Local processes (1: this process).
    client : distributed.Client, optional
        A Dask client whose cluster runs the lanes instead.
    progress : callable, optional
        Called with (days filtered, days observed), from day 0, after each day.

    Returns
    -------
    Tracking
        The tracked forecast, its diagnostics and the filter's state.
    """
    model = tracked_model(scenario, parameters)
    updated_from = None
    if (
        stored is not None
        and len(stored.lanes) == particles
        and stored.seed == seed
        and stored.model.canonical_json() == model.canonical_json()
        and can_update(stored, observed)
    ):
        state, updated_from = _copy(stored), stored.day
    else:
        state = start_filter(model, particles, seed, observed)
    counts = observed.counts()
    newest = max(c.last_day for c in counts)
    if newest > state.day:
        state = filter_to(state, observed, newest - 1, processes, client, progress)
    previous = _copy(state)
    new_counts = _pending(previous, counts)
    record = _pause_days(previous, new_counts) if new_counts else []
    before_outlook = outlook(previous, record, processes, client)
    before = before_outlook.summary(model)
    if new_counts:
        state = filter_to(state, observed, newest, processes, client, progress)
        after_outlook = outlook(state, (), processes, client)
        attribution = _attribution(previous, before_outlook, new_counts, before)
    else:
        after_outlook, attribution = before_outlook, {}
    return Tracking(
        scenario=scenario,
        observations=observations,
        particles=particles,
        state=state,
        before=before,
        after=after_outlook.summary(model),
        attribution=attribution,
        bands=after_outlook.bands(model),
        updated_from=updated_from,
        observed=_observed_arrests(observed),
    )
