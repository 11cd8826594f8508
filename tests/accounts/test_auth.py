"""Logging in and out, token expiry and revocation, deactivated accounts, and API keys as credentials."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.security import digest
from app.db.models import AuthToken
from app.settings import Settings
from tests.factories import PASSWORD, World, auth, make_api_key, now, problem

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_login_returns_a_bearer_token_that_identifies_the_account(client: TestClient, world: World) -> None:
    body = login(client, world.operator.email)
    assert body["token_type"] == "bearer"
    assert body["account"]["id"] == world.operator.id
    assert body["account"]["role"] == "operator"
    assert "password_hash" not in body["account"]
    me = client.get(ME, headers=auth(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["account"]["email"] == world.operator.email
    assert me.json()["body_id"] == world.body.id
    assert me.json()["api_key"] is None


def test_login_ignores_email_case_and_surrounding_spaces(client: TestClient, world: World) -> None:
    body = login(client, f"  {world.admin.email.upper()} ")
    assert body["account"]["id"] == world.admin.id


def test_the_token_is_stored_only_as_its_digest(client: TestClient, world: World, session: Session) -> None:
    token = login(client, world.admin.email)["access_token"]
    hashes = session.scalars(select(AuthToken.token_hash).where(AuthToken.account_id == world.admin.id)).all()
    assert hashes == [digest(token)]


def test_the_token_expires_after_the_configured_hours(
    client: TestClient, world: World, settings: Settings
) -> None:
    expires_at = datetime.fromisoformat(login(client, world.admin.email)["expires_at"])
    assert expires_at.utcoffset() == timedelta(0)
    ttl = timedelta(hours=settings.token_ttl_hours)
    assert ttl - timedelta(minutes=1) < expires_at - now() <= ttl


def test_an_expired_token_is_refused(client: TestClient, world: World, session: Session) -> None:
    token = login(client, world.admin.email)["access_token"]
    row = session.scalars(select(AuthToken).where(AuthToken.token_hash == digest(token))).one()
    row.expires_at = now() - timedelta(seconds=1)
    session.flush()
    response = client.get(ME, headers=auth(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "expired" in problem(response)["detail"]


def test_wrong_password_and_unknown_email_get_the_same_answer(client: TestClient, world: World) -> None:
    wrong_password = client.post(LOGIN, json={"email": world.admin.email, "password": "not-the-password"})
    unknown_email = client.post(LOGIN, json={"email": "nobody@example.go.id", "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert problem(wrong_password)["detail"] == problem(unknown_email)["detail"]
    assert problem(wrong_password)["detail"] == "the email or password is wrong"


def test_login_without_a_password_names_the_field(client: TestClient) -> None:
    response = client.post(LOGIN, json={"email": "a@example.go.id"})
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["password"]


def test_a_deactivated_account_cannot_log_in_and_its_tokens_stop_working(
    client: TestClient, world: World, session: Session
) -> None:
    headers = world.token(world.verifier)
    world.verifier.active = False
    session.flush()
    refused = client.post(LOGIN, json={"email": world.verifier.email, "password": PASSWORD})
    assert refused.status_code == 403
    assert "deactivated" in problem(refused)["detail"]
    assert client.get(ME, headers=headers).status_code == 401


def test_logout_revokes_exactly_the_token_used(client: TestClient, world: World) -> None:
    first = login(client, world.panelist.email)["access_token"]
    second = login(client, world.panelist.email)["access_token"]
    response = client.post(LOGOUT, headers=auth(first))
    assert response.status_code == 204
    assert client.get(ME, headers=auth(first)).status_code == 401
    assert client.post(LOGOUT, headers=auth(first)).status_code == 401
    assert client.get(ME, headers=auth(second)).status_code == 200


def test_requests_without_or_with_unknown_credentials_are_401(client: TestClient) -> None:
    assert problem(client.get(ME))["status"] == 401
    assert client.get(ME, headers=auth("made-up-token")).status_code == 401
    assert client.get(ME, headers={"X-API-Key": "emk_made-up"}).status_code == 401
    assert client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


def test_an_api_key_works_as_bearer_or_x_api_key(client: TestClient, world: World) -> None:
    key = make_api_key(world.session, world.commission, "body", body_id=world.body.id)
    for headers in ({"X-API-Key": key}, auth(key)):
        response = client.get(ME, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["role"] == "api_body"
        assert body["body_id"] == world.body.id
        assert body["account"] is None
        assert body["api_key"]["scope"] == "body"
        assert key not in response.text


def test_an_api_key_cannot_log_out(client: TestClient, world: World) -> None:
    key = make_api_key(world.session, world.commission)
    response = client.post(LOGOUT, headers={"X-API-Key": key})
    assert response.status_code == 403
    assert "revoke" in problem(response)["detail"]
    assert client.get(ME, headers={"X-API-Key": key}).status_code == 200
