"""Verifying one submission: starting, the body's values and the verified values side by side with both
scores, saving verified values (``If-Match`` on the verification's version), completing.

The body's answers are never touched: the verifier's values live in ``verified_answer`` and every change is
audited with its before and after. A verification starts once the body submitted, or once its SAQ window
(with extensions) closed and the round's ``drafts_at_deadline`` submitted its draft as it stood; until the
window closes the SAQ is the body's own and its verifier does not see it. It is ``in_progress`` until
completed, and completing needs every question applicable under the verified values reviewed (the
``reviewed`` and ``total`` of the view count exactly those). After completion only an objection decision
changes a verified value. The verified score counts only reviewed questions (see
``app.verification.scores``) and is provisional until the verification is completed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.accounts import policy
from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.commissions.timezones import as_utc, format_local, format_words
from app.db.base import utcnow
from app.db.models import Objection, Verification, VerifiedAnswer, VerifierAssignment
from app.errors import Conflict, EmonevError, FieldProblem, Forbidden, InvalidInput
from app.rounds.service import effective_closes_at, settle_due_drafts, timezone_of
from app.submissions.service import evidence_files
from app.verification.common import (
    Context,
    answer_state,
    bump_version,
    check_values,
    ensure_version,
    filling_until,
    find_verification,
    in_progress,
    same_value,
    submission_context,
    template_of,
)
from app.verification.schemas import (
    AspectSide,
    QuestionSide,
    SelfSide,
    VerificationOut,
    VerificationScore,
    VerifiedAnswerIn,
    VerifiedSide,
)
from app.verification.scores import load_answer_data, review_progress, self_card, verified_card


def start(*, session: Session, submission_id: int, by: Principal, now: datetime | None = None) -> bool:
    """Start verifying a submission; True when it was started now, False when it already was."""
    now = as_utc(now or utcnow())
    ctx = submission_context(session, submission_id, for_update=True)
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    if find_verification(session, submission_id) is not None:
        return False
    refusal = _start_refusal(session, ctx, now)
    if refusal is not None:
        raise refusal
    assignment = session.get(VerifierAssignment, (ctx.round.id, ctx.body.id))
    verifier_id = (
        by.account_id
        if by.role is Role.verifier
        else (assignment.verifier_id if assignment is not None else by.account_id)
    )
    verification = Verification(submission_id=submission_id, verifier_id=verifier_id, status="in_progress")
    session.add(verification)
    session.flush()
    record(
        session=session,
        actor=by,
        action="verification.start",
        entity="verification",
        entity_id=verification.id,
        after={"submission_id": submission_id, "status": "in_progress", "verifier_id": verifier_id},
        commission_id=ctx.round.commission_id,
    )
    return True


def _start_refusal(session: Session, ctx: Context, now: datetime) -> Conflict | None:
    """Why the verification of this submission cannot start now, or ``None`` when it can.

    A submitted SAQ starts. A draft its body may still fill in (before its own deadline, extensions
    included) does not. A draft whose deadline has passed is verified only once the round's rule submitted it
    as it stood (``drafts_at_deadline = "submit"``, settled here once the SAQ stage closed); under
    ``not_participating`` it takes no part and is never verified."""
    if ctx.submission.status == "submitted":
        return None
    timezone = timezone_of(session=session, round_=ctx.round)
    closes = filling_until(session, ctx, now)
    if closes is not None:
        return Conflict(
            "verification starts once the body submits or its SAQ window closes "
            f"({format_local(closes, timezone)})",
            indonesian=(
                f"SAQ {ctx.body.name} masih diisi oleh badan publik; verifikasi dapat dimulai setelah SAQ "
                f"dikirim atau batas waktu pengisiannya lewat ({format_words(closes, timezone)})."
            ),
            submission_status=ctx.submission.status,
            closes_at=closes.isoformat(),
        )
    if settle_due_drafts(session=session, round_=ctx.round, now=now, body_ids=[ctx.body.id]):
        session.refresh(ctx.submission)
        return None
    if ctx.round.drafts_at_deadline == "submit":
        return Conflict(
            f"the draft of {ctx.body.name} is submitted as it stands when the SAQ stage closes; close the "
            "stage first",
            indonesian=f"Draf {ctx.body.name} akan dikirim apa adanya saat pengisian SAQ ditutup; tutup dulu "
            "pengisian SAQ periode ini.",
            submission_status=ctx.submission.status,
        )
    deadline = effective_closes_at(session=session, round_=ctx.round, body=ctx.body)
    return Conflict(
        f"{ctx.body.name} did not submit its SAQ by its deadline ({format_local(deadline, timezone)}); "
        "under the round's rule (drafts_at_deadline: not_participating) a draft takes no part and is not "
        "verified",
        indonesian=f"{ctx.body.name} tidak mengirim SAQ sampai batas waktunya "
        f"({format_words(deadline, timezone)}); menurut aturan periode ini draf dinyatakan tidak mengikuti "
        "dan tidak diverifikasi.",
        submission_status=ctx.submission.status,
    )


def start_refusal(
    *, session: Session, submission_id: int, by: Principal, now: datetime | None = None
) -> EmonevError | None:
    """What starting the verification now would answer, without starting it: ``None`` when it would start
    (or already has), else the refusal (not raised), so a page offers its start button only when it works
    and otherwise says why. A draft whose deadline passed is settled here as :func:`start` would."""
    ctx = submission_context(session, submission_id)
    if not policy.can_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    ):
        return Forbidden(
            "only the verifier assigned to this body in this round, or an administrator, may verify it",
            indonesian="Hanya verifikator yang ditugaskan untuk badan publik ini, atau administrator, yang "
            "dapat memulai verifikasinya.",
        )
    if find_verification(session, submission_id) is not None:
        return None
    return _start_refusal(session, ctx, as_utc(now or utcnow()))


def _summary(card: scoring.ScoreCard, *, provisional: bool = False) -> VerificationScore:
    return VerificationScore(
        score=str(card.score), band=card.band.code, band_label=card.band.label, provisional=provisional
    )


def _published(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _view(session: Session, ctx: Context, verification: Verification | None) -> VerificationOut:
    template = template_of(session, ctx.submission.template_version_id)
    data = load_answer_data(
        session=session,
        submissions=[(ctx.submission.id, verification.id if verification is not None else None)],
    )[ctx.submission.id]
    own = self_card(template, data)
    checked = verified_card(template, data)
    rows: dict[str, VerifiedAnswer] = {}
    if verification is not None:
        rows = {
            r.question_code: r
            for r in session.scalars(
                select(VerifiedAnswer).where(VerifiedAnswer.verification_id == verification.id)
            )
        }
    objections = dict(
        session.execute(
            select(Objection.question_code, Objection.status).where(
                Objection.submission_id == ctx.submission.id
            )
        ).all()
    )
    files = evidence_files(session=session, submission_id=ctx.submission.id)
    own_status = {q.code: q.status.value for q in own.questions}
    checked_status = {q.code: q.status.value for q in checked.questions}
    questions = []
    for entry in template.questions():
        q = entry.question
        raw = data.raw.get(q.code, {})
        row = rows.get(q.code)
        questions.append(
            QuestionSide(
                code=q.code,
                aspect_code=entry.aspect_code,
                text=q.text,
                type=q.type.value,
                evidence_rule=q.evidence.value,
                self=SelfSide(
                    value=raw.get("value"),
                    evidence=list(raw.get("evidence") or []),
                    file_ids=list(data.files.get(q.code, [])),
                    files=files.get(q.code, []),
                    note=raw.get("note"),
                    status=own_status[q.code],
                ),
                verified=None
                if row is None
                else VerifiedSide(
                    value=row.value,
                    evidence_checked=row.evidence_checked,
                    note=row.note,
                    updated_at=row.updated_at,
                    updated_by_id=row.updated_by_id,
                    status=checked_status[q.code],
                ),
                applicable=checked_status[q.code] != scoring.QuestionStatus.NOT_APPLICABLE.value,
                differs=row is not None and not same_value(q.type, raw.get("value"), row.value),
                objection=objections.get(q.code),
            )
        )
    verified_aspects = {a.code: a for a in checked.aspects}
    progress = review_progress(checked, rows)
    status = verification.status if verification is not None else "not_started"
    return VerificationOut(
        submission_id=ctx.submission.id,
        verification_id=verification.id if verification is not None else None,
        status=status,
        version=verification.version if verification is not None else None,
        verifier_id=verification.verifier_id if verification is not None else None,
        completed_at=verification.completed_at if verification is not None else None,
        self_score=_summary(own),
        verified_score=_summary(checked, provisional=status != "completed"),
        aspects=[
            AspectSide(
                code=a.code,
                title=a.title,
                self_score=_published(a.score),
                verified_score=_published(verified_aspects[a.code].score),
            )
            for a in own.aspects
        ],
        reviewed=progress.reviewed,
        total=progress.total,
        questions=questions,
    )


def _ensure_read(
    session: Session, ctx: Context, by: Principal, verification: Verification | None, *, filling: bool
) -> None:
    """Who reads a verification (``policy.ensure_read_verification``); with ``filling``, also refuse the
    verifier while the body may still fill in its SAQ."""
    released = (
        ctx.round.results_released_at is not None
        and verification is not None
        and verification.status == "completed"
    )
    policy.ensure_read_verification(
        session,
        by,
        commission_id=ctx.body.commission_id,
        body_id=ctx.body.id,
        round_id=ctx.round.id,
        released=released,
        filling_until=filling_until(session, ctx) if filling and verification is None else None,
    )


def view(*, session: Session, submission_id: int, by: Principal) -> VerificationOut:
    """Self-assessed and verified values side by side, with both scores."""
    ctx = submission_context(session, submission_id)
    verification = find_verification(session, submission_id)
    _ensure_read(session, ctx, by, verification, filling=True)
    return _view(session, ctx, verification)


@dataclass(frozen=True)
class StillFilling:
    """A SAQ its body may still fill in: when its window closes for the body, and whether that is a granted
    extension (later than the round's own close)."""

    closes_at: datetime
    extended: bool


def still_filling(
    *, session: Session, submission_id: int, by: Principal, now: datetime | None = None
) -> StillFilling | None:
    """Whether the body may still fill in this SAQ (so it cannot be verified and its verifier does not see
    it yet), for whoever may read its verification; ``None`` once it may be verified."""
    ctx = submission_context(session, submission_id)
    _ensure_read(session, ctx, by, find_verification(session, submission_id), filling=False)
    closes = filling_until(session, ctx, now)
    if closes is None:
        return None
    return StillFilling(closes_at=closes, extended=closes > as_utc(ctx.round.saq_closes_at))


def save_answers(
    *,
    session: Session,
    submission_id: int,
    by: Principal,
    if_match: str | None,
    patches: Mapping[str, VerifiedAnswerIn],
) -> VerificationOut:
    """Record verified values. Fields sent replace the stored ones; every change is audited."""
    ctx = submission_context(session, submission_id)
    verification = in_progress(session, ctx, by)
    ensure_version(verification, if_match)
    template = template_of(session, ctx.submission.template_version_id)
    rows = {
        r.question_code: r
        for r in session.scalars(
            select(VerifiedAnswer).where(
                VerifiedAnswer.verification_id == verification.id,
                VerifiedAnswer.question_code.in_(list(patches)),
            )
        )
    }
    merged: dict[str, dict[str, Any]] = {}
    for code, patch in patches.items():
        before = answer_state(rows.get(code)) or {"value": None, "evidence_checked": False, "note": None}
        sent = patch.model_dump(include=patch.model_fields_set)
        if sent.get("evidence_checked", True) is None:
            sent["evidence_checked"] = False
        merged[code] = before | sent
    check_values(template, {code: m["value"] for code, m in merged.items()}, prefix="answers")
    now = utcnow()
    changed = False
    for code, after in merged.items():
        row = rows.get(code)
        before_state = answer_state(row)
        if before_state == after:
            continue
        if row is None:
            row = VerifiedAnswer(verification_id=verification.id, question_code=code)
            session.add(row)
        row.value = after["value"]
        row.evidence_checked = bool(after["evidence_checked"])
        row.note = after["note"]
        row.updated_at = now
        row.updated_by_id = by.account_id
        record(
            session=session,
            actor=by,
            action="verification.answer",
            entity="verified_answer",
            entity_id=f"{verification.id}:{code}",
            before=before_state,
            after=after,
            commission_id=ctx.round.commission_id,
        )
        changed = True
    if changed:
        bump_version(session, verification)
    return _view(session, ctx, verification)


def complete(
    *, session: Session, submission_id: int, by: Principal, now: datetime | None = None
) -> VerificationOut:
    """Complete a verification: every question applicable under the verified values must be reviewed."""
    ctx = submission_context(session, submission_id)
    verification = in_progress(session, ctx, by)
    template = template_of(session, ctx.submission.template_version_id)
    data = load_answer_data(session=session, submissions=[(ctx.submission.id, verification.id)])[
        ctx.submission.id
    ]
    card = verified_card(template, data)
    missing = list(review_progress(card, data.verified).missing)
    if missing:
        raise InvalidInput(
            f"{len(missing)} question(s) are not reviewed yet: {', '.join(missing)}",
            errors=[
                FieldProblem(f"questions.{code}", "not reviewed yet", f"Pertanyaan {code} belum diperiksa.")
                for code in missing
            ],
            indonesian=(
                f"Verifikasi belum dapat diselesaikan: {len(missing)} pertanyaan belum diperiksa "
                f"({', '.join(missing)})."
            ),
            missing=missing,
        )
    verification.status = "completed"
    verification.completed_at = as_utc(now or utcnow())
    session.flush()
    record(
        session=session,
        actor=by,
        action="verification.complete",
        entity="verification",
        entity_id=verification.id,
        before={"status": "in_progress"},
        after={"status": "completed", "verified_score": str(card.score)},
        commission_id=ctx.round.commission_id,
    )
    return _view(session, ctx, verification)
