"""The pages and the API documentation in a real browser with the Content-Security-Policy in force (issue 14,
problem 9): no page breaks the policy (every violation is a console message that fails the test), and /docs
and /redoc render with the service's own files while every request to another origin is refused, as on a
closed network."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route, expect

from tests.processes import LiveServer
from tests.web.conftest import log_in
from tests.web.seed import GATED_ROUND

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


class Watch:
    """Console messages about the Content-Security-Policy, page errors and requests to other origins."""

    def __init__(self, context: BrowserContext, live_server: LiveServer) -> None:
        self.origin = urlsplit(live_server.url).netloc
        self.violations: list[str] = []
        self.outside: list[str] = []
        context.add_init_script(REPORT_VIOLATIONS)
        context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).netloc != self.origin:
            self.outside.append(url)
            route.abort()
        else:
            route.continue_()

    def attach(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.violations.append(f"page error: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("CSP violation"):
            self.violations.append(message.text)


@pytest.fixture
def watch(context: BrowserContext, live_server: LiveServer) -> Iterator[Watch]:
    found = Watch(context, live_server)
    yield found
    assert found.violations == []
    assert found.outside == []


def test_the_main_pages_keep_to_the_policy(context: BrowserContext, watch: Watch) -> None:
    page = watch.attach(context.new_page())
    page.goto("/login")
    expect(page.get_by_role("button", name="Masuk")).to_be_visible()

    log_in(page, "ppid.kelurahan-gambir@demo.emonev.id")  # a half-filled draft in the open round
    page.locator("a[href^='/pengisian/']").first.click()
    expect(page.locator("#saq-form")).to_be_visible()
    expect(page.locator("#score")).not_to_be_empty()  # saq.js ran
    page.get_by_role("button", name="Keluar").click()

    log_in(page, "verifikator@demo.emonev.id")
    page.locator("a[href^='/verifikasi/']").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("button", name="Keluar").click()

    log_in(page, "admin.dki@demo.emonev.id")
    page.get_by_role("link", name=GATED_ROUND).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("link", name="Peringkat", exact=True).click()
    expect(page.locator("figure svg")).to_be_visible()  # the band chart


def test_the_api_documentation_renders_offline(context: BrowserContext, watch: Watch) -> None:
    page = watch.attach(context.new_page())
    page.goto("/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/templates").first).to_be_visible()

    assert watch.violations == []

    page.goto("/redoc")
    expect(page.get_by_text("/api/v1/templates").first).to_be_attached(timeout=15_000)
    # ReDoc's "API docs by Redocly" footer asks for its logo from Redocly's CDN: the policy refuses that image
    # (as it should); nothing else may be refused.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert all(logo in v and "img-src" in v for v in watch.violations), watch.violations
    watch.violations.clear()
