"""Delivering events to a real receiver on the loopback: signed so that the reference implementation
(``standardwebhooks``) verifies them, retried with backoff until the receiver takes them, given up after a
day and shown so, never redirected, the address checked again when sending, and nothing sent for an event
that was rolled back. The delivery job runs in this process as a worker would run it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import WebhookVerificationError

from app.db.base import utcnow
from app.db.models import AuditEntry, Submission, Verification, VerifiedAnswer, WebhookDelivery
from app.settings import Settings
from app.webhooks import outbox
from app.webhooks.delivery import queue_due_delivery
from tests.factories import World, get_json, make_submission, make_verified_submission, now
from tests.submissions.helpers import FULL_ANSWERS, open_submission, put_answers
from tests.webhooks.conftest import deliver, register
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.db


def close_round(client: TestClient, world: World) -> None:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/status",
        json={"status": "closed", "confirm": True},
        headers=world.token(world.admin),
    )
    assert response.status_code == 200, response.text


def deliveries(client: TestClient, world: World, webhook: dict[str, Any], query: str = "") -> list[Any]:
    page = get_json(client, f"/api/v1/webhooks/{webhook['id']}/deliveries{query}", world.token(world.admin))
    items: list[Any] = page["items"]
    return items


def run_when_due(sessions: sessionmaker[Session], settings: Settings, seconds: float) -> None:
    """Wait for a retry's time, then do what a worker's periodic duty and its job would."""
    time.sleep(seconds)
    assert queue_due_delivery(sessions, settings, utcnow())
    deliver(sessions, settings)


def test_an_event_reaches_the_receiver_signed_for_the_reference_library_without_personal_data(
    hook_client: TestClient,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    webhook = register(hook_client, world, receiver.url)
    with Receiver() as deaf:  # subscribed to another event only
        register(hook_client, world, deaf.url, ["results.published"])
        close_round(hook_client, world)
        deliver(session_factory, hook_settings)
        assert deaf.received() == []

    [received] = receiver.received()
    event = received.verified(str(webhook["secret"]))
    assert event["id"].startswith("evt_")
    assert received.event_id == event["id"]
    assert received.headers["content-type"] == "application/json"
    assert event["type"] == "round.status_changed"
    assert event["timestamp"].endswith("Z")
    assert event["data"] == {
        "commission_id": world.commission.id,
        "round_id": world.round.id,
        "status": "closed",
        "previous_status": "open",
        "links": {"round": f"https://emonev.example/api/v1/rounds/{world.round.id}"},
    }
    # Another secret, a changed body or a replayed old timestamp do not verify.
    with pytest.raises(WebhookVerificationError):
        received.verified("whsec_" + "QUJD" * 8)
    with pytest.raises(WebhookVerificationError):
        type(received)(received.headers, received.body.replace(b"closed", b"opened"), 200).verified(
            str(webhook["secret"])
        )
    stale = received.headers | {"webhook-timestamp": str(int(time.time()) - 3600)}
    with pytest.raises(WebhookVerificationError):
        type(received)(stale, received.body, 200).verified(str(webhook["secret"]))

    [shown] = deliveries(hook_client, world, webhook)
    assert shown["event_id"] == event["id"]
    assert (shown["status"], shown["attempts"], shown["last_status_code"]) == ("delivered", 1, 200)
    assert shown["delivered_at"] is not None
    assert shown["next_attempt_at"] is None
    assert shown["last_error"] is None


def test_a_submission_is_told_with_ids_and_links_only(
    hook_client: TestClient,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    webhook = register(hook_client, world, receiver.url, ["submission.submitted"])
    operator = world.token(world.operator)
    submission = open_submission(hook_client, world)
    assert put_answers(hook_client, submission["id"], operator, FULL_ANSWERS, 1).status_code == 200
    submitted = hook_client.post(f"/api/v1/submissions/{submission['id']}/submit", headers=operator)
    assert submitted.status_code == 200, submitted.text
    deliver(session_factory, hook_settings)

    [received] = receiver.received()
    event = received.verified(str(webhook["secret"]))
    assert event["type"] == "submission.submitted"
    assert event["data"] == {
        "commission_id": world.commission.id,
        "round_id": world.round.id,
        "submission_id": submission["id"],
        "body_id": world.body.id,
        "submitted_at": submitted.json()["submitted_at"].replace("+00:00", "Z"),
        "at_deadline": False,
        "links": {
            "submission": f"https://emonev.example/api/v1/submissions/{submission['id']}",
            "round": f"https://emonev.example/api/v1/rounds/{world.round.id}",
        },
    }
    # Never a person's or a body's name or address.
    for personal in (world.body.name, world.operator.email, "@"):
        assert personal not in received.body.decode()


def test_releasing_verification_is_told(
    hook_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    webhook = register(hook_client, world, receiver.url, ["verification.released"])
    make_verified_submission(session, world.round, world.body, world.template, world.verifier, {})
    world.round.objection_opens_at = now() - timedelta(hours=1)
    world.round.objection_closes_at = now() + timedelta(days=3)
    session.commit()
    release = hook_client.post(
        f"/api/v1/rounds/{world.round.id}/release-verification", headers=world.token(world.admin)
    )
    assert release.status_code == 200, release.text
    deliver(session_factory, hook_settings)

    [received] = receiver.received()
    event = received.verified(str(webhook["secret"]))
    assert event["type"] == "verification.released"
    assert event["data"]["round_id"] == world.round.id
    assert event["data"]["released_at"].endswith("Z")
    assert set(event["data"]) == {
        "commission_id",
        "round_id",
        "released_at",
        "objection_opens_at",
        "objection_closes_at",
        "links",
    }
    assert world.body.name not in received.body.decode()


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try_with_the_same_id(
    hook_client: TestClient,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    receiver.script = [500, 500]
    webhook = register(hook_client, world, receiver.url, ["round.status_changed"])
    close_round(hook_client, world)
    deliver(session_factory, hook_settings)

    # The failure is visible to the administrator, with the next attempt after the first wait (0.2 s).
    [first] = deliveries(hook_client, world, webhook)
    assert (first["status"], first["attempts"], first["last_status_code"]) == ("pending", 1, 500)
    assert first["last_error"] == "HTTP 500: <html>Galat internal penerima</html>"
    assert first["delivered_at"] is None
    waits = [_wait(first)]

    run_when_due(session_factory, hook_settings, 0.25)
    [second] = deliveries(hook_client, world, webhook, "?status=pending")
    assert (second["attempts"], second["last_status_code"]) == (2, 500)
    waits.append(_wait(second))
    # Exponential: the second wait is the longer (0.4 s).
    assert 0.15 < waits[0] < 0.3 < waits[1] < 0.5, waits

    run_when_due(session_factory, hook_settings, 0.45)
    [third] = deliveries(hook_client, world, webhook)
    assert (third["status"], third["attempts"], third["last_status_code"]) == ("delivered", 3, 200)
    assert deliveries(hook_client, world, webhook, "?status=pending") == []

    received = receiver.received()
    assert [r.answered for r in received] == [500, 500, 200]
    assert len(receiver.event_ids()) == 1  # one event id in every attempt
    for attempt in received:
        attempt.verified(str(webhook["secret"]))


def _wait(delivery: dict[str, Any]) -> float:
    return (
        datetime.fromisoformat(delivery["next_attempt_at"])
        - datetime.fromisoformat(delivery["last_attempt_at"])
    ).total_seconds()


def test_a_delivery_never_taken_is_failed_a_day_after_the_event_and_shown_so(
    hook_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    receiver.script = [503] * 5
    webhook = register(hook_client, world, receiver.url, ["round.status_changed"])
    close_round(hook_client, world)
    deliver(session_factory, hook_settings)
    assert deliveries(hook_client, world, webhook)[0]["status"] == "pending"

    # A day has passed since the event (the clock moved rather than waited for), and the next try fails too.
    session.execute(
        update(WebhookDelivery).values(
            occurred_at=utcnow() - timedelta(hours=24, seconds=1), next_attempt_at=utcnow()
        )
    )
    session.commit()
    run_when_due(session_factory, hook_settings, 0)
    [failed] = deliveries(hook_client, world, webhook, "?status=failed")
    assert (failed["status"], failed["attempts"], failed["last_status_code"]) == ("failed", 2, 503)
    assert failed["last_error"].startswith("HTTP 503")
    assert failed["next_attempt_at"] is None
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.delivery_failed")).one()
    assert entry.commission_id == world.commission.id
    assert entry.after["event_id"] == failed["event_id"]
    # Nothing more is tried.
    assert not queue_due_delivery(session_factory, hook_settings, utcnow() + timedelta(days=1))
    assert len(receiver.received()) == 2


def test_a_redirect_is_not_followed(
    hook_client: TestClient,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    receiver.script = [302]
    webhook = register(hook_client, world, receiver.url, ["round.status_changed"])
    close_round(hook_client, world)
    deliver(session_factory, hook_settings)
    [shown] = deliveries(hook_client, world, webhook)
    assert (shown["status"], shown["last_status_code"]) == ("pending", 302)
    assert "redirects are not followed" in shown["last_error"]
    assert len(receiver.received()) == 1


def test_the_address_is_checked_again_when_sending(
    hook_client: TestClient,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    webhook = register(hook_client, world, receiver.url, ["round.status_changed"])
    close_round(hook_client, world)
    # The loopback is no longer allowed when the worker sends (as if DNS now pointed the host there).
    deliver(session_factory, hook_settings.model_copy(update={"webhook_allowed_hosts": []}))
    [shown] = deliveries(hook_client, world, webhook)
    assert shown["status"] == "pending"
    assert shown["last_status_code"] is None
    assert shown["last_error"].startswith("blocked: 127.0.0.1 resolves to a loopback address")
    assert receiver.received() == []


def test_an_event_rolled_back_writes_and_sends_nothing(
    hook_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    register(hook_client, world, receiver.url, ["round.status_changed"])
    # A request that made the event and then failed: its transaction is rolled back.
    failing = session_factory()
    try:
        assert outbox.round_status_changed(failing, round_=world.round, previous="draft") is not None
        assert failing.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
    finally:
        failing.rollback()
        failing.close()
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    deliver(session_factory, hook_settings)
    assert receiver.received() == []


def test_a_draft_submitted_at_the_deadline_is_told_so(
    hook_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    webhook = register(hook_client, world, receiver.url, ["submission.submitted", "round.status_changed"])
    world.round.drafts_at_deadline = "submit"
    world.round.saq_closes_at = now() - timedelta(minutes=1)
    draft = make_submission(session, world.round, world.body, world.template)
    session.commit()
    close_round(hook_client, world)
    deliver(session_factory, hook_settings)

    events = [r.verified(str(webhook["secret"])) for r in receiver.received()]
    told = {event["type"]: event["data"] for event in events}
    assert set(told) == {"submission.submitted", "round.status_changed"}
    assert told["submission.submitted"]["submission_id"] == draft.id
    assert told["submission.submitted"]["at_deadline"] is True


def test_each_revision_of_the_results_is_an_event_of_its_own(
    hook_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    hook_settings: Settings,
    world: World,
    receiver: Receiver,
) -> None:
    webhook = register(hook_client, world, receiver.url, ["results.published"])
    make_verified_submission(session, world.round, world.body, world.template, world.verifier, {})
    make_verified_submission(
        session, world.round, world.other_body, world.template, world.verifier, {"1.1.2": "b"}
    )
    world.round.status = "final"
    session.commit()
    publish = f"/api/v1/rounds/{world.round.id}/publish"
    admin = world.token(world.admin)
    assert hook_client.post(publish, json={"reason": "Pleno 1/2025"}, headers=admin).status_code == 201
    # A correction: the other body's 1.1.2 verified as "a" after all.
    session.execute(
        update(VerifiedAnswer)
        .where(
            VerifiedAnswer.question_code == "1.1.2",
            VerifiedAnswer.verification_id.in_(
                select(Verification.id)
                .join(Submission, Submission.id == Verification.submission_id)
                .where(Submission.body_id == world.other_body.id)
            ),
        )
        .values(value="a")
    )
    session.commit()
    assert hook_client.post(publish, json={"reason": "Koreksi 1.1.2"}, headers=admin).status_code == 201
    deliver(session_factory, hook_settings)

    events = [r.verified(str(webhook["secret"])) for r in receiver.received()]
    assert [(e["type"], e["data"]["revision"], e["data"]["corrects_revision"]) for e in events] == [
        ("results.published", 1, None),
        ("results.published", 2, 1),
    ]
    assert len({e["id"] for e in events}) == 2
    assert "Koreksi" not in receiver.received()[1].body.decode()  # the reason stays in the service
