"""Reopening a submitted SAQ: the commission's secretariat lets a body change it again.

Rules:

- Only a submitted SAQ, only before its verification starts (409 once it has), only while the round is
  ``open``, ``closed`` or ``verification``, and only with a reason (422 without one), which the body sees on
  its pages until it submits again and which the audit log keeps (``submission.reopen``).
- The submission goes back to ``draft``; its version (ETag) moves on.
- The body must be able to fill it in: when its own deadline has passed (or the SAQ stage closed and no
  extension of its own is running), a new deadline is required, after now; it is recorded as a deadline
  extension for that body (scope ``bodies``) with the same reason. While its deadline is still ahead a new
  one is optional and, if given, later than the current one. Either way it must end by the opening of the
  objection window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.commissions.timezones import as_utc, format_local, format_words
from app.db.base import utcnow
from app.db.models import BodyCategory, PublicBody, Round, Submission, Verification
from app.errors import Conflict, ProblemCollector
from app.rounds.service import STATUS_WORDS, body_deadlines, extend_for_body, timezone_of, window_for
from app.submissions.schemas import SubmissionOut
from app.submissions.service import Context, _load, detail

REOPENABLE_STATUSES = frozenset({"open", "closed", "verification"})
MAX_REASON_LENGTH = 5000


@dataclass(frozen=True)
class Reopenable:
    """A submitted SAQ the commission may reopen, with what reopening it needs."""

    submission_id: int
    body_id: int
    body_name: str
    category: str  # the category's name
    submitted_at: datetime | None
    closes_at: datetime  # the body's deadline now
    needs_new_deadline: bool  # its window is closed: reopening needs a new deadline for it


def _ensure_reopenable(session: Session, ctx: Context) -> None:
    sub, round_, body = ctx.submission, ctx.round, ctx.body
    timezone = timezone_of(session=session, round_=round_)
    if sub.status != "submitted":
        raise Conflict(
            f"submission {sub.id} is a draft: only a submitted SAQ is reopened",
            indonesian=f"SAQ {body.name} belum dikirim (masih draf); hanya SAQ yang sudah dikirim yang dapat "
            "dibuka kembali.",
            submission_status=sub.status,
        )
    started = session.scalar(select(Verification.created_at).where(Verification.submission_id == sub.id))
    if started is not None:
        raise Conflict(
            f"the verification of submission {sub.id} started on {format_local(started, timezone)}: a SAQ "
            "being verified or verified is not reopened",
            indonesian=f"Verifikasi SAQ {body.name} sudah dimulai pada {format_words(started, timezone)}; "
            "SAQ yang sedang atau sudah diverifikasi tidak dapat dibuka kembali.",
            verification_started_at=as_utc(started).isoformat(),
        )
    if round_.status not in REOPENABLE_STATUSES:
        raise Conflict(
            f"a SAQ of a round that is {round_.status} is not reopened (only while the round is open, closed "
            "or in verification)",
            indonesian=f'SAQ tidak dapat dibuka kembali pada tahap "{STATUS_WORDS.get(round_.status)}"; '
            "hanya selama pengisian, setelah pengisian ditutup, atau selama verifikasi.",
            round_status=round_.status,
        )


def candidate(
    *, session: Session, submission_id: int, by: Principal, now: datetime | None = None
) -> Reopenable:
    """The submitted SAQ and what reopening it needs (refused as :func:`reopen` would refuse it)."""
    now = as_utc(now or utcnow())
    ctx = _load(session, submission_id)
    policy.ensure_reopen_submission(by, ctx.body.commission_id)
    _ensure_reopenable(session, ctx)
    window = window_for(session=session, round_id=ctx.round.id, body_id=ctx.body.id)
    return Reopenable(
        submission_id=ctx.submission.id,
        body_id=ctx.body.id,
        body_name=ctx.body.name,
        category=ctx.body.category.name,
        submitted_at=ctx.submission.submitted_at,
        closes_at=window.closes_at,
        needs_new_deadline=not window.is_open(now),
    )


def reopenable(
    *, session: Session, round_: Round, by: Principal, now: datetime | None = None
) -> list[Reopenable]:
    """The round's submitted SAQs whose verification has not started, by category and body name: those the
    commission may reopen now (none unless the round is open, closed or in verification)."""
    policy.ensure_reopen_submission(by, round_.commission_id)
    if round_.status not in REOPENABLE_STATUSES:
        return []
    now = as_utc(now or utcnow())
    submitted = dict(
        session.execute(
            select(Submission.body_id, Submission.submitted_at)
            .join(PublicBody, PublicBody.id == Submission.body_id)
            .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
            .where(
                Submission.round_id == round_.id,
                Submission.status == "submitted",
                ~select(Verification.id).where(Verification.submission_id == Submission.id).exists(),
            )
        ).all()
    )
    if not submitted:
        return []
    result = []
    for body in body_deadlines(session=session, round_=round_, body_ids=list(submitted)):
        assert body.submission_id is not None
        # As the window rules have it: until its deadline while the round is open, afterwards only while
        # an extension of its own runs.
        window_open = now < body.closes_at if round_.status == "open" else body.extension_running(now)
        result.append(
            Reopenable(
                submission_id=body.submission_id,
                body_id=body.body_id,
                body_name=body.name,
                category=body.category,
                submitted_at=submitted[body.body_id],
                closes_at=body.closes_at,
                needs_new_deadline=not window_open,
            )
        )
    return result


def reopen(
    *,
    session: Session,
    submission_id: int,
    reason: str,
    closes_at: datetime | None,
    by: Principal,
    now: datetime | None = None,
) -> SubmissionOut:
    """Put a submitted SAQ back to ``draft`` for its body, with the reason (and a new deadline for the body
    when its own has passed); see the module's rules. Audited as ``submission.reopen``."""
    now = as_utc(now or utcnow())
    ctx = _load(session, submission_id, for_update=True)
    policy.ensure_reopen_submission(by, ctx.body.commission_id)
    _ensure_reopenable(session, ctx)
    sub, round_, body = ctx.submission, ctx.round, ctx.body
    timezone = timezone_of(session=session, round_=round_)
    reason = reason.strip()
    problems = ProblemCollector()
    if not reason:
        problems.add(
            "reason",
            "give the reason for reopening: the body reads it",
            "Alasan membuka kembali SAQ wajib diisi; badan publik akan membacanya.",
        )
    elif len(reason) > MAX_REASON_LENGTH:
        problems.add(
            "reason",
            f"at most {MAX_REASON_LENGTH} characters",
            f"Alasan paling banyak {MAX_REASON_LENGTH} karakter.",
        )
    window = window_for(session=session, round_id=round_.id, body_id=body.id)
    new_deadline = as_utc(closes_at) if closes_at is not None else None
    if new_deadline is None:
        if not window.is_open(now):
            problems.add(
                "closes_at",
                f"the deadline of {body.name} passed on {format_local(window.closes_at, timezone)}: give "
                "a new deadline for it",
                f"Batas waktu {body.name} sudah lewat ({format_words(window.closes_at, timezone)}); isi "
                "batas waktu baru untuk badan publik ini.",
            )
    elif new_deadline <= max(now, window.closes_at):
        current = max(now, window.closes_at)
        problems.add(
            "closes_at",
            f"must be after {format_local(current, timezone)} (now, and the body's current deadline)",
            "Batas waktu baru harus setelah saat ini dan setelah batas waktu yang berlaku "
            f"({format_words(window.closes_at, timezone)}).",
        )
    elif round_.objection_opens_at is not None and new_deadline > as_utc(round_.objection_opens_at):
        problems.add(
            "closes_at",
            "must end by the opening of the objection window "
            f"({format_local(round_.objection_opens_at, timezone)})",
            "Batas waktu baru harus sebelum masa sanggah dibuka "
            f"({format_words(round_.objection_opens_at, timezone)}).",
        )
    problems.raise_if_any(
        "the SAQ cannot be reopened as asked", f"SAQ {body.name} belum dapat dibuka kembali."
    )

    extension_id = None
    if new_deadline is not None:
        extension_id = extend_for_body(
            session=session, round_=round_, body=body, closes_at=new_deadline, reason=reason, by=by
        ).id
    before = {
        "status": sub.status,
        "submitted_at": as_utc(sub.submitted_at).isoformat() if sub.submitted_at else None,
        "submitted_by_id": sub.submitted_by_id,
    }
    sub.status = "draft"
    sub.submitted_at = None
    sub.submitted_by_id = None
    sub.reopened_at = now
    sub.reopen_reason = reason
    sub.updated_at = now
    session.flush()
    record(
        session=session,
        actor=by,
        action="submission.reopen",
        entity="submission",
        entity_id=sub.id,
        before=before,
        after={
            "status": "draft",
            "reason": reason,
            "closes_at": new_deadline.isoformat() if new_deadline else None,
            "extension_id": extension_id,
        },
        commission_id=round_.commission_id,
        at=now,
    )
    return detail(session, ctx)
