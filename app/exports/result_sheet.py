"""A body's result sheet (Lembar Hasil Penilaian): its published scores, every question with the answer, the
evidence and the verification, and the recommendations: the questions that cost the most points.

Pure: takes :class:`ResultSheetData` and writes one small workbook (XlsxWriter, in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from app.exports.layout import SCORE_FORMAT, Formats, Sheet, Stamp

RESULT_SHEET = "Lembar Hasil Penilaian"
QUESTION_HEADERS = (
    "Kode",
    "Pertanyaan",
    "Jawaban",
    "Data Dukung",
    "Nilai Verifikasi",
    "Data Dukung Diperiksa",
    "Catatan Verifikator",
    "Poin",
    "Poin Maksimal",
)
RECOMMENDATION_HEADERS = (
    "Kode",
    "Pertanyaan",
    "Indikator",
    "Keterangan",
    "Poin Maksimal",
    "Poin Diperoleh",
    "Poin Hilang",
)
SCORE_HEADERS = ("Komponen", "Bobot (%)", "Nilai", "Keterangan")
ASPECT_HEADERS = ("Indikator", "Bobot (%)", "Nilai Verifikasi")
RECOMMENDATIONS_TITLE = "Rekomendasi"


@dataclass(frozen=True)
class StageLine:
    """A stage of the result. ``label`` (when set) is written instead of the score: the body did not take
    part ("Tidak mengikuti (dihitung 0)"); ``note`` says why."""

    title: str
    weight: Decimal | None
    score: Decimal | None
    label: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class QuestionLine:
    code: str
    text: str
    answer: str | Decimal | None
    evidence: Sequence[str]
    verified: str | Decimal | None
    evidence_checked: bool | None
    note: str | None
    earned: Decimal | None
    maximum: Decimal | None


@dataclass(frozen=True)
class AspectBlock:
    code: str
    title: str
    weight: Decimal
    score: Decimal | None
    questions: Sequence[QuestionLine]


@dataclass(frozen=True)
class Recommendation:
    code: str
    text: str
    aspect: str
    reason: str
    maximum: Decimal
    earned: Decimal
    lost: Decimal


@dataclass(frozen=True)
class ResultSheetData:
    commission: str
    round_title: str
    stamp: Stamp
    body: str
    category: str
    region_code: str | None
    participating: bool
    rank: int | None
    self_score: Decimal | None
    verified_score: Decimal | None
    saq_weight: Decimal | None
    stages: Sequence[StageLine]
    final_score: Decimal | None
    band_label: str
    band_index: int | None
    aspects: Sequence[AspectBlock]
    recommendations: Sequence[Recommendation]
    saq_label: str | None = None
    """Written instead of the SAQ scores when the body took no part ("Tidak mengikuti")."""
    final_note: str | None = None
    """How the final score follows from the stages and the round's missing-stage policy."""
    band_note: str | None = None


def write_result_sheet(target: str | Path | IO[bytes], data: ResultSheetData) -> None:
    workbook = Workbook(target if not isinstance(target, Path) else str(target), {"in_memory": True})
    workbook.set_properties(
        {
            "title": f"Lembar Hasil Penilaian {data.body}",
            "company": data.commission,
            "comments": data.round_title,
        }
    )
    f = Formats(workbook)
    sheet = Sheet(workbook, f, RESULT_SHEET)
    ws = sheet.ws
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    bold = f.get(bold=True)
    wrap = f.get(text_wrap=True, valign="top")
    top = f.get(valign="top")
    score_top = f.get(num_format=SCORE_FORMAT, valign="top")

    row = sheet.stamp(f"Lembar Hasil Penilaian — {data.body}", data.stamp)
    for label, text in (
        ("Komisi Informasi", data.commission),
        ("Periode", data.round_title),
        ("Badan Publik", data.body),
        ("Kategori", data.category),
        ("Kode Wilayah", data.region_code),
    ):
        ws.write_string(row, 0, label, bold)
        sheet.text(row, 1, text)
        row += 1
    row += 1

    sheet.header(row, SCORE_HEADERS, wrap=False)
    row += 1
    lines: list[StageLine] = [
        StageLine("Nilai Mandiri (SAQ)", None, data.self_score, data.saq_label),
        StageLine("Nilai Verifikasi (SAQ)", data.saq_weight, data.verified_score, data.saq_label),
        *data.stages,
    ]
    for line in lines:
        ws.write_string(row, 0, line.title)
        sheet.score(row, 1, line.weight)
        if line.label is not None:
            sheet.text(row, 2, line.label, f.muted)
        else:
            sheet.score(row, 2, line.score)
        sheet.text(row, 3, line.note)
        row += 1
    ws.write_string(row, 0, "Nilai Akhir", bold)
    sheet.score(row, 2, data.final_score, f.get(bold=True, num_format=SCORE_FORMAT))
    sheet.text(row, 3, data.final_note)
    row += 1
    ws.write_string(row, 0, "Kualifikasi", bold)
    sheet.text(row, 2, data.band_label, f.band(data.band_index if data.participating else None))
    sheet.text(row, 3, data.band_note)
    row += 1
    ws.write_string(row, 0, "Peringkat dalam Kategori", bold)
    if data.rank is not None:
        ws.write_number(row, 2, data.rank)
    row += 2

    if data.aspects:
        sheet.header(row, ASPECT_HEADERS, wrap=False)
        row += 1
        for aspect in data.aspects:
            sheet.text(row, 0, f"{aspect.code}. {aspect.title}")
            sheet.score(row, 1, aspect.weight)
            sheet.score(row, 2, aspect.score)
            row += 1
        row += 1

    for aspect in data.aspects:
        ws.write_string(row, 0, f"Indikator {aspect.code}. {aspect.title}", f.get(bold=True, font_size=12))
        row += 1
        sheet.header(row, QUESTION_HEADERS)
        row += 1
        for q in aspect.questions:
            sheet.text(row, 0, q.code, top)
            sheet.text(row, 1, q.text, wrap)
            _value(sheet, row, 2, q.answer, wrap)
            sheet.text(row, 3, "\n".join(q.evidence) or None, wrap)
            _value(sheet, row, 4, q.verified, wrap)
            if q.evidence_checked is not None:
                ws.write_string(row, 5, "Ya" if q.evidence_checked else "Tidak", top)
            sheet.text(row, 6, q.note, wrap)
            sheet.score(row, 7, q.earned, score_top)
            sheet.score(row, 8, q.maximum, score_top)
            row += 1
        row += 1

    ws.write_string(row, 0, RECOMMENDATIONS_TITLE, f.get(bold=True, font_size=12))
    row += 1
    if not data.participating:
        ws.write_string(
            row, 0, "Badan publik ini tidak mengikuti penilaian pada periode ini.", f.get(italic=True)
        )
    elif not data.recommendations:
        ws.write_string(row, 0, "Semua pertanyaan memperoleh poin penuh.", f.get(italic=True))
    else:
        ws.write_string(
            row,
            0,
            "Pertanyaan yang paling banyak mengurangi nilai, diurutkan menurut poin yang hilang "
            "(poin maksimal dikurangi poin terverifikasi), untuk diperbaiki sebelum periode berikutnya.",
            f.get(italic=True),
        )
        row += 1
        sheet.header(row, RECOMMENDATION_HEADERS)
        row += 1
        for rec in data.recommendations:
            sheet.text(row, 0, rec.code, top)
            sheet.text(row, 1, rec.text, wrap)
            sheet.text(row, 2, rec.aspect, wrap)
            sheet.text(row, 3, rec.reason, wrap)
            sheet.score(row, 4, rec.maximum, score_top)
            sheet.score(row, 5, rec.earned, score_top)
            sheet.score(row, 6, rec.lost, f.get(num_format=SCORE_FORMAT, valign="top", bold=True))
            row += 1

    sheet.fixed.update({0: 26, 1: 55, 2: 22, 3: 40, 4: 18, 5: 14, 6: 35, 7: 10, 8: 10})
    sheet.finish()
    workbook.close()


def _value(sheet: Sheet, row: int, col: int, value: str | Decimal | None, fmt: Format) -> None:
    if isinstance(value, Decimal):
        sheet.number(row, col, value)
    else:
        sheet.text(row, col, value, fmt)
