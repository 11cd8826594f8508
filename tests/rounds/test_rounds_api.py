"""Rounds over HTTP: creation with aware instants, local rendering, status steps, templates, stages, gate."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, PanelScore, Stage
from tests.factories import (
    ROOT,
    World,
    get_json,
    make_body,
    make_category,
    make_commission,
    make_round,
    make_submission,
    make_template,
    problem,
)

API = "/api/v1"
KIP = ROOT / "questionnaires"
ROUND = {
    "year": 2025,
    "title": "Monev KIP 2025",
    "saq_opens_at": "2025-08-01T00:00:00+07:00",
    "saq_closes_at": "2025-08-31T23:59:00+07:00",
}


def _create(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json=ROUND | overrides,
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_round_starts_as_a_draft_with_utc_and_local_times(client: TestClient, world: World) -> None:
    created = _create(client, world)
    assert created["status"] == "draft"
    assert created["timezone"] == "Asia/Jakarta"
    assert created["saq_closes_at"] == "2025-08-31T16:59:00Z"
    assert created["saq_closes_at_local"] == "2025-08-31 23:59 WIB"
    assert created["saq_opens_at_local"] == "2025-08-01 00:00 WIB"
    assert (created["saq_weight"], created["stages"], created["missing_stage_policy"]) == ("100", [], "zero")


def test_local_times_follow_the_commissions_zone(client: TestClient, world: World, session: Session) -> None:
    world.commission.timezone = "Asia/Makassar"
    session.flush()
    created = _create(client, world)
    assert created["saq_closes_at_local"] == "2025-09-01 00:59 WITA"


def test_a_time_without_offset_is_refused_clearly(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json=ROUND | {"saq_closes_at": "2025-08-31T23:59:00"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    errors = problem(response)["errors"]
    assert [e["field"] for e in errors] == ["saq_closes_at"]
    assert "UTC offset" in errors[0]["message"]


def test_the_window_must_close_after_it_opens(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json=ROUND | {"saq_closes_at": "2025-07-31T23:59:00+07:00"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "saq_closes_at", "message": "must be after saq_opens_at (2025-08-01 00:00 WIB)"}
    ]


def test_the_objection_window_comes_after_the_saq_window(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json=ROUND | {"objection_opens_at": "2025-08-30T00:00:00+07:00", "objection_closes_at": None},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["objection_closes_at"]
    response = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json=ROUND
        | {
            "objection_opens_at": "2025-08-30T00:00:00+07:00",
            "objection_closes_at": "2025-09-30T00:00:00+07:00",
        },
        headers=world.token(world.admin),
    )
    assert [e["field"] for e in problem(response)["errors"]] == ["objection_opens_at"]


def test_the_same_title_twice_in_a_year_is_a_conflict(client: TestClient, world: World) -> None:
    _create(client, world)
    response = client.post(
        f"{API}/commissions/{world.commission.id}/rounds", json=ROUND, headers=world.token(world.admin)
    )
    assert response.status_code == 409
    assert problem(response)["errors"][0]["field"] == "title"


def test_members_read_rounds_and_others_do_not(client: TestClient, world: World, session: Session) -> None:
    listed = get_json(client, f"{API}/commissions/{world.commission.id}/rounds", world.token(world.operator))
    assert [r["id"] for r in listed["items"]] == [world.round.id]
    other = make_round(session, make_commission(session))
    assert client.get(f"{API}/rounds/{other.id}", headers=world.token(world.admin)).status_code == 403
    assert client.get(f"{API}/rounds/{world.round.id}").status_code == 401


def test_list_filters_by_status_and_year(client: TestClient, world: World) -> None:
    _create(client, world, year=2026, title="Monev KIP 2026")
    base = f"{API}/commissions/{world.commission.id}/rounds"
    headers = world.token(world.admin)
    assert [r["year"] for r in get_json(client, f"{base}?status=draft", headers)["items"]] == [2026]
    assert [r["status"] for r in get_json(client, f"{base}?year=2025", headers)["items"]] == ["open"]


def test_the_rounds_list_shows_a_system_administrator_every_commission(
    client: TestClient, world: World, session: Session
) -> None:
    other = make_commission(session, code="ki-jabar")
    theirs = make_round(session, other, status="draft")
    headers = world.token(world.system_admin)

    def ids(query: str = "") -> list[int]:
        return [r["id"] for r in get_json(client, f"{API}/rounds{query}", headers)["items"]]

    assert ids() == [world.round.id, theirs.id]
    assert ids("?commission=ki-jabar") == [theirs.id]
    assert ids(f"?commission={world.commission.id}") == [world.round.id]
    assert ids("?status=draft") == [theirs.id]
    assert ids("?status=open&commission=ki-jabar") == []
    assert ids("?year=2024") == []


def test_the_rounds_list_is_paginated(client: TestClient, world: World, session: Session) -> None:
    made = [world.round.id] + [make_round(session, world.commission).id for _ in range(2)]
    headers = world.token(world.admin)
    first = get_json(client, f"{API}/rounds?limit=2", headers)
    second = get_json(client, f"{API}/rounds?limit=2&cursor={first['next_cursor']}", headers)
    assert [r["id"] for r in first["items"] + second["items"]] == made
    assert second["next_cursor"] is None


def test_the_rounds_list_keeps_everyone_else_to_their_commission(
    client: TestClient, world: World, session: Session
) -> None:
    other = make_commission(session, code="ki-jateng")
    make_round(session, other)
    for account in (world.admin, world.verifier, world.operator, world.panelist):
        listed = get_json(client, f"{API}/rounds", world.token(account))
        assert [r["id"] for r in listed["items"]] == [world.round.id]
    refused = client.get(f"{API}/rounds?commission=ki-jateng", headers=world.token(world.admin))
    assert refused.status_code == 403
    assert problem(refused)["status"] == 403
    missing = client.get(f"{API}/rounds?commission=ki-tidak-ada", headers=world.token(world.admin))
    assert missing.status_code == 404
    assert client.get(f"{API}/rounds").status_code == 401
    bad = client.get(f"{API}/rounds?status=selesai", headers=world.token(world.admin))
    assert bad.status_code == 422


def test_an_operator_sees_its_own_deadline(client: TestClient, world: World) -> None:
    mine = get_json(client, f"{API}/rounds/{world.round.id}", world.token(world.operator))
    assert mine["your_closes_at"] == mine["saq_closes_at"]
    admin_view = get_json(client, f"{API}/rounds/{world.round.id}", world.token(world.admin))
    assert admin_view["your_closes_at"] is None


def test_only_admins_create_rounds(client: TestClient, world: World) -> None:
    for account in (world.verifier, world.panelist, world.operator):
        response = client.post(
            f"{API}/commissions/{world.commission.id}/rounds", json=ROUND, headers=world.token(account)
        )
        assert response.status_code == 403


# --- patch ------------------------------------------------------------------------------------------------


def test_a_draft_window_can_move(client: TestClient, world: World) -> None:
    created = _create(client, world)
    response = client.patch(
        f"{API}/rounds/{created['id']}",
        json={"saq_closes_at": "2025-09-07T23:59:00+07:00"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["saq_closes_at_local"] == "2025-09-07 23:59 WIB"


def test_an_open_window_moves_only_by_extension(client: TestClient, world: World) -> None:
    response = client.patch(
        f"{API}/rounds/{world.round.id}",
        json={"saq_closes_at": "2030-09-07T23:59:00+07:00"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 409
    assert "extension" in problem(response)["detail"]


def test_gate_and_missing_stage_policy_are_set_and_cleared(client: TestClient, world: World) -> None:
    url = f"{API}/rounds/{world.round.id}"
    headers = world.token(world.admin)
    response = client.patch(
        url, json={"gate_min_score": 65, "gate_top_n": 3, "missing_stage_policy": "saq_only"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["gate_min_score"], response.json()["gate_top_n"]) == ("65.00", 3)
    assert response.json()["missing_stage_policy"] == "saq_only"
    cleared = client.patch(url, json={"gate_top_n": None}, headers=headers).json()
    assert (cleared["gate_min_score"], cleared["gate_top_n"]) == ("65.00", None)


def test_bad_gate_and_policy_values_are_named(client: TestClient, world: World) -> None:
    response = client.patch(
        f"{API}/rounds/{world.round.id}",
        json={"gate_min_score": 101, "gate_top_n": 0, "missing_stage_policy": "drop"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert sorted(e["field"] for e in problem(response)["errors"]) == [
        "gate_min_score",
        "gate_top_n",
        "missing_stage_policy",
    ]


def test_patches_are_audited(client: TestClient, world: World, session: Session) -> None:
    client.patch(
        f"{API}/rounds/{world.round.id}", json={"gate_min_score": 60}, headers=world.token(world.admin)
    )
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "round.update", AuditEntry.entity_id == str(world.round.id)
        )
    ).one()
    assert (entry.before, entry.after, entry.actor_id) == (
        {"gate_min_score": None},
        {"gate_min_score": "60.00"},
        world.admin.id,
    )


# --- status ---------------------------------------------------------------------------------------------


def _status(client: TestClient, world: World, round_id: int, to: str, *, confirm: bool = False) -> Any:
    return client.post(
        f"{API}/rounds/{round_id}/status",
        json={"status": to, "confirm": confirm},
        headers=world.token(world.admin),
    )


def test_the_round_walks_its_statuses_in_order(client: TestClient, world: World, session: Session) -> None:
    for to in ("closed", "verification", "objection", "stages", "final"):
        # Closing a week early, with two bodies that never started, needs the confirmation.
        response = _status(client, world, world.round.id, to, confirm=to == "closed")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == to
    audit = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "round.status", AuditEntry.entity_id == str(world.round.id))
        .order_by(AuditEntry.id)
    ).all()
    assert audit[0].after["closed_early"] is True
    assert sorted(audit[0].after["not_started"]) == sorted([world.body.id, world.other_body.id])
    assert [(a.before["status"], a.after["status"], a.actor_id) for a in audit] == [
        ("open", "closed", world.admin.id),
        ("closed", "verification", world.admin.id),
        ("verification", "objection", world.admin.id),
        ("objection", "stages", world.admin.id),
        ("stages", "final", world.admin.id),
    ]


@pytest.mark.parametrize("to", ["draft", "verification", "final", "published"])
def test_an_illegal_step_is_a_conflict_naming_the_next(client: TestClient, world: World, to: str) -> None:
    response = _status(client, world, world.round.id, to)
    assert response.status_code == 409
    body = problem(response)
    assert body["errors"][0]["field"] == "status"
    assert body["allowed"] == ["closed"]


def test_publication_is_not_a_status_you_set(client: TestClient, world: World, session: Session) -> None:
    world.round.status = "final"
    session.flush()
    response = _status(client, world, world.round.id, "published")
    assert response.status_code == 409
    assert "publish" in problem(response)["detail"]


def test_an_unknown_status_is_a_422(client: TestClient, world: World) -> None:
    assert _status(client, world, world.round.id, "archived").status_code == 422


def test_opening_needs_invitations(client: TestClient, world: World) -> None:
    created = _create(client, world)
    response = _status(client, world, created["id"], "open")
    assert response.status_code == 409
    assert "invite" in problem(response)["detail"]


def test_opening_needs_a_template_for_every_invited_category(
    client: TestClient, world: World, session: Session
) -> None:
    created = _create(client, world)
    dinas = make_category(session, world.commission, code="dinas")
    make_body(session, dinas)
    headers = world.token(world.admin)
    client.post(
        f"{API}/rounds/{created['id']}/invitations",
        json={"category_codes": ["kelurahan", "dinas"]},
        headers=headers,
    )
    client.put(
        f"{API}/rounds/{created['id']}/templates",
        json={"kelurahan": {"key": "test-mini", "version": "1"}},
        headers=headers,
    )
    response = _status(client, world, created["id"], "open")
    assert response.status_code == 409
    assert [e["field"] for e in problem(response)["errors"]] == ["templates.dinas"]
    client.put(
        f"{API}/rounds/{created['id']}/templates",
        json={
            "kelurahan": {"key": "test-mini", "version": "1"},
            "dinas": {"key": "test-mini", "version": "1"},
        },
        headers=headers,
    )
    assert _status(client, world, created["id"], "open").status_code == 200


def test_only_admins_change_the_status(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/rounds/{world.round.id}/status",
        json={"status": "closed"},
        headers=world.token(world.verifier),
    )
    assert response.status_code == 403


# --- templates per category ------------------------------------------------------------------------------


def test_templates_are_set_per_category(client: TestClient, world: World, session: Session) -> None:
    kecamatan_template = make_template(session, KIP / "kip-2025/kecamatan.yaml")
    make_category(session, world.commission, code="kecamatan")
    response = client.put(
        f"{API}/rounds/{world.round.id}/templates",
        json={
            "kelurahan": {"key": "test-mini", "version": "1"},
            "kecamatan": {"key": kecamatan_template.key, "version": kecamatan_template.version},
        },
        headers=world.token(world.admin),
    )
    assert response.status_code == 200, response.text
    assert [(t["category"], t["key"]) for t in response.json()] == [
        ("kecamatan", "kip-saq-kecamatan"),
        ("kelurahan", "test-mini"),
    ]
    shown = get_json(client, f"{API}/rounds/{world.round.id}", world.token(world.operator))
    assert [t["category"] for t in shown["templates"]] == ["kecamatan", "kelurahan"]


def test_a_template_not_meant_for_the_category_is_refused(
    client: TestClient, world: World, session: Session
) -> None:
    kecamatan_template = make_template(session, KIP / "kip-2025/kecamatan.yaml")
    response = client.put(
        f"{API}/rounds/{world.round.id}/templates",
        json={
            "kelurahan": {"key": kecamatan_template.key, "version": kecamatan_template.version},
            "kementerian": {"key": "test-mini", "version": "1"},
            "kelurahan-x": {"key": "nope", "version": "1"},
        },
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {
            "field": "kelurahan",
            "message": "template kip-saq-kecamatan 2025.1 is for kecamatan, not for kelurahan",
        },
        {"field": "kementerian", "message": "the commission has no body category 'kementerian'"},
        {"field": "kelurahan-x", "message": "the commission has no body category 'kelurahan-x'"},
    ]


def test_a_started_category_keeps_its_template(client: TestClient, world: World, session: Session) -> None:
    make_submission(session, world.round, world.body, world.template)
    kelurahan_template = make_template(session, KIP / "kip-2025/kelurahan.yaml")
    response = client.put(
        f"{API}/rounds/{world.round.id}/templates",
        json={"kelurahan": {"key": kelurahan_template.key, "version": kelurahan_template.version}},
        headers=world.token(world.admin),
    )
    assert response.status_code == 409
    assert problem(response)["errors"][0]["field"] == "kelurahan"


# --- stages -----------------------------------------------------------------------------------------------


def _stages(client: TestClient, world: World, payload: dict[str, Any]) -> Any:
    return client.put(f"{API}/rounds/{world.round.id}/stages", json=payload, headers=world.token(world.admin))


PRESENTATION = {
    "code": "presentasi",
    "kind": "presentation",
    "title": "Presentasi / Uji Publik",
    "weight": 30,
}


def test_saq_70_and_presentation_30(client: TestClient, world: World) -> None:
    response = _stages(client, world, {"saq_weight": 70, "stages": [PRESENTATION]})
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["saq_weight"] == "70"
    assert [(s["code"], s["kind"], s["weight"], s["aggregation"]) for s in shown["stages"]] == [
        ("presentasi", "presentation", "30", "mean")
    ]


def test_weights_that_do_not_sum_to_100_are_refused(client: TestClient, world: World) -> None:
    response = _stages(
        client,
        world,
        {
            "saq_weight": 70,
            "stages": [
                PRESENTATION | {"weight": 20},
                PRESENTATION | {"code": "visitasi", "kind": "site_visit", "weight": 5},
            ],
        },
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {
            "field": "stages",
            "message": "the weights must sum to 100; SAQ 70 + presentasi 20 + visitasi 5 = 95",
        }
    ]


def test_stage_codes_are_unique_and_kinds_known(client: TestClient, world: World) -> None:
    response = _stages(client, world, {"saq_weight": 40, "stages": [PRESENTATION, PRESENTATION]})
    assert [e["field"] for e in problem(response)["errors"]] == ["stages.1.code"]
    response = _stages(client, world, {"saq_weight": 70, "stages": [PRESENTATION | {"kind": "debate"}]})
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "stages.0.kind"


def test_stages_are_replaced(client: TestClient, world: World, session: Session) -> None:
    _stages(client, world, {"saq_weight": 70, "stages": [PRESENTATION]})
    visit = {"code": "visitasi", "kind": "site_visit", "title": "Visitasi", "weight": 20}
    response = _stages(client, world, {"saq_weight": 80, "stages": [visit]})
    assert [s["code"] for s in response.json()["stages"]] == ["visitasi"]
    assert session.scalars(select(Stage.code).where(Stage.round_id == world.round.id)).all() == ["visitasi"]


def test_a_stage_with_panel_scores_stays(client: TestClient, world: World, session: Session) -> None:
    _stages(client, world, {"saq_weight": 70, "stages": [PRESENTATION]})
    stage = session.scalars(select(Stage).where(Stage.round_id == world.round.id)).one()
    session.add(PanelScore(stage_id=stage.id, body_id=world.body.id, panelist_id=world.panelist.id, score=80))
    session.flush()
    response = _stages(client, world, {"saq_weight": 100, "stages": []})
    assert response.status_code == 409


def test_stages_no_longer_change_once_they_begin(client: TestClient, world: World, session: Session) -> None:
    world.round.status = "stages"
    session.flush()
    assert _stages(client, world, {"saq_weight": 70, "stages": [PRESENTATION]}).status_code == 409
