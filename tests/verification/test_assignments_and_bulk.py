"""Assigning verifiers (by hand, spread evenly, reassigned) and bulk actions with undo."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, Invitation, Verification, VerifiedAnswer, VerifierAssignment
from tests.factories import (
    World,
    get_json,
    make_account,
    make_answers,
    make_body,
    make_category,
    make_submission,
    make_verification,
    now,
    problem,
)


def test_an_administrator_assigns_and_reassigns_verifiers_by_hand(
    client: TestClient, session: Session, world: World
) -> None:
    second = make_account(session, "verifier", commission_id=world.commission.id)
    url = f"/api/v1/rounds/{world.round.id}/assignments"
    first = client.put(
        url, json={"assignments": {str(world.body.id): world.verifier.id}}, headers=world.token(world.admin)
    )
    assert first.status_code == 200, first.text
    assert first.json()["changed"] == 1
    moved = client.put(
        url, json={"assignments": {str(world.body.id): second.id}}, headers=world.token(world.admin)
    )
    assert moved.json()["assignments"][0]["verifier_id"] == second.id
    assert (moved.json()["assignments"][0]["category"], moved.json()["assignments"][0]["category_name"]) == (
        "kelurahan",
        "Kelurahan",
    )
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "verification.assign")).all()
    assert [(e.before, e.after) for e in entries] == [
        (None, {"verifier_id": world.verifier.id}),
        ({"verifier_id": world.verifier.id}, {"verifier_id": second.id}),
    ]
    assert (
        client.put(
            url, json={"assignments": {str(world.body.id): second.id}}, headers=world.token(world.verifier)
        ).status_code
        == 403
    )


def test_assignments_name_every_bad_body_and_verifier_and_change_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    stranger = make_body(session, world.category)
    response = client.put(
        f"/api/v1/rounds/{world.round.id}/assignments",
        json={"assignments": {str(world.body.id): world.panelist.id, str(stranger.id): world.verifier.id}},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert {e["field"] for e in problem(response)["errors"]} == {f"assignments.{stranger.id}"}
    response = client.put(
        f"/api/v1/rounds/{world.round.id}/assignments",
        json={"assignments": {str(world.body.id): world.panelist.id}},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": f"assignments.{world.panelist.id}", "message": "not an active verifier account"}
    ]
    assert session.scalars(select(VerifierAssignment)).all() == []


def test_spreading_gives_each_verifier_an_even_share_and_keeps_existing_assignments(
    client: TestClient, session: Session, world: World
) -> None:
    extra = [make_body(session, world.category) for _ in range(4)]
    session.add_all(Invitation(round_id=world.round.id, body_id=b.id) for b in extra)
    other_category = make_category(session, world.commission)
    elsewhere = make_body(session, other_category)
    session.add(Invitation(round_id=world.round.id, body_id=elsewhere.id))
    second = make_account(session, "verifier", commission_id=world.commission.id)
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    session.flush()

    response = client.post(
        f"/api/v1/rounds/{world.round.id}/assignments/spread",
        json={"category_code": "kelurahan", "verifier_ids": [world.verifier.id, second.id]},
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text
    # Six kelurahan bodies, one already with the first verifier: the five others go 2 to it, 3 to the second.
    assert response.json() == {"assigned": 5, "per_verifier": {str(world.verifier.id): 3, str(second.id): 3}}
    assigned = set(session.scalars(select(VerifierAssignment.body_id)))
    assert elsewhere.id not in assigned
    assert len(assigned) == 6


def test_a_verifier_lists_its_bodies_with_their_status(
    client: TestClient, session: Session, world: World
) -> None:
    sub = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    make_verification(session, sub, world.verifier, {"1.1.1": {"value": "yes"}, "2.1": {"value": []}})
    session.add_all(
        [
            VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id),
            VerifierAssignment(
                round_id=world.round.id, body_id=world.other_body.id, verifier_id=world.verifier.id
            ),
        ]
    )
    session.flush()
    page = get_json(client, "/api/v1/verifier/assignments?limit=1", world.token(world.verifier))
    # 1.1.1 verified "yes" makes 1.1.2 applicable: 2 of the 5 questions that need a value are reviewed.
    assert [
        (i["body_id"], i["submission_status"], i["verification_status"], i["reviewed"], i["total"])
        for i in page["items"]
    ] == [(world.body.id, "submitted", "in_progress", 2, 5)]
    assert (page["items"][0]["category"], page["items"][0]["category_name"]) == ("kelurahan", "Kelurahan")
    rest = get_json(
        client,
        f"/api/v1/verifier/assignments?limit=1&cursor={page['next_cursor']}",
        world.token(world.verifier),
    )
    assert [
        (i["body_id"], i["submission_id"], i["verification_status"], i["reviewed"], i["total"])
        for i in rest["items"]
    ] == [(world.other_body.id, None, "not_started", 0, None)]
    assert rest["next_cursor"] is None
    assert client.get("/api/v1/verifier/assignments", headers=world.token(world.operator)).status_code == 403


def _bulk_world(session: Session, world: World) -> tuple[Verification, Verification]:
    """Two bodies' verifications in progress; the second body also has a third, unstarted, neighbour."""
    answers = {
        "1.1.1": {"value": "yes", "evidence": ["https://a.example/dip"]},
        "1.1.2": {"value": "a"},
        "2.2": {"value": 95},
    }
    first = make_submission(session, world.round, world.body, world.template, status="submitted")
    second = make_submission(session, world.round, world.other_body, world.template, status="submitted")
    for sub in (first, second):
        make_answers(session, sub, answers)
    one = make_verification(
        session,
        first,
        world.verifier,
        {
            "1.1.1": {"evidence_checked": True},  # checked, no value yet: confirmed by the bulk action
            "1.1.2": {"value": "b", "evidence_checked": True},  # the verifier's own value: never overwritten
            "2.2": {"evidence_checked": False},  # evidence not checked: left alone
        },
    )
    two = make_verification(session, second, world.verifier, {"2.2": {"evidence_checked": True}})
    third_body = make_body(session, world.category)
    session.add(Invitation(round_id=world.round.id, body_id=third_body.id))
    make_submission(session, world.round, third_body, world.template, status="submitted")
    for body in (world.body, world.other_body, third_body):
        session.add(
            VerifierAssignment(round_id=world.round.id, body_id=body.id, verifier_id=world.verifier.id)
        )
    session.flush()
    return one, two


def _values(session: Session, verification: Verification) -> dict[str, object]:
    return dict(
        session.execute(
            select(VerifiedAnswer.question_code, VerifiedAnswer.value).where(
                VerifiedAnswer.verification_id == verification.id
            )
        ).all()
    )


def test_confirm_checked_sets_the_body_value_where_evidence_was_checked_and_reports_failures(
    client: TestClient, session: Session, world: World
) -> None:
    one, two = _bulk_world(session, world)
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/verification/bulk",
        json={"action": "confirm_checked", "filter": {"category": "kelurahan"}},
        headers=world.token(world.verifier),
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["changed"] == 2
    assert [f["reason"] for f in result["failed"]] == ["verification not started"]
    session.expire_all()
    assert _values(session, one) == {"1.1.1": "yes", "1.1.2": "b", "2.2": None}
    assert _values(session, two) == {"2.2": 95}
    assert one.version == 2


def test_a_bulk_action_is_undone_from_the_audit_trail_once(
    client: TestClient, session: Session, world: World
) -> None:
    one, two = _bulk_world(session, world)
    headers = world.token(world.verifier)
    batch = client.post(
        f"/api/v1/rounds/{world.round.id}/verification/bulk",
        json={"action": "confirm_checked", "filter": {"body_ids": [world.body.id, world.other_body.id]}},
        headers=headers,
    ).json()["batch_id"]
    # The second body's 2.2 is changed again by hand after the bulk action: undo leaves it and says so.
    view = client.get(f"/api/v1/submissions/{two.submission_id}/verification", headers=headers)
    client.put(
        f"/api/v1/submissions/{two.submission_id}/verification/answers",
        json={"answers": {"2.2": {"value": 40}}},
        headers=headers | {"If-Match": view.headers["ETag"]},
    )

    undone = client.post(f"/api/v1/verification/bulk/{batch}/undo", headers=headers)
    assert undone.status_code == 200, undone.text
    assert undone.json()["changed"] == 1
    assert undone.json()["failed"] == [
        {"submission_id": two.submission_id, "reason": "changed since the bulk action: 2.2"}
    ]
    session.expire_all()
    assert _values(session, one) == {"1.1.1": None, "1.1.2": "b", "2.2": None}
    assert _values(session, two) == {"2.2": 40}
    again = client.post(f"/api/v1/verification/bulk/{batch}/undo", headers=headers)
    assert again.status_code == 409
    assert client.post("/api/v1/verification/bulk/nope/undo", headers=headers).status_code == 404


def test_a_verifier_bulk_reaches_only_its_own_bodies(
    client: TestClient, session: Session, world: World
) -> None:
    _one, two = _bulk_world(session, world)
    other = make_account(session, "verifier", commission_id=world.commission.id)
    session.execute(
        VerifierAssignment.__table__.update()
        .where(VerifierAssignment.body_id == world.other_body.id)
        .values(verifier_id=other.id)
    )
    session.flush()
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/verification/bulk",
        json={"action": "confirm_checked", "filter": {"body_ids": [world.other_body.id]}},
        headers=world.token(world.verifier),
    )
    assert response.json()["changed"] == 0
    session.expire_all()
    assert _values(session, two) == {"2.2": None}
    assert (
        client.post(
            f"/api/v1/rounds/{world.round.id}/verification/bulk",
            json={"action": "confirm_checked"},
            headers=world.token(world.operator),
        ).status_code
        == 403
    )
