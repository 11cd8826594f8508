"""Verification: assigning verifiers, verified values beside the body's own, bulk actions, objections.

Rules:

- The body's answers are never touched: the verifier's values live in ``verified_answer`` and every change
  is audited with its before and after.
- A verification starts once the body submitted or its SAQ window (with extensions) closed. It is
  ``in_progress`` until completed; completing needs every applicable question reviewed. After completion
  only an objection decision changes a verified value.
- Saving verified values takes ``If-Match`` with the verification's version (412 on a stale one).
- The verified score counts only reviewed questions (see ``app.verification.scores``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

import scoring
from app.accounts import policy
from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.commissions.timezones import as_utc, format_local
from app.db.base import utcnow
from app.db.models import (
    Account,
    Answer,
    AuditEntry,
    BodyCategory,
    Invitation,
    LinkCheck,
    Objection,
    PublicBody,
    Round,
    Submission,
    TemplateVersion,
    Verification,
    VerifiedAnswer,
    VerifierAssignment,
)
from app.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
    ProblemCollector,
    StaleVersion,
    WindowClosed,
)
from app.pagination import Page, PageParams, decode_cursor, encode_cursor, paginate
from app.questionnaires.service import parsed
from app.rounds.service import effective_closes_at, settle_due_drafts, timezone_of
from app.submissions.service import parse_if_match
from app.verification.linkcheck import MAX_LINKS, LinkChecker, outcome
from app.verification.schemas import (
    AspectSide,
    AssignmentOut,
    AssignmentsResult,
    BulkFailure,
    BulkResult,
    LinkCheckOut,
    LinkCheckRun,
    MyAssignment,
    ObjectionOut,
    QuestionSide,
    ScoreSummary,
    SelfSide,
    SpreadResult,
    VerificationOut,
    VerifiedAnswerIn,
    VerifiedSide,
)
from app.verification.scores import load_answer_data, self_card, verified_card
from app.web.format import when

MAX_LINK_LENGTH = 2000
_PAIR = 1 << 32


@dataclass(frozen=True)
class Context:
    submission: Submission
    round: Round
    body: PublicBody


def get_round(session: Session, round_id: int) -> Round:
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound(f"round {round_id} does not exist")
    return round_


def submission_context(session: Session, submission_id: int, *, for_update: bool = False) -> Context:
    stmt = select(Submission).where(Submission.id == submission_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    submission = session.scalar(stmt)
    if submission is None:
        raise NotFound(f"submission {submission_id} does not exist")
    round_ = session.get(Round, submission.round_id)
    body = session.get(PublicBody, submission.body_id)
    assert round_ is not None
    assert body is not None
    return Context(submission, round_, body)


def template_of(session: Session, template_version_id: int) -> scoring.Template:
    row = session.get(TemplateVersion, template_version_id)
    assert row is not None, "a submission always points at its template version"
    return parsed(row)


def _verification(session: Session, submission_id: int, *, for_update: bool = False) -> Verification | None:
    stmt = select(Verification).where(Verification.submission_id == submission_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def _bump(session: Session, verification: Verification) -> None:
    """Give the verification a new version (its ETag) after a change to its answers."""
    flag_modified(verification, "status")
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion("the verification changed while you were saving; read it again") from exc


def _state(row: VerifiedAnswer | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"value": row.value, "evidence_checked": row.evidence_checked, "note": row.note}


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _normal(kind: scoring.QuestionType, value: Any) -> Any:
    if is_empty(value):
        return None
    if kind is scoring.QuestionType.MULTI_CHOICE and isinstance(value, list):
        return tuple(sorted(str(v) for v in value))
    if kind is scoring.QuestionType.NUMBER and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def same_value(kind: scoring.QuestionType, a: Any, b: Any) -> bool:
    """Whether two stored values of a question mean the same answer (``95`` and ``"95.0"`` for a number,
    options in any order for a multi_choice)."""
    return bool(_normal(kind, a) == _normal(kind, b))


def _check_values(template: scoring.Template, values: Mapping[str, Any], *, prefix: str) -> None:
    """Validate values against the template like answers; problems name ``<prefix>.<code>``."""
    try:
        scoring.parse_answers(template, {code: {"value": v} for code, v in values.items()})
    except scoring.AnswerError as exc:
        raise InvalidInput(
            "some values do not fit the template",
            errors=[
                FieldProblem(f"{prefix}.{p.code}.{p.field}".rstrip("."), p.message) for p in exc.problems
            ],
        ) from exc


# --- Assignments -------------------------------------------------------------------------------------------


def _verifiers(session: Session, round_: Round, ids: list[int], field: str) -> dict[int, Account]:
    rows = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(set(ids))))}
    problems = ProblemCollector()
    for vid in dict.fromkeys(ids):
        account = rows.get(vid)
        if account is None or account.commission_id != round_.commission_id:
            problems.add(f"{field}.{vid}", "no such account in this commission")
        elif account.role != Role.verifier.value or not account.active:
            problems.add(f"{field}.{vid}", "not an active verifier account")
    problems.raise_if_any("some verifiers cannot be assigned")
    return rows


def _assign(
    session: Session, *, round_: Round, body_id: int, verifier_id: int, by: Principal
) -> tuple[VerifierAssignment, bool]:
    row = session.get(VerifierAssignment, (round_.id, body_id))
    before = row.verifier_id if row is not None else None
    if before == verifier_id:
        assert row is not None
        return row, False
    if row is None:
        row = VerifierAssignment(round_id=round_.id, body_id=body_id, verifier_id=verifier_id)
        session.add(row)
    else:
        row.verifier_id = verifier_id
    verification = session.scalar(
        select(Verification)
        .join(Submission, Submission.id == Verification.submission_id)
        .where(
            Submission.round_id == round_.id,
            Submission.body_id == body_id,
            Verification.status == "in_progress",
        )
    )
    if verification is not None:
        verification.verifier_id = verifier_id
    record(
        session=session,
        actor=by,
        action="verification.assign",
        entity="verifier_assignment",
        entity_id=f"{round_.id}:{body_id}",
        before={"verifier_id": before} if before is not None else None,
        after={"verifier_id": verifier_id},
        commission_id=round_.commission_id,
    )
    return row, True


def _assignment_out(session: Session, round_: Round, body_ids: list[int]) -> list[AssignmentOut]:
    rows = session.execute(
        select(VerifierAssignment, PublicBody, BodyCategory, Account)
        .join(PublicBody, PublicBody.id == VerifierAssignment.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .join(Account, Account.id == VerifierAssignment.verifier_id)
        .where(VerifierAssignment.round_id == round_.id, VerifierAssignment.body_id.in_(body_ids))
        .order_by(VerifierAssignment.body_id)
    ).all()
    return [
        AssignmentOut(
            round_id=a.round_id,
            body_id=b.id,
            body_name=b.name,
            category=c.code,
            verifier_id=v.id,
            verifier_name=v.name,
        )
        for a, b, c, v in rows
    ]


def set_assignments(
    *, session: Session, round_id: int, assignments: Mapping[int, int], by: Principal
) -> AssignmentsResult:
    """Assign (or reassign) verifiers to invited bodies of the round, by hand. All or nothing."""
    round_ = get_round(session, round_id)
    policy.ensure_admin(by, round_.commission_id)
    body_ids = list(assignments)
    invited = set(
        session.scalars(
            select(Invitation.body_id).where(
                Invitation.round_id == round_.id, Invitation.body_id.in_(body_ids)
            )
        )
    )
    problems = ProblemCollector()
    for body_id in body_ids:
        if body_id not in invited:
            problems.add(f"assignments.{body_id}", "this body is not invited to the round")
    problems.raise_if_any("some bodies cannot be assigned")
    _verifiers(session, round_, list(assignments.values()), "assignments")
    changed = 0
    for body_id, verifier_id in assignments.items():
        changed += _assign(session, round_=round_, body_id=body_id, verifier_id=verifier_id, by=by)[1]
    session.flush()
    return AssignmentsResult(changed=changed, assignments=_assignment_out(session, round_, body_ids))


def spread_assignments(
    *, session: Session, round_id: int, category_code: str, verifier_ids: list[int], by: Principal
) -> SpreadResult:
    """Assign every unassigned invited body of a category, one by one (by body id), to the listed verifier
    with the fewest bodies in the round so far (ties: the first listed). Existing assignments stay."""
    round_ = get_round(session, round_id)
    policy.ensure_admin(by, round_.commission_id)
    category = session.scalar(
        select(BodyCategory).where(
            BodyCategory.commission_id == round_.commission_id, BodyCategory.code == category_code
        )
    )
    if category is None:
        raise InvalidInput(
            f"no body category {category_code!r} in this commission",
            errors=[FieldProblem("category_code", "unknown category")],
        )
    _verifiers(session, round_, verifier_ids, "verifier_ids")
    order = list(dict.fromkeys(verifier_ids))
    load = dict.fromkeys(order, 0)
    for vid, n in session.execute(
        select(VerifierAssignment.verifier_id, func.count())
        .where(VerifierAssignment.round_id == round_.id, VerifierAssignment.verifier_id.in_(order))
        .group_by(VerifierAssignment.verifier_id)
    ):
        load[vid] = int(n)
    assigned = set(
        session.scalars(select(VerifierAssignment.body_id).where(VerifierAssignment.round_id == round_.id))
    )
    bodies = session.scalars(
        select(Invitation.body_id)
        .join(PublicBody, PublicBody.id == Invitation.body_id)
        .where(Invitation.round_id == round_.id, PublicBody.category_id == category.id)
        .order_by(Invitation.body_id)
    ).all()
    count = 0
    for body_id in bodies:
        if body_id in assigned:
            continue
        verifier_id = min(order, key=lambda v: (load[v], order.index(v)))
        _assign(session, round_=round_, body_id=body_id, verifier_id=verifier_id, by=by)
        load[verifier_id] += 1
        count += 1
    session.flush()
    return SpreadResult(assigned=count, per_verifier=load)


def list_assignments(
    *, session: Session, round_id: int, by: Principal, params: PageParams
) -> Page[AssignmentOut]:
    """The round's assignments, by body id."""
    round_ = get_round(session, round_id)
    policy.ensure_admin(by, round_.commission_id)
    stmt = select(VerifierAssignment.body_id).where(VerifierAssignment.round_id == round_.id)
    if params.after_id is not None:
        stmt = stmt.where(VerifierAssignment.body_id > params.after_id)
    ids = list(session.scalars(stmt.order_by(VerifierAssignment.body_id).limit(params.limit + 1)))
    more = len(ids) > params.limit
    ids = ids[: params.limit]
    return Page(
        items=_assignment_out(session, round_, ids),
        next_cursor=encode_cursor(ids[-1]) if more and ids else None,
    )


def my_assignments(
    *, session: Session, by: Principal, round_id: int | None, params: PageParams
) -> Page[MyAssignment]:
    """The calling verifier's bodies (all rounds, or one), ordered by round then body, with their status."""
    policy.ensure_verifier(by)
    reviewed = (
        select(func.count(VerifiedAnswer.id))
        .where(VerifiedAnswer.verification_id == Verification.id)
        .correlate(Verification)
        .scalar_subquery()
    )
    stmt = (
        select(VerifierAssignment, Round, PublicBody, BodyCategory, Submission, Verification, reviewed)
        .join(Round, Round.id == VerifierAssignment.round_id)
        .join(PublicBody, PublicBody.id == VerifierAssignment.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .outerjoin(
            Submission,
            and_(Submission.round_id == VerifierAssignment.round_id, Submission.body_id == PublicBody.id),
        )
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(VerifierAssignment.verifier_id == by.account_id)
        .order_by(VerifierAssignment.round_id, VerifierAssignment.body_id)
        .limit(params.limit + 1)
    )
    if round_id is not None:
        stmt = stmt.where(VerifierAssignment.round_id == round_id)
    if params.cursor:
        after = decode_cursor(params.cursor)
        r, b = divmod(after, _PAIR)
        stmt = stmt.where(
            or_(
                VerifierAssignment.round_id > r,
                and_(VerifierAssignment.round_id == r, VerifierAssignment.body_id > b),
            )
        )
    rows = session.execute(stmt).all()
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    items = [
        MyAssignment(
            round_id=r.id,
            round_title=r.title,
            body_id=b.id,
            body_name=b.name,
            category=c.code,
            submission_id=s.id if s is not None else None,
            submission_status=s.status if s is not None else None,
            verification_status=v.status if v is not None else "not_started",
            reviewed=int(n or 0) if v is not None else 0,
        )
        for _, r, b, c, s, v, n in rows
    ]
    last = rows[-1][0] if rows else None
    cursor = encode_cursor(last.round_id * _PAIR + last.body_id) if more and last is not None else None
    return Page(items=items, next_cursor=cursor)


# --- Verifying ---------------------------------------------------------------------------------------------


def start(*, session: Session, submission_id: int, by: Principal, now: datetime | None = None) -> bool:
    """Start verifying a submission; True when it was started now, False when it already was."""
    now = as_utc(now or utcnow())
    ctx = submission_context(session, submission_id, for_update=True)
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    if _verification(session, submission_id) is not None:
        return False
    if ctx.submission.status != "submitted":
        closes = effective_closes_at(session=session, round_=ctx.round, body=ctx.body)
        timezone = timezone_of(session=session, round_=ctx.round)
        if now < closes:
            raise Conflict(
                "verification starts once the body submits or its SAQ window closes "
                f"({format_local(closes, timezone)})",
                indonesian=f"Verifikasi {ctx.body.name} dimulai setelah badan publik mengirim SAQ atau batas "
                f"waktunya lewat ({when(closes, timezone)}).",
                submission_status=ctx.submission.status,
            )
        _ensure_settled_draft(session, ctx, closes, timezone, now)
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


def _ensure_settled_draft(
    session: Session, ctx: Context, closes: datetime, timezone: str, now: datetime
) -> None:
    """A draft whose deadline has passed is verified only once the round's rule submitted it as it stood
    (``drafts_at_deadline = "submit"``, settled once the SAQ stage closed); under ``not_participating`` it
    takes no part and is never verified."""
    if settle_due_drafts(session=session, round_=ctx.round, now=now, body_ids=[ctx.body.id]):
        session.refresh(ctx.submission)
        return
    if ctx.round.drafts_at_deadline == "submit":
        raise Conflict(
            f"the draft of {ctx.body.name} is submitted as it stands when the SAQ stage closes; close the "
            "stage first",
            indonesian=f"Draf {ctx.body.name} akan dikirim apa adanya saat pengisian SAQ ditutup; tutup dulu "
            "pengisian SAQ periode ini.",
            submission_status=ctx.submission.status,
        )
    raise Conflict(
        f"{ctx.body.name} did not submit its SAQ by its deadline ({format_local(closes, timezone)}); "
        "under the round's rule (drafts_at_deadline: not_participating) a draft takes no part and is not "
        "verified",
        indonesian=f"{ctx.body.name} tidak mengirim SAQ sampai batas waktunya ({when(closes, timezone)}); "
        "menurut aturan periode ini draf dinyatakan tidak mengikuti dan tidak diverifikasi.",
        submission_status=ctx.submission.status,
    )


def _summary(card: scoring.ScoreCard) -> ScoreSummary:
    return ScoreSummary(score=str(card.score), band=card.band.code, band_label=card.band.label)


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
                differs=row is not None and not same_value(q.type, raw.get("value"), row.value),
                objection=objections.get(q.code),
            )
        )
    verified_aspects = {a.code: a for a in checked.aspects}
    return VerificationOut(
        submission_id=ctx.submission.id,
        verification_id=verification.id if verification is not None else None,
        status=verification.status if verification is not None else "not_started",
        version=verification.version if verification is not None else None,
        verifier_id=verification.verifier_id if verification is not None else None,
        completed_at=verification.completed_at if verification is not None else None,
        self_score=_summary(own),
        verified_score=_summary(checked),
        aspects=[
            AspectSide(
                code=a.code,
                title=a.title,
                self_score=_published(a.score),
                verified_score=_published(verified_aspects[a.code].score),
            )
            for a in own.aspects
        ],
        reviewed=len(rows),
        total=len(template.questions()),
        questions=questions,
    )


def view(*, session: Session, submission_id: int, by: Principal) -> VerificationOut:
    """Self-assessed and verified values side by side, with both scores."""
    ctx = submission_context(session, submission_id)
    verification = _verification(session, submission_id)
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
    )
    return _view(session, ctx, verification)


def _in_progress(session: Session, ctx: Context, by: Principal) -> Verification:
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    verification = _verification(session, ctx.submission.id, for_update=True)
    if verification is None:
        raise Conflict(f"the verification of submission {ctx.submission.id} has not started")
    if verification.status != "in_progress":
        raise Conflict(
            "this verification is completed; a verified value now changes only through an objection",
            verification_status=verification.status,
        )
    return verification


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
    verification = _in_progress(session, ctx, by)
    expected = parse_if_match(if_match)
    if expected != verification.version:
        raise StaleVersion(
            f"the verification is at version {verification.version}, not {expected}; read it again",
            errors=[FieldProblem("header:If-Match", "stale version")],
        )
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
        before = _state(rows.get(code)) or {"value": None, "evidence_checked": False, "note": None}
        sent = patch.model_dump(include=patch.model_fields_set)
        if sent.get("evidence_checked", True) is None:
            sent["evidence_checked"] = False
        merged[code] = before | sent
    _check_values(template, {code: m["value"] for code, m in merged.items()}, prefix="answers")
    now = utcnow()
    changed = False
    for code, after in merged.items():
        row = rows.get(code)
        before_state = _state(row)
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
        _bump(session, verification)
    return _view(session, ctx, verification)


def complete(
    *, session: Session, submission_id: int, by: Principal, now: datetime | None = None
) -> VerificationOut:
    """Complete a verification: every question applicable under the verified values must be reviewed."""
    ctx = submission_context(session, submission_id)
    verification = _in_progress(session, ctx, by)
    template = template_of(session, ctx.submission.template_version_id)
    data = load_answer_data(session=session, submissions=[(ctx.submission.id, verification.id)])[
        ctx.submission.id
    ]
    card = verified_card(template, data)
    missing = [
        q.code
        for q in card.questions
        if q.status is not scoring.QuestionStatus.NOT_APPLICABLE and q.code not in data.verified
    ]
    if missing:
        raise InvalidInput(
            f"{len(missing)} question(s) are not reviewed yet: {', '.join(missing)}",
            errors=[FieldProblem(f"questions.{code}", "not reviewed yet") for code in missing],
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


# --- Bulk actions ------------------------------------------------------------------------------------------

BULK_ENTITY = "verification_bulk"
BULK_UNDO = "verification.bulk_undo"


def bulk(
    *,
    session: Session,
    round_id: int,
    by: Principal,
    action: str,
    category: str | None,
    body_ids: list[int] | None,
) -> BulkResult:
    """Apply a bulk action to the verifications of the round's submissions matching the filter (a verifier
    reaches only its assigned bodies). Recorded per submission under one batch id, so it can be undone."""
    round_ = get_round(session, round_id)
    policy.ensure_bulk_verify(by, round_.commission_id)
    assert action == "confirm_checked"
    stmt = (
        select(Submission, Verification)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(
            Submission.round_id == round_.id,
            policy.visible_bodies(by, round_.commission_id, round_id=round_.id),
        )
        .order_by(Submission.id)
    )
    if category is not None:
        cat = session.scalar(
            select(BodyCategory).where(
                BodyCategory.commission_id == round_.commission_id, BodyCategory.code == category
            )
        )
        if cat is None:
            raise InvalidInput(
                f"no body category {category!r}", errors=[FieldProblem("filter.category", "unknown category")]
            )
        stmt = stmt.where(PublicBody.category_id == cat.id)
    if body_ids is not None:
        stmt = stmt.where(Submission.body_id.in_(body_ids))
    batch_id = uuid.uuid4().hex
    failed: list[BulkFailure] = []
    todo: list[tuple[Submission, Verification]] = []
    for submission, verification in session.execute(stmt).all():
        if verification is None:
            failed.append(BulkFailure(submission_id=submission.id, reason="verification not started"))
        elif verification.status != "in_progress":
            failed.append(BulkFailure(submission_id=submission.id, reason="verification completed"))
        else:
            todo.append((submission, verification))
    data = load_answer_data(session=session, submissions=[(s.id, v.id) for s, v in todo])
    changed = 0
    now = utcnow()
    for submission, verification in todo:
        answers = data[submission.id]
        targets = {
            code: answers.raw[code]["value"]
            for code, v in answers.verified.items()
            if v.evidence_checked
            and is_empty(v.value)
            and not is_empty(answers.raw.get(code, {}).get("value"))
        }
        if not targets:
            continue
        rows = session.scalars(
            select(VerifiedAnswer).where(
                VerifiedAnswer.verification_id == verification.id,
                VerifiedAnswer.question_code.in_(list(targets)),
            )
        ).all()
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for row in rows:
            before[row.question_code] = _state(row)
            row.value = targets[row.question_code]
            row.updated_at = now
            row.updated_by_id = by.account_id
            after[row.question_code] = _state(row)
        record(
            session=session,
            actor=by,
            action=f"verification.bulk.{action}",
            entity=BULK_ENTITY,
            entity_id=batch_id,
            before={"submission_id": submission.id, "verification_id": verification.id, "answers": before},
            after={"submission_id": submission.id, "verification_id": verification.id, "answers": after},
            commission_id=round_.commission_id,
        )
        _bump(session, verification)
        changed += len(rows)
    return BulkResult(batch_id=batch_id, changed=changed, failed=failed)


def undo_bulk(*, session: Session, batch_id: str, by: Principal) -> BulkResult:
    """Restore the values a bulk action replaced, where they were not changed again since."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == BULK_ENTITY, AuditEntry.entity_id == batch_id)
        .order_by(AuditEntry.id)
    ).all()
    done = [e for e in entries if e.action != BULK_UNDO]
    if not done or done[0].commission_id is None:
        raise NotFound(f"bulk action {batch_id} does not exist")
    policy.ensure_bulk_verify(by, done[0].commission_id)
    if any(e.action == BULK_UNDO for e in entries):
        raise Conflict(f"bulk action {batch_id} was already undone")
    changed = 0
    failed: list[BulkFailure] = []
    now = utcnow()
    for entry in done:
        submission_id = int(entry.after["submission_id"])
        ctx = submission_context(session, submission_id)
        if not policy.can_verify_body(
            session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
        ):
            failed.append(BulkFailure(submission_id=submission_id, reason="you may not verify this body"))
            continue
        verification = _verification(session, submission_id, for_update=True)
        if verification is None or verification.status != "in_progress":
            failed.append(BulkFailure(submission_id=submission_id, reason="verification completed"))
            continue
        rows = {
            r.question_code: r
            for r in session.scalars(
                select(VerifiedAnswer).where(VerifiedAnswer.verification_id == verification.id)
            )
        }
        restored_before: dict[str, Any] = {}
        restored_after: dict[str, Any] = {}
        moved: list[str] = []
        for code, state in entry.after["answers"].items():
            row = rows.get(code)
            if _state(row) != state:
                moved.append(code)
                continue
            assert row is not None
            previous = entry.before["answers"][code]
            restored_before[code] = state
            row.value = previous["value"]
            row.evidence_checked = previous["evidence_checked"]
            row.note = previous["note"]
            row.updated_at = now
            row.updated_by_id = by.account_id
            restored_after[code] = _state(row)
        if moved:
            failed.append(
                BulkFailure(
                    submission_id=submission_id, reason=f"changed since the bulk action: {', '.join(moved)}"
                )
            )
        if restored_after:
            record(
                session=session,
                actor=by,
                action=BULK_UNDO,
                entity=BULK_ENTITY,
                entity_id=batch_id,
                before={"submission_id": submission_id, "answers": restored_before},
                after={"submission_id": submission_id, "answers": restored_after},
                commission_id=entry.commission_id,
            )
            _bump(session, verification)
            changed += len(restored_after)
    if not changed:
        record(
            session=session,
            actor=by,
            action=BULK_UNDO,
            entity=BULK_ENTITY,
            entity_id=batch_id,
            after={"answers": {}},
            commission_id=done[0].commission_id,
        )
    session.flush()
    return BulkResult(batch_id=batch_id, changed=changed, failed=failed)


# --- Release and objections --------------------------------------------------------------------------------


def pending_verifications(*, session: Session, round_: Round) -> list[int]:
    """Submissions that took part (submitted, or verified) whose verification is not completed."""
    rows = session.execute(
        select(Submission.id, Submission.status, Verification.status)
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(Submission.round_id == round_.id)
        .order_by(Submission.id)
    ).all()
    return [
        sid
        for sid, sub_status, ver_status in rows
        if ver_status != "completed" and (sub_status == "submitted" or ver_status == "in_progress")
    ]


def release(*, session: Session, round_id: int, by: Principal, now: datetime | None = None) -> Round:
    """Release the verification results to the bodies (opens the way to objections within the round's
    objection window). Every verification of a body that took part must be completed first."""
    round_ = get_round(session, round_id)
    policy.ensure_admin(by, round_.commission_id)
    if round_.results_released_at is not None:
        raise Conflict(
            f"the verification results of round {round_.title} were already released",
            results_released_at=as_utc(round_.results_released_at).isoformat(),
        )
    pending = pending_verifications(session=session, round_=round_)
    if pending:
        raise Conflict(
            f"{len(pending)} verification(s) are not completed yet",
            pending_submission_ids=pending,
        )
    round_.results_released_at = as_utc(now or utcnow())
    session.flush()
    record(
        session=session,
        actor=by,
        action="round.release_verification",
        entity="round",
        entity_id=round_.id,
        before={"results_released_at": None},
        after={"results_released_at": round_.results_released_at.isoformat()},
        commission_id=round_.commission_id,
    )
    return round_


def _objection_out(row: Objection) -> ObjectionOut:
    return ObjectionOut(
        id=row.id,
        submission_id=row.submission_id,
        question_code=row.question_code,
        explanation=row.explanation,
        evidence=list(row.evidence_links or []),
        created_by_id=row.created_by_id,
        created_at=row.created_at,
        status=row.status,
        decision_reason=row.decision_reason,
        decided_value=row.decided_value,
        decided_by_id=row.decided_by_id,
        decided_at=row.decided_at,
    )


def _ensure_objection_window(session: Session, round_: Round, now: datetime) -> None:
    timezone = timezone_of(session=session, round_=round_)
    if round_.results_released_at is None:
        raise WindowClosed("the verification results of this round are not released yet")
    opens, closes = round_.objection_opens_at, round_.objection_closes_at
    if opens is None or closes is None:
        raise WindowClosed("this round has no objection window")
    if now < as_utc(opens):
        raise WindowClosed(
            f"the objection window opens on {format_local(opens, timezone)}",
            opens_at=as_utc(opens).isoformat(),
        )
    if now >= as_utc(closes):
        raise WindowClosed(
            f"the objection window closed on {format_local(closes, timezone)}",
            closes_at=as_utc(closes).isoformat(),
        )


def _links_or_422(links: list[str], field: str) -> list[str]:
    problems = ProblemCollector()
    for i, link in enumerate(links):
        parts = urlsplit(link) if len(link) <= MAX_LINK_LENGTH else None
        if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
            problems.add(f"{field}[{i}]", "not an http or https link (at most 2000 characters)")
    problems.raise_if_any("some evidence links are not valid")
    return links


def create_objection(
    *,
    session: Session,
    submission_id: int,
    by: Principal,
    question_code: str,
    explanation: str,
    evidence: list[str],
    now: datetime | None = None,
) -> ObjectionOut:
    """A body objects to the verified value of one question, inside the round's objection window."""
    now = as_utc(now or utcnow())
    ctx = submission_context(session, submission_id)
    policy.ensure_answer_for_body(by, commission_id=ctx.body.commission_id, body_id=ctx.body.id)
    _ensure_objection_window(session, ctx.round, now)
    verification = _verification(session, submission_id)
    if verification is None or verification.status != "completed":
        raise Conflict("this submission has no completed verification to object to")
    template = template_of(session, ctx.submission.template_version_id)
    if question_code not in {e.question.code for e in template.questions()}:
        raise InvalidInput(
            f"the SAQ has no question {question_code!r}",
            errors=[FieldProblem("question_code", "unknown question code")],
        )
    _links_or_422(evidence, "evidence")
    existing = session.scalar(
        select(Objection).where(
            Objection.submission_id == submission_id, Objection.question_code == question_code
        )
    )
    if existing is not None:
        raise Conflict(
            f"question {question_code} already has an objection ({existing.status})", objection_id=existing.id
        )
    row = Objection(
        submission_id=submission_id,
        question_code=question_code,
        explanation=explanation,
        evidence_links=evidence,
        created_by_id=by.account_id,
        status="open",
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session=session,
        actor=by,
        action="objection.create",
        entity="objection",
        entity_id=row.id,
        after={
            "submission_id": submission_id,
            "question_code": question_code,
            "explanation": explanation,
            "evidence": evidence,
        },
        commission_id=ctx.round.commission_id,
    )
    return _objection_out(row)


def decide_objection(
    *,
    session: Session,
    objection_id: int,
    by: Principal,
    accept: bool,
    reason: str,
    value: Any,
    value_sent: bool,
    now: datetime | None = None,
) -> ObjectionOut:
    """The verifier accepts (setting the verified value, evidence checked, the objection's links counting
    as evidence) or rejects an objection, with a reason. Decided objections are final."""
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound(f"objection {objection_id} does not exist")
    ctx = submission_context(session, row.submission_id)
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    if row.status != "open":
        raise Conflict(f"objection {objection_id} was already decided ({row.status})")
    now = as_utc(now or utcnow())
    if accept:
        if not value_sent:
            raise InvalidInput(
                "accepting an objection sets the verified value: send value",
                errors=[FieldProblem("value", "required when accept is true")],
            )
        template = template_of(session, ctx.submission.template_version_id)
        try:
            scoring.parse_answers(template, {row.question_code: {"value": value}})
        except scoring.AnswerError as exc:
            raise InvalidInput(
                "the value does not fit the question",
                errors=[FieldProblem("value", p.message) for p in exc.problems],
            ) from exc
        verification = _verification(session, row.submission_id, for_update=True)
        assert verification is not None, "objections are made to completed verifications"
        answer = session.scalar(
            select(VerifiedAnswer).where(
                VerifiedAnswer.verification_id == verification.id,
                VerifiedAnswer.question_code == row.question_code,
            )
        )
        before = _state(answer)
        if answer is None:
            answer = VerifiedAnswer(verification_id=verification.id, question_code=row.question_code)
            session.add(answer)
        answer.value = value
        answer.evidence_checked = True
        answer.updated_at = now
        answer.updated_by_id = by.account_id
        record(
            session=session,
            actor=by,
            action="objection.accept",
            entity="verified_answer",
            entity_id=f"{verification.id}:{row.question_code}",
            before=before,
            after=_state(answer),
            commission_id=ctx.round.commission_id,
        )
        _bump(session, verification)
    elif value_sent and value is not None:
        raise InvalidInput(
            "a rejected objection leaves the verified value as it is: do not send value",
            errors=[FieldProblem("value", "only with accept: true")],
        )
    before_objection = {"status": row.status}
    row.status = "accepted" if accept else "rejected"
    row.decision_reason = reason
    row.decided_value = value if accept else None
    row.decided_by_id = by.account_id
    row.decided_at = now
    session.flush()
    record(
        session=session,
        actor=by,
        action="objection.decide",
        entity="objection",
        entity_id=row.id,
        before=before_objection,
        after={"status": row.status, "reason": reason, "value": row.decided_value},
        commission_id=ctx.round.commission_id,
    )
    return _objection_out(row)


def list_objections(*, session: Session, submission_id: int, by: Principal) -> list[ObjectionOut]:
    """A submission's objections (at most one per question), by question code."""
    ctx = submission_context(session, submission_id)
    verification = _verification(session, submission_id)
    released = ctx.round.results_released_at is not None and verification is not None
    policy.ensure_read_verification(
        session,
        by,
        commission_id=ctx.body.commission_id,
        body_id=ctx.body.id,
        round_id=ctx.round.id,
        released=released,
    )
    rows = session.scalars(
        select(Objection).where(Objection.submission_id == submission_id).order_by(Objection.question_code)
    )
    return [_objection_out(r) for r in rows]


def list_round_objections(
    *, session: Session, round_id: int, by: Principal, status: str | None, params: PageParams
) -> Page[ObjectionOut]:
    """A round's objections (a verifier sees those of its bodies), by id."""
    round_ = get_round(session, round_id)
    policy.ensure_bulk_verify(by, round_.commission_id)
    stmt = (
        select(Objection)
        .join(Submission, Submission.id == Objection.submission_id)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .where(
            Submission.round_id == round_.id,
            policy.visible_bodies(by, round_.commission_id, round_id=round_.id),
        )
    )
    if status is not None:
        stmt = stmt.where(Objection.status == status)
    if params.after_id is not None:
        stmt = stmt.where(Objection.id > params.after_id)
    rows = list(session.scalars(stmt.order_by(Objection.id).limit(params.limit + 1)))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return Page(
        items=[_objection_out(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )


# --- Corrections (for recaps) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectionRow:
    """A question whose verified value differs from the body's own value."""

    submission_id: int
    body_id: int
    body_name: str
    category_code: str
    question_code: str
    question_text: str
    self_value: Any
    verified_value: Any
    verifier_id: int | None
    verifier_name: str | None
    note: str | None
    template_version_id: int


def _differing_values(
    session: Session, verification_ids: list[int], submission_ids: list[int]
) -> dict[int, list[tuple[str, Any, Any, str | None]]]:
    """``(question code, own value, verified value, note)`` per verification id (of the submissions given),
    for the verified answers whose stored JSON differs from the body's answer (or that have no answer).
    Equal JSON is the same value, so only the few candidates are fetched and decoded; ``same_value`` decides
    on the rest. Every table is narrowed to the chunk's ids, so each chunk costs the same however big the
    round is."""
    found: dict[int, list[tuple[str, Any, Any, str | None]]] = {}
    rows = session.execute(
        select(
            VerifiedAnswer.verification_id,
            VerifiedAnswer.question_code,
            Answer.value,
            VerifiedAnswer.value,
            VerifiedAnswer.note,
        )
        .join(Verification, Verification.id == VerifiedAnswer.verification_id)
        .outerjoin(
            Answer,
            and_(
                Answer.submission_id == Verification.submission_id,
                Answer.question_code == VerifiedAnswer.question_code,
                Answer.submission_id.in_(submission_ids),
            ),
        )
        .where(
            Verification.id.in_(verification_ids),
            VerifiedAnswer.verification_id.in_(verification_ids),
            cast(Answer.value, Text).is_distinct_from(cast(VerifiedAnswer.value, Text)),
        )
    )
    for vid, code, own, checked, note in rows:
        found.setdefault(vid, []).append((code, own, checked, note))
    return found


def iter_corrections(*, session: Session, round_: Round, batch: int = 1000) -> Iterator[CorrectionRow]:
    """Every verified value of the round that differs from the body's value, ordered by category code, body
    name and question order in the template.

    Streams: the verified submissions come from one ordered query read ``batch`` rows at a time (plain
    columns, no ORM objects), each batch's differing values in one more query, and each template version
    is loaded and indexed once, so time and memory stay flat as rounds grow."""
    heads = session.execute(
        select(
            Submission.id,
            Submission.template_version_id,
            PublicBody.id,
            PublicBody.name,
            BodyCategory.code,
            Verification.id,
            Account.id,
            Account.name,
        )
        .join(Verification, Verification.submission_id == Submission.id)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .outerjoin(Account, Account.id == Verification.verifier_id)
        .where(Submission.round_id == round_.id)
        .order_by(BodyCategory.code, PublicBody.name, PublicBody.id)
        .execution_options(yield_per=batch)
    )
    templates: dict[int, tuple[scoring.Template, dict[str, int]]] = {}
    for chunk in heads.partitions():
        differing = _differing_values(session, [row[5] for row in chunk], [row[0] for row in chunk])
        for sid, version_id, body_id, body_name, category_code, vid, verifier_id, verifier_name in chunk:
            candidates = differing.get(vid)
            if not candidates:
                continue
            known = templates.get(version_id)
            if known is None:
                template = template_of(session, version_id)
                order = {entry.question.code: i for i, entry in enumerate(template.questions())}
                known = templates[version_id] = (template, order)
            template, order = known
            in_template = sorted((c for c in candidates if c[0] in order), key=lambda c: order[c[0]])
            for code, own, checked, note in in_template:
                q = template.question(code)
                if same_value(q.type, own, checked):
                    continue
                yield CorrectionRow(
                    submission_id=sid,
                    body_id=body_id,
                    body_name=body_name,
                    category_code=category_code,
                    question_code=code,
                    question_text=q.text,
                    self_value=own,
                    verified_value=checked,
                    verifier_id=verifier_id,
                    verifier_name=verifier_name,
                    note=note,
                    template_version_id=version_id,
                )


# --- Link checks -------------------------------------------------------------------------------------------


def _link_out(row: LinkCheck) -> LinkCheckOut:
    return LinkCheckOut(
        url=row.url,
        outcome=outcome(row.ok, row.status_code, row.error),
        ok=row.ok,
        status_code=row.status_code,
        content_type=row.content_type,
        error=row.error,
        checked_at=row.checked_at,
    )


def evidence_links(session: Session, submission_id: int) -> list[str]:
    """Every distinct evidence link of a submission (its answers, then its objections), in question order."""
    links: dict[str, None] = {}
    for (row,) in session.execute(
        select(Answer.evidence_links)
        .where(Answer.submission_id == submission_id)
        .order_by(Answer.question_code)
    ):
        links.update(dict.fromkeys(row or []))
    for (row,) in session.execute(
        select(Objection.evidence_links)
        .where(Objection.submission_id == submission_id)
        .order_by(Objection.id)
    ):
        links.update(dict.fromkeys(row or []))
    return list(links)


def run_link_check(
    *, session: Session, submission_id: int, by: Principal, checker: LinkChecker
) -> LinkCheckRun:
    """Check every evidence link of the submission now (at most ``MAX_LINKS``) and record each result."""
    ctx = submission_context(session, submission_id)
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    links = evidence_links(session, submission_id)
    checked = checker.check_many(links[:MAX_LINKS])
    now = utcnow()
    rows = [
        LinkCheck(
            submission_id=submission_id,
            url=r.url,
            ok=r.ok,
            status_code=r.status_code,
            content_type=(r.content_type or "")[:200] or None,
            error=r.error,
            checked_at=now,
        )
        for r in checked
    ]
    session.add_all(rows)
    session.flush()
    return LinkCheckRun(
        submission_id=submission_id,
        checked=len(rows),
        ok=sum(r.ok for r in rows),
        unchecked=max(0, len(links) - MAX_LINKS),
        results=[_link_out(r) for r in rows],
    )


def latest_link_checks(
    *, session: Session, submission_id: int, by: Principal, params: PageParams
) -> Page[LinkCheckOut]:
    """The latest check of each URL of the submission, in the order they were checked."""
    ctx = submission_context(session, submission_id)
    policy.ensure_read_verification(
        session,
        by,
        commission_id=ctx.body.commission_id,
        body_id=ctx.body.id,
        round_id=ctx.round.id,
        released=False,
    )
    latest = (
        select(func.max(LinkCheck.id))
        .where(LinkCheck.submission_id == submission_id)
        .group_by(LinkCheck.url)
        .scalar_subquery()
    )
    stmt = select(LinkCheck).where(LinkCheck.submission_id == submission_id, LinkCheck.id.in_(latest))
    return paginate(session=session, stmt=stmt, id_column=LinkCheck.id, params=params).map(_link_out)
