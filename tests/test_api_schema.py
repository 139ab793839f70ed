"""The dashboard's JSON API, tested from its own OpenAPI schema (schemathesis): requests made
from every operation's schema, valid and invalid, and no answer is a server error.

Bounded and seeded: each operation gets at most ``EXAMPLES`` requests, drawn by Hypothesis
from a fixed seed (``derandomize``), so a run is repeatable and takes seconds. The store
holds a run, an observation set and a tracked forecast first, so that the reading operations
also meet ids that exist.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance

from fieldcast.web.app import WebSettings, create_app
from test_web import COUNTS_CSV, run_pending

EXAMPLES = 40  # per operation


# The schema is read when the module is imported (schemathesis's lazy fixture loading does
# not work with this pytest); the store it serves is filled before the first test.
FOLDER = Path(tempfile.mkdtemp(prefix="fieldcast-api-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
WEB = WebSettings(FOLDER / "runs.duckdb", FOLDER / "scenarios", workers=0, queue_limit=5)
APP = create_app(WEB)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def stored_things() -> Iterator[None]:
    """A run, an observation set and a tracked forecast, made through the API."""
    with TestClient(APP) as client:
        client.post(
            "/api/jobs",
            json={"kind": "forecast", "scenario": "seed-2019", "settings": {"replications": 50}},
        )
        rows = [line.split(",") for line in COUNTS_CSV.splitlines()[1:]]
        counts = {
            "basis": "cumulative",
            "rows": [
                {"day": int(day), "place": place, "metric": "arrests", "value": int(value)}
                for day, place, _, value, _ in rows
            ],
        }
        kept = {"name": "w", "scenario": "seed-2019", "counts": counts}
        assert client.post("/api/observations", json=kept).status_code == 201
        client.post(
            "/api/jobs",
            json={
                "kind": "track",
                "scenario": "seed-2019",
                "settings": {"observations": "w", "particles": 50},
            },
        )
        assert run_pending(WEB.store_path) == 2
        yield
    shutil.rmtree(FOLDER, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_is_a_server_error(case: schemathesis.Case) -> None:
    """Nor does any answer differ from what the schema says of it."""
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])


def test_every_refusal_is_the_documented_refusal() -> None:
    """A 422 holds what the schema says (``Refusal``: the field and the reason), whether the
    request's own schema refused it or the dashboard's checks did. The search above seldom
    meets the second kind: its made-up scenario names are refused first, as 404."""
    operation = schema["/api/jobs"]["POST"]
    for body in (
        {"kind": "forecast"},  # refused by the request's schema
        {"kind": "dance", "scenario": "seed-2019"},  # by the dashboard's checks
        {"kind": "forecast", "scenario": "seed-2019", "settings": {"replications": 0}},
    ):
        case = operation.Case(body=body, media_type="application/json")
        response = case.call()
        assert response.status_code == 422, body
        case.validate_response(response, checks=[response_schema_conformance])


def test_the_schema_describes_every_operation() -> None:
    """So that the test above covers what the dashboard's pages do through the API."""
    operations = {
        (operation.ok().method.upper(), operation.ok().path)
        for operation in schema.get_all_operations()
    }
    assert {
        ("GET", "/api/runs/{run_id}"),
        ("POST", "/api/jobs"),
        ("POST", "/api/jobs/{job_id}/cancel"),
        ("POST", "/api/observations"),
        ("GET", "/api/trackings/{tracking_id}"),
    } <= operations


def test_a_server_error_would_be_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The power of the test above: with an error planted where keeping counts begins, the
    same bounded search through the same operation finds a request that fails with a 500."""

    def planted(name: str) -> str:
        if name != "w":  # the set the store was filled with
            raise KeyError(name)
        return name

    monkeypatch.setattr("fieldcast.web.app.check_name", planted)
    operation = schema["/api/observations"]["POST"]

    # the phases the test above runs: the schema's examples, then generated requests
    strategies = [*operation.get_strategies_from_examples(), operation.as_strategy()]

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def search(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    # the in-process client raises the server's exception where a server would answer 500
    with pytest.raises(KeyError, match="july"):  # the schema's example name
        search()
