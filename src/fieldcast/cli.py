"""The ``fieldcast`` command: a thin layer over the library (no model logic lives here)."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fieldcast.catalog import (
    DEFAULT_SCENARIO,
    builtin_names,
    load_scenario,
    scenario_to_toml,
)
from fieldcast.forecast import run_forecast
from fieldcast.report import render_forecast
from fieldcast.scenario import Scenario, ScenarioError, parameter_info, parameter_paths

app = typer.Typer(
    help="Plan and forecast coordinated multi-city field operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
scenario_app = typer.Typer(help="Show, export and validate scenarios.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

ScenarioArgument = Annotated[
    str,
    typer.Argument(help="A built-in scenario name (see `fieldcast scenarios`) or a file path."),
]


class Engine(StrEnum):
    counts = "counts"
    reference = "reference"


def _load(reference: str) -> Scenario:
    try:
        return load_scenario(reference)
    except ScenarioError as error:
        stderr.print(f"[bold red]error:[/bold red] {error}", highlight=False, markup=True)
        raise typer.Exit(code=2) from None


def _default_processes() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@app.command()
def forecast(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    replications: Annotated[
        int, typer.Option("--replications", "-n", min=1, help="Replications to run.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="Run seed: same seed, same results.")] = 2019,
    processes: Annotated[
        int | None,
        typer.Option(min=1, help="Local processes (results do not depend on it). Default: cores."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    engine: Annotated[
        Engine,
        typer.Option(help="counts: the fast engine; reference: the per-household specification."),
    ] = Engine.counts,
) -> None:
    """Forecast a scenario: reach, timing, leak effect, what binds, costs, people affected."""
    loaded = _load(scenario)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    ) as bar:
        task = bar.add_task(f"{loaded.name}: chunks of replications", total=None)
        result = run_forecast(
            loaded,
            replications=replications,
            seed=seed,
            processes=processes or _default_processes(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            engine=engine.value,
        )
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        render_forecast(summary, stdout)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
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
def scenario_show(scenario: ScenarioArgument = DEFAULT_SCENARIO) -> None:
    """Print every parameter with its value, unit, meaning and provenance."""
    loaded = _load(scenario)
    data = loaded.model_dump(mode="json", exclude={"provenance"}, exclude_none=True)
    stdout.print(f"[bold]{loaded.name}[/bold]: {loaded.title}\n", highlight=False)
    for path in parameter_paths(loaded):
        value: Any = data
        for part in path.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        unit, meaning = parameter_info(path)
        provenance = loaded.provenance.get(path)
        stdout.print(
            f"[bold]{path}[/bold] = {json.dumps(value)} [dim]({unit})[/dim]", highlight=False
        )
        stdout.print(f"    {meaning}", highlight=False, style="dim")
        if provenance is None:
            stdout.print("    [red]provenance not stated[/red]")
        else:
            stdout.print(f"    [bold]{provenance.kind}[/bold]: {provenance.note}", highlight=False)


@scenario_app.command("export")
def scenario_export(scenario: ScenarioArgument = DEFAULT_SCENARIO) -> None:
    """Print the scenario as a complete TOML file, to edit: `... export NAME > my.toml`."""
    typer.echo(scenario_to_toml(_load(scenario)), nl=False)


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


def main() -> None:  # pragma: no cover - the console script entry point is ``app``
    app()
