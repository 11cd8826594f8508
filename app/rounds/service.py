"""Rounds: the SAQ window and its extensions, templates per category, invitations, status and stages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.commissions.timezones import as_utc, format_local
from app.db.models import (
    Commission,
    DeadlineExtension,
    Invitation,
    PublicBody,
    Round,
    RoundTemplate,
    TemplateVersion,
)
from app.errors import Conflict, Forbidden, WindowClosed

DEADLINE_PATTERN = "%d-%m-%Y %H:%M"


def _timezone(session: Session, round_: Round) -> str:
    commission = session.get(Commission, round_.commission_id)
    return commission.timezone if commission is not None else "Asia/Jakarta"


def extensions_covering(*, session: Session, round_: Round, body: PublicBody) -> list[DeadlineExtension]:
    """Every extension of the round that applies to the body: round-wide, for its category, or for it."""
    rows = session.scalars(
        select(DeadlineExtension)
        .where(DeadlineExtension.round_id == round_.id)
        .order_by(DeadlineExtension.id)
    ).all()
    return [
        ext
        for ext in rows
        if ext.scope == "round"
        or (ext.scope == "categories" and body.category_id in (ext.category_ids or []))
        or (ext.scope == "bodies" and body.id in (ext.body_ids or []))
    ]


def effective_closes_at(*, session: Session, round_: Round, body: PublicBody) -> datetime:
    """The instant (aware, UTC) the SAQ window closes for this body: the latest of the round's own close
    and every extension covering the body."""
    instants = [as_utc(round_.saq_closes_at)]
    instants += [as_utc(e.closes_at) for e in extensions_covering(session=session, round_=round_, body=body)]
    return max(instants)


def is_invited(*, session: Session, round_: Round, body: PublicBody) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Invitation.round_id == round_.id, Invitation.body_id == body.id))
        )
    )


def ensure_window_open(*, session: Session, round_: Round, body: PublicBody, now: datetime) -> None:
    """Refuse unless the body may fill in its SAQ at ``now``: it is invited (else Forbidden), the round
    is ``open`` and ``saq_opens_at <= now < effective_closes_at`` (else WindowClosed, giving the deadline
    in the commission's local time)."""
    invited = is_invited(session=session, round_=round_, body=body)
    if body.commission_id != round_.commission_id or not invited:
        raise Forbidden(f"{body.name} is not invited to round {round_.title}")
    timezone = _timezone(session, round_)
    if round_.status != "open":
        raise WindowClosed(
            f"the SAQ window of round {round_.title} is not open (round status: {round_.status})",
            round_status=round_.status,
        )
    now = as_utc(now)
    opens_at = as_utc(round_.saq_opens_at)
    if now < opens_at:
        raise WindowClosed(
            f"the SAQ window opens on {format_local(opens_at, timezone, pattern=DEADLINE_PATTERN)}",
            opens_at=opens_at.isoformat(),
        )
    closes_at = effective_closes_at(session=session, round_=round_, body=body)
    if now >= closes_at:
        raise WindowClosed(
            f"the SAQ window closed on {format_local(closes_at, timezone, pattern=DEADLINE_PATTERN)}",
            closes_at=closes_at.isoformat(),
        )


def template_for(*, session: Session, round_: Round, body: PublicBody) -> TemplateVersion:
    """The template version the body's category answers in this round (Conflict if none is set)."""
    version = session.scalar(
        select(TemplateVersion)
        .join(RoundTemplate, RoundTemplate.template_version_id == TemplateVersion.id)
        .where(RoundTemplate.round_id == round_.id, RoundTemplate.category_id == body.category_id)
    )
    if version is None:
        raise Conflict(
            f"round {round_.title} has no SAQ template for the category {body.category.code!r} yet"
        )
    return version
