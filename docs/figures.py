"""The README's worked-example figures, computed by the commands the README names.

Every figure of the worked examples is part of a phrase of the README, and each phrase is
made here from one command's JSON output at the README's seed (the default, 2019): the words
are fixed, the numbers (and the order of what is ranked) come from the command. So a change
that moves a figure changes the phrase, and the README no longer holds it.

    python docs/figures.py            # run every command; list the phrases the README lacks
    python docs/figures.py --write    # also put the new phrases where the old ones were

``--write`` finds each phrase as last recorded (``docs/figures.json``) and puts the phrase as
computed now in its place; ``make docs-figures`` runs it. ``tests/test_readme.py`` checks the
README against every command's phrases (computed ahead by ``tests/ahead.py``). Phrases are
compared with runs of white space made one space (the README wraps its lines). Timings in the
README ("37 s on two cores") are not figures of the model and are not checked.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
README = HERE.parent / "README.md"
RECORDED = HERE / "figures.json"
FIELDCAST = str(Path(sys.executable).parent / "fieldcast")

Answer = Any  # one command's JSON output
WORDS = {4: "four", 7: "seven"}  # counts the README writes in words


@dataclass(frozen=True)
class Figure:
    """Phrases of the README made from one command's answer (``--json`` is added)."""

    command: str  # as the README shows it, after ``fieldcast``
    phrases: Callable[[Answer], list[str]]


def _median(interval: dict[str, float]) -> str:
    return f"{interval['median']:,.0f}"


def _interval(interval: dict[str, float], between: str = " to ") -> str:
    return f"{interval['p05']:,.0f}{between}{interval['p95']:,.0f}"


def _forecast(answer: Answer) -> list[str]:
    leak = answer["leak_effect_persons"]
    binds = {"team_capacity": "team capacity binds"}
    return [
        f"the chance of reaching {answer['goal_persons']:,} persons is "
        f"{100 * answer['p_goal']:.0f}%",
        f"the median is {_median(answer['persons_arrested'])} persons arrested by the end of "
        f"field work (90% interval {_interval(answer['persons_arrested'])})",
        f"without the leak it would be {_median(leak['persons_arrested_without_leak'])}",
        f"puts the leak's cost at {-leak['median']:,.0f} persons (median)",
        "; ".join(binds[name] for name in answer["binding"]["binds"]),
    ]


def _check(answer: Answer) -> list[str]:
    (share,) = [
        finding["figures"]["expected_share_at_address_day_0"]
        for finding in answer
        if finding["code"] == "few_at_address_on_day_0"
    ]
    return [
        f"only {100 * share:.0f}% of target households are expected at the address on file on day 0"
    ]


def _plan(answer: Answer) -> list[str]:
    same = answer["recommended"] == answer["current"]
    per_city = set(answer["current"].values())
    curves, gains = answer["expected_persons_arrested_by_teams"], answer["marginal_gain_by_teams"]
    (teams,) = per_city
    words = WORDS
    return [
        f"the best split of the same {answer['teams']} teams is "
        + (f"the scenario's own, {words[teams]} per city" if same else "not the scenario's own")
        + f" (gain {answer['gain_persons']['median']:.0f})",
        f"expects fewer arrests with {words[teams]} teams ({curves['Los Angeles'][teams]:.1f} "
        f"against {curves['Chicago'][teams]:.1f} in Chicago) but gains more from its fourth team "
        f"({gains['Los Angeles'][teams - 1]:.1f} against {gains['Chicago'][teams - 1]:.1f} "
        "persons)",
    ]


def _plan_probability(answer: Answer) -> list[str]:
    moved = {city: answer["recommended"][city] - teams for city, teams in answer["current"].items()}
    (source,) = [city for city, change in moved.items() if change == -1]
    (target,) = [city for city, change in moved.items() if change == 1]
    chance = answer["p_goal"]
    return [
        f"finds a split that moves one team from {source} to {target}",
        f"on fresh replications the chance is {chance['recommended']:.3f} against "
        f"{chance['current']:.3f} (95% CI of the difference {chance['difference_low']:+.3f} to "
        f"{chance['difference_high']:+.3f})",
        "stops at its node limit here" if not answer["proven_optimal"] else "proves its split best",
    ]


def _plan_across_days(answer: Answer) -> list[str]:
    same = answer["recommended"] == answer["current"]
    return [
        f"re-spreading the same {answer['team_days_share']:.1f} days' worth of team strength over "
        f"the {WORDS[len(answer['current'])]} field days " + ("does not help" if same else "helps"),
        f"({answer['candidates']} profiles tried)",
    ]


# How the README names the assumptions it ranks
NAMES = {
    "city_defaults.teams": "the number of teams",
    "city_defaults.p_contact": "the contact rate",
    "city_defaults.p_address_valid_absentia": "stale addresses of in-absentia orders",
    "city_defaults.p_arrest_given_contact": "the arrest rate",
    "city_defaults.attempts_per_team_day": "attempts per team-day",
    "city_defaults.p_detain": "the share detained",
    "detention.processing_days": "days before removal",
    "detention.baseline_occupancy": "beds taken by others",
}


def _ranking(answer: Answer, output: str) -> list[dict[str, Any]]:
    return answer["outputs"][output]["ranking"]


def _morris(answer: Answer) -> list[str]:
    arrests = _ranking(answer, "persons_arrested")
    first, *rest = arrests[:5]
    leak_events = [row for row in arrests if row["parameter"].startswith("leak.events.")]
    leak_ranks = sorted(arrests.index(row) for row in leak_events)
    removals, cost = _ranking(answer, "persons_removed"), _ranking(answer, "total_cost")
    noise = max(output["replication_noise_share"] for output in answer["outputs"].values())
    return [
        f"({answer['method'].capitalize()}, {answer['samples']} trajectories, "
        f"{answer['points']} points of {answer['replications_per_point']} replications",
        f"{NAMES[first['parameter']]} (mu* {first['mu_star']:.0f} persons over its range of "
        f"{first['low']:.0f} to {first['high']:.0f} per city), then "
        + ", ".join(f"{NAMES[row['parameter']]} ({row['mu_star']:.0f})" for row in rest[:3])
        + f" and {NAMES[rest[3]['parameter']]} ({rest[3]['mu_star']:.0f})",
        f"the two leak events rank {leak_ranks[0] + 1} and {leak_ranks[1] + 1} "
        f"({leak_events[0]['mu_star']:.0f} and {leak_events[1]['mu_star']:.0f})",
        f"Removals hang first on {NAMES[removals[0]['parameter']]} ({removals[0]['mu_star']:.0f}),"
        f" cost on {NAMES[cost[0]['parameter']].removeprefix('the number of ')} "
        f"(${cost[0]['mu_star'] / 1e6:.1f}M) and {NAMES[cost[1]['parameter']]} "
        f"(${cost[1]['mu_star'] / 1e6:.1f}M)",
        f"Replication noise explains under {_ceiling_percent(noise)} of the variance",
    ]


def _ceiling_percent(share: float) -> str:
    """The smallest of 0.1%, 1%, 10% above the share."""
    bound = next(bound for bound in (0.001, 0.01, 0.1, 1.0) if share < bound)
    return f"{100 * bound:g}%"


def _sobol(answer: Answer) -> list[str]:
    top = _ranking(answer, "persons_arrested")[:4]
    parameters = len(_ranking(answer, "persons_arrested"))
    total = [row["ST"] for row in top]
    conf = [row["ST_conf"] for row in top]
    return [
        f"Sobol' ({answer['samples']} x {parameters + 2} = {answer['points']:,} points",
        "the same four first for arrests"
        if {row["parameter"] for row in top}
        == {
            "city_defaults.teams",
            "city_defaults.p_contact",
            "city_defaults.p_address_valid_absentia",
            "city_defaults.p_arrest_given_contact",
        }
        else "other assumptions first for arrests",
        f"their ST are {min(total):.2f} to {max(total):.2f}, with 95% intervals of "
        f"+/-{min(conf):.2f} to {max(conf):.2f}",
    ]


def _thousands(value: float) -> str:
    return f"{round(value, -3):,.0f}"


def _national_morris(answer: Answer) -> list[str]:
    arrests = _ranking(answer, "persons_arrested")
    removals = _ranking(answer, "persons_removed")
    rates = arrests[1:3]
    return [
        f"({answer['points']} points",
        f"arrests hang on teams (mu* {_thousands(arrests[0]['mu_star'])} persons a year over "
        f"{arrests[0]['low']:.0f} to {arrests[0]['high']:.0f} teams per office)",
        "and then on "
        + " and ".join(NAMES[row["parameter"]] for row in rates)
        + f" ({_thousands(rates[0]['mu_star'])} and {_thousands(rates[1]['mu_star'])})",
        f"removals hang on detention ({NAMES[removals[0]['parameter']]}, "
        f"{_thousands(removals[0]['mu_star'])}, and {NAMES[removals[1]['parameter']]}, "
        f"{_thousands(removals[1]['mu_star'])})",
    ]


def _docket(answer: Answer) -> list[str]:
    targets = {city: row["target_persons"] for city, row in answer["by_city"].items()}
    common = max(set(targets.values()), key=list(targets.values()).count)
    miami = targets["Miami"]
    return [
        f"({common} persons per city, {miami} in Miami, {answer['target_persons']:,} in all) "
        f"gives a median of {_median(answer['persons_arrested'])} persons arrested "
        f"({_interval(answer['persons_arrested'])})",
    ]


def _requirement(answer: Answer) -> list[str]:
    levels = answer["levels"]
    top = max(level["persons_arrested_median"] for level in levels)
    first_near_top = min(
        level["level"] for level in levels if level["persons_arrested_median"] >= top - 1
    )
    reaches = "no number of teams reaches" if answer["least"] is None else "teams reach"
    return [
        f"{reaches} {answer['goal_persons']:,}: arrests level off at about {top:.0f} persons "
        f"from {first_near_top} teams per city on",
    ]


def _least_level(answer: Answer) -> dict[str, Any]:
    return next(level for level in answer["levels"] if level["level"] == answer["least"])


def _requirement_beds(answer: Answer) -> list[str]:
    share = _least_level(answer)["p_no_bed_shortfall"]
    return [
        f"at least {answer['least']:,} free beds (it has {answer['current']:,}) leave no "
        f"household meant for detention without a bed in {100 * share:.0f}% of the replications",
    ]


def _requirement_monitors(answer: Answer) -> list[str]:
    share = _least_level(answer)["p_no_monitor_stockout"]
    assert answer["current"] is None  # "it sets no limit"
    return [
        f"{answer['least']:,} monitors per city (it sets no limit) leave no household meant "
        f"for a monitor without one in {100 * share:.0f}%",
    ]


def _requirement_national(answer: Answer) -> list[str]:
    levels = {level["level"]: level["persons_arrested_median"] for level in answer["levels"]}
    current = answer["current"]
    return [
        f"a year of field work by {current} teams per field office arrests about "
        f"{_thousands(levels[current])} people with final orders",
        f"doubling the teams gives about {_thousands(levels[2 * current])}",
        f"no number of teams (up to {answer['ceiling']:,} per office) passes about "
        f"{_thousands(max(levels.values()))}",
    ]


def _uncertainty(answer: Answer) -> list[str]:
    prior = answer["with_assumption_uncertainty"]
    return [
        f"the median of {_median(answer['persons_arrested'])} persons arrested has a 90% "
        f"interval of {_interval(answer['persons_arrested'])} from replication noise alone, and "
        f"{_interval(prior['persons_arrested'])} once the {len(prior['parameters'])} ranged "
        "assumptions are uncertain too",
    ]


def _sweep(answer: Answer) -> list[str]:
    rows = {row["value"]: row for row in answer["values"]}
    without, own, doubled = rows[0.0], rows[answer["scenarios_own_value"]], rows[0.08]
    gain, loss = without["change_in_persons_arrested"], doubled["change_in_persons_arrested"]

    def changed(change: dict[str, float]) -> str:
        """A paired change as the README says it: its size, then more or fewer."""
        low, high = sorted((abs(change["p05"]), abs(change["p95"])))
        word = "more" if change["median"] > 0 else "fewer"
        return f"{abs(change['median']):,.0f} ({low:,.0f} to {high:,.0f}) {word}"

    return [
        f"without it, {_median(without['persons_arrested'])} "
        f"({_interval(without['persons_arrested'])}) persons arrested by the end of field work, "
        f"{changed(gain)} than the {_median(own['persons_arrested'])} "
        f"({_interval(own['persons_arrested'])}) with it",
        f"twice as strong, {changed(loss)}",
    ]


def _sweep_los_angeles(answer: Answer) -> list[str]:
    own, helped = answer["values"]
    change = helped["change_in_persons_arrested"]
    return [
        f"(local support {own['value']:g} instead of {helped['value']:g})",
        f"{change['median']:,.0f} more persons arrested by the end of field work (median; "
        f"{change['p05']:+,.0f} to {change['p95']:+,.0f} in 90% of replications)",
    ]


def _money(interval: dict[str, float]) -> str:
    return f"${interval['median'] / 1e6:.2f}M"


def _sweep_grid(answer: Answer) -> list[str]:
    rows = {(row["value"], row["by_value"]): row for row in answer["values"]}
    own, more_teams, more_days, both = rows[4, 7], rows[8, 7], rows[4, 14], rows[8, 14]

    def arrested(row: dict[str, Any]) -> str:
        return f"{_median(row['persons_arrested'])} ({_interval(row['persons_arrested'])})"

    return [
        f"eight teams a city for the seven field days arrest {arrested(more_teams)} persons "
        f"by the end of field work at a total cost of {_money(more_teams['total_cost'])}, "
        f"four teams for fourteen days {arrested(more_days)} at "
        f"{_money(more_days['total_cost'])}, against {arrested(own)} as planned; both, "
        f"{arrested(both)}",
    ]


FIGURES = [
    Figure("forecast --no-store", _forecast),
    Figure("check", _check),
    Figure("plan -n 1000", _plan),
    Figure("plan --objective probability --goal 190 -n 1000", _plan_probability),
    Figure("plan --across days", _plan_across_days),
    Figure("sensitivity", _morris),
    Figure("sensitivity --method sobol --samples 64", _sobol),
    Figure("sensitivity national -n 10", _national_morris),
    Figure("forecast seed-2019-docket --no-store", _docket),
    Figure("requirement --goal 2000 --probability 0.9 --vary teams -n 1000", _requirement),
    Figure("requirement --vary beds -n 1000", _requirement_beds),
    Figure("requirement --vary monitors -n 1000", _requirement_monitors),
    Figure(
        "requirement national --goal 500000 --probability 0.9 --vary teams -n 100",
        _requirement_national,
    ),
    Figure("forecast --uncertainty assumptions --no-store", _uncertainty),
    Figure("sweep --vary leak.events.1.peak_hazard --values 0,0.02,0.08", _sweep),
    Figure(
        'sweep --vary "city_overrides.Los Angeles.local_support" --values 1', _sweep_los_angeles
    ),
    Figure(
        "sweep --vary city_defaults.teams --values 4,8 --by operation.field_days --by-values 7,14",
        _sweep_grid,
    ),
]


def answer_of(command: str, store: Path) -> Answer:
    """Run ``fieldcast COMMAND --json`` with a store of its own."""
    done = subprocess.run(
        [FIELDCAST, *shlex.split(command), "--json"],  # a path may hold a space, quoted
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "FIELDCAST_STORE": str(store)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"fieldcast {command}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def compute(figures: list[Figure] = FIGURES) -> dict[str, list[str]]:
    """Every figure's phrases, by command."""
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "runs.duckdb"
        return {
            figure.command: figure.phrases(answer_of(figure.command, store)) for figure in figures
        }


def flat(text: str) -> str:
    """Text with every run of white space one space: how phrases are compared."""
    return re.sub(r"\s+", " ", text)


def missing(phrases: dict[str, list[str]], readme: str) -> list[str]:
    """The phrases the README does not hold, each with its command."""
    text = flat(readme)
    return [
        f"fieldcast {command}: {phrase!r}"
        for command, listed in phrases.items()
        for phrase in listed
        if flat(phrase) not in text
    ]


def rewrite(readme: str, old: dict[str, list[str]], new: dict[str, list[str]]) -> str:
    """The README with each recorded phrase replaced by the one computed now (a phrase may
    be wrapped over lines in the README: its words are matched across line breaks)."""
    for command, phrases in new.items():
        for before, after in zip(old.get(command, []), phrases, strict=False):
            if before == after:
                continue
            pattern = r"\s+".join(re.escape(word) for word in before.split())
            readme = re.sub(pattern, after.replace("\\", r"\\"), readme, count=1)
    return readme


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="update the README and the record")
    parser.add_argument("--out", type=Path, help="only write the phrases computed into this file")
    arguments = parser.parse_args()
    phrases = compute()
    if arguments.out:  # for tests/ahead.py
        arguments.out.write_text(json.dumps(phrases, indent=2, ensure_ascii=False) + "\n")
        return 0
    readme = README.read_text()
    if arguments.write:
        recorded = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
        readme = rewrite(readme, recorded, phrases)
        README.write_text(readme)
        RECORDED.write_text(json.dumps(phrases, indent=2, ensure_ascii=False) + "\n")
    lacking = missing(phrases, readme)
    for line in lacking:
        print(f"not in the README: {line}")
    return 1 if lacking else 0


if __name__ == "__main__":
    sys.exit(main())
