"""Validators and cache headers of public pages and files.

Everything the portal shows of a commission comes from its publications and a few live facts (bodies' names
and regions, the commission's name and license). One stamp per commission covers them: its latest
publication (id and instant) and ``commission.public_changed_at``, bumped by :func:`touch` whenever one of
those live facts changes. A page's ETag is that stamp with the page's own key and the release's template
digest, so a deploy that changes a page changes its ETag too. A conditional GET is answered 304 after one
small query, before anything is rendered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path

from fastapi import Request, Response
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Commission, Publication, Round

# Shared caches (a CDN) keep a page this long, then revalidate with the ETag; browsers too.
PAGE_MAX_AGE = 300
# While revalidating, or while the service is down, a cache may serve what it has this much longer.
STALE_SECONDS = 3600
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_APP = Path(__file__).resolve().parent.parent
_RELEASE_SUFFIXES = frozenset({".py", ".html", ".css", ".js", ".svg", ".csv", ".typ"})


@dataclass(frozen=True)
class Stamp:
    """What a commission's public pages depend on: when it last changed, and a digest of what changed."""

    digest: str
    changed_at: datetime

    def etag(self, key: str = "") -> str:
        text = f"{self.digest}:{key}:{release_digest()}"
        return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


@cache
def release_digest() -> str:
    """A digest of the deployed code that shapes public answers: the pages' templates and static files, the
    region names and the Python that formats them (computed once per process). A deploy that changes any of
    them changes every ETag, so caches fetch the new page."""
    digest = hashlib.sha256()
    for path in sorted(_APP.rglob("*")):
        if path.is_file() and path.suffix in _RELEASE_SUFFIXES:
            digest.update(path.relative_to(_APP).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def commission_stamp(session: Session, commission_id: int) -> Stamp:
    """The stamp of one commission's public pages (two indexed lookups)."""
    latest_id, latest_at = session.execute(
        select(func.max(Publication.id), func.max(Publication.created_at))
        .join(Round, Round.id == Publication.round_id)
        .where(Round.commission_id == commission_id)
    ).one()
    changed_at, license_ = session.execute(
        select(Commission.public_changed_at, Commission.data_license).where(Commission.id == commission_id)
    ).one()
    return _stamp(f"{commission_id}:{latest_id}:{changed_at}:{license_}", latest_at, changed_at)


def site_stamp(session: Session) -> Stamp:
    """The stamp of pages that list every commission (the portal's home)."""
    latest_id, latest_at = session.execute(
        select(func.max(Publication.id), func.max(Publication.created_at))
    ).one()
    changed_at, count = session.execute(
        select(func.max(Commission.public_changed_at), func.count(Commission.id))
    ).one()
    return _stamp(f"site:{latest_id}:{changed_at}:{count}", latest_at, changed_at)


def _stamp(text: str, *instants: datetime | None) -> Stamp:
    known = [_aware(at) for at in instants if at is not None]
    return Stamp(hashlib.sha256(text.encode()).hexdigest(), max(known, default=_EPOCH))


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored instant is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def touch(session: Session, commission_id: int) -> None:
    """Record that something the commission's public pages show changed (a body's name, region or category,
    the commission's name or license): their ETags change, and caches fetch them again."""
    session.execute(
        update(Commission).where(Commission.id == commission_id).values(public_changed_at=utcnow())
    )


def not_modified(request: Request, stamp: Stamp, key: str = "") -> Response | None:
    """A 304 when the request's ``If-None-Match`` names this answer's ETag, else None.

    ``If-None-Match: *`` is not a match here: on a GET it would answer 304 for anything, even a round that is
    not published. ``If-Modified-Since`` is not used either: its one-second resolution cannot tell apart two
    changes within the same second, and every browser and CDN sends the ETag it was given."""
    etag = stamp.etag(key)
    match = request.headers.get("if-none-match")
    if match is None:
        return None
    tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
    if etag not in tags:
        return None
    return Response(status_code=304, headers=_validator_headers(stamp, etag))


def cacheable(response: Response, stamp: Stamp, key: str = "", *, max_age: int = PAGE_MAX_AGE) -> Response:
    """Mark a public answer cacheable by browsers and shared caches, with its validators."""
    response.headers.update(_validator_headers(stamp, stamp.etag(key), max_age=max_age))
    return response


def _validator_headers(stamp: Stamp, etag: str, *, max_age: int = PAGE_MAX_AGE) -> dict[str, str]:
    return {
        "ETag": etag,
        "Last-Modified": format_datetime(stamp.changed_at.astimezone(UTC), usegmt=True),
        "Cache-Control": f"public, max-age={max_age}, stale-while-revalidate={STALE_SECONDS}, "
        f"stale-if-error={STALE_SECONDS}",
        "Vary": "Accept-Encoding",
    }
