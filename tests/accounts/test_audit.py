"""Account and key changes are audited without secrets, and the audit log is read by the right people."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.db.models import Account, AuditEntry
from tests.factories import World, make_account, make_commission, problem

AUDIT = "/api/v1/audit"
ACCOUNTS = "/api/v1/accounts"
KEYS = "/api/v1/api-keys"
NEW_PASSWORD = "kata-sandi-baru-2025"


def entries(session: Session, entity: str, entity_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
    )


def create_verifier(client: TestClient, world: World) -> dict[str, Any]:
    response = client.post(
        ACCOUNTS,
        json={"email": "baru@example.go.id", "name": "Baru", "role": "verifier", "password": NEW_PASSWORD},
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_creating_an_account_is_audited_without_the_password(
    client: TestClient, world: World, session: Session
) -> None:
    account = create_verifier(client, world)
    [entry] = entries(session, "account", account["id"])
    assert entry.action == "account.create"
    assert entry.actor_id == world.admin.id
    assert entry.actor_label == world.admin.email
    assert entry.commission_id == world.commission.id
    assert entry.before is None
    assert entry.after["email"] == "baru@example.go.id"
    assert entry.after["role"] == "verifier"
    stored = session.get(Account, account["id"])
    assert stored is not None
    assert stored.password_hash not in json.dumps(entry.after)
    assert NEW_PASSWORD not in json.dumps(entry.after)
    assert "password_hash" not in entry.after


def test_a_change_records_only_what_changed_and_a_password_only_as_changed(
    client: TestClient, world: World, session: Session
) -> None:
    old_hash, old_name = world.operator.password_hash, world.operator.name
    response = client.patch(
        f"{ACCOUNTS}/{world.operator.id}",
        json={"name": "Nama Baru", "password": NEW_PASSWORD, "active": True},
        headers=world.token(world.admin),
    )
    assert response.status_code == 200, response.text
    [entry] = entries(session, "account", world.operator.id)
    assert entry.action == "account.update"
    assert entry.before == {"name": old_name}
    assert entry.after == {"name": "Nama Baru", "password": "changed"}
    text = json.dumps([entry.before, entry.after])
    session.refresh(world.operator)
    assert old_hash not in text
    assert world.operator.password_hash not in text
    assert NEW_PASSWORD not in text


def test_deactivation_is_audited(client: TestClient, world: World, session: Session) -> None:
    client.patch(f"{ACCOUNTS}/{world.panelist.id}", json={"active": False}, headers=world.token(world.admin))
    [entry] = entries(session, "account", world.panelist.id)
    assert (entry.before, entry.after) == ({"active": True}, {"active": False})


def test_a_change_that_changes_nothing_is_not_audited(
    client: TestClient, world: World, session: Session
) -> None:
    response = client.patch(
        f"{ACCOUNTS}/{world.panelist.id}",
        json={"name": world.panelist.name},
        headers=world.token(world.admin),
    )
    assert response.status_code == 200
    assert entries(session, "account", world.panelist.id) == []


def test_a_refused_change_leaves_no_trace(client: TestClient, world: World, session: Session) -> None:
    response = client.patch(
        f"{ACCOUNTS}/{world.panelist.id}",
        json={"name": "X", "password": "pendek"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert entries(session, "account", world.panelist.id) == []
    session.refresh(world.panelist)
    assert world.panelist.name != "X"


def test_issuing_and_revoking_a_key_is_audited_without_the_key(
    client: TestClient, world: World, session: Session
) -> None:
    admin = world.token(world.admin)
    created = client.post(KEYS, json={"name": "Dasbor", "scope": "read"}, headers=admin).json()
    client.delete(f"{KEYS}/{created['id']}", headers=admin)
    client.delete(f"{KEYS}/{created['id']}", headers=admin)
    audited = entries(session, "api_key", created["id"])
    assert [e.action for e in audited] == ["api_key.create", "api_key.revoke"]
    assert audited[0].after == {
        "name": "Dasbor",
        "scope": "read",
        "prefix": created["prefix"],
        "body_id": None,
    }
    assert created["key"] not in json.dumps([e.after for e in audited])
    assert {e.commission_id for e in audited} == {world.commission.id}


# --- Reading the log --------------------------------------------------------------------------------------


def test_a_commission_admin_reads_its_commissions_entries_only(
    client: TestClient, world: World, session: Session
) -> None:
    other = make_commission(session)
    foreign_admin = Principal(role=Role.commission_admin, label="lain@example.go.id", commission_id=other.id)
    record(session=session, actor=foreign_admin, action="x.change", entity="round", entity_id=1)
    account = create_verifier(client, world)
    items = client.get(AUDIT, headers=world.token(world.admin)).json()["items"]
    assert [(e["action"], e["entity_id"]) for e in items] == [("account.create", str(account["id"]))]
    assert items[0]["at"].endswith(("+00:00", "Z"))


def test_a_system_admin_reads_everything_and_filters(
    client: TestClient, world: World, session: Session
) -> None:
    other = make_commission(session)
    foreign = make_account(session, "verifier", commission_id=other.id)
    system = world.token(world.system_admin)
    renamed = client.patch(f"{ACCOUNTS}/{foreign.id}", json={"name": "Lain"}, headers=system)
    assert renamed.status_code == 200
    account = create_verifier(client, world)
    everything = client.get(AUDIT, params={"limit": 500}, headers=system).json()["items"]
    assert {("account", str(foreign.id)), ("account", str(account["id"]))} <= {
        (e["entity"], e["entity_id"]) for e in everything
    }
    by_entity = client.get(
        AUDIT, params={"entity": "account", "entity_id": str(foreign.id)}, headers=system
    ).json()["items"]
    assert [e["after"] for e in by_entity] == [{"name": "Lain"}]
    by_commission = client.get(AUDIT, params={"commission_id": other.id}, headers=system).json()["items"]
    assert [e["entity_id"] for e in by_commission] == [str(foreign.id)]


def test_the_log_filters_by_actor_id_or_label(client: TestClient, world: World) -> None:
    create_verifier(client, world)
    admin = world.token(world.admin)
    by_id = client.get(AUDIT, params={"actor": str(world.admin.id)}, headers=admin).json()["items"]
    by_label = client.get(AUDIT, params={"actor": world.admin.email}, headers=admin).json()["items"]
    nobody = client.get(AUDIT, params={"actor": "orang-lain@example.go.id"}, headers=admin).json()["items"]
    assert len(by_id) == len(by_label) == 1
    assert nobody == []


def test_the_log_pages(client: TestClient, world: World) -> None:
    admin = world.token(world.admin)
    for account in (world.verifier, world.panelist, world.operator):
        client.patch(f"{ACCOUNTS}/{account.id}", json={"name": f"Baru {account.id}"}, headers=admin)
    first = client.get(AUDIT, params={"limit": 2}, headers=admin).json()
    assert len(first["items"]) == 2
    rest = client.get(AUDIT, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert ids == sorted(ids)


def test_only_administrators_read_the_log(client: TestClient, world: World) -> None:
    for account in (world.verifier, world.panelist, world.operator):
        assert client.get(AUDIT, headers=world.token(account)).status_code == 403
    other = make_commission(world.session)
    refused = client.get(AUDIT, params={"commission_id": other.id}, headers=world.token(world.admin))
    assert refused.status_code == 403
    problem(refused)
