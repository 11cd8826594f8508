"""The round's downloads page: the recap and the result sheets are asked for with a button and made as jobs
(run here by ``run_queued``, as the SQLite server thread does), their progress read by the page's script,
the finished file downloaded with the page session, a failed job explained in Indonesian and tried again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Job
from app.jobs.worker import run_queued
from app.settings import Settings
from app.web.format import time_left
from tests.exports.published import Published, publish_world
from tests.factories import World, make_job
from tests.web.conftest import Pages
from tests.web.test_result_pages import text_of

pytestmark = pytest.mark.db


@pytest.fixture
def published(world: World) -> Published:
    return publish_world(world)


def downloads(published: Published) -> str:
    return f"/ronde/{published.round.id}/unduhan"


def ask(pages: Pages, published: Published, kind: str) -> None:
    response = pages.post(downloads(published), {"kind": kind}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(downloads(published) + "?pesan=")


def only_job(session: Session) -> Job:
    jobs = session.query(Job).all()
    assert len(jobs) == 1
    session.refresh(jobs[0])
    return jobs[0]


def test_a_recap_is_asked_for_watched_and_downloaded_with_the_page_session(
    pages: Pages,
    published: Published,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    pages.login(world.admin)
    ask(pages, published, "recap")
    job = only_job(session)
    waiting = pages.get(downloads(published))
    words = text_of(waiting.text)
    assert "Rekapitulasi (Excel) revisi 1 Menunggu antrean" in words
    assert f"Diminta oleh {world.admin.email} pada " in words
    assert "menunggu giliran" in words
    assert "Batalkan" in words
    # Without scripts the page reloads itself while a job is pending; the script polls the job instead.
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in waiting.text
    assert 'src="/static/jobs.js"' in waiting.text
    assert pages.get(f"/web/pekerjaan/{job.id}").json() == {
        "id": job.id,
        "status": "queued",
        "status_label": "Menunggu antrean",
        "pending": True,
        "percent": None,
        "percent_label": "",
        "left_label": "menunggu giliran",
    }
    # Asking again while it waits gives the same job.
    ask(pages, published, "recap")
    assert session.query(Job).count() == 1

    assert run_queued(session_factory, settings) == 1
    progress = pages.get(f"/web/pekerjaan/{job.id}").json()
    assert (progress["status"], progress["pending"], progress["percent"]) == ("done", False, 100)
    done = pages.get(downloads(published))
    words = text_of(done.text)
    assert "Selesai" in words
    assert "100%" in words
    assert "refresh" not in done.text
    assert "jobs.js" not in done.text
    link = re.search(r'href="(/pekerjaan/\d+/berkas)"[^>]*>Unduh (rekap-[^<]+\.xlsx)<', done.text)
    assert link, done.text
    size = only_job(session).file_size
    assert size
    assert size > 1000
    assert re.search(rf"Unduh {re.escape(link.group(2))} \d+ KB · disimpan sampai", words)
    fetched = pages.get(link.group(1))
    assert fetched.status_code == 200
    assert fetched.content[:2] == b"PK"
    assert len(fetched.content) == size
    assert "attachment" in fetched.headers["content-disposition"]


def test_the_result_sheets_zip_shows_its_progress_and_time_left_while_running(
    pages: Pages, published: Published, session: Session
) -> None:
    pages.login(published.world.admin)
    ask(pages, published, "result_sheets")
    job = only_job(session)
    # As a worker leaves it halfway through: 2 of 4 sheets in 10 seconds.
    session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status="running", progress_done=2, progress_total=4, started_at=utcnow() - timedelta(seconds=10)
        )
    )
    progress = pages.get(f"/web/pekerjaan/{job.id}").json()
    assert progress["status_label"] == "Sedang dibuat"
    assert progress["percent"] == 50
    assert progress["percent_label"] == "50%"
    assert progress["left_label"] in {time_left(10), time_left(9), time_left(11)}
    page = pages.get(downloads(published)).text
    assert re.search(r'<progress max="100" value="50"', page)
    assert "Lembar hasil semua badan publik (ZIP)" in text_of(page)
    assert "perkiraan sisa waktu 10 detik" in text_of(page) or "perkiraan sisa waktu 9 detik" in text_of(page)


def test_time_left_reads_as_people_say_it() -> None:
    assert time_left(None) == ""
    assert time_left(42) == "perkiraan sisa waktu 42 detik"
    assert time_left(125) == "perkiraan sisa waktu 2 menit 5 detik"
    assert time_left(3 * 3600 + 120) == "perkiraan sisa waktu 3 jam 2 menit"


def test_a_pending_job_can_be_cancelled_and_a_failed_one_says_why_and_is_tried_again(
    pages: Pages,
    published: Published,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    pages.login(world.admin)
    ask(pages, published, "recap")
    job = only_job(session)
    cancelled = pages.post(f"/pekerjaan/{job.id}/batalkan", follow_redirects=False)
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == downloads(published) + "?pesan=berkas-dibatalkan"
    words = text_of(pages.get(downloads(published)).text)
    assert "Dibatalkan" in words
    assert f"Dibatalkan oleh {world.admin.email}." in words
    assert run_queued(session_factory, settings) == 0

    # A job that failed (as the runner leaves it after its last attempt) says why, and "Coba lagi" asks again.
    session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status="failed",
            error="workbook could not be written",
            error_indonesian="Rekapitulasi tidak dapat ditulis; coba lagi nanti.",
        )
    )
    page = pages.get(downloads(published)).text
    assert "Rekapitulasi tidak dapat ditulis; coba lagi nanti." in text_of(page)
    assert "workbook could not be written" not in page
    assert f'action="/pekerjaan/{job.id}/ulangi"' in page
    retried = pages.post(f"/pekerjaan/{job.id}/ulangi", follow_redirects=False)
    assert retried.status_code == 303
    assert session.query(Job).count() == 2
    assert run_queued(session_factory, settings) == 1
    assert "Unduh rekap-" in pages.get(downloads(published)).text


def test_downloads_are_for_the_commissions_readers_only(
    pages: Pages, client: TestClient, published: Published, session: Session
) -> None:
    world = published.world
    Pages(client).login(world.admin)
    ask(Pages(client).login(world.admin), published, "recap")
    job = only_job(session)
    operator = Pages(client).login(world.operator)
    assert operator.get(downloads(published)).status_code in {403, 404}
    assert operator.get(f"/web/pekerjaan/{job.id}").status_code == 404
    assert operator.get(f"/pekerjaan/{job.id}/berkas").status_code == 404
    assert operator.post(downloads(published), {"kind": "recap"}).status_code in {403, 404}
    assert operator.post(f"/pekerjaan/{job.id}/batalkan").status_code == 404
    session.refresh(job)
    assert job.status == "queued"


def test_a_file_not_ready_or_an_unknown_kind_is_refused_in_indonesian(
    pages: Pages, published: Published, session: Session
) -> None:
    pages.login(published.world.admin)
    ask(pages, published, "recap")
    job = only_job(session)
    early = pages.get(f"/pekerjaan/{job.id}/berkas")
    assert early.status_code == 409
    assert "Berkas pekerjaan ini belum tersedia." in early.text
    unknown = pages.post(
        downloads(published), {"kind": "pdf", "_form": "rekap", "_halaman": downloads(published)}
    )
    assert unknown.status_code == 422
    assert "Jenis pekerjaan ini tidak dikenal." in text_of(unknown.text)


def test_before_publication_the_downloads_page_says_so(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    page = pages.get(f"/ronde/{world.round.id}/unduhan")
    assert page.status_code == 200
    assert re.search(r'<button[^>]*id="download-recap"[^>]*disabled', page.text)
    assert "Belum ada berkas yang dibuat untuk periode ini." in text_of(page.text)
    refused = pages.post(f"/ronde/{world.round.id}/unduhan", {"kind": "recap"})
    assert refused.status_code == 409


def test_a_file_removed_after_its_retention_can_be_made_again(
    pages: Pages,
    published: Published,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    pages.login(published.world.admin)
    ask(pages, published, "recap")
    run_queued(session_factory, settings)
    job = only_job(session)
    session.execute(update(Job).where(Job.id == job.id).values(file_removed_at=utcnow()))
    page = pages.get(downloads(published)).text
    assert "Berkas sudah dihapus karena masa simpannya habis." in text_of(page)
    assert f'href="/pekerjaan/{job.id}/berkas"' not in page
    assert pages.get(f"/pekerjaan/{job.id}/berkas").status_code == 410
    again = pages.post(f"/pekerjaan/{job.id}/ulangi", follow_redirects=False)
    assert again.status_code == 303
    assert session.query(Job).count() == 2


def test_a_direct_download_of_a_large_round_leads_to_the_downloads_page(
    pages: Pages, published: Published, settings: Settings
) -> None:
    """The old direct links still stream a small round's files; a large one's are made as jobs instead."""
    world = published.world
    pages.login(world.admin)
    recap = f"/ronde/{published.round.id}/unduh/rekapitulasi.xlsx"
    assert pages.get(recap).headers["content-type"].startswith("application/vnd.openxmlformats")
    settings.sync_recap_max_bodies = 1
    settings.sync_result_sheets_max_bodies = 1
    for direct in (recap, f"/ronde/{published.round.id}/unduh/lembar-hasil.zip"):
        response = pages.get(direct, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == downloads(published) + "?pesan=berkas-terlalu-besar"
    page = pages.get(downloads(published) + "?pesan=berkas-terlalu-besar")
    assert "terlalu besar untuk langsung diunduh" in page.text


def test_the_downloads_page_lists_files_not_link_sweeps(
    pages: Pages, published: Published, session: Session
) -> None:
    world = published.world
    make_job(
        session,
        published.round,
        world.admin,
        kind="link_sweep",
        params={"night": "2025-12-01"},
        status="done",
        requested_by={"role": "system_admin", "label": "jadwal malam"},
        requested_by_label="jadwal malam",
    )
    pages.login(world.admin)
    ask(pages, published, "recap")
    page = pages.get(downloads(published)).text
    assert "Rekapitulasi (Excel)" in page
    assert "jadwal malam" not in page
