"""Pages that read their own forms refuse what no column can store, as the API does, with the Indonesian 422.

Each was a 500 on PostgreSQL (its text cannot hold U+0000) and a stored NUL on SQLite: the app-wide NUL check
sees only the bodies FastAPI parses, and these handlers read ``request.form()`` themselves. An extension's
date in the year 1 overflowed converting to UTC (a 500) and one in 9999 was stored as the deadline. A CSRF
token holding a character beyond ASCII made the token comparison raise TypeError (a 500 on every page POST).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import (
    Account,
    Answer,
    AuditEntry,
    AuthToken,
    DeadlineExtension,
    Invitation,
    Objection,
    Publication,
    Round,
    RoundTemplate,
    Stage,
    Submission,
    Verification,
    VerifiedAnswer,
    VerifierAssignment,
)
from tests.factories import World, make_round, make_submission, make_verification, now
from tests.web.conftest import Pages, csrf_of

pytestmark = pytest.mark.db

NUL = "\x00"
NUL_PAGE_MESSAGE = "Isian ini tidak boleh memuat karakter NUL (U+0000)."


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def submitted(world: World, session: Session) -> Submission:
    """The body's submitted SAQ, assigned to the verifier, with a verification started."""
    sub = make_submission(session, world.round, world.body, world.template, status="submitted")
    session.add(Answer(submission_id=sub.id, question_code="1.1.1", value="yes"))
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    session.flush()
    return sub


def released(world: World, session: Session) -> Submission:
    """A verified submission whose results are released, during the objection window."""
    sub = submitted(world, session)
    make_verification(session, sub, world.verifier, {"1.1.1": {"value": "no"}}, completed=True)
    world.round.results_released_at = now() - timedelta(hours=2)
    world.round.objection_opens_at = now() - timedelta(hours=1)
    world.round.objection_closes_at = now() + timedelta(days=3)
    session.flush()
    return sub


@dataclass(frozen=True)
class FormCase:
    """A page form: who sends it, where (after setting up what it needs), the fields of a form the page
    accepts, the field that gets a NUL, and what the form writes when it is accepted."""

    account: str
    url: Callable[[World, Session], str]
    form: dict[str, str]
    field: str
    written: Callable[[World, Session], object]


def _open_form(world: World, session: Session) -> str:
    sub = make_submission(session, world.round, world.body, world.template)
    return f"/pengisian/{sub.id}/simpan"


def _start_verification(world: World, session: Session) -> str:
    sub = submitted(world, session)
    session.add(Verification(submission_id=sub.id, verifier_id=world.verifier.id, status="in_progress"))
    session.flush()
    return f"/verifikasi/{sub.id}/butir/1.1.1"


def _objection(world: World, session: Session) -> str:
    sub = released(world, session)
    return f"/pengisian/{sub.id}/sanggahan/1.1.1"


def _decision(world: World, session: Session) -> str:
    sub = released(world, session)
    row = Objection(submission_id=sub.id, question_code="1.1.1", explanation="SK DIP terlampir")
    session.add(row)
    session.flush()
    return f"/sanggahan/{row.id}"


def _final_round(world: World, session: Session) -> str:
    world.round.status = "final"
    session.flush()
    return f"/ronde/{world.round.id}/publikasi"


def _round(path: str) -> Callable[[World, Session], str]:
    return lambda world, session: f"/ronde/{world.round.id}/{path}"


def _bare_round(path: str) -> Callable[[World, Session], str]:
    """A round with no templates and no invitations yet."""
    return lambda world, session: f"/ronde/{make_round(session, world.commission).id}/{path}"


def _round_column(column: Any) -> Callable[[World, Session], object]:
    return lambda world, session: session.scalar(select(column).where(Round.id == world.round.id))


CASES = {
    "new round: title": FormCase(
        "admin",
        lambda world, session: "/ronde",
        {
            "title": "Monev 2026",
            "year": "2026",
            "saq_opens_at": "2026-08-01T00:00",
            "saq_closes_at": "2026-08-31T23:59",
        },
        "title",
        lambda world, session: count(session, Round),
    ),
    "round schedule: title": FormCase(
        "admin",
        _round("jadwal"),
        {"title": "Monev Ulang", "year": "2025"},
        "title",
        _round_column(Round.title),
    ),
    "round status": FormCase(
        "admin", _round("status"), {"to": "closed", "confirm": "ya"}, "to", _round_column(Round.status)
    ),
    "templates per category": FormCase(
        "admin",
        _bare_round("templat"),
        {"template:kelurahan": "test-mini|1"},
        "template:kelurahan",
        lambda world, session: count(session, RoundTemplate),
    ),
    "invitations": FormCase(
        "admin",
        _bare_round("undangan"),
        {"category": "kelurahan"},
        "category",
        lambda world, session: count(session, Invitation),
    ),
    "stages: title": FormCase(
        "admin",
        _round("tahap"),
        {
            "saq_weight": "70",
            "stage_code_0": "presentasi",
            "stage_kind_0": "presentation",
            "stage_title_0": "Presentasi",
            "stage_weight_0": "30",
        },
        "stage_title_0",
        lambda world, session: count(session, Stage),
    ),
    "gate": FormCase(
        "admin",
        _round("gerbang"),
        {"gate_top_n": "10", "missing_stage_policy": "saq_only"},
        "missing_stage_policy",
        _round_column(Round.missing_stage_policy),
    ),
    "verifier assignment": FormCase(
        "admin",
        _round("penugasan"),
        {"category": "kelurahan", "verifier": "VERIFIER"},
        "category",
        lambda world, session: count(session, VerifierAssignment),
    ),
    "extension: reason": FormCase(
        "admin",
        _round("perpanjangan"),
        {"closes_at": "2099-01-05T23:59", "scope": "round", "reason": "Keputusan pleno 3/2025"},
        "reason",
        lambda world, session: count(session, DeadlineExtension),
    ),
    "publication: reason": FormCase(
        "admin",
        _final_round,
        {"reason": "Keputusan pleno 9/2025"},
        "reason",
        lambda world, session: count(session, Publication),
    ),
    "SAQ form without scripts: note": FormCase(
        "operator",
        _open_form,
        {
            "version": "1",
            "code": "1.1.1",
            "type:1.1.1": "yes_no",
            "value:1.1.1": "yes",
            "note:1.1.1": "SK ada",
        },
        "note:1.1.1",
        lambda world, session: count(session, Answer),
    ),
    "objection: explanation": FormCase(
        "operator",
        _objection,
        {"explanation": "SK DIP terlampir", "evidence": "https://ppid.example.go.id/sk-dip"},
        "explanation",
        lambda world, session: count(session, Objection),
    ),
    "verified answer: note": FormCase(
        "verifier",
        _start_verification,
        {"version": "1", "type": "yes_no", "value": "no", "evidence_checked": "ya", "note": "SK belum ada"},
        "note",
        lambda world, session: count(session, VerifiedAnswer),
    ),
    "objection decision: reason": FormCase(
        "verifier",
        _decision,
        {"decision": "tolak", "reason": "SK tidak sah"},
        "reason",
        lambda world, session: session.scalar(select(Objection.status)),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_nul_in_a_page_form_is_named_in_indonesian_and_writes_nothing(
    case: FormCase, pages: Pages, world: World, session: Session
) -> None:
    account: Account = getattr(world, case.account)
    url = case.url(world, session)
    form = {k: str(world.verifier.id) if v == "VERIFIER" else v for k, v in case.form.items()}
    pages.login(account)
    before = (case.written(world, session), count(session, AuditEntry))

    refused = pages.post(url, form | {case.field: form[case.field] + NUL + "x"})

    assert refused.status_code == 422, refused.text
    assert "Isian belum benar" in refused.text
    assert f"<li>{NUL_PAGE_MESSAGE}</li>" in refused.text
    assert (case.written(world, session), count(session, AuditEntry)) == before
    accepted = pages.post(url, form, follow_redirects=False)  # the same form without the NUL is taken
    assert accepted.status_code == 303, accepted.text
    assert (case.written(world, session), count(session, AuditEntry)) != before


def test_a_nul_in_a_form_field_name_is_refused_too(pages: Pages, world: World, session: Session) -> None:
    pages.login(world.admin)
    refused = pages.post(
        f"/ronde/{world.round.id}/perpanjangan",
        {"closes_at": "2099-01-05T23:59", "scope": "round", "reason": "Pleno", "catatan" + NUL: "x"},
    )
    assert refused.status_code == 422
    assert NUL_PAGE_MESSAGE in refused.text
    assert count(session, DeadlineExtension) == 0


def test_forms_fastapi_reads_get_the_same_indonesian_message(
    pages: Pages, world: World, session: Session
) -> None:
    login_page = pages.get("/login")
    login = pages.client.post(
        "/login",
        data={"email": world.admin.email + NUL, "password": "x", "csrf_token": csrf_of(login_page.text)},
    )
    assert login.status_code == 422
    assert f"<li>{NUL_PAGE_MESSAGE}</li>" in login.text
    assert count(session, AuthToken) == 0

    pages.login(world.operator)
    sub = make_submission(session, world.round, world.body, world.template)
    submit = pages.post(f"/pengisian/{sub.id}/kirim", {"idempotency_key": "k" + NUL, "confirm": "ya"})
    assert submit.status_code == 422
    assert f"<li>{NUL_PAGE_MESSAGE}</li>" in submit.text
    assert session.scalar(select(Submission.status).where(Submission.id == sub.id)) == "draft"


@pytest.mark.parametrize(
    "closes_at", ["0001-01-01T00:00", "1999-12-31T23:59", "2101-01-01T07:00", "9999-12-31T23:59"]
)
def test_an_extension_outside_the_years_2000_to_2100_is_named_and_not_recorded(
    closes_at: str, pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    refused = pages.post(
        f"/ronde/{world.round.id}/perpanjangan",
        {"closes_at": closes_at, "scope": "round", "reason": "Keputusan pleno 3/2025"},
    )
    assert refused.status_code == 422, refused.text
    assert "<li>Batas waktu baru harus di antara tahun 2000 dan 2100.</li>" in refused.text
    assert count(session, DeadlineExtension) == 0


def test_the_last_minute_of_2100_is_still_a_deadline(pages: Pages, world: World, session: Session) -> None:
    pages.login(world.admin)
    accepted = pages.post(
        f"/ronde/{world.round.id}/perpanjangan",
        {"closes_at": "2100-12-31T23:59", "scope": "round", "reason": "Keputusan pleno 3/2025"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    assert count(session, DeadlineExtension) == 1


def test_a_new_round_outside_the_years_2000_to_2100_is_named_and_not_created(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    before = count(session, Round)
    refused = pages.post(
        "/ronde",
        {
            "title": "Monev 2026",
            "year": "2026",
            "saq_opens_at": "0001-01-01T00:00",
            "saq_closes_at": "9999-12-31T23:59",
        },
    )
    assert refused.status_code == 422, refused.text
    assert "Pembukaan pengisian SAQ harus di antara tahun 2000 dan 2100." in refused.text
    assert "Batas waktu pengisian SAQ harus di antara tahun 2000 dan 2100." in refused.text
    assert count(session, Round) == before


def test_a_csrf_token_that_is_not_ascii_is_refused_not_a_500(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    url = f"/ronde/{world.round.id}/status"
    in_form = pages.client.post(url, data={"csrf_token": "tóken", "to": "closed"})
    header = {"X-CSRF-Token": "tóken".encode("latin-1")}  # as a browser may send it
    in_header = pages.client.post(url, data={"to": "closed"}, headers=header)
    assert (in_form.status_code, in_header.status_code) == (403, 403)
    assert "Akses ditolak" in in_form.text
    assert session.scalar(select(Round.status).where(Round.id == world.round.id)) == "open"
