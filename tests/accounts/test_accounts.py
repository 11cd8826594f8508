"""Who manages which accounts, the password policy, unique emails, deactivation and password changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.models import Account
from tests.factories import (
    PASSWORD,
    World,
    make_account,
    make_api_key,
    make_body,
    make_category,
    make_commission,
    problem,
)

ACCOUNTS = "/api/v1/accounts"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
NEW_PASSWORD = "kata-sandi-baru-2025"


def new_account(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "baru@example.go.id",
        "name": "Akun Baru",
        "role": "verifier",
        "password": NEW_PASSWORD,
    } | (overrides)


def can_log_in(client: TestClient, email: str, password: str) -> bool:
    return client.post(LOGIN, json={"email": email, "password": password}).status_code == 200


def fields(response: Any) -> list[str]:
    return [e["field"] for e in problem(response)["errors"]]


# --- Creating ---------------------------------------------------------------------------------------------


def test_a_commission_admin_creates_a_verifier_of_its_commission(client: TestClient, world: World) -> None:
    response = client.post(ACCOUNTS, json=new_account(), headers=world.token(world.admin))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["commission_id"] == world.commission.id
    assert body["role"] == "verifier"
    assert body["active"] is True
    assert "password" not in response.text
    assert can_log_in(client, "baru@example.go.id", NEW_PASSWORD)


def test_a_commission_admin_creates_an_operator_of_one_of_its_bodies(
    client: TestClient, world: World
) -> None:
    response = client.post(
        ACCOUNTS, json=new_account(role="operator", body_id=world.body.id), headers=world.token(world.admin)
    )
    assert response.status_code == 201, response.text
    assert response.json()["body_id"] == world.body.id


def test_an_operator_needs_a_body_of_the_same_commission(client: TestClient, world: World) -> None:
    elsewhere = make_body(world.session, make_category(world.session, make_commission(world.session)))
    headers = world.token(world.admin)
    without = client.post(ACCOUNTS, json=new_account(role="operator"), headers=headers)
    assert without.status_code == 422
    assert fields(without) == ["body_id"]
    foreign = client.post(ACCOUNTS, json=new_account(role="operator", body_id=elsewhere.id), headers=headers)
    assert foreign.status_code == 422
    assert "no public body" in problem(foreign)["errors"][0]["message"]


def test_only_an_operator_belongs_to_a_body(client: TestClient, world: World) -> None:
    response = client.post(
        ACCOUNTS, json=new_account(body_id=world.body.id), headers=world.token(world.admin)
    )
    assert response.status_code == 422
    assert fields(response) == ["body_id"]


def test_a_commission_admin_may_not_create_a_system_admin(client: TestClient, world: World) -> None:
    response = client.post(ACCOUNTS, json=new_account(role="system_admin"), headers=world.token(world.admin))
    assert response.status_code == 403
    assert "system administrator" in problem(response)["detail"]
    assert not can_log_in(client, "baru@example.go.id", NEW_PASSWORD)


def test_a_commission_admin_may_not_create_accounts_of_another_commission(
    client: TestClient, world: World
) -> None:
    other = make_commission(world.session)
    response = client.post(
        ACCOUNTS, json=new_account(commission_id=other.id), headers=world.token(world.admin)
    )
    assert response.status_code == 403
    assert not can_log_in(client, "baru@example.go.id", NEW_PASSWORD)


@pytest.mark.parametrize("role", ["verifier", "panelist", "operator", "other_operator"])
def test_other_roles_may_not_create_accounts(client: TestClient, world: World, role: str) -> None:
    response = client.post(ACCOUNTS, json=new_account(), headers=world.token(getattr(world, role)))
    assert response.status_code == 403


def test_api_keys_may_not_create_accounts(client: TestClient, world: World) -> None:
    key = make_api_key(world.session, world.commission)
    response = client.post(ACCOUNTS, json=new_account(), headers={"X-API-Key": key})
    assert response.status_code == 403


def test_a_system_admin_creates_system_admins_and_accounts_of_any_commission(
    client: TestClient, world: World
) -> None:
    headers = world.token(world.system_admin)
    other = make_commission(world.session)
    admin = client.post(ACCOUNTS, json=new_account(role="system_admin"), headers=headers)
    assert admin.status_code == 201, admin.text
    assert admin.json()["commission_id"] is None
    elsewhere = client.post(
        ACCOUNTS,
        json=new_account(email="ki@example.go.id", role="commission_admin", commission_id=other.id),
        headers=headers,
    )
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["commission_id"] == other.id


def test_a_system_admin_names_the_commission_and_it_must_exist(client: TestClient, world: World) -> None:
    headers = world.token(world.system_admin)
    missing = client.post(ACCOUNTS, json=new_account(), headers=headers)
    assert missing.status_code == 422
    assert fields(missing) == ["commission_id"]
    unknown = client.post(ACCOUNTS, json=new_account(commission_id=999_999), headers=headers)
    assert unknown.status_code == 422
    assert "no commission" in problem(unknown)["errors"][0]["message"]
    stray = client.post(
        ACCOUNTS, json=new_account(role="system_admin", commission_id=world.commission.id), headers=headers
    )
    assert stray.status_code == 422
    assert fields(stray) == ["commission_id"]


def test_every_problem_of_a_new_account_is_reported_at_once(client: TestClient, world: World) -> None:
    response = client.post(
        ACCOUNTS,
        json=new_account(email="not-an-email", name="  ", password="pendek"),
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert sorted(fields(response)) == ["email", "name", "password"]
    messages = {e["field"]: e["message"] for e in problem(response)["errors"]}
    assert messages["password"] == "must be at least 10 characters"


def test_a_password_of_exactly_ten_characters_is_accepted(client: TestClient, world: World) -> None:
    response = client.post(
        ACCOUNTS, json=new_account(password="0123456789"), headers=world.token(world.admin)
    )
    assert response.status_code == 201


def test_emails_are_unique_whatever_their_case(client: TestClient, world: World) -> None:
    response = client.post(
        ACCOUNTS, json=new_account(email=world.operator.email.upper()), headers=world.token(world.admin)
    )
    assert response.status_code == 409
    assert fields(response) == ["email"]


def test_unknown_fields_are_refused(client: TestClient, world: World) -> None:
    response = client.post(ACCOUNTS, json=new_account(active=False), headers=world.token(world.admin))
    assert response.status_code == 422
    assert fields(response) == ["active"]


# --- Reading ----------------------------------------------------------------------------------------------


def test_a_commission_admin_lists_only_its_commissions_accounts(client: TestClient, world: World) -> None:
    other = make_commission(world.session)
    make_account(world.session, "verifier", commission_id=other.id)
    body = client.get(ACCOUNTS, params={"limit": 500}, headers=world.token(world.admin)).json()
    ids = {a["id"] for a in body["items"]}
    mine = {world.admin, world.verifier, world.panelist, world.operator, world.other_operator}
    assert ids == {a.id for a in mine}


def test_the_account_list_pages_and_filters(client: TestClient, world: World) -> None:
    headers = world.token(world.admin)
    first = client.get(ACCOUNTS, params={"limit": 2}, headers=headers).json()
    assert len(first["items"]) == 2
    second = client.get(ACCOUNTS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers).json()
    assert {a["id"] for a in first["items"]}.isdisjoint(a["id"] for a in second["items"])
    assert [a["id"] for a in first["items"] + second["items"]] == sorted(
        a["id"] for a in first["items"] + second["items"]
    )
    operators = client.get(ACCOUNTS, params={"role": "operator"}, headers=headers).json()["items"]
    assert {a["id"] for a in operators} == {world.operator.id, world.other_operator.id}


def test_a_system_admin_lists_one_commission_or_all(client: TestClient, world: World) -> None:
    headers = world.token(world.system_admin)
    one = client.get(ACCOUNTS, params={"commission_id": world.commission.id}, headers=headers).json()["items"]
    assert {a["commission_id"] for a in one} == {world.commission.id}
    everyone = client.get(ACCOUNTS, params={"role": "system_admin", "limit": 500}, headers=headers).json()
    assert world.system_admin.id in {a["id"] for a in everyone["items"]}


def test_a_commission_admin_may_not_list_another_commission(client: TestClient, world: World) -> None:
    other = make_commission(world.session)
    response = client.get(ACCOUNTS, params={"commission_id": other.id}, headers=world.token(world.admin))
    assert response.status_code == 403


def test_everybody_reads_their_own_account_and_not_others(client: TestClient, world: World) -> None:
    headers = world.token(world.operator)
    assert client.get(f"{ACCOUNTS}/{world.operator.id}", headers=headers).status_code == 200
    assert client.get(f"{ACCOUNTS}/{world.other_operator.id}", headers=headers).status_code == 403
    assert client.get(f"{ACCOUNTS}/999999", headers=headers).status_code == 404


def test_a_commission_admin_does_not_read_system_admins(client: TestClient, world: World) -> None:
    response = client.get(f"{ACCOUNTS}/{world.system_admin.id}", headers=world.token(world.admin))
    assert response.status_code == 403


# --- Changing ---------------------------------------------------------------------------------------------


def patch(client: TestClient, account: Account, headers: dict[str, str], **changes: Any) -> Any:
    return client.patch(f"{ACCOUNTS}/{account.id}", json=changes, headers=headers)


def test_an_owner_renames_itself(client: TestClient, world: World) -> None:
    response = patch(client, world.verifier, world.token(world.verifier), name="Nama Baru")
    assert response.status_code == 200
    assert response.json()["name"] == "Nama Baru"


def test_an_owner_changes_its_password_only_with_the_old_one(client: TestClient, world: World) -> None:
    headers = world.token(world.verifier)
    missing = patch(client, world.verifier, headers, password=NEW_PASSWORD)
    assert missing.status_code == 422
    assert fields(missing) == ["old_password"]
    wrong = patch(client, world.verifier, headers, password=NEW_PASSWORD, old_password="bukan-sandinya")
    assert wrong.status_code == 422
    assert fields(wrong) == ["old_password"]
    assert can_log_in(client, world.verifier.email, PASSWORD)


def test_a_new_password_of_ones_own_ends_the_other_sessions_only(client: TestClient, world: World) -> None:
    current = world.token(world.verifier)
    other_session = world.token(world.verifier)
    response = patch(client, world.verifier, current, password=NEW_PASSWORD, old_password=PASSWORD)
    assert response.status_code == 200, response.text
    assert can_log_in(client, world.verifier.email, NEW_PASSWORD)
    assert not can_log_in(client, world.verifier.email, PASSWORD)
    assert client.get(ME, headers=current).status_code == 200
    assert client.get(ME, headers=other_session).status_code == 401


def test_an_admin_sets_a_password_without_the_old_one_ending_every_session(
    client: TestClient, world: World
) -> None:
    operator_session = world.token(world.operator)
    response = patch(client, world.operator, world.token(world.admin), password=NEW_PASSWORD)
    assert response.status_code == 200, response.text
    assert can_log_in(client, world.operator.email, NEW_PASSWORD)
    assert client.get(ME, headers=operator_session).status_code == 401


def test_a_new_password_obeys_the_policy(client: TestClient, world: World) -> None:
    response = patch(client, world.operator, world.token(world.admin), password="123456789")
    assert response.status_code == 422
    assert fields(response) == ["password"]


def test_an_admin_deactivates_and_reactivates_an_account(client: TestClient, world: World) -> None:
    admin = world.token(world.admin)
    operator_session = world.token(world.operator)
    off = patch(client, world.operator, admin, active=False)
    assert off.status_code == 200
    assert off.json()["active"] is False
    assert client.get(ME, headers=operator_session).status_code == 401
    assert client.post(LOGIN, json={"email": world.operator.email, "password": PASSWORD}).status_code == 403
    assert patch(client, world.operator, admin, active=True).status_code == 200
    assert can_log_in(client, world.operator.email, PASSWORD)


@pytest.mark.parametrize("change", [{"active": False}, {"role": "verifier"}])
def test_nobody_deactivates_or_changes_the_role_of_their_own_account(
    client: TestClient, world: World, change: dict[str, Any]
) -> None:
    response = patch(client, world.admin, world.token(world.admin), **change)
    assert response.status_code == 403
    assert "your own" in problem(response)["detail"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda w: {"email": "lain@example.go.id"}, id="email"),
        pytest.param(lambda w: {"body_id": w.other_body.id}, id="body"),
        pytest.param(lambda w: {"active": True}, id="active"),
    ],
)
def test_an_operator_may_not_change_what_an_admin_decides(
    client: TestClient, world: World, change: Callable[[World], dict[str, Any]]
) -> None:
    response = patch(client, world.operator, world.token(world.operator), **change(world))
    assert response.status_code == 403


def test_one_may_not_change_someone_elses_account(client: TestClient, world: World) -> None:
    response = patch(client, world.other_operator, world.token(world.operator), name="Diambil Alih")
    assert response.status_code == 403


def test_a_commission_admin_may_not_promote_to_system_admin(client: TestClient, world: World) -> None:
    response = patch(client, world.verifier, world.token(world.admin), role="system_admin")
    assert response.status_code == 403


def test_a_commission_admin_may_not_touch_system_admins_or_other_commissions(
    client: TestClient, world: World
) -> None:
    other = make_commission(world.session)
    foreign = make_account(world.session, "verifier", commission_id=other.id)
    headers = world.token(world.admin)
    assert patch(client, world.system_admin, headers, name="X").status_code == 403
    assert patch(client, foreign, headers, active=False).status_code == 403


def test_leaving_the_operator_role_leaves_the_body(client: TestClient, world: World) -> None:
    response = patch(client, world.operator, world.token(world.admin), role="verifier")
    assert response.status_code == 200, response.text
    assert response.json()["body_id"] is None
    to_operator = patch(client, world.verifier, world.token(world.admin), role="operator")
    assert to_operator.status_code == 422
    assert fields(to_operator) == ["body_id"]


def test_a_changed_email_stays_unique(client: TestClient, world: World) -> None:
    response = patch(client, world.verifier, world.token(world.admin), email=world.panelist.email)
    assert response.status_code == 409
    assert fields(response) == ["email"]
    same = patch(client, world.verifier, world.token(world.admin), email=world.verifier.email.upper())
    assert same.status_code == 200


def test_the_commission_of_an_account_is_not_patchable_and_nulls_are_refused(
    client: TestClient, world: World
) -> None:
    headers = world.token(world.admin)
    assert fields(patch(client, world.verifier, headers, commission_id=1)) == ["commission_id"]
    assert fields(patch(client, world.verifier, headers, name=None)) == ["name"]


def test_a_system_admin_and_a_commission_account_do_not_turn_into_each_other(
    client: TestClient, world: World
) -> None:
    headers = world.token(world.system_admin)
    other_system_admin = make_account(world.session, "system_admin")
    demoted = patch(client, other_system_admin, headers, role="commission_admin")
    promoted = patch(client, world.admin, headers, role="system_admin")
    assert demoted.status_code == promoted.status_code == 422
    assert fields(demoted) == fields(promoted) == ["role"]


def test_the_account_list_filters_on_active(client: TestClient, world: World) -> None:
    headers = world.token(world.admin)
    assert patch(client, world.panelist, headers, active=False).status_code == 200
    inactive = client.get(ACCOUNTS, params={"active": "false"}, headers=headers).json()["items"]
    active = client.get(ACCOUNTS, params={"active": "true"}, headers=headers).json()["items"]
    assert [a["id"] for a in inactive] == [world.panelist.id]
    assert world.panelist.id not in {a["id"] for a in active}
    assert world.admin.id in {a["id"] for a in active}
