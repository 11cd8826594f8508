"""Submitting an incomplete SAQ needs an acknowledgement of exactly what is left open now.

The mini template (tests/fixtures/mini.yaml) opened empty has four applicable questions without an answer
(1.1.1, 2.1, 2.2 and the text question 2.3; 1.1.2 applies only after a "yes" to 1.1.1). A "yes" to 1.1.1
without its required evidence makes 1.1.2 applicable (unanswered) and 1.1.1 an answer lacking evidence.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.deps import principal_for_account
from app.db.models import AuditEntry
from app.errors import SubmissionIncomplete
from app.submissions import service as submissions
from app.submissions.schemas import IncompleteCounts
from tests.factories import World, problem
from tests.submissions.helpers import FULL_ANSWERS, open_submission, put_answers, snapshot

SUBMIT = "/api/v1/submissions/{}/submit"


@pytest.fixture
def op(world: World) -> dict[str, str]:
    return world.token(world.operator)


@pytest.fixture
def empty(client: TestClient, world: World) -> dict[str, Any]:
    return open_submission(client, world)


def submit(
    client: TestClient, sub_id: int, headers: dict[str, str], body: Any = None, key: str | None = None
) -> Any:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(SUBMIT.format(sub_id), headers=headers | extra, json=body)


def ack(unanswered: int, evidence_missing: int) -> dict[str, Any]:
    return {"acknowledge_incomplete": {"unanswered": unanswered, "evidence_missing": evidence_missing}}


def test_an_incomplete_saq_without_acknowledgement_is_refused_and_stays_a_draft(
    client: TestClient, empty: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    put_answers(client, empty["id"], op, {"1.1.1": {"value": "yes"}}, 1)
    before = snapshot(session, empty["id"])

    response = submit(client, empty["id"], op)

    assert response.status_code == 409
    body = problem(response)
    assert body["type"].endswith("/submission-incomplete")
    assert (body["unanswered"], body["evidence_missing"], body["acknowledged"]) == (4, 1, None)
    assert "4 question(s) unanswered and 1 answer(s) lacking required evidence" in body["detail"]
    assert '"unanswered": 4, "evidence_missing": 1' in body["detail"]
    assert snapshot(session, empty["id"]) == before


def test_acknowledging_the_counts_as_they_are_submits_and_records_them(
    client: TestClient, empty: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    response = submit(client, empty["id"], op, ack(4, 0))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted"
    assert response.json()["acknowledged_incomplete"] == {"unanswered": 4, "evidence_missing": 0}
    assert snapshot(session, empty["id"])["status"] == "submitted"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "submission.submit"))
    assert entry is not None
    assert entry.after["acknowledged_incomplete"] == {"unanswered": 4, "evidence_missing": 0}


def test_counts_that_no_longer_match_are_refused_with_the_current_ones(
    client: TestClient, empty: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    # The person read 4 unanswered; another tab then answered 1.1.1 "yes" without evidence.
    put_answers(client, empty["id"], op, {"1.1.1": {"value": "yes"}}, 1)
    before = snapshot(session, empty["id"])

    response = submit(client, empty["id"], op, ack(4, 0))

    assert response.status_code == 409
    body = problem(response)
    assert body["type"].endswith("/submission-incomplete")
    assert (body["unanswered"], body["evidence_missing"]) == (4, 1)
    assert body["acknowledged"] == {"unanswered": 4, "evidence_missing": 0}
    assert "no longer match" in body["detail"]
    assert snapshot(session, empty["id"]) == before


@pytest.mark.parametrize("counts", [(3, 0), (5, 0), (4, 1)])
def test_only_the_exact_counts_acknowledge(
    client: TestClient, empty: dict[str, Any], op: dict[str, str], session: Session, counts: tuple[int, int]
) -> None:
    assert submit(client, empty["id"], op, ack(*counts)).status_code == 409
    assert snapshot(session, empty["id"])["status"] == "draft"


def test_a_complete_saq_needs_no_acknowledgement_and_ignores_an_old_one(
    client: TestClient, empty: dict[str, Any], op: dict[str, str]
) -> None:
    # Read incomplete, completed in another tab since: nothing is left open, so nothing needs acknowledging.
    assert put_answers(client, empty["id"], op, FULL_ANSWERS, 1).status_code == 200

    response = submit(client, empty["id"], op, ack(4, 0))

    assert response.status_code == 200, response.text
    assert response.json()["acknowledged_incomplete"] is None


def test_a_refused_submit_leaves_its_idempotency_key_free_for_the_acknowledged_one(
    client: TestClient, empty: dict[str, Any], op: dict[str, str]
) -> None:
    refused = submit(client, empty["id"], op, key="kirim-1")
    assert refused.status_code == 409

    first = submit(client, empty["id"], op, ack(4, 0), key="kirim-1")
    retry = submit(client, empty["id"], op, ack(4, 0), key="kirim-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_other_acknowledged_counts_is_another_request(
    client: TestClient, empty: dict[str, Any], op: dict[str, str]
) -> None:
    assert submit(client, empty["id"], op, ack(4, 0), key="kirim-2").status_code == 200

    response = submit(client, empty["id"], op, ack(9, 9), key="kirim-2")

    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "header:Idempotency-Key"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (ack(-1, 0), "acknowledge_incomplete.unanswered"),
        ({"acknowledge_incomplete": {"unanswered": 4}}, "acknowledge_incomplete.evidence_missing"),
        (
            {"acknowledge_incomplete": {"unanswered": "empat", "evidence_missing": 0}},
            "acknowledge_incomplete.unanswered",
        ),
        ({"acknowledge": True}, "acknowledge"),
    ],
)
def test_a_malformed_acknowledgement_is_422_naming_the_field(
    client: TestClient,
    empty: dict[str, Any],
    op: dict[str, str],
    session: Session,
    body: dict[str, Any],
    field: str,
) -> None:
    response = submit(client, empty["id"], op, body)

    assert response.status_code == 422
    assert field in [e["field"] for e in problem(response)["errors"]]
    assert snapshot(session, empty["id"])["status"] == "draft"


def test_the_service_itself_holds_the_guard(world: World, session: Session, client: TestClient) -> None:
    sub = open_submission(client, world)
    operator = principal_for_account(world.operator)

    with pytest.raises(SubmissionIncomplete) as refused:
        submissions.submit(session=session, submission_id=sub["id"], by=operator)
    with pytest.raises(SubmissionIncomplete) as stale:
        submissions.submit(
            session=session,
            submission_id=sub["id"],
            by=operator,
            acknowledge_incomplete=IncompleteCounts(unanswered=3, evidence_missing=0),
        )
    done = submissions.submit(
        session=session,
        submission_id=sub["id"],
        by=operator,
        acknowledge_incomplete=IncompleteCounts(unanswered=4, evidence_missing=0),
    )

    assert (refused.value.extra["unanswered"], refused.value.extra["evidence_missing"]) == (4, 0)
    assert stale.value.extra["acknowledged"] == {"unanswered": 3, "evidence_missing": 0}
    assert done.body["status"] == "submitted"
