"""A stage a body did not take part in reads "Tidak mengikuti" (with what the round's rule counts for it) in
the recap and the result sheet, never as an empty cell; the result sheet says why. The round is published
through the service (``tests.results.gated``)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl.worksheet.worksheet import Worksheet

from app.exports.result_sheet import RESULT_SHEET
from tests.exports.workbooks import find_row, header, open_xlsx, rows_after
from tests.factories import World, make_submission
from tests.results.gated import STAGE_TITLE, Gated, gated_season

pytestmark = pytest.mark.db


def published(world: World, client: TestClient, policy: str = "zero") -> Gated:
    gated = gated_season(world, policy=policy)
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish",
        json={"reason": "Keputusan pleno 3/2025"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text
    return gated


def recap_rows(client: TestClient, world: World) -> dict[str, tuple[Any, ...]]:
    response = client.get(f"/api/v1/rounds/{world.round.id}/recap.xlsx", headers=world.token(world.admin))
    assert response.status_code == 200, response.text
    ws = open_xlsx(response.content)["Peringkat"]
    assert header(ws)[4:8] == ["Nilai Mandiri", "Nilai Verifikasi", STAGE_TITLE, "Nilai Akhir"]
    return {row[1]: row for row in rows_after(ws)}


def components(ws: Worksheet) -> dict[str, list[Any]]:
    start = find_row(ws, "Komponen")
    assert [ws.cell(row=start, column=c).value for c in range(1, 5)] == [
        "Komponen",
        "Bobot (%)",
        "Nilai",
        "Keterangan",
    ]
    return {
        ws.cell(row=r, column=1).value: [ws.cell(row=r, column=c).value for c in range(2, 5)]
        for r in range(start + 1, start + 7)
    }


def test_the_recap_says_who_did_not_take_part_in_each_stage(client: TestClient, world: World) -> None:
    gated = published(world, client)
    rows = recap_rows(client, world)
    assert rows[world.body.name][4:9] == (100, 90, 80, 87, "Menuju Informatif")
    assert rows[gated.failed.name][4:9] == (100, 80, "Tidak mengikuti (dihitung 0)", 56, "Kurang Informatif")
    absent = "Tidak mengikuti"
    assert rows[gated.absent.name][4:9] == (absent, absent, absent, None, "Tidak Mengikuti")


def test_under_saq_only_the_recap_says_the_stage_is_not_counted(client: TestClient, world: World) -> None:
    gated = published(world, client, policy="saq_only")
    row = recap_rows(client, world)[gated.failed.name]
    assert row[6:9] == ("Tidak mengikuti (tidak dihitung)", 80, "Menuju Informatif")


def test_the_result_sheet_explains_the_missed_stage_and_the_final_score(
    client: TestClient, world: World
) -> None:
    gated = published(world, client)
    submission = gated.submissions[gated.failed.id]
    response = client.get(
        f"/api/v1/submissions/{submission.id}/result.xlsx", headers=world.token(gated.failed_operator)
    )
    assert response.status_code == 200, response.text
    lines = components(open_xlsx(response.content)[RESULT_SHEET])
    assert lines["Nilai Mandiri (SAQ)"] == [None, 100, None]
    assert lines["Nilai Verifikasi (SAQ)"] == [70, 80, None]
    assert lines[STAGE_TITLE] == [
        30,
        "Tidak mengikuti (dihitung 0)",
        f"Tidak lolos ke tahap {STAGE_TITLE}: nilai SAQ terverifikasi 80,00, batas 82.",
    ]
    assert lines["Nilai Akhir"] == [
        None,
        56,
        "Menurut aturan periode ini, tahap yang tidak diikuti dihitung 0. "
        f"Nilai akhir = SAQ 80,00 × 70% + {STAGE_TITLE} 0,00 × 30% = 56,00.",
    ]
    assert lines["Kualifikasi"] == [
        None,
        "Kurang Informatif",
        "Kurang Informatif: nilai akhir 56,00 berada pada rentang 40 sampai di bawah 60.",
    ]


def test_the_result_sheet_of_a_body_that_took_no_part_has_no_empty_stage(
    client: TestClient, world: World
) -> None:
    gated = published(world, client)
    draft = make_submission(world.session, world.round, gated.absent, world.template)
    response = client.get(
        f"/api/v1/submissions/{draft.id}/result.xlsx", headers=world.token(gated.absent_operator)
    )
    assert response.status_code == 200, response.text
    lines = components(open_xlsx(response.content)[RESULT_SHEET])
    absent = "Tidak mengikuti"
    assert [lines[name][1] for name in ("Nilai Mandiri (SAQ)", "Nilai Verifikasi (SAQ)", STAGE_TITLE)] == [
        absent,
        absent,
        absent,
    ]
    assert lines["Nilai Akhir"][2].startswith("Badan publik ini tidak mengikuti penilaian")
