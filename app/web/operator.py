"""The PPID operator's pages: open a round's SAQ, fill it in with autosave, upload evidence, submit, results.

The form saves through ``/web/pengisian/...`` JSON endpoints (CSRF header, session cookie) that call the
submissions and evidence services with the version the page was based on; a stale version is a 412 the
page's script turns into a conflict message without losing what was typed.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.commissions.service import commission_timezone
from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import Submission, Verification
from app.db.session import SessionDep
from app.downloads import stored_file
from app.errors import FieldProblem, InvalidInput
from app.evidence import service as evidence
from app.evidence.routes import receive_evidence
from app.evidence.storage import StagedUpload
from app.exports import service as exports
from app.exports.result_sheet import Recommendation
from app.inputs import Id, OrjsonBodyRoute
from app.results import service as results
from app.rounds.service import window_for
from app.settings import SettingsDep
from app.submissions import service as submissions
from app.submissions.queue import run_save
from app.submissions.schemas import AnswerOut, IncompleteCounts, SubmissionOut
from app.verification.answers import view as verification_view
from app.verification.objections import create_objection, list_objections
from app.verification.scores import load_answer_data, verified_card
from app.web import format as fmt
from app.web.forms import read_form
from app.web.render import redirect, render
from app.web.saq import QuestionView, answers_as_json, panel, with_aspects
from app.web.session import CurrentUser, PageUser, csrf_protect

router = APIRouter()
json_router = APIRouter(
    prefix="/web",
    include_in_schema=False,
    dependencies=[Depends(csrf_protect)],
    route_class=OrjsonBodyRoute,
)

MAX_ANSWERS = 1000
RECOMMENDATIONS = 15


# --- Helpers ------------------------------------------------------------------------------------------------


def _view(session: Any, submission_id: int, user: PageUser) -> dict[str, Any]:
    """The live panel computed now from the stored answers (the submissions service scores them)."""
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    template = submissions.template_of(
        session, submissions.template_row(session, ctx.submission.template_version_id)
    )
    card = with_aspects(
        submissions.score(session=session, submission_id=submission_id, by=user.principal), template
    )
    stored = submissions.read(session=session, submission_id=submission_id, by=user.principal)
    return panel(card, stored.answers)


def _zone(session: Session, submission_id: int, user: PageUser) -> str:
    """The time zone of the submission's commission, which its pages print instants in."""
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    return commission_timezone(session, ctx.body.commission_id)


# --- Pages --------------------------------------------------------------------------------------------------


@router.post("/pengisian/mulai/{round_id}")
def start(round_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Open (or create) the body's submission in the round and go to its form."""
    sub, _created = submissions.open_submission(session=session, round_id=round_id, by=user.principal)
    return redirect(f"/pengisian/{sub.id}")


@router.get("/pengisian/{submission_id}")
def form_page(submission_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The SAQ form by aspect, with the live score panel; read-only once submitted."""
    sub = submissions.read(session=session, submission_id=submission_id, by=user.principal)
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    template = submissions.template_of(
        session, submissions.template_row(session, ctx.submission.template_version_id)
    )
    card = with_aspects(
        submissions.score(session=session, submission_id=submission_id, by=user.principal), template
    )
    view = panel(card, sub.answers)
    open_now = window_for(session=session, round_id=ctx.round.id, body_id=ctx.body.id).is_open(utcnow())
    earned = {q["code"]: q["earned"] for q in card["questions"]}
    questions = {
        entry.question.code: QuestionView(
            question=entry.question,
            answer=sub.answers.get(entry.question.code) or AnswerOut(),
            status=view["questions"][entry.question.code]["status"],
            earned=earned[entry.question.code],
        )
        for entry in template.questions()
    }
    tz = commission_timezone(session, ctx.body.commission_id)
    return render(
        request,
        "operator/form.html",
        {
            "sub": sub,
            "round": ctx.round,
            "body": ctx.body,
            "template": template,
            "questions": questions,
            "view": view,
            "answers_json": answers_as_json(sub, tz),
            "editable": sub.status == "draft" and open_now,
            "open_now": open_now,
            "tz": tz,
            "published": results.latest_publication(session=session, round_=ctx.round) is not None,
            "now": utcnow(),
        },
    )


def _links(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/pengisian/{submission_id}/simpan")
async def save_form(submission_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Save the whole form at once (the form's button; used when scripts are off)."""
    form = await read_form(request)
    version = str(form.get("version") or "")
    codes = [str(c) for c in form.getlist("code")][:MAX_ANSWERS]
    patches: dict[str, dict[str, Any] | None] = {}
    for code in codes:
        values = [str(v) for v in form.getlist(f"value:{code}") if str(v) != ""]
        kind = str(form.get(f"type:{code}") or "")
        value: Any
        if kind == "multi_choice":
            value = values or None
        elif kind == "number":
            value = values[0].replace(",", ".") if values else None
        else:
            value = values[0] if values else None
        patches[code] = {
            "value": value,
            "evidence": _links(str(form.get(f"links:{code}") or "")),
            "note": str(form.get(f"note:{code}") or "") or None,
        }
    try:
        await run_save(
            request,
            lambda: submissions.save_answers(
                session=session,
                submission_id=submission_id,
                if_match=f'"{version}"' if version.isdigit() else None,
                answers=patches,
                by=user.principal,
            ),
            session=session,
        )
    except InvalidInput as refused:
        # The service names answers' fields (answers.1.1.1.evidence[0]); the form comes back with each
        # error beside the input it belongs to (links:1.1.1).
        raise InvalidInput(
            refused.detail,
            errors=[_on_form(problem) for problem in refused.errors],
            indonesian=refused.indonesian,
            **refused.extra,
        ) from refused
    return redirect(f"/pengisian/{submission_id}", message="tersimpan")


_ANSWER_FIELD = re.compile(r"^answers\.(?P<code>.+?)(?:\.(?P<part>value|evidence|note)(?:\[\d+\])?)?$")
_FORM_INPUT = {"value": "value", "evidence": "links", "note": "note"}


def _on_form(problem: FieldProblem) -> FieldProblem:
    """A problem of the submissions service, named after the SAQ form's input it belongs to."""
    found = _ANSWER_FIELD.match(problem.field)
    if found is None:
        return problem
    name = f"{_FORM_INPUT[found['part'] or 'value']}:{found['code']}"
    return FieldProblem(name, problem.message, problem.indonesian)


@router.get("/pengisian/{submission_id}/kirim")
def submit_page(
    submission_id: Id,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    langkah: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The submit step: how much is left open, in one sentence, then every unanswered question and every
    missing required evidence (each a link to its question) and the uploaded files. A complete SAQ is
    submitted with the usual confirmation; an incomplete one first leads to a confirmation step
    (``?langkah=konfirmasi``) that repeats the counts and sends them with its own explicit button."""
    sub = submissions.read(session=session, submission_id=submission_id, by=user.principal)
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    checklist = submissions.checklist(session=session, submission_id=submission_id, by=user.principal)
    card = submissions.score(session=session, submission_id=submission_id, by=user.principal)
    left_open = IncompleteCounts(
        unanswered=len(checklist.unanswered), evidence_missing=len(checklist.evidence_missing)
    )
    files = [(code, f) for code, answer in sub.answers.items() for f in answer.files]
    return render(
        request,
        "operator/submit.html",
        {
            "sub": sub,
            "round": ctx.round,
            "body": ctx.body,
            "checklist": checklist,
            "card": card,
            "left_open": left_open,
            "left_open_text": submissions.incomplete_text(left_open),
            "confirming": langkah == "konfirmasi" and not checklist.complete and sub.status == "draft",
            "files": files,
            "idempotency_key": secrets.token_urlsafe(16),
            "tz": commission_timezone(session, ctx.body.commission_id),
        },
    )


@router.post("/pengisian/{submission_id}/kirim")
def submit(
    submission_id: Id,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    unanswered: Annotated[int | None, Form(ge=0, le=100_000)] = None,
    evidence_missing: Annotated[int | None, Form(ge=0, le=100_000)] = None,
) -> Response:
    """Lock the answers. An incomplete SAQ is locked only with the counts its confirmation step showed
    (``unanswered``, ``evidence_missing``), checked again by the submissions service against the answers
    as they are now. A double click or a resent form replays the first result (idempotency key)."""
    submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    if confirm != "ya":
        raise InvalidInput(
            "tick the confirmation box before submitting",
            errors=[
                FieldProblem("confirm", "not confirmed", "Centang pernyataan bahwa jawaban sudah benar.")
            ],
            indonesian="Centang pernyataan bahwa jawaban sudah benar sebelum mengirim.",
        )
    acknowledged = (
        IncompleteCounts(unanswered=unanswered, evidence_missing=evidence_missing)
        if unanswered is not None and evidence_missing is not None
        else None
    )
    submissions.submit(
        session=session,
        submission_id=submission_id,
        by=user.principal,
        acknowledge_incomplete=acknowledged,
        idempotency_key=idempotency_key or None,
    )
    return redirect(f"/pengisian/{submission_id}", message="terkirim")


def recommendations_for(session: Session, submission: Submission) -> list[Recommendation]:
    """What the body lost points on, most first (the exports service's rule, on the verified score card)."""
    found = session.scalar(select(Verification).where(Verification.submission_id == submission.id))
    if found is None:
        return []
    data = load_answer_data(session=session, submissions=[(submission.id, found.id)])[submission.id]
    template = submissions.template_of(
        session, submissions.template_row(session, submission.template_version_id)
    )
    return exports.recommendations(template, verified_card(template, data))[:RECOMMENDATIONS]


@router.get("/pengisian/{submission_id}/hasil")
def result_page(submission_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """After publication: the body's final result with why each figure is what it is (each aspect by name
    with its weight, each stage with its weight, the gate's decision and the final score's rule), its
    result sheet and the recommendations."""
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    publication = results.latest_publication(session=session, round_=ctx.round)
    row = (
        results.body_result(session=session, publication=publication, body_id=ctx.body.id)
        if publication is not None
        else None
    )
    template = submissions.template_of(
        session, submissions.template_row(session, ctx.submission.template_version_id)
    )
    labels = results.band_labels(session=session, round_id=ctx.round.id) if row is not None else {}
    advice = recommendations_for(session, ctx.submission) if row is not None and row.participating else []
    explanation = (
        results.explained(publication=publication, row=row, bands=template.bands)
        if publication is not None and row is not None
        else None
    )
    return render(
        request,
        "operator/result.html",
        {
            "round": ctx.round,
            "body": ctx.body,
            "submission": ctx.submission,
            "publication": publication,
            "row": row,
            "explanation": explanation,
            "aspects": [
                (aspect, row.aspect_scores.get(aspect.code) if row is not None else None)
                for aspect in template.aspects
            ],
            "band_label": labels.get(row.band or "", row.band) if row is not None else None,
            "recommendations": advice,
            "tz": commission_timezone(session, ctx.body.commission_id),
        },
    )


@router.get("/pengisian/{submission_id}/sanggahan")
def objections_page(submission_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Once the verification results are released: each question's verified value beside the body's answer,
    and during the objection window (masa sanggah) a form to object to it."""
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    out = verification_view(session=session, submission_id=submission_id, by=user.principal)
    objections = {
        o.question_code: o
        for o in list_objections(session=session, submission_id=submission_id, by=user.principal)
    }
    now = utcnow()
    round_ = ctx.round
    window_open = (
        round_.objection_opens_at is not None
        and round_.objection_closes_at is not None
        and as_utc(round_.objection_opens_at) <= now < as_utc(round_.objection_closes_at)
    )
    template = submissions.template_of(
        session, submissions.template_row(session, ctx.submission.template_version_id)
    )
    return render(
        request,
        "operator/objections.html",
        {
            "out": out,
            "sub": ctx.submission,
            "round": round_,
            "body": ctx.body,
            "template": template,
            "objections": objections,
            "window_open": window_open,
            "can_object": window_open and user.principal.body_id == ctx.body.id,
            "tz": commission_timezone(session, ctx.body.commission_id),
        },
    )


@router.post("/pengisian/{submission_id}/sanggahan/{code}")
async def object_to(
    submission_id: Id, code: str, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """File an objection to the verified value of one question, with an explanation and evidence links."""
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=user.principal)
    policy.ensure_answer_for_body(user.principal, commission_id=ctx.body.commission_id, body_id=ctx.body.id)
    form = await read_form(request)
    explanation = str(form.get("explanation") or "").strip()
    if not explanation:
        raise InvalidInput(
            "an objection needs an explanation",
            errors=[FieldProblem("explanation", "required", "Tuliskan alasan sanggahan.")],
            indonesian="Tuliskan alasan sanggahan.",
        )
    create_objection(
        session=session,
        submission_id=submission_id,
        by=user.principal,
        question_code=code,
        explanation=explanation,
        evidence=_links(str(form.get("evidence") or "")),
    )
    return redirect(f"/pengisian/{submission_id}/sanggahan#s-{code}", message="sanggahan-dikirim")


@router.get("/berkas/{file_id}")
def download_evidence(file_id: Id, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    """Download an evidence document (whoever may read its submission)."""
    found = evidence.download(
        session=session, file_id=file_id, by=user.principal, evidence_dir=settings.evidence_dir
    )
    return stored_file(found.path, name=found.name, content_type=found.content_type, disposition="inline")


# --- JSON endpoints of the form's script -------------------------------------------------------------------


class SaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(ge=1)  # true is not version 1
    answers: dict[str, dict[str, Any] | None] = Field(max_length=MAX_ANSWERS)


@json_router.post("/pengisian/{submission_id}/jawaban")
async def save_json(
    submission_id: Id, payload: SaveIn, request: Request, session: SessionDep, user: CurrentUser
) -> JSONResponse:
    """Autosave: apply the changed answers on top of ``version``; answers the new version and live panel."""

    def save() -> dict[str, Any]:
        result = submissions.save_answers(
            session=session,
            submission_id=submission_id,
            if_match=f'"{payload.version}"',
            answers=payload.answers,
            by=user.principal,
        )
        return {
            "version": result.version,
            "changed": result.changed,
            "view": _view(session, submission_id, user),
        }

    return JSONResponse(await run_save(request, save, session=session))


@json_router.get("/pengisian/{submission_id}/keadaan")
def state_json(submission_id: Id, session: SessionDep, user: CurrentUser) -> JSONResponse:
    """The stored answers and version now, for merging after a conflict."""
    sub: SubmissionOut = submissions.read(session=session, submission_id=submission_id, by=user.principal)
    tz = _zone(session, submission_id, user)
    return JSONResponse(
        {
            "version": sub.version,
            "status": sub.status,
            "answers": answers_as_json(sub, tz),
            "view": _view(session, submission_id, user),
        }
    )


@json_router.post("/pengisian/{submission_id}/berkas/{code}")
async def upload_json(
    submission_id: Id,
    code: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> JSONResponse:
    """Upload a PDF (or image) as evidence for one question; answers the file and the live panel (201, or
    200 with the file already there when the question has the same file)."""

    def attach(staged: StagedUpload) -> tuple[evidence.Attached, dict[str, Any], str]:
        done = evidence.attach(
            session=session,
            submission_id=submission_id,
            question_code=code,
            staged=staged,
            by=user.principal,
            evidence_dir=settings.evidence_dir,
        )
        view, tz = _view(session, submission_id, user), _zone(session, submission_id, user)
        session.commit()
        return done, view, tz

    attached, view, tz = await receive_evidence(request, session=session, settings=settings, attach=attach)
    stored = attached.file
    return JSONResponse(
        {"file": fmt.evidence_file(stored, tz), "version": stored.submission_version, "view": view},
        status_code=201 if attached.created else 200,
    )


@json_router.post("/pengisian/{submission_id}/berkas-hapus/{file_id}")
def remove_json(submission_id: Id, file_id: Id, session: SessionDep, user: CurrentUser) -> JSONResponse:
    """Withdraw an uploaded document; answers the submission's new version and the live panel."""
    version = evidence.remove(
        session=session, file_id=file_id, by=user.principal, submission_id=submission_id
    )
    return JSONResponse({"removed": file_id, "version": version, "view": _view(session, submission_id, user)})
