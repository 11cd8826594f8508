"""Results that explain themselves, in headless Chromium against the live server (see ``live_server``): the
seed's published round ``Monev KIP 2023`` has a presentation stage behind a gate of 60 that Kelurahan
Gambir did not pass. Screenshots go to tests/screenshots/ (1280 and 390 pixels wide)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import log_in, screenshot
from tests.web.seed import GATE_FAILED, GATED_ROUND, GATED_STAGE

pytestmark = pytest.mark.browser

TOOK_NO_PART = "Kelurahan Kebon Kacang"


def test_a_body_that_failed_the_gate_reads_its_figure_and_the_threshold(page: Page) -> None:
    log_in(page, "ppid.kelurahan-gambir@demo.emonev.id")
    card = page.locator("section.card").filter(has=page.get_by_role("heading", name=GATED_ROUND))
    card.get_by_role("link", name="Lihat hasil").click()
    expect(page.get_by_role("heading", name=f"Hasil penilaian {GATED_ROUND}")).to_be_visible()

    saq = page.locator('#stages tr[data-stage="saq"] td').nth(2)
    verified = saq.inner_text()
    assert re.fullmatch(r"\d{1,2},\d\d", verified), verified
    gate = page.locator("#gate-explanation")
    expect(gate).to_have_text(
        f"Tidak lolos ke tahap {GATED_STAGE}: nilai SAQ terverifikasi {verified}, batas 60."
    )
    expect(page.locator('#stages tr[data-stage="presentasi"]')).to_contain_text(
        "Tidak mengikuti (dihitung 0)"
    )
    expect(page.locator("#final-explanation")).to_contain_text("tahap yang tidak diikuti dihitung 0")
    expect(page.locator("#final-explanation")).to_contain_text(f"SAQ {verified} × 70%")
    expect(page.locator("#aspects")).to_contain_text("Jenis Informasi")
    expect(page.locator("#aspects")).not_to_contain_text("Indikator 1")
    screenshot(page, "result-gate-failed")

    # On a phone the stage table still shows each stage with its weight and what counted.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator('#stages tr[data-stage="presentasi"]')).to_be_visible()
    expect(gate).to_be_visible()


def test_the_ranking_shows_who_did_not_take_part_in_each_stage(page: Page) -> None:
    log_in(page, "admin.dki@demo.emonev.id")
    page.get_by_role("link", name=GATED_ROUND).first.click()
    page.get_by_role("link", name="Peringkat", exact=True).click()
    failed = page.locator("#ranking tbody tr").filter(has_text=GATE_FAILED)
    expect(failed.locator('td[data-stage="presentasi"]')).to_have_text("Tidak mengikuti (dihitung 0)")
    expect(failed).to_contain_text(f"Tidak lolos ke tahap {GATED_STAGE}")
    absent = page.locator("#ranking tbody tr").filter(has_text=TOOK_NO_PART)
    expect(absent.locator('td[data-stage="saq"]')).to_have_text("Tidak mengikuti")
    expect(absent.locator('td[data-stage="presentasi"]')).to_have_text("Tidak mengikuti")
    expect(page.get_by_role("columnheader", name=f"{GATED_STAGE} (30%)")).to_be_visible()
    screenshot(page, "ranking-gated")


def test_downloads_wait_for_publication_and_say_so(page: Page) -> None:
    log_in(page, "admin.dki@demo.emonev.id")
    page.get_by_role("link", name="Monev KIP 2025").first.click()
    page.get_by_role("link", name="Penetapan & Unduhan").click()
    for button in ("#download-recap", "#download-result-sheets"):
        expect(page.locator(button)).to_be_disabled()
    expect(page.locator("#download-recap-reason")).to_have_text("Tersedia setelah hasil diumumkan.")
    expect(page.locator('a[href$="rekapitulasi.xlsx"]')).to_have_count(0)
    screenshot(page, "publication-before-publishing")
