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
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import policy
from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import AccountToken, Commission, Job, MailOptOut, Notice
from app.errors import Conflict
from app.jobs.kinds import JobKind, JobOutcome, JobRun, JobScope, register
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
)
from app.mail.render import Rendered, Sender, default_signature, render
from app.mail.transport import PermanentFailure, TemporaryFailure, Transport, transport_for
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


# --- one notice -------------------------------------------------------------------------------------------

_CLAIM_PG = text(
    """
    UPDATE notice SET status = 'sending', attempts = attempts + 1, claimed_at = :now, claimed_by = :worker
    WHERE id = (
        SELECT id FROM notice WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    RETURNING id
    """
)
# SQLite has one writer at a time: the subquery and the update cannot interleave with another claim.
_CLAIM_SQLITE = text(
    """
    UPDATE notice SET status = 'sending', attempts = attempts + 1, claimed_at = :now, claimed_by = :worker
    WHERE id = (
        SELECT id FROM notice WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id LIMIT 1
    ) AND status = 'pending'
    RETURNING id
    """
)


def claim_next(sessions: sessionmaker[Session], worker: str, now: datetime) -> int | None:
    """Mark the next due notice ``sending`` for ``worker`` and commit; its id, or None when none is due."""
    with sessions.begin() as session:
        claim = _CLAIM_PG if session.get_bind().dialect.name == "postgresql" else _CLAIM_SQLITE
        claimed: int | None = session.scalar(claim, {"now": now, "worker": worker})
        return claimed


def _sender(session: Session, commission_id: int | None, fallback_name: str) -> Sender:
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
    session: Session, notice: Notice, settings: Settings
) -> tuple[Rendered, Sender, dict[str, str]]:
    """The notice's words as they would be sent now (the development page shows the same)."""
    context = dict(notice.context or {})
    sender = _sender(session, notice.commission_id, context.get("commission_name", "Komisi Informasi"))
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


def build_message(session: Session, notice: Notice, settings: Settings) -> EmailMessage:
    rendered, sender, links = render_notice(session, notice, settings)
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
    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return message


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


def _settle(sessions: sessionmaker[Session], notice_id: int, **values: Any) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.status == SENDING).values(**values)
        )


def deliver_one(
    sessions: sessionmaker[Session], settings: Settings, transport: Transport, notice_id: int
) -> str:
    """Send one claimed notice and record how it went; returns ``sent``, ``retry``, ``failed``,
    ``cancelled`` or ``down`` (no connection: nothing else can go now either)."""
    with sessions.begin() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        reason = _no_longer_wanted(session, notice)
        if reason is not None:
            notice.status = CANCELLED
            notice.last_response = reason
            notice.claimed_at = None
            return "cancelled"
        try:
            message = build_message(session, notice, settings)
        except Exception as exc:
            # Its template or context is at fault (nothing was sent): failed, saying so, rather than left
            # ``sending`` and later called uncertain.
            log.exception("notice %s could not be written", notice_id)
            notice.status = FAILED
            notice.last_response = f"could not be written: {type(exc).__name__}: {exc}"[:2000]
            notice.claimed_at = None
            _audit(session, notice, "notice.failed", response=notice.last_response)
            return "failed"
        attempts = notice.attempts
        session.expunge(notice)
    try:
        answer = transport.send(message, notice.recipient)
    except TemporaryFailure as exc:
        now = utcnow()
        if attempts >= settings.mail_max_attempts:
            with sessions.begin() as session:
                session.execute(
                    update(Notice)
                    .where(Notice.id == notice_id, Notice.status == SENDING)
                    .values(status=FAILED, last_response=f"gave up after {attempts} attempts: {exc.response}")
                )
                _audit(session, notice, "notice.failed", response=exc.response, attempts=attempts)
            return "failed"
        _settle(
            sessions,
            notice_id,
            status=PENDING,
            claimed_at=None,
            next_attempt_at=now + _backoff(settings, attempts),
            last_response=exc.response,
        )
        return "down" if exc.connection else "retry"
    except PermanentFailure as exc:
        with sessions.begin() as session:
            session.execute(
                update(Notice)
                .where(Notice.id == notice_id, Notice.status == SENDING)
                .values(status=FAILED, last_response=exc.response)
            )
            _audit(session, notice, "notice.failed", response=exc.response)
        return "failed"
    with sessions.begin() as session:
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id)
            .values(
                status=SENT,
                sent_at=utcnow(),
                transport=transport.name,
                message_id=str(message["Message-ID"]),
                last_response=answer,
            )
        )
        _audit(
            session, notice, "notice.sent", message_id=str(message["Message-ID"]), transport=transport.name
        )
    return "sent"


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
) -> DeliveryCounts:
    """Send the notices that are due, one at a time, until none is left, the SMTP server cannot be reached,
    or ``slice_seconds`` have passed. ``progress(n)`` is called after each (it may raise to stop)."""
    counts = DeliveryCounts()
    transport = transport or transport_for(settings)
    if transport is None:
        log.warning("e-mail waits, pending: EMONEV_SMTP_URL is not set (production sends no mail without it)")
        return counts
    pacer = _Pacer(settings.mail_per_minute)
    started = time.monotonic()
    worker = worker_name()
    done = 0

    def check() -> None:
        if progress is not None:
            progress(done)

    try:
        while slice_seconds is None or time.monotonic() - started < slice_seconds:
            pacer.wait(check)
            notice_id = claim_next(sessions, worker, utcnow())
            if notice_id is None:
                break
            outcome = deliver_one(sessions, settings, transport, notice_id)
            done += 1
            if outcome == "down":
                counts.retry += 1
                break
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            check()
    finally:
        transport.close()
    return counts


# --- the job -----------------------------------------------------------------------------------------------


def _prepare(session: Session, by: Principal, scope: JobScope, params: dict[str, Any]) -> dict[str, Any]:
    raise Conflict(
        "e-mail is delivered by the service itself, not asked for",
        indonesian="Pengiriman surel dijalankan oleh layanan sendiri dan tidak dapat diminta.",
    )


def _may_read(session: Session, by: Principal, job: Job) -> None:
    policy.ensure_system_admin(by)


def _run(run: JobRun) -> JobOutcome:
    counts = deliver_due(run.sessions, run.settings, progress=lambda done: run.progress(done))
    return JobOutcome(result=asdict(counts))


MAIL = register(
    JobKind(name=KIND, title="Pengiriman surel", run=_run, prepare=_prepare, ensure_may_read=_may_read)
)


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


# The checks of ``WANTED_CHECKS`` register themselves when their module is imported: imported here, so that
# every process that can deliver (a worker, the server's job thread, a test or a script calling
# ``deliver_due``) has them. Last, since they import this module.
from app.mail import reminders as _reminders  # noqa: E402, F401
