"""An API key works only while the administrator who issued it could still issue it (README, "API keys and
their creator"): deactivating the issuer, or taking the administrator role away, stops the key at once (401
problem+json); restoring them brings it back."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.db.models import Account
from tests.factories import World, make_account, problem

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"


def _issue(client: TestClient, world: World, issuer: Account, **payload: object) -> dict[str, str]:
    created = client.post(
        KEYS, json={"name": "Dasbor Diskominfo", "scope": "read"} | payload, headers=world.token(issuer)
    )
    assert created.status_code == 201, created.text
    assert created.json()["created_by_id"] == issuer.id
    return {"X-API-Key": created.json()["key"]}


def _change(client: TestClient, world: World, issuer: Account, **changes: object) -> None:
    changed = client.patch(f"/api/v1/accounts/{issuer.id}", json=changes, headers=world.token(world.admin))
    assert changed.status_code == 200, changed.text


def _refused(client: TestClient, key: dict[str, str]) -> None:
    response = client.get(ME, headers=key)
    assert response.status_code == 401
    assert "issued it is deactivated" in problem(response)["detail"]


def test_a_key_stops_when_its_issuer_is_deactivated_and_works_again_when_reactivated(
    client: TestClient, world: World
) -> None:
    issuer = make_account(world.session, "commission_admin", commission_id=world.commission.id)
    issuer_headers = world.token(issuer)
    key = _issue(client, world, issuer)
    assert client.get(ME, headers=key).status_code == 200

    _change(client, world, issuer, active=False)

    assert client.get(ME, headers=issuer_headers).status_code == 401
    _refused(client, key)
    _change(client, world, issuer, active=True)
    assert client.get(ME, headers=key).status_code == 200


def test_a_key_stops_when_its_issuer_is_no_longer_an_administrator(client: TestClient, world: World) -> None:
    issuer = make_account(world.session, "commission_admin", commission_id=world.commission.id)
    key = _issue(client, world, issuer, scope="body", body_id=world.body.id)
    assert client.get(f"/api/v1/bodies/{world.body.id}", headers=key).status_code == 200

    _change(client, world, issuer, role="verifier")

    _refused(client, key)
    _change(client, world, issuer, role="commission_admin")
    assert client.get(f"/api/v1/bodies/{world.body.id}", headers=key).status_code == 200


def test_a_system_administrators_key_follows_the_system_administrator(
    client: TestClient, world: World
) -> None:
    key = _issue(client, world, world.system_admin, commission_id=world.commission.id)
    assert client.get(ME, headers=key).status_code == 200

    world.system_admin.active = False
    world.session.flush()

    _refused(client, key)
