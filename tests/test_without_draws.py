"""The engine without its draws (benchmarks/without_draws.py) edits a copy of the engine by
text: a change to the engine that its replacements no longer match must fail here, and its
record must give each replication's outcomes in the order they were drawn."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import without_draws


def test_every_draw_reads_the_record() -> None:
    sources = without_draws.sources()
    for name, source in sources.items():
        ast.parse(source, name)  # still Python
        assert "fieldcast.engine." not in source  # the copy imports itself, not the engine
        assert "from fieldcast.sampling import" not in source  # no sampler is left
    draws = sources["draws.py"]
    assert "return keys.recorded[lane, keys.uniforms[lane] - 1]" in draws
    assert "return uniform(" not in draws
    assert "recorded=_recorded(" in sources["lanes.py"]


def test_a_replacement_that_no_longer_matches_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = {**without_draws.REPLACEMENTS, "draws": (("a line the engine lacks\n", "x"),)}
    monkeypatch.setattr(without_draws, "REPLACEMENTS", changed)
    with pytest.raises(AssertionError, match="no longer matches once"):
        without_draws.sources()


def test_the_record_keeps_each_replications_order() -> None:
    """Rows as draw_replay records them (replication in column 1, outcome in column 12), the
    replications interleaved: each row of the table is its replication's outcomes in turn,
    plus a half."""
    rows = np.zeros((5, 13))
    rows[:, 1] = [1, 0, 1, 1, 0]
    rows[:, 12] = [10, 20, 11, 12, 21]
    table = without_draws.record_table(rows, 3)
    assert table.shape == (3, 4)
    assert table[0, :2].tolist() == [20.5, 21.5]
    assert table[1, :3].tolist() == [10.5, 11.5, 12.5]
    assert not table[2].any()
