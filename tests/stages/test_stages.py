"""Later stages: the gate (minimum score, top N with ties, both) and panel scores per judge.

Verified scores on the mini template (aspect 1 weight 60, aspect 2 weight 40), from MINI_FULL (100.00):
- 2.2 = 60 (0.5 of 1): aspect 2 = 75 -> 60 + 30 = 90.00;
- 1.1.2 = "b" (0.5 x 2 of 2): aspect 1 = 75 -> 45 + 40 = 85.00;
- 2.1 = ["ig"] and 2.2 = 60: aspect 2 = 50 -> 60 + 20 = 80.00.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, Invitation, PublicBody, Stage
from app.stages.service import competition_ranks
from scoring import panel_score
from tests.factories import (
    World,
    get_json,
    make_account,
    make_body,
    make_stage,
    make_submission,
    make_verified_submission,
    problem,
)


def test_competition_ranking_shares_ranks_and_skips_after_ties() -> None:
    ranks = competition_ranks({1: Decimal("90"), 2: Decimal("85"), 3: Decimal("85"), 4: Decimal("80")})
    assert ranks == {1: 1, 2: 2, 3: 2, 4: 4}


def test_the_stage_score_is_the_exact_mean_rounded_once() -> None:
    # (85 + 80 + 82.5) / 3 = 247.5 / 3 = 82.5 -> 82.50.
    assert panel_score([Decimal("85"), Decimal("80"), Decimal("82.5")]) == Decimal("82.50")
    # (80.01 + 80.02 + 80.02) / 3 = 240.05 / 3 = 80.01666... -> 80.02.
    assert panel_score([Decimal("80.01"), Decimal("80.02"), Decimal("80.02")]) == Decimal("80.02")
    # (70.01 + 70.00) / 2 = 70.005: exactly half a cent -> half-up 70.01 (no earlier rounding of either).
    assert panel_score([Decimal("70.01"), Decimal("70.00")]) == Decimal("70.01")
    assert panel_score([]) is None


@pytest.fixture
def four(session: Session, world: World) -> dict[str, PublicBody]:
    """Four kelurahan bodies verified at 90, 85, 85 and 80, and one that did not take part."""
    third = make_body(session, world.category, name="Kelurahan Cempaka")
    fourth = make_body(session, world.category, name="Kelurahan Duri")
    absent = make_body(session, world.category, name="Kelurahan Eboni")
    session.add_all(Invitation(round_id=world.round.id, body_id=b.id) for b in (third, fourth, absent))
    session.flush()
    scores = {
        "90": (world.body, {"2.2": 60}),
        "85a": (world.other_body, {"1.1.2": "b"}),
        "85b": (third, {"1.1.2": "b"}),
        "80": (fourth, {"2.1": ["ig"], "2.2": 60}),
    }
    for body, changes in scores.values():
        make_verified_submission(session, world.round, body, world.template, world.verifier, changes)
    return {key: body for key, (body, _) in scores.items()} | {"absent": absent}


def gate(client: TestClient, world: World) -> dict[int, dict]:
    page = get_json(client, f"/api/v1/rounds/{world.round.id}/gate", world.token(world.panelist))
    return {row["body_id"]: row for row in page["items"]}


def test_top_n_lets_every_body_tied_at_the_nth_place_through(
    client: TestClient, session: Session, world: World, four: dict[str, PublicBody]
) -> None:
    world.round.gate_top_n = 2
    session.flush()
    rows = gate(client, world)
    assert {k: (rows[b.id]["rank"], rows[b.id]["passes"]) for k, b in four.items()} == {
        "90": (1, True),
        "85a": (2, True),
        "85b": (2, True),
        "80": (4, False),
        "absent": (None, False),
    }
    assert rows[four["80"].id]["reason"] == "rank 4 in the category is below the top 2"
    assert rows[four["absent"].id]["reason"] == "did not take part"


def test_a_minimum_score_and_top_n_must_both_hold(
    client: TestClient, session: Session, world: World, four: dict[str, PublicBody]
) -> None:
    world.round.gate_min_score = Decimal("86")
    world.round.gate_top_n = 3
    session.flush()
    page = get_json(client, f"/api/v1/rounds/{world.round.id}/gate?passing=true", world.token(world.admin))
    assert [row["body_id"] for row in page["items"]] == [four["90"].id]
    assert page["passing"] == 1
    rows = gate(client, world)
    assert rows[four["85a"].id]["reason"] == "verified score 85.00 is below the minimum 86.00"


def test_without_a_gate_every_verified_body_passes_but_not_one_still_being_verified(
    client: TestClient, session: Session, world: World
) -> None:
    make_verified_submission(session, world.round, world.body, world.template, world.verifier)
    make_verified_submission(
        session, world.round, world.other_body, world.template, world.verifier, completed=False
    )
    rows = gate(client, world)
    assert rows[world.body.id]["passes"] is True
    assert (rows[world.other_body.id]["passes"], rows[world.other_body.id]["reason"]) == (
        False,
        "verification not completed",
    )
    assert (
        client.get(f"/api/v1/rounds/{world.round.id}/gate", headers=world.token(world.operator)).status_code
        == 403
    )


@pytest.fixture
def stage(session: Session, world: World) -> Stage:
    world.round.saq_weight = Decimal(70)
    session.flush()
    return make_stage(session, world.round, code="presentasi", weight=30)


def test_judges_score_separately_and_the_stage_score_is_their_mean(
    client: TestClient, session: Session, world: World, stage: Stage
) -> None:
    make_verified_submission(session, world.round, world.body, world.template, world.verifier)
    judges = [
        world.panelist,
        *(make_account(session, "panelist", commission_id=world.commission.id) for _ in range(2)),
    ]
    url = f"/api/v1/stages/{stage.id}/scores/{world.body.id}"
    for judge, score in zip(judges, ["85", "80", "82.5"], strict=True):
        response = client.put(
            url, json={"score": score, "criteria": {"materi": score}}, headers=world.token(judge)
        )
        assert response.status_code == 201, response.text
    changed = client.put(url, json={"score": "86"}, headers=world.token(judges[0]))
    assert changed.status_code == 200
    assert changed.json()["judge"]["score"] == "86.00"

    listed = get_json(client, f"/api/v1/stages/{stage.id}/scores", world.token(world.admin))
    (entry,) = listed["items"]
    assert [j["score"] for j in entry["judges"]] == ["86.00", "80.00", "82.50"]
    # (86 + 80 + 82.5) / 3 = 248.5 / 3 = 82.8333... -> 82.83.
    assert entry["stage_score"] == "82.83"
    own = get_json(client, f"/api/v1/stages/{stage.id}/scores", world.token(judges[1]))
    assert [j["score"] for j in own["items"][0]["judges"]] == ["80.00"]
    assert own["items"][0]["stage_score"] is None
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "stage.score")).all()
    assert [(a.before or {}).get("score") for a in audit] == [None, None, None, "85.00"]


@pytest.mark.parametrize("score", ["100.01", "-1", "85.123", "abc", None])
def test_a_panel_score_is_0_to_100_with_two_decimals_at_most(
    client: TestClient, session: Session, world: World, stage: Stage, score: object
) -> None:
    make_verified_submission(session, world.round, world.body, world.template, world.verifier)
    response = client.put(
        f"/api/v1/stages/{stage.id}/scores/{world.body.id}",
        json={"score": score},
        headers=world.token(world.panelist),
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"].endswith("score")


def test_only_bodies_through_the_gate_get_panel_scores(
    client: TestClient, session: Session, world: World, stage: Stage
) -> None:
    world.round.gate_min_score = Decimal("86")
    session.flush()
    make_verified_submission(session, world.round, world.body, world.template, world.verifier, {"1.1.2": "b"})
    make_submission(session, world.round, world.other_body, world.template)
    for body, reason in (
        (world.body, "verified score 85.00 is below the minimum 86.00"),
        (world.other_body, "did not take part"),
    ):
        response = client.put(
            f"/api/v1/stages/{stage.id}/scores/{body.id}",
            json={"score": "90"},
            headers=world.token(world.panelist),
        )
        assert response.status_code == 422
        assert problem(response)["errors"] == [
            {"field": "body_id", "message": f"did not pass the gate: {reason}"}
        ]


def test_operators_and_verifiers_do_not_score(
    client: TestClient, session: Session, world: World, stage: Stage
) -> None:
    make_verified_submission(session, world.round, world.body, world.template, world.verifier)
    for account in (world.operator, world.verifier):
        response = client.put(
            f"/api/v1/stages/{stage.id}/scores/{world.body.id}",
            json={"score": "90"},
            headers=world.token(account),
        )
        assert response.status_code == 403
