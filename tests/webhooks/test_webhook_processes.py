"""Webhooks with the service's real processes and a real receiver on the loopback.

- A ``results.published`` event reaches the receiver signed (verified with ``standardwebhooks``) and exactly
  once by event id, after an administrator publishes through the API of a running ``emonev serve``: on SQLite
  the server's job thread delivers it, on PostgreSQL an ``emonev worker``.
- The process delivering is killed with SIGKILL while the receiver holds its request: the event still
  arrives (posted again after the lease), and every copy the receiver saw has the same ``webhook-id``, so
  dropping repeats by id gives exactly once. PostgreSQL: an ``emonev worker``; SQLite: ``emonev serve``.
- Deliveries that ended more than ``EMONEV_WEBHOOK_KEEP_DAYS`` ago are removed by the running processes
  (two workers at once on PostgreSQL), the others kept.

PostgreSQL cases skip without EMONEV_TEST_POSTGRES_URL (fail under CI=true), like the other fault tests.
About 15 to 30 s each: each starts its own database and processes, and the kill waits out the lease (4 x
the 1 s timeout) and the next look of the delivery duty (10 s)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Invitation, Round, Webhook, WebhookDelivery
from app.webhooks import outbox
from app.webhooks.service import new_secret
from tests.factories import World, make_body, make_verified_submission
from tests.faults.live import SETTINGS, postgres_database, prepare
from tests.processes import LiveServer, launch_worker, serve, wait_until_listening, workers
from tests.webhooks.conftest import delivery_rows
from tests.webhooks.receiver import Receiver

WAIT_SECONDS = 60
# EMONEV_WEBHOOK_TIMEOUT_SECONDS where a process is killed: the lease after which its delivery is posted
# again is 4 x this.
KILL_TIMEOUT = 1


@contextmanager
def database(backend: str, root: Path) -> Iterator[str]:
    """A migrated database with the demo's commission: PostgreSQL of the test's own, or a SQLite file."""
    if backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        url = f"sqlite:///{root / 'web.sqlite3'}"
        prepare(url)
        yield url


def environment(root: Path, url: str, timeout: float = 2) -> dict[str, str]:
    return {
        **SETTINGS,
        "EMONEV_DATABASE_URL": url,
        "EMONEV_EVIDENCE_DIR": str(root / "evidence"),
        "EMONEV_JOB_FILES_DIR": str(root / "job-files"),
        "EMONEV_LINK_SWEEP_NIGHTLY": "false",
        "EMONEV_BASE_URL": "https://emonev.example",
        "EMONEV_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "EMONEV_WEBHOOK_TIMEOUT_SECONDS": str(timeout),
        "EMONEV_WEBHOOK_RETRY_SECONDS": "0.5",
        "EMONEV_WORKER_HEARTBEAT_SECONDS": "1",
        "EMONEV_WORKER_STALLED_AFTER_SECONDS": "3",
        # A killed worker counts an attempt of the delivery job: not so few that the job gives up here.
        "EMONEV_JOB_MAX_ATTEMPTS": "10",
    }


def until(check: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)
    return found


def deliveries(sessions: sessionmaker[Session]) -> list[WebhookDelivery]:
    with sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_publishing_results_through_the_api_reaches_the_receiver_signed_and_once(
    backend: str, tmp_path: Path
) -> None:
    with database(backend, tmp_path) as url, Receiver() as receiver:
        engine = create_engine(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        try:
            with sessions() as session:
                world = World(session)
                # The round final, SAQ only: both bodies verified, a third invited body that took no part.
                for body in (world.body, world.other_body):
                    make_verified_submission(session, world.round, body, world.template, world.verifier, {})
                absent = make_body(session, world.category, name="Kelurahan Absen")
                session.add(Invitation(round_id=world.round.id, body_id=absent.id))
                world.round.status = "final"
                admin = world.token(world.admin)
                round_id, commission_id = world.round.id, world.commission.id
                session.commit()
            env = environment(tmp_path, url)
            with (
                serve(tmp_path, env, prepare=[], database_url=url) as server,
                _deliverers(backend, tmp_path, server),
                httpx.Client(base_url=server.url, headers=admin, timeout=30) as api,
            ):
                created = api.post(
                    f"/api/v1/commissions/{commission_id}/webhooks",
                    json={"url": receiver.url, "events": ["results.published", "round.status_changed"]},
                )
                assert created.status_code == 201, created.text
                secret = created.json()["secret"]
                published = api.post(f"/api/v1/rounds/{round_id}/publish", json={"reason": "Pleno 1/2025"})
                assert published.status_code == 201, published.text

                def both_arrived() -> bool:
                    return {r.json()["type"] for r in receiver.received()} == {
                        "results.published",
                        "round.status_changed",
                    }

                until(both_arrived, "the events arrived")
                # Publishing again with nothing changed is refused and tells nobody.
                again = api.post(f"/api/v1/rounds/{round_id}/publish", json={"reason": "Pleno 2/2025"})
                assert again.status_code == 409
                time.sleep(2)  # (a repeat or a stray event would be here by now)
                shown = api.get(f"/api/v1/webhooks/{created.json()['id']}/deliveries").json()["items"]

            received = receiver.received()
            assert len(received) == 2
            assert len(receiver.event_ids()) == 2  # exactly once by event id
            events = {event["type"]: event for event in (r.verified(secret) for r in received)}
            publication = events["results.published"]
            assert publication["data"]["round_id"] == round_id
            assert publication["data"]["revision"] == 1
            assert publication["data"]["corrects_revision"] is None
            assert publication["data"]["links"]["rankings"] == (
                f"https://emonev.example/api/v1/rounds/{round_id}/rankings"
            )
            assert events["round.status_changed"]["data"]["status"] == "published"
            assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in shown), shown
            assert {d["event_id"] for d in shown} == set(receiver.event_ids())
        finally:
            engine.dispose()


@contextmanager
def _deliverers(backend: str, root: Path, server: LiveServer) -> Iterator[None]:
    """On PostgreSQL a worker beside the server; on SQLite the server delivers itself."""
    if backend == "postgresql":
        with workers(root, server.env, "kurir"):
            yield
    else:
        yield


def _endpoint_and_event(sessions: sessionmaker[Session], url: str) -> tuple[str, str]:
    """An endpoint of the demo's commission posting to ``url``, and a round.status_changed event for it,
    committed; the secret and the event's id."""
    with sessions.begin() as session:
        round_ = session.scalars(select(Round).order_by(Round.id)).first()
        assert round_ is not None
        secret = new_secret()
        session.add(
            Webhook(
                commission_id=round_.commission_id, url=url, events=["round.status_changed"], secret=secret
            )
        )
        session.flush()
        event_id = outbox.round_status_changed(session, round_=round_, previous="draft")
        assert event_id is not None
    return secret, event_id


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_delivering_process_killed_mid_post_loses_nothing_and_repeats_only_the_same_id(
    backend: str, tmp_path: Path
) -> None:
    with database(backend, tmp_path) as url, Receiver() as receiver:
        engine = create_engine(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        env = os.environ | environment(tmp_path, url, KILL_TIMEOUT)
        receiver.hold = True  # the first request is read and kept waiting: the kill comes meanwhile
        try:
            if backend == "postgresql":
                doomed = launch_worker(tmp_path, env, "nahas")
                wait_until_listening(doomed)
                secret, event_id = _endpoint_and_event(sessions, receiver.url)
                assert receiver.arrived.wait(WAIT_SECONDS), doomed.log.read_text()
                doomed.process.kill()
                doomed.process.wait(timeout=10)
                [held] = deliveries(sessions)
                assert (held.status, held.attempts) == ("sending", 1)
                receiver.release.set()
                with workers(tmp_path, env, "penerus"):
                    until(lambda: deliveries(sessions)[0].status == "delivered", "delivered after the kill")
            else:
                settings = {k: v for k, v in env.items() if k.startswith("EMONEV_")}
                with serve(tmp_path, settings, prepare=[], database_url=url) as server:
                    secret, event_id = _endpoint_and_event(sessions, receiver.url)
                    assert receiver.arrived.wait(WAIT_SECONDS), server.log.read_text()
                    server.process.kill()
                    server.process.wait(timeout=10)
                [held] = deliveries(sessions)
                assert (held.status, held.attempts) == ("sending", 1)
                receiver.release.set()
                with serve(tmp_path, settings, prepare=[], database_url=url):
                    until(lambda: deliveries(sessions)[0].status == "delivered", "delivered after the kill")
                    time.sleep(1)
            [delivery] = deliveries(sessions)
            assert delivery.attempts >= 2
            received = receiver.received()
            # The held copy and the one posted again (more only if a short timeout ran out under load): one
            # event id, each signed.
            assert len(received) >= 2
            assert {r.event_id for r in received} == {event_id}
            for copy in received:
                assert copy.verified(secret)["id"] == event_id
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_running_service_removes_ended_deliveries_after_the_setting_and_keeps_the_rest(
    backend: str, tmp_path: Path
) -> None:
    """The duty as the processes run it, ``EMONEV_WEBHOOK_KEEP_DAYS`` from the environment: two ``emonev
    worker`` started together on PostgreSQL (both prune as they start), ``emonev serve`` on SQLite."""
    with database(backend, tmp_path) as url:
        engine = create_engine(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        now = utcnow()
        try:
            with sessions.begin() as session:
                round_ = session.scalars(select(Round).order_by(Round.id)).first()
                assert round_ is not None
                webhook = Webhook(
                    commission_id=round_.commission_id,
                    url="https://hooks.example/emonev",
                    events=["round.status_changed"],
                    secret=new_secret(),
                )
                session.add(webhook)
                session.flush()
                session.execute(
                    insert(WebhookDelivery),
                    delivery_rows(webhook.id, "delivered", now - timedelta(days=11), 150)
                    + delivery_rows(webhook.id, "failed", now - timedelta(days=20), 50)
                    + delivery_rows(webhook.id, "delivered", now - timedelta(days=9), 5)
                    # Retried until given up, however long that takes: never removed before it ends.
                    + delivery_rows(webhook.id, "pending", None, 5, due=now + timedelta(days=365)),
                )
            env = os.environ | environment(tmp_path, url) | {"EMONEV_WEBHOOK_KEEP_DAYS": "10"}

            def pruned() -> bool:
                return len(deliveries(sessions)) == 10

            if backend == "postgresql":
                with workers(tmp_path, env, "satu", "dua") as started:
                    until(pruned, "pruned")
                    logs = "".join(one.log.read_text() for one in started)
            else:
                settings = {k: v for k, v in env.items() if k.startswith("EMONEV_")}
                with serve(tmp_path, settings, prepare=[], database_url=url) as server:
                    until(pruned, "pruned")
                    logs = server.log.read_text()
            assert sorted(d.status for d in deliveries(sessions)) == ["delivered"] * 5 + ["pending"] * 5
            assert "periodic duty 'remove ended webhook deliveries' failed" not in logs
            assert "Traceback" not in logs
        finally:
            engine.dispose()
