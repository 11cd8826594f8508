"""Registering public bodies from an Excel workbook, through the bodies import's rules."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db.models import PublicBody
from app.exports.workbook_safety import XLSX_MEDIA_TYPE
from tests.factories import World, make_category, problem

pytestmark = pytest.mark.db

BROKEN = Path(__file__).parent / "broken"
INDONESIAN = ["Nama Badan Publik", "Kategori", "Kode Wilayah", "Induk", "Email PPID"]


def workbook(rows: list[list[Any]], header: list[str] = INDONESIAN) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Badan Publik")
    sheet.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if value is not None:
                sheet.write(i, j, value)
    book.close()
    return buffer.getvalue()


def post(client: TestClient, world: World, data: bytes, *, dry_run: bool, who: str = "admin") -> Any:
    return client.post(
        f"/api/v1/commissions/{world.commission.id}/bodies/import.xlsx",
        params={"dry_run": str(dry_run).lower()},
        files={"file": ("badan-publik.xlsx", data, XLSX_MEDIA_TYPE)},
        headers=world.token(getattr(world, who)),
    )


ROWS = [
    ["Kecamatan Menteng", "kecamatan", "31.71.06", None, "ppid.menteng@jakarta.go.id"],
    None,
    ["Kelurahan Gondangdia", "kelurahan", "31.71.06.1002", "Kecamatan Menteng", None],
    ["Kelurahan Cikini", "kelurahan", "31.71.06.1003", "Kecamatan Menteng", "ppid.cikini@jakarta.go.id"],
]


def test_a_dry_run_reports_and_writes_nothing_then_the_import_creates(
    client: TestClient, world: World
) -> None:
    make_category(world.session, world.commission, code="kecamatan", name="Kecamatan")
    data = workbook([r or [] for r in ROWS])
    report = post(client, world, data, dry_run=True)
    assert report.status_code == 200, report.text
    assert report.json() | {"bodies": []} == {
        "dry_run": True,
        "valid": True,
        "rows": 3,
        "created": 0,
        "problems": [],
        "problems_omitted": 0,
        "bodies": [],
    }
    names = select(PublicBody.name).where(PublicBody.commission_id == world.commission.id)
    assert "Kelurahan Cikini" not in world.session.scalars(names).all()
    created = post(client, world, data, dry_run=False)
    assert created.status_code == 201, created.text
    bodies = {b["name"]: b for b in created.json()["bodies"]}
    assert set(bodies) == {"Kecamatan Menteng", "Kelurahan Gondangdia", "Kelurahan Cikini"}
    assert bodies["Kelurahan Cikini"]["parent_id"] == bodies["Kecamatan Menteng"]["id"]
    assert bodies["Kecamatan Menteng"]["region_code"] == "31.71.06"


def test_every_bad_row_is_reported_with_the_row_a_spreadsheet_shows(client: TestClient, world: World) -> None:
    rows = [
        ["Kelurahan Satu", "kelurahan", "31.71.06.1001", None, "ppid@contoh.go.id"],
        [],
        ["Kelurahan Dua", "dinas", None, None, None],
        ["Kelurahan Tiga", "kelurahan", None, None, "bukan-email"],
    ]
    response = post(client, world, workbook(rows), dry_run=True)
    assert response.status_code == 200
    problems = [(p["row"], p["column"]) for p in response.json()["problems"]]
    assert problems == [(4, "category"), (5, "ppid_email")]
    refused = post(client, world, workbook(rows), dry_run=False)
    assert refused.status_code == 422
    assert [e["field"] for e in problem(refused)["errors"]] == ["rows.4.category", "rows.5.ppid_email"]


def test_english_headers_work_too(client: TestClient, world: World) -> None:
    data = workbook(
        [["Kelurahan Empat", "kelurahan", None, None, None]],
        header=["name", "category", "region_code", "parent", "ppid_email"],
    )
    assert post(client, world, data, dry_run=False).status_code == 201


def test_a_formula_is_refused_naming_its_cell(client: TestClient, world: World) -> None:
    response = post(client, world, (BROKEN / "formulas.xlsx").read_bytes(), dry_run=True)
    assert response.status_code == 422
    body = problem(response)
    assert body["errors"] == [
        {
            "field": "Badan Publik!C2",
            "message": "holds a formula; type the value itself (formulas are never evaluated)",
        }
    ]


def test_a_csv_renamed_xlsx_is_named_with_the_reason(client: TestClient, world: World) -> None:
    response = client.post(
        f"/api/v1/commissions/{world.commission.id}/bodies/import.xlsx",
        files={"file": ("badan.xlsx", (BROKEN / "csv-renamed.xlsx").read_bytes(), XLSX_MEDIA_TYPE)},
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["detail"].startswith("badan.xlsx: is a text (CSV?) file")


@pytest.mark.parametrize("who", ["operator", "verifier", "panelist"])
def test_only_administrators_import(client: TestClient, world: World, who: str) -> None:
    response = post(client, world, workbook([["Kelurahan Lima", "kelurahan"]]), dry_run=True, who=who)
    assert response.status_code == 403
    problem(response)
