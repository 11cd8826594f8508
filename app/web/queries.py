"""Read-only lookups the pages need to lay themselves out (lists for dashboards and menus).

Only reads, always filtered by ``policy``; every rule (windows, scores, permissions to change) stays in the
domain services the pages call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.db.base import utcnow
from app.db.models import (
    BodyCategory,
    Invitation,
    Publication,
    PublicBody,
    Round,
    Submission,
    Verification,
    VerifierAssignment,
)
from app.errors import NotFound
from app.rounds.service import settle_due_drafts, window_for


@dataclass(frozen=True)
class BodyRound:
    """One round a PPID operator's body is invited to, with its own deadline and submission state."""

    round: Round
    closes_at: datetime
    submission: Submission | None
    published: bool
    open_now: bool  # the body may fill in its SAQ now (the window rules of app.rounds.service.Window)


def rounds_of_body(session: Session, body: PublicBody) -> list[BodyRound]:
    rows = session.scalars(
        select(Round)
        .join(Invitation, Invitation.round_id == Round.id)
        .where(Invitation.body_id == body.id, Round.status != "draft")
        .order_by(Round.saq_closes_at.desc(), Round.id.desc())
        .limit(50)
    ).all()
    result = []
    now = utcnow()
    for round_ in rows:
        settle_due_drafts(session=session, round_=round_, now=now, body_ids=[body.id])
        window = window_for(session=session, round_id=round_.id, body_id=body.id)
        submission = session.scalar(
            select(Submission).where(Submission.round_id == round_.id, Submission.body_id == body.id)
        )
        published = session.scalar(select(Publication.id).where(Publication.round_id == round_.id).limit(1))
        result.append(
            BodyRound(
                round=round_,
                closes_at=window.closes_at,
                submission=submission,
                published=published is not None,
                open_now=window.is_open(now),
            )
        )
    return result


@dataclass(frozen=True)
class Assignment:
    """A body assigned to a verifier in one round, with where its SAQ and its verification stand."""

    round: Round
    body: PublicBody
    submission: Submission | None
    verification: Verification | None


def assignments_of(session: Session, principal: Principal, *, limit: int = 500) -> list[Assignment]:
    rows = session.execute(
        select(VerifierAssignment, Round, PublicBody)
        .join(Round, Round.id == VerifierAssignment.round_id)
        .join(PublicBody, PublicBody.id == VerifierAssignment.body_id)
        .where(VerifierAssignment.verifier_id == principal.account_id)
        .order_by(Round.id.desc(), PublicBody.name)
        .limit(limit)
    ).all()
    result = []
    for _assignment, round_, body in rows:
        submission = session.scalar(
            select(Submission).where(Submission.round_id == round_.id, Submission.body_id == body.id)
        )
        verification = (
            session.scalar(select(Verification).where(Verification.submission_id == submission.id))
            if submission is not None
            else None
        )
        result.append(Assignment(round_, body, submission, verification))
    return result


def rounds_of_commission(session: Session, principal: Principal) -> Sequence[Round]:
    stmt = select(Round).order_by(Round.year.desc(), Round.id.desc()).limit(200)
    if not principal.is_system_admin:
        stmt = stmt.where(Round.commission_id == principal.commission_id)
    return session.scalars(stmt).all()


def round_for_staff(session: Session, principal: Principal, round_id: int) -> Round:
    """A round a member of its commission may look at (NotFound / Forbidden otherwise)."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound(f"round {round_id} does not exist")
    policy.ensure_member(principal, round_.commission_id)
    return round_


def categories_of(session: Session, commission_id: int) -> Sequence[BodyCategory]:
    return session.scalars(
        select(BodyCategory).where(BodyCategory.commission_id == commission_id).order_by(BodyCategory.name)
    ).all()
