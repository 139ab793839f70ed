"""Background jobs: forecasts and plans asked for on the web dashboard, run by worker processes.

A job is a row of the run store (``RunStore.submit_job``), never only a message in memory: it is
queued, claimed by one worker, run, and ends done (its result stored), failed (its error
stored) or cancelled. A server that dies mid-run loses nothing: when it starts again, a job
left running by a worker that is gone is queued again and run from the start (its numbers do
not change: same scenario, same seed), at most ``MAX_INTERRUPTIONS`` times. Identical
submissions (same kind, scenario, settings and fieldcast version) share one job and so one
result. The queue holds at most ``queue_limit`` waiting jobs; a submission beyond that is
refused (``QueueFull``), never dropped later.

Workers are separate processes (the web process stays responsive, a crash in a job does not
take it down), each running one job at a time in its own process (``processes=1``: the
machine's cores are shared by the workers). A worker watches its parent and exits when the
parent is gone, so a killed server leaves no process behind.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fieldcast.fields import (
    DEFAULT_SEED,
    MAX_PARTICLES,
    MAX_PERSONS,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_TEAMS,
)
from fieldcast.scenario import Scenario, validate_scenario
from fieldcast.store import JobInfo, RunStore

JobKind = Literal[
    "forecast",
    "check",
    "plan",
    "requirement",
    "sensitivity",
    "sweep",
    "track",
    "calibrate",
    "score",
]
JOB_KINDS: tuple[JobKind, ...] = get_args(JobKind)
OBSERVED_KINDS = ("track", "calibrate", "score")  # the kinds that read a stored observation set
MAX_INTERRUPTIONS = 3  # a job interrupted this often (a server killed mid-run) fails instead
POLL_SECONDS = 0.5  # how often an idle worker looks for work
PROGRESS_SECONDS = 1.0  # how often a running job writes its progress (and hears a cancel)
# The kinds whose progress counts pieces of about equal work (chunks of replications, candidate
# plans, sensitivity points, chunks of a sweep's values), from which the pace so far tells the
# time left. A requirement's search does not know how many levels it will try, a calibration's
# progress is a temperature and a tracked forecast's days differ in cost: none of them gets an
# estimate.
STEADY_KINDS: tuple[JobKind, ...] = ("forecast", "plan", "sensitivity", "sweep")
PACE_SECONDS = 3.0  # an estimate of the time left is given after this long a pace


class _Settings(BaseModel):
    """A kind of job's settings: unknown ones are refused, each value checked at submission
    (a job that cannot run is refused then, not found failing later in a worker)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="the run's seed")]
Replications = Annotated[int, Field(ge=1, le=MAX_REPLICATIONS, description="replications")]


class ForecastSettings(_Settings):
    """``fieldcast forecast``: with ``uncertainty`` "assumptions", also the outcomes with the
    scenario's ranged assumptions drawn ``draws`` times (``assumptions.prior_predictive``)."""

    replications: Replications = 10_000
    seed: Seed = DEFAULT_SEED
    uncertainty: Literal["replication", "assumptions"] = "replication"
    draws: int | None = Field(
        None,
        ge=1,
        le=MAX_REPLICATIONS,
        description="assumption draws, with uncertainty assumptions; default: 1,000",
    )

    @model_validator(mode="after")
    def _draws_with_assumptions(self) -> ForecastSettings:
        if self.draws is not None and self.uncertainty != "assumptions":
            raise ValueError("draws apply with uncertainty assumptions only")
        return self


class CheckSettings(_Settings):
    pass


class PlanSettings(_Settings):
    """``fieldcast plan``: teams across cities, or team-days across the field days."""

    replications: Replications = 1000
    seed: Seed = DEFAULT_SEED
    across: Literal["cities", "days"] = "cities"
    objective: Literal["expected", "probability"] = "expected"
    teams: int | None = Field(
        None, ge=1, le=MAX_TEAMS, description="across cities; default: the plan's"
    )
    goal_persons: int | None = Field(None, ge=1, le=MAX_PERSONS, description="default: the plan's")
    step: float = Field(0.1, ge=0.01, le=1.0, description="across days: strength moved at a time")

    @model_validator(mode="after")
    def _teams_only_across_cities(self) -> PlanSettings:
        if self.across == "days" and self.teams is not None:
            raise ValueError("teams apply across cities only: across days the plan's stay")
        return self


class RequirementSettings(_Settings):
    replications: Replications = 1000
    seed: Seed = DEFAULT_SEED
    resource: Literal["teams", "beds", "field_days", "seats", "monitors"] = "teams"
    goal_persons: int | None = Field(None, ge=1, le=MAX_PERSONS, description="default: the plan's")
    probability: float = Field(
        0.9, gt=0.0, le=1.0, description="chance of meeting the resource's target"
    )


class SensitivitySettings(_Settings):
    replications: Replications = 200
    seed: Seed = DEFAULT_SEED
    method: Literal["morris", "sobol"] = "morris"
    samples: int | None = Field(None, ge=1, le=100_000, description="default: the method's")


class SweepSettings(_Settings):
    """A sweep (``planning/sweep.py``): checked against the scenario when asked for
    (``JobRequest``), so a parameter it lacks or a value it cannot take is refused then."""

    replications: Replications = 1000
    seed: Seed = DEFAULT_SEED
    # None only as the default shown in SETTINGS: a submission must name a parameter
    parameter: str | None = Field(None, max_length=200, description="a parameter's path")
    values: list[float] | None = Field(
        None, min_length=1, description="default: five across the parameter's range"
    )
    by: str | None = Field(
        None, max_length=200, description="a second parameter's path: every pair of values runs"
    )
    by_values: list[float] | None = Field(
        None, min_length=1, description="default: five across the second parameter's range"
    )


# None only as the default shown in SETTINGS: a submission must name a stored set, and is
# kept with its version pinned (NAME@VERSION)
ObservationsName = Annotated[
    str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(@[0-9]{1,9})?$")
]


class TrackSettings(_Settings):
    observations: ObservationsName = None
    particles: int = Field(10_000, ge=2, le=MAX_PARTICLES)
    seed: Seed = DEFAULT_SEED


class CalibrateSettings(_Settings):
    observations: ObservationsName = None
    particles: int = Field(2000, ge=10, le=MAX_REPLICATIONS, description="parameter sets")
    target_ess: int | None = Field(
        None, ge=5, description="effective sample size kept (default: half the particles)"
    )
    copies: int = Field(24, ge=4, le=1000, description="simulations per particle")
    max_simulations: int | None = Field(None, ge=1, description="default: the sampler's")
    seed: Seed = DEFAULT_SEED

    @model_validator(mode="after")
    def _target_within_particles(self) -> CalibrateSettings:
        if self.target_ess is not None and self.target_ess > self.particles:
            raise ValueError(
                f"target_ess ({self.target_ess}) must be at most the particles ({self.particles})"
            )
        return self


class ScoreSettings(_Settings):
    """A stored run held against observed counts (``run_score.py``); the job runs on the
    run's own scenario, whatever the submission names."""

    run: str | None = Field(None, pattern=r"^[0-9A-Za-z-]{1,64}$", description="a stored run")
    observations: ObservationsName = None
    draws: int = Field(1000, ge=1, le=MAX_REPLICATIONS, description="assumption draws")


SETTINGS_MODELS: dict[str, type[_Settings]] = {
    "forecast": ForecastSettings,
    "check": CheckSettings,
    "plan": PlanSettings,
    "requirement": RequirementSettings,
    "sensitivity": SensitivitySettings,
    "sweep": SweepSettings,
    "track": TrackSettings,
    "calibrate": CalibrateSettings,
    "score": ScoreSettings,
}
# each kind's settings with their defaults: what a submission may give
SETTINGS: dict[str, dict[str, Any]] = {
    kind: model().model_dump() for kind, model in SETTINGS_MODELS.items()
}


def setting_choices(kind: str) -> dict[str, tuple[str, ...]]:
    """The settings of a kind that take one of a few words (``Literal``), with those words:
    what a form offers as a choice rather than a text field."""
    return {
        name: get_args(field.annotation)
        for name, field in SETTINGS_MODELS[kind].model_fields.items()
        if get_origin(field.annotation) is Literal
    }


def setting_from_text(kind: str, name: str, text: str) -> int | float | str | list[float]:
    """A setting typed into a form, as the type the kind's settings take (a whole number, a
    number or a word), checked there with the rest; a number that is not one is refused here,
    naming the setting."""
    annotation = SETTINGS_MODELS[kind].model_fields[name].annotation
    types = {annotation, *get_args(annotation)}
    if any(get_origin(one) is list for one in types):  # numbers separated by commas
        try:
            return [float(word) for word in text.split(",") if word.strip()]
        except ValueError:
            raise ValueError(
                f"settings.{name}: numbers separated by commas, got {text!r}"
            ) from None
    try:
        if int in types:
            return int(text)
        if float in types:
            return float(text)
    except ValueError:
        wanted = "a whole number" if int in types else "a number"
        raise ValueError(f"settings.{name}: {wanted}, got {text!r}") from None
    return text


class QueueFull(RuntimeError):
    """The queue holds as many waiting jobs as it may: come back later."""


class JobCancelled(Exception):
    """Raised inside a running job whose cancellation was asked for."""


@dataclass(frozen=True)
class JobRequest:
    """What to run: a kind of job, on a scenario, with settings (``SETTINGS``)."""

    kind: JobKind
    scenario: Scenario
    settings: dict[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in JOB_KINDS:
            raise ValueError(f"kind: one of {', '.join(JOB_KINDS)}, not {self.kind!r}")
        unknown = set(self.settings) - set(SETTINGS[self.kind])
        if unknown:
            raise ValueError(f"settings: {self.kind} takes no {', '.join(sorted(unknown))}")
        try:
            SETTINGS_MODELS[self.kind].model_validate(self.settings)
        except ValidationError as error:
            problems = [
                f"settings.{'.'.join(str(part) for part in e['loc'])}: {e['msg']} "
                f"(got {e['input']!r})"
                if e["loc"]
                else f"settings: {e['msg'].removeprefix('Value error, ')}"
                for e in error.errors(include_url=False)
            ]
            raise ValueError("; ".join(problems)) from None
        if self.kind == "sweep":
            self._check_sweep()
        assumptions = self.settings.get("uncertainty") == "assumptions"
        if self.kind == "forecast" and assumptions and not self.scenario.ranges:
            raise ValueError(
                f"settings.uncertainty: the scenario {self.scenario.name!r} declares no "
                "[ranges] to draw its assumptions from"
            )
        if self.kind == "plan" and self.settings.get("across") == "days":
            from fieldcast.planning.surge import steps_of

            try:
                steps_of(self.scenario, self.settings.get("step", PlanSettings().step))
            except ValueError as error:
                raise ValueError(f"settings.{error}") from None

    def _check_sweep(self) -> None:
        """A sweep's parameter is a number of the scenario, and every value makes a valid one
        (``sweep.sweep_variants``, which the job runs again)."""
        from fieldcast.planning.sweep import sweep_variants

        parameter = self.settings.get("parameter")
        if not parameter:
            raise ValueError("settings.parameter: name the parameter to vary, by its path")
        try:
            sweep_variants(
                self.scenario,
                parameter,
                self.settings.get("values"),
                self.settings.get("by"),
                self.settings.get("by_values"),
            )
        except ValueError as error:
            raise ValueError(f"settings.{error}") from None

    def complete_settings(self) -> dict[str, Any]:
        """The settings with every default filled in."""
        return SETTINGS_MODELS[self.kind].model_validate(self.settings).model_dump()

    def key(self) -> str:
        """What identical submissions share: kind, scenario, settings and fieldcast version."""
        text = json.dumps(
            [
                self.kind,
                self.scenario.canonical_json(),
                self.complete_settings(),
                version("fieldcast"),
            ],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()


def submit(store: RunStore, request: JobRequest, queue_limit: int) -> tuple[JobInfo, bool]:
    """Queue a job, or find the identical one already queued, running or done.

    Parameters
    ----------
    store : RunStore
        The store that keeps the queue.
    request : JobRequest
        What to run.
    queue_limit : int
        The most jobs that may wait at once.

    Returns
    -------
    tuple of (JobInfo, bool)
        The job, and whether it is new (False: an identical submission's, reused).

    Raises
    ------
    QueueFull
        If ``queue_limit`` jobs are waiting already.
    ValueError
        If a track job's observation set is missing or does not fit the scenario.
    """
    if request.kind in OBSERVED_KINDS:  # "the latest version" pinned now: a new one, a new job
        request = _pinned(store, request)
    job, new = store.submit_job(
        request.kind,
        request.scenario,
        request.complete_settings(),
        request.key(),
        queue_limit,
    )
    if job is None:
        waiting = f"{queue_limit} jobs are" if queue_limit != 1 else "1 job is"
        raise QueueFull(f"{waiting} waiting already; try again when some are done")
    return job, new


def _pinned(store: RunStore, request: JobRequest) -> JobRequest:
    """A request of observed counts with their set's version pinned and checked against the
    scenario (a bad set is refused at submission, not found failing later)."""
    from fieldcast.observations import ObservationError
    from fieldcast.store import StoreError
    from fieldcast.tracked_forecast import stored_counts

    reference = request.settings.get("observations")
    if not isinstance(reference, str) or not reference:
        raise ValueError("settings: observations: name a stored observation set (NAME[@VERSION])")
    if request.kind == "score":  # the run named, on its own scenario
        request = _with_run(store, request)
    try:
        stored_counts(store, reference, request.scenario)
        name, _, number = reference.partition("@")
        version_number = store.observation_info(name, int(number) if number else None).version
    except (ObservationError, StoreError) as error:
        raise ValueError(f"settings: observations: {error}") from None
    settings = {**request.settings, "observations": f"{name}@{version_number}"}
    return JobRequest(request.kind, request.scenario, settings)


def _with_run(store: RunStore, request: JobRequest) -> JobRequest:
    """A score request with its run's full id and scenario (refused, naming the setting, if
    there is no such run or it cannot be recomputed)."""
    from fieldcast.run_score import check_recomputable
    from fieldcast.store import StoreError

    reference = request.settings.get("run")
    if not isinstance(reference, str) or not reference:
        raise ValueError("settings: run: name a stored run")
    try:
        run = store.get(reference)
    except StoreError as error:
        raise ValueError(f"settings: run: {error}") from None
    try:
        check_recomputable(run.run_id, run.engine)
    except ValueError as error:
        raise ValueError(f"settings: run: {error}") from None
    return JobRequest("score", run.scenario, {**request.settings, "run": run.run_id})


@dataclass
class Pace:
    """How fast a job's progress moves, and so the time it has left, measured from its first
    report of some work done: what came before (the engine compiling for this machine, about a
    minute on a first run) is not work the rest will repeat. (The command line's progress bar
    leaves the same estimate to rich, whose sliding window would count a first run's compiling
    for its first half minute.)"""

    since: float | None = None  # when work was first reported done (time.monotonic)
    share_then: float = 0.0

    def seconds_left(self, share: float, now: float) -> float | None:
        """The time left at ``share`` done (0 to 1) at ``now``, if the pace is known."""
        if self.since is None:
            if share > 0.0:
                self.since, self.share_then = now, share
            return None
        if now - self.since < PACE_SECONDS or share <= self.share_then:
            return None
        return (now - self.since) * (1.0 - share) / (share - self.share_then)


def running_seconds(job: JobInfo, now: datetime) -> float | None:
    """How long a running job has run (since a worker claimed it last); None otherwise."""
    if job.state != "running" or job.started_at is None:
        return None
    return max((now - job.started_at).total_seconds(), 0.0)


def seconds_left(job: JobInfo, now: datetime) -> float | None:
    """The estimate of a running job's time left, as of ``now`` (its worker wrote it up to
    ``PROGRESS_SECONDS`` before); None when there is none to give (``Pace``)."""
    if job.state != "running" or job.seconds_left is None:
        return None
    return max(job.seconds_left - (now - job.updated_at).total_seconds(), 0.0)


def run_job(store: RunStore, job: JobInfo) -> None:
    """Run a claimed job to its end and store how it ended (done, failed or cancelled)."""
    last = [0.0]
    pace = Pace() if job.kind in STEADY_KINDS else None

    def progress(done: float, total: float | None) -> None:
        now = time.monotonic()
        share = done / total if total else 0.0
        seconds_left = pace.seconds_left(share, now) if pace is not None else None
        if now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        if store.job_progress(job.job_id, share, seconds_left):
            raise JobCancelled

    try:
        result = _compute(store, job, progress)
    except JobCancelled:
        store.finish_job(job.job_id, "cancelled", None, None)
    except Exception as error:  # a job's failure is the job's, not the worker's
        message = f"{type(error).__name__}: {error}"
        store.finish_job(job.job_id, "failed", None, message + "\n" + traceback.format_exc())
    else:
        store.finish_job(job.job_id, "done", json.dumps(result), None)


def _compute(
    store: RunStore, job: JobInfo, progress: Callable[[float, float | None], None]
) -> dict[str, Any]:
    """The job's answer: a forecast's run id, or a planning answer as JSON-ready data."""
    scenario = validate_scenario(json.loads(job.scenario_json), source=f"job {job.job_id}")
    settings = job.settings
    common = {"replications": settings.get("replications"), "seed": settings.get("seed")}
    if job.kind == "forecast":
        from fieldcast.assumptions import DEFAULT_DRAWS
        from fieldcast.forecast import run_forecast

        draws = settings.get("draws") or DEFAULT_DRAWS  # a job kept before 2026-12-07 has none
        assumption_draws = draws if settings.get("uncertainty") == "assumptions" else 0
        started = time.perf_counter()
        forecast = run_forecast(
            scenario, progress=progress, assumption_draws=assumption_draws, **common
        )
        return {"run_id": store.save(forecast, time.perf_counter() - started)}
    if job.kind == "check":
        from fieldcast.planning.checks import check_plan

        return {"findings": [finding.as_dict() for finding in check_plan(scenario)]}
    if job.kind == "plan":
        from fieldcast.planning.allocation import allocate_teams, current_teams
        from fieldcast.planning.surge import plan_days

        aim = {"objective": settings["objective"], "goal_persons": settings["goal_persons"]}
        if settings["across"] == "days":
            return plan_days(
                scenario, settings["step"], progress=progress, **common, **aim
            ).as_dict()
        teams = settings["teams"] if settings["teams"] is not None else current_teams(scenario)
        return allocate_teams(scenario, teams, progress=progress, **common, **aim).as_dict()
    if job.kind == "requirement":
        from fieldcast.planning.requirement import find_requirement

        goal = settings["goal_persons"] or scenario.operation.goal_persons
        answer = find_requirement(
            scenario,
            settings["resource"],
            goal,
            settings["probability"],
            progress=progress,
            **common,
        )
        return answer.as_dict()
    if job.kind == "track":
        from fieldcast.tracked_forecast import stored_counts, track_and_keep

        observed, label = stored_counts(store, settings["observations"], scenario)
        kept = track_and_keep(
            store,
            scenario,
            observed,
            label,
            settings["observations"].partition("@")[0],
            settings["particles"],
            settings["seed"],
            progress=progress,
        )
        return {"tracking_id": kept.tracking_id}
    if job.kind == "calibrate":
        return _calibrate(store, scenario, settings, progress)
    if job.kind == "score":
        from fieldcast.run_score import score_run
        from fieldcast.tracked_forecast import stored_counts

        run = store.get(settings["run"])
        observed, label = stored_counts(store, settings["observations"], run.scenario)
        return score_run(
            run.run_id, run.scenario, run.seed, run.replications, observed, label, settings["draws"]
        ).summary()
    if job.kind == "sweep":
        from fieldcast.planning.sweep import run_sweep

        return run_sweep(
            scenario,
            settings["parameter"],
            settings["values"],
            progress=progress,
            by=settings.get("by"),  # a sweep kept before grids (2026-12-07) has none
            by_values=settings.get("by_values"),
            **common,
        ).as_dict()
    from fieldcast.planning.sensitivity import run_sensitivity

    return run_sensitivity(
        scenario, settings["method"], settings["samples"], progress=progress, **common
    ).as_dict()


def _calibrate(
    store: RunStore,
    scenario: Scenario,
    settings: dict[str, Any],
    progress: Callable[[float, float | None], None],
) -> dict[str, Any]:
    """A calibration kept generation by generation (as ``fieldcast calibrate``), its
    assessment, and the calibrated scenario as a file to save (when it reached the posterior).
    Its progress is the temperature reached (1: the posterior)."""
    from fieldcast.calibration import Calibration, Settings, advance
    from fieldcast.catalog import scenario_to_toml
    from fieldcast.posterior import assess, calibrated_scenario
    from fieldcast.tracked_forecast import stored_counts

    observed, label = stored_counts(store, settings["observations"], scenario)
    sampler = Settings(
        particles=settings["particles"],
        target_ess=settings["target_ess"],
        copies=settings["copies"],
        seed=settings["seed"],
    )
    if settings["max_simulations"] is not None:
        sampler.max_simulations = settings["max_simulations"]
    run = Calibration.start(scenario, observed, label, sampler)
    calibration_id = store.start_calibration(run)

    def keep(current: Calibration) -> None:
        store.add_generation(calibration_id, current.last)
        progress(current.last.beta, 1.0)

    run = advance(run, on_generation=keep)
    assessment = assess(run)
    store.add_assessment(calibration_id, assessment)
    try:
        calibrated = scenario_to_toml(calibrated_scenario(assessment, datetime.now(UTC).date()))
        why_not = None
    except ValueError as error:  # stopped before the posterior
        calibrated, why_not = None, str(error)
    return {
        "calibration_id": calibration_id,
        "calibrated_scenario": calibrated,
        "not_calibrated_because": why_not,
    }


def work(store_path: str, parent_pid: int, poll_seconds: float = POLL_SECONDS) -> None:
    """A worker process: claim queued jobs one at a time and run them, until the parent
    process is gone."""
    _die_with_parent()
    store = RunStore(store_path)
    worker = f"{os.uname().nodename}:{os.getpid()}"
    while os.getppid() == parent_pid:
        job = store.claim_job(worker)
        if job is None:
            time.sleep(poll_seconds)
            continue
        run_job(store, job)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``), so
    that a worker does not go on with its job after a killed server; elsewhere the worker
    leaves between jobs (``work`` watches its parent). Called through ctypes: the standard
    library has no binding, and a dependency for one call would be too much."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class Workers:
    """The worker processes of one server: started together, watched (a worker that dies is
    replaced, and its job queued again), stopped together."""

    def __init__(self, store_path: Path, count: int, watch_seconds: float = 2.0) -> None:
        self.store_path = store_path
        self.count = count
        self.watch_seconds = watch_seconds
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> list[str]:
        """Queue again what a previous server left running, then start the workers.
        Returns the ids of the jobs queued again."""
        requeued = RunStore(self.store_path).recover_jobs(MAX_INTERRUPTIONS)
        self.processes = [self._start_one() for _ in range(self.count)]
        if self.count:
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, daemon=True)
            self._watcher.start()
        return requeued

    def _start_one(self) -> multiprocessing.process.BaseProcess:
        context = multiprocessing.get_context("spawn")
        process = context.Process(
            target=work, args=(str(self.store_path), os.getpid()), daemon=True
        )
        process.start()
        return process

    def _watch(self) -> None:
        """Replace a worker that died (killed, out of memory), queueing its job again."""
        while not self._stop.wait(self.watch_seconds):
            for index, process in enumerate(self.processes):
                if process.is_alive() or self._stop.is_set():
                    continue
                worker = f"{os.uname().nodename}:{process.pid}"
                RunStore(self.store_path).recover_jobs(MAX_INTERRUPTIONS, worker=worker)
                self.processes[index] = self._start_one()

    def stop(self, seconds: float = 5.0) -> None:
        """Stop every worker (a job it was running is queued again at the next start)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(seconds)
            if process.is_alive():
                process.kill()
                process.join()
        self.processes = []
