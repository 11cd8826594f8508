"""The recap workbook of a published round, read back with openpyxl and pandas (and LibreOffice)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from app.exports.layout import BAND_PALETTE, NOT_PARTICIPATING
from app.exports.recap_workbook import CORRECTION_HEADERS, PARTICIPATION_HEADERS
from app.exports.workbook_safety import XLSX_MEDIA_TYPE
from tests.exports.published import (
    FORMULA_NAME,
    FORMULA_NOTE,
    Published,
    make_publication,
    publish_world,
)
from tests.exports.workbooks import (
    find_row,
    frame,
    header,
    members,
    open_xlsx,
    rows_after,
    two_decimals,
)
from tests.factories import World, get_json, problem

pytestmark = pytest.mark.db

SHEETS = [
    "Ringkasan",
    "Peringkat",
    "Kecamatan",
    "Kelurahan",
    "Per Aspek",
    "Partisipasi",
    "Koreksi Verifikasi",
    "Tren",
]
RANKING_HEADERS = [
    "Peringkat",
    "Badan Publik",
    "Kategori",
    "Kode Wilayah",
    "Nilai Mandiri",
    "Nilai Verifikasi",
    "Presentasi",
    "Nilai Akhir",
    "Kualifikasi",
]


@pytest.fixture
def published(world: World) -> Published:
    return publish_world(world)


def recap(client: TestClient, published: Published, **params: Any) -> bytes:
    world = published.world
    response = client.get(
        f"/api/v1/rounds/{published.round.id}/recap.xlsx", headers=world.token(world.admin), params=params
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert "rekap-monev-2025" in response.headers["content-disposition"]
    return response.content


def test_the_recap_has_every_sheet_in_order(client: TestClient, published: Published) -> None:
    data = recap(client, published)
    assert open_xlsx(data).sheetnames == SHEETS
    assert pd.ExcelFile(io.BytesIO(data), engine="openpyxl").sheet_names == SHEETS


def test_every_sheet_states_when_it_was_made_and_from_which_revision(
    client: TestClient, published: Published
) -> None:
    wb = open_xlsx(recap(client, published))
    for ws in wb.worksheets:
        assert ws["A2"].value == "Dibuat"
        assert isinstance(ws["B2"].value, dt.datetime), ws.title
        assert ws["B2"].number_format == "dd/mm/yyyy hh:mm"
        assert ws["C2"].value == "WIB"
        assert (ws["A3"].value, ws["B3"].value) == ("Revisi Penetapan", 1)
        # Published 03:00 UTC is 10:00 in Jakarta.
        assert ws["A4"].value == "Ditetapkan"
        assert ws["B4"].value == dt.datetime(2025, 12, 10, 10, 0, tzinfo=dt.UTC).replace(tzinfo=None)


def ranking_via_api(client: TestClient, published: Published, category: str) -> list[dict[str, Any]]:
    world = published.world
    body = get_json(
        client,
        f"/api/v1/rounds/{published.round.id}/rankings?category={category}",
        world.token(world.admin),
    )
    items: list[dict[str, Any]] = body["items"]
    return items


def test_the_ranking_holds_the_published_figures_as_numbers(client: TestClient, published: Published) -> None:
    wb = open_xlsx(recap(client, published))
    ws = wb["Peringkat"]
    assert header(ws) == RANKING_HEADERS
    rows = rows_after(ws)
    api = ranking_via_api(client, published, "kecamatan") + ranking_via_api(client, published, "kelurahan")
    assert [r[1] for r in rows] == [item["body_name"] for item in api]
    for row, item in zip(rows, api, strict=True):
        assert row[0] == item["rank"]
        assert row[8] == item["band_label"]
        if not item["participating"]:
            continue
        assert two_decimals(row[4]) == item["self_score"]
        assert two_decimals(row[5]) == item["verified_score"]
        assert two_decimals(row[6]) == item["stage_scores"].get("presentasi")
        assert two_decimals(row[7]) == item["final_score"]
    assert rows[0][:4] == (1, FORMULA_NAME, "Kecamatan", "31.71.01")
    assert [r[0] for r in rows] == [1, 1, 3, 1, None]
    # A body that took no part: every stage reads "Tidak mengikuti", never an empty cell.
    assert rows[-1] == (
        None,
        published.world.other_body.name,
        "Kelurahan",
        None,
        "Tidak mengikuti",
        "Tidak mengikuti",
        "Tidak mengikuti",
        None,
        "Tidak Mengikuti",
    )
    scores = [ws.cell(row=7 + i, column=c) for i in range(4) for c in range(5, 9)]
    assert {c.data_type for c in scores} == {"n"}
    assert {c.number_format for c in scores} == {"0.00"}


def test_the_ranking_is_frozen_filtered_and_sized(client: TestClient, published: Published) -> None:
    ws = open_xlsx(recap(client, published))["Peringkat"]
    assert ws.freeze_panes == "C7"
    assert ws.auto_filter.ref == "A6:I11"
    widths = {letter: ws.column_dimensions[letter].width for letter in "ABCI"}
    assert widths["B"] >= len(published.world.other_body.name)
    assert widths["I"] >= len("Menuju Informatif")


def test_band_cells_share_one_palette_across_sheets(client: TestClient, published: Published) -> None:
    wb = open_xlsx(recap(client, published))
    informatif, kurang = BAND_PALETTE[0].fill, BAND_PALETTE[3].fill
    cukup, absent = BAND_PALETTE[2].fill, NOT_PARTICIPATING.fill
    tren_row = find_row(wb["Tren"], published.world.body.name)
    expected = [
        ("Peringkat", "I7", informatif),
        ("Peringkat", "I9", kurang),
        ("Peringkat", "I10", cukup),
        ("Peringkat", "I11", absent),
        ("Kecamatan", "I7", informatif),
        ("Kelurahan", "I7", cukup),
        ("Kelurahan", "I8", absent),
        ("Tren", f"F{tren_row}", cukup),
        ("Tren", f"D{tren_row}", BAND_PALETTE[1].fill),
    ]
    for sheet, cell, colour in expected:
        assert wb[sheet][cell].fill.fgColor.rgb == "FF" + colour[1:], (sheet, cell)


def test_category_sheets_repeat_the_ranking_and_print_as_is(client: TestClient, published: Published) -> None:
    data = recap(client, published)
    wb = open_xlsx(data)
    kelurahan = wb["Kelurahan"]
    assert header(kelurahan) == RANKING_HEADERS
    assert [r[1] for r in rows_after(kelurahan)] == [
        published.world.body.name,
        published.world.other_body.name,
    ]
    assert kelurahan.page_setup.orientation == "landscape"
    assert kelurahan.print_title_rows == "$6:$6"
    df = frame(data, "Kecamatan")
    assert list(df.columns) == RANKING_HEADERS
    assert df["Nilai Akhir"].tolist() == [91.75, 91.75, 50.0]
    assert df["Peringkat"].tolist() == [1, 1, 3]


def test_summary_counts_bands_per_category_with_absent_bodies_apart(
    client: TestClient, published: Published
) -> None:
    data = recap(client, published)
    ws = open_xlsx(data)["Ringkasan"]
    start = find_row(ws, "Kategori")
    assert [c.value for c in ws[start]][:8] == [
        "Kategori",
        "Informatif",
        "Menuju Informatif",
        "Cukup Informatif",
        "Kurang Informatif",
        "Tidak Informatif",
        "Tidak Mengikuti",
        "Jumlah",
    ]
    assert [c.value for c in ws[start + 1]][:8] == ["Kecamatan", 2, 0, 0, 1, 0, 0, 3]
    assert [c.value for c in ws[start + 2]][:8] == ["Kelurahan", 0, 0, 1, 0, 0, 1, 2]
    assert [c.value for c in ws[start + 3]][:8] == ["Jumlah", 2, 0, 1, 1, 0, 1, 5]
    percentages = [two_decimals(c.value) for c in ws[start + 4][1:7]]
    assert ws.cell(row=start + 4, column=1).value == "Persentase (%)"
    assert percentages == ["40.00", "0.00", "20.00", "20.00", "0.00", "20.00"]
    weights = find_row(ws, "Tahap")
    assert [
        (ws.cell(row=weights + i, column=1).value, ws.cell(row=weights + i, column=2).value) for i in (1, 2)
    ] == [
        ("SAQ (Nilai Verifikasi)", 70),
        ("Presentasi", 30),
    ]
    assert "xl/charts/chart1.xml" in members(data)


def test_the_chart_plots_each_band_per_category(client: TestClient, published: Published) -> None:
    data = recap(client, published)
    ws = open_xlsx(data)["Ringkasan"]
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    assert chart.grouping == "stacked"
    assert len(chart.series) == 6
    start = find_row(ws, "Kategori")
    assert chart.series[0].val.numRef.f == f"Ringkasan!$B${start + 1}:$B${start + 2}"


def test_per_aspect_sheet_has_the_published_aspect_scores(client: TestClient, published: Published) -> None:
    df = frame(recap(client, published), "Per Aspek")
    assert list(df.columns) == ["Badan Publik", "Kategori", "1. Jenis Informasi", "2. Digitalisasi"]
    world_body = df[df["Badan Publik"] == published.world.body.name].iloc[0]
    assert (world_body["1. Jenis Informasi"], world_body["2. Digitalisasi"]) == (75.0, 75.0)
    assert df[df["Badan Publik"] == "Kecamatan Dua"].iloc[0]["2. Digitalisasi"] == 81.25


def test_participation_per_category(client: TestClient, published: Published) -> None:
    data = recap(client, published)
    ws = open_xlsx(data)["Partisipasi"]
    assert header(ws) == list(PARTICIPATION_HEADERS)
    rows = {r[0]: r for r in rows_after(ws)}
    # kelurahan: both bodies have an operator account; world.body submitted and was verified.
    assert rows["Kelurahan"][1:] == (2, 2, 100, 1, 50, 1, 50)
    assert rows["Kecamatan"][1:4] == (3, 0, 0)
    assert rows["Jumlah"][1] == 5
    assert ws.cell(row=7, column=4).number_format == "0.00"


def test_corrections_list_every_overruled_answer(client: TestClient, published: Published) -> None:
    data = recap(client, published)
    ws = open_xlsx(data)["Koreksi Verifikasi"]
    assert header(ws) == list(CORRECTION_HEADERS)
    name = published.world.body.name
    verifier = published.world.verifier.name
    assert rows_after(ws) == [
        (name, "Kelurahan", "1.1.2", "Kelengkapan DIP", "Lengkap", "Sebagian", verifier, FORMULA_NOTE),
        (
            name,
            "Kelurahan",
            "2.1",
            "Kanal media sosial yang digunakan",
            "Instagram; Facebook",
            "Instagram",
            verifier,
            "Hanya Instagram yang aktif",
        ),
    ]
    note = ws["H7"]
    assert (note.data_type, note.quotePrefix) == ("s", True)


def test_trend_shows_earlier_rounds_and_the_change(client: TestClient, published: Published) -> None:
    data = recap(client, published)
    ws = open_xlsx(data)["Tren"]
    title = published.round.title
    assert header(ws) == [
        "Badan Publik",
        "Kategori",
        "Nilai Akhir Monev 2024",
        "Kualifikasi Monev 2024",
        f"Nilai Akhir {title}",
        f"Kualifikasi {title}",
        "Perubahan Nilai",
        "Perubahan Kualifikasi (tingkat)",
    ]
    row = find_row(ws, published.world.body.name)
    values = [c.value for c in ws[row]]
    assert values[2:8] == [85, "Menuju Informatif", 76.5, "Cukup Informatif", -8.5, -1]
    assert ws.cell(row=row, column=7).number_format == "+0.00;-0.00;0.00"
    world = published.world
    history = get_json(client, f"/api/v1/bodies/{world.body.id}/history", world.token(world.admin))
    latest = history["entries"][-1]
    assert two_decimals(values[6]) == latest["score_change"]
    newcomer = [c.value for c in ws[find_row(ws, "Kecamatan Dua")]]
    assert newcomer[2:4] == [None, None]
    assert newcomer[6:8] == [None, None]


def test_text_from_users_stays_text(client: TestClient, published: Published) -> None:
    wb = open_xlsx(recap(client, published))
    for sheet in ("Peringkat", "Kecamatan", "Per Aspek", "Tren"):
        cell = wb[sheet]["B7"] if sheet in ("Peringkat", "Kecamatan") else wb[sheet]["A7"]
        assert cell.value == FORMULA_NAME, sheet
        assert cell.data_type == "s", sheet
        assert cell.quotePrefix, sheet


def test_an_earlier_revision_can_be_asked_for(client: TestClient, published: Published) -> None:
    world = published.world
    make_publication(world.session, published.round, [(world.body, {"participating": False})], revision=2)
    latest = open_xlsx(recap(client, published))["Peringkat"]
    first = open_xlsx(recap(client, published, revision=1))["Peringkat"]
    assert latest["B3"].value == 2
    assert first["B3"].value == 1
    assert len(rows_after(first)) == 5
    absent = "Tidak mengikuti"
    assert rows_after(latest) == [
        (None, world.body.name, "Kelurahan", "31.71.01.1001", absent, absent, absent, None, "Tidak Mengikuti")
    ]
    missing = client.get(
        f"/api/v1/rounds/{published.round.id}/recap.xlsx",
        params={"revision": 7},
        headers=world.token(world.admin),
    )
    assert missing.status_code == 404
    assert "revision 7" in problem(missing)["detail"]


def test_an_unpublished_round_has_no_recap(client: TestClient, world: World) -> None:
    response = client.get(f"/api/v1/rounds/{world.round.id}/recap.xlsx", headers=world.token(world.admin))
    assert response.status_code == 409
    assert "not published" in problem(response)["detail"]


@pytest.mark.parametrize("role", ["operator", "verifier"])
def test_bodies_and_verifiers_do_not_get_the_recap(
    client: TestClient, published: Published, role: str
) -> None:
    world = published.world
    response = client.get(
        f"/api/v1/rounds/{published.round.id}/recap.xlsx", headers=world.token(getattr(world, role))
    )
    assert response.status_code == 403
    problem(response)


@pytest.mark.soffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_reads_the_recap(client: TestClient, published: Published, tmp_path: Path) -> None:
    source = tmp_path / "rekap.xlsx"
    source.write_bytes(recap(client, published))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
            "--outdir",
            str(tmp_path / "csv"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    ranking = (tmp_path / "csv" / "rekap-Peringkat.csv").read_text(encoding="utf-8").splitlines()
    assert ranking[5] == ",".join(RANKING_HEADERS)
    assert ranking[6] == f"1,{FORMULA_NAME},Kecamatan,31.71.01,90.00,92.50,90.00,91.75,Informatif"
    assert ranking[1].startswith("Dibuat,")
    assert ranking[1].endswith(",WIB,,,,,,")
    assert ranking[3].startswith("Ditetapkan,10/12/2025 10:00,WIB")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(f"rekap-{s}.csv" for s in SHEETS)
