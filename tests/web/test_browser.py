"""The pages in headless Chromium against a real uvicorn server (see ``live_server``): the PPID operator's
SAQ, a stale second tab, the verifier and the commission. Screenshots go to tests/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.conftest import DESKTOP, PHONE, SCREENSHOTS, LiveServer, log_in, screenshot, section_screenshot

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SAVED = "Tersimpan"


def question(page: Page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[id="q-{code}"]')


def save_of(page: Page):  # type: ignore[no-untyped-def]
    """Wait for the next autosave the page sends to answer 200."""
    return page.expect_response(lambda r: r.url.endswith("/jawaban") and r.status == 200)


def test_operator_fills_in_uploads_evidence_sees_the_score_and_submits(page: Page, tmp_path: Path) -> None:
    log_in(page, "ppid.kelurahan-menteng@demo.emonev.id")
    screenshot(page, "operator-dashboard")
    page.get_by_role("button", name="Mulai mengisi SAQ").click()
    expect(page).to_have_url(re.compile(r"/pengisian/\d+$"))
    score = page.locator("#score")
    expect(score).to_have_text("0,00")

    # A conditional question appears only when its condition holds, and hides again.
    expect(question(page, "1.1.2")).to_be_hidden()
    with save_of(page):
        question(page, "1.1.1").get_by_label("Ya", exact=True).check()
    expect(question(page, "1.1.2")).to_be_visible()
    expect(page.locator("#save-state")).to_have_text(SAVED)
    expect(question(page, "1.1.1").locator("[data-role=explain]")).to_contain_text("memerlukan data dukung")
    expect(score).to_have_text("0,00")
    with save_of(page):
        question(page, "1.1.1").get_by_label("Tidak", exact=True).check()
    expect(question(page, "1.1.2")).to_be_hidden()
    with save_of(page):
        question(page, "1.1.1").get_by_label("Ya", exact=True).check()
    expect(question(page, "1.1.2")).to_be_visible()

    # Uploading the evidence makes the answer count, and the score moves live.
    pdf = tmp_path / "sk-dip-2024.pdf"
    pdf.write_bytes(PDF)
    question(page, "1.1.1").get_by_label("Unggah dokumen PDF").set_input_files(pdf)
    expect(question(page, "1.1.1").locator("[data-role=upload-state]")).to_contain_text("sudah diunggah")
    expect(question(page, "1.1.1").get_by_role("link", name="sk-dip-2024.pdf")).to_be_visible()
    expect(question(page, "1.1.1").locator("[data-role=explain]")).to_have_text("Memperoleh 3 dari 3.")
    expect(score).not_to_have_text("0,00")

    # A "Ya" without its required evidence is flagged before submitting.
    with save_of(page):
        question(page, "1.1.2").get_by_label("Ya", exact=True).check()
    expect(page.locator("#save-state")).to_have_text(SAVED)
    screenshot(page, "operator-saq-form", full_page=False)
    page.get_by_role("link", name="Periksa dan kirim SAQ").first.click()
    expect(page.locator("#evidence-missing")).to_contain_text("1.1.2")
    expect(page.locator("#evidence-missing")).not_to_contain_text("1.1.1 ")
    expect(page.locator("#unanswered")).to_be_visible()
    screenshot(page, "operator-submit-check")

    # Incomplete: "Kirim SAQ" leads to a confirmation step with the counts, which locks it.
    page.get_by_role("button", name="Kirim SAQ").click()
    page.get_by_label("saya mengerti bagian yang belum lengkap bernilai 0").check()
    page.get_by_role("button", name=re.compile(r"^Ya, kirim dengan \d+ pertanyaan belum dijawab")).click()
    expect(page.get_by_role("status").filter(has_text="sudah dikirim")).to_have_count(2)
    expect(question(page, "1.1.1").get_by_label("Ya", exact=True)).to_be_disabled()
    expect(question(page, "1.1.1").get_by_label("Ya", exact=True)).to_be_checked()


def test_a_stale_tab_gets_a_clear_conflict_message_and_loses_nothing(context: BrowserContext) -> None:
    first = context.new_page()
    log_in(first, "ppid.kelurahan-gondangdia@demo.emonev.id")
    first.get_by_role("button", name="Mulai mengisi SAQ").click()
    expect(first).to_have_url(re.compile(r"/pengisian/\d+$"))
    second = context.new_page()
    second.goto(first.url)

    with save_of(first):
        question(first, "1.1.1").get_by_label("Ya", exact=True).check()

    # The second tab still holds the old version: its save is refused, and it says why.
    link = "https://ppid.gondangdia.example.go.id/dip-2024"
    with second.expect_response(lambda r: r.url.endswith("/jawaban") and r.status == 412):
        question(second, "1.1.1").get_by_label("Tautan data dukung").fill(link)
    conflict = second.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Data telah diubah di tab/perangkat lain")
    expect(second.locator("#save-state")).to_have_attribute("data-state", "conflict")
    expect(question(second, "1.1.1").get_by_label("Tautan data dukung")).to_have_value(link)
    screenshot(second, "operator-conflict", full_page=False)

    # Merging loads the other tab's answer and keeps (and saves) what was typed here.
    with save_of(second):
        second.get_by_role("button", name="Muat ulang dan gabungkan").click()
    expect(conflict).to_be_hidden()
    expect(second.locator("#save-state")).to_have_text(SAVED)
    expect(question(second, "1.1.1").get_by_label("Ya", exact=True)).to_be_checked()
    expect(question(second, "1.1.1").get_by_label("Tautan data dukung")).to_have_value(link)

    first.reload()
    expect(question(first, "1.1.1").get_by_label("Ya", exact=True)).to_be_checked()
    expect(question(first, "1.1.1").get_by_label("Tautan data dukung")).to_have_value(link)
    expect(question(first, "1.1.1").locator("[data-role=explain]")).to_have_text("Memperoleh 3 dari 3.")


def test_a_verifier_overrules_an_answer_and_approves_the_unreviewed_rest(page: Page) -> None:
    log_in(page, "verifikator@demo.emonev.id")
    row = page.get_by_role("row").filter(has_text="Kelurahan Cikini").filter(has_text="Monev KIP 2025")
    expect(row).to_contain_text("Terkirim")
    expect(row).to_contain_text("Belum diverifikasi")
    expect(row.locator('td[data-label="Kategori"]')).to_have_text("Kelurahan")  # the name, not the code
    expect(row.locator('td[data-label="Diperiksa"]')).to_have_text(re.compile(r"^0 dari \d+$"))
    screenshot(page, "verifier-dashboard")

    # A draft the body is still filling in: the page says so and until when, and offers nothing to start.
    page.get_by_role("link", name="Buka verifikasi Kelurahan Gambir, Monev KIP 2025").click()
    expect(page.locator("#still-filling-text")).to_contain_text(
        "SAQ masih diisi oleh badan publik; verifikasi dapat dimulai setelah SAQ dikirim atau batas waktu"
    )
    expect(page.get_by_role("button", name="Mulai verifikasi")).to_have_count(0)
    expect(page.get_by_text("Jawaban badan publik")).to_have_count(0)
    screenshot(page, "verifier-draft-still-filling")
    page.go_back()

    page.get_by_role("link", name="Buka verifikasi Kelurahan Cikini, Monev KIP 2025").click()
    page.get_by_role("button", name="Mulai verifikasi").click()

    # Nothing reviewed: the verified score says it is provisional and how many questions are left, no band.
    applicable = int(page.locator("#review-total").inner_text())
    expect(page.locator("#reviewed")).to_have_text("0")
    expect(page.locator("#verified-provisional")).to_have_text("Sementara")
    expect(page.locator("#score-table tr.total .band")).to_have_count(1)  # the self-assessed band only
    expect(page.locator("#provisional-note")).to_contain_text(f"{applicable} pertanyaan belum diperiksa")
    expect(page.locator("#unreviewed-count")).to_have_text(str(applicable))
    expect(page.locator("[data-role=link-check]").first).to_have_text("Tautan belum dicek")

    # Nothing is reviewed yet: each question says so, shows the body's answer and has no value chosen.
    item = page.locator('[id="v-1.1.1"]')
    expect(item.locator(".q-meta")).to_contain_text("Belum diperiksa")
    expect(item.locator("[data-role=self-value]")).to_have_text("Ya")
    expect(item.locator("[data-role=unreviewed]")).to_be_visible()
    expect(item.locator("input[name=value]:checked")).to_have_count(0)
    expect(item.get_by_label("Data dukung sudah diperiksa dan sah")).not_to_be_checked()
    unreviewed = page.locator(".question").filter(has=page.locator("[data-role=unreviewed]"))
    total = unreviewed.count()
    assert total > 10
    # Conditional questions whose condition is not met by verified values are not counted.
    not_applicable = page.locator(".question [data-role=not-applicable]").count()
    assert applicable == total - not_applicable
    expect(page.locator(".question input[name=value]:checked")).to_have_count(0)

    item.get_by_label("Tidak", exact=True).check()
    item.get_by_label("Data dukung sudah diperiksa dan sah").check()
    item.get_by_label("Catatan verifikator").fill("SK penetapan DIP belum ditandatangani Lurah.")
    item.get_by_role("button", name="Simpan verifikasi 1.1.1").click()

    item = page.locator('[id="v-1.1.1"]')
    expect(item).to_contain_text("Diubah verifikator")
    expect(item).to_contain_text("Sudah diperiksa")
    expect(item.get_by_label("Tidak", exact=True)).to_be_checked()
    expect(item.locator("[data-role=self-value]")).to_have_text("Ya")
    expect(page.locator("#reviewed")).to_have_text("1")
    applicable = int(page.locator("#review-total").inner_text())
    expect(page.locator("#unreviewed-count")).to_have_text(str(applicable - 1))
    expect(page.locator("#provisional-note")).to_contain_text(f"{applicable - 1} pertanyaan belum diperiksa")
    screenshot(page, "verifier-verification", full_page=False)
    _the_score_table_fits_a_phone(page)

    # The rest is approved as one counted step, only once the verifier ticks the statement.
    approve = page.get_by_role("button", name=f"Setujui {total - 1} jawaban yang belum diperiksa")
    approve.click()
    expect(page.locator("#reviewed")).to_have_text("1")  # the browser asks for the tick first
    page.get_by_label(f"Saya menyetujui {total - 1} jawaban badan publik ini").check()
    approve.click()
    expect(page.get_by_role("status").filter(has_text="sudah disetujui")).to_be_visible()
    expect(page.locator("#reviewed")).to_have_text(page.locator("#review-total").inner_text())
    # Everything reviewed, not yet completed: the band shows, still marked provisional.
    expect(page.locator("#verified-provisional")).to_have_text("Sementara")
    expect(page.locator("#provisional-note")).to_contain_text("sampai verifikasi ditandai selesai")
    expect(page.locator("#belum-diperiksa")).to_have_count(0)
    expect(page.locator("[data-role=unreviewed]")).to_have_count(0)
    expect(page.locator('[id="v-1.1.1"]').get_by_label("Tidak", exact=True)).to_be_checked()
    screenshot(page, "verifier-verification-approved", full_page=False)


def _the_score_table_fits_a_phone(page: Page) -> None:
    """At 390 px the score table is shown whole: nothing wider than the screen, nothing to scroll sideways."""
    page.set_viewport_size(PHONE)
    table = page.locator("#score-table")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    wrap = table.locator("xpath=..")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth")
    expect(page.locator("#verified-score")).to_be_in_viewport()
    page.screenshot(path=SCREENSHOTS / "verifier-score-table-phone.png")
    page.set_viewport_size(DESKTOP)


def test_the_commission_publishes_and_downloads_the_recap(page: Page, tmp_path: Path) -> None:
    log_in(page, "admin.dki@demo.emonev.id")
    screenshot(page, "commission-dashboard")
    page.get_by_role("link", name="Monev KIP 2024").first.click()
    screenshot(page, "commission-round-setup")
    page.get_by_role("link", name="Partisipasi", exact=True).click()
    expect(page.locator("#participation-bodies")).to_contain_text("Kecamatan Tanah Abang")
    screenshot(page, "commission-participation")

    page.get_by_role("link", name="Penetapan & Unduhan").click()
    expect(page.locator("#published-state")).to_contain_text("Belum diumumkan")
    page.get_by_label("Dasar penetapan").fill("Keputusan Rapat Pleno KI DKI Nomor 12/2024")
    page.get_by_role("button", name="Umumkan hasil").click()
    expect(page.locator("#published-state")).to_contain_text("Diumumkan")
    screenshot(page, "commission-publication")

    # The recap is made in the background: the downloads page offers it once it is done.
    page.locator("#download-recap").click()
    recap = page.locator("#jobs > li").first.get_by_role("link", name=re.compile(r"^Unduh .*\.xlsx$"))
    with page.expect_download(timeout=30_000) as download:
        recap.click(timeout=30_000)
    assert download.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"  # an XLSX is a ZIP package

    page.get_by_role("link", name="Peringkat", exact=True).click()
    expect(page.locator("svg.chart")).to_be_visible()
    first = page.locator("#ranking tbody tr").filter(has_text="Kelurahan Menteng")
    expect(first).to_contain_text("Informatif")
    expect(first.locator("td").first).to_have_text("1")
    page.get_by_label("Kategori", exact=True).select_option("kecamatan")
    page.get_by_role("button", name="Saring").click()
    expect(page.locator("#ranking tbody tr")).to_have_count(3)
    expect(page.locator("#ranking")).to_contain_text("Tidak Mengikuti")
    screenshot(page, "commission-ranking")


def test_the_commission_finds_a_body_by_typing_its_name_and_extends_its_deadline(page: Page) -> None:
    log_in(page, "admin.dki@demo.emonev.id")
    page.get_by_role("link", name="Monev KIP 2025").first.click()
    form = page.locator("#extension-form")
    form.get_by_label("Batas waktu baru").fill("2099-09-15T23:59")
    form.get_by_label("Cari nama badan publik").press_sequentially("gondang", delay=30)
    found = form.locator("[data-picker-results]").get_by_label(re.compile("Kelurahan Gondangdia"))
    expect(found).to_be_visible()
    expect(form.locator("[data-picker-results]")).not_to_contain_text("Kelurahan Cikini")
    screenshot(page, "commission-extension-search")
    section_screenshot(page, "#perpanjangan", "commission-extension-search-section")
    found.check()
    chosen = form.locator("[data-picker-chosen]")
    expect(chosen.get_by_label(re.compile("Kelurahan Gondangdia"))).to_be_checked()
    expect(form.get_by_label("Badan publik tertentu")).to_be_checked()
    form.get_by_label("Alasan (keputusan rapat pleno)").fill("Keputusan Rapat Pleno KI DKI Nomor 9/2025")
    screenshot(page, "commission-extension-picker")
    form.get_by_role("button", name="Catat perpanjangan").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Perpanjangan batas waktu sampai 15 September 2099 pukul 23.59 WIB sudah dicatat untuk "
        "Kelurahan Gondangdia."
    )
    history = page.locator("#extension-history")
    expect(history.locator("tbody tr").first).to_contain_text("Kelurahan Gondangdia")
    screenshot(page, "commission-extension-history")
    section_screenshot(page, "#perpanjangan", "commission-extension-history-section")


def test_the_body_picker_works_without_scripts(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, "admin.dki@demo.emonev.id")
        page.get_by_role("link", name="Monev KIP 2025").first.click()
        form = page.locator("#extension-form")
        form.get_by_label("Batas waktu baru").fill("2099-10-01T12:00")
        form.get_by_label("Alasan (keputusan rapat pleno)").fill("Keputusan Rapat Pleno KI DKI Nomor 10/2025")
        form.get_by_label("Wilayah (kode atau nama)").fill("Tanah Abang")
        form.get_by_label("Kategori", exact=True).select_option("kelurahan")
        form.get_by_role("button", name="Cari").click()
        form = page.locator("#extension-form")
        found = form.locator(".picker-results").get_by_label(re.compile("Kelurahan Kebon Kacang"))
        expect(found).not_to_be_checked()
        expect(form.locator(".picker-results")).not_to_contain_text("Kecamatan Tanah Abang")
        expect(form.get_by_label("Badan publik tertentu")).to_be_checked()
        expect(form.get_by_label("Alasan (keputusan rapat pleno)")).to_have_value(
            "Keputusan Rapat Pleno KI DKI Nomor 10/2025"
        )
        found.check()
        form.get_by_role("button", name="Catat perpanjangan").click()
        expect(page.get_by_role("status")).to_contain_text("sudah dicatat untuk Kelurahan Kebon Kacang.")
        expect(page.locator("#extension-history")).to_contain_text("Kelurahan Kebon Kacang")
    finally:
        context.close()
