"""Releasing verification results and objections (masa sanggah): the window, decisions, and their effect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.deps import principal_for_account
from app.db.models import AuditEntry, Objection, Submission, VerifiedAnswer, VerifierAssignment
from app.errors import InvalidInput
from app.verification.objections import decide_objection
from tests.factories import World, get_json, make_answers, make_submission, make_verification, now, problem

SELF = {
    "1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip"]},
    "1.1.2": {"value": "a"},
    "2.1": {"value": ["ig", "fb"]},
    "2.2": {"value": 95},
    "2.3": {"value": "https://ppid.example.go.id"},
}
# Verified: 1.1.2 lowered to b, 2.2 lowered to 60.
# Aspect 1: 2 + 1 of 4 = 75; aspect 2: 1 + 0.5 of 2 = 75 -> SAQ = 75 x 0.6 + 75 x 0.4 = 75.00.
VERIFIED = {
    "1.1.1": {"value": "yes", "evidence_checked": True},
    "1.1.2": {"value": "b", "evidence_checked": True},
    "2.1": {"value": ["ig", "fb"], "evidence_checked": True},
    "2.2": {"value": 60, "evidence_checked": True},
    "2.3": {"value": "https://ppid.example.go.id"},
}


@pytest.fixture
def verified(session: Session, world: World) -> Submission:
    sub = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    make_answers(session, sub, SELF)
    make_verification(session, sub, world.verifier, VERIFIED, completed=True)
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    world.round.objection_opens_at = now() - timedelta(hours=1)
    world.round.objection_closes_at = now() + timedelta(days=3)
    session.flush()
    return sub


def release(client: TestClient, world: World) -> None:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/release-verification", headers=world.token(world.admin)
    )
    assert response.status_code == 200, response.text


def object_to(client: TestClient, world: World, sub: Submission, code: str) -> object:
    return client.post(
        f"/api/v1/submissions/{sub.id}/objections",
        json={
            "question_code": code,
            "explanation": "DIP kami lengkap",
            "evidence": ["https://ppid.example.go.id/dip-2024"],
        },
        headers=world.token(world.operator),
    )


def test_releasing_waits_for_every_verification_of_a_body_that_took_part(
    client: TestClient, session: Session, world: World, verified: Submission
) -> None:
    pending = make_submission(session, world.round, world.other_body, world.template, status="submitted")
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/release-verification", headers=world.token(world.admin)
    )
    assert response.status_code == 409
    assert problem(response)["pending_submission_ids"] == [pending.id]
    make_verification(session, pending, world.verifier, {}, completed=True)
    release(client, world)
    again = client.post(
        f"/api/v1/rounds/{world.round.id}/release-verification", headers=world.token(world.admin)
    )
    assert again.status_code == 409


def test_objections_are_accepted_only_after_release_and_inside_the_window(
    client: TestClient, session: Session, world: World, verified: Submission
) -> None:
    before = object_to(client, world, verified, "1.1.2")
    assert before.status_code == 409
    assert "not released" in problem(before)["detail"]
    release(client, world)
    world.round.objection_closes_at = now() - timedelta(minutes=1)
    session.flush()
    late = object_to(client, world, verified, "1.1.2")
    assert late.status_code == 409
    assert "closed" in problem(late)["detail"]
    world.round.objection_closes_at = now() + timedelta(days=1)
    session.flush()
    made = object_to(client, world, verified, "1.1.2")
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "open"
    assert object_to(client, world, verified, "1.1.2").status_code == 409
    unknown = object_to(client, world, verified, "9.9")
    assert problem(unknown)["errors"] == [{"field": "question_code", "message": "unknown question code"}]
    other = client.post(
        f"/api/v1/submissions/{verified.id}/objections",
        json={"question_code": "2.2", "explanation": "x"},
        headers=world.token(world.other_operator),
    )
    assert other.status_code == 403


def test_the_body_sees_its_verification_once_released(
    client: TestClient, world: World, verified: Submission
) -> None:
    url = f"/api/v1/submissions/{verified.id}/verification"
    assert client.get(url, headers=world.token(world.operator)).status_code == 403
    release(client, world)
    view = get_json(client, url, world.token(world.operator))
    assert view["verified_score"]["score"] == "75.00"


def test_an_accepted_objection_changes_the_verified_value_and_a_rejected_one_does_not(
    client: TestClient, session: Session, world: World, verified: Submission
) -> None:
    release(client, world)
    accepted = object_to(client, world, verified, "1.1.2").json()
    rejected = object_to(client, world, verified, "2.2").json()
    headers = world.token(world.verifier)

    needs_value = client.post(
        f"/api/v1/objections/{accepted['id']}/decision",
        json={"accept": True, "reason": "bukti baru"},
        headers=headers,
    )
    assert problem(needs_value)["errors"] == [{"field": "value", "message": "required when accept is true"}]
    bad_value = client.post(
        f"/api/v1/objections/{accepted['id']}/decision",
        json={"accept": True, "reason": "bukti baru", "value": "zz"},
        headers=headers,
    )
    assert bad_value.status_code == 422
    assert problem(bad_value)["errors"][0]["field"] == "value"

    ok = client.post(
        f"/api/v1/objections/{accepted['id']}/decision",
        json={"accept": True, "reason": "DIP 2024 lengkap pada tautan baru", "value": "a"},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["status"], ok.json()["decided_value"]) == ("accepted", "a")
    no = client.post(
        f"/api/v1/objections/{rejected['id']}/decision",
        json={"accept": False, "reason": "laporan tidak memuat data 2024"},
        headers=headers,
    )
    assert no.json()["status"] == "rejected"
    twice = client.post(
        f"/api/v1/objections/{rejected['id']}/decision",
        json={"accept": True, "reason": "x", "value": 95},
        headers=headers,
    )
    assert twice.status_code == 409

    view = get_json(client, f"/api/v1/submissions/{verified.id}/verification", headers)
    # 1.1.2 back to "a" (2 of 2): aspect 1 = 4/4 = 100; aspect 2 still 75 -> 100 x 0.6 + 75 x 0.4 = 90.00.
    assert view["verified_score"]["score"] == "90.00"
    objections = {q["code"]: q["objection"] for q in view["questions"] if q["objection"]}
    assert objections == {"1.1.2": "accepted", "2.2": "rejected"}
    # The accepted objection's links now count as the question's evidence and the change is audited.
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "objection.accept"))
    assert entry is not None
    assert (entry.before["value"], entry.after["value"]) == ("b", "a")
    listed = get_json(client, f"/api/v1/submissions/{verified.id}/objections", world.token(world.operator))
    assert [(o["question_code"], o["status"], o["decision_reason"]) for o in listed] == [
        ("1.1.2", "accepted", "DIP 2024 lengkap pada tautan baru"),
        ("2.2", "rejected", "laporan tidak memuat data 2024"),
    ]


def test_operators_cannot_decide_objections(client: TestClient, world: World, verified: Submission) -> None:
    release(client, world)
    made = object_to(client, world, verified, "1.1.2").json()
    response = client.post(
        f"/api/v1/objections/{made['id']}/decision",
        json={"accept": False, "reason": "x"},
        headers=world.token(world.operator),
    )
    assert response.status_code == 403


def decide(client: TestClient, world: World, objection_id: int, **body: object) -> object:
    return client.post(
        f"/api/v1/objections/{objection_id}/decision",
        json={"reason": "keputusan verifikator"} | body,
        headers=world.token(world.verifier),
    )


def test_an_objection_names_the_body_answer_and_the_verified_value(
    client: TestClient, world: World, verified: Submission
) -> None:
    release(client, world)
    made = object_to(client, world, verified, "1.1.2").json()
    assert (made["body_value"], made["verified_value"]) == ("a", "b")
    listed = get_json(client, f"/api/v1/rounds/{world.round.id}/objections", world.token(world.verifier))
    assert [(o["question_code"], o["body_value"], o["verified_value"]) for o in listed["items"]] == [
        ("1.1.2", "a", "b")
    ]
    accepted = decide(client, world, made["id"], accept=True, value=made["body_value"])
    assert accepted.json()["verified_value"] == "a"


@pytest.mark.parametrize(
    ("code", "empty"), [("1.1.2", None), ("1.1.2", ""), ("2.1", []), ("2.3", "  "), ("2.2", "")]
)
def test_accepting_with_an_empty_value_is_refused_and_changes_nothing(
    client: TestClient, session: Session, world: World, verified: Submission, code: str, empty: object
) -> None:
    release(client, world)
    made = object_to(client, world, verified, code).json()
    refused = decide(client, world, made["id"], accept=True, value=empty)
    assert refused.status_code == 422
    assert problem(refused)["errors"] == [{"field": "value", "message": "required when accept is true"}]
    assert "no_valid_answer" in problem(refused)["detail"]
    stored = session.scalar(select(VerifiedAnswer.value).where(VerifiedAnswer.question_code == code))
    assert stored == VERIFIED[code]["value"]
    assert (
        get_json(client, f"/api/v1/submissions/{verified.id}/objections", world.token(world.verifier))[0][
            "status"
        ]
        == "open"
    )


def test_no_valid_answer_must_be_said_and_only_when_accepting(
    client: TestClient, session: Session, world: World, verified: Submission
) -> None:
    release(client, world)
    made = object_to(client, world, verified, "1.1.2").json()
    both = decide(client, world, made["id"], accept=True, value="a", no_valid_answer=True)
    assert problem(both)["errors"] == [{"field": "value", "message": "not together with no_valid_answer"}]
    rejecting = decide(client, world, made["id"], accept=False, no_valid_answer=True)
    assert problem(rejecting)["errors"] == [{"field": "value", "message": "only with accept: true"}]

    emptied = decide(client, world, made["id"], accept=True, no_valid_answer=True)
    assert emptied.status_code == 200, emptied.text
    assert (emptied.json()["status"], emptied.json()["decided_value"]) == ("accepted", None)
    stored = session.scalar(select(VerifiedAnswer.value).where(VerifiedAnswer.question_code == "1.1.2"))
    assert stored is None


def test_a_refused_accept_says_in_indonesian_what_to_choose(
    session: Session, world: World, verified: Submission, client: TestClient
) -> None:
    release(client, world)
    made = object_to(client, world, verified, "1.1.2").json()
    with pytest.raises(InvalidInput) as refused:
        decide_objection(
            session=session,
            objection_id=made["id"],
            by=principal_for_account(world.verifier),
            accept=True,
            reason="bukti baru",
            value=None,
        )
    assert refused.value.indonesian == refused.value.errors[0].indonesian
    assert refused.value.indonesian == (
        "Sanggahan yang diterima menetapkan nilai terverifikasi baru untuk pertanyaan 1.1.2: pilih nilainya "
        '(biasanya jawaban badan publik). Pilih "Tidak ada jawaban yang sah" hanya bila itu memang keputusan '
        "Anda."
    )


def test_results_are_published_only_once_every_objection_is_decided_and_then_take_no_decision(
    client: TestClient, session: Session, world: World, verified: Submission
) -> None:
    release(client, world)
    objection = object_to(client, world, verified, "1.1.2").json()
    world.round.status = "final"
    session.flush()
    publish_url = f"/api/v1/rounds/{world.round.id}/publish"
    refused = client.post(publish_url, json={"reason": "Pleno 3/2025"}, headers=world.token(world.admin))
    assert refused.status_code == 409, refused.text
    assert problem(refused)["open_objections"] == 1
    assert decide(client, world, objection["id"], accept=False).status_code == 200

    published = client.post(publish_url, json={"reason": "Pleno 3/2025"}, headers=world.token(world.admin))
    assert published.status_code == 201, published.text
    # An objection left open by a round published before this rule: its decision would rewrite the answers
    # the published letters and result sheets are read from.
    late = Objection(submission_id=verified.id, question_code="2.2", explanation="terlambat", status="open")
    session.add(late)
    session.flush()
    answer = decide(client, world, late.id, accept=True, value=95)
    assert answer.status_code == 409, answer.text
    assert "are published" in problem(answer)["detail"]
    stored = session.scalar(
        select(VerifiedAnswer.value).where(
            VerifiedAnswer.question_code == "2.2", VerifiedAnswer.verification_id.is_not(None)
        )
    )
    assert stored == 60
