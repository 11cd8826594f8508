"""Login throttling: too many failed logins with one e-mail within a sliding window refuse further attempts.

The state is in the database (``login_failure``), so every app process behind one database sees the same
counts. While an e-mail is throttled its password is not checked at all: the answer cannot tell a right
password from a wrong one, and no argon2 work is spent. Unknown e-mails are counted like known ones, so the
throttle does not reveal which accounts exist.

Attempts with the same e-mail are serialised: on PostgreSQL by a transaction-level advisory lock on the
e-mail, on SQLite by the write lock every transaction takes (``BEGIN IMMEDIATE``). So a burst of parallel
guesses cannot all pass the check before any of them is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.accounts.security import digest
from app.db.models import LoginFailure, RequestThrottle
from app.errors import EmonevError
from app.settings import Settings

# Expired rows of any e-mail deleted with each failure: the table holds about one window of failures.
_PURGE_BATCH = 100
# The first key of this feature's PostgreSQL advisory locks (the second is the e-mail's), so other locks of
# the application cannot collide with them.
_LOCK_NAMESPACE = 0x4C4F47  # "LOG"


@dataclass(frozen=True)
class LoginThrottle:
    """``max_failures`` failed logins within ``window`` throttle an e-mail until the oldest of them leaves the
    window."""

    max_failures: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_failure_window_minutes),
        )


class LoginThrottled(EmonevError):
    status = 429
    type_slug = "login-throttled"
    title = "Too many failed logins"

    def __init__(self, *, until: datetime, now: datetime) -> None:
        self.until = until
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        self.retry_after_minutes = math.ceil(self.retry_after / 60)
        at = until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        plural = "" if self.retry_after_minutes == 1 else "s"
        super().__init__(
            f"too many failed logins with this email; try again in {self.retry_after_minutes} minute{plural}"
            f" (after {at})",
            retry_after=self.retry_after,
        )


def email_hash(normalised_email: str) -> str:
    """The key failures are counted under: the table needs to match attempts, not to know addresses."""
    return digest(normalised_email)


def _lock(session: Session, key: str, namespace: int = _LOCK_NAMESPACE) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Waits for another attempt with this e-mail to finish (its transaction to end), not for other e-mails
        # (but for the one in four billion sharing the first 32 bits of its digest).
        session.execute(select(func.pg_advisory_xact_lock(namespace, int(key[:8], 16) - 2**31)))


def _throttled_until(session: Session, key: str, throttle: LoginThrottle, now: datetime) -> datetime | None:
    """When the e-mail may try again, if it has ``max_failures`` failures in the window: when the
    ``max_failures``-th newest of them leaves it."""
    oldest_counted = session.scalar(
        select(LoginFailure.at)
        .where(LoginFailure.email_hash == key, LoginFailure.at > now - throttle.window)
        .order_by(LoginFailure.at.desc())
        .offset(throttle.max_failures - 1)
        .limit(1)
    )
    return None if oldest_counted is None else oldest_counted + throttle.window


def ensure_allowed(session: Session, *, key: str, throttle: LoginThrottle, now: datetime) -> None:
    """Raise :class:`LoginThrottled` if the e-mail is throttled. Call before anything else of a login: it
    also takes the e-mail's lock for the rest of the transaction."""
    _lock(session, key)
    until = _throttled_until(session, key, throttle, now)
    if until is not None:
        raise LoginThrottled(until=until, now=now)


def record_failure(session: Session, *, key: str, throttle: LoginThrottle, now: datetime) -> datetime | None:
    """Count a failed login (after :func:`ensure_allowed` let it through). Returns when the e-mail may try
    again if this failure started throttling it, else None. Also deletes a batch of expired failures."""
    session.execute(insert(LoginFailure).values(email_hash=key, at=now))
    expired = (
        select(LoginFailure.id)
        .where(LoginFailure.at <= now - throttle.window)
        .order_by(LoginFailure.at)
        .limit(_PURGE_BATCH)
        # Rows another login is deleting are left to it: a failed login never waits for another one.
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginFailure).where(LoginFailure.id.in_(expired)).execution_options(synchronize_session=False)
    )
    return _throttled_until(session, key, throttle, now)


def clear(session: Session, *, key: str) -> None:
    """Forget the e-mail's failures (after a successful login)."""
    stmt = delete(LoginFailure).where(LoginFailure.email_hash == key)
    session.execute(stmt.execution_options(synchronize_session=False))


# --- Other requests: password resets per address and per client ---------------------------------------------


@dataclass(frozen=True)
class RequestLimit:
    """At most ``limit`` requests of ``scope`` with one key within ``window`` (a sliding window)."""

    scope: str
    limit: int
    window: timedelta

    @property
    def lock_namespace(self) -> int:
        # Each scope its own first key of the advisory locks (and none equal to the logins' one).
        return int(digest("throttle:" + self.scope)[:7], 16)


class RequestsThrottled(EmonevError):
    status = 429
    type_slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, *, until: datetime, now: datetime) -> None:
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        self.retry_after_minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            f"too many requests of this kind from this client or for this address; try again in "
            f"{self.retry_after_minutes} minute(s)",
            indonesian=f"Terlalu banyak permintaan. Coba lagi dalam {self.retry_after_minutes} menit.",
            retry_after=self.retry_after,
        )


def _request_key(scope: str, value: str) -> str:
    return digest(f"{scope}:{value}")


def _requests_throttled_until(
    session: Session, limit: RequestLimit, key: str, now: datetime
) -> datetime | None:
    oldest_counted = session.scalar(
        select(RequestThrottle.at)
        .where(
            RequestThrottle.scope == limit.scope,
            RequestThrottle.key == key,
            RequestThrottle.at > now - limit.window,
        )
        .order_by(RequestThrottle.at.desc())
        .offset(limit.limit - 1)
        .limit(1)
    )
    return None if oldest_counted is None else oldest_counted + limit.window


def count_request(session: Session, checks: list[tuple[RequestLimit, str]], *, now: datetime) -> None:
    """Count one request under each ``(limit, value)`` (the value is kept only as a digest), or raise
    :class:`RequestsThrottled` (counting nothing) when any of them already had its limit within its window.

    The keys are locked in the order given for the rest of the transaction (PostgreSQL advisory locks; the
    write lock on SQLite), so parallel requests cannot all pass before one is counted: give the limits in
    the same order everywhere. The caller commits the rows even if the request fails afterwards."""
    keyed = [(limit, _request_key(limit.scope, value)) for limit, value in checks]
    until: datetime | None = None
    for limit, key in keyed:
        _lock(session, key, limit.lock_namespace)
        limited = _requests_throttled_until(session, limit, key, now)
        if limited is not None and (until is None or limited > until):
            until = limited
    if until is not None:
        raise RequestsThrottled(until=until, now=now)
    session.execute(
        insert(RequestThrottle), [{"scope": li.scope, "key": key, "at": now} for li, key in keyed]
    )
    longest = max((limit.window for limit, _ in keyed), default=timedelta(0))
    expired = (
        select(RequestThrottle.id)
        .where(RequestThrottle.at <= now - longest, RequestThrottle.scope.in_([li.scope for li, _ in keyed]))
        .order_by(RequestThrottle.at)
        .limit(_PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(RequestThrottle)
        .where(RequestThrottle.id.in_(expired))
        .execution_options(synchronize_session=False)
    )
