"""Shared steps for submission and evidence tests: open a submission, save answers, count rows, hold the save
queue."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from anyio import CapacityLimiter
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Answer, AuditEntry, EvidenceFile, Submission
from tests.factories import World

# Worked out by hand from tests/fixtures/mini.yaml:
#   aspect 1 (weight 60): 1.1.1 yes with evidence earns 2 of 2, 1.1.2 "b" earns 0.5 x 2 = 1 of 2 -> 75
#   aspect 2 (weight 40): 2.1 [ig] earns 0.5 of 1, 2.2 = 95 reaches band 90 -> 1 of 1 -> 75; 2.3 is text
#   SAQ = 75 x 0.6 + 75 x 0.4 = 75.00, Cukup Informatif
FULL_ANSWERS: dict[str, Any] = {
    "1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip"]},
    "1.1.2": {"value": "b"},
    "2.1": {"value": ["ig"]},
    "2.2": {"value": 95},
    "2.3": {"value": "https://ppid.example.go.id"},
}


def open_submission(
    client: TestClient, world: World, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/submissions", headers=headers or world.token(world.operator)
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def put_answers(
    client: TestClient,
    submission_id: int,
    headers: dict[str, str],
    answers: dict[str, Any],
    version: int | str | None,
) -> Any:
    extra = {} if version is None else {"If-Match": f'"{version}"' if isinstance(version, int) else version}
    return client.put(
        f"/api/v1/submissions/{submission_id}/answers", headers=headers | extra, json={"answers": answers}
    )


def left_open(client: TestClient, submission_id: int, headers: dict[str, str]) -> dict[str, int]:
    """What an incomplete submission's submit must acknowledge now, counted from its checklist."""
    response = client.get(f"/api/v1/submissions/{submission_id}/checklist", headers=headers)
    assert response.status_code == 200, response.text
    checklist = response.json()
    return {
        "unanswered": len(checklist["unanswered"]),
        "evidence_missing": len(checklist["evidence_missing"]),
    }


def submit_anyway(
    client: TestClient, submission_id: int, headers: dict[str, str], key: str | None = None
) -> Any:
    """Submit whatever is left open, acknowledging the counts of the checklist as it is now."""
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"/api/v1/submissions/{submission_id}/submit",
        headers=headers | extra,
        json={"acknowledge_incomplete": left_open(client, submission_id, headers)},
    )


def snapshot(session: Session, submission_id: int) -> dict[str, Any]:
    """What the database holds for a submission, to assert that a refused request changed nothing."""
    session.expire_all()
    sub = session.get_one(Submission, submission_id)
    answers = session.execute(
        select(Answer.question_code, Answer.value, Answer.evidence_links, Answer.note)
        .where(Answer.submission_id == submission_id)
        .order_by(Answer.question_code)
    ).all()
    return {
        "version": sub.version,
        "status": sub.status,
        "answers": [tuple(row) for row in answers],
        "files": session.scalar(
            select(func.count(EvidenceFile.id)).where(EvidenceFile.submission_id == submission_id)
        ),
        "audit": session.scalar(select(func.count(AuditEntry.id))),
    }


@contextmanager
def queue_held(client: TestClient) -> Iterator[None]:
    """Every turn of the app's save queue taken, as if other saves were running."""
    limiter: CapacityLimiter = client.app.state.save_queue  # type: ignore[attr-defined]
    holders = [object() for _ in range(int(limiter.total_tokens))]
    assert client.portal is not None
    for holder in holders:
        client.portal.call(limiter.acquire_on_behalf_of, holder)
    try:
        yield
    finally:
        for holder in holders:
            client.portal.call(limiter.release_on_behalf_of, holder)


def finishes_after_release(
    client: TestClient, request: Callable[[], Any], while_waiting: Callable[[], None] = lambda: None
) -> Any:
    """Start ``request`` while the queue is full: it must not finish until the queue frees up. Calls
    ``while_waiting`` while it waits in the queue; returns its response."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(request()))
    with queue_held(client):
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the save ran although every turn of the queue was taken"
        while_waiting()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return result[0]
