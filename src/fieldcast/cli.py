"""The ``fieldcast`` command: a thin layer over the library (no model logic lives here)."""

# No `from __future__ import annotations` here: typer reads every command's annotations at
# each start, and as strings they would be evaluated one by one (a few hundredths of a second
# of every command); only names imported for type checking alone are quoted.

import csv
import errno
import json
import math
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from fieldcast.catalog import (
    DEFAULT_SCENARIO,
    builtin_names,
    load_scenario,
    scenario_to_toml,
)
from fieldcast.fields import (
    DEFAULT_SEED,
    MAX_PARTICLES,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_TEAMS,
)
from fieldcast.reports.table import Table
from fieldcast.scenario import (
    Scenario,
    ScenarioError,
    parameter_info,
    parameter_paths,
    parameter_value,
)
from fieldcast.workers import SCHEDULER_ENVIRONMENT, dask_client, local_processes_kept

if TYPE_CHECKING:
    from distributed import Client

    from fieldcast.observations import ObservationSet
    from fieldcast.planning.allocation import Allocation
    from fieldcast.planning.surge import SurgePlan
    from fieldcast.store import RunStore

# Commands import what only they need (planning, charts, reports) when they run: a forecast
# does not load matplotlib, pandas or SALib, which keeps start-up and memory down.

T = TypeVar("T")

# Help texts are read as Markdown. Typer's default, Rich console markup, drops every word in
# square brackets as a style tag (the scenario's [ranges] and [observation] tables) and keeps
# the docstrings' line breaks in mid-sentence; Markdown keeps both words and sentences whole.
HELP_MARKUP = "markdown"

app = typer.Typer(
    help="Plan and forecast coordinated multi-city field operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=HELP_MARKUP,
)
scenario_app = typer.Typer(
    help="Show, export and validate scenarios.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(scenario_app, name="scenario")
runs_app = typer.Typer(
    help="Runs kept in the run store: list, show, compare, export, delete.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(runs_app, name="runs")
observe_app = typer.Typer(
    help="Observed counts of an operation, kept in the run store: add, list, show.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(observe_app, name="observe")


# Messages are not wrapped (paths stay whole); reports wrap their panels themselves
# (``reports.terminal``), at the terminal's width or at 80 columns in a file or pipe.
# Neither console reads console markup: names and notes are printed as they are (a city named
# "[/]Atlanta" once crashed a report); styles are given as Text styles.
stdout = Console(soft_wrap=True, markup=False)
stderr = Console(stderr=True, soft_wrap=True, markup=False)

ScenarioArgument = Annotated[
    str,
    typer.Argument(help="A built-in scenario name (see `fieldcast scenarios`) or a file path."),
]
CsvOption = Annotated[
    Path | None,
    typer.Option(
        "--csv",
        help="Also write the answer's table to this CSV file (the JSON's figures, one row per "
        "value, level, assumption, city and team count, field day or finding).",
        show_default=False,
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="PATH=VALUE: the scenario with this parameter changed (repeat for more; `fieldcast "
        "scenario show` lists them), e.g. --set city_defaults.p_contact=0.4, and held there "
        "(its range is dropped); its provenance says so.",
        show_default=False,
    ),
]


class Resource(StrEnum):
    teams = "teams"
    beds = "beds"
    field_days = "field_days"
    seats = "seats"
    monitors = "monitors"


class Across(StrEnum):
    cities = "cities"
    days = "days"


class Objective(StrEnum):
    expected = "expected"
    probability = "probability"


class Method(StrEnum):
    morris = "morris"
    sobol = "sobol"


class Engine(StrEnum):
    counts = "counts"
    reference = "reference"


class Uncertainty(StrEnum):
    replication = "replication"
    assumptions = "assumptions"


MAX_PROCESSES = 64  # beyond it, each process holding a copy of the engine exhausts memory


def _fail(message: str) -> NoReturn:
    """Print an error (its own text, never read as console markup: the consoles read none)
    and exit with 2."""
    stderr.print(Text.assemble(("error: ", "bold red"), message), highlight=False)
    raise typer.Exit(code=2)


def _load(reference: str, settings: list[str] | None = None) -> Scenario:
    """The scenario, with the parameters of ``--set`` changed (``scenario.scenario_with``)."""
    from fieldcast.scenario import scenario_with

    try:
        loaded = load_scenario(reference)
        return scenario_with(loaded, settings) if settings else loaded
    except ScenarioError as error:
        _fail(str(error))


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Run store file (default: $FIELDCAST_STORE, else runs.duckdb in the user's data "
        "folder: `fieldcast runs list` names it).",
        show_default=False,
    ),
]


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite number as None: JSON has no such numbers, and
    Python's ``json`` would write ``NaN`` or ``Infinity``, which other readers reject."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def _check_chart(chart: Path | None) -> None:
    """A ``--chart`` file: matplotlib writes it as its suffix says, PNG or SVG, where it can
    be written (``_check_output``), refused before any computing otherwise."""
    if chart is not None and chart.suffix.lower() not in (".png", ".svg"):
        _fail("--chart: use a .png or .svg file name")
    _check_output(chart, "--chart")


def _check_output(path: Path | None, option: str) -> None:
    """Refuse an output file that cannot be written, before any computing: a folder, a
    missing folder, a folder or file without write permission."""
    if path is None:
        return
    folder = path.parent
    problem = ""
    if path.is_dir():
        problem = f"{path} is a folder; give a file name"
    elif not folder.is_dir():
        problem = f"the folder {folder} does not exist"
    elif not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        problem = f"{path} cannot be written (permissions)"
    if problem:
        _fail(f"{option}: {problem}")


def _write_csv(path: Path | None, kind: str, answer: Any) -> None:
    """The answer's table as CSV (``reports.answer_tables``), if ``--csv`` asked for it."""
    if path is None:
        return
    from fieldcast.reports.answer_tables import answer_csv

    path.write_text(answer_csv(kind, finite(answer)), encoding="utf-8")
    stderr.print(f"table written to {path}", highlight=False)


def _print_json(value: Any) -> None:
    """Print one JSON document: always valid JSON (``finite``)."""
    typer.echo(json.dumps(finite(value), indent=2, allow_nan=False))


def _store(path: Path | None) -> "RunStore":
    from fieldcast.store import RunStore  # here: `fieldcast --help` need not load DuckDB

    return RunStore(path, on_wait=lambda message: stderr.print(message, highlight=False))


def _store_call(action: Callable[[], T]) -> T:
    from fieldcast.store import StoreError

    try:
        return action()
    except StoreError as error:
        _fail(str(error))


@contextmanager
def _cluster(workers: int | None, scheduler: str | None) -> "Iterator[Client | None]":
    try:  # local processes, when asked for, are started once for all the command's work
        with dask_client(workers, scheduler) as client, local_processes_kept():
            yield client
    except OSError as error:  # the scheduler cannot be reached
        _fail(f"Dask cluster: {error}")
    except ValueError as error:  # both asked for, or the work's own refusal: named in it
        _fail(str(error))


def _progress_bar(time_left: bool = True) -> Progress:
    """A progress bar on stderr with the time elapsed and, when the amount of work is known,
    an estimate of the time left (long runs, such as the national scenario or the reference
    engine, say so early). Shown only on a terminal, and cleared when done."""
    estimate = (TextColumn("left"), TimeRemainingColumn()) if time_left else ()
    return Progress(
        TextColumn("{task.description}", style="progress.description", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        *estimate,
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )


def _say_if_the_engine_compiles(scheduler: str | None = None) -> None:
    """The first run on a machine, and the first after an upgrade, compiles the engine: about
    a minute in which no chunk finishes and a progress bar stands still. Say so first. (On an
    existing Dask cluster the workers compile, if they must, in caches this one cannot see.)"""
    from fieldcast.engine import compiled_code_cached

    if scheduler is None and not compiled_code_cached():
        stderr.print(
            "compiling the engine for this machine first: about a minute, once",
            highlight=False,
        )


ProcessesOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=MAX_PROCESSES,
        help="Local processes (results do not depend on it). Default: cores.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1, max=MAX_PROCESSES, help="Run on a local Dask cluster of this many worker processes."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help=f"Run on an existing Dask cluster (tcp://HOST:PORT; or ${SCHEDULER_ENVIRONMENT})."
    ),
]


def _default_processes() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@app.command()
def forecast(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications",
            "-n",
            min=1,
            max=MAX_REPLICATIONS,
            help="Replications to run (default: 10,000).",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Run seed: same seed, same results.")
    ] = DEFAULT_SEED,
    processes: ProcessesOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    engine: Annotated[
        Engine,
        typer.Option(help="counts: the fast engine; reference: the per-household specification."),
    ] = Engine.counts,
    uncertainty: Annotated[
        Uncertainty,
        typer.Option(
            help="replication: intervals of replication noise only; assumptions: also run "
            "the prior predictive, drawing the assumptions from the scenario's [ranges], and "
            "report both."
        ),
    ] = Uncertainty.replication,
    draws: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_REPLICATIONS,
            help="Assumption draws for --uncertainty assumptions (at most -n; default: 1,000).",
            show_default=False,
        ),
    ] = None,
    observed: Annotated[
        str | None,
        typer.Option(
            help="Track the operation: condition the forecast on these observed counts (a "
            "stored set NAME or NAME@VERSION, or a CSV/JSON file) with a particle filter; a "
            "stored filter of the same set goes on from its last day. Runs in this process "
            "unless --processes is given (the filter's lanes are big to ship every day)."
        ),
    ] = None,
    particles: Annotated[
        int | None,
        typer.Option(
            min=2,
            max=MAX_PARTICLES,
            help="Particles (lanes) of the filter, with --observed (default: 10,000).",
            show_default=False,
        ),
    ] = None,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            help="With --observed: track only this ranged assumption (repeat for more). "
            "Default: every one that can vary by lane."
        ),
    ] = None,
    replication: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_REPLICATIONS - 1,
            help="Recompute this one replication (counted from 0) alone, with its daily path: "
            "of the scenario with --seed, or of a stored --run, checked against what it kept.",
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            help="With --replication: the stored run (id, prefix or latest) whose scenario and "
            "seed to use."
        ),
    ] = None,
    store: StoreOption = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not keep this run.")] = False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Forecast a scenario: reach, timing, leak effect, what binds, costs, people affected.

    With --observed, a tracked forecast instead: conditioned on the counts observed so far.
    With --replication K, one replication alone (of a stored --run, or of the scenario).
    The run is kept in the run store (see `fieldcast runs`) unless --no-store is given.
    Results are identical in-process, on local processes and on a Dask cluster."""
    from fieldcast.forecast import run_forecast
    from fieldcast.planning.checks import check_plan
    from fieldcast.reports.terminal import render_forecast

    if run is not None and replication is None:
        _fail("--run: give --replication K too (which replication of the run to recompute)")
    only_with = {
        "--particles": (particles is not None, observed is not None, "--observed"),
        "--parameter": (parameter is not None, observed is not None, "--observed"),
        "--draws": (
            draws is not None,
            uncertainty == Uncertainty.assumptions,
            "--uncertainty assumptions",
        ),
    }
    for option, (given, applies, needed) in only_with.items():
        if given and not applies:
            _fail(f"{option}: only with {needed}")
    if replication is not None:
        ignored = {
            "--replications": replications is not None,
            "--engine reference": engine != Engine.counts,
            "--uncertainty assumptions": uncertainty != Uncertainty.replication,
            "--observed": observed is not None,
        }
        for option, given in ignored.items():
            if given:
                _fail(f"--replication: {option} does not apply to one replication re-run alone")
        _replay(scenario, set_values, seed, replication, run, as_json, store)
        return
    loaded = _load(scenario, set_values)
    if observed is not None:
        ignored = {
            "--replications (the filter's lanes are --particles)": replications is not None,
            "--engine reference": engine != Engine.counts,
            "--uncertainty assumptions (tracking draws the assumptions itself)": (
                uncertainty != Uncertainty.replication
            ),
        }
        for option, given in ignored.items():
            if given:
                _fail(f"--observed: {option} does not apply to a tracked forecast")
        _track(
            loaded,
            observed,
            particles or 10_000,
            seed,
            parameter or [],
            processes,
            as_json,
            store,
            no_store,
            workers,
            scheduler,
        )
        return
    if uncertainty == Uncertainty.assumptions and not loaded.ranges:
        _fail(
            f"--uncertainty assumptions: the scenario {loaded.name!r} declares no [ranges] "
            "to draw its assumptions from (see `fieldcast scenario show`)"
        )
    if not no_store:
        _store_call(_store(store).check_writable)
    for finding in check_plan(loaded):
        stderr.print(Text.assemble(("plan check: ", "bold yellow"), finding.message))
    if engine is Engine.counts:
        _say_if_the_engine_compiles(scheduler)
    started = time.perf_counter()
    with _cluster(workers, scheduler) as client, _progress_bar() as bar:
        task = bar.add_task(f"{loaded.name}: replications simulated", total=None)
        result = run_forecast(
            loaded,
            replications=replications or 10_000,
            seed=seed,
            processes=processes or _default_processes(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            engine=engine.value,
            client=client,
            assumption_draws=(draws or 1000) if uncertainty == Uncertainty.assumptions else 0,
        )
    seconds = time.perf_counter() - started
    summary = result.summary()
    if not no_store:
        run_store = _store(store)
        run_id = _store_call(lambda: run_store.save(result, seconds))
        stderr.print(f"stored as run {run_id} in {run_store.path}", highlight=False)
    if as_json:
        _print_json(summary)
    else:
        render_forecast(summary, stdout)


def _replay(
    scenario: str,
    set_values: list[str] | None,
    seed: int,
    replication: int,
    run: str | None,
    as_json: bool,
    store: Path | None,
) -> None:
    """``forecast --replication K``: one replication alone, from a stored run or a scenario."""
    from fieldcast.forecast import outcome_tuples, replay
    from fieldcast.reports.terminal import render_replay

    if run is None:
        result = replay(_load(scenario, set_values), seed, replication)
    else:
        if scenario != DEFAULT_SCENARIO or seed != DEFAULT_SEED or set_values:
            _fail(
                "--run: the run gives the scenario and the seed; give no scenario, --set or --seed"
            )
        run_store = _store(store)
        stored_run = _store_call(lambda: run_store.get(run))
        if stored_run.engine != Engine.counts.value:
            _fail(
                f"--run: run {stored_run.run_id} used the {stored_run.engine} engine; only runs "
                "of the counts engine can be recomputed replication by replication"
            )
        if replication >= stored_run.replications:
            _fail(
                f"--replication: run {stored_run.run_id} has {stored_run.replications:,} "
                f"replications (0 to {stored_run.replications - 1:,}), not {replication:,}"
            )
        rows = _store_call(lambda: run_store.replication(stored_run.run_id, replication))
        stored = None if rows is None else outcome_tuples(rows, stored_run.scenario)
        used = _store_call(
            lambda: run_store.replication_resource_use(stored_run.run_id, replication)
        )
        result = replay(
            stored_run.scenario, stored_run.seed, replication, stored_run.run_id, stored, used
        )
    if as_json:
        _print_json(result.summary())
    else:
        render_replay(result.summary(), stdout)


def _check_address(host: str, port: int) -> None:
    """Refuse, naming the option, an address the server could not listen on (a name that
    does not resolve, an address of another machine, a port in use or not allowed), before
    anything starts: uvicorn would say so only in its log, with exit code 3."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as error:
        _fail(f"--host: {host} does not resolve ({error.strerror or error})")
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRNOTAVAIL:
                _fail(f"--host: {host} is not an address of this machine")
            _fail(f"--port: cannot listen on port {port} of {host} ({error.strerror or error})")


@app.command()
def serve(
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. Loopback (the default) needs no token; any other "
            "address is refused without one."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    store: StoreOption = None,
    scenarios: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the scenarios saved from the dashboard (default: next to the store)."
        ),
    ] = None,
    job_workers: Annotated[
        int, typer.Option(min=1, max=MAX_PROCESSES, help="Worker processes running jobs.")
    ] = 1,
    queue_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Jobs that may wait at once (more: 429).")
    ] = 20,
    token: Annotated[
        str | None,
        typer.Option(
            help="Read-write access token (default on a non-loopback address: a new one)."
        ),
    ] = None,
    read_token: Annotated[
        str | None, typer.Option(help="Read-only access token (default: a new one, likewise).")
    ] = None,
) -> None:
    """Start the web dashboard: scenarios, forecasts and plans as background jobs, runs with
    interactive charts, comparisons and downloads (see the README, "The web dashboard")."""
    import uvicorn

    from fieldcast.web.app import WebSettings, create_app
    from fieldcast.web.security import Access, token_problem

    for option, given in (("--token", token), ("--read-token", read_token)):
        if given is not None and (problem := token_problem(given)) is not None:
            _fail(f"{option}: {problem}")
    if token is not None and token == read_token:
        _fail("--read-token: must differ from --token (each says what its holder may do)")
    _check_address(host, port)
    run_store = _store(store)
    _store_call(run_store.check_writable)
    access = Access.for_host(host, token, read_token)
    settings = WebSettings(
        store_path=run_store.path,
        scenarios_dir=scenarios or run_store.path.parent / "scenarios",
        access=access,
        queue_limit=queue_size,
        workers=job_workers,
    )
    address = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    stderr.print(f"fieldcast dashboard on {address} (store {run_store.path})", highlight=False)
    new = {
        "read-write": access.write_token if token is None else None,
        "read-only": access.read_token if read_token is None else None,
    }
    if access.required:
        shown = ", ".join(f"{role} {value}" for role, value in new.items() if value)
        if shown:
            stderr.print(f"access tokens made for this server (shown once): {shown}")
        stderr.print(f"open {address}?token=TOKEN", highlight=False)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command()
def check(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    csv_path: CsvOption = None,
    strict: Annotated[bool, typer.Option(help="Exit with 1 if there is any finding.")] = False,
) -> None:
    """Check a plan before running it: problems a planner should hear, with their numbers."""
    from fieldcast.planning.checks import check_plan

    _check_output(csv_path, "--csv")
    findings = check_plan(_load(scenario, set_values))
    _write_csv(csv_path, "check", {"findings": [finding.as_dict() for finding in findings]})
    if as_json:
        _print_json([finding.as_dict() for finding in findings])
    elif findings:
        for finding in findings:
            stdout.print(Text.assemble((finding.code, "bold"), ": ", finding.message))
    else:
        stdout.print("no problems found with this plan")
    if strict and findings:
        raise typer.Exit(code=1)


@app.command()
def plan(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    across: Annotated[
        Across,
        typer.Option(
            help="cities: spread teams across cities; days: spread team-days across days."
        ),
    ] = Across.cities,
    teams: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_TEAMS,
            help="Teams to spread across cities (default: the scenario's own).",
        ),
    ] = None,
    step: Annotated[
        float,
        typer.Option(
            min=0.01, max=1.0, help="Across days: share of full strength moved at a time."
        ),
    ] = 0.1,
    replications: Annotated[
        int,
        typer.Option(
            "--replications", "-n", min=2, max=MAX_REPLICATIONS, help="Replications per candidate."
        ),
    ] = 1000,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Run seed, shared by every run.")
    ] = DEFAULT_SEED,
    objective: Annotated[
        Objective,
        typer.Option(
            help="expected: most persons arrested on average; probability: the best chance "
            "of reaching the goal."
        ),
    ] = Objective.expected,
    goal: Annotated[
        int | None,
        typer.Option(min=1, help="Goal in persons (default: the scenario's).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv_path: CsvOption = None,
) -> None:
    """How to spread what the plan has: teams across cities, or team-days across the field days
    (the surge profile), for the most persons arrested by the end of field work on average or
    the best chance of reaching the goal."""
    _check_output(csv_path, "--csv")
    loaded = _load(scenario, set_values)
    if across is Across.days and teams is not None:
        _fail("--teams: only with --across cities")
    from fieldcast.planning.allocation import allocate_teams, current_teams
    from fieldcast.planning.surge import SurgePlan, plan_days

    total = current_teams(loaded) if teams is None else teams
    _say_if_the_engine_compiles()
    try:
        with local_processes_kept(), _progress_bar(time_left=across is Across.cities) as bar:
            task = bar.add_task(f"{loaded.name}: candidate plans", total=None)
            common = {
                "replications": replications,
                "seed": seed,
                "processes": _default_processes(),
                "objective": objective.value,
                "goal_persons": goal,
                # across days the number of candidates is not known in advance
                "progress": lambda done, count: bar.update(
                    task, completed=done, total=count if across is Across.cities else None
                ),
            }
            if across is Across.days:
                answer: Allocation | SurgePlan = plan_days(loaded, step, **common)
            else:
                answer = allocate_teams(loaded, total, **common)
    except ValueError as error:
        _fail(str(error))
    _write_csv(csv_path, "plan", answer.as_dict())
    if as_json:
        _print_json(answer.as_dict())
        return
    if isinstance(answer, SurgePlan):
        _print_surge(loaded, answer)
    else:
        _print_allocation(loaded, answer)
    for note in answer.notes():
        stdout.print(note, highlight=False)


def _print_allocation(loaded: Scenario, answer: "Allocation") -> None:
    table = Table(title=f"{loaded.name}: {answer.teams} teams across cities", title_justify="left")
    for column in (
        "City",
        "Now",
        "Recommended",
        "Expected arrested (now)",
        "Expected arrested (recommended)",
        "Gain of one more team",
    ):
        table.add_column(column, justify="left" if column == "City" else "right")
    gains = answer.marginal_gains()
    for city in answer.cities:
        curve, now, best = answer.curves[city], answer.current[city], answer.recommended[city]
        next_gain = f"{gains[city][best]:,.2f}" if best < len(gains[city]) else "n/a"
        expected_now = f"{curve[now]:,.1f}" if now < len(curve) else "n/a"
        table.add_row(city, str(now), str(best), expected_now, f"{curve[best]:,.1f}", next_gain)
    stdout.print(table)


def _print_surge(loaded: Scenario, answer: "SurgePlan") -> None:
    table = Table(
        title=f"{loaded.name}: share of full team strength by field day "
        f"({sum(answer.current):.2f} days' worth in all)",
        title_justify="left",
    )
    for column in ("Field day", "Now", "Recommended"):
        table.add_column(column, justify="right")
    for day, (now, best) in enumerate(zip(answer.current, answer.recommended, strict=True)):
        table.add_row(str(day), f"{100 * now:.0f}%", f"{100 * best:.0f}%")
    stdout.print(table)


def _requirement_columns(unit: str, target: str) -> tuple[str, ...]:
    """A requirement's table: the level, the share that meets the target, what shows how."""
    arrested = "persons arrested (median)"
    if target == "p_no_bed_shortfall":
        return (unit, "P(no bed shortfall)", "days short of beds (median)", arrested)
    if target == "p_no_removal_queue":
        return (
            unit,
            "P(no removal queue)",
            "persons awaiting removal at the horizon (median)",
            arrested,
        )
    if target == "p_no_monitor_stockout":
        return (unit, "P(no monitor stock-out)", "city-days short of monitors (median)", arrested)
    return (unit, "P(goal)", "goal day (median)", arrested, "full team capacity")


@app.command()
def requirement(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    goal: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="The goal of teams and field days: persons arrested by the end of field work "
            "(default: the scenario's goal).",
            show_default=False,
        ),
    ] = None,
    probability: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Probability of meeting the resource's target, above 0."
        ),
    ] = 0.9,
    vary: Annotated[
        Resource,
        typer.Option(
            help="The resource to search over, and its target: teams and field days, the "
            "goal; beds, no household meant for detention without a bed; seats, nobody "
            "awaiting removal at the horizon; monitors (per city with targets), no household "
            "meant for a monitor without one."
        ),
    ] = Resource.teams,
    ceiling: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Largest amount to try (default: 64x today's, as far as the scenario allows).",
        ),
    ] = None,
    replications: Annotated[
        int,
        typer.Option(
            "--replications",
            "-n",
            min=1,
            max=MAX_REPLICATIONS,
            help="Replications per level tried.",
        ),
    ] = 1000,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Run seed, shared by every level.")
    ] = DEFAULT_SEED,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv_path: CsvOption = None,
) -> None:
    """What would it take: the least amount of one resource that meets its target (the goal
    for teams and field days; for beds, seats and monitors, no family short of a bed, no
    removal queue left, no monitor short)."""
    from fieldcast.planning.requirement import find_requirement

    _check_output(csv_path, "--csv")
    loaded = _load(scenario, set_values)
    _say_if_the_engine_compiles()
    try:
        with local_processes_kept(), _progress_bar(time_left=False) as bar:
            task = bar.add_task(f"{loaded.name}: levels of {vary.value} tried", total=None)
            answer = find_requirement(
                loaded,
                vary.value,
                goal if goal is not None else loaded.operation.goal_persons,
                probability,
                replications=replications,
                seed=seed,
                ceiling=ceiling,
                processes=_default_processes(),
                progress=lambda done, _: bar.update(task, completed=done),
            )
    except ValueError as error:  # the probability or the ceiling, named with the reason
        _fail(str(error))
    _write_csv(csv_path, "requirement", answer.as_dict())
    if as_json:
        _print_json(answer.as_dict())
        return
    table = Table(title=f"{loaded.name}: searching {answer.unit}", title_justify="left")
    for column in _requirement_columns(answer.unit, answer.target.key):
        table.add_column(column, justify="right")
    for level, row in sorted(answer.levels.items()):
        day = row["goal_day_median"]
        arrested = f"{row['persons_arrested_median']:,.0f}"
        if answer.target.key == "p_no_bed_shortfall":
            cells = [f"{row['bed_shortfall_days_median']:,.0f}", arrested]
        elif answer.target.key == "p_no_removal_queue":
            cells = [f"{row['removal_queue_at_horizon_median']:,.0f}", arrested]
        elif answer.target.key == "p_no_monitor_stockout":
            cells = [f"{row['monitor_stockout_days_median']:,.0f}", arrested]
        else:
            full = f"{100 * row['team_capacity_full_share']:.0f}%"
            cells = ["not reached" if day is None else str(day), arrested, full]
        table.add_row(f"{level:,}", f"{row[answer.target.key]:.3f}", *cells)
    stdout.print(table)
    stdout.print(answer.explanation(), highlight=False)


def _numbers(text: str | None, option: str) -> list[float] | None:
    """Numbers separated by commas, as an option gives them (None if not given)."""
    if text is None:
        return None
    try:
        return [float(value) for value in text.split(",") if value.strip()]
    except ValueError:
        _fail(f"{option}: numbers separated by commas, got {text!r}")


@app.command()
def sweep(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    vary: Annotated[
        str,
        typer.Option(
            help="The parameter to vary, by its path as `scenario show` lists it "
            "(leak.events.1.peak_hazard, city_defaults.p_contact, ...), or one city's own "
            "value as city_overrides.CITY.FIELD.",
            show_default=False,
        ),
    ] = ...,  # type: ignore[assignment]
    values: Annotated[
        str | None,
        typer.Option(
            help="The values to try, separated by commas (default: five across the "
            "parameter's range in [ranges]). The scenario's own value is always run too.",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="A second parameter to vary, by its path: every value of --vary runs at "
            "every value of this one (a grid, e.g. teams against field days).",
            show_default=False,
        ),
    ] = None,
    by_values: Annotated[
        str | None,
        typer.Option(
            help="The second parameter's values, separated by commas (default: five across "
            "its range in [ranges]); its own value runs too.",
            show_default=False,
        ),
    ] = None,
    replications: Annotated[
        int,
        typer.Option(
            "--replications",
            "-n",
            min=2,
            max=MAX_REPLICATIONS,
            help="Replications per value (or pair of values).",
        ),
    ] = 1000,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Run seed, shared by every value.")
    ] = DEFAULT_SEED,
    processes: ProcessesOption = None,
    chart: Annotated[
        Path | None,
        typer.Option(help="Write a chart of persons arrested at each value (.png or .svg)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv_path: CsvOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """What if one value were different: the scenario at several values of one parameter (or at
    every pair of values of two, with --by), with the same random numbers, each value's change
    paired with the scenario's own."""
    from fieldcast.planning.sweep import run_sweep, sweep_variants
    from fieldcast.reports.charts import sweep_chart
    from fieldcast.reports.terminal import render_sweep

    _check_output(csv_path, "--csv")
    loaded = _load(scenario, set_values)
    _check_chart(chart)
    tried, by_tried = _numbers(values, "--values"), _numbers(by_values, "--by-values")
    try:  # checked before any work starts: a parameter (--vary, --by) or a value, and why
        sweep_variants(loaded, vary, tried, by, by_tried)
    except ValueError as error:
        field, _, reason = str(error).partition(": ")
        option = {"parameter": "vary", "by_values": "by-values"}.get(field, field)
        _fail(f"--{option}: {reason}")
    _say_if_the_engine_compiles(scheduler)
    with _cluster(workers, scheduler) as client, _progress_bar() as bar:
        varied = vary if by is None else f"{vary} and {by}"
        task = bar.add_task(f"{loaded.name}: values of {varied}", total=None)
        answer = run_sweep(
            loaded,
            vary,
            tried,
            replications,
            seed,
            processes=processes or _default_processes(),
            client=client,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            by=by,
            by_values=by_tried,
        )
    summary = answer.as_dict()
    if chart is not None:
        sweep_chart(summary).savefig(chart)
        stderr.print(f"chart written to {chart}", highlight=False)
    _write_csv(csv_path, "sweep", summary)
    if as_json:
        _print_json(summary)
        return
    render_sweep(summary, stdout)


@app.command()
def sensitivity(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    method: Annotated[
        Method,
        typer.Option(help="morris: ranks cheaply; sobol: variance shares, dearer."),
    ] = Method.morris,
    samples: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Morris trajectories (default 10) or Sobol' base sample, a power of two "
            "(default 64).",
            show_default=False,
        ),
    ] = None,
    replications: Annotated[
        int,
        typer.Option(
            "--replications", "-n", min=2, max=MAX_REPLICATIONS, help="Replications per point."
        ),
    ] = 200,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Seed of the sample and of every point.")
    ] = DEFAULT_SEED,
    processes: ProcessesOption = None,
    chart: Annotated[
        Path | None, typer.Option(help="Write a bar chart of the indices (.png or .svg).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv_path: CsvOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Which assumptions matter: rank the scenario's ranged parameters by their effect on
    persons arrested, persons removed and total cost (SALib; see [ranges] in the scenario)."""
    from fieldcast.planning.sensitivity import run_sensitivity
    from fieldcast.reports.charts import sensitivity_chart
    from fieldcast.reports.terminal import render_sensitivity

    _check_output(csv_path, "--csv")
    loaded = _load(scenario, set_values)
    _check_chart(chart)
    _say_if_the_engine_compiles(scheduler)
    try:
        with _cluster(workers, scheduler) as client, _progress_bar() as bar:
            task = bar.add_task(f"{loaded.name}: {method.value} points", total=None)
            answer = run_sensitivity(
                loaded,
                method.value,
                samples,
                replications,
                seed,
                processes=processes or _default_processes(),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                client=client,
            )
    except ValueError as error:
        _fail(str(error))
    if chart is not None:
        sensitivity_chart(answer).savefig(chart)
        stderr.print(f"chart written to {chart}", highlight=False)
    _write_csv(csv_path, "sensitivity", answer.as_dict())
    if as_json:
        _print_json(answer.as_dict())
        return
    render_sensitivity(answer.as_dict(), stdout)


@app.command()
def scenarios(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the built-in scenarios."""
    if as_json:
        _print_json(
            [
                {
                    "name": name,
                    "title": loaded.title,
                    "default": name == DEFAULT_SCENARIO,
                    "cities": len(loaded.cities),
                    "target_persons": sum(c.target_persons for c in loaded.cities),
                }
                for name, loaded in ((name, load_scenario(name)) for name in builtin_names())
            ]
        )
        return
    table = Table(title="Built-in scenarios", title_justify="left")
    table.add_column("Name")
    table.add_column("Title")
    table.add_column("Cities", justify="right")
    table.add_column("Target persons", justify="right")
    for name in builtin_names():
        loaded = load_scenario(name)
        default = " (default)" if name == DEFAULT_SCENARIO else ""
        table.add_row(
            name + default,
            loaded.title,
            str(len(loaded.cities)),
            f"{sum(c.target_persons for c in loaded.cities):,}",
        )
    stdout.print(table)


@scenario_app.command("show")
def scenario_show(
    scenario: ScenarioArgument = DEFAULT_SCENARIO, set_values: SetOption = None
) -> None:
    """Print every parameter with its value, unit, meaning and provenance."""
    loaded = _load(scenario, set_values)
    stdout.print(Text.assemble((loaded.name, "bold"), ": ", loaded.title, "\n"))
    for path in parameter_paths(loaded):
        value = parameter_value(loaded, path)
        unit, meaning = parameter_info(path)
        provenance = loaded.provenance.get(path)
        stdout.print(
            Text.assemble((path, "bold"), f" = {json.dumps(value)} ", (f"({unit})", "dim"))
        )
        stdout.print(f"    {meaning}", highlight=False, style="dim")
        if provenance is None:
            stdout.print(Text("    provenance not stated", style="red"))
        else:
            stdout.print(Text.assemble("    ", (provenance.kind, "bold"), ": ", provenance.note))
        span = loaded.ranges.get(path)
        if span is not None:
            note = f": {span.note}" if span.note else ""
            stdout.print(
                Text.assemble("    ", ("range", "bold"), f" {span.low:g} to {span.high:g}{note}")
            )


@scenario_app.command("export")
def scenario_export(
    scenario: ScenarioArgument = DEFAULT_SCENARIO, set_values: SetOption = None
) -> None:
    """Print the scenario as a complete TOML file, to edit: `... export NAME > my.toml`."""
    typer.echo(scenario_to_toml(_load(scenario, set_values)), nl=False)


@scenario_app.command("validate")
def scenario_validate(
    file: Annotated[Path, typer.Argument(help="Scenario file (.toml, .yaml, .yml, .json).")],
) -> None:
    """Check a scenario file; exit 0 if valid, 2 with the problems if not."""
    loaded = _load(str(file))
    households = sum(c.target_persons for c in loaded.cities)
    stdout.print(
        f"{file}: valid scenario {loaded.name!r} ({len(loaded.cities)} cities, "
        f"{households:,} target persons)",
        highlight=False,
    )


RunArgument = Annotated[str, typer.Argument(help="A run id, a unique prefix of one, or latest.")]


@runs_app.command("list")
def runs_list(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """The stored runs, oldest first."""
    infos = _store_call(_store(store).list)
    if as_json:
        _print_json(
            [{**info.__dict__, "created_at": info.created_at.isoformat()} for info in infos],
        )
        return
    # Made to fit 80 columns: a run's id starts with the time it was stored, so that time
    # has no column of its own, and the engine has one only if some run used the reference.
    with_engine = any(info.engine != "counts" for info in infos)
    table = Table(
        title=f"Runs in {_store(store).path} (each id starts with the UTC time it was stored)",
        title_justify="left",
        show_edge=False,
    )
    columns = ["Run", "Scenario", "Seed", "Replications", "P(goal)", "Arrested (median)"]
    for column in columns + (["Engine"] if with_engine else []):
        numeric = column in ("Seed", "Replications", "P(goal)", "Arrested (median)")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column == "Run")
    for info in infos:
        table.add_row(
            info.run_id,
            info.scenario_name,
            str(info.seed),
            f"{info.replications:,}",
            f"{100 * info.p_goal:.1f}%",
            f"{info.persons_arrested_median:,.0f}",
            *([info.engine] if with_engine else []),
        )
    stdout.print(table)


@runs_app.command("show")
def runs_show(run: RunArgument, store: StoreOption = None) -> None:
    """A stored run's forecast report."""
    from fieldcast.reports.terminal import render_forecast

    stored = _store_call(lambda: _store(store).get(run))
    stdout.print(
        f"run {stored.run_id}, stored {stored.created_at:%Y-%m-%d %H:%M:%S} UTC "
        f"by fieldcast {stored.fieldcast_version}, {stored.seconds:.1f} s",
        highlight=False,
    )
    render_forecast(stored.summary, stdout)


@runs_app.command("compare")
def runs_compare(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids (or prefixes).")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: each later run's scenario changes and paired change "
            "from the first (every run's outcomes: `runs show RUN --json`).",
        ),
    ] = False,
    store: StoreOption = None,
) -> None:
    """What changed in the scenario, and what changed in the outcome (paired, replication by
    replication, for runs of one seed)."""
    from fieldcast.reports.comparison import (
        PAIRED_NOTE,
        outcome_table,
        paired_cell,
        paired_with_first,
        scenario_changes,
    )

    if len(runs) < 2:
        _fail("give at least two runs to compare")
    run_store = _store(store)
    stored = [
        _store_call(lambda reference=reference: run_store.get(reference)) for reference in runs
    ]
    totals = [_store_call(lambda r=r: run_store.national_outcomes(r.run_id)) for r in stored]
    paired_changes = paired_with_first(stored, totals)
    if as_json:
        _print_json(
            {
                "first": stored[0].run_id,
                "compared": [
                    {
                        "run_id": other.run_id,
                        "scenario_changes": [
                            vars(c) for c in scenario_changes(stored[0].scenario, other.scenario)
                        ],
                        "paired_change": paired,
                    }
                    for other, paired in zip(stored[1:], paired_changes, strict=True)
                ],
                "paired_change_reads": PAIRED_NOTE,
            }
        )
        return
    for other in stored[1:]:
        changes = scenario_changes(stored[0].scenario, other.scenario)
        title = f"Scenario changes, {stored[0].run_id} -> {other.run_id}"
        if not changes:
            stdout.print(f"{title}: none (same scenario)", highlight=False)
            continue
        table = Table(title=title, title_justify="left")
        for column in ("Parameter", stored[0].run_id, other.run_id):
            table.add_column(column, overflow="fold")
        for change in changes:
            table.add_row(change.path, json.dumps(change.before), json.dumps(change.after))
        stdout.print(table)
    table = Table(title="Outcomes", title_justify="left")
    table.add_column("")
    for run in stored:
        table.add_column(f"{run.run_id}\n{run.scenario.name}", justify="right")
    for label, cells in outcome_table([run.summary for run in stored]):
        table.add_row(label, *cells)
    stdout.print(table)
    for other, paired in zip(stored[1:], paired_changes, strict=True):
        title = f"Paired change, {stored[0].run_id} -> {other.run_id}"
        if paired["unpaired"]:
            stdout.print(f"{title}: not paired, {paired['unpaired']}", highlight=False)
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("")
        table.add_column("change", justify="right")
        for row in paired["rows"]:
            table.add_row(row["outcome"], paired_cell(row))
        stdout.print(table)
        stdout.print(PAIRED_NOTE, highlight=False)


@runs_app.command("score")
def runs_score(
    run: RunArgument,
    observed: Annotated[
        str,
        typer.Option(
            help="The observed counts: a stored set (NAME or NAME@VERSION, see `fieldcast "
            "observe list`) or a CSV/JSON file.",
            show_default=False,
        ),
    ],
    draws: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_REPLICATIONS,
            help="Draws of the ranged assumptions for the forecast with their uncertainty.",
        ),
    ] = 1000,
    processes: ProcessesOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
    store: StoreOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Hold a stored forecast against what happened: where each observed series fell in the
    run's forecast, as forecast and with the assumptions' uncertainty."""
    from fieldcast.reports.html import run_score_report
    from fieldcast.reports.terminal import render_run_score
    from fieldcast.run_score import check_recomputable, score_run

    _check_output(out, "--out")
    stored = _store_call(lambda: _store(store).get(run))
    try:
        check_recomputable(stored.run_id, stored.engine)
    except ValueError as error:
        _fail(str(error))
    counts, label = _observed_counts(observed, stored.scenario, store)
    _say_if_the_engine_compiles(scheduler)
    with _cluster(workers, scheduler) as client:
        result = score_run(
            stored.run_id,
            stored.scenario,
            stored.seed,
            stored.replications,
            counts,
            label,
            draws,
            processes or _default_processes(),
            client,
        )
    summary = result.summary()
    if out is not None:
        out.write_text(run_score_report(summary), encoding="utf-8")
        stderr.print(f"wrote {out}", highlight=False)
    if as_json:
        _print_json(summary)
    else:
        render_run_score(summary, stdout)


@runs_app.command("export")
def runs_export(
    run: RunArgument,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
    out: Annotated[Path, typer.Option(help="Directory to write into.")] = Path("."),
    long: Annotated[
        bool,
        typer.Option(
            "--long",
            help="One long table instead: (scenario, run, seed, replication, day, place, "
            "metric, measure, value, series) for the trajectories and every replication's "
            "outcomes.",
        ),
    ] = False,
    store: StoreOption = None,
) -> None:
    """Write a run's tables (run and scenario, daily series, trajectories, every replication's
    outcomes) as files, or one long table (--long)."""
    written = _store_call(lambda: _store(store).export(run, out, file_format, long))
    for path in written:
        stdout.print(str(path), highlight=False)


@runs_app.command("delete")
def runs_delete(
    run: RunArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    store: StoreOption = None,
) -> None:
    """Delete a stored run (asks first, unless --yes)."""
    run_store = _store(store)
    run_id = _store_call(lambda: run_store.resolve(run))
    if not yes and not typer.confirm(f"Delete run {run_id} from {run_store.path}?"):
        stderr.print("nothing deleted")
        raise typer.Exit(code=1)
    _store_call(lambda: run_store.delete(run_id))
    stdout.print(f"deleted run {run_id}", highlight=False)


@app.command()
def report(
    runs: Annotated[
        list[str] | None,
        typer.Argument(help="A run (id, prefix or latest); several for a comparison."),
    ] = None,
    calibration: Annotated[
        str | None,
        typer.Option(help="Report a stored calibration instead (id, prefix or latest)."),
    ] = None,
    tracking: Annotated[
        str | None,
        typer.Option(
            help="Report a stored tracked forecast (`forecast --observed`) instead (id, "
            "prefix or latest)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="HTML file to write.")] = None,
    png: Annotated[
        Path | None, typer.Option(help="Also write the charts as PNG files here.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """An HTML report of a stored run (self-contained: it opens offline), a comparison, a
    calibration or a tracked forecast."""
    from fieldcast.reports.html import (
        calibration_report,
        comparison_report,
        run_report,
        tracking_report,
        write_pngs,
    )

    _check_output(out, "--out")
    if png is not None:
        if png.exists() and not png.is_dir():
            _fail(f"--png: {png} is a file; give a folder")
        _check_output(png / "chart.png" if png.is_dir() else png, "--png")
    run_store = _store(store)
    if tracking is not None:
        if runs or calibration is not None:
            _fail("--tracking: report a tracked forecast alone")
        tracking_id, summary = _store_call(lambda: run_store.tracking_summary(tracking))
        target = out or Path(f"tracking-{tracking_id}.html")
        target.write_text(tracking_report(summary), encoding="utf-8")
        stdout.print(f"wrote {target}", highlight=False)
        return
    if calibration is not None:
        if runs:
            _fail("--calibration: report a calibration or runs, not both")
        calibration_id, stored_run, assessed = _store_call(
            lambda: run_store.calibration(calibration)
        )
        if assessed is None:
            _fail(f"calibration {calibration_id} has no result yet: resume it first")
        summary = {"calibration_id": calibration_id, **assessed}
        target = out or Path(f"calibration-{calibration_id}.html")
        target.write_text(calibration_report(summary, stored_run.last.values), encoding="utf-8")
        stdout.print(f"wrote {target}", highlight=False)
        return
    if not runs:
        _fail("give a run (id, prefix or latest), or --calibration")
    stored = [
        _store_call(lambda reference=reference: run_store.get(reference)) for reference in runs
    ]
    if len(stored) == 1:
        document = run_report(stored[0])
        default_name = f"report-{stored[0].run_id}.html"
    else:
        from fieldcast.reports.comparison import paired_with_first

        totals = [_store_call(lambda r=r: run_store.national_outcomes(r.run_id)) for r in stored]
        document = comparison_report(stored, paired_with_first(stored, totals))
        default_name = f"comparison-{'-vs-'.join(run.run_id for run in stored)}.html"
    target = out or Path(default_name)
    target.write_text(document, encoding="utf-8")
    stdout.print(f"wrote {target}", highlight=False)
    if png is not None:
        for run in stored:
            for path in write_pngs(run, png):
                stdout.print(f"wrote {path}", highlight=False)


def main() -> None:  # pragma: no cover - the console script entry point is ``app``
    app()


# -- observed counts -----------------------------------------------------------------------


@observe_app.command("add")
def observe_add(
    file: Annotated[
        Path, typer.Argument(help="CSV or JSON rows: day, place, metric, value, basis.")
    ],
    scenario: Annotated[
        str, typer.Option(help="The scenario the counts are checked against.")
    ] = DEFAULT_SCENARIO,
    name: Annotated[
        str | None, typer.Option(help="The set's name (default: the file's name without suffix).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Check observed counts against a scenario and keep them as the next version of a named
    set (the same counts again change nothing)."""
    from fieldcast.observations import ObservationError, check_name, read_observations

    loaded = _load(scenario)
    try:
        set_name = check_name(name if name is not None else file.stem)
        observed = read_observations(file, loaded)
    except (ObservationError, UnicodeDecodeError, OSError) as error:
        _fail(str(error))
    run_store = _store(store)
    info, added = _store_call(
        lambda: run_store.add_observations(set_name, observed, loaded, str(file))
    )
    what = "added as" if added else "unchanged: the same counts are already"
    rows = f"{info.rows:,} row{'s' if info.rows != 1 else ''}"
    days = (
        f"day {info.first_day}"
        if info.first_day == info.last_day
        else f"days {info.first_day} to {info.last_day}"
    )
    stdout.print(
        f"observations {info.name!r} {what} version {info.version} ({rows}, {days}, sha256 "
        f"{info.sha256[:12]}) in {run_store.path}",
        highlight=False,
        markup=False,
    )


@observe_app.command("list")
def observe_list(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Every stored version of every observation set, oldest first."""
    infos = _store_call(_store(store).observation_infos)
    if as_json:
        _print_json(
            [{**info.__dict__, "added_at": info.added_at.isoformat()} for info in infos],
        )
        return
    table = Table(title=f"Observations in {_store(store).path}", title_justify="left")
    for column in ("Name", "Version", "Added (UTC)", "Scenario", "Rows", "Days", "sha256"):
        table.add_column(column, justify="right" if column in ("Version", "Rows") else "left")
    for info in infos:
        table.add_row(
            info.name,
            str(info.version),
            f"{info.added_at:%Y-%m-%d %H:%M:%S}",
            info.scenario_name,
            str(info.rows),
            f"{info.first_day} to {info.last_day}",
            info.sha256[:12],
        )
    stdout.print(table)


@observe_app.command("show")
def observe_show(
    name: Annotated[str, typer.Argument(help="The observation set's name.")],
    version: Annotated[
        int | None, typer.Option(min=1, help="A version (default: the latest).")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(help="The latest version added by this UTC time: what was known then."),
    ] = None,
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The rows of one version of an observation set."""
    if version is not None and as_of is not None:
        _fail("--version and --as-of: give one or the other")
    info, observed = _store_call(lambda: _store(store).observations(name, version, as_of))
    if as_json:
        _print_json(
            {
                **info.__dict__,
                "added_at": info.added_at.isoformat(),
                "rows": [row.__dict__ for row in observed.rows],
            },
        )
        return
    table = Table(
        title=f"Observations {info.name} version {info.version}, added "
        f"{info.added_at:%Y-%m-%d %H:%M:%S} UTC from {info.source} "
        f"(sha256 {info.sha256[:12]})",
        title_justify="left",
    )
    for column in ("Day", "Place", "Metric", "Persons", "Basis"):
        table.add_column(column, justify="right" if column in ("Day", "Persons") else "left")
    for row in observed.rows:
        table.add_row(str(row.day), row.place, row.metric, f"{row.value:,}", row.basis)
    stdout.print(table)


@observe_app.command("simulate")
def observe_simulate(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PATH=VALUE: simulate with this parameter changed (repeat for more), e.g. "
            "--set city_defaults.p_contact=0.4",
        ),
    ] = None,
    last_day: Annotated[int, typer.Option(min=0, help="Report days 0 to this one.")] = 6,
    metric: Annotated[
        list[str] | None,
        typer.Option(help="Metrics to report (repeat; default: arrests and detentions)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Seed of the operation and the reports.")
    ] = 1,
    total: Annotated[
        bool, typer.Option("--total", help="Report national totals only (place Total).")
    ] = False,
    out: Annotated[Path, typer.Option(help="CSV file to write.")] = Path("observed.csv"),
) -> None:
    """Make observed counts by simulating one replication of a scenario (with parameters
    changed by --set) and reporting it through its [observation] noise: synthetic evidence to
    try calibration on, whose true values are known."""
    from fieldcast.calibration import synthetic_observations
    from fieldcast.observations import OBSERVABLE
    from fieldcast.scenario import scenario_with

    _check_output(out, "--out")
    loaded = _load(scenario)
    metrics = metric or ["arrests", "detentions"]
    for name in metrics:
        if name not in OBSERVABLE:
            _fail(f"--metric: {name!r} is not one of {', '.join(OBSERVABLE)}")
    try:
        truth = scenario_with(loaded, set_values or [])
        observed = synthetic_observations(truth, last_day, seed, metrics, total=total)
    except ValueError as error:
        _fail(str(error))
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["day", "place", "metric", "value", "basis"])
        writer.writerows([r.day, r.place, r.metric, r.value, r.basis] for r in observed.rows)
    stdout.print(
        f"wrote {out}: {len(observed.rows)} cumulative counts, days 0 to {last_day}, of "
        f"{loaded.name} with {', '.join(set_values or []) or 'its own values'} (seed {seed})",
        highlight=False,
        markup=False,
    )


# -- calibration -------------------------------------------------------------------------------


def _observed_counts(
    reference: str, loaded: Scenario, store: Path | None
) -> "tuple[ObservationSet, str]":
    """Counts from a file (if one exists at ``reference``) or a stored set (NAME, or
    NAME@VERSION), and a label naming them and their hash."""
    from fieldcast.observations import ObservationError, read_observations
    from fieldcast.tracked_forecast import stored_counts

    path = Path(reference)
    if path.is_file():
        try:
            observed = read_observations(path, loaded)
        except (ObservationError, UnicodeDecodeError, OSError) as error:
            _fail(str(error))
        return observed, f"{path.name} (sha256 {observed.sha256[:12]})"
    try:
        return _store_call(lambda: stored_counts(_store(store), reference, loaded))
    except ObservationError as error:
        _fail(f"--observed: {error}")


@app.command()
def calibrate(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    observed: Annotated[
        str | None,
        typer.Option(
            help="The observed counts: a stored set (NAME or NAME@VERSION, see `fieldcast "
            "observe list`) or a CSV/JSON file."
        ),
    ] = None,
    particles: Annotated[
        int, typer.Option(min=10, max=MAX_REPLICATIONS, help="Particles (parameter sets).")
    ] = 2000,
    target_ess: Annotated[
        int | None,
        typer.Option(
            min=5,
            help="Effective sample size kept at each reweighting (default: half the particles).",
            show_default=False,
        ),
    ] = None,
    copies: Annotated[
        int,
        typer.Option(min=4, help="Simulations per particle for its likelihood (raised if needed)."),
    ] = 24,
    max_simulations: Annotated[
        int | None,
        typer.Option(min=1, help="Stop before going over this many simulations (in all)."),
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (of this call).")
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Seed: same seed, same posterior.")
    ] = DEFAULT_SEED,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            help="Calibrate only this ranged assumption (repeat for more); the others keep "
            "their values. Default: every assumption in [ranges]."
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            help="Go on with a stored calibration (id, prefix or latest) from its last "
            "complete generation; the scenario and counts are its own."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the calibrated scenario (TOML) here."),
    ] = None,
    processes: ProcessesOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    store: StoreOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Infer the scenario's ranged assumptions ([ranges], their priors) from observed counts.

    Prints the posterior beside the prior, the sampler's diagnostics, prior-data conflicts,
    ranges the posterior piles against, and a check of every observed count. Every complete
    generation is kept in the run store, so an interrupted calibration can be resumed."""
    from fieldcast.calibration import Calibration, Settings, advance
    from fieldcast.posterior import assess, calibrated_scenario
    from fieldcast.reports.terminal import render_calibration

    _check_output(out, "--out")
    run_store = _store(store)
    if resume is not None:
        if observed is not None:
            _fail("--resume: the calibration has its own counts; do not give --observed")
        if set_values:
            _fail("--resume: the calibration has its own scenario; do not give --set")
        calibration_id, run, _ = _store_call(lambda: run_store.calibration(resume))
        budget = {"max_simulations": max_simulations, "max_seconds": max_seconds}
        for name, value in budget.items():
            if value is not None:
                setattr(run.settings, name, value)
        if not run.generations:
            _fail(f"--resume: calibration {calibration_id} has no complete generation to resume")
    else:
        if observed is None:
            _fail("--observed: give the observed counts (a stored set or a file), or --resume")
        if target_ess is not None and target_ess > particles:
            _fail(f"--target-ess: at most the particles ({particles:,}), got {target_ess:,}")
        loaded = _load(scenario, set_values)
        counts, label = _observed_counts(observed, loaded, store)
        settings = Settings(
            particles=particles,
            target_ess=target_ess,
            copies=copies,
            seed=seed,
            parameters=tuple(parameter or ()),
        )
        if max_simulations is not None:
            settings.max_simulations = max_simulations
        if max_seconds is not None:
            settings.max_seconds = max_seconds
        try:
            run = Calibration.start(loaded, counts, label, settings)
        except ValueError as error:
            _fail(str(error))
        calibration_id = _store_call(lambda: run_store.start_calibration(run))
        stderr.print(f"calibration {calibration_id} in {run_store.path}", highlight=False)

    def keep(current: Calibration) -> None:
        generation = current.last
        _store_call(lambda: run_store.add_generation(calibration_id, generation))
        stderr.print(
            f"generation {generation.number}: temperature {generation.beta:.4f}, ESS "
            f"{generation.ess:,.0f}, {generation.simulations:,} simulations, "
            f"{generation.seconds:,.1f} s",
            highlight=False,
        )

    _say_if_the_engine_compiles(scheduler)
    with _cluster(workers, scheduler) as client:
        run = advance(run, processes or _default_processes(), client, on_generation=keep)
        assessment = assess(run, processes or _default_processes(), client)
    _store_call(lambda: run_store.add_assessment(calibration_id, assessment))
    summary = {"calibration_id": calibration_id, **assessment.as_dict()}
    if out is not None:
        try:
            calibrated = calibrated_scenario(assessment, datetime.now().date())
        except ValueError as error:
            _fail(f"--out: {error}")
        out.write_text(scenario_to_toml(calibrated), encoding="utf-8")
        stderr.print(f"calibrated scenario written to {out}", highlight=False)
    if as_json:
        _print_json(summary)
    else:
        render_calibration(summary, stdout)


def _observation_name(reference: str) -> str:
    """The name a tracked filter is kept under: the stored set's, or the file's."""
    path = Path(reference)
    return f"file {path.name}" if path.is_file() else reference.partition("@")[0]


def _track(
    loaded: Scenario,
    observed: str,
    particles: int,
    seed: int,
    parameters: list[str],
    processes: int | None,
    as_json: bool,
    store: Path | None,
    no_store: bool,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """``forecast --observed``: the tracked forecast, going on from a stored filter."""
    from fieldcast.reports.terminal import render_tracking
    from fieldcast.tracked_forecast import track_and_keep

    counts, label = _observed_counts(observed, loaded, store)
    name = _observation_name(observed)
    run_store = _store(store)
    _say_if_the_engine_compiles(scheduler)
    # days differ in cost (the first runs the days before day 0, and the forecasts after
    # the last follow it): no estimate of the time left
    with _cluster(workers, scheduler) as client, _progress_bar(time_left=False) as bar:
        task = bar.add_task(f"{loaded.name}: observed days filtered", total=None)
        try:
            kept = _store_call(
                lambda: track_and_keep(
                    run_store,
                    loaded,
                    counts,
                    label,
                    name,
                    particles,
                    seed,
                    parameters,
                    processes or _default_processes(),
                    client,
                    keep=not no_store,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            )
        except ValueError as error:
            _fail(str(error))
    if kept.filtered_again:
        stderr.print(
            f"the stored filter of {name!r} conditioned on other counts than these (revised "
            "or not a prefix): filtered again from day 0",
            highlight=False,
        )
    summary = kept.tracking.summary()
    if kept.tracking_id is not None:
        summary = {"tracking_id": kept.tracking_id, **summary}
        stderr.print(f"stored as tracking {kept.tracking_id} in {run_store.path}", highlight=False)
    if as_json:
        _print_json(summary)
    else:
        render_tracking(summary, stdout)


@app.command()
def backtest(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    set_values: SetOption = None,
    observed: Annotated[
        str,
        typer.Option(help="The observed counts: a stored set (NAME or NAME@VERSION) or a file."),
    ] = "",
    particles: Annotated[
        int, typer.Option(min=2, max=MAX_PARTICLES, help="Particles (lanes) of the filter.")
    ] = 2000,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Seed: same seed, same scores.")
    ] = DEFAULT_SEED,
    parameter: Annotated[
        list[str] | None,
        typer.Option(help="Track only this ranged assumption (repeat for more)."),
    ] = None,
    processes: ProcessesOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
    store: StoreOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Score the forecasts tracking would have made at each observed day against the counts
    that followed: CRPS, 50% and 90% coverage and a PIT histogram, per horizon."""
    from fieldcast.backtest import backtest as run_backtest
    from fieldcast.reports.terminal import render_backtest

    if not observed:
        _fail("--observed: give the observed counts (a stored set or a file)")
    _check_output(out, "--out")
    loaded = _load(scenario, set_values)
    counts, label = _observed_counts(observed, loaded, store)
    if len({row.day for row in counts.rows}) < 2:
        _fail("--observed: a backtest needs counts on at least two days")
    _say_if_the_engine_compiles(scheduler)
    with _cluster(workers, scheduler) as client, _progress_bar() as bar:
        task = bar.add_task(f"{loaded.name}: forecasts scored", total=None)
        try:
            result = run_backtest(
                loaded,
                counts,
                label,
                particles,
                seed,
                parameter or [],
                processes or _default_processes(),
                client,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except ValueError as error:
            _fail(str(error))
    summary = result.summary()
    if out is not None:
        from fieldcast.reports.html import backtest_report

        out.write_text(backtest_report(summary), encoding="utf-8")
        stderr.print(f"wrote {out}", highlight=False)
    if as_json:
        _print_json(summary)
    else:
        render_backtest(summary, stdout)


@app.command()
def trackings(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """The tracked forecasts (`forecast --observed`) kept in the run store, oldest first."""
    run_store = _store(store)
    infos = _store_call(run_store.tracking_infos)
    if as_json:
        names = ("tracking_id", "created_at", "scenario", "observations", "day", "particles")
        _print_json(
            [
                dict(zip(names, (*info[:1], info[1].isoformat(), *info[2:]), strict=True))
                for info in infos
            ]
        )
        return
    table = Table(title=f"Tracked forecasts in {run_store.path}", title_justify="left")
    table.add_column("Id", no_wrap=True)
    for column in ("Made (UTC)", "Scenario", "Observations", "As of day", "Particles"):
        table.add_column(column, overflow="fold")
    for tracking_id, created, scenario, observations, day, particles in infos:
        table.add_row(
            tracking_id,
            f"{created:%Y-%m-%d %H:%M:%S}",
            scenario,
            observations,
            str(day),
            f"{particles:,}",
        )
    stdout.print(table)


@app.command()
def calibrations(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """The calibrations kept in the run store, oldest first."""
    infos = _store_call(_store(store).calibration_infos)
    if as_json:
        _print_json(
            [{**info.__dict__, "created_at": info.created_at.isoformat()} for info in infos]
        )
        return
    table = Table(title=f"Calibrations in {_store(store).path}", title_justify="left")
    table.add_column("Id", no_wrap=True)  # whole, to be copied into --resume
    for column in ("Started (UTC)", "Scenario", "Observations", "Generations", "Stopped"):
        table.add_column(column)
    for info in infos:
        state = info.stopped or "interrupted (resume it)"
        table.add_row(
            info.calibration_id,
            f"{info.created_at:%Y-%m-%d %H:%M:%S}",
            info.scenario_name,
            info.observations,
            f"{info.generations} (temperature {info.beta:.3f})",
            state,
        )
    stdout.print(table)
