"""Submitting: locks the answers, audited, idempotent with an Idempotency-Key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, IdempotentRequest
from tests.factories import World, get_json, make_round, now, problem
from tests.submissions.helpers import (
    FULL_ANSWERS,
    open_submission,
    put_answers,
    snapshot,
    submit_anyway,
)


@pytest.fixture
def sub(client: TestClient, world: World) -> dict[str, Any]:
    submission = open_submission(client, world)
    response = put_answers(client, submission["id"], world.token(world.operator), FULL_ANSWERS, 1)
    assert response.status_code == 200
    return submission


def submit(client: TestClient, sub_id: int, headers: dict[str, str], key: str | None = None) -> Any:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/v1/submissions/{sub_id}/submit", headers=headers | extra)


def test_submitting_locks_the_submission(client: TestClient, world: World, sub: dict[str, Any]) -> None:
    op = world.token(world.operator)

    response = submit(client, sub["id"], op)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"], body["submitted_by_id"]) == ("submitted", 3, world.operator.id)
    assert body["score"] == {"score": "75.00", "band": "cukup-informatif", "band_label": "Cukup Informatif"}
    assert response.headers["ETag"] == '"3"'
    stored = get_json(client, f"/api/v1/submissions/{sub['id']}", op)
    assert stored["status"] == "submitted"
    assert stored["submitted_at"] == body["submitted_at"]
    late_edit = put_answers(client, sub["id"], op, {"2.2": {"value": 10}}, 3)
    assert late_edit.status_code == 409
    assert problem(late_edit)["submission_status"] == "submitted"


def test_submitting_is_audited(
    client: TestClient, world: World, sub: dict[str, Any], session: Session
) -> None:
    submit(client, sub["id"], world.token(world.operator))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "submission.submit"))
    assert entry is not None
    assert entry.before == {"status": "draft"}
    assert entry.after["status"] == "submitted"
    assert entry.after["score"] == "75.00"


def test_submitting_twice_without_a_key_is_409(client: TestClient, world: World, sub: dict[str, Any]) -> None:
    op = world.token(world.operator)
    assert submit(client, sub["id"], op).status_code == 200
    again = submit(client, sub["id"], op)
    assert again.status_code == 409
    assert problem(again)["type"].endswith("/conflict")


def test_a_retry_with_the_same_key_returns_the_first_response(
    client: TestClient, world: World, sub: dict[str, Any], session: Session
) -> None:
    op = world.token(world.operator)
    first = submit(client, sub["id"], op, key="submit-7f3a")
    retry = submit(client, sub["id"], op, key="submit-7f3a")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (
        session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "submission.submit")) == 1
    )
    assert snapshot(session, sub["id"])["version"] == 3


def test_a_retry_is_replayed_even_after_the_window_closed(
    client: TestClient, world: World, sub: dict[str, Any], session: Session
) -> None:
    op = world.token(world.operator)
    first = submit(client, sub["id"], op, key="k-1")
    world.round.saq_closes_at = now() - timedelta(seconds=1)
    session.flush()

    retry = submit(client, sub["id"], op, key="k-1")

    assert retry.status_code == 200
    assert retry.json() == first.json()


def test_the_same_key_for_another_request_is_422(
    client: TestClient, world: World, sub: dict[str, Any], session: Session
) -> None:
    op = world.token(world.operator)
    submit(client, sub["id"], op, key="shared-key")
    # The same operator, the same key, but another submission (another request).
    other_round_sub = _second_submission(client, world, session)

    response = submit(client, other_round_sub, op, key="shared-key")

    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "header:Idempotency-Key"
    assert snapshot(session, other_round_sub)["status"] == "draft"


def test_keys_belong_to_their_principal(client: TestClient, world: World, session: Session) -> None:
    mine = open_submission(client, world)
    theirs = open_submission(client, world, world.token(world.other_operator))

    first = submit_anyway(client, mine["id"], world.token(world.operator), key="same")
    second = submit_anyway(client, theirs["id"], world.token(world.other_operator), key="same")

    assert first.status_code == second.status_code == 200
    assert second.json()["submission_id"] == theirs["id"]
    assert session.scalar(select(func.count()).select_from(IdempotentRequest)) == 2


def test_a_failed_submit_stores_no_idempotent_response(
    client: TestClient, world: World, sub: dict[str, Any], session: Session
) -> None:
    world.round.saq_closes_at = now() - timedelta(seconds=1)
    session.flush()
    op = world.token(world.operator)

    late = submit(client, sub["id"], op, key="late")

    assert late.status_code == 409
    assert problem(late)["type"].endswith("/window-closed")
    assert session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0
    assert snapshot(session, sub["id"])["status"] == "draft"


def test_an_overlong_key_is_422(client: TestClient, world: World, sub: dict[str, Any]) -> None:
    response = submit(client, sub["id"], world.token(world.operator), key="k" * 201)
    assert response.status_code == 422
    problem(response)


def test_only_the_bodys_operator_submits(
    client: TestClient, world: World, sub: dict[str, Any], session: Session
) -> None:
    for account in (world.other_operator, world.admin, world.verifier, world.panelist, world.system_admin):
        response = submit(client, sub["id"], world.token(account))
        assert response.status_code == 403, account.role
    assert snapshot(session, sub["id"])["status"] == "draft"


def _second_submission(client: TestClient, world: World, session: Session) -> int:
    """A draft submission of the same body in a second open round."""
    second = make_round(
        session, world.commission, templates={world.category: world.template}, invite=[world.body]
    )
    response = client.post(f"/api/v1/rounds/{second.id}/submissions", headers=world.token(world.operator))
    assert response.status_code == 201
    sub_id: int = response.json()["id"]
    return sub_id
