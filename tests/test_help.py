"""Every command's `--help` says all of its text: no word lost to console markup, no sentence
cut by a docstring's line break."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fieldcast import cli

BOX_DRAWING = re.compile(r"[\u2500-\u257f]")


def flattened(text: str) -> str:
    """The words of a text in order: the panels' box lines, the wrapping and the backticks
    (which Markdown turns into code style) taken out."""
    return " ".join(BOX_DRAWING.sub(" ", text).replace("`", "").split())


def commands(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    """Every command and group below ``command``, with the words that call it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, [*path, name])


def missing_help_texts() -> list[str]:
    """The paragraphs of help (a command's, its options', its subcommands' first) that its
    `--help` page does not show word for word."""
    runner = CliRunner()
    missing = []
    for path, command in commands(typer.main.get_command(cli.app), []):
        # wide enough that no option's type wraps into the column of its help
        result = runner.invoke(cli.app, [*path, "--help"], env={"COLUMNS": "240"})
        page = flattened(result.output)
        texts = [command.help or ""]
        texts += [
            parameter.help or "" for parameter in command.params if hasattr(parameter, "help")
        ]
        texts += [
            (sub.help or "").split("\n\n")[0] for sub in getattr(command, "commands", {}).values()
        ]
        for text in texts:
            for paragraph in text.split("\n\n"):
                if flattened(paragraph) not in page:
                    missing.append(f"fieldcast {' '.join(path)} --help: {flattened(paragraph)}")
    return missing


def test_every_help_text_is_shown_whole() -> None:
    assert missing_help_texts() == []


def test_the_check_sees_words_lost_to_console_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer's default markup mode reads "[ranges]" as a style tag and drops it: the check
    above must see that."""
    for app in (cli.app, cli.scenario_app, cli.runs_app, cli.observe_app):
        monkeypatch.setattr(app, "rich_markup_mode", "rich")
    missing = missing_help_texts()
    assert any("[ranges]" in line and "calibrate --help" in line for line in missing), missing
