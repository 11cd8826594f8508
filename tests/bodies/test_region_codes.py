"""Kemendagri region codes: the list of provinces and kabupaten/kota, and the code's format checked wherever a
body is registered or changed (the API, a CSV and a workbook), each refusal naming the field."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.regions import DATA, label_of, name_of, provinces, regencies
from tests.exports.test_bodies_import import post as post_workbook
from tests.exports.test_bodies_import import workbook
from tests.factories import World, problem

API = "/api/v1"
BAD_CODES = ["3171", "31.7", "31.71.1", "31.71.01.101", "31-71", "31.71.01.1001.1", "\u0663\u0661.71", " "]
MESSAGE = "not a Kemendagri region code such as 31, 31.71, 31.71.01 or 31.71.01.1001"


def test_the_list_has_every_province_and_kabupaten_kota_of_the_decree() -> None:
    with DATA.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    codes = [row["kode"] for row in rows]
    assert len(codes) == len(set(codes)) == 38 + 514
    assert codes == sorted(codes)
    assert len(provinces()) == 38
    regencies_all = [r for p in provinces() for r in regencies(p.code)]
    assert len(regencies_all) == 514
    assert sum(r.name.startswith("Kabupaten ") for r in regencies_all) == 416
    assert sum(r.name.startswith("Kota ") for r in regencies_all) == 98
    assert all(row["nama"] == row["nama"].strip() and "  " not in row["nama"] for row in rows)
    assert [r.name for r in regencies("31")] == [
        "Kabupaten Administrasi Kepulauan Seribu",
        "Kota Administrasi Jakarta Pusat",
        "Kota Administrasi Jakarta Utara",
        "Kota Administrasi Jakarta Barat",
        "Kota Administrasi Jakarta Selatan",
        "Kota Administrasi Jakarta Timur",
    ]
    assert (name_of("32.10"), name_of("96.71"), name_of("12.77")) == (
        "Kabupaten Majalengka",
        "Kota Sorong",
        "Kota Padangsidimpuan",
    )
    assert (label_of("31.71.01"), name_of(None)) == ("31.71.01", None)


@pytest.mark.parametrize("code", BAD_CODES)
def test_a_malformed_code_is_refused_on_create_and_patch_naming_the_field(
    client: TestClient, world: World, code: str
) -> None:
    created = client.post(
        f"{API}/commissions/{world.commission.id}/bodies",
        json={"name": "Kelurahan Baru", "category": "kelurahan", "region_code": code},
        headers=world.token(world.admin),
    )
    patched = client.patch(
        f"{API}/bodies/{world.body.id}", json={"region_code": code}, headers=world.token(world.admin)
    )
    for response in (created, patched):
        assert response.status_code == 422
        errors = problem(response)["errors"]
        assert [e["field"] for e in errors] == ["region_code"]
        assert MESSAGE in errors[0]["message"]


def _problems(response: Any) -> list[tuple[int, str, str]]:
    return [(p["row"], p["column"], p["message"]) for p in response.json()["problems"]]


def test_a_malformed_code_is_refused_in_a_csv_and_a_workbook_naming_row_and_column(
    client: TestClient, world: World
) -> None:
    lines = [f"Kelurahan {n},kelurahan,{code}" for n, code in enumerate(BAD_CODES[:-1])]
    text = "name,category,region_code\n" + "\n".join(lines) + "\n"
    from_csv = client.post(
        f"{API}/commissions/{world.commission.id}/bodies/import?dry_run=true",
        files={"file": ("badan-publik.csv", text.encode(), "text/csv")},
        headers=world.token(world.admin),
    )
    assert from_csv.status_code == 200
    expected = [(row, "region_code", MESSAGE) for row in range(2, 2 + len(BAD_CODES) - 1)]
    assert _problems(from_csv) == expected

    rows: list[list[Any]] = [[f"Kelurahan {n}", "kelurahan", code] for n, code in enumerate(BAD_CODES[:-1])]
    from_xlsx = post_workbook(client, world, workbook(rows), dry_run=True)
    assert from_xlsx.status_code == 200
    assert _problems(from_xlsx) == expected
    refused = post_workbook(client, world, workbook(rows), dry_run=False)
    assert refused.status_code == 422
    assert [e["field"] for e in problem(refused)["errors"]][:2] == [
        "rows.2.region_code",
        "rows.3.region_code",
    ]


def test_a_kabupaten_code_typed_as_a_number_in_a_workbook_keeps_its_two_digits(
    client: TestClient, world: World
) -> None:
    rows: list[list[Any]] = [
        ["Kabupaten Majalengka", "kelurahan", 32.1],
        ["Kota Administrasi Jakarta Pusat", "kelurahan", 31.71],
        ["Provinsi Jawa Barat", "kelurahan", 32],
        ["Salah Ketik", "kelurahan", 31.711],
    ]
    checked = post_workbook(client, world, workbook(rows), dry_run=True)
    assert _problems(checked) == [(5, "region_code", MESSAGE)]
    created = post_workbook(client, world, workbook(rows[:3]), dry_run=False)
    assert created.status_code == 201, created.text
    assert [b["region_code"] for b in created.json()["bodies"]] == ["32.10", "31.71", "32"]
