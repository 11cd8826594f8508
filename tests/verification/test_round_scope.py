"""A verifier's access is per round: assigned to a body in one round, it neither verifies nor reads that
body's data of another round (where a colleague is assigned), while the body's own record stays visible.

Two rounds of the commission both invite ``world.body``; ``world.verifier`` is assigned to it in round A
only, ``colleague`` in round B only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.models import Account, EvidenceFile, Objection, Round, Submission, VerifierAssignment
from tests.factories import (
    MINI_FULL,
    World,
    get_json,
    make_account,
    make_answers,
    make_round,
    make_submission,
    make_verification,
    now,
    problem,
)


@dataclass
class TwoRounds:
    round_a: Round
    round_b: Round
    sub_a: Submission
    sub_b: Submission
    colleague: Account


@pytest.fixture
def two(session: Session, world: World) -> TwoRounds:
    round_b = make_round(
        session,
        world.commission,
        templates={world.category: world.template},
        invite=[world.body, world.other_body],
        year=2026,
    )
    colleague = make_account(session, "verifier", commission_id=world.commission.id)
    session.add_all(
        [
            VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id),
            VerifierAssignment(round_id=round_b.id, body_id=world.body.id, verifier_id=colleague.id),
        ]
    )
    subs = []
    for round_ in (world.round, round_b):
        sub = make_submission(
            session, round_, world.body, world.template, status="submitted", submitted_at=now()
        )
        make_answers(session, sub, MINI_FULL)
        subs.append(sub)
    session.flush()
    return TwoRounds(world.round, round_b, subs[0], subs[1], colleague)


def test_a_verifier_starts_verifying_only_in_the_round_it_is_assigned_in(
    client: TestClient, world: World, two: TwoRounds
) -> None:
    verifier = world.token(world.verifier)
    assert (
        client.post(f"/api/v1/submissions/{two.sub_a.id}/verification", headers=verifier).status_code == 201
    )

    refused = client.post(f"/api/v1/submissions/{two.sub_b.id}/verification", headers=verifier)
    assert refused.status_code == 403
    assert "in this round" in problem(refused)["detail"]
    colleague = world.token(two.colleague)
    assert (
        client.post(f"/api/v1/submissions/{two.sub_b.id}/verification", headers=colleague).status_code == 201
    )


def test_a_verifier_reads_the_body_submission_and_verification_only_of_its_round(
    client: TestClient, world: World, two: TwoRounds
) -> None:
    client.post(f"/api/v1/submissions/{two.sub_b.id}/verification", headers=world.token(two.colleague))
    verifier = world.token(world.verifier)
    for path in ("", "/score", "/verification", "/link-checks", "/objections"):
        assert client.get(f"/api/v1/submissions/{two.sub_a.id}{path}", headers=verifier).status_code != 403, (
            path
        )
        refused = client.get(f"/api/v1/submissions/{two.sub_b.id}{path}", headers=verifier)
        assert refused.status_code == 403, path
        problem(refused)
    assert client.post(f"/api/v1/submissions/{two.sub_b.id}/link-check", headers=verifier).status_code == 403


def test_a_verifier_sees_in_a_round_list_only_the_bodies_assigned_to_it_in_that_round(
    client: TestClient, world: World, two: TwoRounds
) -> None:
    verifier = world.token(world.verifier)

    def ids(url: str, key: str) -> list[int]:
        return [item[key] for item in get_json(client, url, verifier)["items"]]

    assert ids(f"/api/v1/rounds/{two.round_a.id}/submissions", "id") == [two.sub_a.id]
    assert ids(f"/api/v1/rounds/{two.round_b.id}/submissions", "id") == []
    assert ids(f"/api/v1/rounds/{two.round_a.id}/invitations", "body_id") == [world.body.id]
    assert ids(f"/api/v1/rounds/{two.round_b.id}/invitations", "body_id") == []
    colleague = world.token(two.colleague)
    listed = get_json(client, f"/api/v1/rounds/{two.round_b.id}/submissions", colleague)["items"]
    assert [s["id"] for s in listed] == [two.sub_b.id]
    # The body's own record belongs to no round: a verifier assigned to it in any round sees it.
    assert client.get(f"/api/v1/bodies/{world.body.id}", headers=verifier).status_code == 200
    bodies = get_json(client, f"/api/v1/commissions/{world.commission.id}/bodies", verifier)["items"]
    assert [b["id"] for b in bodies] == [world.body.id]


def test_objections_of_another_round_are_neither_listed_nor_decided_by_the_verifier(
    client: TestClient, session: Session, world: World, two: TwoRounds
) -> None:
    values = {code: {"value": a["value"], "evidence_checked": True} for code, a in MINI_FULL.items()}
    make_verification(session, two.sub_b, two.colleague, values, completed=True)
    objection = Objection(
        submission_id=two.sub_b.id,
        question_code="2.2",
        explanation="Sudah 95",
        status="open",
        evidence_links=[],
    )
    session.add(objection)
    session.flush()
    verifier, colleague = world.token(world.verifier), world.token(two.colleague)

    assert get_json(client, f"/api/v1/rounds/{two.round_b.id}/objections", verifier)["items"] == []
    listed = get_json(client, f"/api/v1/rounds/{two.round_b.id}/objections", colleague)["items"]
    assert [o["id"] for o in listed] == [objection.id]
    decision = {"accept": False, "reason": "Bukti tidak cukup"}
    url = f"/api/v1/objections/{objection.id}/decision"
    assert client.post(url, json=decision, headers=verifier).status_code == 403
    decided = client.post(url, json=decision, headers=colleague)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "rejected"


def test_bulk_verification_of_another_round_leaves_the_body_alone(
    client: TestClient, session: Session, world: World, two: TwoRounds
) -> None:
    make_verification(session, two.sub_b, two.colleague, {"2.2": {"value": None, "evidence_checked": True}})
    payload = {"action": "confirm_checked", "filter": {"body_ids": [world.body.id]}}
    url = f"/api/v1/rounds/{two.round_b.id}/verification/bulk"

    ignored = client.post(url, json=payload, headers=world.token(world.verifier))
    assert ignored.status_code == 200, ignored.text
    assert (ignored.json()["changed"], ignored.json()["failed"]) == (0, [])
    confirmed = client.post(url, json=payload, headers=world.token(two.colleague))
    assert confirmed.json()["changed"] == 1


def test_evidence_files_of_another_round_are_refused_to_the_verifier(
    client: TestClient, session: Session, world: World, two: TwoRounds
) -> None:
    file_b = EvidenceFile(
        submission_id=two.sub_b.id,
        question_code="1.1.1",
        sha256="0" * 64,
        size=9,
        content_type="application/pdf",
        original_name="bukti.pdf",
    )
    session.add(file_b)
    session.flush()

    refused = client.get(f"/api/v1/evidence/{file_b.id}", headers=world.token(world.verifier))
    assert refused.status_code == 403
    # The colleague passes the check and learns only that the (never stored) content is missing.
    missing = client.get(f"/api/v1/evidence/{file_b.id}", headers=world.token(two.colleague))
    assert missing.status_code == 404
    assert "missing from the evidence store" in problem(missing)["detail"]
