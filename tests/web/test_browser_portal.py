"""The public results portal in headless Chromium as an anonymous visitor (no login), against the live server
of ``tests.web.conftest`` whose seed published ``Monev KIP 2023``: from the home page to a round, a category's
ranking, a search and a body's profile, on a desktop and on a phone, with the Content-Security-Policy in
force. Screenshots go to tests/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.processes import LiveServer
from tests.web.conftest import PHONE, screenshot
from tests.web.seed import GATE_FAILED, GATED_ROUND
from tests.web.test_browser_security import Watch

pytestmark = pytest.mark.browser


def test_a_visitor_finds_a_bodys_result_and_history_without_logging_in(
    context: BrowserContext, live_server: LiveServer
) -> None:
    watch = Watch(context, live_server)  # the Content-Security-Policy holds on every portal page
    page = watch.attach(context.new_page())
    page.goto("/")
    expect(page.get_by_role("link", name="Masuk petugas")).to_be_visible()
    page.get_by_role("link", name=GATED_ROUND).click()

    expect(page.get_by_role("heading", name=f"Hasil {GATED_ROUND}", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Sebaran kualifikasi per kategori")).to_be_visible()
    counts = page.get_by_role("table").filter(has_text="Jumlah badan publik per kategori")
    expect(counts.get_by_role("rowheader", name="Kelurahan")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"Paket data"))).to_be_visible()
    screenshot(page, "portal-round")

    page.get_by_role("link", name="Peringkat Kelurahan").click()
    expect(page.get_by_role("heading", name="Peringkat Kelurahan", level=1)).to_be_visible()
    expect(page.locator("#peringkat tbody tr").first).to_be_visible()

    page.get_by_label("Nama badan publik").fill(GATE_FAILED.removeprefix("Kelurahan "))
    page.get_by_role("button", name="Tampilkan").click()
    rows = page.locator("#peringkat tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(GATE_FAILED)
    expect(page.get_by_role("status")).to_contain_text("yang sesuai saringan")
    screenshot(page, "portal-search")

    rows.first.get_by_role("link", name=GATE_FAILED).click()
    expect(page.get_by_role("heading", name=GATE_FAILED, level=1)).to_be_visible()
    expect(page).to_have_title(re.compile(rf"^Hasil E-Monev \d{{4}} {GATE_FAILED} – "))
    expect(page.get_by_role("img", name="Riwayat nilai akhir dan kualifikasi")).to_be_visible()
    expect(page.locator("#riwayat")).to_contain_text(GATED_ROUND)
    expect(page.locator("#indikator tbody tr").first).to_be_visible()
    screenshot(page, "portal-body")

    page.set_viewport_size(PHONE)
    expect(page.locator("#indikator tbody tr").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # nothing runs off a phone's screen
    assert page.context.cookies() == []  # the portal set no cookie
    assert watch.violations == []
    assert watch.outside == []
