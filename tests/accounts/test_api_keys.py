"""Integrators' API keys: shown once, stored as a digest, scoped, revocable."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.security import digest
from app.db.models import ApiKey
from tests.factories import (
    World,
    make_account,
    make_api_key,
    make_body,
    make_category,
    make_commission,
    problem,
)

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"


def create(client: TestClient, headers: dict[str, str], **payload: Any) -> Any:
    return client.post(KEYS, json={"name": "Dasbor Diskominfo", "scope": "read"} | payload, headers=headers)


def test_a_key_is_shown_once_and_stored_as_its_digest(
    client: TestClient, world: World, session: Session
) -> None:
    response = create(client, world.token(world.admin))
    assert response.status_code == 201, response.text
    body = response.json()
    key = body["key"]
    assert key.startswith("emk_")
    assert key.startswith(body["prefix"])
    assert len(body["prefix"]) < len(key) // 3
    assert body["commission_id"] == world.commission.id
    row = session.get(ApiKey, body["id"])
    assert row is not None
    assert row.key_hash == digest(key)
    listed = client.get(KEYS, headers=world.token(world.admin))
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()["items"]] == [body["id"]]
    assert key not in listed.text
    assert "key" not in listed.json()["items"][0]


def test_the_new_key_authenticates_with_its_scope(client: TestClient, world: World) -> None:
    key = create(client, world.token(world.admin)).json()["key"]
    me = client.get(ME, headers={"X-API-Key": key}).json()
    assert me["role"] == "api_read"
    assert me["commission_id"] == world.commission.id
    assert me["body_id"] is None


def test_a_body_key_names_a_body_of_the_commission(client: TestClient, world: World) -> None:
    headers = world.token(world.admin)
    elsewhere = make_body(world.session, make_category(world.session, make_commission(world.session)))
    missing = create(client, headers, scope="body")
    assert missing.status_code == 422
    assert [e["field"] for e in problem(missing)["errors"]] == ["body_id"]
    foreign = create(client, headers, scope="body", body_id=elsewhere.id)
    assert foreign.status_code == 422
    stray = create(client, headers, scope="read", body_id=world.body.id)
    assert stray.status_code == 422
    made = create(client, headers, scope="body", body_id=world.body.id)
    assert made.status_code == 201
    me = client.get(ME, headers={"X-API-Key": made.json()["key"]}).json()
    assert (me["role"], me["body_id"]) == ("api_body", world.body.id)


def test_an_unknown_scope_is_refused(client: TestClient, world: World) -> None:
    response = create(client, world.token(world.admin), scope="write")
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["scope"]


def test_only_administrators_issue_keys(client: TestClient, world: World) -> None:
    for account in (world.verifier, world.panelist, world.operator):
        assert create(client, world.token(account)).status_code == 403
    read_key = make_api_key(world.session, world.commission)
    assert create(client, {"X-API-Key": read_key}).status_code == 403
    other = make_commission(world.session)
    assert create(client, world.token(world.admin), commission_id=other.id).status_code == 403


def test_a_system_admin_names_the_commission(client: TestClient, world: World) -> None:
    headers = world.token(world.system_admin)
    missing = create(client, headers)
    assert missing.status_code == 422
    assert [e["field"] for e in problem(missing)["errors"]] == ["commission_id"]
    assert create(client, headers, commission_id=world.commission.id).status_code == 201


def test_keys_can_neither_write_accounts_nor_read_the_audit_log(client: TestClient, world: World) -> None:
    for key in (
        make_api_key(world.session, world.commission, "read"),
        make_api_key(world.session, world.commission, "body", body_id=world.body.id),
    ):
        headers = {"X-API-Key": key}
        patched = client.patch(f"/api/v1/accounts/{world.operator.id}", json={"name": "X"}, headers=headers)
        assert patched.status_code == 403
        assert client.get("/api/v1/audit", headers=headers).status_code == 403
        assert client.get("/api/v1/accounts", headers=headers).status_code == 403


def test_a_revoked_key_gets_401(client: TestClient, world: World) -> None:
    admin = world.token(world.admin)
    created = create(client, admin).json()
    headers = {"X-API-Key": created["key"]}
    assert client.get(ME, headers=headers).status_code == 200
    assert client.delete(f"{KEYS}/{created['id']}", headers=admin).status_code == 204
    refused = client.get(ME, headers=headers)
    assert refused.status_code == 401
    assert "revoked" in problem(refused)["detail"]
    assert client.get(ME, headers={"Authorization": f"Bearer {created['key']}"}).status_code == 401
    listed = client.get(KEYS, headers=admin).json()["items"]
    assert listed[0]["revoked_at"] is not None
    assert client.delete(f"{KEYS}/{created['id']}", headers=admin).status_code == 204


def test_only_the_commissions_administrators_revoke_its_keys(
    client: TestClient, world: World, session: Session
) -> None:
    key = make_api_key(session, world.commission)
    key_id = session.scalars(select(ApiKey.id).where(ApiKey.key_hash == digest(key))).one()
    other_admin = make_account(session, "commission_admin", commission_id=make_commission(session).id)
    url = f"{KEYS}/{key_id}"
    assert client.delete(url, headers=world.token(other_admin)).status_code == 403
    assert client.delete(url, headers=world.token(world.verifier)).status_code == 403
    assert client.delete(url, headers={"X-API-Key": key}).status_code == 403
    assert client.delete(f"{KEYS}/999999", headers=world.token(world.admin)).status_code == 404
    assert client.get(ME, headers={"X-API-Key": key}).status_code == 200


def test_the_key_list_shows_only_the_commissions_keys(client: TestClient, world: World) -> None:
    other = make_commission(world.session)
    make_api_key(world.session, other)
    mine = make_api_key(world.session, world.commission)
    items = client.get(KEYS, headers=world.token(world.admin)).json()["items"]
    assert [k["prefix"] for k in items] == [mine[:12]]
    assert (
        client.get(KEYS, params={"commission_id": other.id}, headers=world.token(world.admin)).status_code
        == 403
    )
