"""Work a test session starts ahead, in one background process a little behind the tests in
priority: compiling the engine's mutants (``mutants.py``: one copy of the engine, about a
minute of numba) and computing the README's worked-example figures (``docs/figures.py``, a few
minutes of fieldcast commands). ``conftest.py`` starts it once collection shows which of the
tests that need it will run; those tests wait for it (the ``ahead`` fixture).

    python tests/ahead.py FOLDER [--mutants] [--figures]

writes into FOLDER: the mutants' compiled code goes to numba's cache, the figures to
``figures.json``, and at the end ``done``: "ok", or the error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import traceback
from pathlib import Path

from fieldcast.workers import die_with_parent

HERE = Path(__file__).parent
FIGURES_FILE = "figures.json"
DONE_FILE = "done"  # as conftest.py reads it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mutants", action="store_true")
    parser.add_argument("--figures", action="store_true")
    arguments = parser.parse_args()
    # A little behind the tests, not far: with tests in every core (``pytest -n 2``) it must
    # still get its share, or the tests that wait for it (run last) would wait at the end.
    os.nice(5)
    # The figures and the mutants at the same time: each is mostly one core's work (numba
    # compiling, commands one after another), and at the end of a session nothing else runs.
    figures = None
    if arguments.figures:
        script = HERE.parent / "docs" / "figures.py"
        out = arguments.folder / FIGURES_FILE
        parent = os.getpid()
        figures = subprocess.Popen(
            [sys.executable, str(script), "--out", str(out)],
            preexec_fn=lambda: die_with_parent(parent),  # killed with this process
        )
    if arguments.mutants:
        sys.path.insert(0, str(HERE))
        from mutants import compile_mutants

        compile_mutants(arguments.folder)
    if figures is not None and figures.wait() != 0:
        raise subprocess.CalledProcessError(figures.returncode, figures.args)


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # told to the tests that wait (conftest.py's ``ahead`` fixture)
        outcome = traceback.format_exc()
        raise
    else:
        outcome = "ok"
    finally:
        (Path(sys.argv[1]) / DONE_FILE).write_text(outcome)
