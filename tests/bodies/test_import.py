"""Bulk registration of bodies from CSV: every bad row reported, all or nothing, dry run by default."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.principal import Principal, Role
from app.bodies.service import import_bodies, read_csv
from app.db.models import PublicBody
from tests.factories import World, make_body, make_category, problem

API = "/api/v1"
GOOD = (
    "name,category,region_code,parent,ppid_email\n"
    "Kecamatan Menteng,kecamatan,31.71.06,,ppid.menteng@jakarta.go.id\n"
    "Kelurahan Gondangdia,kelurahan,31.71.06.1005,Kecamatan Menteng,\n"
    "Kelurahan Cikini,kelurahan,31.71.06.1004,Kecamatan Menteng,ppid.cikini@jakarta.go.id\n"
)


def _count(session: Session, world: World) -> int:
    return int(
        session.scalar(select(func.count()).where(PublicBody.commission_id == world.commission.id)) or 0
    )


def _upload(client: TestClient, world: World, text: str, *, dry_run: bool) -> Any:
    return client.post(
        f"{API}/commissions/{world.commission.id}/bodies/import?dry_run={str(dry_run).lower()}",
        files={"file": ("badan-publik.csv", text.encode(), "text/csv")},
        headers=world.token(world.admin),
    )


def test_a_dry_run_of_a_good_file_reports_and_writes_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    make_category(session, world.commission, code="kecamatan")
    before = _count(session, world)
    response = _upload(client, world, GOOD, dry_run=True)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dry_run": True,
        "valid": True,
        "rows": 3,
        "created": 0,
        "problems": [],
        "problems_omitted": 0,
        "bodies": [],
    }
    assert _count(session, world) == before


def test_a_good_file_creates_every_body_with_parents(
    client: TestClient, world: World, session: Session
) -> None:
    make_category(session, world.commission, code="kecamatan")
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies/import?dry_run=false",
        content=GOOD.encode(),
        headers=world.token(world.admin) | {"Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    bodies = {b["name"]: b for b in response.json()["bodies"]}
    menteng = bodies["Kecamatan Menteng"]["id"]
    assert bodies["Kelurahan Gondangdia"]["parent_id"] == menteng
    assert bodies["Kelurahan Cikini"]["parent_id"] == menteng
    assert bodies["Kelurahan Gondangdia"]["ppid_email"] is None


def test_every_bad_row_is_reported_with_row_column_and_reason(
    client: TestClient, world: World, session: Session
) -> None:
    text = (
        "name;category;region_code;parent;ppid_email\n"
        f"{world.body.name};kelurahan;;;\n"
        "Kelurahan Cikini;kementerian;31.71.6;;ppid@\n"
        "\n"
        "Kelurahan Kenari;kelurahan;;Kecamatan Senen;\n"
        "Kelurahan Cikini;kelurahan;;;\n"
        ";kelurahan;;;\n"
        "Kelurahan Paseban;kelurahan;;Kelurahan Pegangsaan;\n"
        "Kelurahan Pegangsaan;kelurahan;;;\n"
    )
    before = _count(session, world)
    response = _upload(client, world, text, dry_run=False)
    assert response.status_code == 422
    body = problem(response)
    assert body["problems"] == [
        {"row": 2, "column": "name", "message": "a body with this name already exists in the commission"},
        {
            "row": 3,
            "column": "category",
            "message": "unknown category 'kementerian'; the commission's categories: kelurahan",
        },
        {
            "row": 3,
            "column": "region_code",
            "message": "not a Kemendagri region code such as 31, 31.71, 31.71.01 or 31.71.01.1001",
        },
        {"row": 3, "column": "ppid_email", "message": "not an e-mail address such as ppid@example.go.id"},
        {
            "row": 5,
            "column": "parent",
            "message": "no body named 'Kecamatan Senen' in the commission or earlier in the file",
        },
        {"row": 6, "column": "name", "message": "the same name is already on row 3"},
        {"row": 7, "column": "name", "message": "required"},
        {
            "row": 8,
            "column": "parent",
            "message": "'Kelurahan Pegangsaan' comes later, on row 9; list a parent before its children",
        },
    ]
    assert body["errors"][0] == {
        "field": "rows.2.name",
        "message": "a body with this name already exists in the commission",
    }
    assert _count(session, world) == before


def test_a_dry_run_of_a_bad_file_reports_the_problems(client: TestClient, world: World) -> None:
    response = _upload(client, world, "name,category\nKelurahan Baru,\n", dry_run=True)
    assert response.status_code == 200
    report = response.json()
    assert (report["valid"], report["problems"]) == (
        False,
        [{"row": 2, "column": "category", "message": "required"}],
    )


def test_a_header_without_required_columns_is_refused(client: TestClient, world: World) -> None:
    response = _upload(client, world, "nama,kategori\nKelurahan Baru,kelurahan\n", dry_run=True)
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["rows.1.name", "rows.1.category"]


def test_unknown_columns_are_reported_on_the_header_row(client: TestClient, world: World) -> None:
    response = _upload(client, world, "name,category,alamat\nKelurahan Baru,kelurahan,Jl. X\n", dry_run=True)
    assert response.json()["problems"] == [
        {
            "row": 1,
            "column": "alamat",
            "message": "unknown column; the columns are name, category, region_code, parent, ppid_email",
        }
    ]


def test_a_file_that_is_not_utf8_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies/import",
        files={
            "file": (
                "x.csv",
                "name,category\nKelurahan Kebon Kacang,kelurahan\n".encode("utf-16"),
                "text/csv",
            )
        },
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "file"


def test_another_media_type_is_a_415(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies/import",
        json={"name": "x"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 415
    problem(response)


def test_only_an_admin_imports(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/commissions/{world.commission.id}/bodies/import",
        files={"file": ("x.csv", GOOD.encode(), "text/csv")},
        headers=world.token(world.verifier),
    )
    assert response.status_code == 403


def test_import_bodies_takes_parsed_rows_for_other_formats(world: World, session: Session) -> None:
    kecamatan = make_category(session, world.commission, code="kecamatan")
    parent = make_body(session, kecamatan, name="Kecamatan Tanah Abang")
    admin = Principal(role=Role.commission_admin, label="admin", commission_id=world.commission.id)
    rows = [
        {
            "name": "Kelurahan Bendungan Hilir",
            "category": "kelurahan",
            "region_code": 31.71,
            "parent": "kecamatan tanah abang",
        },
        {"name": "Kelurahan Karet Tengsin", "category": "kelurahan", "region_code": None, "ppid_email": None},
    ]
    dry = import_bodies(session=session, commission=world.commission, rows=rows, dry_run=True, by=admin)
    assert (dry.valid, dry.created) == (True, [])
    report = import_bodies(
        session=session, commission=world.commission, rows=rows, dry_run=False, by=admin, row_numbers=[5, 6]
    )
    assert [(b.name, b.region_code, b.parent_id) for b in report.created] == [
        ("Kelurahan Bendungan Hilir", "31.71", parent.id),
        ("Kelurahan Karet Tengsin", None, None),
    ]


def test_read_csv_keeps_spreadsheet_row_numbers_and_reads_a_bom() -> None:
    rows, numbers = read_csv(
        "\ufeffName,Category\n\nKelurahan A,kelurahan\nKelurahan B,kelurahan,extra\n".encode()
    )
    assert numbers == [3, 4]
    assert rows == [
        {"name": "Kelurahan A", "category": "kelurahan"},
        {"name": "Kelurahan B", "category": "kelurahan", "column 3": "extra"},
    ]
