"""Reading public bodies from an uploaded workbook into the rows the bodies import takes.

The first sheet is read; its first non-blank row is the header. Headers are matched ignoring case, in
English (the CSV's ``name,category,region_code,parent,ppid_email``) or Indonesian (Nama Badan Publik,
Kategori, Kode Wilayah, Induk, Email PPID). Blank rows are skipped but keep their numbers, so every problem
is reported on the row a spreadsheet shows. Type region codes as text: a number cell loses trailing zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from app.exports.workbook_safety import FORMULA_TEXT, CellProblem, WorkbookScan

HEADER_ALIASES = {
    "name": "name",
    "nama": "name",
    "nama badan publik": "name",
    "badan publik": "name",
    "category": "category",
    "kategori": "category",
    "kode kategori": "category",
    "region_code": "region_code",
    "region code": "region_code",
    "kode wilayah": "region_code",
    "parent": "parent",
    "induk": "parent",
    "badan publik induk": "parent",
    "ppid_email": "ppid_email",
    "ppid e-mail": "ppid_email",
    "email ppid": "ppid_email",
    "e-mail ppid": "ppid_email",
}
_HEADER_SEARCH = 20


@dataclass
class BodyRows:
    rows: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def read_bodies(workbook: Any, scan: WorkbookScan) -> BodyRows:
    """Rows for ``app.bodies.service.import_bodies`` from an openpyxl read-only workbook."""
    result = BodyRows()
    sheet = workbook.worksheets[0]
    formulas = scan.formulas(sheet.title)
    header: list[str] = []
    number = 0
    rows = sheet.iter_rows(values_only=True)
    for values in rows:
        number += 1
        if any(not _blank(v) for v in values):
            header = [
                HEADER_ALIASES.get(" ".join(str(v).split()).lower(), str(v).strip().lower())
                if not _blank(v)
                else ""
                for v in values
            ]
            break
        if number >= _HEADER_SEARCH:
            break
    if not header:
        result.problems.append(
            CellProblem(
                sheet.title, 1, "A", "the sheet has no header row", "lembar tidak memiliki baris judul."
            )
        )
        return result
    for values in rows:
        number += 1
        if all(_blank(v) for v in values):
            continue
        record: dict[str, Any] = {}
        for i, value in enumerate(values):
            if _blank(value):
                continue
            letter = xl_col_to_name(i)
            if f"{letter}{number}" in formulas:
                result.problems.append(
                    CellProblem(
                        sheet.title,
                        number,
                        letter,
                        "holds a formula; type the value itself (formulas are never evaluated)",
                        FORMULA_TEXT,
                    )
                )
                continue
            key = header[i] if i < len(header) and header[i] else f"column {i + 1}"
            record[key] = _cell(value)
        result.rows.append(record)
        result.numbers.append(number)
    return result
