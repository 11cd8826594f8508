"""Submissions over HTTP: opening, reading, listing, access, scores and the checklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Account, AuditEntry, DeadlineExtension, Submission
from app.submissions import service
from tests.factories import (
    World,
    get_json,
    make_account,
    make_body,
    make_commission,
    make_round,
    make_submission,
    now,
    problem,
)
from tests.submissions.helpers import FULL_ANSWERS, open_submission, put_answers


def test_operator_opens_its_submission_pinned_to_the_round_template(client: TestClient, world: World) -> None:
    headers = world.token(world.operator)
    first = client.post(f"/api/v1/rounds/{world.round.id}/submissions", headers=headers)
    again = client.post(f"/api/v1/rounds/{world.round.id}/submissions", headers=headers)

    assert first.status_code == 201
    assert again.status_code == 200
    body = first.json()
    assert again.json()["id"] == body["id"]
    assert first.headers["ETag"] == '"1"'
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["template"] == {"key": "test-mini", "version": "1", "title": "SAQ uji - mini"}
    assert body["body"]["id"] == world.body.id
    assert body["answers"] == {}
    assert body["closes_at"].endswith("Z") or body["closes_at"].endswith("+00:00")


def test_a_lost_creation_race_returns_the_winner(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = make_submission(session, world.round, world.body, world.template)
    # The first look finds nothing (the other request has not committed yet); the insert then hits the
    # unique (round, body) constraint and the request returns the row that won.
    lookups = iter([None])
    real_find = service._find
    monkeypatch.setattr(service, "_find", lambda *args: next(lookups, None) or real_find(*args))

    response = client.post(
        f"/api/v1/rounds/{world.round.id}/submissions", headers=world.token(world.operator)
    )

    assert response.status_code == 200
    assert response.json()["id"] == winner.id
    count = session.scalar(select(func.count(Submission.id)).where(Submission.round_id == world.round.id))
    assert count == 1


def test_an_uninvited_body_cannot_open_a_submission(
    client: TestClient, world: World, session: Session
) -> None:
    outsider = make_body(session, world.category)
    account = _operator_of(session, world, outsider.id)

    response = client.post(f"/api/v1/rounds/{world.round.id}/submissions", headers=world.token(account))

    assert response.status_code == 403
    assert "not invited" in problem(response)["detail"]
    assert session.scalar(select(func.count(Submission.id))) == 0


@pytest.mark.parametrize("role", ["admin", "verifier", "panelist", "system_admin"])
def test_only_a_body_operator_opens_a_submission(client: TestClient, world: World, role: str) -> None:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/submissions", headers=world.token(getattr(world, role))
    )
    assert response.status_code == 403
    problem(response)


def test_opening_after_the_deadline_is_refused(client: TestClient, world: World, session: Session) -> None:
    world.round.saq_closes_at = now() - timedelta(minutes=1)
    session.flush()

    response = client.post(
        f"/api/v1/rounds/{world.round.id}/submissions", headers=world.token(world.operator)
    )

    assert response.status_code == 409
    assert problem(response)["type"].endswith("/window-closed")
    assert session.scalar(select(func.count(Submission.id))) == 0


def test_opening_in_an_unknown_round_is_404(client: TestClient, world: World) -> None:
    response = client.post("/api/v1/rounds/999999/submissions", headers=world.token(world.operator))
    assert response.status_code == 404
    problem(response)


def test_anonymous_requests_are_401(client: TestClient, world: World) -> None:
    sub = open_submission(client, world)
    for response in (
        client.get(f"/api/v1/submissions/{sub['id']}"),
        client.get(f"/api/v1/submissions/{sub['id']}/score"),
        client.put(f"/api/v1/submissions/{sub['id']}/answers", json={"answers": {}}),
        client.post(f"/api/v1/submissions/{sub['id']}/submit"),
        client.get(f"/api/v1/rounds/{world.round.id}/submissions"),
    ):
        assert response.status_code == 401
        problem(response)


def test_read_access_follows_the_policy(client: TestClient, world: World, session: Session) -> None:
    sub = open_submission(client, world)
    url = f"/api/v1/submissions/{sub['id']}"

    for allowed in (world.operator, world.admin, world.panelist, world.system_admin):
        response = client.get(url, headers=world.token(allowed))
        assert response.status_code == 200, allowed.role
        assert response.headers["ETag"] == '"1"'
    for refused in (world.other_operator, world.verifier):
        response = client.get(url, headers=world.token(refused))
        assert response.status_code == 403, refused.role
        problem(response)
    stranger = make_commission(session)
    outsider = _admin_of(session, stranger.id)
    assert client.get(url, headers=world.token(outsider)).status_code == 403


def test_another_bodys_operator_cannot_touch_the_submission(
    client: TestClient, world: World, session: Session
) -> None:
    sub = open_submission(client, world)
    other = world.token(world.other_operator)
    before = _state(session, sub["id"])

    responses = [
        client.get(f"/api/v1/submissions/{sub['id']}", headers=other),
        client.get(f"/api/v1/submissions/{sub['id']}/score", headers=other),
        client.get(f"/api/v1/submissions/{sub['id']}/checklist", headers=other),
        put_answers(client, sub["id"], other, {"1.1.1": {"value": "no"}}, 1),
        client.post(f"/api/v1/submissions/{sub['id']}/submit", headers=other),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert _state(session, sub["id"]) == before


def test_commission_staff_read_but_cannot_answer(client: TestClient, world: World, session: Session) -> None:
    sub = open_submission(client, world)
    for account in (world.admin, world.system_admin, world.panelist):
        response = put_answers(client, sub["id"], world.token(account), {"1.1.1": {"value": "no"}}, 1)
        assert response.status_code == 403
    assert _state(session, sub["id"]) == (1, "draft")


def test_score_is_computed_from_the_stored_answers_with_explanations(
    client: TestClient, world: World
) -> None:
    headers = world.token(world.operator)
    sub = open_submission(client, world)
    put_answers(client, sub["id"], headers, FULL_ANSWERS, 1)

    card = get_json(client, f"/api/v1/submissions/{sub['id']}/score", headers)

    assert card["submission_id"] == sub["id"]
    assert (card["score"], card["band"], card["band_label"]) == (
        "75.00",
        "cukup-informatif",
        "Cukup Informatif",
    )
    assert [(a["code"], a["score"], a["weight"]) for a in card["aspects"]] == [
        ("1", "75.00", "60.00"),
        ("2", "75.00", "40.00"),
    ]
    questions = {q["code"]: q for q in card["questions"]}
    assert (questions["1.1.2"]["earned"], questions["1.1.2"]["max"]) == ("1.00", "2.00")
    assert questions["1.1.2"]["explanation"] == "answered; earns 1.00 of 2.00"
    assert questions["2.3"]["status"] == "not_scored"
    assert questions["1.1.1"]["text"] == "Apakah badan publik memiliki DIP?"


def test_a_yes_without_required_evidence_earns_nothing_and_is_on_the_checklist(
    client: TestClient, world: World
) -> None:
    headers = world.token(world.operator)
    sub = open_submission(client, world)
    put_answers(client, sub["id"], headers, {"1.1.1": {"value": "yes"}, "1.1.2": {"value": "a"}}, 1)

    card = get_json(client, f"/api/v1/submissions/{sub['id']}/score", headers)
    checklist = get_json(client, f"/api/v1/submissions/{sub['id']}/checklist", headers)

    # Aspect 1: 1.1.1 evidence missing (0 of 2), 1.1.2 "a" 2 of 2 -> 50; aspect 2: nothing answered -> 0.
    # SAQ = 50 x 0.6 + 0 x 0.4 = 30.00
    assert (card["score"], card["band"]) == ("30.00", "tidak-informatif")
    questions = {q["code"]: q for q in card["questions"]}
    assert questions["1.1.1"]["status"] == "evidence_missing"
    assert "needs evidence" in questions["1.1.1"]["explanation"]
    assert checklist["complete"] is False
    assert [i["code"] for i in checklist["evidence_missing"]] == ["1.1.1"]
    assert [i["code"] for i in checklist["unanswered"]] == ["2.1", "2.2", "2.3"]


def test_a_full_submission_has_a_complete_checklist(client: TestClient, world: World) -> None:
    headers = world.token(world.operator)
    sub = open_submission(client, world)
    put_answers(client, sub["id"], headers, FULL_ANSWERS, 1)

    checklist = get_json(client, f"/api/v1/submissions/{sub['id']}/checklist", headers)

    assert checklist == {
        "submission_id": sub["id"],
        "complete": True,
        "unanswered": [],
        "evidence_missing": [],
    }


def test_opening_is_audited(client: TestClient, world: World, session: Session) -> None:
    sub = open_submission(client, world)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "submission.create"))
    assert entry is not None
    assert entry.entity_id == str(sub["id"])
    assert entry.actor_id == world.operator.id


# --- Listing ----------------------------------------------------------------------------------------------


def _round_with_bodies(session: Session, world: World, count: int) -> list[int]:
    bodies = [
        make_body(session, world.category, region_code=f"31.7{i % 2}.01.{1000 + i}") for i in range(count)
    ]
    round_ = make_round(
        session, world.commission, templates={world.category: world.template}, invite=bodies, title="Daftar"
    )
    world.round = round_
    for index, body in enumerate(bodies):
        make_submission(
            session, round_, body, world.template, status="submitted" if index % 3 == 0 else "draft"
        )
    return [b.id for b in bodies]


def test_listing_is_paginated_in_a_stable_order(client: TestClient, world: World, session: Session) -> None:
    _round_with_bodies(session, world, 7)
    headers = world.token(world.admin)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/api/v1/rounds/{world.round.id}/submissions", headers=headers, params=params)
        assert page.status_code == 200
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 7
    assert seen == sorted(seen)


def test_listing_filters_by_status_category_and_region(
    client: TestClient, world: World, session: Session
) -> None:
    _round_with_bodies(session, world, 6)
    headers = world.token(world.admin)
    url = f"/api/v1/rounds/{world.round.id}/submissions"

    submitted = get_json(client, url + "?status=submitted", headers)["items"]
    region = get_json(client, url + "?region=31.71", headers)["items"]
    category = get_json(client, url + "?category=kelurahan", headers)["items"]
    other_category = get_json(client, url + "?category=dinas", headers)["items"]

    assert len(submitted) == 2
    assert {s["status"] for s in submitted} == {"submitted"}
    assert len(region) == 3
    assert all(s["body"]["region_code"].startswith("31.71") for s in region)
    assert len(category) == 6
    assert other_category == []


def test_listing_shows_an_operator_only_its_own_body(
    client: TestClient, world: World, session: Session
) -> None:
    sub = open_submission(client, world)
    open_submission(client, world, world.token(world.other_operator))

    mine = get_json(client, f"/api/v1/rounds/{world.round.id}/submissions", world.token(world.operator))
    unassigned = get_json(client, f"/api/v1/rounds/{world.round.id}/submissions", world.token(world.verifier))

    assert [s["id"] for s in mine["items"]] == [sub["id"]]
    assert unassigned["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "query:limit"),
        ("limit=501", "query:limit"),
        ("cursor=nonsense", "cursor"),
        ("status=x", ""),
    ],
)
def test_listing_rejects_bad_parameters(client: TestClient, world: World, query: str, field: str) -> None:
    response = client.get(
        f"/api/v1/rounds/{world.round.id}/submissions?{query}", headers=world.token(world.admin)
    )
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in problem(response)["errors"])


def test_another_commission_cannot_list_the_round(client: TestClient, world: World, session: Session) -> None:
    outsider = _admin_of(session, make_commission(session).id)
    response = client.get(f"/api/v1/rounds/{world.round.id}/submissions", headers=world.token(outsider))
    assert response.status_code == 403


def test_an_extension_for_the_body_shows_in_closes_at(
    client: TestClient, world: World, session: Session
) -> None:
    sub = open_submission(client, world)
    later = now() + timedelta(days=30)
    session.add(
        DeadlineExtension(
            round_id=world.round.id, closes_at=later, scope="bodies", body_ids=[world.body.id], reason="pleno"
        )
    )
    session.flush()

    body = get_json(client, f"/api/v1/submissions/{sub['id']}", world.token(world.operator))
    assert body["closes_at"][:16] == later.isoformat()[:16]


# --- helpers ----------------------------------------------------------------------------------------------


def _operator_of(session: Session, world: World, body_id: int) -> Account:
    return make_account(session, "operator", commission_id=world.commission.id, body_id=body_id)


def _admin_of(session: Session, commission_id: int) -> Account:
    return make_account(session, "commission_admin", commission_id=commission_id)


def _state(session: Session, submission_id: int) -> tuple[int, str]:
    session.expire_all()
    sub = session.get_one(Submission, submission_id)
    return (sub.version, sub.status)
