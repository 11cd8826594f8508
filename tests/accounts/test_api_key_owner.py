"""API keys belong to the commission, not to the administrator who issued them (README, "API keys")."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import World, make_account

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"


def test_a_key_keeps_working_after_its_issuer_is_deactivated_until_revoked(
    client: TestClient, world: World
) -> None:
    issuer = make_account(world.session, "commission_admin", commission_id=world.commission.id)
    issuer_headers = world.token(issuer)
    created = client.post(KEYS, json={"name": "Dasbor Diskominfo", "scope": "read"}, headers=issuer_headers)
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    assert created.json()["created_by_id"] == issuer.id

    deactivated = client.patch(
        f"/api/v1/accounts/{issuer.id}", json={"active": False}, headers=world.token(world.admin)
    )
    assert deactivated.status_code == 200, deactivated.text

    assert client.get(ME, headers=issuer_headers).status_code == 401
    assert client.get(ME, headers=key).status_code == 200  # the integration keeps running
    revoked = client.delete(f"{KEYS}/{created.json()['id']}", headers=world.token(world.admin))
    assert revoked.status_code == 204
    assert client.get(ME, headers=key).status_code == 401
