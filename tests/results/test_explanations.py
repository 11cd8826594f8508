"""Published results explain themselves: every stage with whether the body took part and the score the
round's rule counts for it, the gate's decision frozen at publication, and one spelling of band codes.
The round is ``tests.results.gated``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.results.service import body_result, explained, latest_publication
from tests.factories import World, get_json, problem
from tests.results.gated import STAGE_TITLE, Gated, gated_season

pytestmark = pytest.mark.db

GATE_FAILED = f"Tidak lolos ke tahap {STAGE_TITLE}: nilai SAQ terverifikasi 80,00, batas 82."


@pytest.fixture
def gated(world: World) -> Gated:
    return gated_season(world)


def publish(client: TestClient, world: World, reason: str = "Keputusan pleno 3/2025") -> dict[str, Any]:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": reason}, headers=world.token(world.admin)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ranking(client: TestClient, world: World, query: str = "") -> dict[str, Any]:
    body: dict[str, Any] = get_json(
        client,
        f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan{query}",
        world.token(world.admin),
    )
    return body


def by_name(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["body_name"]: item for item in page["items"]}


def stage(code: str, score: str | None, took_part: bool, reason: str | None, weight: str) -> dict[str, Any]:
    title = "SAQ" if code == "saq" else STAGE_TITLE
    return {
        "code": code,
        "title": title,
        "weight": weight,
        "score": score,
        "took_part": took_part,
        "reason": reason,
    }


def test_every_stage_of_every_body_says_whether_it_took_part(client: TestClient, gated: Gated) -> None:
    world = gated.world
    published = publish(client, world)
    assert published["rules"] == {
        "gate_min_score": "82.00",
        "gate_top_n": None,
        "missing_stage_policy": "zero",
        "stage_titles": {"presentasi": STAGE_TITLE},
    }
    page = ranking(client, world)
    assert page["rules"] == published["rules"]
    items = by_name(page)
    first = items[world.body.name]
    assert first["stages"] == [
        stage("saq", "90.00", True, None, "70"),
        stage("presentasi", "80.00", True, None, "30"),
    ]
    assert (first["passed_gate"], first["gate_rank"], first["missing_stages"]) == (True, 1, [])
    failed = items[gated.failed.name]
    # 80.00 is below the gate of 82: the presentation was not taken part in and counts 0 (policy zero).
    assert failed["stages"] == [
        stage("saq", "80.00", True, None, "70"),
        stage("presentasi", "0.00", False, "gate_not_passed", "30"),
    ]
    assert (failed["passed_gate"], failed["gate_rank"], failed["missing_stages"]) == (
        False,
        3,
        ["presentasi"],
    )
    assert (failed["final_score"], failed["band"]) == ("56.00", "kurang-informatif")
    # The existing field still holds only the stages taken part in.
    assert failed["stage_scores"] == {"saq": "80.00"}
    absent = items[gated.absent.name]
    assert absent["stages"] == [
        stage("saq", None, False, "not_participating", "70"),
        stage("presentasi", None, False, "not_participating", "30"),
    ]
    assert (absent["passed_gate"], absent["missing_stages"]) == (None, ["saq", "presentasi"])


def test_under_saq_only_a_missed_stage_is_not_counted(client: TestClient, world: World) -> None:
    gated = gated_season(world, policy="saq_only")
    publish(client, world)
    failed = by_name(ranking(client, world))[gated.failed.name]
    assert failed["stages"][1] == stage("presentasi", None, False, "gate_not_passed", "30")
    assert (failed["final_score"], failed["band"]) == ("80.00", "menuju-informatif")


def test_the_explanation_of_a_published_result_survives_a_later_change_of_the_round(
    client: TestClient, session: Session, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    publication = latest_publication(session=session, round_=world.round)
    assert publication is not None
    row = body_result(session=session, publication=publication, body_id=gated.failed.id)
    assert row is not None
    before = explained(publication=publication, row=row)
    assert before.gate == GATE_FAILED
    assert before.final == (
        "Menurut aturan periode ini, tahap yang tidak diikuti dihitung 0. "
        f"Nilai akhir = SAQ 80,00 × 70% + {STAGE_TITLE} 0,00 × 30% = 56,00."
    )

    # The round changes afterwards (here straight in the database: the service refuses once it is final).
    world.round.gate_min_score = Decimal(50)
    world.round.gate_top_n = 1
    world.round.missing_stage_policy = "saq_only"
    gated.stage.title = "Visitasi"
    session.flush()

    after = explained(publication=publication, row=row)
    assert (after.gate, after.final, after.stages) == (before.gate, before.final, before.stages)
    page = ranking(client, world)
    assert page["rules"]["gate_min_score"] == "82.00"
    assert page["rules"]["missing_stage_policy"] == "zero"
    failed = by_name(page)[gated.failed.name]
    assert failed["stages"][1] == stage("presentasi", "0.00", False, "gate_not_passed", "30")


def test_a_top_n_gate_explains_the_rank(client: TestClient, session: Session, gated: Gated) -> None:
    world = gated.world
    world.round.gate_min_score = None
    world.round.gate_top_n = 2
    session.flush()
    publish(client, world)
    publication = latest_publication(session=session, round_=world.round)
    assert publication is not None
    failed = body_result(session=session, publication=publication, body_id=gated.failed.id)
    passed = body_result(session=session, publication=publication, body_id=world.other_body.id)
    assert failed is not None
    assert passed is not None
    assert explained(publication=publication, row=failed).gate == (
        f"Tidak lolos ke tahap {STAGE_TITLE}: peringkat 3 di kategori Kelurahan, yang lolos 2 teratas."
    )
    assert explained(publication=publication, row=passed).gate == (
        f"Lolos ke tahap {STAGE_TITLE}: peringkat 2 di kategori Kelurahan, yang lolos 2 teratas."
    )


def test_the_band_filter_reads_both_spellings_of_tidak_mengikuti(client: TestClient, gated: Gated) -> None:
    world = gated.world
    publish(client, world)
    counts = {c["code"]: c["count"] for c in ranking(client, world)["summary"]["band_counts"]}
    assert counts["tidak-mengikuti"] == 1
    assert "tidak_mengikuti" not in counts
    for spelling in ("tidak-mengikuti", "tidak_mengikuti"):
        page = ranking(client, world, f"&band={spelling}")
        assert [i["body_name"] for i in page["items"]] == [gated.absent.name]
    menuju = ranking(client, world, "&band=menuju-informatif")
    assert [i["rank"] for i in menuju["items"]] == [1, 2]
    public = client.get(
        f"/api/v1/public/rounds/{world.round.id}/rankings?category=kelurahan&band=tidak_mengikuti"
    )
    assert [i["body_name"] for i in public.json()["items"]] == [gated.absent.name]
    # The old spelling is deprecated: an answer to a request that uses it says so (RFC 9745, 2026-12-04).
    assert public.headers["Deprecation"] == "@1796342400"
    members = f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan&band="
    old = client.get(members + "tidak_mengikuti", headers=world.token(world.admin))
    new = client.get(members + "tidak-mengikuti", headers=world.token(world.admin))
    assert old.headers["Deprecation"] == "@1796342400"
    assert "Deprecation" not in new.headers
    bad = client.get(
        f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan&band=juara",
        headers=world.token(world.admin),
    )
    assert bad.status_code == 422
    assert [e["field"] for e in problem(bad)["errors"]] == ["band"]


def test_a_correction_that_only_changes_the_rules_is_a_new_revision(
    client: TestClient, session: Session, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    world.round.status = "published"
    # No figure moves when the gate is lowered to 81 (Cempaka has 80.00), but the explanation would.
    world.round.gate_min_score = Decimal(81)
    session.flush()
    corrected = publish(client, world, "Koreksi batas tahap presentasi")
    assert (corrected["revision"], corrected["rules"]["gate_min_score"]) == (2, "81.00")
