"""Final scores, publication revisions, rankings (members and public), participation and history.

The round: SAQ 70 + presentasi 30, gate: verified SAQ at least 82, missing-stage policy ``zero`` unless a test
changes it. Six kelurahan bodies are invited (verified scores on the mini template, see tests/stages):

    body  verified  gate   panel  final (zero)                      band
    A     90.00     pass   80     90 x 0.7 + 80 x 0.3 = 63 + 24 = 87.00    menuju-informatif
    B     85.00     pass   90     85 x 0.7 + 90 x 0.3 = 59.5 + 27 = 86.50  menuju-informatif
    E     85.00     pass   90     86.50                              menuju-informatif
    C     80.00     fail   -      80 x 0.7 + 0 x 0.3 = 56.00         kurang-informatif
    D     -  (invited, no account, no submission: tidak mengikuti)
    F     -  (invited, an operator account, no submission: registered, tidak mengikuti)

Ranks: A 1, B 2, E 2, C 4 (B and E tie at 86.50; the next rank is 4).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Invitation, PanelScore, Publication, PublicBody, PublishedResult, Round, Stage
from app.results.service import (
    band_counts,
    iter_published_results,
    latest_publication,
    participation,
    participation_total,
)
from tests.factories import (
    World,
    get_json,
    make_account,
    make_body,
    make_category,
    make_commission,
    make_round,
    make_stage,
    make_verified_submission,
    problem,
)


@dataclass
class Season:
    a: PublicBody
    b: PublicBody
    c: PublicBody
    d: PublicBody
    e: PublicBody
    f: PublicBody
    stage: Stage


@pytest.fixture
def season(session: Session, world: World) -> Season:
    round_ = world.round
    round_.status = "final"
    round_.saq_weight = Decimal(70)
    round_.gate_min_score = Decimal(82)
    stage = make_stage(session, round_, code="presentasi", weight=30)
    a, b = world.body, world.other_body
    c, d, e, f = (make_body(session, world.category, name=f"Kelurahan {n}") for n in "CDEF")
    session.add_all(Invitation(round_id=round_.id, body_id=x.id) for x in (c, d, e, f))
    make_account(session, "operator", commission_id=world.commission.id, body_id=f.id)
    for body, changes in (
        (a, {"2.2": 60}),
        (b, {"1.1.2": "b"}),
        (e, {"1.1.2": "b"}),
        (c, {"2.1": ["ig"], "2.2": 60}),
    ):
        make_verified_submission(session, round_, body, world.template, world.verifier, changes)
    for body, score in ((a, 80), (b, 90), (e, 90)):
        session.add(
            PanelScore(
                stage_id=stage.id, body_id=body.id, panelist_id=world.panelist.id, score=Decimal(score)
            )
        )
    session.flush()
    return Season(a, b, c, d, e, f, stage)


def publish(client: TestClient, world: World, reason: str = "Keputusan pleno 1/2025") -> dict:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": reason}, headers=world.token(world.admin)
    )
    assert response.status_code == 201, response.text
    return response.json()


def ranking(client: TestClient, world: World, query: str = "", headers: dict | None = None) -> dict:
    return get_json(
        client,
        f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan{query}",
        headers or world.token(world.admin),
    )


def test_participation_counts_invited_registered_submitted_and_verified(
    session: Session, world: World, season: Season
) -> None:
    (row,) = participation(session=session, round_=world.round)
    # Invited 6; registered: A and B (operators), C and E (submissions), F (operator) = 5; submitted and
    # verified: A, B, C, E = 4. 5/6 = 83.333 -> 83.33; 4/6 = 66.666 -> 66.67.
    assert (row.category_code, row.invited, row.registered, row.submitted, row.verified) == (
        "kelurahan",
        6,
        5,
        4,
        4,
    )
    assert (row.registered_pct, row.submitted_pct, row.verified_pct) == (
        Decimal("83.33"),
        Decimal("66.67"),
        Decimal("66.67"),
    )
    total = participation_total([row])
    assert (total.category_id, total.invited, total.submitted_pct) == (None, 6, Decimal("66.67"))


def test_live_results_apply_the_gate_and_the_missing_stage_policy(
    client: TestClient, session: Session, world: World, season: Season
) -> None:
    url = f"/api/v1/rounds/{world.round.id}/results"
    live = get_json(client, url, world.token(world.admin))
    rows = {r["body_id"]: r for r in live["items"]}
    assert live["stage_weights"] == {"saq": "70", "presentasi": "30"}
    assert live["ready_to_publish"] is True
    assert [
        (rows[x.id]["final_score"], rows[x.id]["band"], rows[x.id]["rank"])
        for x in (season.a, season.b, season.e, season.c)
    ] == [
        ("87.00", "menuju-informatif", 1),
        ("86.50", "menuju-informatif", 2),
        ("86.50", "menuju-informatif", 2),
        ("56.00", "kurang-informatif", 4),
    ]
    assert rows[season.c.id]["passed_gate"] is False
    assert rows[season.c.id]["stage_scores"] == {"saq": "80.00"}
    assert rows[season.d.id]["participating"] is False
    assert rows[season.d.id]["final_score"] is None

    world.round.missing_stage_policy = "saq_only"
    session.flush()
    rows = {r["body_id"]: r for r in get_json(client, url, world.token(world.admin))["items"]}
    # saq_only: C keeps its verified SAQ score 80.00 (Menuju Informatif, from 80) and ranks 4th still.
    assert (rows[season.c.id]["final_score"], rows[season.c.id]["band"], rows[season.c.id]["rank"]) == (
        "80.00",
        "menuju-informatif",
        4,
    )
    for account in (world.operator, world.panelist, world.verifier):
        assert client.get(url, headers=world.token(account)).status_code == 403


def test_a_gate_passer_without_a_panel_score_blocks_publication(
    client: TestClient, session: Session, world: World, season: Season
) -> None:
    session.execute(PanelScore.__table__.delete().where(PanelScore.body_id == season.b.id))
    live = get_json(client, f"/api/v1/rounds/{world.round.id}/results", world.token(world.admin))
    assert live["ready_to_publish"] is False
    row = next(r for r in live["items"] if r["body_id"] == season.b.id)
    assert (row["final_score"], row["incomplete"]) == (None, "no panel score yet for presentasi")
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": "x"}, headers=world.token(world.admin)
    )
    assert response.status_code == 409
    assert problem(response)["incomplete"] == [
        {"body_id": season.b.id, "body_name": season.b.name, "reason": "no panel score yet for presentasi"}
    ]


def test_publication_needs_a_final_round(client: TestClient, world: World, season: Season) -> None:
    world.round.status = "stages"
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": "x"}, headers=world.token(world.admin)
    )
    assert response.status_code == 409
    assert problem(response)["round_status"] == "stages"


def test_results_are_hidden_until_published(client: TestClient, world: World, season: Season) -> None:
    url = f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan"
    for headers in ({}, world.token(world.operator), world.token(world.admin)):
        public = client.get(
            f"/api/v1/public/rounds/{world.round.id}/rankings?category=kelurahan", headers=headers
        )
        assert public.status_code == 404
    for account in (world.operator, world.admin):
        assert client.get(url, headers=world.token(account)).status_code == 404
    assert client.get(url).status_code == 401


def test_publishing_freezes_a_snapshot_and_the_ranking_shares_ranks(
    client: TestClient, session: Session, world: World, season: Season
) -> None:
    published = publish(client, world)
    assert (published["revision"], published["stage_weights"]) == (1, {"saq": "70", "presentasi": "30"})
    session.refresh(world.round)
    assert world.round.status == "published"

    page = ranking(client, world)
    items = [(i["rank"], i["body_name"], i["final_score"], i["band"]) for i in page["items"]]
    assert items == [
        (1, season.a.name, "87.00", "menuju-informatif"),
        # Tied bodies share rank 2 and are listed by name ("Kelurahan E" before "Kelurahan Uji ...").
        (2, season.e.name, "86.50", "menuju-informatif"),
        (2, season.b.name, "86.50", "menuju-informatif"),
        (4, season.c.name, "56.00", "kurang-informatif"),
        (None, season.d.name, None, None),
        (None, season.f.name, None, None),
    ]
    first = page["items"][0]
    # A: self-assessed 100.00, verified 90.00, presentasi 80.00.
    assert (first["self_score"], first["verified_score"], first["stage_scores"]) == (
        "100.00",
        "90.00",
        {"saq": "90.00", "presentasi": "80.00"},
    )
    assert page["items"][4]["band_label"] == "Tidak Mengikuti"
    counts = {c["code"]: c["count"] for c in page["summary"]["band_counts"]}
    assert counts == {
        "informatif": 0,
        "menuju-informatif": 3,
        "cukup-informatif": 0,
        "kurang-informatif": 1,
        "tidak-informatif": 0,
        "tidak-mengikuti": 2,
    }
    assert page["summary"]["participation"] == {
        "category": "kelurahan",
        "invited": 6,
        "registered": 5,
        "started": 4,
        "submitted": 4,
        "verified": 4,
        "registered_pct": "83.33",
        "started_pct": "66.67",
        "submitted_pct": "66.67",
        "verified_pct": "66.67",
    }

    # The service read API returns the same frozen figures.
    publication = latest_publication(session=session, round_=world.round)
    assert publication is not None
    rows = list(iter_published_results(session=session, publication=publication))
    assert [(r.rank, r.final_score) for r in rows][:4] == [
        (1, Decimal("87.00")),
        (2, Decimal("86.50")),
        (2, Decimal("86.50")),
        (4, Decimal("56.00")),
    ]
    assert rows[0].aspect_scores == {"1": Decimal("100.00"), "2": Decimal("75.00")}
    (count_row,) = band_counts(session=session, publication=publication)
    assert (count_row.not_participating, count_row.total) == (2, 6)


def test_the_ranking_pages_walk_every_body_once_in_order(
    client: TestClient, world: World, season: Season
) -> None:
    publish(client, world)
    seen: list[int | None] = []
    cursor = ""
    pages = 0
    while True:
        page = ranking(client, world, f"&limit=2{cursor}")
        assert (page["summary"] is None) == (pages > 0)
        seen += [i["rank"] for i in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == [1, 2, 2, 4, None, None]
    assert pages == 3
    bad = client.get(
        f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan&cursor=nonsense",
        headers=world.token(world.admin),
    )
    assert problem(bad)["errors"] == [{"field": "cursor", "message": "not a cursor from this API"}]


def test_a_correction_is_a_new_revision_and_the_old_one_stays(
    client: TestClient, session: Session, world: World, season: Season
) -> None:
    publish(client, world)
    again = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": "ulang"}, headers=world.token(world.admin)
    )
    assert again.status_code == 409
    assert problem(again)["revision"] == 1

    session.execute(
        PanelScore.__table__.update().where(PanelScore.body_id == season.e.id).values(score=Decimal(92))
    )
    # E: 85 x 0.7 + 92 x 0.3 = 59.5 + 27.6 = 87.10 -> now first; A 87.00 second; B 86.50 third.
    corrected = publish(client, world, "Koreksi nilai presentasi Kelurahan E")
    assert corrected["revision"] == 2
    latest = ranking(client, world)
    assert [(i["rank"], i["body_name"], i["final_score"]) for i in latest["items"][:3]] == [
        (1, season.e.name, "87.10"),
        (2, season.a.name, "87.00"),
        (3, season.b.name, "86.50"),
    ]
    first = ranking(client, world, "&revision=1")
    assert first["revision"] == 1
    assert [(i["rank"], i["body_name"]) for i in first["items"][:3]] == [
        (1, season.a.name),
        (2, season.e.name),
        (2, season.b.name),
    ]
    revisions = get_json(client, f"/api/v1/rounds/{world.round.id}/publications", world.token(world.operator))
    assert [(p["revision"], p["reason"]) for p in revisions["items"]] == [
        (1, "Keputusan pleno 1/2025"),
        (2, "Koreksi nilai presentasi Kelurahan E"),
    ]
    assert (
        client.get(
            f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan&revision=3",
            headers=world.token(world.admin),
        ).status_code
        == 404
    )


def test_the_public_ranking_needs_no_login_and_members_of_other_commissions_are_refused(
    client: TestClient, session: Session, world: World, season: Season
) -> None:
    publish(client, world)
    public = client.get(f"/api/v1/public/rounds/{world.round.id}/rankings?category=kelurahan")
    assert public.status_code == 200
    assert public.json()["items"] == ranking(client, world)["items"]
    stranger = make_account(session, "commission_admin", commission_id=make_commission(session).id)
    refused = client.get(
        f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan", headers=world.token(stranger)
    )
    assert refused.status_code == 403
    operator_view = ranking(client, world, headers=world.token(world.operator))
    assert operator_view["revision"] == 1
    assert client.get(f"/api/v1/public/rounds/{world.round.id}/rankings?category=dinas").status_code == 404


def _published_round(
    session: Session, world: World, year: int, results: dict[PublicBody, tuple[str, str, int]]
) -> Round:
    round_ = make_round(
        session, world.commission, templates={world.category: world.template}, year=year, status="published"
    )
    publication = Publication(round_id=round_.id, revision=1, reason="pleno", stage_weights={"saq": "100"})
    session.add(publication)
    session.flush()
    for body, (score, band, rank) in results.items():
        session.add(
            PublishedResult(
                publication_id=publication.id,
                body_id=body.id,
                category_id=body.category_id,
                participating=True,
                self_score=Decimal(score),
                verified_score=Decimal(score),
                stage_scores={"saq": score},
                aspect_scores={},
                final_score=Decimal(score),
                band=band,
                rank=rank,
            )
        )
    session.flush()
    return round_


def test_history_shows_each_published_year_and_the_change_in_bands(
    client: TestClient, session: Session, world: World
) -> None:
    _published_round(session, world, 2023, {world.body: ("92.00", "informatif", 1)})
    _published_round(session, world, 2024, {world.body: ("70.00", "cukup-informatif", 3)})
    # Another commission's round never shows.
    elsewhere = make_commission(session)
    make_category(session, elsewhere)
    history = get_json(client, f"/api/v1/bodies/{world.body.id}/history", world.token(world.operator))
    entries = [
        (e["year"], e["final_score"], e["band"], e["score_change"], e["band_change"], e["band_change_text"])
        for e in history["entries"]
    ]
    # 92.00 Informatif -> 70.00 Cukup Informatif: -22.00, two bands down (Menuju Informatif skipped).
    assert entries == [
        (2023, "92.00", "informatif", None, None, None),
        (2024, "70.00", "cukup-informatif", "-22.00", -2, "-2 bands"),
    ]
    assert (
        client.get(
            f"/api/v1/bodies/{world.body.id}/history", headers=world.token(world.other_operator)
        ).status_code
        == 403
    )


def test_the_latest_publication_is_none_before_publishing(session: Session, world: World) -> None:
    assert latest_publication(session=session, round_=world.round) is None
    assert session.scalars(select(Publication)).all() == []


def test_a_body_outside_the_gate_keeps_the_policy_score_even_if_a_judge_scored_it(
    client: TestClient, session: Session, world: World, season: Season
) -> None:
    # C was scored before the gate was raised to 82: its 95 does not count, the zero policy does.
    session.add(
        PanelScore(stage_id=season.stage.id, body_id=season.c.id, panelist_id=world.panelist.id, score=95)
    )
    session.flush()
    rows = {
        r["body_id"]: r
        for r in get_json(client, f"/api/v1/rounds/{world.round.id}/results", world.token(world.admin))[
            "items"
        ]
    }
    assert (rows[season.c.id]["final_score"], rows[season.c.id]["stage_scores"]) == (
        "56.00",
        {"saq": "80.00"},
    )


def test_weights_that_do_not_sum_to_100_block_final_scores(
    client: TestClient, session: Session, world: World, season: Season
) -> None:
    season.stage.weight = Decimal(20)
    session.flush()
    live = get_json(client, f"/api/v1/rounds/{world.round.id}/results", world.token(world.admin))
    assert live["ready_to_publish"] is False
    assert {r["incomplete"] for r in live["items"] if r["participating"]} == {
        "the SAQ and stage weights sum to 90, not 100"
    }
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": "x"}, headers=world.token(world.admin)
    )
    assert response.status_code == 409
    assert "sum to 90" in problem(response)["detail"]


def test_a_ranking_cursor_past_the_integer_range_is_not_a_cursor(
    client: TestClient, world: World, season: Season
) -> None:
    # Both were 500s: the rank overflowed SQLite's INTEGER, and int() refuses more than 4,300 digits.
    publish(client, world)
    for text in (f"r:{2**63}:1", "n:" + "9" * 5000):
        cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        bad = client.get(
            f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan&cursor={cursor}",
            headers=world.token(world.admin),
        )
        assert problem(bad)["errors"] == [{"field": "cursor", "message": "not a cursor from this API"}]
