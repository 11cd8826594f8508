"""Rebuild the small broken-upload corpus in this folder (``python tests/exports/broken/make_corpus.py``).

Big cases (a zip bomb, a sheet of 100,001 rows) are built by the tests themselves and never committed.
"""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

import scoring  # noqa: E402
from app.exports.answer_workbook import AnswerLine, AnswerSheetData, write_answer_workbook  # noqa: E402
from app.exports.layout import Stamp  # noqa: E402

CREATED = datetime(2025, 11, 1, tzinfo=UTC)


def _tiny_workbook() -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": CREATED.replace(tzinfo=None)})
    sheet = workbook.add_worksheet("Badan Publik")
    sheet.write_row(0, 0, ["name", "category"])
    sheet.write_row(1, 0, ["Kelurahan Satu", "kelurahan"])
    workbook.close()
    return buffer.getvalue()


def corrupt() -> bytes:
    """A workbook cut short: the ZIP's central directory is missing."""
    return _tiny_workbook()[:1500]


def csv_renamed() -> bytes:
    return b"name,category,region_code\nKelurahan Satu,kelurahan,31.71.01.1001\n"


def not_a_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "halo")
    return buffer.getvalue()


def encrypted() -> bytes:
    """What Excel saves for a password-protected workbook: an OLE compound file, not a ZIP."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def doctype() -> bytes:
    """A workbook whose sheet declares entities (the billion-laughs shape)."""
    source = zipfile.ZipFile(io.BytesIO(_tiny_workbook()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, rest = data.split(b"?>", 1)
                data = head + b'?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>' + rest
            archive.writestr(info, data)
    return buffer.getvalue()


def formulas() -> bytes:
    """A bodies workbook with a formula in a cell."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": CREATED.replace(tzinfo=None)})
    sheet = workbook.add_worksheet("Badan Publik")
    sheet.write_row(0, 0, ["name", "category", "region_code"])
    sheet.write_row(1, 0, ["Kelurahan Satu", "kelurahan"])
    sheet.write_formula(1, 2, '=CONCATENATE("31.71",".01")', None, "31.71.01")
    sheet.write_row(2, 0, ["Kelurahan Dua", "kelurahan", "31.71.02"])
    workbook.close()
    return buffer.getvalue()


def wrong_template() -> bytes:
    """An answer workbook pinned to version 0 of the test template (the tests' submissions answer 1)."""
    template = scoring.parse_template((ROOT / "tests/fixtures/mini.yaml").read_text(), source="mini.yaml")
    aspects = {aspect.code: aspect.title for aspect in template.aspects}
    buffer = io.BytesIO()
    write_answer_workbook(
        buffer,
        AnswerSheetData(
            body="Kelurahan Uji",
            round_title="Monev 2025",
            submission_id=1,
            submission_version=1,
            template_key=template.key,
            template_version="0",
            template_title=template.title,
            template_hash="0" * 64,
            stamp=Stamp(CREATED, "Asia/Jakarta"),
            lines=[
                AnswerLine(aspects[e.aspect_code], e.question, None, [], None) for e in template.questions()
            ],
        ),
    )
    return buffer.getvalue()


CORPUS = {
    "corrupt.xlsx": corrupt,
    "csv-renamed.xlsx": csv_renamed,
    "not-a-workbook.xlsx": not_a_workbook,
    "encrypted.xlsx": encrypted,
    "doctype.xlsx": doctype,
    "formulas.xlsx": formulas,
    "wrong-template.xlsx": wrong_template,
}

if __name__ == "__main__":
    for name, make in CORPUS.items():
        (HERE / name).write_bytes(make())
        print(f"wrote {HERE / name}")
