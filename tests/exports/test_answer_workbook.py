"""The answer workbook: download, fill offline, upload; validated like the API, all or nothing."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.packaging.custom import CustomPropertyList
from openpyxl.worksheet.worksheet import Worksheet

from app.db.models import Submission
from app.exports.answer_workbook import HEADERS
from app.exports.workbook_safety import MIB, XLSX_MEDIA_TYPE
from app.settings import Settings
from tests.exports.workbooks import open_xlsx
from tests.factories import World, get_json, make_answers, make_submission, problem

pytestmark = pytest.mark.db

BROKEN = Path(__file__).parent / "broken"
LINK = "https://ppid.example.go.id/dip"
CODES = ["1.1.1", "1.1.2", "2.1", "2.2", "2.3"]
FIRST_ROW = 7  # the header is on row 6


@pytest.fixture
def submission(world: World) -> Submission:
    row = make_submission(world.session, world.round, world.body, world.template)
    make_answers(world.session, row, {"1.1.1": {"value": "yes", "evidence": [LINK]}, "2.2": {"value": 50}})
    return row


def download(client: TestClient, world: World, submission: Submission, who: str = "operator") -> bytes:
    response = client.get(
        f"/api/v1/submissions/{submission.id}/answers.xlsx", headers=world.token(getattr(world, who))
    )
    assert response.status_code == 200, response.text
    assert "jawaban-" in response.headers["content-disposition"]
    return response.content


def upload(
    client: TestClient,
    world: World,
    submission: Submission,
    data: bytes,
    who: str = "operator",
    **headers: str,
) -> Any:
    return client.post(
        f"/api/v1/submissions/{submission.id}/answers.xlsx",
        content=data,
        headers=world.token(getattr(world, who)) | {"Content-Type": XLSX_MEDIA_TYPE} | headers,
    )


def edit(data: bytes, cells: dict[str, Any]) -> bytes:
    """Fill cells of the Jawaban sheet as a user would, with openpyxl, and save."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Jawaban"]
    for ref, value in cells.items():
        ws[ref] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def stored(client: TestClient, world: World, submission: Submission) -> dict[str, Any]:
    body = get_json(client, f"/api/v1/submissions/{submission.id}", world.token(world.operator))
    return {code: (a["value"], a["evidence"], a["note"]) for code, a in body["answers"].items()}


def validation(ws: Worksheet, ref: str) -> Any:
    found = [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]
    assert len(found) == 1, ref
    return found[0]


def test_the_workbook_lists_every_question_with_its_allowed_values(
    client: TestClient, world: World, submission: Submission
) -> None:
    data = download(client, world, submission)
    wb = open_xlsx(data)
    assert wb.sheetnames == ["Jawaban", "Pilihan", "_emonev"]
    assert [wb[s].sheet_state for s in wb.sheetnames] == ["visible", "hidden", "veryHidden"]
    ws = wb["Jawaban"]
    assert [c.value for c in ws[6]] == list(HEADERS)
    rows = [[c.value for c in ws[FIRST_ROW + i]] for i in range(len(CODES))]
    assert [r[0] for r in rows] == CODES
    assert rows[0] == [
        "1.1.1",
        "Jenis Informasi",
        "Apakah badan publik memiliki DIP?",
        "Ya/Tidak",
        "Ya\nTidak",
        "Wajib",
        "Ya",
        LINK,
        None,
    ]
    assert rows[1][3:7] == ["Pilihan", "Lengkap\nSebagian\nTidak ada", "-", None]
    assert rows[3][6] == 50
    assert validation(ws, "G7").formula1 == "'Pilihan'!$A$1:$A$2"
    assert validation(ws, "G8").formula1 == "'Pilihan'!$A$3:$A$5"
    assert validation(ws, "G10").type == "decimal"
    assert [c.value for c in wb["Pilihan"]["A"]] == ["Ya", "Tidak", "Lengkap", "Sebagian", "Tidak ada"]
    assert ws.protection.sheet
    assert not ws["G7"].protection.locked
    assert ws["A7"].protection.locked
    assert ws.freeze_panes == "B7"
    assert isinstance(ws["B2"].value, dt.datetime)
    assert ws["C2"].value == "WIB"
    pin = {row[0].value: row[1].value for row in wb["_emonev"].iter_rows()}
    assert pin == {
        "submission_id": str(submission.id),
        "submission_version": "1",
        "template_key": "test-mini",
        "template_version": "1",
        "template_hash": world.template.content_hash,
    }
    assert wb.custom_doc_props["emonev.template_version"].value == "1"
    df = pd.read_excel(io.BytesIO(data), sheet_name="Jawaban", header=5, dtype=str)
    assert list(df.columns) == list(HEADERS)
    assert df["Kode"].tolist() == CODES


def test_a_filled_workbook_saves_every_answer(
    client: TestClient, world: World, submission: Submission
) -> None:
    filled = edit(
        download(client, world, submission),
        {
            "H7": f"{LINK}\nhttps://ppid.example.go.id/dip-2025",
            "G8": "Sebagian",
            "G9": "Instagram; yt",
            "G10": 75.5,
            "G11": "https://ppid.example.go.id",
            "I11": "Situs utama",
        },
    )
    response = upload(client, world, submission, filled)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["changed"] == ["1.1.1", "1.1.2", "2.1", "2.2", "2.3"]
    assert stored(client, world, submission) == {
        "1.1.1": ("yes", [LINK, "https://ppid.example.go.id/dip-2025"], None),
        "1.1.2": ("b", [], None),
        "2.1": (["ig", "yt"], [], None),
        "2.2": (75.5, [], None),
        "2.3": ("https://ppid.example.go.id", [], "Situs utama"),
    }


@pytest.mark.parametrize(
    ("typed", "saved", "earned"),
    [
        (95, 95, "1.00"),
        ("95", 95, "1.00"),
        ("75,5", 75.5, "0.50"),
        # 19 digits typed in a number cell are kept to 15 by the spreadsheet: the digits it shows arrive
        # (not 1234567890123459968, the binary float's).
        (1.23456789012346e18, 1234567890123460000, "1.00"),
        # Below 90 by a hair: read through a float it became 90.0 and earned the top band.
        ("89,99999999999999999", "89.99999999999999999", "0.50"),
    ],
)
def test_a_number_typed_in_the_workbook_is_saved_as_typed(
    client: TestClient, world: World, submission: Submission, typed: Any, saved: Any, earned: str
) -> None:
    response = upload(client, world, submission, edit(download(client, world, submission), {"G10": typed}))
    assert response.status_code == 200, response.text
    value = stored(client, world, submission)["2.2"][0]
    assert value == saved
    assert type(value) is type(saved)
    score = get_json(client, f"/api/v1/submissions/{submission.id}/score", world.token(world.operator))
    (question,) = [q for q in score["questions"] if q["code"] == "2.2"]
    assert question["earned"] == earned


@pytest.mark.parametrize("typed", ["NaN", "Infinity", "-inf"])
def test_a_number_cell_that_is_no_finite_number_is_refused_naming_the_cell(
    client: TestClient, world: World, submission: Submission, typed: str
) -> None:
    before = stored(client, world, submission)
    response = upload(client, world, submission, edit(download(client, world, submission), {"G10": typed}))
    assert response.status_code == 422
    cells = {e["field"]: e["message"] for e in problem(response)["errors"]}
    assert cells == {"Jawaban!G10": f"question 2.2: {typed!r} is not a finite number"}
    assert stored(client, world, submission) == before


def test_a_long_stored_number_comes_back_unchanged_from_an_untouched_workbook(
    client: TestClient, world: World
) -> None:
    row = make_submission(world.session, world.round, world.body, world.template)
    make_answers(world.session, row, {"2.2": {"value": 1234567890123456789}})
    data = download(client, world, row)
    # A number cell keeps 16 digits: the stored number is written as text, so that it comes back whole.
    assert open_xlsx(data)["Jawaban"]["G10"].value == "1234567890123456789"
    response = upload(client, world, row, data)
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == []
    assert stored(client, world, row)["2.2"][0] == 1234567890123456789


@pytest.mark.soffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_numbers_in_a_workbook_saved_by_libreoffice_arrive_as_it_shows_them(
    client: TestClient, world: World, submission: Submission, tmp_path: Path
) -> None:
    source = tmp_path / "jawaban.xlsx"
    source.write_bytes(
        edit(download(client, world, submission), {"G8": "Lengkap", "G10": 1234567890123456789})
    )
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path / "out"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    data = (tmp_path / "out" / "jawaban.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b"<v>1.23456789012346E+018</v>" in archive.read("xl/worksheets/sheet1.xml")
    response = upload(client, world, submission, data)
    assert response.status_code == 200, response.text
    saved = stored(client, world, submission)
    assert saved["2.2"][0] == 1234567890123460000  # what LibreOffice shows: 1.23456789012346E+18
    assert saved["1.1.2"][0] == "a"


def test_a_cleared_row_clears_the_answer(client: TestClient, world: World, submission: Submission) -> None:
    cleared = edit(download(client, world, submission), {"G10": None})
    assert upload(client, world, submission, cleared).status_code == 200
    assert "2.2" not in stored(client, world, submission)


def test_every_problem_is_listed_with_its_cell_and_nothing_is_saved(
    client: TestClient, world: World, submission: Submission
) -> None:
    before = stored(client, world, submission)
    broken = edit(
        download(client, world, submission),
        {"H7": "bukan-tautan", "G8": "Mungkin", "G10": "banyak", "I11": "=1+1", "A12": "9.9", "G12": "Ya"},
    )
    response = upload(client, world, submission, broken)
    assert response.status_code == 422
    body = problem(response)
    cells = {e["field"]: e["message"] for e in body["errors"]}
    assert set(cells) == {"Jawaban!H7", "Jawaban!G8", "Jawaban!G10", "Jawaban!I11", "Jawaban!A12"}
    assert cells["Jawaban!I11"].startswith("holds a formula")
    assert cells["Jawaban!A12"] == "question 9.9: unknown question code"
    assert cells["Jawaban!G8"].startswith("question 1.1.2: ")
    assert {k: v for k, v in body["cells"][2].items() if k != "message"} == {
        "sheet": "Jawaban",
        "row": 10,
        "column": "G",
    }
    assert stored(client, world, submission) == before


def test_a_workbook_older_than_the_last_save_is_refused(
    client: TestClient, world: World, submission: Submission
) -> None:
    data = download(client, world, submission)
    saved = client.put(
        f"/api/v1/submissions/{submission.id}/answers",
        json={"answers": {"2.3": {"value": "https://ppid.example.go.id"}}},
        headers=world.token(world.operator) | {"If-Match": '"1"'},
    )
    assert saved.status_code == 200
    response = upload(client, world, submission, edit(data, {"G8": "Lengkap"}))
    assert response.status_code == 412
    assert "downloaded at version 1" in problem(response)["detail"]


def test_if_match_is_honoured_when_sent(client: TestClient, world: World, submission: Submission) -> None:
    data = edit(download(client, world, submission), {"G8": "Lengkap"})
    assert upload(client, world, submission, data, **{"If-Match": '"7"'}).status_code == 412
    assert upload(client, world, submission, data, **{"If-Match": '"1"'}).status_code == 200


def test_a_workbook_for_another_template_version_is_refused(
    client: TestClient, world: World, submission: Submission
) -> None:
    response = upload(
        client,
        world,
        submission,
        (BROKEN / "wrong-template.xlsx").read_bytes(),
        **{"Content-Disposition": 'attachment; filename="wrong-template.xlsx"'},
    )
    assert response.status_code == 422
    assert problem(response)["detail"] == (
        "wrong-template.xlsx was made for SAQ test-mini version 0, but this submission answers test-mini "
        "version 1: download a new answer workbook"
    )


def test_a_workbook_for_another_submission_is_refused(
    client: TestClient, world: World, submission: Submission
) -> None:
    other = make_submission(world.session, world.round, world.other_body, world.template)
    data = download(client, world, other, who="other_operator")
    response = upload(client, world, submission, data)
    assert response.status_code == 422
    assert f"was made for submission {other.id}, not {submission.id}" in problem(response)["detail"]


def test_a_workbook_without_its_pin_is_refused(
    client: TestClient, world: World, submission: Submission
) -> None:
    wb = load_workbook(io.BytesIO(download(client, world, submission)))
    del wb["_emonev"]
    wb.custom_doc_props = CustomPropertyList()
    out = io.BytesIO()
    wb.save(out)
    response = upload(client, world, submission, out.getvalue())
    assert response.status_code == 422
    assert "is not an answer workbook of E-Monev" in problem(response)["detail"]


def test_uploads_follow_the_window(client: TestClient, world: World, submission: Submission) -> None:
    data = edit(download(client, world, submission), {"G8": "Lengkap"})
    world.round.status = "closed"
    world.session.flush()
    response = upload(client, world, submission, data)
    assert response.status_code == 409
    problem(response)


@pytest.mark.parametrize("who", ["other_operator", "admin", "verifier"])
def test_only_the_body_uploads_its_answers(
    client: TestClient, world: World, submission: Submission, who: str
) -> None:
    response = upload(client, world, submission, b"not even a workbook", who=who)
    assert response.status_code == 403
    problem(response)


def test_the_upload_size_is_limited(
    client: TestClient, world: World, submission: Submission, settings: Settings
) -> None:
    data = download(client, world, submission)
    settings.upload_max_bytes = len(data) - 1
    response = upload(client, world, submission, data)
    assert response.status_code == 413
    problem(response)


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("csv-renamed.xlsx", 422, "csv-renamed.xlsx: is a text (CSV?) file, not an .xlsx workbook"),
        ("corrupt.xlsx", 422, "corrupt.xlsx: is damaged and cannot be opened"),
        ("doctype.xlsx", 422, "declares a DTD"),
    ],
)
def test_broken_files_are_named_with_the_reason(
    client: TestClient, world: World, submission: Submission, name: str, status: int, message: str
) -> None:
    response = client.post(
        f"/api/v1/submissions/{submission.id}/answers.xlsx",
        files={"file": (name, (BROKEN / name).read_bytes(), XLSX_MEDIA_TYPE)},
        headers=world.token(world.operator),
    )
    assert response.status_code == status
    assert message in problem(response)["detail"]


def test_a_zip_bomb_is_refused_before_parsing(
    client: TestClient, world: World, submission: Submission
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(200 * MIB))
    response = upload(client, world, submission, buffer.getvalue())
    assert response.status_code == 413
    assert "unpacks to 200.0 MiB" in problem(response)["detail"]


def test_a_csv_is_not_an_answer_workbook(client: TestClient, world: World, submission: Submission) -> None:
    response = client.post(
        f"/api/v1/submissions/{submission.id}/answers.xlsx",
        content=b"kode,jawaban\n1.1.1,Ya\n",
        headers=world.token(world.operator) | {"Content-Type": "text/csv"},
    )
    assert response.status_code == 415
    problem(response)
