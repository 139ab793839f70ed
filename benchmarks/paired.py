"""Is the working copy's engine faster than a git revision's? Both run in one process on
the same core, alternating, so that the machine's drift (±15-20% within minutes on the
development machines) falls on both alike.

    .venv/bin/python benchmarks/paired.py HEAD~1 seed-2019 --replications 1000 --rounds 15
    taskset -c 1 .venv/bin/python benchmarks/paired.py HEAD~1 national -r 20 --rounds 9 --bands

The revision's package is exported (``git archive``) under another name, ``fieldcast_base``,
so that both import side by side; each compiles its own engine on the first run (about a
minute and a half each with an empty cache). Prints each one's best time per replication
and the median of the paired ratios (revision / working copy: above 1, the working copy is
faster) with their range.
"""

from __future__ import annotations

import argparse
import importlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export_revision(revision: str, into: Path) -> None:
    """The revision's ``src/fieldcast`` as the package ``fieldcast_base`` in ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src/fieldcast"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / "fieldcast_base"
    (into / "src" / "fieldcast").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\bfieldcast(?=[.\s])", "fieldcast_base", text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("scenario", nargs="?", default="seed-2019")
    parser.add_argument("-r", "--replications", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--bands",
        action="store_true",
        help="every replication keeps its daily path for the bands, as the first thousand of a "
        "forecast do (national_1k_seconds: all of them)",
    )
    args = parser.parse_args()
    bands = args.replications if args.bands else 0
    with tempfile.TemporaryDirectory() as directory:
        export_revision(args.revision, Path(directory))
        sys.path.insert(0, directory)
        runs = {}
        for package in ("fieldcast_base", "fieldcast"):
            catalog = importlib.import_module(f"{package}.catalog")
            compiled = importlib.import_module(f"{package}.compiled")
            lanes = importlib.import_module(f"{package}.engine.lanes")
            scenario = compiled.compile_scenario(catalog.load_scenario(args.scenario))
            lanes.simulate_chunk(scenario, 1, 0, 2, band_sample=bands)  # compile
            runs[package] = (lanes.simulate_chunk, scenario)
        seconds: dict[str, list[float]] = {package: [] for package in runs}
        for _ in range(args.rounds):
            for package, (simulate, scenario) in runs.items():
                start = time.perf_counter()
                simulate(scenario, 1, 0, args.replications, band_sample=bands)
                seconds[package].append(time.perf_counter() - start)
    base, work = seconds["fieldcast_base"], seconds["fieldcast"]
    ratios = sorted(b / w for b, w in zip(base, work, strict=True))
    per_replication = 1e6 / args.replications
    print(
        f"{args.scenario}: {args.revision} {min(base) * per_replication:.1f} us per replication, "
        f"working copy {min(work) * per_replication:.1f}; paired ratios "
        f"{args.revision} / working copy: median {ratios[len(ratios) // 2]:.3f} "
        f"[{ratios[0]:.3f}, {ratios[-1]:.3f}]"
    )


if __name__ == "__main__":
    main()
