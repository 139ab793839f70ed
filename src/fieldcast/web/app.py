"""The web dashboard (``fieldcast serve``): pages and a JSON API over the same library.

A thin layer, like the command line: it reads scenarios through ``catalog``, runs everything
as background jobs (``jobs.py``) that live in the run store, shows stored runs with the
reports' figures (``reports.interactive``, ``reports.comparison``), and computes nothing of
its own. Pages are rendered on the server (Jinja2) and made live with htmx (progress);
charts are Plotly figures drawn in the browser. Every asset is in the package
(``web/static``), so the dashboard works offline; see ``security.py`` for who may use it.

Pages: home (scenarios, runs, jobs), a scenario (every parameter with its value, unit,
meaning and provenance; an edit form that saves a new scenario extending it; its changes
from its base), a job (live progress, cancel), a run (charts, figures, downloads), a
comparison of runs. The JSON API (``/api/...``, described at ``/openapi.json``) does what
the pages do.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import tomllib
import zipfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import tomli_w
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from fieldcast.catalog import builtin_names, load_scenario
from fieldcast.forecast import GOAL_DAY_LABEL, goal_day_pair, uncertainty_pairs
from fieldcast.jobs import (
    JOB_KINDS,
    OBSERVED_KINDS,
    SETTINGS,
    JobRequest,
    QueueFull,
    Workers,
    running_seconds,
    seconds_left,
    setting_choices,
    setting_from_text,
    submit,
)
from fieldcast.observations import ObservationError, check_name, parse_observations
from fieldcast.reports.answer_tables import ANSWER_KINDS, answer_csv, answer_json
from fieldcast.reports.comparison import (
    PAIRED_NOTE,
    outcome_table,
    paired_cell,
    paired_with_first,
    scenario_changes,
)
from fieldcast.reports.html import calibration_report, run_report, tracking_report
from fieldcast.reports.interactive import (
    comparison_figure,
    run_figures,
    sensitivity_figure,
    sweep_figure,
    tracking_figures,
)
from fieldcast.reports.numbers import (
    dollars,
    goal_day_chances,
    goal_day_range,
    goal_day_sentence,
    sweep_goal_days,
)
from fieldcast.run_score import recomputable
from fieldcast.scenario import (
    Scenario,
    ScenarioError,
    changeable_paths,
    editable_data,
    parameter_info,
    parameter_paths,
    parameter_value,
    takes_whole_numbers,
    validate_scenario,
    with_parameters,
)
from fieldcast.store import JobInfo, RunStore, StoredRun, StoreError
from fieldcast.web.security import (
    CSRF_COOKIE,
    MAX_BODY_BYTES,
    SECURITY_HEADERS,
    TOKEN_COOKIE,
    Access,
    csrf_ok,
    new_csrf_token,
    request_token,
)

HERE = Path(__file__).parent
LOG = logging.getLogger("uvicorn.error")  # the server's log, where uvicorn says it started
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a saved scenario's file name
DEFAULT_QUEUE_LIMIT = 20
# asked for on a scenario's page; those of observed counts, on the observations page
SCENARIO_JOB_KINDS = [kind for kind in JOB_KINDS if kind not in OBSERVED_KINDS]


@dataclass
class WebSettings:
    """What a dashboard serves: a run store, a folder of saved scenarios, who may use it."""

    store_path: Path
    scenarios_dir: Path
    access: Access = field(default_factory=Access)
    queue_limit: int = DEFAULT_QUEUE_LIMIT
    workers: int = 1  # worker processes (0: none, for tests that run jobs themselves)


class JobSubmission(BaseModel):
    """A job asked for through the API."""

    kind: str = Field(description=f"one of {', '.join(JOB_KINDS)}", examples=["forecast"])
    scenario: str = Field(description="a built-in or saved scenario's name", examples=["seed-2019"])
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="see /api/job-kinds",
        examples=[{"replications": 100, "seed": 1}],
    )


class ObservationUpload(BaseModel):
    """Observed counts sent through the API: as an observation JSON file holds them."""

    name: str = Field(description="the set's name (a new version if it exists)", examples=["july"])
    scenario: str = Field(
        description="the scenario the counts are checked against", examples=["seed-2019"]
    )
    counts: dict[str, Any] = Field(
        description='{"basis": "cumulative" or "daily", "rows": [{"day", "place", "metric", '
        '"value"}, ...]}',
        examples=[
            {
                "basis": "cumulative",
                "rows": [{"day": 0, "place": "Atlanta", "metric": "arrests", "value": 5}],
            }
        ],
    )


class Refusal(BaseModel):
    """Every refusal of the API (4xx, 503): what was refused and why, in one line."""

    detail: str = Field(
        description="the field and the reason (field: reason; ...), or what is missing",
        examples=["settings.replications: Input should be greater than or equal to 1 (got 0)"],
    )


def with_refusals(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema FastAPI makes, with its 422 answers described as they are: a
    ``Refusal``. FastAPI describes its own list of validation records there, which this API
    answers in one line instead (``request_problems``), as it does every other refusal."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["Refusal"] = Refusal.model_json_schema()
    for operation in (op for path in schema["paths"].values() for op in path.values()):
        refused = operation.get("responses", {}).get("422")
        if refused is not None:
            refused["description"] = "Refused: the field and the reason"
            refused["content"] = {
                "application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}
            }
    return schema


def _job_view(job: JobInfo) -> dict[str, Any]:
    now = utc_now()
    return {
        "job_id": job.job_id,
        "kind": job.kind,
        "scenario": job.scenario_name,
        "settings": job.settings,
        "state": job.state,
        "progress": job.progress,
        "interruptions": job.interruptions,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "running_seconds": running_seconds(job, now),
        "seconds_left": seconds_left(job, now),
        "result": job.result,
        "error": job.error.split("\n")[0] if job.error else None,
    }


def create_app(settings: WebSettings) -> FastAPI:
    """The dashboard's application (served by ``fieldcast serve`` with uvicorn)."""
    workers = Workers(settings.store_path, settings.workers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings.scenarios_dir.mkdir(parents=True, exist_ok=True)
        RunStore(settings.store_path).check_writable()
        for job_id in workers.start():
            LOG.warning("job %s was interrupted by a server stop: queued again", job_id)
        try:
            yield
        finally:
            workers.stop()

    app = FastAPI(  # no /docs: Swagger UI would load its scripts from a CDN
        title="fieldcast",
        description="Plan and forecast coordinated multi-city field operations.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.workers = workers

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, made once, with the refusals as they are (``with_refusals``)."""
        if app.openapi_schema is None:
            app.openapi_schema = with_refusals(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["duration"] = duration
    templates.env.filters["dollars"] = dollars
    templates.env.filters["goal_day_sentence"] = goal_day_sentence
    templates.env.globals["uncertainty_pairs"] = uncertainty_pairs
    templates.env.globals["goal_day_pair"] = goal_day_pair
    templates.env.globals["sweep_goal_days"] = sweep_goal_days
    templates.env.globals["goal_day_label"] = GOAL_DAY_LABEL
    templates.env.filters["goal_day_range"] = goal_day_range
    templates.env.filters["goal_day_chances"] = goal_day_chances
    templates.env.globals["sweep_figure"] = sweep_figure
    templates.env.globals["sensitivity_figure"] = sensitivity_figure
    templates.env.globals["paired_cell"] = paired_cell
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def store() -> RunStore:
        return RunStore(settings.store_path)

    class Guard(BaseHTTPMiddleware):
        """Size limit, tokens, security headers, and the CSRF cookie on every page."""

        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
                return _plain(413, f"request bodies are limited to {MAX_BODY_BYTES:,} bytes")
            if length is None and "transfer-encoding" in request.headers:
                # a body of unknown length could be any size: say it first (browsers do)
                return _plain(411, "give the body's length (Content-Length)")
            token = request_token(request)
            role = settings.access.role(token)
            if role is None:
                return _plain(401, "this dashboard needs its access token (?token=...)")
            if request.method not in ("GET", "HEAD") and role != "write":
                return _plain(403, "this token may look, not change anything")
            if request.method == "POST" and request.url.path.startswith("/api/"):
                # API changes come as JSON: a page on another site cannot send that without
                # the browser asking first (CORS), which this dashboard never allows
                content_type = request.headers.get("content-type", "").split(";")[0].strip()
                if content_type != "application/json":
                    return _plain(415, "send JSON (Content-Type: application/json)")
            request.state.role = role
            request.state.csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
            response = await call_next(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers[name] = value
            if CSRF_COOKIE not in request.cookies:
                response.set_cookie(
                    CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict"
                )
            if settings.access.required and request.query_params.get("token"):
                response.set_cookie(TOKEN_COOKIE, token or "", httponly=True, samesite="strict")
            return response

    app.add_middleware(Guard)

    # Starlette's exception, not only FastAPI's subclass: the router's own refusals (an
    # address no route has, a method a route does not take) are Starlette's.
    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> Response:
        """The API answers errors in JSON; a page, with a page that says what went wrong."""
        if request.url.path.startswith("/api/") or not hasattr(request.state, "csrf"):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        return page(request, "error.html", status=error.status_code, message=str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        """What the request's own schema refuses (a field missing, a body that is not JSON),
        said as every other refusal is: the field and the reason."""
        return await refused(request, HTTPException(422, request_problems(error.errors())))

    @app.exception_handler(StoreError)
    async def store_unavailable(request: Request, error: StoreError) -> Response:
        """The run store refused (busy with another writer, damaged, read-only): 503, said."""
        message = f"the run store could not do this now: {_without_paths(str(error))}"
        return await refused(request, HTTPException(503, message))

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            template,
            {"csrf": request.state.csrf, "role": request.state.role, **context},
            status_code=status,
        )

    def scenario_names() -> tuple[list[str], list[str]]:
        saved = sorted(path.stem for path in settings.scenarios_dir.glob("*.toml"))
        return builtin_names(), saved

    def load(name: str) -> Scenario:
        """A built-in scenario, or a saved one (only names listed there: no paths)."""
        builtin, saved = scenario_names()
        if name in builtin:
            return load_scenario(name)
        if name in saved:
            try:
                return load_scenario(settings.scenarios_dir / f"{name}.toml")
            except ScenarioError as error:  # its base was removed, or the file edited by hand
                raise HTTPException(422, _without_paths(str(error))) from None
        raise HTTPException(404, f"no scenario {name!r}")

    def check_form(request: Request, csrf: str | None) -> None:
        if not csrf_ok(request, csrf):
            raise HTTPException(403, "this form did not come from this dashboard (CSRF check)")

    # -- pages --------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        builtin, saved = scenario_names()
        runs = store().list()[::-1][:30] if settings.store_path.exists() else []
        return page(
            request, "home.html", builtin=builtin, saved=saved, runs=runs, jobs=store().jobs(20)
        )

    @app.get("/scenarios/{name}", response_class=HTMLResponse, include_in_schema=False)
    def scenario_page(request: Request, name: str) -> HTMLResponse:
        scenario = load(name)
        return page(
            request,
            "scenario.html",
            **_scenario_context(scenario, name, load, settings.scenarios_dir),
        )

    @app.post("/scenarios/{name}/save", response_class=HTMLResponse, include_in_schema=False)
    async def save_scenario(request: Request, name: str) -> Response:
        form = await request.form()
        check_form(request, _text(form.get("csrf")))
        scenario = load(name)
        new_name = (_text(form.get("new_name")) or "").strip()
        texts = {
            key.removeprefix("p:"): _text(value) or ""
            for key, value in form.items()
            if key.startswith("p:")
        }
        errors: dict[str, str] = {}
        builtin, saved = scenario_names()
        if not SCENARIO_NAME.match(new_name):
            errors["new_name"] = (
                "letters, digits, '.', '_' and '-' (up to 64), first a letter or digit"
            )
        elif new_name in builtin or new_name in saved:
            errors["new_name"] = f"a scenario called {new_name!r} exists: choose another name"
        values, parse_errors = _parsed(scenario, texts)
        # every problem at once: the values that could be read are validated too
        data = with_parameters(editable_data(scenario, setting=values), values)
        data["name"] = new_name if "new_name" not in errors else scenario.name
        changed = None
        try:
            changed = validate_scenario(data, source="the form")
        except ScenarioError as error:
            errors |= _field_errors(str(error), set(parameter_paths(scenario, left_out=True)))
        errors |= parse_errors
        if errors or changed is None:
            context = _scenario_context(
                scenario, name, load, settings.scenarios_dir, texts=texts, errors=errors
            )
            return page(request, "scenario.html", status=422, new_name=new_name, **context)
        extends = name if name in builtin else f"{name}.toml"
        (settings.scenarios_dir / f"{new_name}.toml").write_text(
            _extends_file(extends, new_name, values, changed)
        )
        return RedirectResponse(f"/scenarios/{new_name}", status_code=303)

    @app.post("/scenarios/{name}/jobs", include_in_schema=False)
    async def submit_from_page(request: Request, name: str) -> Response:
        form = await request.form()
        check_form(request, _text(form.get("csrf")))
        kind = _scenario_job_kind(_text(form.get("kind")) or "forecast")
        job_settings = _form_settings(form, kind, tuple(SETTINGS[kind]))
        return submit_and_show(request, _job_request(kind, load(name), job_settings))

    @app.get("/scenarios/{name}/job-settings", response_class=HTMLResponse, include_in_schema=False)
    def job_settings_fields(request: Request, name: str, kind: str = "forecast") -> HTMLResponse:
        """The scenario page's fields for one kind of job, swapped in when the kind changes."""
        context = _job_settings_context(load(name), _scenario_job_kind(kind))
        return page(request, "job_settings.html", **context)

    def submit_and_show(request: Request, job_request: JobRequest) -> Response:
        """Queue a job asked for by a form and show it (or say the queue is full)."""
        try:
            job, _ = submit(store(), job_request, settings.queue_limit)
        except QueueFull as error:
            return page(request, "busy.html", status=429, message=str(error))
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        return RedirectResponse(f"/jobs/{job.job_id}", status_code=303)

    def job_context(job_id: str) -> dict[str, Any]:
        """A job, and whether it waits for the engine to be compiled (running, with nothing
        done yet, on a machine whose cache lacks the engine: the first job on a new machine or
        version, about a minute), which the page says rather than show a bar standing still."""
        job = _job(store(), job_id)
        compiling = job.state == "running" and job.progress == 0
        if compiling:
            from fieldcast.engine import compiled_code_cached

            compiling = not compiled_code_cached()
        now = utc_now()
        return {
            "job": job,
            "compiling": compiling,
            "running_seconds": running_seconds(job, now),
            "seconds_left": seconds_left(job, now),
        }

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(request: Request, job_id: str) -> HTMLResponse:
        return page(request, "job.html", **job_context(job_id))

    @app.get("/jobs/{job_id}/status", response_class=HTMLResponse, include_in_schema=False)
    def job_status(request: Request, job_id: str) -> HTMLResponse:
        return page(request, "job_status.html", **job_context(job_id))

    @app.get("/jobs/{job_id}/download/{what}", include_in_schema=False)
    def job_download(job_id: str, what: str) -> Response:
        """A planning job's answer as the command line's ``--json`` or ``--csv`` writes it."""
        job = _job(store(), job_id)
        if job.state != "done" or job.kind not in ANSWER_KINDS:
            raise HTTPException(404, f"job {job_id} has no answer to download")
        name = f"{job.kind}-{job.job_id}"
        if what == "answer.json":
            return JSONResponse(
                answer_json(job.kind, job.result), headers=_attachment(f"{name}.json")
            )
        if what == "answer.csv":
            return Response(
                answer_csv(job.kind, job.result),
                media_type="text/csv; charset=utf-8",
                headers=_attachment(f"{name}.csv"),
            )
        raise HTTPException(404, f"no download {what!r}")

    @app.post("/jobs/{job_id}/cancel", include_in_schema=False)
    async def cancel_from_page(request: Request, job_id: str) -> Response:
        form = await request.form()
        check_form(request, _text(form.get("csrf")))
        _job(store(), job_id)
        store().cancel_job(job_id)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        run = _run(store(), run_id)
        figures, cities = run_figures(run)
        parameters = _parameter_rows(run.scenario)
        return page(
            request,
            "run.html",
            run=run,
            summary=run.summary,
            figures=figures,
            cities=cities,
            parameters=parameters,
            sets=observation_sets() if recomputable(run.engine) else [],
        )

    @app.get("/runs/{run_id}/download/{what}", include_in_schema=False)
    def download(run_id: str, what: str) -> Response:
        run_store = store()
        run = _run(run_store, run_id)
        if what == "summary.json":
            return JSONResponse(run.summary, headers=_attachment(f"{run.run_id}-summary.json"))
        if what == "report.html":
            return HTMLResponse(run_report(run), headers=_attachment(f"{run.run_id}.html"))
        if what in ("tables-parquet.zip", "tables-csv.zip", "long.parquet", "long.csv"):
            file_format = "csv" if "csv" in what else "parquet"
            with tempfile.TemporaryDirectory() as folder:
                files = run_store.export(
                    run.run_id, folder, file_format, long=what.startswith("long")
                )
                if len(files) == 1:
                    return Response(
                        files[0].read_bytes(),
                        media_type="application/octet-stream",
                        headers=_attachment(files[0].name),
                    )
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                    for path in files:
                        archive.write(path, path.name)
            return Response(
                buffer.getvalue(),
                media_type="application/zip",
                headers=_attachment(f"{run.run_id}-{what}"),
            )
        raise HTTPException(404, f"no download {what!r}")

    def observation_sets() -> list[dict[str, Any]]:
        """The latest version of each stored set, with how many versions it has."""
        if not settings.store_path.exists():
            return []
        latest: dict[str, dict[str, Any]] = {}
        for info in store().observation_infos():
            latest[info.name] = {"info": info, "versions": info.version}
        return list(latest.values())

    def observations_page_for(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        builtin, saved = scenario_names()
        stored = settings.store_path.exists()
        trackings = store().tracking_infos()[::-1][:20] if stored else []
        calibrations = store().calibration_infos()[::-1][:20] if stored else []
        context = {"errors": {}, "upload": {}, **context}
        return page(
            request,
            "observations.html",
            status=status,
            sets=observation_sets(),
            scenarios=builtin + saved,
            trackings=trackings,
            calibrations=calibrations,
            defaults={kind: SETTINGS[kind] for kind in OBSERVED_KINDS},
            **context,
        )

    @app.get("/observations", response_class=HTMLResponse, include_in_schema=False)
    def observations_page(request: Request) -> HTMLResponse:
        return observations_page_for(request)

    @app.post("/observations", response_class=HTMLResponse, include_in_schema=False)
    async def upload_observations(request: Request) -> Response:
        # one file of at most the body limit (checked before reading, in Guard)
        form = await request.form(max_files=1, max_fields=8, max_part_size=MAX_BODY_BYTES)
        check_form(request, _text(form.get("csrf")))
        name = (_text(form.get("name")) or "").strip()
        scenario_name = _text(form.get("scenario")) or ""
        upload = form.get("file")
        errors: dict[str, str] = {}
        try:
            check_name(name)
        except ObservationError as error:
            errors["name"] = str(error)
        scenario = None
        try:
            scenario = load(scenario_name)
        except HTTPException as error:
            errors["scenario"] = str(error.detail)
        filename = getattr(upload, "filename", None) or ""
        if upload is None or isinstance(upload, str) or not filename:
            errors["file"] = "choose a CSV or JSON file of counts"
        elif scenario is not None:
            content = await upload.read()
            try:
                observed = parse_observations(
                    content, Path(filename).suffix, scenario, Path(filename).name
                )
            except ObservationError as error:
                errors["file"] = str(error)
        if errors:
            values = {"name": name, "scenario": scenario_name}
            return observations_page_for(request, 422, errors=errors, upload=values)
        info, added = store().add_observations(name, observed, scenario, Path(filename).name)
        message = (
            f"observations {info.name!r} added as version {info.version}"
            if added
            else f"the same counts are already version {info.version} of {info.name!r}"
        )
        return observations_page_for(request, message=message, chosen=info.name)

    @app.post("/runs/{run_id}/score", include_in_schema=False)
    async def score_from_page(request: Request, run_id: str) -> Response:
        """A score job: the run held against a stored set of counts."""
        form = await request.form()
        check_form(request, _text(form.get("csrf")))
        run = _run(store(), run_id)
        job_settings: dict[str, Any] = {
            "run": run.run_id,
            "observations": _text(form.get("observations")) or "",
        }
        return submit_and_show(request, _job_request("score", run.scenario, job_settings))

    @app.post("/observations/{kind}", include_in_schema=False)
    async def learn_from_page(request: Request, kind: str) -> Response:
        """A track or calibrate job on a stored set of counts."""
        if kind not in OBSERVED_KINDS:
            raise HTTPException(404, f"no action {kind!r}")
        form = await request.form()
        check_form(request, _text(form.get("csrf")))
        job_settings: dict[str, Any] = {"observations": _text(form.get("observations")) or ""}
        numbers = ("particles", "seed") + (("target_ess",) if kind == "calibrate" else ())
        job_settings |= _form_settings(form, kind, numbers)
        scenario = load(_text(form.get("scenario")) or "")
        return submit_and_show(request, _job_request(kind, scenario, job_settings))

    @app.get("/calibrations/{calibration_id}", response_class=HTMLResponse, include_in_schema=False)
    def calibration_page(request: Request, calibration_id: str) -> HTMLResponse:
        calibration_id, run, summary = _calibration(store(), calibration_id)
        return page(
            request,
            "calibration.html",
            calibration_id=calibration_id,
            run=run,
            summary=summary,
        )

    @app.get("/calibrations/{calibration_id}/report.html", include_in_schema=False)
    def calibration_download(calibration_id: str) -> Response:
        calibration_id, run, summary = _calibration(store(), calibration_id)
        if summary is None:
            raise HTTPException(404, f"calibration {calibration_id} has no assessment yet")
        report = calibration_report({"calibration_id": calibration_id, **summary}, run.last.values)
        return HTMLResponse(report, headers=_attachment(f"calibration-{calibration_id}.html"))

    @app.post("/jobs/{job_id}/save-scenario", include_in_schema=False)
    async def save_calibrated(request: Request, job_id: str) -> Response:
        """Keep the scenario a calibration job made as a saved scenario, under a new name."""
        form = await request.form()
        check_form(request, _text(form.get("csrf")))
        job = _job(store(), job_id)
        text = (job.result or {}).get("calibrated_scenario")
        if not isinstance(text, str):
            raise HTTPException(422, "this job made no calibrated scenario")
        new_name = (_text(form.get("new_name")) or "").strip()
        builtin, saved = scenario_names()
        if not SCENARIO_NAME.match(new_name) or new_name in builtin or new_name in saved:
            raise HTTPException(
                422,
                f"new_name: a name no scenario has yet (letters, digits, '.', '_', '-'), not "
                f"{new_name!r}",
            )
        data = tomllib.loads(text)
        data["name"] = new_name
        (settings.scenarios_dir / f"{new_name}.toml").write_text(tomli_w.dumps(data))
        return RedirectResponse(f"/scenarios/{new_name}", status_code=303)

    @app.get("/trackings/{tracking_id}", response_class=HTMLResponse, include_in_schema=False)
    def tracking_page(request: Request, tracking_id: str) -> HTMLResponse:
        tracking_id, summary = _tracking(store(), tracking_id)
        figures, places = tracking_figures(summary)
        return page(
            request,
            "tracking.html",
            tracking_id=tracking_id,
            summary=summary,
            figures=figures,
            places=places,
        )

    @app.get("/trackings/{tracking_id}/report.html", include_in_schema=False)
    def tracking_download(tracking_id: str) -> Response:
        tracking_id, summary = _tracking(store(), tracking_id)
        report = tracking_report({"tracking_id": tracking_id, **summary})
        return HTMLResponse(report, headers=_attachment(f"tracking-{tracking_id}.html"))

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(request: Request, run: Annotated[list[str], Query()] = []) -> HTMLResponse:  # noqa: B006
        if len(run) < 2:
            raise HTTPException(422, "choose two runs or more to compare")
        runs = [_run(store(), run_id) for run_id in run]
        changes = [scenario_changes(runs[0].scenario, other.scenario) for other in runs[1:]]
        paired = paired_with_first(runs, [store().national_outcomes(r.run_id) for r in runs])
        return page(
            request,
            "compare.html",
            runs=runs,
            table=outcome_table([r.summary for r in runs]),
            changes=changes,
            paired=paired,
            paired_note=PAIRED_NOTE,
            figure=comparison_figure(runs),
        )

    # -- the JSON API -------------------------------------------------------------------------

    @app.get("/api/scenarios")
    def api_scenarios() -> dict[str, list[str]]:
        """Built-in and saved scenarios, by name."""
        builtin, saved = scenario_names()
        return {"builtin": builtin, "saved": saved}

    @app.get("/api/job-kinds")
    def api_job_kinds() -> dict[str, dict[str, Any]]:
        """Each kind of job, with the settings it takes and their defaults."""
        return SETTINGS

    @app.get("/api/runs")
    def api_runs() -> list[dict[str, Any]]:
        """Stored runs, oldest first."""
        if not settings.store_path.exists():
            return []
        return [
            {
                "run_id": info.run_id,
                "created_at": info.created_at.isoformat(),
                "scenario": info.scenario_name,
                "seed": info.seed,
                "replications": info.replications,
                "p_goal": info.p_goal,
                "persons_arrested_median": info.persons_arrested_median,
            }
            for info in store().list()
        ]

    @app.get("/api/runs/{run_id}")
    def api_run(run_id: str) -> dict[str, Any]:
        """A stored run's summary (what ``fieldcast forecast --json`` printed)."""
        return _run(store(), run_id).summary

    @app.get("/api/observations")
    def api_observations() -> list[dict[str, Any]]:
        """Every version of every stored observation set, oldest first."""
        if not settings.store_path.exists():
            return []
        return [
            {**info.__dict__, "added_at": info.added_at.isoformat()}
            for info in store().observation_infos()
        ]

    @app.post("/api/observations", status_code=201)
    def api_add_observations(upload: ObservationUpload) -> JSONResponse:
        """Keep counts as the next version of a set (201), or find the same counts (200)."""
        scenario = load(upload.scenario)
        try:
            check_name(upload.name)
            content = json.dumps(upload.counts).encode()
            observed = parse_observations(content, ".json", scenario, "counts")
        except ObservationError as error:
            raise HTTPException(422, str(error)) from None
        info, added = store().add_observations(upload.name, observed, scenario, "the API")
        view = {**info.__dict__, "added_at": info.added_at.isoformat()}
        return JSONResponse(view, status_code=201 if added else 200)

    @app.get("/api/calibrations/{calibration_id}")
    def api_calibration(calibration_id: str) -> dict[str, Any]:
        """A stored calibration's assessment (``fieldcast calibrate --json``), once made."""
        calibration_id, _, summary = _calibration(store(), calibration_id)
        if summary is None:
            raise HTTPException(404, f"calibration {calibration_id} has no assessment yet")
        return {"calibration_id": calibration_id, **summary}

    @app.get("/api/trackings/{tracking_id}")
    def api_tracking(tracking_id: str) -> dict[str, Any]:
        """A stored tracked forecast's summary (``fieldcast forecast --observed --json``)."""
        tracking_id, summary = _tracking(store(), tracking_id)
        return {"tracking_id": tracking_id, **summary}

    @app.get("/api/jobs")
    def api_jobs() -> list[dict[str, Any]]:
        """The newest jobs, newest first."""
        return [_job_view(job) for job in store().jobs(50)]

    @app.post("/api/jobs", status_code=202)
    def api_submit(submission: JobSubmission) -> JSONResponse:
        """Queue a job (202), or find the identical one (200); 429 when the queue is full."""
        job_request = _job_request(submission.kind, load(submission.scenario), submission.settings)
        try:
            job, new = submit(store(), job_request, settings.queue_limit)
        except QueueFull as error:
            return JSONResponse({"detail": str(error)}, status_code=429)
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        return JSONResponse(_job_view(job), status_code=202 if new else 200)

    @app.get("/api/jobs/{job_id}")
    def api_job(job_id: str) -> dict[str, Any]:
        """One job: its state, progress and result."""
        return _job_view(_job(store(), job_id))

    @app.post("/api/jobs/{job_id}/cancel")
    def api_cancel(job_id: str) -> dict[str, Any]:
        """Cancel a job (at once if it waits, at its next progress report if it runs)."""
        _job(store(), job_id)
        return _job_view(store().cancel_job(job_id))

    return app


# -- helpers ----------------------------------------------------------------------------------


def utc_now() -> datetime:
    """Now, as the store keeps times (UTC, without a zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def duration(seconds: float) -> str:
    """A span of time as a reader says it: 45 s, 2 min 05 s, 1 h 20 min."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _plain(status: int, message: str) -> Response:
    response = Response(message + "\n", status_code=status, media_type="text/plain")
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _job(store: RunStore, job_id: str) -> JobInfo:
    try:
        return store.job(job_id)
    except StoreError:
        raise HTTPException(404, f"no job {job_id!r}") from None


def request_problems(errors: Sequence[Any]) -> str:
    """FastAPI's records of a refused request as one line, ``field: reason; ...`` (the field
    without the part of the request it was in: body, query or path)."""
    problems = []
    for record in errors:
        where = ".".join(str(part) for part in record["loc"][1:]) or str(record["loc"][0])
        if record["type"] == "json_invalid":
            reason = f"not valid JSON ({record.get('ctx', {}).get('error', 'unreadable')})"
            where = "body"
        elif record["type"] == "missing":
            reason = "required but missing"
        else:
            reason = record["msg"]
        problems.append(f"{where}: {reason}")
    return "; ".join(problems)


def _without_paths(message: str) -> str:
    """A message for the web without the folders of the server's files it names (the file's
    own name stays): where things are on the server is not the user's business."""
    return re.sub(r"(?<![\w.:/])/(?:[^\s'\"/]+/)+", "", message)


def _job_request(kind: str, scenario: Scenario, job_settings: dict[str, Any]) -> JobRequest:
    """A job asked for, its kind and settings checked (422 naming the setting otherwise)."""
    try:
        return JobRequest(kind, scenario, job_settings)  # type: ignore[arg-type]
    except ValueError as error:
        raise HTTPException(422, str(error)) from None


def _form_settings(form: Any, kind: str, names: tuple[str, ...]) -> dict[str, Any]:
    """The settings among ``names`` that the form filled in, each as its kind takes it (the
    kind's default for the others); a number that is not one is refused, naming the field."""
    values = {}
    for name in names:
        text = (_text(form.get(name)) or "").strip()
        if text:
            try:
                values[name] = setting_from_text(kind, name, text)
            except ValueError as error:
                raise HTTPException(422, str(error)) from None
    return values


def _calibration(store: RunStore, calibration_id: str) -> tuple[str, Any, dict[str, Any] | None]:
    if not re.fullmatch(r"[0-9A-Za-z-]{1,64}", calibration_id):
        raise HTTPException(404, "no such calibration")
    try:
        return store.calibration(calibration_id)
    except StoreError as error:
        raise HTTPException(404, _without_paths(str(error))) from None


def _tracking(store: RunStore, tracking_id: str) -> tuple[str, dict[str, Any]]:
    if not re.fullmatch(r"[0-9A-Za-z-]{1,64}", tracking_id):
        raise HTTPException(404, "no such tracked forecast")
    try:
        return store.tracking_summary(tracking_id)
    except StoreError as error:
        raise HTTPException(404, _without_paths(str(error))) from None


def _run(store: RunStore, run_id: str) -> StoredRun:
    if not re.fullmatch(r"[0-9A-Za-z-]{1,64}", run_id):
        raise HTTPException(404, "no such run")
    try:
        return store.get(run_id)
    except StoreError as error:
        raise HTTPException(404, _without_paths(str(error))) from None


def _shown(value: Any) -> str:
    """A parameter's value as the form shows it (JSON for lists, text as it is, nothing for a
    value left out)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _parameter_rows(scenario: Scenario) -> list[dict[str, Any]]:
    rows = []
    for index, path in enumerate(parameter_paths(scenario, left_out=True)):
        unit, meaning = parameter_info(path)
        provenance = scenario.provenance.get(path)
        span = scenario.ranges.get(path)
        rows.append(
            {
                "index": index,  # the form field's id
                "path": path,
                "value": _shown(parameter_value(scenario, path)),
                "unit": unit,
                "meaning": meaning,
                "kind": provenance.kind if provenance else "not stated",
                "note": provenance.note if provenance else "",
                "range": f"{span.low:g} to {span.high:g}" if span else "",
                # the name is the "save as" field's; derived values follow from others
                "editable": path != "name" and (provenance is None or provenance.kind != "derived"),
            }
        )
    return rows


def _scenario_context(
    scenario: Scenario,
    name: str,
    load: Any,
    scenarios_dir: Path,
    texts: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    rows = _parameter_rows(scenario)
    for row in rows:
        if texts and row["path"] in texts:
            row["value"] = texts[row["path"]]
    base, changes = None, []
    base_name = _extends(scenarios_dir, name)
    if base_name is not None:
        try:
            base = load(base_name)
            changes = scenario_changes(base, scenario)
        except HTTPException:
            base = None
    paths = {row["path"] for row in rows}
    return {
        "scenario": scenario,
        "name": name,
        "rows": rows,
        "errors": errors or {},
        # problems of no one field (between fields, or of a section): listed above the form
        "general_errors": [
            (path, message)
            for path, message in (errors or {}).items()
            if path not in paths and path != "new_name"
        ],
        "base_name": base_name if base is not None else None,
        "changes": changes,
        "kinds": SCENARIO_JOB_KINDS,
        **_job_settings_context(scenario, "forecast"),
    }


def _scenario_job_kind(kind: str) -> str:
    """A kind of job that runs on a scenario alone (422 otherwise)."""
    if kind not in SCENARIO_JOB_KINDS:
        raise HTTPException(422, f"kind: one of {', '.join(SCENARIO_JOB_KINDS)}, not {kind!r}")
    return kind


def _job_settings_context(scenario: Scenario, kind: str) -> dict[str, Any]:
    """What the fields of one kind of job show: its settings' defaults and choices."""
    context = {
        "kind": kind,
        "defaults": SETTINGS[kind],
        "choices": setting_choices(kind),
        "ranged": bool(scenario.ranges),  # a forecast may draw them
    }
    if kind == "sweep":  # read only for a sweep: every path of the scenario is looked up
        context["sweep_groups"] = _sweep_groups(scenario)
    return context


def _sweep_groups(scenario: Scenario) -> dict[str, list[str]]:
    """The numbers a sweep may vary, grouped as its form lists them: those with a range (they
    need no values), the others, and each city's own value of a per-city parameter."""
    numbers = [
        path
        for path in changeable_paths(scenario)
        if isinstance(value := parameter_value(scenario, path), int | float)
        and not isinstance(value, bool)
    ]
    listed = set(parameter_paths(scenario))
    return {
        "with a range: values may be left out": [p for p in numbers if p in scenario.ranges],
        "without a range: give the values": [
            p for p in numbers if p in listed and p not in scenario.ranges
        ],
        "a city's own value: give the values": [p for p in numbers if p not in listed],
    }


def _extends(scenarios_dir: Path, name: str) -> str | None:
    """The scenario a saved one extends (its file's ``extends``), by name."""
    path = scenarios_dir / f"{name}.toml"
    if not path.is_file():
        return None
    base = tomllib.loads(path.read_text()).get("extends")
    return base.removesuffix(".toml") if isinstance(base, str) else None


def _parsed(scenario: Scenario, texts: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's changed values, read by the type of the current value; errors by path."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    known = set(parameter_paths(scenario, left_out=True))
    for path, text in texts.items():
        if path not in known:
            errors[path] = "not a parameter of this scenario"
            continue
        current = parameter_value(scenario, path)
        if text == _shown(current):
            continue
        try:
            if current is None:  # left out, now set: a number of the field's kind
                number, whole = float(text), takes_whole_numbers(path, None)
                if whole and not number.is_integer():
                    raise ValueError("a whole number")
                values[path] = int(number) if whole else number
            elif isinstance(current, bool):
                if text.lower() not in ("true", "false"):
                    raise ValueError("true or false")
                values[path] = text.lower() == "true"
            elif isinstance(current, int):
                number = float(text)
                if not number.is_integer():
                    raise ValueError("a whole number")
                values[path] = int(number)
            elif isinstance(current, float):
                values[path] = float(text)
            elif isinstance(current, str):
                values[path] = text
            else:
                values[path] = json.loads(text)
        except (ValueError, json.JSONDecodeError) as error:
            reason = str(error) if str(error) in ("true or false", "a whole number") else None
            errors[path] = f"{reason or 'not a valid value'}, got {text!r}"
    return values, errors


def _field_errors(message: str, paths: set[str]) -> dict[str, str]:
    """A scenario error's lines ("path: reason") by path; the rest under "form".

    A check between fields is reported under their section ("operation: tempo has 8 values
    but ..."); when its reason starts with the name of one of the section's parameters, it is
    shown next to that parameter (``operation.tempo``), where the value to change is.
    """
    errors: dict[str, str] = {}
    for line in message.split("\n")[1:] or message.split("\n"):
        path, colon, reason = line.strip().partition(": ")
        if not colon:
            errors["form"] = line.strip()
            continue
        first_word = re.match(r"\w+", reason)
        if path not in paths and first_word and f"{path}.{first_word[0]}" in paths:
            path = f"{path}.{first_word[0]}"
        errors[path] = reason
    return errors


def _extends_file(extends: str, new_name: str, values: dict[str, Any], changed: Scenario) -> str:
    """A scenario file that extends ``extends`` and gives, whole, each top-level part of the
    scenario that the form changed (``extends`` merges tables and replaces lists)."""
    whole = editable_data(changed)
    data: dict[str, Any] = {"extends": extends, "name": new_name}
    for top in sorted({_top_key(whole, path) for path in values}):
        data[top] = whole[top]
    return tomli_w.dumps(data)


def _top_key(data: dict[str, Any], path: str) -> str:
    """The top-level key a dotted path starts with."""
    return next(key for key in data if path == key or path.startswith(f"{key}."))
