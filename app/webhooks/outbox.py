"""Writing webhook events: the outbox side.

A service that makes an event calls :func:`emit` in its own transaction. One ``webhook_delivery`` row is
written per endpoint of the commission subscribed to the event's type, all with the event's one id, and the
delivery job is queued in that same transaction: the rows commit with the event or not at all.

What an event says is ids, statuses, instants and paths (which become absolute links when it is sent):
never a person's name or address, nor a body's name.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import Publication, Round, Webhook, WebhookDelivery

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


class EventType(StrEnum):
    round_status_changed = "round.status_changed"
    submission_submitted = "submission.submitted"
    verification_released = "verification.released"
    results_published = "results.published"


def new_event_id() -> str:
    """``evt_`` and 26 characters of base32 (128 random bits)."""
    return "evt_" + base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def instant(value: datetime | None) -> str | None:
    """An instant as the events write it: ISO 8601 in UTC with ``Z``."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def emit(
    session: Session,
    *,
    commission_id: int,
    event: EventType,
    data: dict[str, Any],
    paths: dict[str, str],
) -> str | None:
    """Write ``event`` for every endpoint of the commission subscribed to it, in the session's transaction,
    and queue their delivery. ``data`` holds JSON-able values only; ``paths`` (name -> API path) become the
    event's ``links``. Returns the event's id, or None when no endpoint hears of it (nothing is written)."""
    targets = [
        webhook_id
        for webhook_id, events in session.execute(
            select(Webhook.id, Webhook.events).where(Webhook.commission_id == commission_id)
        )
        if event.value in (events or [])
    ]
    if not targets:
        return None
    event_id = new_event_id()
    now = utcnow()
    session.execute(
        insert(WebhookDelivery),
        [
            {
                "webhook_id": webhook_id,
                "event_id": event_id,
                "event_type": event.value,
                "occurred_at": now,
                "data": {**data, "paths": paths},
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for webhook_id in targets
        ],
    )
    from app.webhooks.delivery import queue_delivery  # (delivery imports this module)

    queue_delivery(session)
    return event_id


# --- the events, one function each, called by the service that makes the event in its transaction ----------

API = "/api/v1"


def round_status_changed(session: Session, *, round_: Round, previous: str) -> str | None:
    return emit(
        session,
        commission_id=round_.commission_id,
        event=EventType.round_status_changed,
        data={
            "commission_id": round_.commission_id,
            "round_id": round_.id,
            "status": round_.status,
            "previous_status": previous,
        },
        paths={"round": f"{API}/rounds/{round_.id}"},
    )


def submission_submitted(
    session: Session,
    *,
    commission_id: int,
    round_id: int,
    submission_id: int,
    body_id: int,
    submitted_at: datetime,
    at_deadline: bool,
) -> str | None:
    """A body's SAQ submitted: by its PPID, or (``at_deadline``) as it stood when its deadline passed."""
    return emit(
        session,
        commission_id=commission_id,
        event=EventType.submission_submitted,
        data={
            "commission_id": commission_id,
            "round_id": round_id,
            "submission_id": submission_id,
            "body_id": body_id,
            "submitted_at": instant(submitted_at),
            "at_deadline": at_deadline,
        },
        paths={"submission": f"{API}/submissions/{submission_id}", "round": f"{API}/rounds/{round_id}"},
    )


def verification_released(session: Session, *, round_: Round) -> str | None:
    return emit(
        session,
        commission_id=round_.commission_id,
        event=EventType.verification_released,
        data={
            "commission_id": round_.commission_id,
            "round_id": round_.id,
            "released_at": instant(round_.results_released_at),
            "objection_opens_at": instant(round_.objection_opens_at),
            "objection_closes_at": instant(round_.objection_closes_at),
        },
        paths={"round": f"{API}/rounds/{round_.id}"},
    )


def results_published(session: Session, *, round_: Round, publication: Publication) -> str | None:
    """Each revision is an event of its own (a correction names the revision it corrects)."""
    return emit(
        session,
        commission_id=round_.commission_id,
        event=EventType.results_published,
        data={
            "commission_id": round_.commission_id,
            "round_id": round_.id,
            "publication_id": publication.id,
            "revision": publication.revision,
            "corrects_revision": publication.revision - 1 if publication.revision > 1 else None,
            "published_at": instant(publication.created_at),
        },
        paths={
            "round": f"{API}/rounds/{round_.id}",
            "publications": f"{API}/rounds/{round_.id}/publications",
            "rankings": f"{API}/rounds/{round_.id}/rankings",
            "public_rankings": f"{API}/public/rounds/{round_.id}/rankings",
        },
    )
