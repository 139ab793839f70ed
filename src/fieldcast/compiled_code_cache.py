"""Where numba keeps fieldcast's compiled code, so that a change to any of it is seen.

numba caches each compiled function next to its source and checks only that file's time stamp
and size: when the engine calls a sampler or the generator from another module, a change to
that module alone would leave the engine's cached code calling the old one. Here the cache
directory is named after a hash of every module that compiles code (and numba's version), so
any change to them compiles afresh. A ``NUMBA_CACHE_DIR`` set by the user is left alone.

Imported first by every module that compiles code (``streams``, ``sampling``, ``engine``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba
from platformdirs import user_cache_dir

COMPILED_MODULES = ("streams.py", "sampling.py", "engine/*.py")


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
            return base / name
    return Path(user_cache_dir("fieldcast")) / name  # numba warns, and compiles every time


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = str(_cache_directory())
