"""The round recap (Rekapitulasi) workbook, written from plain data in one streaming pass.

Pure: it takes the dataclasses below (built by ``app.exports.service`` from a publication snapshot, or by the
benchmark from a seeded generator) and a file path, and knows nothing of the database or HTTP.

XlsxWriter in ``constant_memory`` mode keeps only the current row of each sheet in memory; a sheet must be
written top to bottom, but sheets may be written in any interleaving. So the body rows, which arrive once,
ordered by category then rank, go to ``Peringkat``, their category's sheet, ``Per Aspek`` and ``Tren`` as
they come; ``Ringkasan``, ``Partisipasi`` and ``Koreksi Verifikasi`` are written from their own data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from xlsxwriter.workbook import Workbook

from app.exports.layout import (
    CHANGE_FORMAT,
    NOT_PARTICIPATING_LABEL,
    SCORE_FORMAT,
    STEP_FORMAT,
    BandInfo,
    Bands,
    Formats,
    Sheet,
    Stamp,
    band_style,
    sheet_name,
)
from app.results.explain import COUNTED_ZERO, NOT_COUNTED, NOT_TAKEN, ZERO

RINGKASAN = "Ringkasan"
PERINGKAT = "Peringkat"
PER_ASPEK = "Per Aspek"
PARTISIPASI = "Partisipasi"
KOREKSI = "Koreksi Verifikasi"
TREN = "Tren"
FIXED_SHEETS = (RINGKASAN, PERINGKAT, PER_ASPEK, PARTISIPASI, KOREKSI, TREN)
# Body rows between two progress reports: a report is cheap, but not free enough for every row.
PROGRESS_EVERY = 500

RANKING_HEAD = ("Peringkat", "Badan Publik", "Kategori", "Kode Wilayah", "Nilai Mandiri", "Nilai Verifikasi")
RANKING_TAIL = ("Nilai Akhir", "Kualifikasi")
PARTICIPATION_HEADERS = (
    "Kategori",
    "Diundang",
    "Terdaftar",
    "Terdaftar (%)",
    "Mengirim SAQ",
    "Mengirim SAQ (%)",
    "Terverifikasi",
    "Terverifikasi (%)",
)
CORRECTION_HEADERS = (
    "Badan Publik",
    "Kategori",
    "Kode",
    "Pertanyaan",
    "Jawaban Mandiri",
    "Jawaban Terverifikasi",
    "Verifikator",
    "Catatan Verifikator",
)


@dataclass(frozen=True)
class StageInfo:
    """A stage of the round as published: ``saq`` first, with its weight in the final score."""

    code: str
    title: str
    weight: Decimal


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class AspectInfo:
    code: str
    title: str


@dataclass(frozen=True)
class RoundInfo:
    id: int
    year: int
    title: str


@dataclass(frozen=True)
class BandCountLine:
    """Counts of one category: bodies per band code, and those that did not take part."""

    category: str
    counts: Mapping[str, int]
    not_participating: int
    total: int


@dataclass(frozen=True)
class ParticipationLine:
    category: str
    invited: int
    registered: int
    registered_pct: Decimal
    submitted: int
    submitted_pct: Decimal
    verified: int
    verified_pct: Decimal


@dataclass(frozen=True)
class TrendPoint:
    """A body's published result in an earlier round."""

    final_score: Decimal | None
    band: str | None


@dataclass(frozen=True)
class RecapRow:
    """One body of the publication, as published."""

    body: str
    category_id: int
    category: str
    region_code: str | None
    participating: bool
    rank: int | None
    self_score: Decimal | None
    verified_score: Decimal | None
    stage_scores: Mapping[str, Decimal]
    final_score: Decimal | None
    band: str | None
    aspect_scores: Mapping[str, Decimal]
    history: Mapping[int, TrendPoint] = field(default_factory=dict)
    score_change: Decimal | None = None
    band_change: int | None = None
    missing_stages: Sequence[str] = ()
    """Later stages the body did not take part in (it did not pass the gate)."""


@dataclass(frozen=True)
class CorrectionRow:
    """A question whose verified value differs from the body's own answer."""

    body: str
    category: str
    question_code: str
    question_text: str
    self_value: str | Decimal | None
    verified_value: str | Decimal | None
    verifier: str | None
    note: str | None


@dataclass(frozen=True)
class RecapData:
    """Everything about the round that is not a per-body row. Figures are the published ones."""

    commission: str
    round_title: str
    year: int
    stamp: Stamp
    stages: Sequence[StageInfo]
    bands: Sequence[BandInfo]
    categories: Sequence[CategoryInfo]
    aspects: Sequence[AspectInfo]
    band_counts: Sequence[BandCountLine]
    band_percentages: Mapping[str, Decimal]
    """Share (%) of all invited bodies per band code, and ``NOT_PARTICIPATING_LABEL`` for those absent."""
    participation: Sequence[ParticipationLine]
    participation_total: ParticipationLine
    earlier_rounds: Sequence[RoundInfo] = ()
    band_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of band codes of earlier rounds that the round's own bands do not name."""
    missing_stage_policy: str = ZERO
    """What a stage a body did not take part in counts, as the publication froze it: ``zero`` or
    ``saq_only``."""

    @property
    def later_stages(self) -> list[StageInfo]:
        return [s for s in self.stages if s.code != "saq"]


def ranking_headers(data: RecapData) -> list[str]:
    return [*RANKING_HEAD, *(s.title for s in data.later_stages), *RANKING_TAIL]


def aspect_headers(data: RecapData) -> list[str]:
    return ["Badan Publik", "Kategori", *(f"{a.code}. {a.title}" for a in data.aspects)]


def trend_headers(data: RecapData) -> list[str]:
    earlier = [
        label for r in data.earlier_rounds for label in (f"Nilai Akhir {r.title}", f"Kualifikasi {r.title}")
    ]
    return [
        "Badan Publik",
        "Kategori",
        *earlier,
        f"Nilai Akhir {data.round_title}",
        f"Kualifikasi {data.round_title}",
        "Perubahan Nilai",
        "Perubahan Kualifikasi (tingkat)",
    ]


class _Ranking:
    """A ranking sheet (``Peringkat`` or one category's) filled row by row."""

    def __init__(self, sheet: Sheet, data: RecapData, bands: Bands, title: str, *, printable: bool) -> None:
        self.sheet = sheet
        self.data = data
        self.bands = bands
        self.header_row = sheet.stamp(title, data.stamp)
        self.headers = ranking_headers(data)
        sheet.header(self.header_row, self.headers)
        self.row = self.header_row + 1
        self.stages = [s.code for s in data.later_stages]
        if printable:
            ws = sheet.ws
            ws.set_landscape()
            ws.set_paper(9)
            ws.fit_to_pages(1, 0)
            ws.repeat_rows(self.header_row)

    def add(self, r: RecapRow) -> None:
        s, row = self.sheet, self.row
        if r.rank is not None:
            s.number(row, 0, r.rank)
        s.text(row, 1, r.body)
        s.text(row, 2, r.category)
        s.text(row, 3, r.region_code)
        if r.participating:
            s.score(row, 4, r.self_score)
            s.score(row, 5, r.verified_score)
        else:
            s.text(row, 4, NOT_TAKEN, s.f.muted)
            s.text(row, 5, NOT_TAKEN, s.f.muted)
        missed = COUNTED_ZERO if self.data.missing_stage_policy == ZERO else NOT_COUNTED
        col = 6
        for code in self.stages:
            if not r.participating:
                s.text(row, col, NOT_TAKEN, s.f.muted)
            elif code in r.missing_stages or code not in r.stage_scores:
                s.text(row, col, missed, s.f.muted)
            else:
                s.score(row, col, r.stage_scores[code])
            col += 1
        s.score(row, col, r.final_score)
        band = r.band if r.participating else None
        s.text(row, col + 1, self.bands.label(band), s.f.band(self.bands.index(band)))
        self.row += 1

    def close(self) -> None:
        self.sheet.table(self.header_row, self.row - 1, len(self.headers), freeze_cols=2)
        self.sheet.finish()


def write_recap(
    path: str | Path,
    data: RecapData,
    rows: Iterable[RecapRow],
    corrections: Iterable[CorrectionRow],
    *,
    tmpdir: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the recap workbook of one publication to ``path``.

    ``rows`` are ordered by category then rank (bodies that took no part last) and are read once.
    ``progress(rows_written)`` is called every ``PROGRESS_EVERY`` body rows and once after the last; the
    corrections, participation and summary sheets follow, and the file is complete when this returns.
    """
    workbook = Workbook(str(path), {"constant_memory": True, "tmpdir": tmpdir})
    workbook.set_properties(
        {
            "title": f"Rekapitulasi E-Monev {data.round_title}",
            "company": data.commission,
            "comments": f"Revisi penetapan {data.stamp.revision}",
        }
    )
    f = Formats(workbook)
    bands = Bands(data.bands)
    taken = {name.lower() for name in FIXED_SHEETS}
    summary = Sheet(workbook, f, RINGKASAN)
    ranking = _Ranking(
        Sheet(workbook, f, PERINGKAT), data, bands, f"Peringkat — {data.round_title}", printable=False
    )
    per_category: dict[int, _Ranking] = {}
    for category in data.categories:
        sheet = Sheet(workbook, f, sheet_name(category.name, taken))
        per_category[category.id] = _Ranking(
            sheet, data, bands, f"Peringkat {category.name} — {data.round_title}", printable=True
        )
    aspects = Sheet(workbook, f, PER_ASPEK)
    participation = Sheet(workbook, f, PARTISIPASI)
    koreksi = Sheet(workbook, f, KOREKSI)
    trend = Sheet(workbook, f, TREN)

    aspect_header = aspects.stamp(f"Nilai Verifikasi per Indikator — {data.round_title}", data.stamp)
    aspects.header(aspect_header, aspect_headers(data))
    trend_header = trend.stamp(f"Tren Nilai Akhir — {data.round_title}", data.stamp)
    trend.header(trend_header, trend_headers(data))

    aspect_codes = [a.code for a in data.aspects]
    labels = dict(data.band_labels)
    labels.update({b.code: b.label for b in data.bands})
    aspect_row = aspect_header + 1
    trend_row = trend_header + 1
    written = 0
    for r in rows:
        ranking.add(r)
        category_ranking = per_category.get(r.category_id)
        if category_ranking is not None:
            category_ranking.add(r)
        aspects.text(aspect_row, 0, r.body)
        aspects.text(aspect_row, 1, r.category)
        for i, code in enumerate(aspect_codes, start=2):
            aspects.score(aspect_row, i, r.aspect_scores.get(code))
        aspect_row += 1
        _trend_row(trend, trend_row, r, data, bands, labels)
        trend_row += 1
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    if progress is not None:
        progress(written)

    ranking.close()
    for sheet_ranking in per_category.values():
        sheet_ranking.close()
    aspects.table(aspect_header, aspect_row - 1, len(data.aspects) + 2, freeze_cols=1)
    aspects.finish()
    trend.table(trend_header, trend_row - 1, len(trend_headers(data)), freeze_cols=1)
    trend.finish()
    _write_corrections(koreksi, data, corrections)
    _write_participation(participation, data)
    _write_summary(workbook, summary, data, bands)
    workbook.close()


def _trend_row(
    sheet: Sheet, row: int, r: RecapRow, data: RecapData, bands: Bands, labels: Mapping[str, str]
) -> None:
    sheet.text(row, 0, r.body)
    sheet.text(row, 1, r.category)
    col = 2
    for earlier in data.earlier_rounds:
        point = r.history.get(earlier.id)
        if point is not None:
            sheet.score(row, col, point.final_score)
            label = labels.get(point.band, point.band) if point.band else NOT_PARTICIPATING_LABEL
            sheet.text(row, col + 1, label, sheet.f.band(bands.index(point.band)))
        col += 2
    sheet.score(row, col, r.final_score)
    band = r.band if r.participating else None
    sheet.text(row, col + 1, bands.label(band), sheet.f.band(bands.index(band)))
    if r.score_change is not None:
        sheet.score(row, col + 2, r.score_change, sheet.f.get(num_format=CHANGE_FORMAT))
    if r.band_change is not None:
        sheet.number(row, col + 3, r.band_change, sheet.f.get(num_format=STEP_FORMAT))


def _write_corrections(sheet: Sheet, data: RecapData, corrections: Iterable[CorrectionRow]) -> None:
    header = sheet.stamp(f"Koreksi Verifikasi — {data.round_title}", data.stamp)
    sheet.header(header, CORRECTION_HEADERS)
    wrap = sheet.f.get(text_wrap=True, valign="top")
    row = header + 1
    for c in corrections:
        sheet.text(row, 0, c.body)
        sheet.text(row, 1, c.category)
        sheet.text(row, 2, c.question_code)
        sheet.text(row, 3, c.question_text, wrap)
        _value(sheet, row, 4, c.self_value)
        _value(sheet, row, 5, c.verified_value)
        sheet.text(row, 6, c.verifier)
        sheet.text(row, 7, c.note, wrap)
        row += 1
    sheet.fixed.update({3: 50, 7: 40})
    sheet.table(header, row - 1, len(CORRECTION_HEADERS), freeze_cols=1)
    sheet.finish()


def _value(sheet: Sheet, row: int, col: int, value: str | Decimal | None) -> None:
    if isinstance(value, Decimal):
        sheet.number(row, col, value)
    else:
        sheet.text(row, col, value)


def _write_participation(sheet: Sheet, data: RecapData) -> None:
    header = sheet.stamp(f"Partisipasi — {data.round_title}", data.stamp)
    sheet.header(header, PARTICIPATION_HEADERS)
    row = header + 1
    bold = sheet.f.get(bold=True)
    pct_bold = sheet.f.get(bold=True, num_format=SCORE_FORMAT)
    for line in [*data.participation, data.participation_total]:
        total = line is data.participation_total
        sheet.text(row, 0, "Jumlah" if total else line.category, bold if total else None)
        values = (line.invited, line.registered, line.submitted, line.verified)
        pcts = (line.registered_pct, line.submitted_pct, line.verified_pct)
        sheet.number(row, 1, values[0], bold if total else None)
        for i in range(3):
            sheet.number(row, 2 + 2 * i, values[i + 1], bold if total else None)
            sheet.score(row, 3 + 2 * i, pcts[i], pct_bold if total else None)
        row += 1
    sheet.ws.write_string(
        row + 1,
        0,
        "Angka partisipasi dihitung dari undangan dan pengiriman SAQ pada saat berkas ini dibuat; "
        "persentase terhadap jumlah badan publik yang diundang.",
        sheet.f.get(italic=True),
    )
    sheet.table(header, row - 1, len(PARTICIPATION_HEADERS))
    sheet.finish()


def _write_summary(workbook: Workbook, sheet: Sheet, data: RecapData, bands: Bands) -> None:
    ws = sheet.ws
    row = sheet.stamp(f"Rekapitulasi Hasil E-Monev — {data.round_title}", data.stamp)
    bold = sheet.f.get(bold=True)
    for label, text in (("Komisi Informasi", data.commission), ("Periode", data.round_title)):
        ws.write_string(row, 0, label, bold)
        sheet.text(row, 1, text)
        row += 1
    ws.write_string(row, 0, "Tahun", bold)
    sheet.number(row, 1, data.year, sheet.f.get(align="left"))
    row += 2

    sheet.header(row, ("Tahap", "Bobot (%)"))
    row += 1
    for stage in data.stages:
        sheet.text(row, 0, "SAQ (Nilai Verifikasi)" if stage.code == "saq" else stage.title)
        sheet.score(row, 1, stage.weight)
        row += 1
    row += 1

    ws.write_string(row, 0, "Jumlah Badan Publik per Kualifikasi dan Kategori", bold)
    row += 1
    columns = [b.label for b in bands.bands] + [NOT_PARTICIPATING_LABEL]
    table_header = row
    sheet.header(row, ["Kategori", *columns, "Jumlah"])
    row += 1
    first = row
    for line in data.band_counts:
        sheet.text(row, 0, line.category)
        for i, band in enumerate(bands.bands, start=1):
            sheet.number(row, i, line.counts.get(band.code, 0))
        sheet.number(row, len(columns), line.not_participating)
        sheet.number(row, len(columns) + 1, line.total)
        row += 1
    last = row - 1
    total_fmt = sheet.f.get(bold=True, top=1)
    ws.write_string(row, 0, "Jumlah", total_fmt)
    totals = [sum(line.counts.get(b.code, 0) for line in data.band_counts) for b in bands.bands]
    totals.append(sum(line.not_participating for line in data.band_counts))
    totals.append(sum(line.total for line in data.band_counts))
    for i, value in enumerate(totals, start=1):
        ws.write_number(row, i, value, total_fmt)
    row += 1
    ws.write_string(row, 0, "Persentase (%)", bold)
    codes = [b.code for b in bands.bands] + [NOT_PARTICIPATING_LABEL]
    pct_fmt = sheet.f.get(bold=True, num_format=SCORE_FORMAT)
    for i, code in enumerate(codes, start=1):
        sheet.score(row, i, data.band_percentages.get(code, Decimal("0.00")), pct_fmt)
    row += 1

    if data.band_counts:
        chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
        for i in range(1, len(columns) + 1):
            style = band_style(i - 1 if i <= len(bands.bands) else None)
            chart.add_series(
                {
                    "name": [sheet.name, table_header, i],
                    "categories": [sheet.name, first, 0, last, 0],
                    "values": [sheet.name, first, i, last, i],
                    "fill": {"color": style.fill},
                    "border": {"color": style.font},
                    "gap": 60,
                }
            )
        chart.set_title({"name": "Sebaran Kualifikasi per Kategori"})
        chart.set_x_axis({"name": "Kategori"})
        chart.set_y_axis({"name": "Jumlah Badan Publik", "major_gridlines": {"visible": True}})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": max(640, 60 * len(data.band_counts)), "height": 400})
        ws.insert_chart(row + 1, 0, chart)
    sheet.fixed[0] = max(sheet.widths.get(0, 0) + 2, 24)
    sheet.finish()
