"""The downloads page in headless Chromium against the live server (see ``live_server``), whose SQLite job
thread makes the files: the commission asks for the recap of the seed's published round ``Monev KIP 2023``,
watches the bar fill and downloads the workbook; a job whose progress the test moves by hand shows its bar
moving without a reload, then its failure in Indonesian, and "Coba lagi" makes the file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Account, Job, Round
from tests.factories import make_job
from tests.web.conftest import LiveServer, log_in, screenshot
from tests.web.seed import GATED_ROUND
from tests.web.test_indonesian_pages import english_in

pytestmark = pytest.mark.browser

ADMIN = "admin.dki@demo.emonev.id"
# The job thread makes a demo round's file in a second or two; generous for a busy machine.
DONE_WITHIN_MS = 30_000


@pytest.fixture
def database(live_server: LiveServer) -> Iterator[sessionmaker[Session]]:
    """Sessions on the live server's own SQLite file, to set a job's progress as a worker would."""
    engine = create_engine(live_server.env["EMONEV_DATABASE_URL"], connect_args={"timeout": 15})
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def open_downloads(page: Page) -> None:
    log_in(page, ADMIN)
    page.get_by_role("link", name=GATED_ROUND).first.click()
    page.get_by_role("link", name="Unduhan", exact=True).click()
    expect(page.get_by_role("heading", name=f"Unduhan {GATED_ROUND}")).to_be_visible()


def test_the_commission_asks_for_a_recap_sees_the_bar_fill_and_downloads_it(
    page: Page, tmp_path: Path
) -> None:
    open_downloads(page)
    page.get_by_role("button", name="Buat rekapitulasi").click()
    expect(page.get_by_role("status")).to_contain_text("Permintaan sudah masuk antrean")
    job = page.locator("#jobs > li").first
    expect(job).to_contain_text("Rekapitulasi (Excel)")
    expect(job).to_contain_text("Diminta oleh admin.dki@demo.emonev.id pada ")

    # The page follows the job by itself (no meta refresh runs while scripts do).
    expect(job.locator("progress")).to_have_attribute("value", "100", timeout=DONE_WITHIN_MS)
    expect(job.locator("[data-role=percent]")).to_have_text("100%")
    expect(job.locator("[data-role=status]")).to_have_text("Selesai")
    link = job.get_by_role("link", name=re.compile(r"^Unduh rekap-.*\.xlsx$"))
    expect(link).to_be_visible()
    expect(job).to_contain_text(re.compile(r"\d+ KB · disimpan sampai \d+ \w+ \d{4} pukul"))
    screenshot(page, "commission-downloads")

    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.endswith(".xlsx")
    assert saved.read_bytes()[:2] == b"PK"


def test_the_bar_moves_as_the_job_reports_and_a_failed_job_says_why_and_is_tried_again(
    page: Page, database: sessionmaker[Session]
) -> None:
    # A recap a worker has begun, 1 of 4 steps done after 10 seconds.
    with database.begin() as session:
        admin = session.scalars(select(Account).where(Account.email == ADMIN)).one()
        round_ = session.scalars(select(Round).where(Round.title == GATED_ROUND)).one()
        job_id = make_job(
            session,
            round_,
            admin,
            status="running",
            progress_done=1,
            progress_total=4,
            attempts=1,
            started_at=utcnow() - timedelta(seconds=10),
            heartbeat_at=utcnow(),
        ).id

    def report(**values: object) -> None:
        with database.begin() as session:
            session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow(), **values))

    open_downloads(page)
    job = page.locator(f"#job-{job_id}")
    expect(job.locator("[data-role=status]")).to_have_text("Sedang dibuat")
    expect(job.locator("progress")).to_have_attribute("value", "25")
    expect(job.locator("[data-role=percent]")).to_have_text("25%")
    page.evaluate("window.notReloaded = true")

    report(progress_done=3)
    expect(job.locator("progress")).to_have_attribute("value", "75", timeout=10_000)
    expect(job.locator("[data-role=percent]")).to_have_text("75%")
    expect(job.locator("[data-role=left]")).to_contain_text("perkiraan sisa waktu")
    assert page.evaluate("window.notReloaded") is True  # moved by the script, not by reloading

    report(
        status="failed",
        finished_at=utcnow(),
        error="the workbook could not be written",
        error_indonesian="Rekapitulasi tidak dapat dibuat karena ruang penyimpanan penuh.",
    )
    expect(job.get_by_role("alert")).to_have_text(
        "Rekapitulasi tidak dapat dibuat karena ruang penyimpanan penuh.", timeout=10_000
    )
    expect(job.locator("[data-role=status]")).to_have_text("Gagal")
    assert english_in(page.inner_text("main")) == []
    screenshot(page, "commission-downloads-failed")

    job.get_by_role("button", name="Coba lagi").click()
    again = page.locator("#jobs > li").first
    expect(again).not_to_have_id(f"job-{job_id}")
    expect(again.get_by_role("link", name=re.compile(r"^Unduh rekap-.*\.xlsx$"))).to_be_visible(
        timeout=DONE_WITHIN_MS
    )
    expect(again.locator("progress")).to_have_attribute("value", "100")
