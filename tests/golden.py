"""Write the golden forecasts anew (``make golden``): only when a change to the numbers is
intended, and say so in the commit message."""

from __future__ import annotations

import json
from pathlib import Path

from fieldcast import load_scenario, run_forecast

GOLDEN = Path(__file__).parent / "golden_forecasts"
# seed-2019 runs past the band sample (1,000 replications), so that lanes of both kinds are
# pinned (docs/model.md, section 5: the band sample moves never-visited households day by day,
# the other lanes fold those moves)
CASES = {"seed-2019": (1500, 11), "national": (20, 3)}


def golden_summary(name: str) -> dict:
    replications, seed = CASES[name]
    summary = run_forecast(load_scenario(name), replications=replications, seed=seed).summary()
    summary.pop("fieldcast_version")  # the numbers are what is pinned, not the release
    return summary


if __name__ == "__main__":
    for name in CASES:
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(golden_summary(name), indent=2, sort_keys=True) + "\n")
        print(f"wrote {path}")
