"""The web dashboard (``fieldcast serve``): pages, the JSON API, jobs that are never lost, and
who may do what."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import signal
import socket
import subprocess
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import variant
from fieldcast import run_forecast
from fieldcast.catalog import load_scenario
from fieldcast.jobs import PACE_SECONDS, JobRequest, Pace, run_job, submit
from fieldcast.reports.interactive import tracked_figure
from fieldcast.store import RunStore
from fieldcast.web.app import WebSettings, create_app, duration
from fieldcast.web.security import CONTENT_SECURITY_POLICY, Access
from webserver import (
    FIELDCAST,
    api_get,
    api_post,
    free_port,
    serve,
    session_processes,
    wait_for,
)


def _settings(tmp_path: Path, **changes: object) -> WebSettings:
    return WebSettings(
        store_path=tmp_path / "runs.duckdb",
        scenarios_dir=tmp_path / "scenarios",
        **{"workers": 0, **changes},  # type: ignore[arg-type]
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A dashboard without worker processes: tests run its jobs with ``run_pending``."""
    with TestClient(create_app(_settings(tmp_path))) as test_client:
        yield test_client


def run_pending(store_path: Path) -> int:
    """Run every queued job in this process, as a worker would; how many ran."""
    store, ran = RunStore(store_path), 0
    while (job := store.claim_job("test")) is not None:
        run_job(store, job)
        ran += 1
    return ran


def forecast_job(seed: int, replications: int) -> dict[str, object]:
    """An API submission of a forecast of seed-2019."""
    settings = {"seed": seed, "replications": replications}
    return {"kind": "forecast", "scenario": "seed-2019", "settings": settings}


def _csrf(client: TestClient) -> str:
    client.get("/")
    return client.cookies["fieldcast_csrf"]


def test_pages_render_with_a_strict_policy_and_no_inline_script(client: TestClient) -> None:
    for path in ("/", "/scenarios/seed-2019", "/scenarios/national", "/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in CONTENT_SECURITY_POLICY
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", response.text)
        assert inline == [], path
    page = client.get("/scenarios/seed-2019").text
    assert "city_defaults.p_contact" in page and "probability" in page  # unit
    assert "assumption" in page and "source" in page  # provenance
    assert "access-control-allow-origin" not in {h.lower() for h in client.get("/").headers}
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_every_asset_a_page_loads_is_the_dashboards_own(client: TestClient) -> None:
    """Nothing is loaded from the network: every script, style and image is a path here, and
    each is served."""
    for path in ("/", "/scenarios/seed-2019"):
        text = client.get(path).text
        assets = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="([^"]+)"', text)
        assert assets and all(asset.startswith("/static/") for asset in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    for asset in ("/static/plotly-strict.min.js", "/static/charts.js"):
        assert client.get(asset).status_code == 200


def test_an_invalid_value_is_named_then_the_fixed_scenario_is_saved(
    client: TestClient, tmp_path: Path
) -> None:
    csrf = _csrf(client)
    form = {
        "csrf": csrf,
        "new_name": "more-teams",
        "p:city_defaults.teams": "8",
        "p:city_defaults.p_contact": "1.7",
    }
    refused = client.post(
        "/scenarios/seed-2019/save",
        data={
            **form,
            "p:city_defaults.teams": "8.5",
            "p:operation.tempo": "[1, 1, 1, 1, 1, 1, 1, 1]",
        },
    )
    assert refused.status_code == 422
    assert "3 problems" in refused.text  # every one at once, each by its field
    assert "less than or equal to 1 (got 1.7)" in refused.text
    assert "a whole number, got &#39;8.5&#39;" in refused.text
    assert "tempo has 8 values but there are only 7 field days" in refused.text
    # each next to its field, the check between fields too (tempo against field days)
    assert refused.text.count('aria-invalid="true"') == 3 and 'value="1.7"' in refused.text
    tempo_row = re.search(
        r"<tr class=\"invalid\">\s*<td><label[^>]*><code>operation.tempo<", refused.text
    )
    assert tempo_row is not None
    assert not (tmp_path / "scenarios" / "more-teams.toml").exists()
    form["p:city_defaults.p_contact"] = "0.35"
    saved = client.post("/scenarios/seed-2019/save", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/scenarios/more-teams"
    data = tomllib.loads((tmp_path / "scenarios" / "more-teams.toml").read_text())
    assert data["extends"] == "seed-2019" and data["city_defaults"]["teams"] == 8
    more_teams = load_scenario(tmp_path / "scenarios" / "more-teams.toml")
    assert more_teams.city_defaults.p_contact == 0.35
    # the edited value is the user's assumption, no longer the base's sourced one
    edited = more_teams.provenance["city_defaults.p_contact"]
    assert edited.kind == "assumption"
    assert edited.note.startswith("set in more-teams.toml (seed-2019 has 0.3, assumption: ")
    page = client.get("/scenarios/more-teams").text
    assert "Changes from seed-2019" in page and "city_defaults.teams" in page
    again = client.post("/scenarios/seed-2019/save", data=form)
    assert again.status_code == 422 and "exists" in again.text  # never overwritten
    for name in ("../escape", "a/b", ".hidden", ""):
        bad = client.post("/scenarios/seed-2019/save", data={**form, "new_name": name})
        assert bad.status_code == 422, name
    assert sorted(p.name for p in (tmp_path / "scenarios").iterdir()) == ["more-teams.toml"]
    # a saved scenario that no longer loads is named, with the reason, not a server error
    (tmp_path / "scenarios" / "broken.toml").write_text('extends = "gone.toml"\n')
    broken = client.get("/scenarios/broken")
    assert broken.status_code == 422 and "extends" in broken.text and "gone.toml" in broken.text


def test_a_value_the_scenario_leaves_out_is_offered_and_saved(
    client: TestClient, tmp_path: Path
) -> None:
    """seed-2019 sets its cities no limit of monitors and no stand-down day: the form offers
    both, empty (left empty, nothing changes), and a value typed there is checked as the
    field's kind and saved. They were not in the form: a limit of monitors could not be set
    without a terminal."""
    page = client.get("/scenarios/seed-2019").text
    for path in ("city_defaults.monitors", "city_defaults.stands_down_day"):
        assert f'name="p:{path}" value=""' in page
    csrf = _csrf(client)
    form = {"csrf": csrf, "new_name": "few-monitors", "p:city_defaults.stands_down_day": ""}
    refused = client.post(
        "/scenarios/seed-2019/save", data={**form, "p:city_defaults.monitors": "2.5"}
    )
    assert refused.status_code == 422 and "a whole number, got &#39;2.5&#39;" in refused.text
    saved = client.post(
        "/scenarios/seed-2019/save",
        data={**form, "p:city_defaults.monitors": "25"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    few = load_scenario(tmp_path / "scenarios" / "few-monitors.toml")
    assert few.city_defaults.monitors == 25 and few.city_defaults.stands_down_day is None
    assert (
        'name="p:city_defaults.monitors" value="25"' in client.get("/scenarios/few-monitors").text
    )


def test_a_run_of_a_scenario_without_leak_events_is_shown(
    client: TestClient, tmp_path: Path
) -> None:
    """A scenario without leak events (as national) keeps no twin without its leak: its
    run's page says so and draws the one fan (it answered with a server error before)."""
    unleaked = variant(load_scenario("seed-2019"), **{"leak.events": []})
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.save(run_forecast(unleaked, replications=50, seed=3), 1.0)
    assert not store.get(run_id).has_leak_twin()
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert "This scenario has no leak events" in page.text
    figure = json.loads(re.search(r'id="fig-leak">(.*?)</script>', page.text).group(1))
    assert {trace["name"] for trace in figure["data"]} == {
        "no leak in this scenario: 90% interval",
        "no leak in this scenario: median",
    }
    assert client.get(f"/runs/{run_id}/download/report.html").status_code == 200


def test_a_forecast_job_runs_and_its_run_is_shown_and_downloaded(
    client: TestClient, tmp_path: Path
) -> None:
    csrf = _csrf(client)
    submitted = client.post(
        "/scenarios/seed-2019/jobs",
        data={"csrf": csrf, "kind": "forecast", "replications": "200", "seed": "5"},
        follow_redirects=False,
    )
    assert submitted.status_code == 303
    job_id = submitted.headers["location"].removeprefix("/jobs/")
    assert "queued" in client.get(f"/jobs/{job_id}/status").text
    assert run_pending(tmp_path / "runs.duckdb") == 1
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done" and job["progress"] == 1.0
    run_id = job["result"]["run_id"]
    status = client.get(f"/jobs/{job_id}/status").text
    assert f"/runs/{run_id}" in status and "hx-trigger" not in status  # polling stops
    page = client.get(f"/runs/{run_id}").text
    assert 'data-figure="fig-arrests"' in page
    assert "the goal, 2,040, is far above this scale" in page  # named, not drawn
    figure = json.loads(re.search(r'id="fig-arrests">(.*?)</script>', page).group(1))
    assert figure["data"][0]["name"] == "all cities: 90% interval"
    summary = client.get(f"/runs/{run_id}/download/summary.json").json()
    assert summary["replications"] == 200 and summary["seed"] == 5
    report = client.get(f"/runs/{run_id}/download/report.html")
    assert report.status_code == 200 and "<svg" in report.text
    long = client.get(f"/runs/{run_id}/download/long.parquet")
    assert long.status_code == 200 and long.content[:4] == b"PAR1"
    tables = client.get(f"/runs/{run_id}/download/tables-csv.zip")
    assert tables.status_code == 200 and tables.content[:2] == b"PK"
    # an identical submission reuses the job (and its run)
    again = client.post(
        "/api/jobs",
        json={
            "kind": "forecast",
            "scenario": "seed-2019",
            "settings": {"replications": 200, "seed": 5},
        },
    )
    assert again.status_code == 200 and again.json()["job_id"] == job_id


def test_a_forecast_with_the_assumptions_uncertainty_is_asked_for_and_shown(
    client: TestClient, tmp_path: Path
) -> None:
    """The forecast's settings offer the assumptions' uncertainty where the scenario declares
    ranges; the job draws them as often as asked, and the run's page shows both intervals
    side by side with what each includes. Draws without it, and it on a scenario without
    ranges, are refused by field."""
    assert 'name="uncertainty"' in client.get("/scenarios/seed-2019").text
    submitted = client.post(
        "/scenarios/seed-2019/jobs",
        data={
            "csrf": _csrf(client),
            "kind": "forecast",
            "replications": "200",
            "seed": "6",
            "uncertainty": "assumptions",
            "draws": "40",
        },
        follow_redirects=False,
    )
    assert submitted.status_code == 303
    job_id = submitted.headers["location"].removeprefix("/jobs/")
    assert run_pending(tmp_path / "runs.duckdb") == 1
    run_id = client.get(f"/api/jobs/{job_id}").json()["result"]["run_id"]
    summary = client.get(f"/runs/{run_id}/download/summary.json").json()
    prior = summary["with_assumption_uncertainty"]
    assert prior["draws"] == 40 and prior["replications_per_draw"] == 5
    page = client.get(f"/runs/{run_id}").text
    table = page[page.index("<table data-assumption-uncertainty>") :]
    table = table[: table.index("</table>")]
    assert prior["includes"] in page
    for alone, drawn in (
        (summary["persons_arrested"], prior["persons_arrested"]),
        (summary["cost"]["total"], prior["total_cost"]),
    ):
        for value in (alone, drawn):
            assert f'{value["median"]:,.0f} <span class="muted">({value["p05"]:,.0f} to' in (
                table.replace("$", "")
            )
    refused = client.post(
        "/api/jobs",
        json={"kind": "forecast", "scenario": "seed-2019", "settings": {"draws": 40}},
    )
    assert refused.status_code == 422
    assert "draws apply with uncertainty assumptions only" in refused.text
    without_ranges = load_scenario("seed-2019").model_copy(update={"ranges": {}})
    with pytest.raises(ValueError, match=r"settings\.uncertainty: .* declares no \[ranges\]"):
        JobRequest("forecast", without_ranges, {"uncertainty": "assumptions"})


def test_a_sweep_says_when_each_value_reaches_the_goal(client: TestClient, tmp_path: Path) -> None:
    """A sweep whose goal some values reach shows, value by value, the field day by which
    half the replications reach it (a scenario saved beside the store, with a goal of 150)."""
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    (tmp_path / "scenarios" / "low-goal.toml").write_text(
        'extends = "seed-2019"\nname = "low-goal"\n\n[operation]\ngoal_persons = 150\n'
    )
    settings = {"parameter": "operation.field_days", "values": [5, 9], "replications": 200}
    submitted = client.post(
        "/api/jobs", json={"kind": "sweep", "scenario": "low-goal", "settings": settings}
    )
    assert submitted.status_code == 202
    assert run_pending(tmp_path / "runs.duckdb") == 1
    job_id = submitted.json()["job_id"]
    rows = client.get(f"/api/jobs/{job_id}").json()["result"]["values"]
    medians = [row["goal_day"]["median"] for row in rows]
    assert medians[0] is None and None not in medians[1:]  # not by 5 days; by 7 and 9
    page = client.get(f"/jobs/{job_id}").text
    cells = re.findall(r"<td class=\"num\" data-goal-day>([^<]*)</td>", page)
    assert cells == ["not reached", *map(str, medians[1:])]
    # the answer downloaded as the command line's --json and --csv write it
    assert f'href="/jobs/{job_id}/download/answer.csv"' in page
    table = client.get(f"/jobs/{job_id}/download/answer.csv")
    assert table.headers["content-type"].startswith("text/csv")
    assert f"sweep-{job_id}.csv" in table.headers["content-disposition"]
    read = list(csv.DictReader(io.StringIO(table.text)))
    assert [row["goal_day.median"] for row in read] == ["", *map(str, medians[1:])]
    assert [float(row["value"]) for row in read] == [row["value"] for row in rows]
    answer = client.get(f"/jobs/{job_id}/download/answer.json")
    assert answer.json()["values"] == rows
    assert client.get(f"/jobs/{job_id}/download/answer.xlsx").status_code == 404


def test_a_grid_sweep_is_asked_for_from_the_page_and_shown_as_a_grid(
    client: TestClient, tmp_path: Path
) -> None:
    """A second parameter from the sweep's form (its list of numbers, with "none" first):
    every pair runs; the page shows a row per pair, the grid of medians and chances, and a
    line of medians per value of the second parameter."""
    form = client.get("/scenarios/seed-2019/job-settings", params={"kind": "sweep"}).text
    assert '<select name="by"><option value="">none</option>' in form
    assert 'name="by_values"' in form
    asked = {
        "kind": "sweep",
        "replications": "60",
        "parameter": "city_defaults.teams",
        "values": "6",
        "by": "operation.field_days",
        "by_values": "9",
    }
    submitted = client.post(
        "/scenarios/seed-2019/jobs", data={"csrf": _csrf(client), **asked}, follow_redirects=False
    )
    assert submitted.status_code == 303, submitted.text
    refused = client.post(
        "/scenarios/seed-2019/jobs",
        data={"csrf": _csrf(client), **asked, "by": "city_defaults.teams"},
    )
    assert refused.status_code == 422 and "settings.by: city_defaults.teams is the" in refused.text
    assert run_pending(tmp_path / "runs.duckdb") == 1
    job = client.get(f"/api/jobs/{submitted.headers['location'].removeprefix('/jobs/')}").json()
    assert job["settings"]["by"] == "operation.field_days" and job["settings"]["by_values"] == [9]
    rows = job["result"]["values"]
    assert [(row["value"], row["by_value"]) for row in rows] == [(4, 7), (4, 9), (6, 7), (6, 9)]
    page = client.get(f"/jobs/{job['job_id']}").text
    assert page.count('<tr class="chosen"><td class="num">4 (now)</td><td class="num">7 (now)') == 1
    grid = page[page.index("<table data-grid-summary>") :]
    grid = grid[: grid.index("</table>")]
    cells = re.findall(r"<td class=\"num\">([^<]*)</td>", grid)
    assert cells == [
        f"{row['persons_arrested']['median']:,.0f} ({row['p_goal']:.2f})" for row in rows
    ]
    drawn = re.search(r"data-figure=\"fig-sweep\" data-spec='([^']*)'", page)
    figure = json.loads(html.unescape(drawn.group(1)))
    lines = [trace for trace in figure["data"] if trace["name"].startswith("operation.field_days")]
    assert [line["name"] for line in lines] == [
        "operation.field_days 7 (now)",
        "operation.field_days 9",
    ]
    assert lines[1]["y"] == [
        rows[1]["persons_arrested"]["median"],
        rows[3]["persons_arrested"]["median"],
    ]


def test_planning_jobs_take_their_settings_from_the_page_and_answer_in_tables(
    client: TestClient, tmp_path: Path
) -> None:
    """Check, plan, requirement, sensitivity and sweep asked for from a scenario's page: each with
    the settings of its kind (the page offers them when the kind is chosen), each answer shown
    as the command line prints it, its sentences those of the answer itself."""

    def fields(kind: str) -> str:
        return client.get("/scenarios/seed-2019/job-settings", params={"kind": kind}).text

    assert '<select name="resource">' in fields("requirement")
    assert 'name="probability"' in fields("requirement")
    assert '<option value="field_days">field days</option>' in fields("requirement")
    assert 'name="method"' in fields("sensitivity")
    assert 'name="replications"' not in fields("check")
    numbers = fields("sweep")  # those with a range, the others, each city's own values
    assert (
        numbers.index("<option>city_defaults.teams</option>")
        < numbers.index("<option>detention.beds</option>")
        < numbers.index("<option>city_overrides.Chicago.p_contact</option>")
    )
    assert "<option>operation.tempo</option>" not in numbers  # a list: not one number
    refused = client.get("/scenarios/seed-2019/job-settings", params={"kind": "track"})
    assert refused.status_code == 422
    csrf = _csrf(client)
    asked = {
        "check": {},
        "plan": {"replications": "60", "teams": "20"},
        "plan across days": {
            "replications": "60",
            "across": "days",
            "step": "0.2",
            "objective": "probability",
            "goal_persons": "190",
        },
        "requirement": {
            "replications": "60",
            "resource": "teams",
            "goal_persons": "230",
            "probability": "0.5",
        },
        "requirement of seats": {"replications": "60", "resource": "seats", "probability": "1"},
        "sensitivity": {"replications": "8", "method": "morris", "samples": "2"},
        "sweep": {
            "replications": "60",
            "parameter": "leak.events.1.peak_hazard",
            "values": "0, 0.08",
        },
    }
    job_ids = {}
    for name, form in asked.items():  # each a kind, the first word of its name
        submitted = client.post(
            "/scenarios/seed-2019/jobs",
            data={"csrf": csrf, "kind": name.split()[0], **form},
            follow_redirects=False,
        )
        assert submitted.status_code == 303, submitted.text
        job_ids[name] = submitted.headers["location"].removeprefix("/jobs/")
    for form, said in (
        ({"kind": "requirement", "probability": "lots"}, "settings.probability: a number"),
        ({"kind": "requirement", "resource": "gold"}, "settings.resource"),
        ({"kind": "plan", "teams": "2.5"}, "settings.teams: a whole number, got &#39;2.5&#39;"),
        ({"kind": "sweep", "parameter": "detention.beds"}, "settings.values: detention.beds has"),
        (
            {"kind": "sweep", "parameter": "city_defaults.p_contact", "values": "0.2, 2"},
            "settings.values: 2 makes no valid scenario (city_defaults.p_contact: Input should",
        ),
        ({"kind": "sweep", "values": "0.2, x"}, "settings.values: numbers separated by commas"),
        ({"kind": "sweep"}, "settings.parameter: name the parameter to vary"),
        (
            {"kind": "plan", "across": "days", "step": "0.3"},
            "settings.step: the scenario&#39;s tempo [1.0, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6] is not",
        ),
        ({"kind": "plan", "across": "days", "teams": "30"}, "teams apply across cities only"),
    ):
        refused = client.post("/scenarios/seed-2019/jobs", data={"csrf": csrf, **form})
        assert refused.status_code == 422 and said in refused.text, form
    assert run_pending(tmp_path / "runs.duckdb") == len(asked)
    jobs = {kind: client.get(f"/api/jobs/{job_id}").json() for kind, job_id in job_ids.items()}
    assert jobs["requirement"]["settings"] == {
        "replications": 60,
        "seed": 2019,
        "resource": "teams",
        "goal_persons": 230,
        "probability": 0.5,
    }
    assert jobs["plan"]["settings"]["teams"] == 20
    assert jobs["sensitivity"]["settings"]["samples"] == 2
    pages = {kind: client.get(f"/jobs/{job_id}").text for kind, job_id in job_ids.items()}
    # Jinja escapes quotes and apostrophes; the answers' sentences are compared as shown
    shown = {kind: page.replace("&#39;", "'").replace("&#34;", '"') for kind, page in pages.items()}

    findings = jobs["check"]["result"]["findings"]
    assert findings and all(finding["message"] in shown["check"] for finding in findings)
    # downloaded as `fieldcast check --json` prints it: the list of findings
    assert client.get(f"/jobs/{job_ids['check']}/download/answer.json").json() == findings

    plan = jobs["plan"]["result"]
    assert plan["teams"] == 20 and plan["notes"]
    for city, teams in plan["recommended"].items():
        curve = plan["expected_persons_arrested_by_teams"][city]
        row = f'<td>{city}</td><td class="num">{plan["current"][city]}</td><td class="num">{teams}'
        assert row in shown["plan"] and f"{curve[teams]:,.1f}" in shown["plan"], city
    assert all(note in shown["plan"] for note in plan["notes"])
    surge = jobs["plan across days"]
    assert surge["settings"]["across"] == "days" and surge["settings"]["objective"] == "probability"
    assert surge["result"]["goal_persons"] == 190 and surge["result"]["step"] == 0.2
    assert "Share of full team strength by field day" in shown["plan across days"]
    for day, (now, best) in enumerate(
        zip(surge["result"]["current"], surge["result"]["recommended"], strict=True)
    ):
        row = f'<td class="num">{day}</td><td class="num">{100 * now:.0f}%</td>'
        assert row + f'<td class="num">{100 * best:.0f}%</td>' in shown["plan across days"]
    assert all(note in shown["plan across days"] for note in surge["result"]["notes"])

    requirement = jobs["requirement"]["result"]
    assert requirement["explanation"] in shown["requirement"]
    assert shown["requirement"].count("<tr") == len(requirement["levels"]) + 1  # and the header
    assert requirement["least"] is not None  # the least level found, marked
    assert shown["requirement"].count('class="chosen"') == 1
    days = re.findall(r"<td class=\"num\" data-goal-day>([^<]*)</td>", shown["requirement"])
    assert days == [
        "not reached" if level["goal_day_median"] is None else str(level["goal_day_median"])
        for level in requirement["levels"]
    ]
    seats = jobs["requirement of seats"]["result"]  # its own target, and its own columns
    assert seats["target"]["key"] == "p_no_removal_queue" and seats["explanation"].startswith(
        f"At least {seats['least']:,} removal seats per day (now 40) leave nobody awaiting"
    )
    assert '<th class="num">P(no removal queue)</th>' in shown["requirement of seats"]
    for level in seats["levels"]:
        assert (
            f'<td class="num">{level["p_no_removal_queue"]:.3f}</td>'
            in shown["requirement of seats"]
        )

    sensitivity = jobs["sensitivity"]["result"]
    assert sensitivity["reading"] in shown["sensitivity"]
    for result in sensitivity["outputs"].values():
        assert f"What moves {result['meaning']}" in shown["sensitivity"]
        top = result["ranking"][0]
        assert f'<td class="num">1</td><td><code>{top["parameter"]}</code>' in shown["sensitivity"]
    assert all(warning in shown["sensitivity"] for warning in sensitivity["warnings"])
    drawn = re.search(r"data-figure=\"fig-sensitivity\" data-spec='([^']*)'", pages["sensitivity"])
    figure = json.loads(html.unescape(drawn.group(1)))  # a panel per output, ranked by arrests
    arrests = sensitivity["outputs"]["persons_arrested"]["ranking"]
    assert [trace["name"] for trace in figure["data"]] == [
        result["meaning"] for result in sensitivity["outputs"].values()
    ]
    assert figure["data"][0]["y"] == [row["parameter"] for row in arrests]
    assert figure["data"][0]["x"] == [row["mu_star"] for row in arrests]
    sweep = jobs["sweep"]["result"]
    assert jobs["sweep"]["settings"]["values"] == [0.0, 0.08]
    assert [row["value"] for row in sweep["values"]] == [0.0, 0.04, 0.08]
    assert sweep["includes"] in shown["sweep"]
    assert shown["sweep"].count('<tr class="chosen"><td class="num">0.04 (now)</td>') == 1
    for row in sweep["values"]:
        arrested = row["persons_arrested"]
        shown_range = (
            f"{arrested['median']:,.0f} ({arrested['p05']:,.0f} to {arrested['p95']:,.0f})"
        )
        assert shown_range in shown["sweep"], row["value"]
    for page in pages.values():  # and the whole answer, for whoever wants its every figure
        assert "The answer as JSON" in page


# Cumulative persons arrested on days 0 and 1 in each city of seed-2019 (made up, plausible).
COUNTS_CSV = "day,place,metric,value,basis\n" + "".join(
    f"{day},{city},arrests,{value},cumulative\n"
    for city, values in {
        "Atlanta": (6, 14),
        "Baltimore": (0, 0),
        "Chicago": (8, 10),
        "Denver": (0, 11),
        "Houston": (11, 14),
        "Los Angeles": (1, 5),
        "Miami": (1, 3),
        "New Orleans": (4, 5),
        "New York": (0, 3),
        "San Francisco": (2, 4),
    }.items()
    for day, value in enumerate(values)
)


def test_observed_counts_are_uploaded_checked_kept_and_tracked(
    client: TestClient, tmp_path: Path
) -> None:
    csrf = _csrf(client)

    def upload(name: str, text: str, filename: str = "counts.csv") -> httpx.Response:
        return client.post(
            "/observations",
            data={"csrf": csrf, "name": name, "scenario": "seed-2019"},
            files={"file": (filename, text.encode(), "text/csv")},
        )

    wrong_city = upload("week", COUNTS_CSV.replace("Denver", "Dallas"))
    assert wrong_city.status_code == 422
    assert "row 7: place &#39;Dallas&#39; is not a city of scenario" in wrong_city.text
    bad_name = upload("../week", COUNTS_CSV, filename="counts.txt")
    assert bad_name.status_code == 422 and bad_name.text.count('aria-invalid="true"') == 2
    assert "unknown file type" in bad_name.text  # both problems at once
    assert client.get("/api/observations").json() == []  # nothing kept
    kept = upload("week", COUNTS_CSV)
    assert kept.status_code == 200 and "added as version 1" in kept.text
    assert "already version 1" in upload("week", COUNTS_CSV).text  # the same counts again
    forged = client.post("/observations", data={"name": "x"}, files={"file": ("a.csv", b"")})
    assert forged.status_code == 403

    def track() -> httpx.Response:
        return client.post(
            "/observations/track",
            data={
                "csrf": csrf,
                "observations": "week",
                "scenario": "seed-2019",
                "particles": "200",
                "seed": "3",
            },
            follow_redirects=False,
        )

    submitted = track()
    assert submitted.status_code == 303
    job_id = submitted.headers["location"].removeprefix("/jobs/")
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["settings"]["observations"] == "week@1"  # the version is pinned when asked
    assert run_pending(tmp_path / "runs.duckdb") == 1
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done", job["error"]
    tracking_id = job["result"]["tracking_id"]
    assert f"/trackings/{tracking_id}" in client.get(f"/jobs/{job_id}/status").text
    page = client.get(f"/trackings/{tracking_id}")
    assert page.status_code == 200 and "tracked to week version 1" in page.text
    figure = json.loads(re.search(r'id="fig-tracked">(.*?)</script>', page.text).group(1))
    names = [trace["name"] for trace in figure["data"]]
    assert "filtered: median" in names and "forecast: median" in names
    total = next(trace for trace in figure["data"] if trace["name"] == "reported")
    assert total["y"] == [33, 69]  # every city reported days 0 and 1: their sum is drawn
    atlanta = [i for i in range(10) if f'id="fig-city-{i}"' in page.text]
    reported = [
        json.loads(re.search(rf'id="fig-city-{i}">(.*?)</script>', page.text).group(1))
        for i in atlanta
    ]
    assert any(
        trace["name"] == "reported" and trace["y"] == [6, 14]
        for figure in reported
        for trace in figure["data"]
    )  # Atlanta's counts, drawn as points
    summary = client.get(f"/api/trackings/{tracking_id}").json()
    assert summary["particles"] == 200 and summary["as_of_day"] == 1
    del summary["observed_arrests"]["Miami"]  # a city not reported: no total is made up
    assert "reported" not in [trace["name"] for trace in tracked_figure(summary)["data"]]
    report = client.get(f"/trackings/{tracking_id}/report.html")
    assert report.status_code == 200 and "<svg" in report.text
    # the same request is the same job; counts revised (version 2) make a new one
    assert track().headers["location"] == f"/jobs/{job_id}"
    assert "added as version 2" in upload("week", COUNTS_CSV.replace(",14,", ",15,")).text
    assert track().headers["location"] != f"/jobs/{job_id}"
    unknown = client.post(
        "/api/jobs",
        json={"kind": "track", "scenario": "seed-2019", "settings": {"observations": "nope"}},
    )
    assert unknown.status_code == 422 and "observations" in unknown.text
    via_api = client.post(
        "/api/observations",
        json={
            "name": "api-week",
            "scenario": "seed-2019",
            "counts": {
                "basis": "daily",
                "rows": [{"day": 0, "place": "Total", "metric": "arrests", "value": 30}],
            },
        },
    )
    assert via_api.status_code == 201 and via_api.json()["version"] == 1
    refused = client.post(
        "/api/observations",
        json={"name": "api-week", "scenario": "seed-2019", "counts": {"rows": []}},
    )
    assert refused.status_code == 422 and "no rows" in refused.text


def test_a_run_is_held_against_observed_counts_from_its_page(
    client: TestClient, tmp_path: Path
) -> None:
    """The run page offers the stored counts; the score job runs on the run's own scenario
    and its page shows every series against the forecast. Over the API, a run that does not
    exist is refused naming the setting."""
    csrf = _csrf(client)
    submitted = client.post("/api/jobs", json=forecast_job(seed=8, replications=200))
    assert run_pending(tmp_path / "runs.duckdb") == 1
    run_id = client.get(f"/api/jobs/{submitted.json()['job_id']}").json()["result"]["run_id"]
    assert 'id="score"' not in client.get(f"/runs/{run_id}").text  # no counts kept yet
    client.post(
        "/observations",
        data={"csrf": csrf, "name": "week", "scenario": "seed-2019"},
        files={"file": ("counts.csv", COUNTS_CSV.encode(), "text/csv")},
    )
    assert 'id="score"' in client.get(f"/runs/{run_id}").text
    scored = client.post(
        f"/runs/{run_id}/score",
        data={"csrf": csrf, "observations": "week"},
        follow_redirects=False,
    )
    assert scored.status_code == 303
    job_id = scored.headers["location"].removeprefix("/jobs/")
    assert client.get(f"/api/jobs/{job_id}").json()["settings"] == {
        "run": run_id,
        "observations": "week@1",
        "draws": 1000,
    }
    assert run_pending(tmp_path / "runs.duckdb") == 1
    result = client.get(f"/api/jobs/{job_id}").json()["result"]
    assert result["run_id"] == run_id and result["series_count"] == 10
    shown = client.get(f"/jobs/{job_id}/status").text
    assert "Inside the 90% interval as forecast" in shown and "Atlanta arrests" in shown
    assert f"{result['inside_90']['as_forecast']} of 10" in shown
    unknown = {"kind": "score", "scenario": "seed-2019", "settings": {"run": "nosuchrun"}}
    refused = client.post(
        "/api/jobs", json={**unknown, "settings": {**unknown["settings"], "observations": "week"}}
    )
    assert refused.status_code == 422 and "settings: run:" in refused.json()["detail"]


def test_a_calibration_job_is_shown_and_its_scenario_saved(
    client: TestClient, tmp_path: Path
) -> None:
    csrf = _csrf(client)
    kept = client.post(
        "/observations",
        data={"csrf": csrf, "name": "week", "scenario": "seed-2019"},
        files={"file": ("counts.csv", COUNTS_CSV.encode(), "text/csv")},
    )
    assert kept.status_code == 200
    form = {"csrf": csrf, "observations": "week", "scenario": "seed-2019", "seed": "4"}
    refused = client.post(
        "/observations/calibrate", data={**form, "particles": "40", "target_ess": "50"}
    )
    assert refused.status_code == 422
    assert "target_ess (50) must be at most the particles (40)" in refused.text
    assert "<h1>That was not done</h1>" in refused.text  # a page, for a form
    submitted = client.post(  # the target ESS left empty: half the particles
        "/observations/calibrate", data={**form, "particles": "40"}, follow_redirects=False
    )
    assert submitted.status_code == 303
    job_id = submitted.headers["location"].removeprefix("/jobs/")
    assert run_pending(tmp_path / "runs.duckdb") == 1
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done" and job["progress"] == 1.0, job["error"]
    calibration_id = job["result"]["calibration_id"]
    status = client.get(f"/jobs/{job_id}/status").text
    assert f"/calibrations/{calibration_id}" in status and "Save the calibrated scenario" in status
    page = client.get(f"/calibrations/{calibration_id}").text
    assert "Calibration of seed-2019 to week version 1" in page
    assert "city_defaults.p_contact" in page and "Posterior predictive check" in page
    summary = client.get(f"/api/calibrations/{calibration_id}").json()
    assert summary["stopped"] == "converged" and summary["settings"]["particles"] == 40
    report = client.get(f"/calibrations/{calibration_id}/report.html")
    assert report.status_code == 200 and "<svg" in report.text
    saved = client.post(
        f"/jobs/{job_id}/save-scenario",
        data={"csrf": csrf, "new_name": "calibrated-week"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/scenarios/calibrated-week"
    calibrated = load_scenario(tmp_path / "scenarios" / "calibrated-week.toml")
    median = next(p for p in summary["parameters"] if p["path"] == "city_defaults.p_contact")
    assert calibrated.city_defaults.p_contact == pytest.approx(median["median"], rel=1e-3)
    assert calibrated.provenance["city_defaults.p_contact"].kind == "calibrated"
    again = client.post(
        f"/jobs/{job_id}/save-scenario", data={"csrf": csrf, "new_name": "calibrated-week"}
    )
    assert again.status_code == 422  # never overwritten


def test_runs_are_compared_on_shared_axes(client: TestClient, tmp_path: Path) -> None:
    for seed in (1, 2):
        response = client.post(
            "/api/jobs",
            json={
                "kind": "forecast",
                "scenario": "seed-2019",
                "settings": {"replications": 100, "seed": seed},
            },
        )
        assert response.status_code == 202
    run_pending(tmp_path / "runs.duckdb")
    runs = [run["run_id"] for run in client.get("/api/runs").json()]
    page = client.get("/compare", params=[("run", runs[0]), ("run", runs[1])])
    assert page.status_code == 200 and "same scenario" in page.text
    assert "Not paired: their seeds differ (1 and 2)." in page.text
    assert client.get("/compare", params={"run": runs[0]}).status_code == 422
    client.post(  # the same seed as the first: its replications pair up with the first's
        "/api/jobs",
        json={
            "kind": "forecast",
            "scenario": "seed-2019-as-executed",
            "settings": {"replications": 100, "seed": 1},
        },
    )
    run_pending(tmp_path / "runs.duckdb")
    executed = client.get("/api/runs").json()[-1]["run_id"]
    first = next(r for r in runs if client.get(f"/api/runs/{r}").json()["seed"] == 1)
    page = client.get("/compare", params=[("run", first), ("run", executed)]).text
    paired = re.search(r"<table data-paired>(.*?)</table>", page, re.S)
    assert paired is not None  # New Orleans standing down: fewer persons arrested
    arrested = re.search(
        r"persons arrested by end of field work</td><td[^>]*>([^<]*)<", paired.group(1)
    )
    assert arrested is not None and arrested.group(1).startswith("-")


def test_a_full_queue_refuses_with_429_and_nothing_is_lost(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path, queue_limit=3))) as client:
        codes = []
        for seed in range(5):
            codes.append(
                client.post(
                    "/api/jobs",
                    json={"kind": "check", "scenario": "seed-2019", "settings": {}}
                    if seed == 0
                    else {
                        "kind": "forecast",
                        "scenario": "seed-2019",
                        "settings": {"seed": seed, "replications": 10},
                    },
                ).status_code
            )
        assert codes == [202, 202, 202, 429, 429]
        csrf = _csrf(client)
        busy = client.post(
            "/scenarios/seed-2019/jobs", data={"csrf": csrf, "kind": "forecast", "seed": "9"}
        )
        assert busy.status_code == 429 and "The queue is full" in busy.text
        assert run_pending(tmp_path / "runs.duckdb") == 3
        states = [job["state"] for job in client.get("/api/jobs").json()]
        assert states == ["done"] * 3


def test_a_cancelled_job_stops(client: TestClient, tmp_path: Path) -> None:
    response = client.post(
        "/api/jobs", json={"kind": "forecast", "scenario": "seed-2019", "settings": {"seed": 3}}
    )
    job_id = response.json()["job_id"]
    cancelled = client.post(f"/api/jobs/{job_id}/cancel", json={})
    assert cancelled.json()["state"] == "cancelled"
    assert run_pending(tmp_path / "runs.duckdb") == 0


def test_a_running_job_stops_at_its_next_progress_report(tmp_path: Path) -> None:
    """Cancelling a running job asks it to stop; it does at its next progress report, and
    stores nothing of what it had computed."""
    store = RunStore(tmp_path / "runs.duckdb")
    request = JobRequest("forecast", load_scenario("seed-2019"), {"seed": 4})
    job, _ = submit(store, request, queue_limit=5)
    running = store.claim_job("test")
    assert running is not None and running.job_id == job.job_id
    assert store.cancel_job(job.job_id).cancel_requested  # running: asked, not yet stopped
    run_job(store, running)
    assert store.job(job.job_id).state == "cancelled"
    assert store.list() == []  # no run was stored


def test_bad_submissions_are_refused_by_field(client: TestClient, tmp_path: Path) -> None:
    for body, status, words in (
        ({"kind": "dance", "scenario": "seed-2019"}, 422, "kind"),
        ({"kind": "forecast", "scenario": "nowhere"}, 404, "no scenario"),
        ({"kind": "forecast", "scenario": "../../etc/passwd"}, 404, "no scenario"),
        ({"kind": "forecast", "scenario": "seed-2019", "settings": {"colour": 1}}, 422, "colour"),
    ):
        response = client.post("/api/jobs", json=body)
        assert response.status_code == status and words in response.text, body
    for content, said in (  # refused by the request's schema: the field and the reason too
        ('{"kind": "forecast"}', "scenario: required but missing"),
        ("[]", "body: Input should be a valid dictionary or object to extract fields from"),
        ("not json", "body: not valid JSON (Expecting value)"),
    ):
        response = client.post(
            "/api/jobs", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422 and response.json() == {"detail": said}, content
    form_post = client.post("/api/jobs", data={"kind": "forecast", "scenario": "seed-2019"})
    assert form_post.status_code == 415  # only JSON changes anything through the API
    assert client.get("/runs/nope").status_code == 404
    assert client.get("/jobs/nope").status_code == 404
    for address in ("/nowhere", "/runs/"):  # no route at all: still the dashboard's page
        lost = client.get(address)
        assert lost.status_code == 404 and "That was not done" in lost.text, address
    lost_api = client.get("/api/nowhere")  # the API answers in JSON
    assert lost_api.status_code == 404 and lost_api.json() == {"detail": "Not Found"}
    missing = client.get("/runs/20190714-000000-nothere")  # said on a page, no server paths
    assert missing.status_code == 404 and "That was not done" in missing.text
    assert "no run &#39;20190714-000000-nothere&#39; in runs.duckdb" in missing.text
    assert str(tmp_path) not in missing.text


def test_tokens_forged_forms_and_large_bodies_are_refused(tmp_path: Path) -> None:
    access = Access.for_host("0.0.0.0")
    assert access.required and access.write_token != access.read_token
    with TestClient(create_app(_settings(tmp_path, access=access))) as client:
        assert client.get("/").status_code == 401
        assert client.get("/api/runs").status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        read = {"Authorization": f"Bearer {access.read_token}"}
        assert client.get("/", headers=read).status_code == 200
        refused = client.post(
            "/api/jobs", json={"kind": "check", "scenario": "seed-2019"}, headers=read
        )
        assert refused.status_code == 403
        # the token in the address once: a cookie keeps it
        assert client.get(f"/?token={access.write_token}").status_code == 200
        assert client.get("/scenarios/seed-2019").status_code == 200
        forged = client.post("/scenarios/seed-2019/jobs", data={"kind": "forecast"})
        assert forged.status_code == 403
        csrf = client.cookies["fieldcast_csrf"]
        elsewhere = client.post(
            "/scenarios/seed-2019/jobs",
            data={"csrf": csrf, "kind": "check"},
            headers={"Origin": "https://elsewhere.example"},
        )
        assert elsewhere.status_code == 403
        ok = client.post(
            "/scenarios/seed-2019/jobs",
            data={"csrf": csrf, "kind": "check"},
            follow_redirects=False,
        )
        assert ok.status_code == 303
        large = client.post(
            "/scenarios/seed-2019/save",
            content=b"x" * 2_000_000,
            headers={"Content-Type": "text/plain"},
        )
        assert large.status_code == 413
        upload = client.post(
            "/observations",
            data={"csrf": csrf, "name": "big", "scenario": "seed-2019"},
            files={"file": ("big.csv", b"day,place,metric,value,basis\n" * 40_000)},
        )
        assert upload.status_code == 413  # an oversized upload, refused before it is read

        def chunked() -> Iterator[bytes]:  # a body that does not say how long it is
            yield b"x" * 1000

        unknown = client.post(
            "/observations", content=chunked(), headers={"Content-Type": "text/csv"}
        )
        assert unknown.status_code == 411
    assert not Access.for_host("127.0.0.1").required and not Access.for_host("::1").required


# -- a real server ----------------------------------------------------------------------------


@pytest.mark.slow
def test_fifty_submissions_at_once_each_done_or_refused_none_lost(tmp_path: Path) -> None:
    port = free_port()
    server = serve(tmp_path, port, queue=10)
    url = f"http://127.0.0.1:{port}"
    try:

        def post(seed: int) -> httpx.Response:
            return api_post(
                f"{url}/api/jobs",
                json={
                    "kind": "forecast",
                    "scenario": "seed-2019",
                    "settings": {"seed": seed % 40, "replications": 400},
                },
            )

        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(post, range(50)))
        codes = [response.status_code for response in responses]
        assert set(codes) <= {200, 202, 429} and 429 in codes and 202 in codes
        accepted = {r.json()["job_id"] for r in responses if r.status_code in (200, 202)}
        wait_for(
            lambda: all(job["state"] == "done" for job in api_get(f"{url}/api/jobs").json()),
            240,
        )
        jobs = api_get(f"{url}/api/jobs").json()
        assert {job["job_id"] for job in jobs} == accepted  # none lost, none made up
        runs = api_get(f"{url}/api/runs").json()
        assert len(runs) == len(accepted)  # one run per job: none duplicated
        seeds = [job["settings"]["seed"] for job in jobs]
        assert len(seeds) == len(set(seeds))  # identical submissions shared one job
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


@pytest.mark.slow
def test_a_server_killed_mid_queue_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    server = serve(tmp_path, port, workers=1)
    url = f"http://127.0.0.1:{port}"
    accepted = []
    for seed in range(4):
        response = api_post(
            f"{url}/api/jobs",
            json={
                "kind": "forecast",
                "scenario": "seed-2019",
                "settings": {"seed": seed, "replications": 3000},
            },
        )
        accepted.append(response.json()["job_id"])
    wait_for(lambda: any(j["state"] == "running" for j in api_get(f"{url}/api/jobs").json()), 60)
    session = os.getsid(server.pid)
    os.kill(server.pid, signal.SIGKILL)  # the server only: its worker must notice and go
    server.wait()
    wait_for(lambda: session_processes(session) == [], 15)
    server = serve(tmp_path, port, workers=1)
    try:
        wait_for(lambda: all(j["state"] == "done" for j in api_get(f"{url}/api/jobs").json()), 300)
        jobs = {job["job_id"]: job for job in api_get(f"{url}/api/jobs").json()}
        assert set(jobs) == set(accepted)
        assert sum(job["interruptions"] for job in jobs.values()) == 1
        assert len(api_get(f"{url}/api/runs").json()) == 4
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    interrupted = next(job_id for job_id, job in jobs.items() if job["interruptions"])
    log = server.stderr.read()  # the restarted server said which job it queued again
    assert f"job {interrupted} was interrupted by a server stop: queued again" in log


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_replaced_and_its_job_run_again(tmp_path: Path) -> None:
    port = free_port()
    server = serve(tmp_path, port, workers=1)
    url = f"http://127.0.0.1:{port}"
    try:
        response = api_post(
            f"{url}/api/jobs",
            json={
                "kind": "forecast",
                "scenario": "seed-2019",
                "settings": {"seed": 8, "replications": 4000},
            },
        )
        job_id = response.json()["job_id"]
        wait_for(lambda: api_get(f"{url}/api/jobs/{job_id}").json()["state"] == "running", 60)
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        workers = [  # the job workers, not multiprocessing's resource tracker
            pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 1
        for pid in workers:
            os.kill(int(pid), signal.SIGKILL)
        wait_for(lambda: api_get(f"{url}/api/jobs/{job_id}").json()["state"] == "done", 300)
        assert api_get(f"{url}/api/jobs/{job_id}").json()["interruptions"] == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def test_a_job_waiting_for_the_engine_to_compile_says_so(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running job with nothing done on a machine whose cache lacks the engine (the first
    job on a new machine or version) says it waits for the engine to be compiled; once the
    engine is cached, or the job has moved, the page says nothing of it."""
    import fieldcast.engine

    response = client.post("/api/jobs", json=forecast_job(seed=5, replications=100))
    job_id = response.json()["job_id"]
    store = RunStore(tmp_path / "runs.duckdb")
    assert store.claim_job("test") is not None  # running, nothing done yet
    shown = {}
    for cached in (False, True):
        monkeypatch.setattr(fieldcast.engine, "compiled_code_cached", lambda cached=cached: cached)
        shown[cached] = client.get(f"/jobs/{job_id}/status").text
    assert "data-compiling" in shown[False] and "about a minute" in shown[False]
    assert "data-compiling" not in shown[True]
    store.job_progress(job_id, 0.5)
    monkeypatch.setattr(fieldcast.engine, "compiled_code_cached", lambda: False)
    assert "data-compiling" not in client.get(f"/jobs/{job_id}/status").text


def test_a_running_job_says_how_long_it_has_run_and_has_left(
    client: TestClient, tmp_path: Path
) -> None:
    """A running job's page and its JSON say how long it has run and, once its worker has
    an estimate, about how long it has left; a finished job says neither."""
    response = client.post("/api/jobs", json=forecast_job(seed=6, replications=100))
    job_id = response.json()["job_id"]
    store = RunStore(tmp_path / "runs.duckdb")
    assert store.claim_job("test") is not None
    store.job_progress(job_id, 0.25)
    page = client.get(f"/jobs/{job_id}/status").text
    assert re.search(r"Running for \d+ s\.", page) and "left" not in page
    store.job_progress(job_id, 0.5, seconds_left=150.0)
    page = client.get(f"/jobs/{job_id}/status").text
    assert re.search(r"Running for \d+ s; about 2 min (29|30) s left", page)
    view = client.get(f"/api/jobs/{job_id}").json()
    assert view["started_at"] is not None and 0 <= view["running_seconds"] < 60
    assert 140 < view["seconds_left"] <= 150
    store.job_progress(job_id, 0.99, seconds_left=0.2)  # computed: its results being kept
    assert re.search(r"Running for \d+ s; finishing\.", client.get(f"/jobs/{job_id}/status").text)
    store.finish_job(job_id, "failed", None, "stopped by the test")
    view = client.get(f"/api/jobs/{job_id}").json()
    assert view["running_seconds"] is None and view["seconds_left"] is None
    assert "Running for" not in client.get(f"/jobs/{job_id}/status").text


def test_the_pace_leaves_out_what_came_before_the_first_work() -> None:
    """The time left is estimated from the pace since work was first reported done, so a first
    run's minute of compiling does not count (from the start it would say 99 s, not 12)."""
    pace = Pace()
    assert pace.seconds_left(0.0, now=0.0) is None  # compiling: nothing done yet
    assert pace.seconds_left(0.1, now=60.0) is None  # the first work done: the pace starts
    assert pace.seconds_left(0.2, now=60.0 + PACE_SECONDS / 2) is None  # too short a pace
    assert pace.seconds_left(0.4, now=66.0) == pytest.approx(6.0 * 0.6 / 0.3)
    assert pace.seconds_left(0.4, now=70.0) == pytest.approx(10.0 * 0.6 / 0.3)  # it slowed


class _ProgressKept(RunStore):
    """A run store that keeps every estimate of the time left its jobs wrote."""

    estimates: list[float | None]

    def job_progress(self, job_id: str, progress: float, seconds_left: float | None = None) -> bool:
        self.estimates.append(seconds_left)
        return super().job_progress(job_id, progress, seconds_left)


@pytest.mark.parametrize(("kind", "settings"), [("forecast", {}), ("requirement", {})])
def test_only_steady_work_gets_an_estimate_of_the_time_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, settings: dict[str, object]
) -> None:
    """A forecast's chunks are steady work: its worker writes estimates of the time left. A
    requirement's search does not know how many levels it will try: it writes none."""
    import fieldcast.jobs

    monkeypatch.setattr(fieldcast.jobs, "PROGRESS_SECONDS", 0.0)  # every report written
    monkeypatch.setattr(fieldcast.jobs, "PACE_SECONDS", 0.0)
    store = _ProgressKept(tmp_path / "runs.duckdb")
    store.estimates = []
    request = JobRequest(kind, load_scenario("seed-2019"), {"seed": 4, "replications": 400})
    submit(store, request, queue_limit=5)
    job = store.claim_job("test")
    assert job is not None
    run_job(store, job)
    assert store.job(job.job_id).state == "done" and store.estimates
    given = [estimate for estimate in store.estimates if estimate is not None]
    if kind == "forecast":
        assert given and all(estimate >= 0 for estimate in given)
    else:
        assert given == []


def test_a_job_kept_before_its_times_were_reads_and_is_upgraded(tmp_path: Path) -> None:
    """A store of schema version 5 has no job times: read as it is, a job has none; the first
    write upgrades the store, and a job claimed then has its start."""
    store = RunStore(tmp_path / "runs.duckdb")
    job, _ = submit(store, JobRequest("check", load_scenario("seed-2019"), {}), queue_limit=5)
    with duckdb.connect(str(store.path)) as connection:
        for column in ("started_at", "seconds_left"):  # version 6's
            connection.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
        connection.execute("DROP TABLE resource_use")  # version 7's
        connection.execute("UPDATE store_info SET value = '5' WHERE key = 'schema_version'")
    assert store.job(job.job_id).started_at is None and store.jobs()[0].seconds_left is None
    claimed = store.claim_job("test")
    assert claimed is not None and claimed.started_at is not None


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.4, "0 s"), (59.4, "59 s"), (60, "1 min 00 s"), (125, "2 min 05 s"), (4800, "1 h 20 min")],
)
def test_durations_read_as_a_reader_says_them(seconds: float, said: str) -> None:
    assert duration(seconds) == said


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--host", "0.0.0.0", "--token", "short"], "--token: must be 16 to 256"),
        (["--host", "0.0.0.0", "--token", ""], "--token: must be 16 to 256"),
        (["--host", "0.0.0.0", "--read-token", "a b" * 8], "--read-token: must be 16 to 256"),
        (["--token", "s" * 20, "--read-token", "s" * 20], "--read-token: must differ"),
        (["--host", "no-such-host.invalid"], "--host: no-such-host.invalid does not resolve"),
        (["--host", "192.0.2.1"], "--host: 192.0.2.1 is not an address of this machine"),
    ],
)
def test_serve_refuses_what_it_could_not_serve_with(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    """A token that is empty, guessable or not URL-safe (an empty one was once replaced by a
    new token nobody was shown), the same token for both roles, and an address the server
    cannot listen on are each refused by name before the server starts, and the refusal never
    repeats the token given (a secret). 192.0.2.1 is a documentation address (RFC 5737)."""
    result = subprocess.run(
        [FIELDCAST, "serve", "--store", str(tmp_path / "runs.duckdb"), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "short" not in result.stderr and "a ba b" not in result.stderr


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [FIELDCAST, "serve", "--store", str(tmp_path / "runs.duckdb"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert f"--port: cannot listen on port {port} of 127.0.0.1" in result.stderr
