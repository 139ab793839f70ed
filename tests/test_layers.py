"""The package's layers hold (issue 14): `lint-imports` checks the contracts in
pyproject.toml, and a deliberately wrong import in a copy of the package breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import fieldcast

ROOT = Path(__file__).parent.parent
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(package_parent)},
        cwd=package_parent,
    )


def test_the_layers_hold() -> None:
    result = _lint_imports(Path(fieldcast.__file__).parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_import_breaks_them(tmp_path: Path) -> None:
    """The reference model importing the engine, and the engine importing a report: each is
    refused, naming the contract."""
    copy = tmp_path / "fieldcast"
    shutil.copytree(Path(fieldcast.__file__).parent, copy, ignore=shutil.ignore_patterns("*.pyc"))
    with (copy / "reference.py").open("a") as module:
        module.write("\nimport fieldcast.engine  # deliberately wrong\n")
    with (copy / "engine" / "lanes.py").open("a") as module:
        module.write("\nimport fieldcast.reports.terminal  # deliberately wrong\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1
    assert "the reference model does not use the engine BROKEN" in result.stdout
    assert "engine > scenario BROKEN" in result.stdout
    assert "fieldcast.engine is not allowed to import fieldcast.reports" in result.stdout
