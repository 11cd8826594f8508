"""Saving answers: If-Match/ETag, partial upserts, validation that writes nothing, the window, the audit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import PG_INSERT_SQL, entry
from app.db.models import Answer, AuditEntry, DeadlineExtension, Invitation
from tests.factories import World, get_json, make_api_key, now, problem
from tests.submissions.helpers import FULL_ANSWERS, open_submission, put_answers, snapshot


@pytest.fixture
def sub(client: TestClient, world: World) -> dict[str, Any]:
    return open_submission(client, world)


@pytest.fixture
def op(world: World) -> dict[str, str]:
    return world.token(world.operator)


def test_a_save_returns_the_new_etag_and_the_fresh_score(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    response = put_answers(client, sub["id"], op, FULL_ANSWERS, 1)

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json() == {
        "submission_id": sub["id"],
        "version": 2,
        "changed": ["1.1.1", "1.1.2", "2.1", "2.2", "2.3"],
        "score": {"score": "75.00", "band": "cukup-informatif", "band_label": "Cukup Informatif"},
    }
    stored = snapshot(session, sub["id"])
    assert stored["version"] == 2
    assert ("2.1", ["ig"], [], None) in stored["answers"]


def test_each_saved_answer_records_who_and_when(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    put_answers(client, sub["id"], op, {"2.2": {"value": 40}}, 2)

    rows = {
        a.question_code: a for a in session.scalars(select(Answer).where(Answer.submission_id == sub["id"]))
    }

    assert {a.updated_by_id for a in rows.values()} == {world.operator.id}
    assert rows["2.2"].updated_at > rows["2.1"].updated_at


def test_saving_without_if_match_is_428_and_changes_nothing(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    before = snapshot(session, sub["id"])
    response = put_answers(client, sub["id"], op, FULL_ANSWERS, None)

    assert response.status_code == 428
    assert problem(response)["errors"] == [{"field": "header:If-Match", "message": "missing"}]
    assert snapshot(session, sub["id"]) == before


@pytest.mark.parametrize("header", ["*", '"1", "2"'])
def test_if_match_must_name_one_version(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], header: str
) -> None:
    response = put_answers(client, sub["id"], op, FULL_ANSWERS, header)
    assert response.status_code == 428
    problem(response)


@pytest.mark.parametrize("header", ['"1"', "1"])
def test_if_match_accepts_the_etag_forms(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], header: str
) -> None:
    assert put_answers(client, sub["id"], op, FULL_ANSWERS, header).status_code == 200


@pytest.mark.parametrize("header", ['W/"1"', ' W/"1" '])
def test_a_weak_etag_never_matches(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], header: str, session: Session
) -> None:
    # If-Match compares strongly (RFC 9110): W/"1" names version 1 only weakly, so it never matches.
    before = snapshot(session, sub["id"])

    response = put_answers(client, sub["id"], op, FULL_ANSWERS, header)

    assert response.status_code == 412
    assert problem(response)["errors"] == [
        {"field": "header:If-Match", "message": "a weak ETag never matches"}
    ]
    assert snapshot(session, sub["id"]) == before


def test_the_second_of_two_concurrent_saves_gets_412_with_the_current_version(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    # Two operators read version 1; the first saves; the second, still on version 1, must not overwrite.
    first = put_answers(client, sub["id"], op, {"2.2": {"value": 95}}, 1)
    second = put_answers(client, sub["id"], op, {"2.2": {"value": 10}}, 1)

    assert first.status_code == 200
    assert second.status_code == 412
    body = problem(second)
    assert body["current_version"] == 2
    stored = snapshot(session, sub["id"])
    assert stored["version"] == 2
    assert stored["answers"] == [("2.2", 95, [], None)]


def test_a_garbled_if_match_is_412(client: TestClient, sub: dict[str, Any], op: dict[str, str]) -> None:
    response = put_answers(client, sub["id"], op, FULL_ANSWERS, '"abc"')
    assert response.status_code == 412
    problem(response)


def test_saves_are_partial_and_merge_fields(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], world: World
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    response = put_answers(client, sub["id"], op, {"1.1.1": {"note": "SK PPID 2024"}}, 2)

    answers = get_json(client, f"/api/v1/submissions/{sub['id']}", op)["answers"]
    assert response.json()["changed"] == ["1.1.1"]
    assert answers["1.1.1"]["value"] == "yes"
    assert answers["1.1.1"]["evidence"] == ["https://ppid.example.go.id/dip"]
    assert answers["1.1.1"]["note"] == "SK PPID 2024"
    assert answers["2.1"]["value"] == ["ig"]


def test_a_null_value_clears_the_value_and_a_null_answer_removes_it(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    response = put_answers(client, sub["id"], op, {"1.1.1": {"value": None}, "2.2": None}, 2)

    assert response.status_code == 200
    answers = get_json(client, f"/api/v1/submissions/{sub['id']}", op)["answers"]
    assert answers["1.1.1"]["value"] is None
    assert answers["1.1.1"]["evidence"] == ["https://ppid.example.go.id/dip"]
    assert "2.2" not in answers
    # Aspect 1: 1.1.1 unanswered, so 1.1.2 is not applicable: 0 of 2 -> 0; aspect 2: 2.1 0.5 of 2 -> 25.
    # SAQ = 0 x 0.6 + 25 x 0.4 = 10.00
    assert response.json()["score"]["score"] == "10.00"


def test_a_save_that_changes_nothing_still_moves_the_version_but_audits_nothing(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    audits = snapshot(session, sub["id"])["audit"]

    response = put_answers(client, sub["id"], op, FULL_ANSWERS, 2)

    assert response.json()["changed"] == []
    assert response.json()["version"] == 3
    assert snapshot(session, sub["id"])["audit"] == audits


def test_each_save_is_audited_with_every_changed_answer_before_and_after(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    # 2.2 changes, 2.3 is removed, 1.1.2 is sent unchanged.
    put_answers(client, sub["id"], op, {"2.2": {"value": 40}, "2.3": None, "1.1.2": {"value": "b"}}, 2)

    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "submission", AuditEntry.entity_id == str(sub["id"]))
        .where(AuditEntry.action == "answers.save")
        .order_by(AuditEntry.id)
    ).all()

    assert len(entries) == 2
    first, second = entries
    assert set(first.after) == set(FULL_ANSWERS)
    assert all(before is None for before in first.before.values())
    assert second.before == {
        "2.2": {"value": 95, "evidence": [], "note": None},
        "2.3": {"value": "https://ppid.example.go.id", "evidence": [], "note": None},
    }
    assert second.after == {"2.2": {"value": 40, "evidence": [], "note": None}, "2.3": None}
    assert second.actor_id == world.operator.id
    assert second.commission_id == world.commission.id


def test_a_save_that_only_removes_answers_is_audited_and_moves_the_version(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    response = put_answers(client, sub["id"], op, {"2.2": None, "2.3": None}, 2)

    assert response.json()["version"] == 3
    assert response.json()["changed"] == ["2.2", "2.3"]
    last = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "answers.save").order_by(AuditEntry.id.desc())
    ).first()
    assert last is not None
    assert last.after == {"2.2": None, "2.3": None}
    assert last.before["2.2"] == {"value": 95, "evidence": [], "note": None}
    assert last.actor_label == world.operator.email
    stored = snapshot(session, sub["id"])
    assert "2.2" not in {row[0] for row in stored["answers"]}


def test_a_save_that_changes_nothing_writes_no_audit_entry(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    put_answers(client, sub["id"], op, FULL_ANSWERS, 2)

    saves = session.scalars(select(AuditEntry.id).where(AuditEntry.action == "answers.save")).all()
    assert len(saves) == 1


# --- Validation matrix: each bad input -> its status, its field, and nothing written ----------------------

BAD_ANSWERS = [
    ({"9.9.9": {"value": "yes"}}, "answers.9.9.9"),
    ({"9.9.9": None}, "answers.9.9.9"),
    ({"1.1.1": {"value": "maybe"}}, "answers.1.1.1.value"),
    ({"1.1.1": {"value": True}}, "answers.1.1.1.value"),
    ({"1.1.2": {"value": "z"}}, "answers.1.1.2.value"),
    ({"2.1": {"value": "ig"}}, "answers.2.1.value"),
    ({"2.1": {"value": ["ig", "tiktok"]}}, "answers.2.1.value"),
    ({"2.2": {"value": "banyak"}}, "answers.2.2.value"),
    ({"2.3": {"value": 12}}, "answers.2.3.value"),
    ({"1.1.1": {"value": "yes", "evidence": ["ftp://ppid.example.go.id/dip"]}}, "answers.1.1.1.evidence[0]"),
    ({"1.1.1": {"value": "yes", "evidence": ["javascript:alert(1)"]}}, "answers.1.1.1.evidence[0]"),
    ({"1.1.1": {"value": "yes", "evidence": "https://ppid.example.go.id"}}, "answers.1.1.1.evidence"),
    ({"1.1.1": {"value": "yes", "evidence": ["https://x.id/" + "a" * 2000]}}, "answers.1.1.1.evidence[0]"),
    (
        {"1.1.1": {"value": "yes", "evidence": [f"https://x.id/{i}" for i in range(21)]}},
        "answers.1.1.1.evidence",
    ),
    ({"1.1.1": {"value": "yes", "colour": "red"}}, "answers.1.1.1.colour"),
    ({"1.1.1": {"note": 5}}, "answers.1.1.1.note"),
    ({"1.1.1": {"note": "x" * 4001}}, "answers.1.1.1.note"),
    ({"1.1.1": "yes"}, "answers.1.1.1"),
]


@pytest.mark.parametrize(("answers", "field"), BAD_ANSWERS, ids=[f for _, f in BAD_ANSWERS])
def test_each_bad_answer_is_422_naming_its_field_and_nothing_is_written(
    client: TestClient,
    sub: dict[str, Any],
    op: dict[str, str],
    session: Session,
    answers: dict[str, Any],
    field: str,
) -> None:
    put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    before = snapshot(session, sub["id"])

    # A valid change rides along: it must not be written either.
    response = put_answers(client, sub["id"], op, {"2.2": {"value": 10}} | answers, 2)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in problem(response)["errors"]]
    assert snapshot(session, sub["id"]) == before


def test_every_bad_field_is_reported_at_once(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    response = put_answers(
        client,
        sub["id"],
        op,
        {
            "9.9": {"value": "yes"},
            "1.1.1": {"value": "maybe", "evidence": ["ftp://x"]},
            "2.2": {"value": "?"},
        },
        1,
    )
    fields = {e["field"] for e in problem(response)["errors"]}
    assert fields == {"answers.9.9", "answers.1.1.1.value", "answers.1.1.1.evidence[0]", "answers.2.2.value"}


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ('{"answers": {"1.1.1": {"value": "yes"}', 400),
        ("[]", 422),
        ('{"answers": []}', 422),
        ('{"answers": {}, "extra": 1}', 422),
        ("{}", 422),
    ],
)
def test_malformed_bodies_are_refused_and_change_nothing(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, payload: str, status: int
) -> None:
    before = snapshot(session, sub["id"])
    response = client.put(
        f"/api/v1/submissions/{sub['id']}/answers",
        content=payload,
        headers=op | {"If-Match": '"1"', "Content-Type": "application/json"},
    )
    assert response.status_code == status
    problem(response)
    assert snapshot(session, sub["id"]) == before


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        ("123456789012345678901234567890", 123456789012345678901234567890),  # past 64 bits: every digit kept
        ("95.125", 95.125),
        ("1e2", 100.0),
    ],
)
def test_numbers_are_stored_exactly_as_sent(
    client: TestClient,
    sub: dict[str, Any],
    op: dict[str, str],
    number: str,
    stored: object,
    session: Session,
    request: pytest.FixtureRequest,
) -> None:
    if session.get_bind().dialect.name == "sqlite" and number != "95.125":
        # Known, SQLite only: a column declared JSON has NUMERIC affinity there, so a bare JSON number is
        # stored as an SQLite number (100.0 becomes 100, 30 digits a float). Production runs on PostgreSQL.
        request.applymarker(pytest.mark.xfail(strict=True, reason="SQLite NUMERIC affinity of JSON columns"))
    response = client.put(
        f"/api/v1/submissions/{sub['id']}/answers",
        content=f'{{"answers": {{"2.2": {{"value": {number}}}}}}}',
        headers=op | {"If-Match": '"1"', "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    value = client.get(f"/api/v1/submissions/{sub['id']}", headers=op).json()["answers"]["2.2"]["value"]
    assert repr(value) == repr(stored)


def test_an_unknown_submission_is_404(client: TestClient, world: World, op: dict[str, str]) -> None:
    response = put_answers(client, 999999, op, FULL_ANSWERS, 1)
    assert response.status_code == 404
    problem(response)


# --- The window -------------------------------------------------------------------------------------------


def test_a_late_save_is_refused_and_changes_nothing(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    world.round.saq_closes_at = now() - timedelta(seconds=1)
    session.flush()
    before = snapshot(session, sub["id"])

    response = put_answers(client, sub["id"], op, FULL_ANSWERS, 1)

    assert response.status_code == 409
    body = problem(response)
    assert body["type"].endswith("/window-closed")
    assert "WIB" in body["detail"]
    assert snapshot(session, sub["id"]) == before


def test_an_extension_for_the_body_lets_it_save_again(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    world.round.saq_closes_at = now() - timedelta(seconds=1)
    session.add(
        DeadlineExtension(
            round_id=world.round.id,
            closes_at=now() + timedelta(days=2),
            scope="bodies",
            body_ids=[world.body.id],
            reason="Keputusan pleno: gangguan jaringan",
        )
    )
    session.flush()

    saved = put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    not_extended = client.post(
        f"/api/v1/rounds/{world.round.id}/submissions", headers=world.token(world.other_operator)
    )

    assert saved.status_code == 200
    assert not_extended.status_code == 409


def test_a_body_no_longer_invited_cannot_save(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    invitation = session.get_one(Invitation, (world.round.id, world.body.id))
    session.delete(invitation)
    session.flush()

    response = put_answers(client, sub["id"], op, FULL_ANSWERS, 1)

    assert response.status_code == 403
    problem(response)


def test_a_round_that_is_not_open_refuses_saves(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    world.round.status = "verification"
    session.flush()
    response = put_answers(client, sub["id"], op, FULL_ANSWERS, 1)
    assert response.status_code == 409
    assert problem(response)["round_status"] == "verification"


def test_a_save_with_a_body_api_key_is_stored_and_audited_without_an_account(
    client: TestClient, world: World, session: Session
) -> None:
    key = make_api_key(session, world.commission, scope="body", body_id=world.body.id)
    headers = {"X-API-Key": key}
    sub = open_submission(client, world, headers)

    response = put_answers(client, sub["id"], headers, FULL_ANSWERS, sub["version"])

    assert response.status_code == 200, response.text
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "answers.save")).one()
    assert entry.actor_id is None
    assert entry.actor_label.startswith("api-key:")
    assert entry.commission_id == world.commission.id
    assert set(entry.after) == set(FULL_ANSWERS)
    rows = session.scalars(select(Answer).where(Answer.submission_id == sub["id"])).all()
    assert {row.question_code for row in rows} == set(FULL_ANSWERS)
    assert all(row.updated_by_id is None for row in rows)


def test_the_audit_insert_of_a_save_names_every_column_of_an_entry() -> None:
    # The PostgreSQL save writes its audit entry from SQL text, which must keep in step with the model.
    named = re.search(r"INSERT INTO audit_entry \(([^)]*)\)", PG_INSERT_SQL)
    assert named is not None
    columns = {name.strip() for name in named.group(1).split(",")}
    assert columns == set(AuditEntry.__table__.c.keys()) - {"id"}
    assert columns == set(entry(actor=None, action="a", entity="e", entity_id=1))
