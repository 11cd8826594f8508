"""Ended deliveries are removed ``EMONEV_WEBHOOK_KEEP_DAYS`` after their last attempt, a batch at a time;
pending and sending ones never are, however old; two workers pruning at once remove each row once."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import Webhook, WebhookDelivery
from app.db.session import create_sqlite_engine, make_sessionmaker
from app.settings import Settings
from app.webhooks.delivery import prune_ended
from app.webhooks.outbox import DELIVERED, FAILED, PENDING, SENDING
from app.webhooks.service import new_secret
from tests.conftest import BACKENDS, migrated_database
from tests.factories import World, make_commission
from tests.webhooks.conftest import delivery_rows

pytestmark = pytest.mark.db

DAY = timedelta(days=1)


def add_webhook(session: Session, commission_id: int) -> int:
    webhook = Webhook(
        commission_id=commission_id,
        url="https://hooks.example/emonev",
        events=["round.status_changed"],
        secret=new_secret(),
    )
    session.add(webhook)
    session.flush()
    return webhook.id


def statuses_left(session: Session, webhook_id: int) -> list[tuple[str, int | None]]:
    """(status, days since the last attempt) of the webhook's deliveries that are left."""
    now = utcnow()
    rows = session.execute(
        select(WebhookDelivery.status, WebhookDelivery.last_attempt_at)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id)
    )
    return [(status, None if at is None else round((now - as_utc(at)) / DAY)) for status, at in rows]


def test_ended_deliveries_go_after_the_retention_and_pending_ones_never(
    session: Session, session_factory: sessionmaker[Session], world: World, settings: Settings
) -> None:
    now = utcnow()
    webhook_id = add_webhook(session, world.commission.id)
    rows = [
        *delivery_rows(webhook_id, DELIVERED, now - 31 * DAY, 3),
        *delivery_rows(webhook_id, FAILED, now - 31 * DAY, 2),
        *delivery_rows(webhook_id, DELIVERED, now - 29 * DAY),
        *delivery_rows(webhook_id, FAILED, now - 29 * DAY),
        # Still being tried, however long ago that began: kept.
        *delivery_rows(webhook_id, PENDING, now - 40 * DAY),
        *delivery_rows(webhook_id, PENDING, None, due=now - 40 * DAY),
        *delivery_rows(webhook_id, SENDING, now - 40 * DAY),
    ]
    session.execute(insert(WebhookDelivery), rows)
    session.commit()

    # Batches of two: the five old ended ones take three.
    assert prune_ended(session_factory, settings, now, batch=2) == 5
    assert statuses_left(session, webhook_id) == [
        (DELIVERED, 29),
        (FAILED, 29),
        (PENDING, 40),
        (PENDING, None),
        (SENDING, 40),
    ]
    assert prune_ended(session_factory, settings, now, batch=2) == 0

    # EMONEV_WEBHOOK_KEEP_DAYS decides.
    assert prune_ended(session_factory, settings.model_copy(update={"webhook_keep_days": 28}), now) == 2
    assert [status for status, _ in statuses_left(session, webhook_id)] == [PENDING, PENDING, SENDING]


def test_the_setting_defaults_to_30_days_and_refuses_less_than_one() -> None:
    assert Settings().webhook_keep_days == 30
    with pytest.raises(ValueError, match="webhook_keep_days"):
        Settings(webhook_keep_days=0)


# --- two workers at once: a database of the test's own, committed, each worker with its own engine ---------


@pytest.fixture(params=BACKENDS)
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Engine]]:
    name = f"emonev_prune_{os.getpid()}"
    with migrated_database(request.param, tmp_path, name) as (engine, url):
        yield request.param, url, engine


def engine_of_a_worker(backend: str, url: str) -> Engine:
    return create_sqlite_engine(url) if backend == "sqlite" else create_engine(url)


def test_two_workers_pruning_at_once_remove_each_delivery_once_without_error(
    own_database: tuple[str, str, Engine], settings: Settings
) -> None:
    backend, url, engine = own_database
    now = utcnow()
    with make_sessionmaker(engine).begin() as session:
        webhook_id = add_webhook(session, make_commission(session).id)
        session.execute(
            insert(WebhookDelivery),
            delivery_rows(webhook_id, DELIVERED, now - 31 * DAY, 200)
            + delivery_rows(webhook_id, FAILED, now - 45 * DAY, 100)
            + delivery_rows(webhook_id, DELIVERED, now - DAY, 20)
            + delivery_rows(webhook_id, PENDING, now - 40 * DAY, 20),
        )
    engines = [engine_of_a_worker(backend, url) for _ in range(2)]
    barrier = threading.Barrier(2)

    def worker(own: Engine) -> int:
        barrier.wait(30)
        return prune_ended(make_sessionmaker(own), settings, now, batch=7)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            removed = [future.result(timeout=60) for future in [pool.submit(worker, e) for e in engines]]
    finally:
        for one in engines:
            one.dispose()

    assert sum(removed) == 300, removed
    with make_sessionmaker(engine)() as session:
        left = [status for status, _ in statuses_left(session, webhook_id)]
    assert left == [DELIVERED] * 20 + [PENDING] * 20
