"""Reopening a submitted SAQ: the commission's secretariat, before verification starts, with a recorded
reason, and a new deadline for the body when its own has passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, DeadlineExtension, Submission
from tests.factories import World, get_json, now, problem
from tests.submissions.helpers import FULL_ANSWERS, open_submission, put_answers

API = "/api/v1"
REASON = "Permintaan PPID tanggal 2 September 2025: data dukung 1.1.1 salah unggah"


@pytest.fixture
def submitted(client: TestClient, world: World) -> dict[str, Any]:
    """The body's SAQ, answered and submitted (version 3)."""
    sub = open_submission(client, world)
    assert put_answers(client, sub["id"], world.token(world.operator), FULL_ANSWERS, 1).status_code == 200
    done = client.post(f"{API}/submissions/{sub['id']}/submit", headers=world.token(world.operator))
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


def reopen(
    client: TestClient, world: World, sub_id: int, payload: dict[str, Any], account: Any = None
) -> Any:
    return client.post(
        f"{API}/submissions/{sub_id}/reopen", json=payload, headers=world.token(account or world.admin)
    )


def test_the_secretariat_reopens_a_submitted_saq_with_its_reason(
    client: TestClient, world: World, submitted: dict[str, Any], session: Session
) -> None:
    sub_id = submitted["submission_id"]

    response = reopen(client, world, sub_id, {"reason": f"  {REASON}  "})

    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["status"], shown["submitted_at"], shown["reopen_reason"]) == ("draft", None, REASON)
    assert shown["reopened_at"] is not None
    assert shown["version"] == submitted["version"] + 1
    assert response.headers["ETag"] == f'"{shown["version"]}"'
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "submission.reopen")).all()
    assert (entry.entity, entry.entity_id, entry.actor_id) == ("submission", str(sub_id), world.admin.id)
    assert entry.before["status"] == "submitted"
    assert entry.after == {"status": "draft", "reason": REASON, "closes_at": None, "extension_id": None}
    # The body sees why, and can change and submit its SAQ again.
    mine = get_json(client, f"{API}/submissions/{sub_id}", world.token(world.operator))
    assert (mine["status"], mine["reopen_reason"]) == ("draft", REASON)
    again = put_answers(
        client, sub_id, world.token(world.operator), {"1.1.2": {"value": "a"}}, shown["version"]
    )
    assert again.status_code == 200, again.text
    resubmitted = client.post(f"{API}/submissions/{sub_id}/submit", headers=world.token(world.operator))
    assert resubmitted.status_code == 200, resubmitted.text


def test_a_system_administrator_reopens_too_but_nobody_else(
    client: TestClient, world: World, submitted: dict[str, Any]
) -> None:
    sub_id = submitted["submission_id"]
    for account in (world.operator, world.verifier, world.panelist):
        assert reopen(client, world, sub_id, {"reason": REASON}, account).status_code == 403
    assert reopen(client, world, sub_id, {"reason": REASON}, world.system_admin).status_code == 200


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "   "}])
def test_a_reason_is_required(
    client: TestClient, world: World, submitted: dict[str, Any], session: Session, payload: dict[str, Any]
) -> None:
    refused = reopen(client, world, submitted["submission_id"], payload)
    assert refused.status_code == 422
    assert problem(refused)["errors"][0]["field"] == "reason"
    assert session.get_one(Submission, submitted["submission_id"]).status == "submitted"


def test_refused_once_verification_has_started(
    client: TestClient, world: World, submitted: dict[str, Any], session: Session
) -> None:
    sub_id = submitted["submission_id"]
    started = client.post(f"{API}/submissions/{sub_id}/verification", headers=world.token(world.admin))
    assert started.status_code == 201

    refused = reopen(client, world, sub_id, {"reason": REASON})

    assert refused.status_code == 409
    assert "verification" in problem(refused)["detail"]
    assert "verification_started_at" in problem(refused)
    session.expire_all()
    assert session.get_one(Submission, sub_id).status == "submitted"
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "submission.reopen")).all() == []


def test_a_draft_is_not_reopened(client: TestClient, world: World) -> None:
    sub = open_submission(client, world)
    refused = reopen(client, world, sub["id"], {"reason": REASON})
    assert refused.status_code == 409
    assert problem(refused)["submission_status"] == "draft"


def test_not_reopened_once_the_round_is_past_verification(
    client: TestClient, world: World, submitted: dict[str, Any], session: Session
) -> None:
    world.round.status = "objection"
    session.flush()
    refused = reopen(client, world, submitted["submission_id"], {"reason": REASON})
    assert refused.status_code == 409
    assert problem(refused)["round_status"] == "objection"


def test_after_the_bodys_deadline_a_new_one_is_required_and_recorded_as_its_extension(
    client: TestClient, world: World, submitted: dict[str, Any], session: Session
) -> None:
    sub_id = submitted["submission_id"]
    world.round.saq_closes_at = now() - timedelta(hours=1)
    world.round.status = "closed"
    world.round.saq_closed_at = now() - timedelta(minutes=30)
    session.flush()

    missing = reopen(client, world, sub_id, {"reason": REASON})
    assert missing.status_code == 422
    assert problem(missing)["errors"][0]["field"] == "closes_at"
    past = reopen(
        client, world, sub_id, {"reason": REASON, "closes_at": (now() - timedelta(minutes=1)).isoformat()}
    )
    assert past.status_code == 422
    assert problem(past)["errors"][0]["field"] == "closes_at"

    deadline = now() + timedelta(days=3)
    response = reopen(client, world, sub_id, {"reason": REASON, "closes_at": deadline.isoformat()})

    assert response.status_code == 200, response.text
    assert response.json()["closes_at"] == deadline.isoformat().replace("+00:00", "Z")
    [extension] = session.scalars(select(DeadlineExtension)).all()
    assert (extension.scope, extension.body_ids, extension.reason) == ("bodies", [world.body.id], REASON)
    entries = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id.in_([str(world.round.id), str(sub_id)]))
    )
    assert {"deadline.extend", "submission.reopen"} <= set(entries)
    # The body fills in again after the SAQ stage closed, until its new deadline; the other body cannot.
    version = response.json()["version"]
    saved = put_answers(client, sub_id, world.token(world.operator), {"1.1.2": {"value": "a"}}, version)
    assert saved.status_code == 200, saved.text


def test_while_the_deadline_is_ahead_a_new_one_is_optional_but_must_be_later(
    client: TestClient, world: World, submitted: dict[str, Any], session: Session
) -> None:
    sub_id = submitted["submission_id"]
    earlier = (world.round.saq_closes_at - timedelta(days=1)).isoformat()
    refused = reopen(client, world, sub_id, {"reason": REASON, "closes_at": earlier})
    assert refused.status_code == 422
    assert problem(refused)["errors"][0]["field"] == "closes_at"
    assert reopen(client, world, sub_id, {"reason": REASON}).status_code == 200
    assert session.scalars(select(DeadlineExtension)).all() == []
