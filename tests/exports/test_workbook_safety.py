"""Untrusted workbooks: text that never runs, and uploads refused before parsing (the broken corpus)."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from openpyxl import load_workbook

from app.errors import EmonevError, InvalidInput, PayloadTooLarge
from app.exports.layout import Formats, Sheet, sheet_name
from app.exports.workbook_safety import MIB, UploadLimits, inspect_xlsx, needs_text_guard, open_workbook

BROKEN = Path(__file__).parent / "broken"
ROOT = Path(__file__).resolve().parents[2]
LIMITS = UploadLimits()

RISKY = [
    "=1+1",
    '=HYPERLINK("http://evil.example/","klik")',
    "+62 21 555",
    "-5",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",
]
INJECTION = '<r><t>x</t></r></is></c><c r="B1"><f>1+1</f></c><c r="C1" t="inlineStr"><is><r><t>y</t></r>'
SAFE = ["Kelurahan Gondangdia", "https://ppid.example.go.id/dip", "<b>bukan tag</b>", INJECTION]


@pytest.mark.parametrize("constant_memory", [False, True], ids=["normal", "constant_memory"])
def test_user_text_is_written_as_text_that_never_runs(constant_memory: bool) -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": constant_memory})
    sheet = Sheet(workbook, Formats(workbook), "Uji")
    texts = RISKY + SAFE
    for row, text in enumerate(texts):
        sheet.text(row, 0, text)
    workbook.close()
    ws = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert ws is not None
    cells = [cell for row in ws.iter_rows() for cell in row if cell.value is not None]
    # openpyxl does not decode Excel's _xHHHH_ escape of a carriage return; Excel and LibreOffice do.
    assert [c.value.replace("_x000D_", "\r") for c in cells] == texts
    assert {c.coordinate for c in cells} == {f"A{i + 1}" for i in range(len(texts))}
    assert {c.data_type for c in cells} == {"s"}
    assert [c.quotePrefix for c in cells] == [True] * len(RISKY) + [False] * len(SAFE)


def test_what_counts_as_risky() -> None:
    assert all(needs_text_guard(text) for text in RISKY)
    assert not any(needs_text_guard(text) for text in SAFE)


def test_sheet_names_are_valid_unique_and_short() -> None:
    taken = {"peringkat"}
    names = [
        sheet_name("Kota/Kabupaten Administrasi: [Jakarta]?", taken),
        sheet_name("Kota/Kabupaten Administrasi: [Jakarta]*", taken),
        sheet_name("Peringkat", taken),
        sheet_name("'Kutip'", taken),
        sheet_name("History", taken),
        sheet_name("   ", taken),
    ]
    assert names == [
        "Kota-Kabupaten Administrasi- -J",
        "Kota-Kabupaten Administrasi (2)",
        "Peringkat (2)",
        "Kutip",
        "History-",
        "Lembar",
    ]
    assert all(len(n) <= 31 for n in names)


CORPUS = [
    ("corrupt.xlsx", InvalidInput, "corrupt.xlsx: is damaged and cannot be opened"),
    ("csv-renamed.xlsx", InvalidInput, "csv-renamed.xlsx: is a text (CSV?) file, not an .xlsx workbook"),
    ("not-a-workbook.xlsx", InvalidInput, "not an .xlsx workbook (it has no [Content_Types].xml)"),
    ("encrypted.xlsx", InvalidInput, "is an old .xls workbook or an encrypted file"),
    ("doctype.xlsx", InvalidInput, "xl/worksheets/sheet1.xml declares a DTD"),
]


@pytest.mark.parametrize(("name", "kind", "message"), CORPUS, ids=[c[0] for c in CORPUS])
def test_the_broken_corpus_is_refused_before_parsing(
    name: str, kind: type[EmonevError], message: str
) -> None:
    with (BROKEN / name).open("rb") as file, pytest.raises(kind) as raised:
        inspect_xlsx(file, name=name, limits=LIMITS)
    assert message in raised.value.detail
    assert raised.value.errors[0].field == "file"


def test_an_empty_upload_is_named_as_such() -> None:
    with pytest.raises(InvalidInput, match=r"kosong\.xlsx: is empty"):
        inspect_xlsx(io.BytesIO(b""), name="kosong.xlsx", limits=LIMITS)


def test_formula_cells_are_found_without_evaluating_them() -> None:
    with (BROKEN / "formulas.xlsx").open("rb") as file:
        scan = inspect_xlsx(file, name="formulas.xlsx", limits=LIMITS)
        workbook = open_workbook(file, name="formulas.xlsx")
        # Opened data-only: openpyxl gives the cached value, never runs the formula; the readers refuse it.
        assert workbook["Badan Publik"]["C2"].value == "31.71.01"
        workbook.close()
    assert scan.formulas("Badan Publik") == {"C2"}
    assert scan.sheets["Badan Publik"].rows == 3


DAMAGED = "is damaged and cannot be opened; save it again in the spreadsheet program and upload that file"


def _damaged_sheet() -> bytes:
    """A workbook whose worksheet's compressed data is overwritten in the middle (a broken download)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Badan Publik")
    for row in range(200):
        sheet.write_string(row, 0, f"Kelurahan {row} " * 5)
    workbook.close()
    data = bytearray(buffer.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    middle = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        ((BROKEN / "corrupt.xlsx").read_bytes(), "File is not a zip file"),
        (_damaged_sheet(), "Error -3 while decompressing data"),
    ],
    ids=["cut-short", "damaged-data"],
)
def test_a_damaged_upload_is_named_in_plain_words_and_the_cause_is_logged(
    data: bytes, cause: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.exports.workbook_safety")
    with pytest.raises(InvalidInput) as raised:
        inspect_xlsx(io.BytesIO(data), name="rusak.xlsx", limits=LIMITS)
    assert raised.value.detail == f"rusak.xlsx: {DAMAGED}"
    assert [(e.field, e.message) for e in raised.value.errors] == [("file", DAMAGED)]
    assert cause not in raised.value.detail
    (logged,) = caplog.records
    assert "'rusak.xlsx'" in logged.getMessage()
    assert cause in logged.getMessage()


def _xlsx_shell(**members: bytes) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for member, data in members.items():
            archive.writestr(member, data)
    buffer.seek(0)
    return buffer


def test_a_zip_bomb_is_refused_by_its_uncompressed_size() -> None:
    bomb = _xlsx_shell(**{"xl/worksheets/sheet1.xml": bytes(101 * MIB)})
    assert len(bomb.getvalue()) < MIB  # what was uploaded is small
    with pytest.raises(PayloadTooLarge) as raised:
        inspect_xlsx(bomb, name="bom.xlsx", limits=LIMITS)
    assert "bom.xlsx unpacks to 101.0 MiB, more than the limit of 100.0 MiB" in raised.value.detail


def test_an_implausible_compression_ratio_is_refused() -> None:
    packed = _xlsx_shell(**{"xl/media/image1.png": bytes(4 * MIB)})
    with pytest.raises(PayloadTooLarge, match=r"xl/media/image1.png is compressed \d+ to 1"):
        inspect_xlsx(packed, name="rasio.xlsx", limits=LIMITS)


def test_too_many_rows_are_refused_while_counting() -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Badan Publik")
    for row in range(LIMITS.max_rows + 1):
        sheet.write_number(row, 0, row)
    workbook.close()
    with pytest.raises(InvalidInput, match=r"baris\.xlsx has more than 100000 rows in one sheet"):
        inspect_xlsx(buffer, name="baris.xlsx", limits=LIMITS)


def test_a_plain_workbook_passes() -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.add_worksheet("Satu").write_string(0, 0, "a")
    workbook.add_worksheet("Dua").write_number(2, 1, 3)
    workbook.close()
    scan = inspect_xlsx(buffer, name="ok.xlsx", limits=LIMITS)
    assert {name: s.rows for name, s in scan.sheets.items()} == {"Satu": 1, "Dua": 1}
    assert scan.formulas("Satu") == set()


def test_the_writers_need_neither_a_database_nor_a_web_framework() -> None:
    code = (
        "import sys; import app.exports.recap_workbook, app.exports.result_sheet,"
        " app.exports.answer_workbook, app.exports.body_workbook, app.exports.workbook_safety;"
        " print(sorted(m for m in ('sqlalchemy', 'fastapi', 'starlette') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
