"""Checking a submission's evidence links now (through ``app.verification.linkcheck``) and reading the
latest result of each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.db.base import utcnow
from app.db.models import Answer, LinkCheck, Objection
from app.db.session import release_connection
from app.pagination import Page, PageParams, paginate
from app.verification.common import filling_until, submission_context
from app.verification.linkcheck import MAX_LINKS, LinkChecker, LinkResult, outcome
from app.verification.schemas import LinkCheckOut, LinkCheckRun


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
    return evidence_links_of(session, [submission_id]).get(submission_id, [])


def evidence_links_of(session: Session, submission_ids: Sequence[int]) -> dict[int, list[str]]:
    """``evidence_links`` of several submissions in two queries (those with no link are left out)."""
    links: dict[int, dict[str, None]] = {}
    for submission_id, row in session.execute(
        select(Answer.submission_id, Answer.evidence_links)
        .where(Answer.submission_id.in_(submission_ids))
        .order_by(Answer.submission_id, Answer.question_code)
    ):
        links.setdefault(submission_id, {}).update(dict.fromkeys(row or []))
    for submission_id, row in session.execute(
        select(Objection.submission_id, Objection.evidence_links)
        .where(Objection.submission_id.in_(submission_ids))
        .order_by(Objection.submission_id, Objection.id)
    ):
        links.setdefault(submission_id, {}).update(dict.fromkeys(row or []))
    return {submission_id: list(urls) for submission_id, urls in links.items() if urls}


def link_check_row(submission_id: int, result: LinkResult, checked_at: datetime) -> LinkCheck:
    """How one checked link is recorded (by a submission's check and by a round's sweep alike)."""
    return LinkCheck(
        submission_id=submission_id,
        url=result.url,
        ok=result.ok,
        status_code=result.status_code,
        content_type=(result.content_type or "")[:200] or None,
        error=result.error,
        checked_at=checked_at,
    )


def run_link_check(
    *, session: Session, submission_id: int, by: Principal, checker: LinkChecker
) -> LinkCheckRun:
    """Check every evidence link of the submission now (at most ``MAX_LINKS``) and record each result.

    The links are read, then the transaction ends (``release_connection``) before the first request goes
    out: a slow site holds no database connection while the checker waits for it (each request has the
    checker's timeout). The results are stored in a new, short transaction."""
    ctx = submission_context(session, submission_id)
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    policy.ensure_not_still_filling(by, filling_until=filling_until(session, ctx))
    links = evidence_links(session, submission_id)
    release_connection(session)
    checked = checker.check_many(links[:MAX_LINKS])
    now = utcnow()
    rows = [link_check_row(submission_id, r, now) for r in checked]
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
        filling_until=filling_until(session, ctx),
    )
    latest = (
        select(func.max(LinkCheck.id))
        .where(LinkCheck.submission_id == submission_id)
        .group_by(LinkCheck.url)
        .scalar_subquery()
    )
    stmt = select(LinkCheck).where(LinkCheck.submission_id == submission_id, LinkCheck.id.in_(latest))
    return paginate(session=session, stmt=stmt, id_column=LinkCheck.id, params=params).map(_link_out)
