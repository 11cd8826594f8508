"""A body's result sheet (Lembar Hasil Penilaian) and the ZIP of every sheet of a round."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl.worksheet.worksheet import Worksheet

from app.db.models import EvidenceFile
from app.exports.layout import BAND_PALETTE
from app.exports.result_sheet import QUESTION_HEADERS, RECOMMENDATION_HEADERS, RESULT_SHEET
from app.exports.service import slug
from tests.exports.published import EVIDENCE, FORMULA_NOTE, FORMULA_TEXT, Published, publish_world
from tests.exports.workbooks import find_row, open_xlsx
from tests.factories import World, make_submission, problem

pytestmark = pytest.mark.db


@pytest.fixture
def published(world: World) -> Published:
    result = publish_world(world)
    world.session.add(
        EvidenceFile(
            submission_id=result.submission.id,
            question_code="1.1.1",
            sha256="0" * 64,
            size=1000,
            content_type="application/pdf",
            original_name="dip-2025.pdf",
        )
    )
    world.session.flush()
    return result


def sheet_of(client: TestClient, published: Published, role: str = "operator") -> bytes:
    world = published.world
    response = client.get(
        f"/api/v1/submissions/{published.submission.id}/result.xlsx",
        headers=world.token(getattr(world, role)),
    )
    assert response.status_code == 200, response.text
    assert (
        f"hasil-{slug(world.body.name)}-{published.submission.id}.xlsx"
        in response.headers["content-disposition"]
    )
    return response.content


def values(ws: Worksheet, row: int, width: int) -> list[Any]:
    return [ws.cell(row=row, column=c).value for c in range(1, width + 1)]


def test_the_header_carries_the_published_scores(client: TestClient, published: Published) -> None:
    ws = open_xlsx(sheet_of(client, published))[RESULT_SHEET]
    world = published.world
    assert ws["A1"].value == f"Lembar Hasil Penilaian — {world.body.name}"
    assert (ws["A3"].value, ws["B3"].value) == ("Revisi Penetapan", 1)
    assert isinstance(ws["B2"].value, dt.datetime)
    assert ws["B4"].value == dt.datetime(2025, 12, 10, 10, 0, tzinfo=dt.UTC).replace(tzinfo=None)
    assert ws["B4"].number_format == "dd/mm/yyyy hh:mm"
    info = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(6, 11)}
    assert info == {
        "Komisi Informasi": world.commission.name,
        "Periode": world.round.title,
        "Badan Publik": world.body.name,
        "Kategori": "Kelurahan",
        "Kode Wilayah": "31.71.01.1001",
    }
    start = find_row(ws, "Komponen")
    assert values(ws, start, 3) == ["Komponen", "Bobot (%)", "Nilai"]
    assert [values(ws, start + i, 3) for i in range(1, 7)] == [
        ["Nilai Mandiri (SAQ)", None, 100],
        ["Nilai Verifikasi (SAQ)", 70, 75],
        ["Presentasi", 30, 80],
        ["Nilai Akhir", None, 76.5],
        ["Kualifikasi", None, "Cukup Informatif"],
        ["Peringkat dalam Kategori", None, 1],
    ]
    assert ws.cell(row=start + 4, column=3).number_format == "0.00"
    assert ws.cell(row=start + 5, column=3).fill.fgColor.rgb == "FF" + BAND_PALETTE[2].fill[1:]
    aspects = find_row(ws, "Indikator")
    assert [values(ws, aspects + i, 3) for i in (1, 2)] == [
        ["1. Jenis Informasi", 60, 75],
        ["2. Digitalisasi", 40, 75],
    ]


def test_every_question_shows_answer_evidence_and_verification(
    client: TestClient, published: Published
) -> None:
    ws = open_xlsx(sheet_of(client, published))[RESULT_SHEET]
    first = find_row(ws, "Indikator 1. Jenis Informasi")
    assert values(ws, first + 1, 9) == list(QUESTION_HEADERS)
    assert values(ws, first + 2, 9) == [
        "1.1.1",
        "Apakah badan publik memiliki DIP?",
        "Ya",
        f"{EVIDENCE}\nBerkas: dip-2025.pdf",
        "Ya",
        "Ya",
        None,
        2,
        2,
    ]
    assert values(ws, first + 3, 9) == [
        "1.1.2",
        "Kelengkapan DIP",
        "Lengkap",
        None,
        "Sebagian",
        "Ya",
        FORMULA_NOTE,
        1,
        2,
    ]
    second = find_row(ws, "Indikator 2. Digitalisasi")
    assert [values(ws, second + i, 9) for i in (2, 3, 4)] == [
        [
            "2.1",
            "Kanal media sosial yang digunakan",
            "Instagram; Facebook",
            None,
            "Instagram",
            "Ya",
            "Hanya Instagram yang aktif",
            0.5,
            1,
        ],
        ["2.2", "Persentase permohonan selesai tepat waktu", 95, None, 95, "Ya", None, 1, 1],
        ["2.3", "Alamat website PPID", FORMULA_TEXT, None, FORMULA_TEXT, "Ya", None, None, None],
    ]
    for cell in (ws.cell(row=first + 3, column=7), ws.cell(row=second + 4, column=3)):
        assert cell.data_type == "s"
        assert cell.quotePrefix


def test_recommendations_put_the_costliest_questions_first(client: TestClient, published: Published) -> None:
    data = sheet_of(client, published)
    ws = open_xlsx(data)[RESULT_SHEET]
    title = find_row(ws, "Rekomendasi")
    assert values(ws, title + 2, 7) == list(RECOMMENDATION_HEADERS)
    assert [values(ws, title + i, 7) for i in (3, 4)] == [
        [
            "1.1.2",
            "Kelengkapan DIP",
            "Jenis Informasi",
            "Jawaban terverifikasi belum memenuhi seluruh kriteria",
            2,
            1,
            1,
        ],
        [
            "2.1",
            "Kanal media sosial yang digunakan",
            "Digitalisasi",
            "Jawaban terverifikasi belum memenuhi seluruh kriteria",
            1,
            0.5,
            0.5,
        ],
    ]
    assert ws.cell(row=title + 4, column=7).number_format == "0.00"
    assert ws.cell(row=title + 5, column=1).value is None
    df = pd.read_excel(io.BytesIO(data), sheet_name=RESULT_SHEET, header=title + 1, engine="openpyxl")
    assert df["Poin Hilang"].tolist() == [1.0, 0.5]


def test_the_body_sees_its_sheet_only_once_published(client: TestClient, world: World) -> None:
    submission = make_submission(world.session, world.round, world.body, world.template)
    response = client.get(
        f"/api/v1/submissions/{submission.id}/result.xlsx", headers=world.token(world.operator)
    )
    assert response.status_code == 409
    assert "not published" in problem(response)["detail"]


@pytest.mark.parametrize("role", ["other_operator", "panelist", "verifier", "admin"])
def test_who_may_read_a_result_sheet(client: TestClient, published: Published, role: str) -> None:
    world = published.world
    response = client.get(
        f"/api/v1/submissions/{published.submission.id}/result.xlsx",
        headers=world.token(getattr(world, role)),
    )
    if role == "other_operator":
        assert response.status_code == 403
        problem(response)
    else:
        assert response.status_code == 200


def test_a_body_without_participation_gets_a_sheet_without_recommendations(
    client: TestClient, published: Published
) -> None:
    world = published.world
    draft = make_submission(world.session, world.round, world.other_body, world.template)
    response = client.get(
        f"/api/v1/submissions/{draft.id}/result.xlsx", headers=world.token(world.other_operator)
    )
    assert response.status_code == 200
    ws = open_xlsx(response.content)[RESULT_SHEET]
    assert ws.cell(row=find_row(ws, "Kualifikasi"), column=3).value == "Tidak Mengikuti"
    assert ws.cell(row=find_row(ws, "Rekomendasi") + 1, column=1).value.startswith(
        "Badan publik ini tidak mengikuti"
    )


def test_the_round_zip_holds_every_sheet(client: TestClient, published: Published) -> None:
    world = published.world
    response = client.get(
        f"/api/v1/rounds/{world.round.id}/result-sheets.zip", headers=world.token(world.admin)
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert names == [f"kelurahan/hasil-{slug(world.body.name)}-{published.submission.id}.xlsx"]
        inner = open_xlsx(archive.read(names[0]))[RESULT_SHEET]
    assert inner["A1"].value == f"Lembar Hasil Penilaian — {world.body.name}"
    refused = client.get(
        f"/api/v1/rounds/{world.round.id}/result-sheets.zip", headers=world.token(world.operator)
    )
    assert refused.status_code == 403
