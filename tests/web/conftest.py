"""Helpers for page tests: log in through the login form and read CSRF tokens from pages."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from app.db.models import Account
from tests.factories import PASSWORD
from tests.processes import LiveServer, serve

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Pages:
    """A TestClient logged in through the login form, posting forms and JSON with the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, account: Account, password: str = PASSWORD) -> Pages:
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"email": account.email, "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.csrf = csrf_of(self.client.get("/").text)
        return self

    def get(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def post_json(self, url: str, payload: object, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.post(url, json=payload, headers={"X-CSRF-Token": self.csrf}, **kwargs)


@pytest.fixture
def pages(client: TestClient) -> Pages:
    return Pages(client)


# --- Browser tests: a real uvicorn server and Debian's Chromium --------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "tests" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEMO_PASSWORD = "demo-emonev-2025"


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; the browser tests are skipped (with the reason) without it, unless CI=true."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing: apt-get install chromium")
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    return CHROMIUM


# Module scope: Playwright's synchronous API keeps an event loop running in the test thread while it is
# started, so it is stopped at the end of each browser test module; an asyncio test that follows in the same
# worker (pytest-xdist mixes the files) could not run its own loop otherwise.
@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    """Headless Chromium driven by Playwright."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def live_server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``emonev serve`` (uvicorn, the app as deployed) on a free loopback port, on a temporary SQLite file
    migrated with ``emonev db upgrade`` and seeded by ``tests.web.seed`` (the demo data plus later rounds)."""
    root = tmp_path_factory.mktemp("live")
    settings = {
        "EMONEV_ENVIRONMENT": "test",
        "EMONEV_DEMO_DATA": "false",
        "EMONEV_SECRET_KEY": "kunci-rahasia-uji-halaman",
    }
    with serve(root, settings, prepare=[["db", "upgrade"], ["seed"]]) as server:
        yield server


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="id-ID")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A desktop page that accepts confirmation dialogs (as a user clicking OK would)."""
    new = context.new_page()
    new.on("dialog", lambda dialog: dialog.accept())
    return new


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Surel").fill(email)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save the page at desktop and phone widths to tests/screenshots/ (ignored by git) for review; long
    forms only as far as the screen shows."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=full_page)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=full_page)
    page.set_viewport_size(DESKTOP)


def section_screenshot(page: Page, selector: str, name: str) -> None:
    """Save one part of the page (``selector``) at desktop and phone widths, for a closer look than a whole
    long page gives."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.locator(selector).screenshot(path=SCREENSHOTS / f"{name}-{label}.png")
    page.set_viewport_size(DESKTOP)
