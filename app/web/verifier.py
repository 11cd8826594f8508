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
from app.errors import FieldProblem, InvalidInput, NotFound
from app.inputs import Id
from app.pagination import PageParams
from app.verification import service as verification
from app.verification.routes import LinkCheckerDep
from app.verification.schemas import MyAssignment, ObjectionOut, VerifiedAnswerIn
from app.web.forms import read_form
from app.web.render import redirect, render
from app.web.session import CurrentUser, PageUser

router = APIRouter()

ALL = PageParams(limit=500)
NO_VALUE = "__kosong__"


def assignments(session: Session, user: PageUser) -> list[MyAssignment]:
    """The verifier's assigned bodies with their status (the verification service decides what is shown)."""
    return verification.my_assignments(session=session, by=user.principal, round_id=None, params=ALL).items


def _context(session: Session, submission_id: int) -> tuple[Submission, Round, PublicBody]:
    ctx = verification.submission_context(session, submission_id)
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
    page = verification.latest_link_checks(
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
    """The body's answers and the verified values side by side, per question."""
    out = verification.view(session=session, submission_id=submission_id, by=user.principal)
    sub, round_, body = _context(session, submission_id)
    template = verification.template_of(session, sub.template_version_id)
    objections = {
        o.question_code: o
        for o in verification.list_objections(session=session, submission_id=submission_id, by=user.principal)
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
            "objections": objections,
            "tz": commission_timezone(session, body.commission_id),
            "missing": missing,
            "NO_VALUE": NO_VALUE,
        },
    )


@router.post("/verifikasi/{submission_id}/mulai")
def start(submission_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    verification.start(session=session, submission_id=submission_id, by=user.principal)
    return redirect(f"/verifikasi/{submission_id}")


@router.post("/verifikasi/{submission_id}/butir/{code}")
async def save_question(
    submission_id: Id, code: str, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """Record the verified value, whether the evidence was checked, and a note for one question."""
    form = await read_form(request)
    version = str(form.get("version") or "")
    kind = str(form.get("type") or "")
    value = _value_from_form(kind, [str(v) for v in form.getlist("value")])
    note = str(form.get("note") or "").strip() or None
    patch = VerifiedAnswerIn(value=value, evidence_checked=form.get("evidence_checked") == "ya", note=note)
    verification.save_answers(
        session=session,
        submission_id=submission_id,
        by=user.principal,
        if_match=f'"{version}"' if version.isdigit() else None,
        patches={code: patch},
    )
    return redirect(f"/verifikasi/{submission_id}#v-{code}", message="tersimpan")


@router.post("/verifikasi/{submission_id}/cek-tautan")
def check_links(
    submission_id: Id, session: SessionDep, user: CurrentUser, checker: LinkCheckerDep
) -> Response:
    """Check every evidence link of the submission now (the verification service's safe link checker)."""
    verification.run_link_check(
        session=session, submission_id=submission_id, by=user.principal, checker=checker
    )
    return redirect(f"/verifikasi/{submission_id}", message="tautan-dicek")


@router.post("/verifikasi/{submission_id}/selesai")
def complete(submission_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Complete the verification; when questions are not reviewed yet, list them on the page."""
    try:
        verification.complete(session=session, submission_id=submission_id, by=user.principal)
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
        for objection in verification.list_round_objections(
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
    template = verification.template_of(session, sub.template_version_id)
    return {
        "objection": objection,
        "round": round_,
        "body": body,
        "question": template.question(objection.question_code),
    }


@router.post("/sanggahan/{objection_id}")
async def decide(objection_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Accept (with the new verified value) or reject an objection, with a reason."""
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
            problems.append(FieldProblem("keputusan", "accept or reject", "Pilih terima atau tolak."))
        if not reason:
            problems.append(FieldProblem("alasan", "required", "Tuliskan alasan keputusan."))
        raise InvalidInput(
            "the decision form is incomplete",
            errors=problems,
            indonesian="Keputusan sanggahan belum lengkap.",
        )
    accept = decision == "terima"
    value = _value_from_form(str(form.get("type") or ""), [str(v) for v in form.getlist("value")])
    verification.decide_objection(
        session=session,
        objection_id=objection_id,
        by=user.principal,
        accept=accept,
        reason=reason,
        value=value if accept else None,
        value_sent=accept,
    )
    return redirect("/sanggahan", message="sanggahan-dijawab")
