"""The dashboard in a real browser: Playwright driving Debian's Chromium (``make test``
installs it when missing; Playwright's own browser download needs the network).

What a user does, click by click: open a scenario, enter an invalid value and see the error
next to it, fix it, save, run a forecast and watch its progress reach the end, see the chart,
compare with another run, download the report; upload observed counts and track the forecast;
a calibration's page.
And every page rendered with every request off this machine refused: all assets are local.

Each page is photographed on the way; ``make screenshots`` keeps the pictures in
docs/screenshots (``FIELDCAST_SCREENSHOTS``), otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from test_web import COUNTS_CSV
from webserver import api_get, api_post, free_port, serve, wait_for

pytestmark = pytest.mark.slow
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
JOB_SECONDS = 180_000  # ms a job may take to reach the end (a worker's first import included)
# ms a page's charts may take to be drawn: Plotly lays them out in the page's one thread, and
# with both cores compiling (early in `make test`) a run's page once took over the default 5 s
DRAW_SECONDS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("FIELDCAST_CHROMIUM") or shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "the browser tests need Chromium: `make test` installs Debian's chromium package "
            "(or set FIELDCAST_CHROMIUM to a Chromium executable)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served dashboard with two worker processes and a stored run, an observation set, a
    tracked forecast and a calibration made through the API (so each test can start from any
    page)."""
    folder = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    server = serve(folder, port, workers=2)
    url = f"http://127.0.0.1:{port}"
    try:
        jobs = [
            api_post(
                f"{url}/api/jobs",
                json={
                    "kind": "forecast",
                    "scenario": "seed-2019",
                    "settings": {"replications": 200, "seed": 1},
                },
            )
        ]
        counts = {
            "basis": "cumulative",
            "rows": [
                {"day": int(day), "place": place, "metric": "arrests", "value": int(value)}
                for day, place, _, value, _ in (
                    line.split(",") for line in COUNTS_CSV.splitlines()[1:]
                )
            ],
        }
        added = api_post(
            f"{url}/api/observations",
            json={"name": "week", "scenario": "seed-2019", "counts": counts},
        )
        assert added.status_code == 201, added.text
        for kind, settings in (
            ("track", {"particles": 300}),
            ("calibrate", {"particles": 40, "target_ess": 20}),
        ):
            jobs.append(
                api_post(
                    f"{url}/api/jobs",
                    json={
                        "kind": kind,
                        "scenario": "seed-2019",
                        "settings": {"observations": "week", "seed": 1, **settings},
                    },
                )
            )
        ids = [job.json()["job_id"] for job in jobs]

        def done() -> bool:
            states = {j["job_id"]: j["state"] for j in api_get(f"{url}/api/jobs").json()}
            assert not {states[i] for i in ids} & {"failed", "cancelled"}, states
            return all(states[i] == "done" for i in ids)

        wait_for(done, JOB_SECONDS / 1000)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FIELDCAST_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Offline:
    """A browser context in which every request to another machine fails (as it would on a
    machine without network), and each such request is noted."""

    def __init__(self, browser: Browser) -> None:
        self.refused: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context: BrowserContext = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        self.context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        if urlparse(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort("internetdisconnected")

    def troubles(self) -> list[str]:
        """Requests that failed and errors the pages reported."""
        return self.failed + self.errors

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("requestfailed", self._failed)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("response", self._response)
        return page

    def _failed(self, request: Request) -> None:
        # "net::ERR_ABORTED" is the browser cancelling, not the dashboard failing: a download
        # ends its navigation so, and so does leaving a page whose deferred htmx is still on
        # its way (a click that comes early on a busy machine: it once failed a clean-clone
        # run). Every page looked at is checked whole by _rendered_fully; an asset that cannot
        # be had fails otherwise (an HTTP error, below, or a refused connection).
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        # a page refusing a form (422) is logged as a failed load: responses are checked below
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response: Response) -> None:
        """An asset or a poll that failed (pages themselves may answer 422 to a form)."""
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} {response.url}")


def _rendered_fully(page: Page) -> None:
    """The page's own styles, htmx and (where it has charts) every chart drawn by plotly.js."""
    # htmx is a deferred script: it runs after the page is parsed (the heading already shows),
    # before the load event; on a machine busy with a forecast that gap is long enough to see
    page.wait_for_load_state("load")
    expect(page.locator("header .brand")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('header')).display") != "inline"
    assert page.evaluate("typeof window.htmx") == "object"
    charts = page.locator("[data-figure]")
    for index in range(charts.count()):
        chart = charts.nth(index)
        if chart.is_visible():
            expect(chart).to_have_attribute("data-drawn", "true", timeout=DRAW_SECONDS)
            assert chart.locator("svg.main-svg").count() >= 1


def _photograph(page: Page, folder: Path, name: str, height: int = 2400) -> None:
    """The page from its top, down to ``height`` pixels (a long table would make a tall,
    heavy picture that shows no more)."""
    full = page.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": 1280, "height": min(full, height)}
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, clip=clip)


def test_edit_save_forecast_watch_compare_and_download(
    browser: Browser, dashboard: str, screenshots: Path, tmp_path: Path
) -> None:
    offline = Offline(browser)
    page = offline.page()
    page.goto(f"{dashboard}/")
    _photograph(page, screenshots, "home")
    page.get_by_role("link", name="seed-2019", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("seed-2019")
    _photograph(page, screenshots, "scenario", height=1200)

    # an invalid value: refused, with the reason next to the field and the value kept
    contact = page.get_by_label("city_defaults.p_contact", exact=True)
    contact.fill("1.7")
    page.get_by_label("Save as").fill("more-contact")
    page.get_by_role("button", name="Save as a new scenario").click()
    expect(page.get_by_role("alert")).to_contain_text("The scenario was not saved: 1 problem")
    contact = page.get_by_label("city_defaults.p_contact", exact=True)
    expect(contact).to_have_attribute("aria-invalid", "true")
    expect(contact).to_have_value("1.7")
    row = page.locator("tr.invalid")
    expect(row).to_contain_text("less than or equal to 1 (got 1.7)")
    _photograph(page, screenshots, "scenario-with-an-error", height=1200)

    # fixed and saved: a new scenario extending seed-2019, with its changes listed
    contact.fill("0.35")
    page.get_by_label("Save as").fill("more-contact")
    page.get_by_role("button", name="Save as a new scenario").click()
    expect(page.locator("h1")).to_have_text("more-contact")
    expect(page.get_by_role("heading", name="Changes from seed-2019")).to_be_visible()
    expect(page.locator("section", has_text="Changes from")).to_contain_text("0.35")

    # a forecast in the background: progress polled until the end, then the run
    page.get_by_label("What").select_option("forecast")
    page.wait_for_load_state("networkidle")  # the kind's fields swapped in (htmx) first
    page.get_by_label("Replications").fill("200")  # and seed 1: paired with the first run
    page.get_by_label("Seed").fill("1")
    page.get_by_role("button", name="Run in the background").click()
    expect(page.locator("h1")).to_have_text("Forecast of more-contact")
    state = page.locator("[data-state]")
    expect(state).to_have_attribute("data-state", "done", timeout=JOB_SECONDS)
    expect(page.locator("progress")).to_have_attribute("value", "1.0")
    _rendered_fully(page)  # a job done early shows "done" before its scripts are loaded
    _photograph(page, screenshots, "job")
    page.get_by_role("link", name="See the forecast").click()
    expect(page.locator("h1")).to_contain_text("2019")
    expect(page.locator("[data-figure='fig-arrests']")).to_have_attribute(
        "data-drawn", "true", timeout=DRAW_SECONDS
    )
    _rendered_fully(page)
    page.get_by_text("Each city").click()
    _rendered_fully(page)
    _photograph(page, screenshots, "run")

    # the report, downloaded
    with page.expect_download() as download_info:
        page.get_by_role("link", name="The report (one HTML file that opens offline)").click()
    report = tmp_path / "report.html"
    download_info.value.save_as(report)
    text = report.read_text()
    assert text.lower().startswith("<!doctype html") and "<svg" in text and "more-contact" in text

    # compared with the run of seed-2019 made before
    page.goto(f"{dashboard}/")
    boxes = page.get_by_role("checkbox")
    assert boxes.count() >= 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Compare the runs ticked").click()
    expect(page.locator("[data-figure]").first).to_have_attribute(
        "data-drawn", "true", timeout=DRAW_SECONDS
    )
    expect(page.locator("main")).to_contain_text("city_defaults.p_contact")
    expect(page.locator("table[data-paired]")).to_contain_text("persons arrested")
    _rendered_fully(page)
    _photograph(page, screenshots, "compare")
    assert offline.troubles() == []
    offline.context.close()


def _asked_from_the_scenario_page(
    page: Page, dashboard: str, kind: str, settings: dict[str, str]
) -> Locator:
    """A job asked for on seed-2019's page: its kind chosen (its fields swapped in), each
    setting given by its field's label (a choice selected, a number typed), run and waited
    for to the end; its answer."""
    page.goto(f"{dashboard}/scenarios/seed-2019")
    page.get_by_label("What").select_option(kind)
    for label, value in settings.items():
        # exactly (the sweep's "Values" beside its second parameter's "Its values"), but a
        # choice's accessible name holds its chosen option too: by its label's start then
        field = page.get_by_label(label, exact=True)
        if field.count() == 0:
            field = page.get_by_label(label)
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Run in the background").click()
    expect(page.locator("h1")).to_have_text(f"{kind.capitalize()} of seed-2019")
    expect(page.locator("[data-state]")).to_have_attribute(
        "data-state", "done", timeout=JOB_SECONDS
    )
    return page.locator(f"[data-answer='{kind}']")


def test_a_requirement_asked_for_with_its_settings_reads_as_a_table(
    browser: Browser, dashboard: str, screenshots: Path
) -> None:
    """Choosing a kind of job swaps in its settings (htmx, from the dashboard's own files);
    the answer is a table and the search's own sentence, not JSON to decipher."""
    offline = Offline(browser)
    page = offline.page()
    page.goto(f"{dashboard}/scenarios/seed-2019")
    page.get_by_label("What").select_option("check")
    expect(page.locator("#job-settings")).to_contain_text("runs in milliseconds")
    expect(page.get_by_label("Replications")).to_have_count(0)
    answer = _asked_from_the_scenario_page(
        page,
        dashboard,
        "requirement",
        {"Resource": "teams", "Goal (persons)": "230", "Probability": "0.5", "Replications": "100"},
    )
    expect(answer).to_contain_text("reach 230 persons arrested by the end of field work")
    expect(answer.locator("caption")).to_contain_text("Every level tried")
    expect(answer.locator("tr.chosen")).to_have_count(1)
    _rendered_fully(page)
    _photograph(page, screenshots, "requirement", height=1200)
    assert offline.troubles() == []
    offline.context.close()


def test_a_sweep_is_asked_for_from_the_page_and_drawn_when_done(
    browser: Browser, dashboard: str, screenshots: Path
) -> None:
    """A sweep's answer arrives in the part of the page htmx swaps in when the job is done:
    its chart is drawn then, from the dashboard's own plotly.js."""
    offline = Offline(browser)
    page = offline.page()
    answer = _asked_from_the_scenario_page(
        page,
        dashboard,
        "sweep",
        {
            "Parameter": "leak.events.1.peak_hazard",
            "Values": "0, 0.02, 0.08",
            "Replications": "300",
        },
    )
    expect(answer.locator("tr.chosen")).to_contain_text("0.04 (now)")
    expect(answer.locator("tbody tr")).to_have_count(4)
    expect(page.locator("[data-figure='fig-sweep']")).to_have_attribute(
        "data-drawn", "true", timeout=DRAW_SECONDS
    )
    _rendered_fully(page)
    _photograph(page, screenshots, "sweep", height=1400)
    assert offline.troubles() == []
    offline.context.close()


def test_observed_counts_uploaded_and_the_forecast_tracked(
    browser: Browser, dashboard: str, screenshots: Path, tmp_path: Path
) -> None:
    offline = Offline(browser)
    page = offline.page()
    page.goto(f"{dashboard}/observations")
    counts = tmp_path / "days-0-1.csv"
    counts.write_text(COUNTS_CSV.replace("Denver", "Dallas"))
    page.get_by_label("File").set_input_files(counts)
    page.get_by_label("Name of the set").fill("browser-week")
    page.get_by_role("button", name="Check and keep").click()
    expect(page.locator("#e-file")).to_contain_text("place 'Dallas' is not a city")
    counts.write_text(COUNTS_CSV)
    page.get_by_label("File").set_input_files(counts)
    page.get_by_role("button", name="Check and keep").click()
    expect(page.get_by_role("status")).to_contain_text("added as version 1")
    _photograph(page, screenshots, "observations")
    page.locator("#track").get_by_label("Particles").fill("300")
    page.get_by_role("button", name="Track in the background").click()
    expect(page.locator("[data-state]")).to_have_attribute(
        "data-state", "done", timeout=JOB_SECONDS
    )
    # a job done before its page is loaded shows "done" at once: the page is checked whole
    # before it is left
    _rendered_fully(page)
    page.get_by_role("link", name="See the tracked forecast").click()
    expect(page.locator("h1")).to_contain_text("tracked to browser-week version 1")
    _rendered_fully(page)
    _photograph(page, screenshots, "tracking")
    assert offline.troubles() == []
    offline.context.close()


def test_every_page_renders_fully_with_the_network_cut_off(
    browser: Browser, dashboard: str, screenshots: Path
) -> None:
    offline = Offline(browser)
    page = offline.page()
    run_id = api_get(f"{dashboard}/api/runs").json()[0]["run_id"]
    jobs = api_get(f"{dashboard}/api/jobs").json()
    tracking = next(job["result"]["tracking_id"] for job in jobs if job["kind"] == "track")
    calibration = next(job for job in jobs if job["kind"] == "calibrate")
    paths = [
        f"/jobs/{calibration['job_id']}",
        f"/calibrations/{calibration['result']['calibration_id']}",
        "/",
        "/scenarios/seed-2019",
        "/scenarios/national",
        f"/jobs/{jobs[-1]['job_id']}",
        f"/runs/{run_id}",
        f"/compare?run={run_id}&run={run_id}",
        "/observations",
        f"/trackings/{tracking}",
    ]
    for path in paths:
        response = page.goto(f"{dashboard}{path}")
        assert response is not None and response.ok, path
        _rendered_fully(page)
        if path.startswith("/calibrations/"):
            _photograph(page, screenshots, "calibration")
    assert offline.refused == [] and offline.troubles() == []
    # the cut is real: a page of another machine does not load, and the request is noted
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        page.goto("https://cdn.example.org/plotly.min.js")
    assert offline.refused == ["https://cdn.example.org/plotly.min.js"]
    assert offline.troubles() == ["https://cdn.example.org/plotly.min.js"]  # a failure counts
    offline.context.close()


def test_a_full_queue_and_a_refusal_are_said_plainly(
    browser: Browser, tmp_path: Path, screenshots: Path
) -> None:
    """A dashboard whose queue (of one) is full answers a forecast asked for with a page that
    says so (429), and an address that names nothing with a page that says why (404)."""
    port = free_port()
    server = serve(tmp_path, port, workers=1, queue=1)
    url = f"http://127.0.0.1:{port}"
    try:

        def ask(seed: int) -> int:  # a long forecast (a minute or more)
            long_job = {"replications": 1_000_000, "seed": seed}
            return api_post(
                f"{url}/api/jobs",
                json={"kind": "forecast", "scenario": "seed-2019", "settings": long_job},
            ).status_code

        assert ask(1) == 202
        wait_for(
            lambda: api_get(f"{url}/api/jobs").json()[0]["state"] == "running",
            JOB_SECONDS / 1000,
        )
        assert [ask(2), ask(3)] == [202, 429]  # one waits while the first runs: full
        offline = Offline(browser)
        page = offline.page()
        page.goto(f"{url}/scenarios/seed-2019")
        page.get_by_role("button", name="Run in the background").click()
        expect(page.locator("h1")).to_have_text("The queue is full")
        _rendered_fully(page)
        _photograph(page, screenshots, "queue-full")
        response = page.goto(f"{url}/runs/20190714-000000-nothere")
        assert response is not None and response.status == 404
        expect(page.get_by_role("alert")).to_contain_text("20190714-000000-nothere")
        _rendered_fully(page)
        _photograph(page, screenshots, "not-found")
        offline.context.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
