"""Delivering webhook events: the ``webhooks`` job, and the periodic duties that keep it moving and tidy.

At least once. A delivery is claimed by one worker (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's single
writer) and marked ``sending`` in a committed transaction before it is posted, then ``delivered`` on a 2xx
answer. Anything else (another status, a timeout, no connection, an address now refused) is tried again after
``EMONEV_WEBHOOK_RETRY_SECONDS`` (30 s, 2 min, 10 min, 30 min, 1 h, then every 2 h) until
``EMONEV_WEBHOOK_GIVE_UP_HOURS`` after the event, when it is marked ``failed``. A worker killed while posting
leaves its delivery ``sending``: after the lease (``LEASE_TIMEOUTS`` x the timeout) it is pending again and
is posted again, with the same ``webhook-id``, so the receiver may see an event twice but can tell (unlike
e-mail, where a doubtful notice is left for a person: a receiver of webhooks is expected to drop repeats).

Each attempt is signed as Standard Webhooks says: ``webhook-id`` (the event's id), ``webhook-timestamp``
(the attempt's Unix time) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body" under the
secret's decoded bytes>``. Redirects are not followed; of the answer only its status and the first
``EXCERPT`` characters are kept.

The job runs for at most ``SLICE_SECONDS`` and ends; the duty ``queue_due_delivery`` queues it again within
seconds while deliveries are due (or a lease ran out).
Another duty, ``prune_ended``, removes the deliveries that ended more than ``EMONEV_WEBHOOK_KEEP_DAYS`` ago.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import exists, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import Job, Webhook, WebhookDelivery
from app.db.pruning import delete_in_batches
from app.jobs.kinds import duty_kind
from app.jobs.service import queue_job
from app.settings import Settings
from app.verification.linkcheck import request_failure
from app.webhooks.addresses import UrlRefused, destination
from app.webhooks.outbox import DELIVERED, FAILED, PENDING, SENDING, instant

log = logging.getLogger("emonev.webhooks")

KIND = "webhooks"
DELIVERER = Principal(role=Role.system_admin, label="webhook")
DEDUP_KEY = "webhooks:deliver"
SLICE_SECONDS = 60.0
# A delivery left ``sending`` longer than this many timeouts is taken to be its worker's last.
LEASE_TIMEOUTS = 4
EXCERPT = 200
USER_AGENT = "E-Monev webhooks"
# Ended deliveries are removed this many at a time, each batch in a transaction of its own.
PRUNE_BATCH = 500


def queue_delivery(session: Session) -> None:
    """Queue the delivery job in the session's transaction (or find the one already queued or running)."""
    queue_job(session=session, kind=KIND, params={}, by=DELIVERER, dedup_key=DEDUP_KEY, commission_id=None)


def lease(settings: Settings) -> timedelta:
    return timedelta(seconds=LEASE_TIMEOUTS * settings.webhook_timeout_seconds)


# --- what is sent ------------------------------------------------------------------------------------------


def body_of(delivery: WebhookDelivery, settings: Settings) -> bytes:
    """The event as JSON: ``{"id", "type", "timestamp", "data"}``, the data's paths as absolute ``links``
    on ``EMONEV_BASE_URL``. The same bytes at every attempt (while the base URL stays)."""
    data = dict(delivery.data or {})
    base = settings.base_url.rstrip("/")
    data["links"] = {name: f"{base}{path}" for name, path in (data.pop("paths", None) or {}).items()}
    document = {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "timestamp": instant(delivery.occurred_at),
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"`` under the secret's decoded bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers_for(secret: str, event_id: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = int(as_utc(now).timestamp())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, event_id, timestamp, body),
    }


# --- one attempt -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Handed:
    """A delivery claimed (``sending``, committed), ready to post."""

    id: int
    webhook_id: int
    commission_id: int
    event_id: str
    event_type: str
    occurred_at: datetime
    attempts: int
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class _Answer:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _excerpt(response: httpx.Response, deadline: float) -> str:
    read = b""
    for chunk in response.iter_raw():
        read += chunk
        if len(read) >= EXCERPT * 4 or time.monotonic() > deadline:
            break
    return " ".join(read[: EXCERPT * 4].decode("utf-8", "replace").split())[:EXCERPT]


def post(client: httpx.Client, settings: Settings, handed: _Handed) -> _Answer:
    """Post the event once to the address the URL resolves to now (checked again); how it went. Whatever
    goes wrong is an answer to record (so a delivery that cannot be posted still ends ``failed`` in time,
    rather than ``sending`` again after every lease)."""
    try:
        return _post(client, settings, handed)
    except Exception as exc:
        log.exception("webhook %s to %s could not be posted", handed.event_id, handed.url)
        return _Answer(None, f"could not be posted: {type(exc).__name__}")


def _post(client: httpx.Client, settings: Settings, handed: _Handed) -> _Answer:
    timeout = settings.webhook_timeout_seconds
    try:
        where = destination(handed.url, settings)
    except UrlRefused as exc:
        return _Answer(None, f"blocked: {exc}")
    headers = headers_for(handed.secret, handed.event_id, handed.body, utcnow())
    headers["host"] = where.host_header
    extensions = {"sni_hostname": where.server_name} if where.server_name else {}
    request = client.build_request(
        "POST", where.target, content=handed.body, headers=headers, extensions=extensions
    )
    deadline = time.monotonic() + 2 * timeout
    try:
        response = client.send(request, stream=True)
    except httpx.TimeoutException:
        return _Answer(None, "timed out")
    except httpx.HTTPError as exc:
        log.info("webhook %s to %s: %s: %s", handed.event_id, handed.url, type(exc).__name__, exc)
        return _Answer(None, request_failure(exc))
    try:
        status = response.status_code
        if 200 <= status < 300:
            return _Answer(status, None)
        excerpt = _excerpt(response, deadline)
        note = " (redirects are not followed)" if 300 <= status < 400 else ""
        return _Answer(status, f"HTTP {status}{note}" + (f": {excerpt}" if excerpt else ""))
    except httpx.TimeoutException:
        return _Answer(status, f"HTTP {status}")
    except httpx.HTTPError:
        return _Answer(status, f"HTTP {status}")
    finally:
        response.close()


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th attempt failed."""
    waits = settings.webhook_retry_seconds
    return timedelta(seconds=waits[min(attempts, len(waits)) - 1])


# --- claiming and recording --------------------------------------------------------------------------------

_CLAIM_PG = text(
    """
    UPDATE webhook_delivery
    SET status = 'sending', attempts = attempts + 1, claimed_at = :now, claimed_by = :worker
    WHERE id = (
        SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    RETURNING *
    """
)
_CLAIM_SQLITE = text(
    """
    UPDATE webhook_delivery
    SET status = 'sending', attempts = attempts + 1, claimed_at = :now, claimed_by = :worker
    WHERE id = (
        SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id LIMIT 1
    ) AND status = 'pending'
    RETURNING *
    """
)


def _claim(session: Session, worker: str, now: datetime) -> WebhookDelivery | None:
    claim = _CLAIM_PG if session.get_bind().dialect.name == "postgresql" else _CLAIM_SQLITE
    stmt = select(WebhookDelivery).from_statement(claim).execution_options(populate_existing=True)
    return session.scalars(stmt, {"now": now, "worker": worker}).first()


def _next(session: Session, settings: Settings, worker: str) -> _Handed | None:
    delivery = _claim(session, worker, utcnow())
    if delivery is None:
        return None
    webhook = session.get(Webhook, delivery.webhook_id)
    if webhook is None:  # removed meanwhile (its deliveries go with it): nothing to post
        session.delete(delivery)
        return _next(session, settings, worker)
    return _Handed(
        id=delivery.id,
        webhook_id=webhook.id,
        commission_id=webhook.commission_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        occurred_at=delivery.occurred_at,
        attempts=delivery.attempts,
        url=webhook.url,
        secret=webhook.secret,
        body=body_of(delivery, settings),
    )


def give_up_at(settings: Settings, occurred_at: datetime) -> datetime:
    return as_utc(occurred_at) + timedelta(hours=settings.webhook_give_up_hours)


def _record(session: Session, settings: Settings, worker: str, handed: _Handed, answer: _Answer) -> str:
    """Record how the attempt went; returns delivered, retry or failed."""
    now = utcnow()
    values: dict[str, Any] = {
        "last_status_code": answer.status_code,
        "last_attempt_at": now,
        "claimed_at": None,
    }
    stmt = update(WebhookDelivery).where(WebhookDelivery.id == handed.id)
    if answer.delivered:
        # Whatever became of it meanwhile (its lease ran out and another worker has it): it has arrived.
        session.execute(
            stmt.where(WebhookDelivery.status != DELIVERED).values(
                status=DELIVERED, delivered_at=now, last_error=None, **values
            )
        )
        return "delivered"
    # Only while this attempt is still the delivery's own (not handed on after its lease ran out).
    stmt = stmt.where(
        WebhookDelivery.status == SENDING,
        WebhookDelivery.claimed_by == worker,
        WebhookDelivery.attempts == handed.attempts,
    )
    ends = give_up_at(settings, handed.occurred_at)
    if now >= ends:
        changed = session.execute(stmt.values(status=FAILED, last_error=answer.error, **values)).rowcount  # type: ignore[attr-defined]
        if changed:
            record(
                session=session,
                actor=DELIVERER,
                action="webhook.delivery_failed",
                entity="webhook_delivery",
                entity_id=handed.id,
                after={
                    "webhook_id": handed.webhook_id,
                    "event_id": handed.event_id,
                    "event_type": handed.event_type,
                    "attempts": handed.attempts,
                    "last_error": answer.error,
                },
                commission_id=handed.commission_id,
            )
        return "failed"
    retry_at = min(now + backoff(settings, handed.attempts), ends)
    session.execute(stmt.values(status=PENDING, next_attempt_at=retry_at, last_error=answer.error, **values))
    return "retry"


def settle_interrupted(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Deliveries left ``sending`` longer than the lease ago (their worker was killed, its machine gone)
    are pending again, due now; returns how many. They are posted again with the same event id."""
    with sessions.begin() as session:
        changed: int = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == SENDING, WebhookDelivery.claimed_at < now - lease(settings))
            .values(
                status=PENDING,
                next_attempt_at=now,
                claimed_at=None,
                last_error="its worker stopped while posting it; posted again",
            )
        ).rowcount  # type: ignore[attr-defined]
    if changed:
        log.warning("%s webhook deliveries were interrupted by a stopped worker; posting them again", changed)
    return changed


@dataclass
class DeliveryCounts:
    delivered: int = 0
    retry: int = 0
    failed: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def client_for(settings: Settings) -> httpx.Client:
    return httpx.Client(
        transport=httpx.HTTPTransport(retries=0),
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        # No pooled connections: a connection is keyed by the pinned address (see linkcheck).
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    progress: Callable[[int], None] | None = None,
    slice_seconds: float | None = SLICE_SECONDS,
    give_way: Callable[[], bool] | None = None,
) -> DeliveryCounts:
    """Post the deliveries that are due, one at a time, until none is left, ``slice_seconds`` have passed,
    or ``give_way()`` says a job someone asked for waits (after one post at least). ``progress(n)`` is called
    after each (it may raise to stop). Each is claimed (``sending``) in a committed transaction before it is
    posted, and its outcome recorded in the next."""
    counts = DeliveryCounts()
    worker = worker_name()
    started = time.monotonic()
    settle_interrupted(sessions, settings, utcnow())
    done = 0
    with client_for(settings) as client:
        while slice_seconds is None or time.monotonic() - started < slice_seconds:
            if done and give_way is not None and give_way():
                break
            with sessions.begin() as session:
                handed = _next(session, settings, worker)
            if handed is None:
                break
            answer = post(client, settings, handed)
            with sessions.begin() as session:
                outcome = _record(session, settings, worker, handed, answer)
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            done += 1
            if progress is not None:
                progress(done)
    return counts


# --- the job -----------------------------------------------------------------------------------------------

WEBHOOKS = duty_kind(KIND, "Pengiriman webhook", deliver_due, english="webhook delivery")


# --- the periodic duty -------------------------------------------------------------------------------------


def queue_due_delivery(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> bool:
    """Queue the delivery job when a delivery is due (or its lease ran out) and none is queued or running.
    Returns whether it queued one."""
    with sessions.begin() as session:
        due = session.scalar(
            select(
                exists().where(
                    or_(
                        (WebhookDelivery.status == PENDING) & (WebhookDelivery.next_attempt_at <= now),
                        (WebhookDelivery.status == SENDING)
                        & (WebhookDelivery.claimed_at < now - lease(settings)),
                    )
                )
            )
        )
        if not due or session.scalar(select(exists().where(Job.dedup_key == DEDUP_KEY))):
            return False
        queue_delivery(session)
    return True


def prune_ended(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, *, batch: int = PRUNE_BATCH
) -> int:
    """Delete the deliveries that ended (delivered, or failed for good) more than ``EMONEV_WEBHOOK_KEEP_DAYS``
    before ``now``, by their last attempt, a batch at a time (app/db/pruning.py); returns how many. Pending
    and sending ones are never touched."""
    cutoff = now - timedelta(days=settings.webhook_keep_days)
    ended = select(WebhookDelivery.id).where(
        WebhookDelivery.status.in_((DELIVERED, FAILED)),
        WebhookDelivery.last_attempt_at < cutoff,
        # Implied by the line above (a delivery is attempted no sooner than it is due; at worst a late
        # answer leaves a retry's time a few hours later, and the row waits that much longer), and it
        # lets the (status, next_attempt_at) index bound the search.
        WebhookDelivery.next_attempt_at < cutoff,
    )
    return delete_in_batches(sessions, WebhookDelivery, ended, batch)
