"""The scenario fuzzer (``tests/fuzz_scenarios.py``, issue 13): a few hundred mutated files in
``make test``, and proof that the fuzzer tells a traceback, a hang and an unnamed refusal
from a clean refusal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fuzz_scenarios
from fuzz_scenarios import Outcome, run_case

EXAMPLES = 300  # the long run: `python tests/fuzz_scenarios.py --examples 20000`


@pytest.mark.slow
def test_mutated_scenarios_are_refused_by_field_or_run_cleanly(tmp_path: Path) -> None:
    """Every case is refused with exit code 2 naming the field (or the file, when it does not
    parse), or accepted and then forecast, shown and reported with exit code 0 and valid
    JSON: no traceback, no hang (60 s per command), within 6 GB of address space."""
    out = tmp_path / "fuzz.json"
    script = str(Path(fuzz_scenarios.__file__))
    subprocess.run(
        [sys.executable, script, "--examples", str(EXAMPLES), "--seed", "2019", "--out", str(out)],
        check=True,
        timeout=1200,
    )
    report = json.loads(out.read_text())
    outcomes = report["outcomes"]
    assert report["cases"] == EXAMPLES
    assert report["failures"] == {}, json.dumps(report["failures"], indent=2)
    assert set(outcomes) <= {"accepted", "refused", "refused at run"}, outcomes
    # the mutations reach both sides: files that run, files refused
    assert outcomes.get("accepted", 0) >= EXAMPLES // 10
    assert outcomes.get("refused", 0) >= EXAMPLES // 2


def _case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: object, seconds: float) -> str:
    """The outcome of the unchanged built-in scenario, with ``fault`` in place of loading."""
    monkeypatch.setattr("fieldcast.cli.load_scenario", fault)
    path = fuzz_scenarios.write_case(tmp_path, fuzz_scenarios.BASE, ".toml", None)
    try:
        return run_case(CliRunner(), tmp_path, path, seconds, html=False)
    except Outcome as outcome:
        return outcome.args[0]


def test_the_fuzzer_tells_failures_from_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliberately wrong variants of loading: an exception, a hang, a refusal that names no
    field; each is counted as what it is (the fuzz test would miss them otherwise)."""
    from fieldcast.scenario import ScenarioError

    def crashes(reference: str) -> None:
        raise OverflowError("int too large to convert")

    def hangs(reference: str) -> None:
        time.sleep(30)

    def unnamed(reference: str) -> None:
        raise ScenarioError("something is wrong")

    def named(reference: str) -> None:
        raise ScenarioError("x.toml: invalid scenario (1 problem)\n  city_defaults.teams: bad")

    assert _case(tmp_path, monkeypatch, crashes, 10) == "traceback"
    assert _case(tmp_path, monkeypatch, hangs, 0.5) == "hang"
    assert _case(tmp_path, monkeypatch, unnamed, 10) == "unnamed"
    assert _case(tmp_path, monkeypatch, named, 10) == "refused"
