"""Registering webhook endpoints: the secret shown once, the URL checked like an evidence link (no private or
loopback address unless the allow list says so), who may, and the audit trail."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, Webhook
from app.errors import InvalidInput
from app.settings import Settings
from app.webhooks.service import check_url
from tests.factories import World, make_account, make_commission, problem
from tests.webhooks.conftest import register

pytestmark = pytest.mark.db

PUBLIC_URL = "https://93.184.216.34/kait/emonev"  # a public address: no DNS look-up needed


def url_problem(response: object) -> str:
    body = problem(response)
    assert body["status"] == 422
    [error] = [e for e in body["errors"] if e["field"].endswith("url")]
    return str(error["message"])


def test_an_endpoint_is_registered_with_a_secret_shown_once_and_audited(
    hook_client: TestClient, world: World, session: Session
) -> None:
    created = register(hook_client, world, PUBLIC_URL, ["results.published", "round.status_changed"])
    secret = str(created["secret"])
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert created["events"] == ["results.published", "round.status_changed"]
    admin = world.token(world.admin)

    # Location is the endpoint; neither it nor the list shows the secret again.
    location = f"/api/v1/webhooks/{created['id']}"
    read = hook_client.get(location, headers=admin)
    assert read.status_code == 200
    assert read.json()["url"] == PUBLIC_URL
    assert "secret" not in read.json()
    listed = hook_client.get(f"/api/v1/commissions/{world.commission.id}/webhooks", headers=admin).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert all("secret" not in item for item in listed["items"])
    assert secret not in hook_client.get(location, headers=admin).text

    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.create")).one()
    assert entry.entity_id == str(created["id"])
    assert entry.after == {"url": PUBLIC_URL, "events": ["results.published", "round.status_changed"]}
    assert secret not in str(entry.after)

    # Removed: gone from the list, 404, audited.
    assert hook_client.delete(location, headers=admin).status_code == 204
    assert hook_client.get(location, headers=admin).status_code == 404
    assert session.scalars(select(Webhook)).all() == []
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.delete")).one()


def test_the_location_header_names_the_new_endpoint(hook_client: TestClient, world: World) -> None:
    response = hook_client.post(
        f"/api/v1/commissions/{world.commission.id}/webhooks",
        json={"url": PUBLIC_URL, "events": ["submission.submitted"]},
        headers=world.token(world.admin),
    )
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/v1/webhooks/{response.json()['id']}"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/kait", "private address"),
        ("http://192.168.0.10:8080/kait", "private address"),
        ("http://169.254.169.254/latest/meta-data", "link-local address"),
        ("http://[::1]/kait", "loopback address"),
        ("http://[::ffff:10.0.0.1]/kait", "private address"),
        ("http://localhost:9/kait", "loopback address"),
        ("http://100.64.0.1/kait", "non-public address"),
        ("https://user:sandi@93.184.216.34/kait", "credentials in the URL"),
    ],
)
def test_a_private_or_loopback_address_is_refused_naming_the_url(
    client: TestClient, world: World, url: str, reason: str
) -> None:
    response = client.post(
        f"/api/v1/commissions/{world.commission.id}/webhooks",
        json={"url": url, "events": ["results.published"]},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422, response.text
    assert reason in url_problem(response)


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/kait", "javascript:alert(1)", "kait", ""])
def test_a_url_that_is_not_http_is_refused_naming_the_url(client: TestClient, world: World, url: str) -> None:
    response = client.post(
        f"/api/v1/commissions/{world.commission.id}/webhooks",
        json={"url": url, "events": ["results.published"]},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422, response.text
    url_problem(response)


def test_an_unknown_or_missing_event_is_refused(client: TestClient, world: World) -> None:
    for events in ([], ["round.deleted"]):
        response = client.post(
            f"/api/v1/commissions/{world.commission.id}/webhooks",
            json={"url": PUBLIC_URL, "events": events},
            headers=world.token(world.admin),
        )
        assert response.status_code == 422
        assert any(e["field"].startswith("events") for e in problem(response)["errors"])


def test_the_allow_list_lets_an_on_premise_host_through(
    settings: Settings, hook_client: TestClient, world: World
) -> None:
    # The allow list of these settings: 127.0.0.1 only.
    register(hook_client, world, "http://127.0.0.1:8081/kait")
    response = hook_client.post(
        f"/api/v1/commissions/{world.commission.id}/webhooks",
        json={"url": "http://10.20.0.5/kait", "events": ["results.published"]},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    # A network on the list.
    on_premise = settings.model_copy(update={"webhook_allowed_hosts": ["10.20.0.0/16"]})
    check_url("http://10.20.0.5/kait", on_premise)
    with pytest.raises(InvalidInput):
        check_url("http://10.21.0.5/kait", on_premise)


def test_production_wants_https_except_for_a_host_on_the_allow_list(settings: Settings) -> None:
    production = settings.model_copy(
        update={"environment": "production", "webhook_allowed_hosts": ["10.20.0.0/16"]}
    )
    check_url(PUBLIC_URL, production)
    with pytest.raises(InvalidInput) as refused:
        check_url("http://93.184.216.34/kait", production)
    assert "https is required" in refused.value.errors[0].message
    check_url("http://10.20.0.5/kait", production)  # on-premise, on the list
    check_url("http://93.184.216.34/kait", settings)  # development: http is fine


def test_only_the_commissions_administrators_manage_endpoints(
    hook_client: TestClient, world: World, session: Session
) -> None:
    created = register(hook_client, world, PUBLIC_URL)
    path = f"/api/v1/webhooks/{created['id']}"
    listing = f"/api/v1/commissions/{world.commission.id}/webhooks"
    new = {"url": PUBLIC_URL, "events": ["results.published"]}
    # Members of the commission in other roles: 403.
    for account in (world.operator, world.verifier, world.panelist):
        headers = world.token(account)
        assert hook_client.get(path, headers=headers).status_code == 403
        assert hook_client.get(f"{path}/deliveries", headers=headers).status_code == 403
        assert hook_client.delete(path, headers=headers).status_code == 403
        assert hook_client.get(listing, headers=headers).status_code == 403
        assert hook_client.post(listing, json=new, headers=headers).status_code == 403
    # Another commission's administrator: as if it did not exist.
    other = make_account(session, "commission_admin", commission_id=make_commission(session).id)
    headers = world.token(other)
    for response in (
        hook_client.get(path, headers=headers),
        hook_client.get(f"{path}/deliveries", headers=headers),
        hook_client.delete(path, headers=headers),
        hook_client.get(listing, headers=headers),
        hook_client.post(listing, json=new, headers=headers),
    ):
        assert response.status_code == 404, response.text
        problem(response)
    # A system administrator may.
    assert hook_client.get(path, headers=world.token(world.system_admin)).status_code == 200
    assert hook_client.get(path, headers=world.token(world.admin)).status_code == 200
