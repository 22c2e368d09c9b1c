"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a real
uvicorn server. Screenshots of every page go to build/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nextbuy.serving.process import ServerProcess, running_server
from tests.ui.conftest import API_KEY, Models

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        why = "needs /usr/bin/chromium (make setup installs it) and playwright (dev extra)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with _playwright()() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(ui_models: Models, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("browser") / "models"
    shutil.copytree(ui_models.root, root)
    env = {"NEXTBUY_API_KEY": API_KEY, "NEXTBUY_ACCESS_LOG": "false",
           "NEXTBUY_DATA_DIR": str(ui_models.shop)}  # fmt: skip
    with running_server(root / "als", root / "server.log", env=env, timeout=60) as process:
        yield process


class Watched:
    """A page that records console errors, uncaught exceptions and failed requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("requestfailed", self._failed)

    def _failed(self, request: Any) -> None:
        if request.failure != "net::ERR_ABORTED":  # a fragment cut short by leaving the page
            self.errors.append(f"failed: {request.url} ({request.failure})")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture()
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = Watched(context.new_page())
    page.page.set_default_timeout(20_000)
    yield page
    context.close()


def log_in(w: Watched, url: str, key: str = API_KEY) -> None:
    w.page.goto(url + "/ui/login")
    w.page.fill("#api_key", key)
    w.page.click("#login-form button[type=submit]")


def test_every_page_loads_without_console_errors(watched: Watched, server: ServerProcess):
    url = server.url
    log_in(watched, url)
    watched.page.wait_for_url(url + "/ui")
    with httpx.Client(base_url=url, timeout=10) as http:  # some traffic for the live panel
        for i in range(20):
            http.get(f"/recommend/u{i % 7:05d}?k=10")
    page = watched.page
    page.reload()
    for selector in ("#coverage-share", "#rps", "#baselines table", "#model-card"):
        page.wait_for_selector(selector)
    page.wait_for_selector("#traffic .u-legend", timeout=10_000)  # uPlot drew the chart
    watched.shot("overview")
    page.goto(url + "/ui/users?q=u0000")
    assert page.locator("a[href^='/ui/users/u0000']").count() == 10
    page.goto(url + "/ui/users/u00001")
    assert page.locator("#recommendations tr[data-item]").count() == 10
    page.fill("input[name=item_id]", "p00010")
    page.click("#what-if-form button")
    page.wait_for_selector("#what-if-list")
    watched.shot("user")
    page.goto(url + "/ui/items?q=books")
    assert page.locator("#found tr").count() > 0
    page.locator("#found a").first.click()
    page.wait_for_selector("#similar")
    page.wait_for_selector(".chart .u-legend")
    watched.shot("item")
    page.goto(url + "/ui/experiments")
    page.wait_for_selector("#versions")
    watched.shot("experiments")
    page.goto(url + "/ui/training")
    page.wait_for_selector("#train-form")
    assert watched.errors == []
    maps = Path(f"/proc/{server.process.pid}/maps")
    if maps.exists():  # the pages (baselines, timelines included) never load torch
        assert "torch" not in maps.read_text()


def test_user_page_shows_a_changed_list_right_after_an_event(
    watched: Watched, server: ServerProcess
):
    url, user = server.url, "u00011"
    log_in(watched, url)
    page = watched.page
    page.goto(f"{url}/ui/users/{user}")
    rows = page.locator("#recommendations tr[data-item]")
    before = [rows.nth(i).get_attribute("data-item") for i in range(rows.count())]
    with httpx.Client(base_url=url, timeout=10) as http:
        shown = {r["category"] for r in http.get(f"/recommend/{user}").json()["recommendations"]}
        others = [
            i for i in http.get("/popular?k=200").json()["items"] if i["category"] not in shown
        ]
        events = [
            {"user_id": user, "item_id": i["item_id"], "event": "purchase"} for i in others[:4]
        ]
        assert http.post("/events", json=events).json()["stored"] == 4
    page.reload()
    after = [rows.nth(i).get_attribute("data-item") for i in range(rows.count())]
    assert after != before and len(after) == 10
    assert page.locator("#timeline .tag.posted").count() == 4
    assert watched.errors == []


def test_login_works_and_writes_need_the_key(watched: Watched, server: ServerProcess):
    url, page = server.url, watched.page
    page.goto(url + "/ui/training")
    assert page.url.startswith(url + "/ui/login")  # read pages need the session
    refused = page.request.post(url + "/ui/training", form={"data": "x"})
    assert refused.status == 401
    log_in(watched, url, key="not-the-key")
    assert page.locator("#login-error").inner_text() == "wrong key"
    watched.errors.clear()  # the browser logs the 401 of the refused login
    log_in(watched, url)
    page.goto(url + "/ui/training")
    no_csrf = page.request.post(url + "/ui/training", form={"data": "x"})
    assert no_csrf.status == 403  # the cookie alone is not enough
    # the file alone (a blank field would add the stored events): the report test below
    # rebuilds the served version's held-out set from its file
    page.fill("#data", page.get_attribute("#data", "placeholder") or "")
    page.fill("#params", '{"factors": 8, "iterations": 3, "num_threads": 1}')
    page.click("#start-training")
    page.wait_for_selector(
        "#job-state[data-status=succeeded], #job-state[data-status=failed], #job .error",
        timeout=90_000,
    )
    assert page.locator("#compare").count() == 1, page.locator("#job").inner_text()
    assert "/ui/training?job=" in page.url
    watched.shot("training")
    page.click("#promote")
    page.wait_for_selector("#promote-result .note")
    assert "Now serving" in page.locator("#promote-result").inner_text()
    assert watched.errors == []


def test_a_report_renders(browser: Any, server: ServerProcess, tmp_path: Path):
    from nextbuy.reporting import write_report

    served = httpx.get(server.url + "/model").json()["path"]  # NAME/VERSION
    model_dir = Path(server.process.args[4]).parent / served
    out = write_report(model_dir, tmp_path / "report.html")
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    watched = Watched(context.new_page())
    watched.page.goto(out.as_uri())
    assert watched.page.locator("svg").count() == 4  # ALS: no rating charts, no loss curve
    assert watched.page.locator("table").count() >= 3
    box = watched.page.locator("svg").first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    watched.shot("report")
    context.close()
    assert watched.errors == []
