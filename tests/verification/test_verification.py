"""Verifying a submission: starting, verified values beside the body's own, If-Match, scores, completing.

The mini template (tests/fixtures/mini.yaml): aspect 1 (weight 60) has 1.1.1 yes_no weight 2 with required
evidence and 1.1.2 choice weight 2 (a 1, b 0.5, c 0) applicable when 1.1.1 is yes; aspect 2 (weight 40) has
2.1 multi_choice (ig, fb, yt 0.5 each, capped at 1), 2.2 number (>=90 1, >=50 0.5, else 0), 2.3 text.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    Answer,
    AuditEntry,
    DeadlineExtension,
    EvidenceFile,
    Submission,
    VerifiedAnswer,
    VerifierAssignment,
)
from tests.factories import World, get_json, make_answers, make_submission, now, problem

# The body's answers: every question fully earned. Self score: aspect 1 = 100, aspect 2 = 100 -> 100.00.
SELF = {
    "1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip"]},
    "1.1.2": {"value": "a"},
    "2.1": {"value": ["ig", "fb"]},
    "2.2": {"value": 95},
    "2.3": {"value": "https://ppid.example.go.id"},
}


@pytest.fixture
def submitted(session: Session, world: World) -> Submission:
    sub = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    make_answers(session, sub, SELF)
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    session.flush()
    return sub


def start(client: TestClient, world: World, sub: Submission) -> str:
    response = client.post(f"/api/v1/submissions/{sub.id}/verification", headers=world.token(world.verifier))
    assert response.status_code == 201, response.text
    return response.headers["ETag"]


def put(client: TestClient, world: World, sub: Submission, etag: str, answers: dict) -> object:
    return client.put(
        f"/api/v1/submissions/{sub.id}/verification/answers",
        json={"answers": answers},
        headers=world.token(world.verifier) | {"If-Match": etag},
    )


def test_verification_starts_only_after_the_body_submitted_or_its_window_closed(
    client: TestClient, session: Session, world: World
) -> None:
    draft = make_submission(session, world.round, world.body, world.template)
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    session.flush()
    url = f"/api/v1/submissions/{draft.id}/verification"

    refused = client.post(url, headers=world.token(world.verifier))
    assert refused.status_code == 409
    assert "SAQ window closes" in problem(refused)["detail"]

    # The window closed; under drafts_at_deadline "submit" the draft is submitted as it stood, then verified.
    world.round.saq_closes_at = now() - timedelta(minutes=1)
    world.round.status = "closed"
    world.round.drafts_at_deadline = "submit"
    session.flush()
    assert client.post(url, headers=world.token(world.verifier)).status_code == 201
    session.refresh(draft)
    assert draft.status == "submitted"
    again = client.post(url, headers=world.token(world.verifier))
    assert again.status_code == 200
    assert again.json()["status"] == "in_progress"


def test_a_verifier_sees_nothing_of_a_draft_until_it_is_sent_or_the_deadline_with_extensions_passed(
    client: TestClient, session: Session, world: World
) -> None:
    draft = make_submission(session, world.round, world.body, world.template)
    make_answers(session, draft, SELF)
    evidence = EvidenceFile(
        submission_id=draft.id,
        question_code="1.1.1",
        sha256="0" * 64,
        size=9,
        content_type="application/pdf",
        original_name="sk-dip.pdf",
    )
    session.add_all(
        [
            evidence,
            VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id),
        ]
    )
    session.flush()
    base = f"/api/v1/submissions/{draft.id}"
    reads = [
        ("GET", base),
        ("GET", f"{base}/score"),
        ("GET", f"{base}/verification"),
        ("GET", f"{base}/link-checks"),
        ("POST", f"{base}/link-check"),
        ("GET", f"/api/v1/evidence/{evidence.id}"),
    ]

    def refused_to_the_verifier(closes_at: str) -> None:
        for method, url in reads:
            response = client.request(method, url, headers=world.token(world.verifier))
            assert response.status_code == 403, (method, url, response.text)
            assert "still filling in this SAQ" in problem(response)["detail"]
            assert problem(response)["closes_at"] == closes_at

    # The body is filling it in: its verifier sees none of it; the administrator still may.
    refused_to_the_verifier(world.round.saq_closes_at.isoformat())
    assert get_json(client, base, world.token(world.admin))["answers"]["1.1.1"]["value"] == "yes"
    assert get_json(client, f"{base}/verification", world.token(world.admin))["status"] == "not_started"

    # The round's own deadline passed, but the body's extension still runs: still the body's own.
    world.round.saq_closes_at = now() - timedelta(minutes=1)
    extended = now() + timedelta(days=2)
    extension = DeadlineExtension(
        round_id=world.round.id, closes_at=extended, scope="bodies", body_ids=[world.body.id], reason="Pleno"
    )
    session.add(extension)
    session.flush()
    refused_to_the_verifier(extended.isoformat())
    start = client.post(f"{base}/verification", headers=world.token(world.verifier))
    assert start.status_code == 409
    assert problem(start)["closes_at"] == extended.isoformat()

    # Once the extension has passed too, the verifier reads the draft as it stands; whether it is verified is
    # the round's rule for drafts at the deadline (submitted as they stood once the SAQ stage closed).
    extension.closes_at = now() - timedelta(seconds=1)
    world.round.drafts_at_deadline = "submit"
    session.flush()
    assert get_json(client, base, world.token(world.verifier))["answers"]["1.1.1"]["value"] == "yes"
    assert get_json(client, f"{base}/verification", world.token(world.verifier))["status"] == "not_started"
    assert (
        "close the stage first"
        in problem(client.post(f"{base}/verification", headers=world.token(world.verifier)))["detail"]
    )
    world.round.status = "closed"
    session.flush()
    assert client.post(f"{base}/verification", headers=world.token(world.verifier)).status_code == 201


def test_a_sent_saq_is_the_verifiers_to_read_while_the_window_is_still_open(
    client: TestClient, world: World, submitted: Submission
) -> None:
    # world.round's window is open for another week.
    read = get_json(client, f"/api/v1/submissions/{submitted.id}", world.token(world.verifier))
    assert read["status"] == "submitted"
    view = get_json(client, f"/api/v1/submissions/{submitted.id}/verification", world.token(world.verifier))
    assert view["status"] == "not_started"


def test_reviewed_and_total_count_the_questions_that_need_a_verified_value_as_completion_does(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    url = f"/api/v1/submissions/{submitted.id}/verification"

    def progress(view: dict) -> tuple[int, int, list[str]]:
        return view["reviewed"], view["total"], [q["code"] for q in view["questions"] if not q["applicable"]]

    def missing() -> list[str]:
        refused = client.post(f"{url}/complete", headers=world.token(world.verifier))
        assert refused.status_code == 422
        return list(problem(refused)["missing"])

    # 1.1.2 applies only once 1.1.1's verified value is "yes": not counted while 1.1.1 is unreviewed.
    assert progress(get_json(client, url, world.token(world.verifier))) == (0, 4, ["1.1.2"])
    assert missing() == ["1.1.1", "2.1", "2.2", "2.3"]
    saved = put(client, world, submitted, etag, {"1.1.1": {"value": "yes"}})
    assert progress(saved.json()) == (1, 5, [])
    assert missing() == ["1.1.2", "2.1", "2.2", "2.3"]
    saved = put(
        client, world, submitted, saved.headers["ETag"], {"1.1.1": {"value": "no"}, "2.2": {"value": 40}}
    )
    assert progress(saved.json()) == (2, 4, ["1.1.2"])
    assert missing() == ["2.1", "2.3"]


def test_the_verified_score_is_provisional_until_the_verification_is_completed(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    url = f"/api/v1/submissions/{submitted.id}/verification"
    assert get_json(client, url, world.token(world.verifier))["verified_score"]["provisional"] is True
    every = {code: {"value": answer["value"], "evidence_checked": True} for code, answer in SELF.items()}
    saved = put(client, world, submitted, etag, every).json()
    # Everything reviewed, but not completed: the figure may still change.
    assert (saved["reviewed"], saved["total"], saved["verified_score"]["provisional"]) == (5, 5, True)
    done = client.post(f"{url}/complete", headers=world.token(world.verifier))
    assert done.status_code == 200, done.text
    assert done.json()["verified_score"] == {
        "score": "100.00",
        "band": "informatif",
        "band_label": "Informatif",
        "provisional": False,
    }


def test_only_the_assigned_verifier_or_an_administrator_verifies(
    client: TestClient, world: World, submitted: Submission
) -> None:
    url = f"/api/v1/submissions/{submitted.id}/verification"
    for account in (world.operator, world.panelist):
        assert client.post(url, headers=world.token(account)).status_code == 403
    assert client.post(url, headers=world.token(world.admin)).status_code == 201


def test_side_by_side_view_before_any_review_has_a_verified_score_of_zero(
    client: TestClient, world: World, submitted: Submission
) -> None:
    start(client, world, submitted)
    view = get_json(client, f"/api/v1/submissions/{submitted.id}/verification", world.token(world.verifier))
    assert view["self_score"]["score"] == "100.00"
    # Nothing reviewed: every question is unanswered in the verified score, which is provisional.
    assert view["verified_score"] == {
        "score": "0.00",
        "band": "tidak-informatif",
        "band_label": "Tidak Informatif",
        "provisional": True,
    }
    assert view["self_score"]["provisional"] is False
    # 1.1.2 applies only when 1.1.1's verified value is "yes": 4 questions need a verified value so far.
    assert (view["reviewed"], view["total"]) == (0, 4)
    first = view["questions"][0]
    assert first["code"] == "1.1.1"
    assert first["self"]["value"] == "yes"
    assert first["self"]["evidence"] == ["https://ppid.example.go.id/dip"]
    assert first["verified"] is None


def test_saving_verified_values_needs_the_current_version(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    url = f"/api/v1/submissions/{submitted.id}/verification/answers"
    body = {"answers": {"1.1.1": {"value": "yes", "evidence_checked": True}}}

    missing = client.put(url, json=body, headers=world.token(world.verifier))
    assert missing.status_code == 428
    saved = put(client, world, submitted, etag, body["answers"])
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] != etag
    stale = put(client, world, submitted, etag, {"1.1.2": {"value": "b"}})
    assert stale.status_code == 412
    assert problem(stale)["errors"][0]["field"] == "header:If-Match"


def test_verified_values_stand_beside_the_body_answers_and_score_by_the_same_rule(
    client: TestClient, session: Session, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    saved = put(
        client,
        world,
        submitted,
        etag,
        {
            "1.1.1": {"value": "yes", "evidence_checked": True},
            "1.1.2": {"value": "b", "evidence_checked": True, "note": "DIP belum lengkap"},
            "2.1": {"value": ["ig"]},
            "2.2": {"value": 60},
            "2.3": {"value": "https://ppid.example.go.id"},
        },
    )
    assert saved.status_code == 200, saved.text
    view = saved.json()
    # Aspect 1: 1.1.1 earns 2 of 2, 1.1.2 "b" earns 0.5 x 2 = 1 of 2 -> 3/4 = 75.00.
    # Aspect 2: 2.1 [ig] earns 0.5 of 1, 2.2 = 60 earns 0.5 of 1 -> 1/2 = 50.00.
    # SAQ = 75 x 60/100 + 50 x 40/100 = 45 + 20 = 65.00 (Cukup Informatif, from 60).
    assert view["verified_score"] == {
        "score": "65.00",
        "band": "cukup-informatif",
        "band_label": "Cukup Informatif",
        "provisional": True,
    }
    assert view["self_score"]["score"] == "100.00"
    assert {a["code"]: a["verified_score"] for a in view["aspects"]} == {"1": "75.00", "2": "50.00"}
    differs = {q["code"]: q["differs"] for q in view["questions"]}
    assert differs == {"1.1.1": False, "1.1.2": True, "2.1": True, "2.2": True, "2.3": False}
    note = next(q for q in view["questions"] if q["code"] == "1.1.2")["verified"]["note"]
    assert note == "DIP belum lengkap"

    # The body's own answers are untouched.
    own = dict(
        session.execute(
            select(Answer.question_code, Answer.value).where(Answer.submission_id == submitted.id)
        ).all()
    )
    assert own["1.1.2"] == "a"
    assert own["2.2"] == 95
    # Every change is audited with before and after.
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "verification.answer").order_by(AuditEntry.id)
    ).all()
    assert len(entries) == 5
    assert entries[1].before is None
    assert entries[1].after == {"value": "b", "evidence_checked": True, "note": "DIP belum lengkap"}
    assert entries[1].actor_id == world.verifier.id


def test_a_yes_counts_only_when_the_verifier_checked_its_evidence(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    view = put(client, world, submitted, etag, {"1.1.1": {"value": "yes"}, "1.1.2": {"value": "a"}}).json()
    # 1.1.1 needs evidence; not checked -> evidence_missing, earns 0 of 2; 1.1.2 "a" earns 2 of 2 -> 50.00.
    # Aspect 2 unreviewed -> 0. SAQ = 50 x 0.6 = 30.00.
    assert view["verified_score"]["score"] == "30.00"
    assert (
        next(q for q in view["questions"] if q["code"] == "1.1.1")["verified"]["status"] == "evidence_missing"
    )


def test_a_partial_update_keeps_the_fields_left_out(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    first = put(client, world, submitted, etag, {"1.1.2": {"value": "b", "note": "sebagian"}})
    second = put(client, world, submitted, first.headers["ETag"], {"1.1.2": {"evidence_checked": True}})
    verified = next(q for q in second.json()["questions"] if q["code"] == "1.1.2")["verified"]
    assert (verified["value"], verified["evidence_checked"], verified["note"]) == ("b", True, "sebagian")


def test_invalid_verified_values_are_refused_naming_each_field_and_nothing_is_written(
    client: TestClient, session: Session, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    response = put(
        client,
        world,
        submitted,
        etag,
        {"1.1.1": {"value": "yes"}, "1.1.2": {"value": "z"}, "9.9": {"value": 1}},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in problem(response)["errors"]}
    assert fields == {"answers.1.1.2.value", "answers.9.9"}
    assert session.scalars(select(VerifiedAnswer)).all() == []


def test_completing_needs_every_applicable_question_reviewed(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    url = f"/api/v1/submissions/{submitted.id}/verification/complete"
    saved = put(client, world, submitted, etag, {"1.1.1": {"value": "no"}, "2.1": {"value": []}})

    # 1.1.1 verified "no": 1.1.2 is not applicable and need not be reviewed; 2.2 and 2.3 are missing.
    refused = client.post(url, headers=world.token(world.verifier))
    assert refused.status_code == 422
    assert problem(refused)["missing"] == ["2.2", "2.3"]

    put(client, world, submitted, saved.headers["ETag"], {"2.2": {"value": 10}, "2.3": {"value": None}})
    done = client.post(url, headers=world.token(world.verifier))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert done.json()["completed_at"] is not None

    later = put(
        client,
        world,
        submitted,
        done.headers.get("ETag", f'"{done.json()["version"]}"'),
        {"2.2": {"value": 95}},
    )
    assert later.status_code == 409


def test_operators_see_the_verification_only_once_released(
    client: TestClient, session: Session, world: World, submitted: Submission
) -> None:
    start(client, world, submitted)
    url = f"/api/v1/submissions/{submitted.id}/verification"
    refused = client.get(url, headers=world.token(world.operator))
    assert refused.status_code == 403
    assert "not released" in problem(refused)["detail"]
    assert client.get(url, headers=world.token(world.panelist)).status_code == 200
    assert client.get(url, headers=world.token(world.other_operator)).status_code == 403


# --- Unreviewed questions and approving them --------------------------------------------------------------


def approve(client: TestClient, world: World, sub: Submission, etag: str | None, body: dict | None = None):
    headers = world.token(world.verifier) | ({"If-Match": etag} if etag is not None else {})
    return client.post(
        f"/api/v1/submissions/{sub.id}/verification/approve-unreviewed", json=body or {}, headers=headers
    )


def test_an_unreviewed_question_earns_nothing_in_the_verified_score_and_completion_names_it(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    view = put(
        client,
        world,
        submitted,
        etag,
        {
            "1.1.1": {"value": "yes", "evidence_checked": True},
            "1.1.2": {"value": "a"},
            "2.1": {"value": ["ig", "fb"]},
            "2.3": {"value": "https://ppid.example.go.id"},
        },
    ).json()
    # 2.2 (the body said 95, worth 1 of aspect 2's 2) is not reviewed: aspect 2 = 50, SAQ = 60 + 20 = 80.00.
    assert view["verified_score"]["score"] == "80.00"
    assert next(q for q in view["questions"] if q["code"] == "2.2")["verified"] is None
    refused = client.post(
        f"/api/v1/submissions/{submitted.id}/verification/complete", headers=world.token(world.verifier)
    )
    assert refused.status_code == 422
    assert problem(refused)["missing"] == ["2.2"]


def test_approving_the_unreviewed_answers_sets_exactly_those_to_the_body_values_and_is_audited_once(
    client: TestClient, session: Session, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    reviewed = put(
        client,
        world,
        submitted,
        etag,
        {"1.1.1": {"value": "no", "note": "SK tidak ada"}, "2.1": {"value": []}},
    )
    approved = approve(client, world, submitted, reviewed.headers["ETag"])
    assert approved.status_code == 200, approved.text
    result = approved.json()
    assert (result["codes"], result["changed"], result["failed"]) == (["1.1.2", "2.2", "2.3"], 3, [])
    assert approved.headers["ETag"] == f'"{result["version"]}"' != reviewed.headers["ETag"]

    view = get_json(client, f"/api/v1/submissions/{submitted.id}/verification", world.token(world.verifier))
    verified = {q["code"]: q["verified"] for q in view["questions"]}
    # The verifier's own reviews stay; the others now carry the body's values, evidence not checked.
    assert (verified["1.1.1"]["value"], verified["1.1.1"]["note"]) == ("no", "SK tidak ada")
    assert verified["2.1"]["value"] == []
    assert {code: verified[code]["value"] for code in ("1.1.2", "2.2", "2.3")} == {
        "1.1.2": "a",
        "2.2": 95,
        "2.3": "https://ppid.example.go.id",
    }
    assert not any(verified[code]["evidence_checked"] for code in ("1.1.2", "2.2", "2.3"))
    # 1.1.2 now has a value too, but with 1.1.1 verified "no" it does not apply: 4 of 4.
    assert (view["reviewed"], view["total"]) == (4, 4)

    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "verification.bulk.approve_unreviewed")
    ).all()
    assert len(entries) == 1
    assert (entries[0].after["count"], entries[0].after["codes"]) == (3, ["1.1.2", "2.2", "2.3"])
    assert entries[0].before["answers"] == {"1.1.2": None, "2.2": None, "2.3": None}
    assert entries[0].actor_id == world.verifier.id
    done = client.post(
        f"/api/v1/submissions/{submitted.id}/verification/complete", headers=world.token(world.verifier)
    )
    assert done.status_code == 200, done.text


@pytest.mark.parametrize(("evidence_checked", "score"), [(False, "70.00"), (True, "100.00")])
def test_approved_answers_count_their_evidence_only_when_the_verifier_says_it_checked_it(
    client: TestClient, world: World, submitted: Submission, evidence_checked: bool, score: str
) -> None:
    etag = start(client, world, submitted)
    approved = approve(client, world, submitted, etag, {"evidence_checked": evidence_checked})
    assert approved.status_code == 200, approved.text
    view = get_json(client, f"/api/v1/submissions/{submitted.id}/verification", world.token(world.verifier))
    # Unchecked: 1.1.1 "yes" lacks checked evidence (0 of 2), 1.1.2 2 of 2 -> aspect 1 = 50; 30 + 40 = 70.00.
    assert view["verified_score"]["score"] == score


def test_approving_needs_the_current_version_and_something_left_to_approve(
    client: TestClient, session: Session, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    saved = put(client, world, submitted, etag, {"1.1.1": {"value": "yes"}})

    assert approve(client, world, submitted, None).status_code == 428
    stale = approve(client, world, submitted, etag)
    assert stale.status_code == 412
    assert problem(stale)["errors"][0]["field"] == "header:If-Match"
    assert session.scalars(select(VerifiedAnswer.question_code)).all() == ["1.1.1"]

    approved = approve(client, world, submitted, saved.headers["ETag"])
    assert approved.json()["codes"] == ["1.1.2", "2.1", "2.2", "2.3"]
    nothing_left = approve(client, world, submitted, approved.headers["ETag"])
    assert nothing_left.status_code == 409
    assert "reviewed already" in problem(nothing_left)["detail"]


def test_undoing_an_approval_makes_the_questions_unreviewed_again(
    client: TestClient, world: World, submitted: Submission
) -> None:
    etag = start(client, world, submitted)
    saved = put(client, world, submitted, etag, {"2.2": {"value": 40}})
    batch = approve(client, world, submitted, saved.headers["ETag"]).json()["batch_id"]

    undone = client.post(f"/api/v1/verification/bulk/{batch}/undo", headers=world.token(world.verifier))
    assert undone.status_code == 200, undone.text
    assert undone.json()["changed"] == 4
    view = get_json(client, f"/api/v1/submissions/{submitted.id}/verification", world.token(world.verifier))
    assert view["reviewed"] == 1
    assert [q["code"] for q in view["questions"] if q["verified"] is not None] == ["2.2"]
