"""The verifier's pages: the verification screen per submission and the objections to answer.

Each question of the verification screen is its own small form (verified value, evidence checked, note)
posting to the verification service with the verification's version, so two verifiers never overwrite each
other silently (412 becomes the "changed elsewhere" page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Role
from app.commissions.service import commission_timezone
from app.db.models import Objection, PublicBody, Round, Submission
from app.db.session import SessionDep
from app.errors import Conflict, FieldProblem, InvalidInput, NotFound, ProblemCollector
from app.inputs import Id
from app.pagination import PageParams
from app.submissions import service as submissions
from app.verification import answers, bulk, links, objections
from app.verification.assignments import my_assignments
from app.verification.common import submission_context, template_of
from app.verification.routes import LinkCheckerDep
from app.verification.schemas import MAX_NOTE_LENGTH, MyAssignment, ObjectionOut, VerifiedAnswerIn
from app.web.forms import read_form
from app.web.render import redirect, render
from app.web.session import CurrentUser, PageUser

router = APIRouter()

ALL = PageParams(limit=500)
NO_VALUE = "__kosong__"
# Question types whose form offers "no valid answer" as an option of its own: sending none is no choice.
SINGLE_CHOICE = frozenset({"yes_no", "choice"})


def assignments(session: Session, user: PageUser) -> list[MyAssignment]:
    """The verifier's assigned bodies with their status (the verification service decides what is shown)."""
    return my_assignments(session=session, by=user.principal, round_id=None, params=ALL).items


def _context(session: Session, submission_id: int) -> tuple[Submission, Round, PublicBody]:
    ctx = submission_context(session, submission_id)
    return ctx.submission, ctx.round, ctx.body


def _value_from_form(kind: str, values: Sequence[str]) -> Any:
    """The verified value as the form sent it: one option, several, a number or text; None for no valid
    answer."""
    values = [v for v in values if v not in ("", NO_VALUE)]
    if kind == "multi_choice":
        return values or None
    if kind == "number":
        return values[0].strip().replace(",", ".") if values else None
    return values[0] if values else None


def _link_checks(session: Session, submission_id: int, user: PageUser) -> dict[str, Any]:
    page = links.latest_link_checks(
        session=session, submission_id=submission_id, by=user.principal, params=ALL
    )
    return {check.url: check for check in page.items}


@router.get("/verifikasi/{submission_id}")
def verify_page(
    submission_id: Id,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    belum: str | None = None,
) -> Response:
    """The body's answers and the verified values side by side, per question; while the body may still fill
    in its SAQ, only that it does and until when (no answers, no start button)."""
    sub, round_, body = _context(session, submission_id)
    filling = answers.still_filling(session=session, submission_id=submission_id, by=user.principal)
    if filling is not None:
        return render(
            request,
            "verifier/filling.html",
            {
                "sub": sub,
                "round": round_,
                "body": body,
                "filling": filling,
                "tz": commission_timezone(session, body.commission_id),
            },
        )
    out = answers.view(session=session, submission_id=submission_id, by=user.principal)
    refusal = (
        answers.start_refusal(session=session, submission_id=submission_id, by=user.principal)
        if out.status == "not_started"
        else None
    )
    template = template_of(session, sub.template_version_id)
    by_question = {
        o.question_code: o
        for o in objections.list_objections(session=session, submission_id=submission_id, by=user.principal)
    }
    missing = [code for code in (belum or "").split(",") if code]
    return render(
        request,
        "verifier/verify.html",
        {
            "out": out,
            "sub": sub,
            "round": round_,
            "body": body,
            "template": template,
            "checks": _link_checks(session, submission_id, user),
            "objections": by_question,
            "tz": commission_timezone(session, body.commission_id),
            "missing": missing,
            "may_start": out.status == "not_started" and refusal is None,
            "start_refused": refusal.indonesian if isinstance(refusal, Conflict) else None,
            "NO_VALUE": NO_VALUE,
        },
    )


@router.post("/verifikasi/{submission_id}/mulai")
def start(submission_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    answers.start(session=session, submission_id=submission_id, by=user.principal)
    return redirect(f"/verifikasi/{submission_id}")


@router.post("/verifikasi/{submission_id}/butir/{code}")
async def save_question(
    submission_id: Id, code: str, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """Record the verified value, whether the evidence was checked, and a note for one question."""
    form = await read_form(request)
    version = str(form.get("version") or "")
    kind = str(form.get("type") or "")
    sent = [str(v) for v in form.getlist("value")]
    note = str(form.get("note") or "").strip() or None
    problems = ProblemCollector()
    if kind in SINGLE_CHOICE and not sent:
        problems.add("value", "required", 'Pilih nilai terverifikasi, atau "Tidak ada jawaban yang sah".')
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        problems.add(
            "note",
            f"at most {MAX_NOTE_LENGTH} characters",
            f"Catatan terlalu panjang: paling banyak {MAX_NOTE_LENGTH} karakter.",
        )
    problems.raise_if_any(
        "the verification form is incomplete", f"Hasil verifikasi pertanyaan {code} belum dapat disimpan."
    )
    patch = VerifiedAnswerIn(
        value=_value_from_form(kind, sent), evidence_checked=form.get("evidence_checked") == "ya", note=note
    )
    try:
        answers.save_answers(
            session=session,
            submission_id=submission_id,
            by=user.principal,
            if_match=f'"{version}"' if version.isdigit() else None,
            patches={code: patch},
        )
    except InvalidInput as exc:
        # The service names the field answers.<code>.value; this form's input is "value".
        raise InvalidInput(
            exc.detail,
            errors=[
                FieldProblem(e.field.removeprefix(f"answers.{code}."), e.message, e.indonesian)
                for e in exc.errors
            ],
            indonesian=exc.indonesian,
            **exc.extra,
        ) from exc
    return redirect(f"/verifikasi/{submission_id}#v-{code}", message="tersimpan")


@router.post("/verifikasi/{submission_id}/setujui-belum-diperiksa")
async def approve_unreviewed(
    submission_id: Id, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """Give every question not reviewed yet the body's own value, once the verifier ticked the statement
    that names how many; the evidence counts as checked only when ticked too."""
    _, round_, body = _context(session, submission_id)
    policy.ensure_verify_body(
        session, user.principal, commission_id=body.commission_id, body_id=body.id, round_id=round_.id
    )
    form = await read_form(request)
    if form.get("konfirmasi") != "ya":
        text = (
            "Centang pernyataan bahwa Anda menyetujui jawaban yang belum diperiksa tanpa memeriksanya "
            "satu per satu."
        )
        raise InvalidInput(
            "approving the unreviewed answers needs the confirmation",
            errors=[FieldProblem("konfirmasi", "required", text)],
            indonesian=text,
        )
    version = str(form.get("version") or "")
    bulk.approve_unreviewed(
        session=session,
        submission_id=submission_id,
        by=user.principal,
        if_match=f'"{version}"' if version.isdigit() else None,
        evidence_checked=form.get("evidence_checked") == "ya",
    )
    return redirect(f"/verifikasi/{submission_id}", message="jawaban-disetujui")


@router.post("/verifikasi/{submission_id}/cek-tautan")
def check_links(
    submission_id: Id, session: SessionDep, user: CurrentUser, checker: LinkCheckerDep
) -> Response:
    """Check every evidence link of the submission now (the verification service's safe link checker)."""
    links.run_link_check(session=session, submission_id=submission_id, by=user.principal, checker=checker)
    return redirect(f"/verifikasi/{submission_id}", message="tautan-dicek")


@router.post("/verifikasi/{submission_id}/selesai")
def complete(submission_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Complete the verification; when questions are not reviewed yet, list them on the page."""
    try:
        answers.complete(session=session, submission_id=submission_id, by=user.principal)
    except InvalidInput as exc:
        session.rollback()
        missing = exc.extra.get("missing") or []
        if not missing:
            raise
        return redirect(f"/verifikasi/{submission_id}?belum={','.join(missing)}#selesai")
    return redirect(f"/verifikasi/{submission_id}", message="verifikasi-selesai")


# --- Objections ---------------------------------------------------------------------------------------------


@router.get("/sanggahan")
def objections_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The objections (sanggahan) of the verifier's bodies, open ones first, each with a decision form."""
    if not user.principal.is_system_admin:
        policy.ensure_bulk_verify(user.principal, user.principal.commission_id or 0)
    if user.principal.role is Role.verifier:
        round_ids = sorted({a.round_id for a in assignments(session, user)}, reverse=True)
    else:
        stmt = select(Round.id).order_by(Round.id.desc()).limit(20)
        if not user.principal.is_system_admin:
            stmt = stmt.where(Round.commission_id == user.principal.commission_id)
        round_ids = list(session.scalars(stmt))
    items: list[dict[str, Any]] = []
    for round_id in round_ids:
        for objection in objections.list_round_objections(
            session=session, round_id=round_id, by=user.principal, status=None, params=ALL
        ).items:
            items.append(_objection_item(session, objection))
    items.sort(key=lambda i: (i["objection"].status != "open", -i["objection"].id))
    return render(
        request,
        "verifier/objections.html",
        {
            "items": items,
            "tz": commission_timezone(session, user.principal.commission_id),
            "NO_VALUE": NO_VALUE,
        },
    )


def _objection_item(session: Session, objection: ObjectionOut) -> dict[str, Any]:
    sub, round_, body = _context(session, objection.submission_id)
    template = template_of(session, sub.template_version_id)
    return {
        "objection": objection,
        "round": round_,
        "body": body,
        "question": template.question(objection.question_code),
        "files": submissions.evidence_files(session=session, submission_id=sub.id).get(
            objection.question_code, []
        ),
    }


@router.post("/sanggahan/{objection_id}")
async def decide(objection_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Accept (with the new verified value: the form starts at the body's own answer) or reject an objection,
    with a reason. "Tidak ada jawaban yang sah" is sent as a choice of its own (the radio option, or the
    checkbox of the types without one); an empty value is never taken for it."""
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound(f"objection {objection_id} does not exist")
    _, round_, body = _context(session, row.submission_id)
    policy.ensure_verify_body(
        session, user.principal, commission_id=body.commission_id, body_id=body.id, round_id=round_.id
    )
    form = await read_form(request)
    decision = str(form.get("decision") or "")
    reason = str(form.get("reason") or "").strip()
    if decision not in {"terima", "tolak"} or not reason:
        problems = []
        if decision not in {"terima", "tolak"}:
            problems.append(FieldProblem("decision", "accept or reject", "Pilih terima atau tolak."))
        if not reason:
            problems.append(FieldProblem("reason", "required", "Tuliskan alasan keputusan."))
        raise InvalidInput(
            "the decision form is incomplete",
            errors=problems,
            indonesian="Keputusan sanggahan belum lengkap.",
        )
    accept = decision == "terima"
    sent = [str(v) for v in form.getlist("value")]
    no_valid_answer = NO_VALUE in sent or form.get("no_valid_answer") == "ya"
    value = _value_from_form(str(form.get("type") or ""), sent)
    objections.decide_objection(
        session=session,
        objection_id=objection_id,
        by=user.principal,
        accept=accept,
        reason=reason,
        value=value if accept else None,
        no_valid_answer=no_valid_answer and accept,
    )
    return redirect("/sanggahan", message="sanggahan-dijawab")
