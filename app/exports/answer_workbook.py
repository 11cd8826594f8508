"""The answer workbook a PPID operator fills offline, and reading it back.

Written: sheet ``Jawaban`` lists every question (code, aspect, text, kind, allowed values, evidence rule)
with three input columns, Jawaban, Tautan Data Dukung (one link per line) and Catatan, pre-filled with the
stored answers. The sheet is protected (no password; it prevents accidents, not intent) except for the
input cells; choice and yes/no cells carry a drop-down list (data validation from the hidden sheet
``Pilihan``), number cells a number check. The very hidden sheet ``_emonev`` and the custom document
properties pin the submission (id and version) and the template (key, version, content hash).

Read: :func:`read_answer_workbook` takes a workbook already checked by ``workbook_safety.inspect_xlsx`` and
returns its pin, its rows and the problems it found itself (a formula, a repeated code, an answer without a
code), each with sheet, row and column; values are validated by the submissions service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook

import scoring
from app.exports.layout import Formats, Sheet, Stamp
from app.exports.values import (
    EVIDENCE_LABELS,
    TYPE_LABELS,
    from_cell,
    links_from_cell,
    option_labels,
    text_from_cell,
)
from app.exports.workbook_safety import FORMULA_TEXT, CellProblem, WorkbookScan

ANSWER_SHEET = "Jawaban"
CHOICES_SHEET = "Pilihan"
META_SHEET = "_emonev"
HEADERS = (
    "Kode",
    "Indikator",
    "Pertanyaan",
    "Jenis",
    "Pilihan yang Diizinkan",
    "Data Dukung",
    "Jawaban",
    "Tautan Data Dukung",
    "Catatan",
)
HEADER_ROW = 5  # zero-based: the header is row 6 as a spreadsheet shows it
CODE, ANSWER, LINKS, NOTE = "Kode", "Jawaban", "Tautan Data Dukung", "Catatan"
META_KEYS = ("submission_id", "submission_version", "template_key", "template_version", "template_hash")
PROPERTY_PREFIX = "emonev."


@dataclass(frozen=True)
class AnswerLine:
    aspect: str
    question: scoring.Question
    value: str | Decimal | None
    links: Sequence[str]
    note: str | None


@dataclass(frozen=True)
class AnswerSheetData:
    body: str
    round_title: str
    submission_id: int
    submission_version: int
    template_key: str
    template_version: str
    template_title: str
    template_hash: str
    stamp: Stamp
    lines: Sequence[AnswerLine]

    def pin(self) -> dict[str, str]:
        return {
            "submission_id": str(self.submission_id),
            "submission_version": str(self.submission_version),
            "template_key": self.template_key,
            "template_version": self.template_version,
            "template_hash": self.template_hash,
        }


def write_answer_workbook(target: str | Path | IO[bytes], data: AnswerSheetData) -> None:
    workbook = Workbook(target if not isinstance(target, Path) else str(target), {"in_memory": True})
    workbook.set_properties({"title": f"Lembar Jawaban SAQ {data.body}", "comments": data.round_title})
    for key, value in data.pin().items():
        workbook.set_custom_property(PROPERTY_PREFIX + key, value, "text")
    f = Formats(workbook)
    sheet = Sheet(workbook, f, ANSWER_SHEET)
    choices = workbook.add_worksheet(CHOICES_SHEET)
    meta = workbook.add_worksheet(META_SHEET)
    ws = sheet.ws

    ws.write_string(0, 0, f"Lembar Jawaban SAQ — {data.body}", f.get(bold=True, font_size=14))
    bold = f.get(bold=True)
    ws.write_string(1, 0, "Dibuat", bold)
    sheet.when(1, 1, data.stamp.local(data.stamp.produced_at))
    ws.write_string(1, 2, data.stamp.zone)
    ws.write_string(2, 0, "SAQ", bold)
    ws.write_string(2, 1, f"{data.template_title} (versi {data.template_version})")
    ws.write_string(3, 0, "Periode", bold)
    sheet.text(3, 1, data.round_title)
    ws.write_string(
        4,
        0,
        "Isi kolom Jawaban, Tautan Data Dukung (satu tautan per baris) dan Catatan, lalu unggah berkas ini. "
        "Pilihan ganda dipisahkan titik koma (;). Kolom lain dikunci.",
        f.get(italic=True),
    )
    sheet.header(HEADER_ROW, HEADERS)

    wrap = f.get(text_wrap=True, valign="top")
    top = f.get(valign="top")
    unlocked = f.get(locked=False, text_wrap=True, valign="top", bg_color="#FFF9E5", border=1)
    unlocked_number = f.get(locked=False, valign="top", bg_color="#FFF9E5", border=1)
    choice_row = 0
    row = HEADER_ROW + 1
    for line in data.lines:
        q = line.question
        sheet.text(row, 0, q.code, top)
        sheet.text(row, 1, line.aspect, wrap)
        sheet.text(row, 2, q.text, wrap)
        sheet.text(row, 3, TYPE_LABELS[q.type], top)
        labels = option_labels(q)
        sheet.text(row, 4, "\n".join(labels) or None, wrap)
        sheet.text(
            row, 5, EVIDENCE_LABELS[q.evidence] if q.type is not scoring.QuestionType.TEXT else "-", top
        )
        if isinstance(line.value, Decimal) and _fits_a_number_cell(line.value):
            ws.write_number(row, 6, float(line.value), unlocked_number)
        elif isinstance(line.value, Decimal):
            # More digits than a spreadsheet number keeps: shown as text, so that uploading the workbook
            # unchanged gives back the stored number, not a rounded one.
            sheet.text(row, 6, str(line.value), unlocked)
        else:
            sheet.text(row, 6, line.value, unlocked)
        sheet.text(row, 7, "\n".join(line.links) or None, unlocked)
        sheet.text(row, 8, line.note, unlocked)
        if q.type in (scoring.QuestionType.YES_NO, scoring.QuestionType.CHOICE) and labels:
            for i, label in enumerate(labels):
                choices.write_string(choice_row + i, 0, label)
            first, last = choice_row + 1, choice_row + len(labels)
            ws.data_validation(
                row,
                6,
                row,
                6,
                {
                    "validate": "list",
                    "source": f"='{CHOICES_SHEET}'!$A${first}:$A${last}",
                    "error_title": "Jawaban tidak valid",
                    "error_message": "Pilih salah satu dari daftar.",
                },
            )
            choice_row = last
        elif q.type is scoring.QuestionType.NUMBER:
            ws.data_validation(
                row,
                6,
                row,
                6,
                {
                    "validate": "decimal",
                    "criteria": "between",
                    "minimum": -1e15,
                    "maximum": 1e15,
                    "error_title": "Jawaban tidak valid",
                    "error_message": "Isi dengan angka.",
                },
            )
        row += 1

    sheet.fixed.update({0: 10, 1: 22, 2: 60, 3: 13, 4: 28, 5: 12, 6: 24, 7: 45, 8: 30})
    sheet.finish()
    ws.freeze_panes(HEADER_ROW + 1, 1)
    ws.autofilter(HEADER_ROW, 0, max(row - 1, HEADER_ROW), len(HEADERS) - 1)
    ws.protect("", {"autofilter": True, "sort": False, "format_columns": True, "format_rows": True})
    ws.activate()
    choices.hide()
    choices.protect()
    for i, (key, value) in enumerate(data.pin().items()):
        meta.write_string(i, 0, key)
        meta.write_string(i, 1, value)
    meta.very_hidden()
    meta.protect()
    workbook.close()


def _fits_a_number_cell(value: Decimal) -> bool:
    """True when a number cell holds ``value`` exactly: XlsxWriter writes 16 significant digits."""
    return Decimal(f"{float(value):.16G}") == value


# --- Reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    row: int
    code: str
    answer: Any
    links: Any
    note: Any


@dataclass
class ReadAnswers:
    pin: dict[str, str]
    rows: list[AnswerRow] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    """Header -> column letter, for reporting."""


def read_pin(workbook: Any) -> dict[str, str]:
    """The submission and template the workbook was made for: from ``_emonev``, else the custom properties."""
    pin: dict[str, str] = {}
    if META_SHEET in workbook.sheetnames:
        for key, value, *_ in workbook[META_SHEET].iter_rows(
            min_row=1, max_row=20, max_col=2, values_only=True
        ):
            if isinstance(key, str) and key in META_KEYS and value is not None:
                pin[key] = str(value)
    if not pin:
        for prop in getattr(workbook, "custom_doc_props", []) or []:
            name = getattr(prop, "name", "")
            if name.startswith(PROPERTY_PREFIX) and name[len(PROPERTY_PREFIX) :] in META_KEYS:
                pin[name[len(PROPERTY_PREFIX) :]] = str(prop.value)
    return pin


def read_answer_workbook(workbook: Any, scan: WorkbookScan) -> ReadAnswers:
    """Rows of the ``Jawaban`` sheet (an openpyxl read-only workbook) with their sheet row numbers."""
    result = ReadAnswers(pin=read_pin(workbook))
    if ANSWER_SHEET not in workbook.sheetnames:
        missing_sheet = "berkas tidak memiliki lembar Jawaban."
        result.problems.append(
            CellProblem(ANSWER_SHEET, 1, "A", "the workbook has no sheet Jawaban", missing_sheet)
        )
        return result
    formulas = scan.formulas(ANSWER_SHEET)
    index: dict[str, int] = {}
    rows = workbook[ANSWER_SHEET].iter_rows(values_only=True)
    number = 0
    for values in rows:
        number += 1
        cells = [v.strip() if isinstance(v, str) else v for v in values]
        if cells and cells[0] == CODE and ANSWER in cells:
            index = {str(v): i for i, v in enumerate(cells) if isinstance(v, str)}
            break
        if number > 20:
            break
    missing = [h for h in (CODE, ANSWER, LINKS, NOTE) if h not in index]
    if missing:
        result.problems.append(
            CellProblem(
                ANSWER_SHEET,
                number,
                "A",
                f"the header row (Kode, ..., Jawaban) lacks {', '.join(missing)}",
                f"baris judul (Kode, ..., Jawaban) tidak memuat {', '.join(missing)}.",
            )
        )
        return result
    result.columns = {h: xl_col_to_name(i) for h, i in index.items()}
    seen: dict[str, int] = {}
    for values in rows:
        number += 1

        def at(header: str, values: tuple[Any, ...] = values) -> Any:
            i = index[header]
            return values[i] if i < len(values) else None

        read = {h: at(h) for h in (CODE, ANSWER, LINKS, NOTE)}
        bad = [h for h in read if f"{result.columns[h]}{number}" in formulas]
        for header in bad:
            result.problems.append(
                CellProblem(
                    ANSWER_SHEET,
                    number,
                    result.columns[header],
                    "holds a formula; type the value itself (formulas are never evaluated)",
                    FORMULA_TEXT,
                )
            )
        code = text_from_cell(read[CODE])
        if code is None:
            if any(text_from_cell(read[h]) is not None for h in (ANSWER, LINKS, NOTE)):
                result.problems.append(
                    CellProblem(
                        ANSWER_SHEET,
                        number,
                        result.columns[CODE],
                        "an answer without a question code",
                        "ada jawaban tanpa kode pertanyaan.",
                    )
                )
            continue
        if code in seen:
            result.problems.append(
                CellProblem(
                    ANSWER_SHEET,
                    number,
                    result.columns[CODE],
                    f"question {code} is already on row {seen[code]}",
                    f"pertanyaan {code} sudah ada di baris {seen[code]}.",
                )
            )
            continue
        seen[code] = number
        if not bad:
            result.rows.append(AnswerRow(number, code, read[ANSWER], read[LINKS], read[NOTE]))
    return result


def patches(template: scoring.Template, rows: Sequence[AnswerRow]) -> dict[str, dict[str, Any]]:
    """The rows as an answers change for the submissions service (the same shape as the API's PUT).

    A known question gets its value read against its options (labels or values); an unknown code is passed
    on as is, so the service reports it."""
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        try:
            question = template.question(row.code)
        except KeyError:
            result[row.code] = {"value": text_from_cell(row.answer)}
            continue
        result[row.code] = {
            "value": from_cell(question, row.answer),
            "evidence": links_from_cell(row.links),
            "note": text_from_cell(row.note),
        }
    return result
