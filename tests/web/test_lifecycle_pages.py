"""The round's life cycle on the pages: closing the SAQ stage through its confirmation step, the drafts rule,
the secretariat reopening a SAQ, and what the body reads about it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, DeadlineExtension, Submission, Verification
from app.web.format import when
from tests.factories import MINI_FULL, World, make_answers, make_submission, now
from tests.web.conftest import Pages

REASON = "Data dukung 1.1.1 salah unggah (permintaan PPID)"


def extended_and_drafting(world: World, session: Session) -> DeadlineExtension:
    """The round a minute past its deadline: world.body has a draft and an extension for two more days,
    world.other_body a draft."""
    world.round.saq_closes_at = now() - timedelta(minutes=1)
    for body in (world.body, world.other_body):
        make_answers(
            session, make_submission(session, world.round, body, world.template), {"1.1.2": {"value": "a"}}
        )
    extension = DeadlineExtension(
        round_id=world.round.id,
        closes_at=now() + timedelta(days=2),
        scope="bodies",
        body_ids=[world.body.id],
        reason="Rapat pleno",
    )
    session.add(extension)
    session.flush()
    return extension


def _form(page: str, name: str) -> str:
    """The part of the page from the form's marker on (the form named ``name`` and what follows)."""
    start = page.index(f'name="_form" value="{name}"')
    return page[start:]


@pytest.mark.db
def test_closing_goes_through_a_confirmation_step_naming_the_bodies(
    pages: Pages, world: World, session: Session
) -> None:
    extension = extended_and_drafting(world, session)
    pages.login(world.admin)
    round_page = pages.get(f"/ronde/{world.round.id}").text
    assert f'href="/ronde/{world.round.id}/status?ke=closed"' in round_page

    confirm = pages.get(f"/ronde/{world.round.id}/status?ke=closed")

    assert confirm.status_code == 200
    text = confirm.text
    assert "Tutup pengisian SAQ?" in text
    drafts = text[text.index('id="daftar-draf"') : text.index('id="h-perpanjangan-list"')]
    running = text[text.index('id="daftar-perpanjangan"') : text.index('id="h-belum-list"')]
    assert world.other_body.name in drafts
    assert world.body.name not in drafts
    assert world.body.name in running
    assert when(extension.closes_at, "Asia/Jakarta") in running
    assert "Belum mulai mengisi (0)" in text
    assert "tidak dinilai" in text  # what becomes of the drafts (not_participating)

    page_path = f"/ronde/{world.round.id}/status?ke=closed"
    unconfirmed = pages.post(
        f"/ronde/{world.round.id}/status", {"to": "closed", "_form": "status", "_halaman": page_path}
    )
    assert unconfirmed.status_code == 409
    assert "Tutup pengisian SAQ?" in unconfirmed.text  # back on the confirmation step
    assert "Centang konfirmasi setelah membaca daftar badan publik yang terdampak." in unconfirmed.text
    session.refresh(world.round)
    assert world.round.status == "open"

    closed = pages.post(
        f"/ronde/{world.round.id}/status",
        {"to": "closed", "confirm": "ya", "_form": "status", "_halaman": page_path},
        follow_redirects=False,
    )
    assert closed.status_code == 303, closed.text
    session.refresh(world.round)
    assert world.round.status == "closed"
    assert "Pengisian SAQ ditutup" in pages.get(f"/ronde/{world.round.id}").text


@pytest.mark.db
def test_closing_early_is_said_on_the_confirmation_step(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    text = pages.get(f"/ronde/{world.round.id}/status?ke=closed").text
    assert "Ditutup lebih awal." in text
    assert when(world.round.saq_closes_at, "Asia/Jakarta") in text


@pytest.mark.db
def test_leaving_verification_while_an_extension_runs_is_explained(
    pages: Pages, world: World, session: Session
) -> None:
    extended_and_drafting(world, session)
    world.round.status = "verification"
    world.round.saq_closed_at = now()
    session.flush()
    pages.login(world.admin)
    text = pages.get(f"/ronde/{world.round.id}/status?ke=objection").text
    assert "Masih ada perpanjangan yang berjalan (1)" in text
    assert world.body.name in text
    refused = pages.post(
        f"/ronde/{world.round.id}/status",
        {"to": "objection", "_form": "status", "_halaman": f"/ronde/{world.round.id}"},
    )
    assert refused.status_code == 409
    assert "Verifikasi belum dapat diakhiri" in refused.text
    assert world.body.name in refused.text


@pytest.mark.db
def test_the_drafts_rule_is_set_on_the_round_page(pages: Pages, world: World, session: Session) -> None:
    pages.login(world.admin)
    saved = pages.post(
        f"/ronde/{world.round.id}/draf",
        {"drafts_at_deadline": "submit", "_form": "draf", "_halaman": f"/ronde/{world.round.id}"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(world.round)
    assert world.round.drafts_at_deadline == "submit"
    form = _form(pages.get(f"/ronde/{world.round.id}").text, "draf")
    assert 'value="submit" checked' in form

    world.round.status = "closed"
    session.flush()
    refused = pages.post(
        f"/ronde/{world.round.id}/draf",
        {"drafts_at_deadline": "not_participating", "_form": "draf", "_halaman": f"/ronde/{world.round.id}"},
    )
    assert refused.status_code == 409
    assert "Aturan draf saat batas waktu tidak dapat diubah" in refused.text


@pytest.mark.db
@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("not_participating", "draf <strong>tidak dinilai</strong>"),
        ("submit", "isian Anda <strong>dikirim otomatis apa adanya</strong>"),
    ],
)
def test_the_body_is_told_what_becomes_of_its_draft(
    pages: Pages, world: World, session: Session, rule: str, words: str
) -> None:
    world.round.drafts_at_deadline = rule
    sub = make_submission(session, world.round, world.body, world.template)
    pages.login(world.operator)
    deadline = when(world.round.saq_closes_at, "Asia/Jakarta")
    for url in ("/", f"/pengisian/{sub.id}"):
        text = pages.get(url).text
        assert words in text, url
        assert f"saat batas waktu ({deadline})" in text


@pytest.mark.db
def test_after_the_close_the_extended_body_edits_and_the_other_reads(
    pages: Pages, world: World, session: Session
) -> None:
    extended_and_drafting(world, session)
    world.round.status = "closed"
    world.round.saq_closed_at = now()
    session.flush()
    mine, theirs = (
        session.scalar(select(Submission.id).where(Submission.body_id == body.id))
        for body in (world.body, world.other_body)
    )
    pages.login(world.operator)
    assert "Lanjutkan mengisi" in pages.get("/").text
    assert 'id="save-state"' in pages.get(f"/pengisian/{mine}").text

    other = Pages(pages.client).login(world.other_operator)
    assert "Lihat jawaban" in other.get("/").text
    form = other.get(f"/pengisian/{theirs}").text
    assert 'id="save-state"' not in form
    assert "draf tidak dinilai" in form


@pytest.mark.db
def test_the_secretariat_reopens_a_saq_and_the_body_reads_why(
    pages: Pages, world: World, session: Session
) -> None:
    sub = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    make_answers(session, sub, MINI_FULL)
    pages.login(world.admin)
    assert f'href="/ronde/{world.round.id}/buka-kembali"' in pages.get(f"/ronde/{world.round.id}").text
    listing = pages.get(f"/ronde/{world.round.id}/buka-kembali").text
    assert world.body.name in listing
    url = f"/ronde/{world.round.id}/buka-kembali/{sub.id}"
    assert f'href="{url}"' in listing
    confirm = pages.get(url).text
    assert f"Buka kembali SAQ {world.body.name}?" in confirm

    refused = pages.post(url, {"reason": " ", "_form": "buka-kembali", "_halaman": url})
    assert refused.status_code == 422
    assert "Alasan membuka kembali SAQ wajib diisi" in refused.text
    session.refresh(sub)
    assert sub.status == "submitted"

    done = pages.post(
        url, {"reason": REASON, "_form": "buka-kembali", "_halaman": url}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    session.refresh(sub)
    assert (sub.status, sub.reopen_reason) == ("draft", REASON)
    assert (
        session.scalar(select(AuditEntry.after).where(AuditEntry.action == "submission.reopen"))["reason"]
        == REASON
    )

    operator = Pages(pages.client).login(world.operator)
    reopened_at = when(sub.reopened_at, "Asia/Jakarta")
    notice = f"SAQ dibuka kembali oleh Komisi Informasi pada {reopened_at} karena: {REASON}"
    assert notice in operator.get("/").text
    form = operator.get(f"/pengisian/{sub.id}").text
    assert notice in form
    assert 'id="save-state"' in form  # editable again


@pytest.mark.db
def test_a_saq_in_verification_is_not_offered_for_reopening(
    pages: Pages, world: World, session: Session
) -> None:
    sub = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    session.add(Verification(submission_id=sub.id, verifier_id=world.verifier.id))
    session.flush()
    pages.login(world.admin)
    assert world.body.name not in pages.get(f"/ronde/{world.round.id}/buka-kembali").text
    refused = pages.get(f"/ronde/{world.round.id}/buka-kembali/{sub.id}")
    assert refused.status_code == 409
    assert "sudah dimulai" in refused.text


@pytest.mark.db
def test_reopening_after_the_deadline_asks_for_a_new_one(
    pages: Pages, world: World, session: Session
) -> None:
    world.round.saq_closes_at = now() - timedelta(hours=1)
    sub = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    session.flush()
    pages.login(world.admin)
    url = f"/ronde/{world.round.id}/buka-kembali/{sub.id}"
    assert "batas waktu baru wajib diisi" in pages.get(url).text
    refused = pages.post(url, {"reason": REASON, "_form": "buka-kembali", "_halaman": url})
    assert refused.status_code == 422
    assert f"Batas waktu {world.body.name} sudah lewat" in refused.text
    assert REASON in refused.text  # what was typed is kept
    done = pages.post(
        url,
        {"reason": REASON, "closes_at": "2099-01-05T23:59", "_form": "buka-kembali", "_halaman": url},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    extension = session.scalar(select(DeadlineExtension).where(DeadlineExtension.round_id == world.round.id))
    assert extension is not None
    assert (extension.body_ids, extension.reason) == ([world.body.id], REASON)
