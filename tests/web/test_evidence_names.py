"""Every page that shows an uploaded evidence file shows it by its original name, size and upload time in the
commission's zone (one macro, ``evidence_file``), never as an internal number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.deps import principal_for_account
from app.db.models import EvidenceFile, Objection, Verification, VerifiedAnswer, VerifierAssignment
from app.submissions import service as submissions
from app.submissions.schemas import IncompleteCounts
from app.web.format import file_size, when
from tests.factories import World, now, tiny_pdf
from tests.web.conftest import Pages
from tests.web.test_operator_pages import open_form

NAME = "SK PPID 2024 (final).pdf"


def test_sizes_read_as_people_say_them() -> None:
    assert file_size(512) == "512 bita"
    assert file_size(312 * 1024) == "312 KB"
    assert file_size(1500) == "1 KB"
    assert file_size(int(1.44 * 1024 * 1024)) == "1,4 MB"


@pytest.mark.db
def test_an_uploaded_file_is_named_on_every_page_that_shows_it(
    pages: Pages, world: World, session: Session
) -> None:
    world.commission.timezone = "Asia/Makassar"
    session.flush()
    pdf = tiny_pdf()
    pages.login(world.operator)
    sid = open_form(pages, world)
    uploaded = pages.client.post(
        f"/web/pengisian/{sid}/berkas/1.1.1",
        files={"file": (NAME, pdf, "application/pdf")},
        headers={"X-CSRF-Token": pages.csrf},
    )
    assert uploaded.status_code == 201, uploaded.text
    row = session.scalar(select(EvidenceFile).where(EvidenceFile.submission_id == sid))
    assert row is not None
    shown = f"{len(pdf)} bita · diunggah {when(row.created_at, 'Asia/Makassar')}"
    assert shown.endswith(" WITA")
    assert uploaded.json()["file"] | {"id": 0} == {
        "id": 0,
        "name": NAME,
        "url": f"/berkas/{row.id}",
        "size_label": f"{len(pdf)} bita",
        "uploaded_label": when(row.created_at, "Asia/Makassar"),
    }

    def names_the_file(url: str) -> None:
        page = pages.get(url)
        assert page.status_code == 200, page.text
        assert f'<a href="/berkas/{row.id}" target="_blank" rel="noopener">{NAME}</a>' in page.text, url
        assert shown in page.text, url
        assert "Berkas data dukung #" not in page.text

    names_the_file(f"/pengisian/{sid}")
    names_the_file(f"/pengisian/{sid}/kirim")

    operator = principal_for_account(world.operator)
    submissions.submit(
        session=session,
        submission_id=sid,
        by=operator,
        acknowledge_incomplete=IncompleteCounts(unanswered=4, evidence_missing=0),
    )
    checked = Verification(submission_id=sid, verifier_id=world.verifier.id, status="completed")
    session.add(checked)
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    session.flush()
    session.add(VerifiedAnswer(verification_id=checked.id, question_code="1.1.1", value="no"))
    world.round.results_released_at = now() - timedelta(hours=2)
    world.round.objection_opens_at = now() - timedelta(hours=1)
    world.round.objection_closes_at = now() + timedelta(days=3)
    session.flush()
    names_the_file(f"/pengisian/{sid}/sanggahan")
    filed = pages.post(
        f"/pengisian/{sid}/sanggahan/1.1.1", {"explanation": "SK terlampir"}, follow_redirects=False
    )
    assert filed.status_code == 303, filed.text
    assert session.scalar(select(Objection.id).where(Objection.submission_id == sid)) is not None

    pages.client.cookies.clear()
    pages.login(world.verifier)
    names_the_file(f"/verifikasi/{sid}")
    names_the_file("/sanggahan")
