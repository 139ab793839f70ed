"""The public API documents itself: every function and public method of what ``fieldcast``
exports has a numpydoc docstring whose sections match its signature.

Checked here in a few lines rather than with numpydoc's validator, which also enforces a
house style (summary punctuation, "See Also", examples for every function) this project does
not follow: every parameter is listed under "Parameters", a function that returns something
has "Returns", and one that raises on purpose has "Raises" naming what it raises.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import fieldcast


def _public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    for name in fieldcast.__all__:
        value = getattr(fieldcast, name)
        if inspect.isclass(value):
            if issubclass(value, Exception):
                continue
            for member, function in vars(value).items():
                if member.startswith("_"):
                    continue
                if isinstance(function, (classmethod, staticmethod)):
                    function = function.__func__
                if inspect.isfunction(function):
                    yield f"{name}.{member}", function
        elif inspect.isfunction(value):
            yield name, value


PUBLIC = dict(_public_callables())


def _section(doc: str, title: str) -> str | None:
    """The text of a numpydoc section (a title underlined with dashes), or None."""
    match = re.search(
        rf"^{title}\n-{{{len(title)}}}\n(.*?)(?=^\w[^\n]*\n-{{3,}}\n|\Z)", doc, re.M | re.S
    )
    return None if match is None else match.group(1)


def _raised(function: Callable[..., Any]) -> set[str]:
    """Exception classes the function's own body raises by name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id[0].isupper():
                names.add(target.id)
    return names


def problems(function: Callable[..., Any]) -> list[str]:
    """What the function's docstring lacks, by the rules above."""
    doc = inspect.getdoc(function) or ""
    found = []
    signature = inspect.signature(function)
    parameters = [
        name
        for name, parameter in signature.parameters.items()
        if name not in ("self", "cls")
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]
    listed = _section(doc, "Parameters")
    if parameters and listed is None:
        found.append("no Parameters section")
    for name in parameters:
        if listed is not None and not re.search(rf"^{name}\b.*:", listed, re.M):
            found.append(f"parameter {name} not listed")
    returns = signature.return_annotation
    if returns not in ("None", None, inspect.Signature.empty) and _section(doc, "Returns") is None:
        found.append("no Returns section")
    raised = _section(doc, "Raises") or ""
    for name in _raised(function):
        if name not in raised:
            found.append(f"raises {name} but its Raises section does not say so")
    return found


def test_the_public_api_is_what_the_package_exports() -> None:
    assert len(PUBLIC) >= 30  # the checks below are not vacuous


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_functions_have_numpydoc_docstrings(name: str) -> None:
    assert problems(PUBLIC[name]) == []


def test_the_check_finds_what_is_missing() -> None:
    """A deliberately incomplete docstring is caught on every rule."""

    def incomplete(scenario: object, seed: int) -> int:
        """Something.

        Parameters
        ----------
        scenario : Scenario
            The scenario.
        """
        if seed < 0:
            raise ValueError("seed")
        return seed

    assert problems(incomplete) == [
        "parameter seed not listed",
        "no Returns section",
        "raises ValueError but its Raises section does not say so",
    ]
