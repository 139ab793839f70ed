"""Where compiled code is kept (``compiled_code_cache``): other versions' code does not pile up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numba
import pytest

from fieldcast.compiled_code_cache import LAST_USED, STALE_AFTER_DAYS, remove_stale

DAY = 86400.0


def _version(root: Path, name: str) -> Path:
    """A version's directory with some compiled code in it."""
    folder = root / name
    (folder / "engine_0123").mkdir(parents=True)
    (folder / "engine_0123" / "day.one_day-35.py311.nbi").write_bytes(b"index")
    return folder


def _age(path: Path, days: float, now: float) -> None:
    os.utime(path, (now - days * DAY, now - days * DAY))


def test_other_versions_unused_for_a_week_are_removed(tmp_path: Path) -> None:
    now = time.time()
    current = _version(tmp_path, "current")
    _age(current, 30, now)  # in use now, whatever its age
    stale = _version(tmp_path, "stale")
    (stale / LAST_USED).touch()
    _age(stale / LAST_USED, STALE_AFTER_DAYS + 1, now)
    recent = _version(tmp_path, "recent")
    (recent / LAST_USED).touch()
    _age(recent / LAST_USED, STALE_AFTER_DAYS - 1, now)
    _age(recent, 60, now)  # its marker, not its directory, says when it was used
    old_unmarked = _version(tmp_path, "old-unmarked")
    _age(old_unmarked, STALE_AFTER_DAYS + 1, now)
    new_unmarked = _version(tmp_path, "new-unmarked")
    (tmp_path / "a-file").write_text("not a version")
    _age(tmp_path / "a-file", 60, now)

    remove_stale(current, now)

    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == sorted(["current", "recent", "new-unmarked", "a-file"])
    assert (current / "engine_0123").is_dir() and new_unmarked.is_dir()


def test_the_version_in_use_says_so() -> None:
    """Importing fieldcast's compiled code touches its version's marker (the tests' own
    process imported it less than a day ago)."""
    if "NUMBA_CACHE_DIR" in os.environ:
        pytest.skip("NUMBA_CACHE_DIR is set: the user's own directory is left alone")
    marker = Path(numba.config.CACHE_DIR) / LAST_USED
    assert time.time() - marker.stat().st_mtime < DAY
