"""Public bodies over HTTP: registration, filters, visibility, edits and the hierarchy."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.models import VerifierAssignment
from tests.factories import World, get_json, make_body, make_category, make_commission, problem

API = "/api/v1"


def _create(client: TestClient, world: World, **payload: object) -> dict[str, object]:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies",
        json={"category": "kelurahan"} | payload,
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_an_admin_registers_a_body(client: TestClient, world: World) -> None:
    created = _create(
        client,
        world,
        name="  Kelurahan   Gondangdia ",
        region_code="31.71.06.1005",
        ppid_email="ppid.gondangdia@jakarta.go.id",
    )
    assert {
        k: created[k] for k in ("name", "category", "region_code", "ppid_email", "active", "parent_id")
    } == {
        "name": "Kelurahan Gondangdia",
        "category": "kelurahan",
        "region_code": "31.71.06.1005",
        "ppid_email": "ppid.gondangdia@jakarta.go.id",
        "active": True,
        "parent_id": None,
    }


def test_bad_region_code_and_email_are_each_named(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies",
        json={"name": "X", "category": "kelurahan", "region_code": "3171011001", "ppid_email": "ppid@"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert sorted(e["field"] for e in problem(response)["errors"]) == ["ppid_email", "region_code"]


def test_an_unknown_category_is_named(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies",
        json={"name": "X", "category": "kementerian"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "category"


def test_a_name_already_used_ignoring_case_is_a_conflict(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies",
        json={"name": world.body.name.upper(), "category": "kelurahan"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 409
    assert problem(response)["errors"][0]["field"] == "name"


def test_a_parent_from_another_commission_is_refused(
    client: TestClient, world: World, session: Session
) -> None:
    foreign = make_body(session, make_category(session, make_commission(session)))
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies",
        json={"name": "X", "category": "kelurahan", "parent_id": foreign.id},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "parent_id"


def test_a_parent_change_making_a_cycle_is_refused(client: TestClient, world: World) -> None:
    top = _create(client, world, name="Kecamatan Menteng")
    middle = _create(client, world, name="Kelurahan Menteng", parent_id=top["id"])
    leaf = _create(client, world, name="RW 01 Menteng", parent_id=middle["id"])
    response = client.patch(
        f"{API}/bodies/{top['id']}", json={"parent_id": leaf["id"]}, headers=world.token(world.admin)
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "parent_id", "message": "would make a cycle in the body hierarchy"}
    ]
    itself = client.patch(
        f"{API}/bodies/{top['id']}", json={"parent_id": top["id"]}, headers=world.token(world.admin)
    )
    assert itself.status_code == 422


def test_patch_changes_only_the_fields_sent(client: TestClient, world: World) -> None:
    url = f"{API}/bodies/{world.body.id}"
    response = client.patch(url, json={"active": False, "ppid_email": None}, headers=world.token(world.admin))
    assert response.status_code == 200, response.text
    assert (response.json()["active"], response.json()["ppid_email"], response.json()["name"]) == (
        False,
        None,
        world.body.name,
    )


def test_patch_refuses_a_null_name(client: TestClient, world: World) -> None:
    response = client.patch(
        f"{API}/bodies/{world.body.id}", json={"name": None}, headers=world.token(world.admin)
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "name"


def test_an_operator_sees_only_its_own_body(client: TestClient, world: World) -> None:
    listed = get_json(client, f"{API}/commissions/{world.commission.id}/bodies", world.token(world.operator))
    assert [b["id"] for b in listed["items"]] == [world.body.id]
    other = client.get(f"{API}/bodies/{world.other_body.id}", headers=world.token(world.operator))
    assert other.status_code == 403
    assert (
        client.patch(
            f"{API}/bodies/{world.body.id}", json={"active": False}, headers=world.token(world.operator)
        ).status_code
        == 403
    )


def test_a_verifier_sees_only_assigned_bodies(client: TestClient, world: World, session: Session) -> None:
    session.add(
        VerifierAssignment(
            round_id=world.round.id, body_id=world.other_body.id, verifier_id=world.verifier.id
        )
    )
    session.flush()
    listed = get_json(client, f"{API}/commissions/{world.commission.id}/bodies", world.token(world.verifier))
    assert [b["id"] for b in listed["items"]] == [world.other_body.id]


def test_filters_combine(client: TestClient, world: World, session: Session) -> None:
    kecamatan = make_category(session, world.commission, code="kecamatan")
    menteng = make_body(session, kecamatan, name="Kecamatan Menteng", region_code="31.71.06")
    make_body(
        session,
        world.category,
        name="Kelurahan Gondangdia",
        region_code="31.71.06.1005",
        parent_id=menteng.id,
    )
    make_body(
        session, world.category, name="Kelurahan Menteng", region_code="31.71.06.1001", parent_id=menteng.id
    )
    make_body(session, world.category, name="Kelurahan Kenari", region_code="31.71.061", active=False)
    base = f"{API}/commissions/{world.commission.id}/bodies"
    headers = world.token(world.admin)

    def names(query: str) -> list[str]:
        return [b["name"] for b in get_json(client, f"{base}?{query}", headers)["items"]]

    assert names("region=31.71.06") == ["Kecamatan Menteng", "Kelurahan Gondangdia", "Kelurahan Menteng"]
    assert names("region=31.71.06&category=kelurahan") == ["Kelurahan Gondangdia", "Kelurahan Menteng"]
    assert names(f"parent={menteng.id}&q=menteng") == ["Kelurahan Menteng"]
    assert names("active=false") == ["Kelurahan Kenari"]
    assert names("q=GONDANG") == ["Kelurahan Gondangdia"]


def test_a_region_is_found_by_its_name_down_the_hierarchy(
    client: TestClient, world: World, session: Session
) -> None:
    kota = make_category(session, world.commission, code="kota")
    kecamatan = make_category(session, world.commission, code="kecamatan")
    pusat = make_body(session, kota, name="Kota Administrasi Jakarta Pusat", region_code="31.71")
    menteng = make_body(
        session, kecamatan, name="Kecamatan Menteng", region_code="31.71.06", parent_id=pusat.id
    )
    gambir = make_body(
        session, kecamatan, name="Kecamatan Gambir", region_code="31.71.01", parent_id=pusat.id
    )
    make_body(session, world.category, name="Kelurahan Gondangdia", parent_id=menteng.id)
    make_body(session, world.category, name="Kelurahan Menteng", parent_id=menteng.id)
    make_body(session, world.category, name="Kelurahan Kebon Kelapa", parent_id=gambir.id)
    base = f"{API}/commissions/{world.commission.id}/bodies"
    headers = world.token(world.admin)

    def names(query: str) -> list[str]:
        return sorted(b["name"] for b in get_json(client, f"{base}?{query}", headers)["items"])

    assert names("region=menteng") == ["Kecamatan Menteng", "Kelurahan Gondangdia", "Kelurahan Menteng"]
    assert names("region=Menteng&category=kelurahan") == ["Kelurahan Gondangdia", "Kelurahan Menteng"]
    assert names("region=Jakarta%20Pusat&q=kelurahan") == [
        "Kelurahan Gondangdia",
        "Kelurahan Kebon Kelapa",
        "Kelurahan Menteng",
    ]
    assert names("region=Bandung") == []


def test_bodies_invited_to_a_round_are_listed_apart(
    client: TestClient, world: World, session: Session
) -> None:
    make_body(session, world.category, name="Kelurahan Tidak Diundang")
    listed = get_json(
        client,
        f"{API}/commissions/{world.commission.id}/bodies?round={world.round.id}",
        world.token(world.admin),
    )
    assert sorted(b["id"] for b in listed["items"]) == sorted([world.body.id, world.other_body.id])


def test_a_bad_region_code_is_a_422(client: TestClient, world: World) -> None:
    response = client.get(
        f"{API}/commissions/{world.commission.id}/bodies?region=31.7", headers=world.token(world.admin)
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "query:region"


def test_the_list_is_paginated_in_a_stable_order(client: TestClient, world: World, session: Session) -> None:
    for n in range(5):
        make_body(session, world.category, name=f"Kelurahan Halaman {n}")
    base = f"{API}/commissions/{world.commission.id}/bodies?limit=3"
    headers = world.token(world.admin)
    first = get_json(client, base, headers)
    second = get_json(client, f"{base}&cursor={first['next_cursor']}", headers)
    third = get_json(client, f"{base}&cursor={second['next_cursor']}", headers)
    ids = [b["id"] for page in (first, second, third) for b in page["items"]]
    assert [len(page["items"]) for page in (first, second, third)] == [3, 3, 1]
    assert ids == sorted(set(ids))
    assert third["next_cursor"] is None


def test_another_commissions_bodies_are_forbidden(client: TestClient, world: World, session: Session) -> None:
    other = make_commission(session)
    response = client.get(f"{API}/commissions/{other.id}/bodies", headers=world.token(world.admin))
    assert response.status_code == 403
