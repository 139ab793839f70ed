"""Where numba keeps fieldcast's compiled code, so that a change to any of it is seen.

numba caches each compiled function next to its source and checks only that file's time stamp
and size: when the engine calls a sampler or the generator from another module, a change to
that module alone would leave the engine's cached code calling the old one. Here the cache
directory is named after a hash of every module that compiles code (and numba's version), so
any change to them compiles afresh. A ``NUMBA_CACHE_DIR`` set by the user is left alone.

Each version's code takes some 35 MB, and nothing else removes the code of a version that is
no longer installed: a directory of another hash not used for ``STALE_AFTER_DAYS`` is removed
here. Removing one still in use costs at most a compilation (numba compiles what it cannot
find, and writes it anew).

Imported first by every module that compiles code (``streams``, ``sampling``, ``engine``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numba
from platformdirs import user_cache_dir

COMPILED_MODULES = ("streams.py", "sampling.py", "engine/*.py")
STALE_AFTER_DAYS = 7
LAST_USED = "last-used"  # a file in a version's directory, touched whenever it is taken


def _sources_hash() -> str:
    digest = hashlib.sha256(numba.__version__.encode())
    here = Path(__file__).parent
    for pattern in COMPILED_MODULES:
        for path in sorted(here.glob(pattern)):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_directory() -> Path:
    """The user's cache directory, or next to the package if that cannot be written."""
    name = Path("numba") / _sources_hash()
    for base in (Path(user_cache_dir("fieldcast")), Path(__file__).parent / "__pycache__"):
        try:
            (base / name).mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(base / name, os.W_OK):
            (base / name / LAST_USED).touch()
            remove_stale(base / name, time.time())
            return base / name
    return Path(user_cache_dir("fieldcast")) / name  # numba warns, and compiles every time


def remove_stale(current: Path, now: float) -> None:
    """Remove the directories beside ``current`` (other versions' code) last used more than
    ``STALE_AFTER_DAYS`` before ``now``; a directory without the file that says when it was
    last used (from before that file) counts as used when it last changed."""
    for other in current.parent.iterdir():
        if other == current or not other.is_dir():
            continue
        marker = other / LAST_USED
        try:
            last_used = (marker if marker.exists() else other).stat().st_mtime
        except OSError:  # removed by another process meanwhile
            continue
        if now - last_used > STALE_AFTER_DAYS * 86400:
            shutil.rmtree(other, ignore_errors=True)


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = str(_cache_directory())
