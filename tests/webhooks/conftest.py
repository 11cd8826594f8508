"""Fixtures of the webhook tests: a real receiver on the loopback and settings that let deliveries reach it
(the loopback is on the allow list; retries after a fraction of a second)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.jobs.worker import run_queued
from app.main import create_app
from app.settings import Settings
from app.webhooks import outbox
from tests.factories import World
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_hosts": ["127.0.0.1"],
            "webhook_retry_seconds": [0.2, 0.4],
            "base_url": "https://emonev.example",
        }
    )


@pytest.fixture
def hook_client(hook_settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(hook_settings, session_factory=session_factory)) as client:
        yield client


def register(
    client: TestClient, world: World, url: str, events: list[str] | None = None
) -> dict[str, object]:
    """Register ``url`` for ``events`` (default: all four) as the commission's administrator; the 201 body."""
    response = client.post(
        f"/api/v1/commissions/{world.commission.id}/webhooks",
        json={
            "url": url,
            "events": events
            or [
                "round.status_changed",
                "submission.submitted",
                "verification.released",
                "results.published",
            ],
        },
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def deliver(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Run the queued jobs (the webhook delivery among them) as a worker would."""
    return run_queued(sessions, settings)


def delivery_rows(
    webhook_id: int,
    status: str,
    last_attempt: datetime | None,
    count: int = 1,
    *,
    due: datetime | None = None,
) -> list[dict[str, Any]]:
    """``count`` deliveries to insert, each of its own event, in ``status``, last attempted at
    ``last_attempt`` (None: never) and due at ``due`` (default: the last attempt)."""
    at = due or last_attempt or utcnow()
    return [
        {
            "webhook_id": webhook_id,
            "event_id": outbox.new_event_id(),
            "event_type": "round.status_changed",
            "occurred_at": at - timedelta(hours=1),
            "data": {},
            "status": status,
            "attempts": 0 if last_attempt is None else 1,
            "next_attempt_at": at,
            "last_attempt_at": last_attempt,
            "delivered_at": last_attempt if status == outbox.DELIVERED else None,
        }
        for _ in range(count)
    ]
