"""Delivering the outbox: the ``mail`` job, and the periodic duties that keep it moving.

At most once, and how close it gets: a notice is claimed by one worker (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite's single writer) and marked ``sending`` in a committed transaction *before* it is handed
to the SMTP server, then ``sent`` once the server has answered 250 to its data. A worker killed in between
leaves it ``sending``: after a lease of twice the SMTP timeout (plus a minute) the periodic duty marks it
``uncertain`` instead of sending it again, since the server may have taken it in the instant before the kill.
So no notice is sent twice by the service; the window that can lose one is a single message per killed
worker (between our commit of ``sending`` and the server's 250), and that one is shown to the secretariat
("tidak pasti terkirim") to resend by hand. The ``Message-ID`` carries the notice's id and key, so a resend
or a duplicate from elsewhere is recognisable to the receiving side.

The job runs for at most ``SLICE_SECONDS`` and ends; the duty ``queue_due_delivery`` queues it again within
seconds while notices are due, so on SQLite (one job thread) a long mailing never holds up an export.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import AccountToken, Commission, Job, MailOptOut, Notice
from app.jobs.kinds import duty_kind
from app.jobs.service import queue_job
from app.mail import tokens
from app.mail.outbox import (
    CANCELLED,
    FAILED,
    OPTIONAL_EVENTS,
    PENDING,
    SENDING,
    SENT,
    UNCERTAIN,
    Event,
)
from app.mail.render import Rendered, Sender, default_signature, render
from app.mail.transport import (
    PermanentFailure,
    TemporaryFailure,
    Transport,
    UncertainFailure,
    transport_for,
)
from app.settings import Settings

log = logging.getLogger("emonev.mail")

KIND = "mail"
# Who queues the deliveries (what the job shows as "requested by").
MAILER = Principal(role=Role.system_admin, label="surel")
DEDUP_KEY = "mail:deliver"
# A delivery job sends for at most this long, then ends (the duty queues the next one).
SLICE_SECONDS = 60.0
# The longest wait before a message refused for now is tried again.
MAX_BACKOFF = timedelta(hours=1)

SET_PASSWORD_PATH = "/atur-kata-sandi"  # noqa: S105 - a page, not a password
UNSUBSCRIBE_PATH = "/surel/berhenti"

# Checks made just before a notice is sent: a reason (English) when it is no longer wanted (a reminder to a
# body that has submitted meanwhile), else None. Modules add theirs by event (app/mail/reminders.py).
StillWanted = Callable[[Session, Notice], str | None]
WANTED_CHECKS: dict[str, StillWanted] = {}


def queue_delivery(session: Session) -> None:
    """Queue the delivery job in the session's transaction (or find the one already queued or running)."""
    queue_job(session=session, kind=KIND, params={}, by=MAILER, dedup_key=DEDUP_KEY, commission_id=None)


@dataclass
class DeliveryCounts:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    cancelled: int = 0
    uncertain: int = 0


# --- one notice -------------------------------------------------------------------------------------------

_CLAIM_PG = text(
    """
    UPDATE notice SET status = 'sending', attempts = attempts + 1, claimed_at = :now, claimed_by = :worker
    WHERE id = (
        SELECT id FROM notice WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY priority, next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    RETURNING *
    """
)
# SQLite has one writer at a time: the subquery and the update cannot interleave with another claim.
_CLAIM_SQLITE = text(
    """
    UPDATE notice SET status = 'sending', attempts = attempts + 1, claimed_at = :now, claimed_by = :worker
    WHERE id = (
        SELECT id FROM notice WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY priority, next_attempt_at, id LIMIT 1
    ) AND status = 'pending'
    RETURNING *
    """
)


def _claim(session: Session, worker: str, now: datetime) -> Notice | None:
    """The next due notice, marked ``sending`` for ``worker`` (the whole row comes back with the claim)."""
    claim = _CLAIM_PG if session.get_bind().dialect.name == "postgresql" else _CLAIM_SQLITE
    stmt = select(Notice).from_statement(claim).execution_options(populate_existing=True)
    return session.scalars(stmt, {"now": now, "worker": worker}).first()


def claim_next(sessions: sessionmaker[Session], worker: str, now: datetime) -> int | None:
    """Mark the next due notice ``sending`` for ``worker`` and commit; its id, or None when none is due."""
    with sessions.begin() as session:
        notice = _claim(session, worker, now)
        return notice.id if notice is not None else None


# Senders by commission id, kept for one delivery run (a mailing of thousands reads its commission once).
Senders = dict[int | None, Sender]


def _sender(
    session: Session, commission_id: int | None, fallback_name: str, senders: Senders | None
) -> Sender:
    if senders is not None and commission_id in senders:
        return senders[commission_id]
    sender = _read_sender(session, commission_id, fallback_name)
    if senders is not None:
        senders[commission_id] = sender
    return sender


def _read_sender(session: Session, commission_id: int | None, fallback_name: str) -> Sender:
    commission = session.get(Commission, commission_id) if commission_id is not None else None
    if commission is None:
        return Sender(name=fallback_name, signature=default_signature(fallback_name), timezone="Asia/Jakarta")
    return Sender(
        name=commission.name,
        signature=commission.mail_signature or default_signature(commission.name),
        timezone=commission.timezone,
        reply_to=commission.mail_reply_to,
    )


def links_for(session: Session, notice: Notice, settings: Settings) -> dict[str, str]:
    """The notice's absolute links: its context's ``paths`` on ``EMONEV_BASE_URL``, the single-use link to
    set a password (``set_password``) and, for the notices one may opt out of, ``unsubscribe``."""
    base = settings.base_url.rstrip("/")
    context = notice.context or {}
    links = {name: f"{base}{path}" for name, path in (context.get("paths") or {}).items()}
    links.setdefault("home", f"{base}/")
    token_id = context.get("token_id")
    if token_id is not None:
        token = session.get(AccountToken, token_id)
        if token is not None:
            secret = tokens.secret_of(settings.secret_key, token)
            links["set_password"] = f"{base}{SET_PASSWORD_PATH}?token={secret}"
    if notice.event in OPTIONAL_EVENTS:
        links["unsubscribe"] = (
            f"{base}{UNSUBSCRIBE_PATH}?t={tokens.unsubscribe_secret(settings.secret_key, notice.recipient)}"
        )
    return links


def render_notice(
    session: Session, notice: Notice, settings: Settings, senders: Senders | None = None
) -> tuple[Rendered, Sender, dict[str, str]]:
    """The notice's words as they would be sent now (the development page shows the same)."""
    context = dict(notice.context or {})
    sender = _sender(
        session, notice.commission_id, context.get("commission_name", "Komisi Informasi"), senders
    )
    links = links_for(session, notice, settings)
    return (
        render(notice.event, context, sender=sender, links=links, optional=notice.event in OPTIONAL_EVENTS),
        sender,
        links,
    )


def message_id(notice: Notice, settings: Settings) -> str:
    """``<emonev.<id>.<resends>.<key prefix>@<sender's domain>>``: one per notice (and per resend)."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<emonev.{notice.id}.{notice.resends}.{notice.key[:16]}@{domain}>"


def build_message(
    session: Session, notice: Notice, settings: Settings, senders: Senders | None = None
) -> EmailMessage:
    rendered, sender, links = render_notice(session, notice, settings, senders)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = notice.recipient
    if sender.reply_to:
        message["Reply-To"] = sender.reply_to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id(notice, settings)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message["X-Emonev-Notice"] = notice.key
    if "unsubscribe" in links:
        # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to this address.
        message["List-Unsubscribe"] = f"<{links['unsubscribe']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable: a staff-typed reason or a body's name may hold a non-ASCII character, and 8-bit
    # content would need the server's 8BITMIME, which smtplib's plain MAIL FROM does not ask for.
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _link_still_live(session: Session, notice: Notice) -> str | None:
    """An invitation or a password reset goes only while its link works: not after a newer link replaced it,
    the account's address changed or the account was deactivated (each revokes its links), or it expired."""
    token_id = (notice.context or {}).get("token_id")
    if token_id is None:
        return None
    token = session.get(AccountToken, token_id)
    if token is None or token.used_at is not None or token.revoked_at is not None:
        return "its link was used or replaced by a newer one"
    if as_utc(token.expires_at) <= utcnow():
        return "its link has expired"
    return None


def _no_longer_wanted(session: Session, notice: Notice) -> str | None:
    if notice.event in OPTIONAL_EVENTS and session.get(MailOptOut, notice.recipient) is not None:
        return "the recipient opted out of these notices"
    check = WANTED_CHECKS.get(notice.event)
    return check(session, notice) if check is not None else None


def _audit(session: Session, notice: Notice, action: str, **after: Any) -> None:
    record(
        session=session,
        actor=MAILER,
        action=action,
        entity="notice",
        entity_id=notice.id,
        after={"event": notice.event, "recipient": notice.recipient, "subject": notice.subject} | after,
        commission_id=notice.commission_id,
    )


def _backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.mail_retry_seconds * 2 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


@dataclass(frozen=True)
class _Handed:
    """A notice claimed (``sending``, committed) and its message, ready for the SMTP server."""

    id: int
    event: str
    recipient: str
    subject: str
    commission_id: int | None
    attempts: int
    message: EmailMessage


@dataclass(frozen=True)
class _Outcome:
    """How the server answered one notice: recorded in the transaction that claims the next one."""

    notice: _Handed
    kind: str  # sent | retry | down | failed | uncertain
    values: dict[str, Any]
    audit: tuple[str, dict[str, Any]] | None


def _audit_handed(session: Session, handed: _Handed, action: str, after: dict[str, Any]) -> None:
    record(
        session=session,
        actor=MAILER,
        action=action,
        entity="notice",
        entity_id=handed.id,
        after={"event": handed.event, "recipient": handed.recipient, "subject": handed.subject} | after,
        commission_id=handed.commission_id,
    )


def _record(session: Session, outcome: _Outcome) -> None:
    # Only a notice still ``sending``: the duty may have called it uncertain meanwhile (a very slow server),
    # and a sent one is recorded as sent whatever it was called.
    stmt = update(Notice).where(Notice.id == outcome.notice.id)
    if outcome.kind != "sent":
        stmt = stmt.where(Notice.status == SENDING)
    session.execute(stmt.values(**outcome.values))
    if outcome.audit is not None:
        _audit_handed(session, outcome.notice, *outcome.audit)


def _next(
    session: Session, settings: Settings, worker: str, counts: DeliveryCounts, senders: Senders
) -> _Handed | None:
    """Claim the next due notice and write its message, skipping (and settling) those no longer wanted or
    that cannot be written. None when no notice is due."""
    while True:
        notice = _claim(session, worker, utcnow())
        if notice is None:
            return None
        notice_id = notice.id
        reason = _no_longer_wanted(session, notice)
        if reason is not None:
            notice.status = CANCELLED
            notice.last_response = reason
            notice.claimed_at = None
            counts.cancelled += 1
            continue
        try:
            message = build_message(session, notice, settings, senders)
        except Exception as exc:
            # Its template or context is at fault (nothing was sent): failed, saying so, rather than left
            # ``sending`` and later called uncertain.
            log.exception("notice %s could not be written", notice_id)
            notice.status = FAILED
            notice.last_response = f"could not be written: {type(exc).__name__}: {exc}"[:2000]
            notice.claimed_at = None
            _audit(session, notice, "notice.failed", response=notice.last_response)
            counts.failed += 1
            continue
        return _Handed(
            id=notice.id,
            event=notice.event,
            recipient=notice.recipient,
            subject=notice.subject,
            commission_id=notice.commission_id,
            attempts=notice.attempts,
            message=message,
        )


def _hand_over(settings: Settings, transport: Transport, handed: _Handed) -> _Outcome:
    """Give the message to the server; what to record of its answer."""
    try:
        answer = transport.send(handed.message, handed.recipient)
    except TemporaryFailure as exc:
        if handed.attempts >= settings.mail_max_attempts:
            response = f"gave up after {handed.attempts} attempts: {exc.response}"
            return _Outcome(
                handed,
                "failed",
                {"status": FAILED, "last_response": response},
                ("notice.failed", {"response": exc.response, "attempts": handed.attempts}),
            )
        values = {
            "status": PENDING,
            "claimed_at": None,
            "next_attempt_at": utcnow() + _backoff(settings, handed.attempts),
            "last_response": exc.response,
        }
        return _Outcome(handed, "down" if exc.connection else "retry", values, None)
    except UncertainFailure as exc:
        return _Outcome(
            handed,
            "uncertain",
            {"status": UNCERTAIN, "claimed_at": None, "last_response": exc.response},
            ("notice.uncertain", {"response": exc.response}),
        )
    except PermanentFailure as exc:
        return _Outcome(
            handed,
            "failed",
            {"status": FAILED, "last_response": exc.response},
            ("notice.failed", {"response": exc.response}),
        )
    message_id = str(handed.message["Message-ID"])
    return _Outcome(
        handed,
        "sent",
        {
            "status": SENT,
            "sent_at": utcnow(),
            "transport": transport.name,
            "message_id": message_id,
            "last_response": answer,
        },
        ("notice.sent", {"message_id": message_id, "transport": transport.name}),
    )


class _Pacer:
    """At most ``per_minute`` messages a minute from this process (0: no limit)."""

    def __init__(self, per_minute: int) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.next_at = 0.0

    def wait(self, stop: Callable[[], None]) -> None:
        while (pause := self.next_at - time.monotonic()) > 0:
            stop()
            time.sleep(min(pause, 1.0))
        self.next_at = max(self.next_at, time.monotonic() - self.interval) + self.interval


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    progress: Callable[[int], None] | None = None,
    slice_seconds: float | None = SLICE_SECONDS,
    transport: Transport | None = None,
    give_way: Callable[[], bool] | None = None,
) -> DeliveryCounts:
    """Send the notices that are due, one at a time, until none is left, the SMTP server cannot be reached,
    ``slice_seconds`` have passed, or ``give_way()`` says a job someone asked for waits (after one message at
    least, so a mailing always moves). ``progress(n)`` is called after each (it may raise to stop).

    One committed transaction a message: it records how the server answered the previous notice and claims
    the next (``sending``) before that one is handed over. So at any instant at most one notice of this run
    is handed over and not yet recorded: the one a kill would leave ``uncertain``."""
    counts = DeliveryCounts()
    transport = transport or transport_for(settings)
    if transport is None:
        log.warning("e-mail waits, pending: EMONEV_SMTP_URL is not set (production sends no mail without it)")
        return counts
    pacer = _Pacer(settings.mail_per_minute)
    started = time.monotonic()
    worker = worker_name()
    senders: Senders = {}
    previous: _Outcome | None = None
    done = 0

    def check() -> None:
        if progress is not None:
            progress(done)

    try:
        while slice_seconds is None or time.monotonic() - started < slice_seconds:
            if done and give_way is not None and give_way():
                break
            pacer.wait(check)
            with sessions.begin() as session:
                if previous is not None:
                    _record(session, previous)
                handed = _next(session, settings, worker, counts, senders)
            previous = None
            if handed is None:
                break
            previous = _hand_over(settings, transport, handed)
            done += 1
            if previous.kind == "down":
                counts.retry += 1
                break
            setattr(counts, previous.kind, getattr(counts, previous.kind) + 1)
            check()
    finally:
        transport.close()
        if previous is not None:
            # (If the database is gone, the notice stays ``sending`` and is later called uncertain.)
            with sessions.begin() as session:
                _record(session, previous)
    return counts


# --- the job -----------------------------------------------------------------------------------------------

MAIL = duty_kind(KIND, "Pengiriman surel", deliver_due, english="e-mail delivery")


# --- periodic duties ---------------------------------------------------------------------------------------


def queue_due_delivery(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> bool:
    """Queue the delivery job when a notice is due and none is queued or running (a retry's time came, a
    slice ended, a notice was written while the last job was finishing). Returns whether it queued one."""
    if transport_for(settings) is None:
        return False
    with sessions.begin() as session:
        due = session.scalar(select(exists().where(Notice.status == PENDING, Notice.next_attempt_at <= now)))
        if not due or session.scalar(select(exists().where(Job.dedup_key == DEDUP_KEY))):
            return False
        queue_delivery(session)
    return True


def settle_interrupted(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Mark ``uncertain`` the notices left ``sending`` by a worker that stopped (killed, its machine gone)
    longer than the lease ago: the server may have taken them, so they are not sent again by themselves."""
    lease = timedelta(seconds=2 * settings.smtp_timeout_seconds + 60)
    with sessions.begin() as session:
        stale = session.scalars(
            select(Notice).where(Notice.status == SENDING, Notice.claimed_at < now - lease).with_for_update()
        ).all()
        for notice in stale:
            notice.status = UNCERTAIN
            notice.last_response = (
                f"the worker {notice.claimed_by} stopped while sending it (claimed at "
                f"{as_utc(notice.claimed_at).isoformat(timespec='seconds') if notice.claimed_at else '?'}): "
                "it may or may not have been delivered"
            )
            _audit(session, notice, "notice.uncertain", worker=notice.claimed_by)
    return len(stale)


WANTED_CHECKS[Event.account_invitation] = _link_still_live
WANTED_CHECKS[Event.password_reset] = _link_still_live

# The checks of ``WANTED_CHECKS`` register themselves when their module is imported: imported here, so that
# every process that can deliver (a worker, the server's job thread, a test or a script calling
# ``deliver_due``) has them. Last, since they import this module.
from app.mail import reminders as _reminders  # noqa: E402, F401
