"""Checking a submission's evidence links now (through ``app.verification.linkcheck``) and reading the
latest result of each."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.db.base import utcnow
from app.db.models import Answer, LinkCheck, Objection
from app.db.session import release_connection
from app.pagination import Page, PageParams, paginate
from app.verification.common import filling_until, submission_context
from app.verification.linkcheck import MAX_LINKS, LinkChecker, outcome
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
