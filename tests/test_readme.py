"""The README's examples run as written: its Python blocks are executed, and every fieldcast
command it shows exists."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from fieldcast.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_docstring_example_runs() -> None:
    """The examples in the package's docstrings (every module's), counted: a runner that
    found none would pass without testing anything."""
    import doctest
    import importlib
    import pkgutil

    import fieldcast

    with_examples = []
    for module_info in pkgutil.walk_packages(fieldcast.__path__, "fieldcast."):
        module = importlib.import_module(module_info.name)
        result = doctest.testmod(module)
        assert result.failed == 0, module_info.name
        with_examples += [module_info.name] if result.attempted else []
    result = doctest.testmod(fieldcast)
    assert result.failed == 0 and result.attempted > 0
    assert "fieldcast.scenario" in with_examples  # Scenario.replace, as the README uses it


def test_readme_opens_with_the_two_commands() -> None:
    opening = README.splitlines()[:6]
    assert any(line.startswith("make run") for line in opening)
    assert any(line.startswith("make test") for line in opening)


def test_readme_python_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


@functools.cache
def help_page(command: tuple[str, ...]) -> str:
    """``fieldcast COMMAND --help``, run in this process (a process each would cost a second
    under load, and the README names a few dozen), wide enough that no option is cut."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, f"fieldcast {' '.join(command)}: {result.output}"
    return result.output


def test_readme_commands_exist() -> None:
    """Every command the README runs has a --help page, and the installed ``fieldcast``
    script runs (once, as a user would call it)."""
    fieldcast = str(Path(sys.executable).parent / "fieldcast")
    installed = subprocess.run([fieldcast, "--help"], capture_output=True, text=True, check=False)
    assert installed.returncode == 0 and "forecast" in installed.stdout, installed.stderr
    commands = re.findall(
        r"^\$ \.venv/bin/fieldcast ((?:scenario |runs |observe )?[a-z]+)", README, re.M
    )
    assert commands
    for command in {c.strip() for c in commands}:
        help_page(tuple(command.split()))


def test_readme_command_options_exist() -> None:
    """Every --option on a README command line is one its command's --help lists."""
    lines = re.findall(r"^\$ (?:\S+=\S+ )?\.venv/bin/fieldcast (.*)$", README, re.M)
    assert lines
    for line in lines:
        words = line.split("#")[0].split()
        command = tuple(words[:2] if words[0] in ("scenario", "runs", "observe") else words[:1])
        for option in (word for word in words if word.startswith("--")):
            assert option in help_page(command), f"fieldcast {' '.join(command)}: no {option}"


def test_readme_scenario_snippets_are_valid(tmp_path: Path) -> None:
    """TOML snippets are scenario files, or parts of one: added to the default, they validate."""
    from fieldcast.catalog import load_scenario

    blocks = re.findall(r"```toml\n(.*?)```", README, flags=re.DOTALL)
    assert blocks
    for index, block in enumerate(blocks):
        path = tmp_path / f"snippet{index}.toml"
        path.write_text(block if "extends" in block else f'extends = "seed-2019"\n{block}')
        load_scenario(path)


def test_the_worked_examples_figures_are_the_commands_output(ahead: Path) -> None:
    """Every phrase with a figure in the worked examples is what its command gives now at
    the README's seed (``docs/figures.py``, run ahead of the tests by ``ahead.py``)."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "docs"))
    from figures import FIGURES, missing

    phrases = json.loads((ahead / "figures.json").read_text())
    assert list(phrases) == [figure.command for figure in FIGURES]
    assert sum(len(listed) for listed in phrases.values()) >= 30
    assert missing(phrases, README) == []
    # and the check can fail: a figure changed by one is missing
    changed = {"check": [phrases["check"][0].replace("43%", "44%")]}
    assert missing(changed, README) != []
    for command in phrases:  # the commands are the README's, as written there
        assert f"fieldcast {command.removesuffix(' --no-store')}" in " ".join(README.split())
