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
from app.db.models import (
    BodyCategory,
    Invitation,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    Submission,
    Verification,
    VerifierAssignment,
)
from app.errors import NotFound
from app.rounds.service import effective_closes_at


@dataclass(frozen=True)
class BodyRound:
    """One round a PPID operator's body is invited to, with its own deadline and submission state."""

    round: Round
    closes_at: datetime
    submission: Submission | None
    published: bool


def rounds_of_body(session: Session, body: PublicBody) -> list[BodyRound]:
    rows = session.scalars(
        select(Round)
        .join(Invitation, Invitation.round_id == Round.id)
        .where(Invitation.body_id == body.id, Round.status != "draft")
        .order_by(Round.saq_closes_at.desc(), Round.id.desc())
        .limit(50)
    ).all()
    result = []
    for round_ in rows:
        submission = session.scalar(
            select(Submission).where(Submission.round_id == round_.id, Submission.body_id == body.id)
        )
        published = session.scalar(select(Publication.id).where(Publication.round_id == round_.id).limit(1))
        result.append(
            BodyRound(
                round=round_,
                closes_at=effective_closes_at(session=session, round_=round_, body=body),
                submission=submission,
                published=published is not None,
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


def published_result(session: Session, publication: Publication, body_id: int) -> PublishedResult | None:
    """A body's row in a publication, exactly as published."""
    return session.scalar(
        select(PublishedResult).where(
            PublishedResult.publication_id == publication.id, PublishedResult.body_id == body_id
        )
    )
