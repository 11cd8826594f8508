"""Commissions and body categories over HTTP."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import World, get_json, make_account, make_commission, problem

API = "/api/v1"


def test_system_admin_creates_a_commission(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions",
        json={"code": "ki-papua", "name": "Komisi Informasi Provinsi Papua", "timezone": "Asia/Jayapura"},
        headers=world.token(world.system_admin),
    )
    assert response.status_code == 201, response.text
    assert response.json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "code": "ki-papua",
        "name": "Komisi Informasi Provinsi Papua",
        "timezone": "Asia/Jayapura",
        "mail_reply_to": None,
        "mail_signature": None,
        "data_license": "CC-BY-4.0",
        "letter_heading": None,
        "letter_address": None,
        "letter_city": None,
        "letter_chair_name": None,
        "letter_chair_title": None,
        "letter_number_format": None,
        "letter_logo_type": None,
        "created_at": "",
    }


def test_a_reused_commission_code_is_a_conflict_naming_code(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions",
        json={"code": world.commission.code, "name": "Lagi"},
        headers=world.token(world.system_admin),
    )
    assert response.status_code == 409
    assert problem(response)["errors"][0]["field"] == "code"


def test_only_a_system_admin_creates_commissions(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions", json={"code": "ki-x", "name": "X"}, headers=world.token(world.admin)
    )
    assert response.status_code == 403
    assert client.post(f"{API}/commissions", json={"code": "ki-x", "name": "X"}).status_code == 401


def test_a_timezone_outside_indonesia_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions",
        json={"code": "ki-x", "name": "X", "timezone": "Europe/Paris"},
        headers=world.token(world.system_admin),
    )
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["timezone"]


def test_members_list_only_their_own_commission(client: TestClient, world: World, session: Session) -> None:
    other = make_commission(session)
    mine = get_json(client, f"{API}/commissions", world.token(world.verifier))
    assert [c["id"] for c in mine["items"]] == [world.commission.id]
    everything = get_json(client, f"{API}/commissions?limit=500", world.token(world.system_admin))
    assert {world.commission.id, other.id} <= {c["id"] for c in everything["items"]}


def test_another_commission_is_forbidden(client: TestClient, world: World, session: Session) -> None:
    other = make_commission(session)
    assert client.get(f"{API}/commissions/{other.id}", headers=world.token(world.admin)).status_code == 403
    assert client.get(f"{API}/commissions/999999", headers=world.token(world.admin)).status_code == 404


def test_an_admin_changes_the_time_zone(client: TestClient, world: World) -> None:
    url = f"{API}/commissions/{world.commission.id}"
    response = client.patch(url, json={"timezone": "Asia/Makassar"}, headers=world.token(world.admin))
    assert response.status_code == 200, response.text
    assert get_json(client, url, world.token(world.operator))["timezone"] == "Asia/Makassar"


def test_a_verifier_cannot_change_the_commission(client: TestClient, world: World) -> None:
    response = client.patch(
        f"{API}/commissions/{world.commission.id}", json={"name": "X"}, headers=world.token(world.verifier)
    )
    assert response.status_code == 403


def test_an_unknown_time_zone_in_a_patch_is_refused(client: TestClient, world: World) -> None:
    response = client.patch(
        f"{API}/commissions/{world.commission.id}",
        json={"timezone": "Asia/Tokyo"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "timezone"


def test_categories_are_created_and_listed(client: TestClient, world: World) -> None:
    url = f"{API}/commissions/{world.commission.id}/categories"
    response = client.post(url, json={"code": "dinas", "name": "Dinas"}, headers=world.token(world.admin))
    assert response.status_code == 201, response.text
    listed = get_json(client, url, world.token(world.panelist))
    assert [c["code"] for c in listed["items"]] == ["kelurahan", "dinas"]


def test_a_category_code_used_twice_is_a_conflict_naming_code(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/categories",
        json={"code": "kelurahan", "name": "Kelurahan lagi"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 409
    assert problem(response)["errors"] == [
        {"field": "code", "message": "already used by another category of this commission"}
    ]


def test_the_same_category_code_is_fine_in_another_commission(
    client: TestClient, world: World, session: Session
) -> None:
    other = make_commission(session)
    admin = make_account(session, "commission_admin", commission_id=other.id)
    response = client.post(
        f"{API}/commissions/{other.id}/categories",
        json={"code": "kelurahan", "name": "Kelurahan"},
        headers=world.token(admin),
    )
    assert response.status_code == 201


def test_a_category_code_must_be_lower_case_letters_digits_and_dashes(
    client: TestClient, world: World
) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/categories",
        json={"code": "Suku Dinas", "name": "Suku Dinas"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "code"


def test_an_operator_cannot_add_categories(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/categories",
        json={"code": "dinas", "name": "Dinas"},
        headers=world.token(world.operator),
    )
    assert response.status_code == 403


def test_admin_sets_the_open_data_license_and_an_unknown_one_is_refused(
    client: TestClient, world: World
) -> None:
    url = f"{API}/commissions/{world.commission.id}"
    response = client.patch(url, json={"data_license": "CC0-1.0"}, headers=world.token(world.admin))
    assert response.status_code == 200, response.text
    assert response.json()["data_license"] == "CC0-1.0"
    refused = client.patch(url, json={"data_license": "GPL-3.0"}, headers=world.token(world.admin))
    assert refused.status_code == 422
    assert problem(refused)["errors"][0]["field"] == "data_license"
    assert get_json(client, url, world.token(world.admin))["data_license"] == "CC0-1.0"


def test_the_document_says_which_reply_to_addresses_are_taken(client: TestClient, world: World) -> None:
    """The document's pattern for ``mail_reply_to`` takes exactly what the PATCH takes: it stated no rule,
    and schemathesis's coverage phase (fixed seed 20251205) sent a schema-valid "0000…" that was refused."""
    schema = client.get("/openapi.json").json()["components"]["schemas"]["CommissionPatch"]
    (text,) = [s for s in schema["properties"]["mail_reply_to"]["anyOf"] if s["type"] == "string"]
    samples = [
        "0" * 300,
        "sekretariat",
        "a@b",
        "a b@ki.example.go.id",
        "a@@ki.example.go.id",
        "a@ki.example.go.id ",
        " Sekretariat@KI.example.go.id",
        "",
        "   ",
    ]
    for value in samples:
        response = client.patch(
            f"{API}/commissions/{world.commission.id}",
            json={"mail_reply_to": value},
            headers=world.token(world.admin),
        )
        assert response.status_code in (200, 422), response.text
        assert (response.status_code == 200) == bool(re.search(text["pattern"], value)), value


# Text for the mail and letter settings: line breaks as str.splitlines() reads them, blank lines, braces.
SETTING_SAMPLES = {
    "mail_signature": [
        *("a\nb\nc\nd\ne\nf", "a\nb\nc\nd\ne\nf\ng", "a\n\n\n\n\nb", "a\n\n\n\n\n\nb", "a\r\nb"),
        *("\n\n\na\n\n\n\n\n\n", "a\x1cb\x85c\u2028d\re\x0bf\x0cg", "a\x1fb", " ", ""),
    ],
    "letter_heading": [
        *("a\nb\nc\nd", "a\nb\nc\nd\ne", "a\n\n\nb\n \n\tc\nd", "a\x1cb\x85c\u2028d\re", "  "),
        *("\n a \n\n", "a\r\nb\r\nc\r\nd\r\n", "a\x1fb\x1fc\x1fd\x1fe"),
    ],
    "letter_city": ["Jakarta", "Jakarta\nPusat", "Jakarta\r", "\n Jakarta \n", "a\x0bb\x85c\u2028d", ""],
    "letter_number_format": [
        *("{urut:03}/KI/{romawi}/{tahun}", "{urut:07}", "{tahun:03}", "{tahun:}", "{urut:}", "{urut}\n/KI"),
        *("{", "}", "{{", "}}", "{{urut}", "{{{urut}}}", "{urut!r}", "{0}", "{}", "{nomor}", "{urut[0]}"),
        *(" {kode}/{kategori}/{revisi}/{bulan} ", "{urut:03:x}", "a{{b}}c"),
    ],
}


def test_the_document_says_which_mail_and_letter_settings_are_taken(client: TestClient, world: World) -> None:
    """Each setting's pattern in the document takes exactly what the PATCH takes (the service counts lines,
    wants one line, or reads the placeholders): none stated its rule, which a schema-valid text broke."""
    properties = client.get("/openapi.json").json()["components"]["schemas"]["CommissionPatch"]["properties"]
    for field, samples in SETTING_SAMPLES.items():
        (text,) = [s for s in properties[field]["anyOf"] if s["type"] == "string"]
        for value in samples:
            url = f"{API}/commissions/{world.commission.id}"
            response = client.patch(url, json={field: value}, headers=world.token(world.admin))
            assert response.status_code in (200, 422), response.text
            assert (response.status_code == 200) == bool(re.search(text["pattern"], value)), (field, value)
