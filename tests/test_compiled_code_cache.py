"""Where compiled code is kept (``compiled_code_cache``): other versions' code does not pile up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def test_importing_fieldcast_marks_its_version_and_removes_stale_ones(tmp_path: Path) -> None:
    """End to end, in a fresh process with its own user cache (``XDG_CACHE_HOME``): importing
    fieldcast's compiled code marks its version's directory as used now and removes another
    version's unused for over a week, keeping one used yesterday."""
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    versions = tmp_path / "fieldcast" / "numba"
    now = time.time()
    stale, recent = _version(versions, "0" * 16), _version(versions, "1" * 16)
    for folder, days in ((stale, STALE_AFTER_DAYS + 1), (recent, 1)):
        (folder / LAST_USED).touch()
        _age(folder / LAST_USED, days, now)
    code = "import numba, fieldcast.streams; print(numba.config.CACHE_DIR)"
    ran = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    current = Path(ran.stdout.strip())
    assert current.parent == versions and current.name not in (stale.name, recent.name)
    assert time.time() - (current / LAST_USED).stat().st_mtime < 60
    assert sorted(path.name for path in versions.iterdir()) == sorted([current.name, recent.name])
