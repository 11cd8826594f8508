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

from xlsxwriter.format import Format
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
from app.exports.workbook_safety import EXCEL_MAX_STRING, FORMULA_TRIGGERS, write_user_text
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


# Text that cannot go the short way: it may run a formula (guarded), carry XlsxWriter's rich-text markers or
# be longer than a cell holds (``write_user_text`` handles those).
_NOT_PLAIN = (*FORMULA_TRIGGERS, "<r>")
_SCORE_WIDTH = 7

Cell = tuple[int, "str | float | None", "Format | None"]
"""A cell of a body row: column, value (a string, a number, or None for a blank that only carries its
format) and format."""
OddCell = tuple[int, str, "Format | None", "Format | None"]
"""A text cell that needs ``write_user_text``: column, text, format, its quote-prefixed twin."""


class _Texts:
    """What a text cell becomes, decided once per text: its format (quote-prefixed when the text could be
    taken for a formula) and its width. The recap writes about forty cells per body, so the per-cell work
    of ``Sheet.text`` (two guard checks, three calls, a split) is one test here for plain text on one
    line, and done once per workbook for texts of our own (band labels, "Tidak mengikuti")."""

    def __init__(self, formats: Formats) -> None:
        self.formats = formats
        self.plain = formats.get()
        self._guarded: dict[int, Format] = {}

    def guarded(self, fmt: Format) -> Format:
        found = self._guarded.get(id(fmt))
        if found is None:
            found = self._guarded[id(fmt)] = self.formats.guarded(fmt)
        return found

    def decide(self, value: str, fmt: Format) -> tuple[Format, int, bool]:
        """(format, width, odd) of a non-empty text: ``odd`` texts (XlsxWriter's rich-text markers, longer
        than a cell holds) go through ``write_user_text``."""
        width = len(value) if "\n" not in value else max(len(line) for line in value.split("\n"))
        if not value.startswith(_NOT_PLAIN) and len(value) <= EXCEL_MAX_STRING:
            return fmt, width, False
        if value.startswith(FORMULA_TRIGGERS) and len(value) <= EXCEL_MAX_STRING:
            return self.guarded(fmt), width, False
        return fmt, width, True

    def add(
        self,
        cells: list[Cell],
        odd: list[OddCell],
        widths: list[int],
        col: int,
        value: str | None,
        fmt: Format | None = None,
    ) -> None:
        """A text cell as ``Sheet.text`` writes it: nothing for no text (a blank when ``fmt`` is given)."""
        if not value:
            if fmt is not None:
                cells.append((col, None, fmt))
            return
        if value.startswith(_NOT_PLAIN) or len(value) > EXCEL_MAX_STRING or "\n" in value:
            use, width, strange = self.decide(value, fmt or self.plain)
            if strange:
                guarded = self.guarded(use) if value.startswith(FORMULA_TRIGGERS) else None
                odd.append((col, value, use, guarded))
            else:
                cells.append((col, value, use))
        else:
            # The common case, kept to one test: plain text on one line.
            cells.append((col, value, fmt or self.plain))
            width = len(value)
        if width > widths[col]:
            widths[col] = width


class _Rows:
    """The body rows of one sheet, written top to bottom, each row's cells worked out beforehand."""

    def __init__(self, sheet: Sheet, first_row: int, columns: int) -> None:
        self.sheet = sheet
        self.row = first_row
        self.widths = [0] * columns
        # XlsxWriter's write_string, write_number and write_blank only wrap these to accept "A1" notation
        # (an int() tried on every call); rows and columns here are always numbers. About 5 % of the recap's
        # CPU (bench/README.md, "Excel recap"). The output is the same; tests/exports/test_recap*.py read
        # every kind of cell back.
        ws = sheet.ws
        self._string = ws._write_string
        self._number = ws._write_number
        self._blank = ws._write_blank

    def put(self, cells: list[Cell], odd: list[OddCell]) -> None:
        row = self.row
        for col, value, fmt in cells:
            if value.__class__ is str:
                self._string(row, col, value, fmt)
            elif value is None:
                self._blank(row, col, None, fmt)
            else:
                self._number(row, col, value, fmt)
        for col, text, fmt, guarded in odd:
            write_user_text(self.sheet.ws, row, col, text, fmt, guarded)
        self.row = row + 1

    def fit(self) -> None:
        """Hand the widths of what was written to the sheet (which sizes the columns when finished)."""
        widths = self.sheet.widths
        for col, width in enumerate(self.widths):
            if width > widths.get(col, 0):
                widths[col] = width


class _Ranking:
    """A ranking sheet (``Peringkat`` or one category's) filled row by row."""

    def __init__(self, sheet: Sheet, data: RecapData, title: str, *, printable: bool) -> None:
        self.sheet = sheet
        self.header_row = sheet.stamp(title, data.stamp)
        self.headers = ranking_headers(data)
        sheet.header(self.header_row, self.headers)
        self.rows = _Rows(sheet, self.header_row + 1, len(self.headers))
        if printable:
            ws = sheet.ws
            ws.set_landscape()
            ws.set_paper(9)
            ws.fit_to_pages(1, 0)
            ws.repeat_rows(self.header_row)

    def close(self, *parts: _Ranking) -> None:
        """Size the columns (to the widths of ``parts`` too: ``Peringkat`` holds the category sheets' rows)
        and finish the sheet."""
        widths = self.rows.widths
        for part in parts:
            widths[:] = map(max, widths, part.rows.widths)
        self.rows.fit()
        self.sheet.table(self.header_row, self.rows.row - 1, len(self.headers), freeze_cols=2)
        self.sheet.finish()


class _BodyCells:
    """The cells of a body row on each sheet it goes to (ranking, ``Per Aspek``, ``Tren``), each computed
    once: a body's ranking row is the same on ``Peringkat`` and on its category's sheet."""

    def __init__(self, data: RecapData, bands: Bands, formats: Formats) -> None:
        self.texts = _Texts(formats)
        self.bands = bands
        self.formats = formats
        self.stages = [s.code for s in data.later_stages]
        self.aspects = [a.code for a in data.aspects]
        self.earlier = [r.id for r in data.earlier_rounds]
        self.labels = dict(data.band_labels)
        self.labels.update({b.code: b.label for b in data.bands})
        self.score = formats.get(num_format=SCORE_FORMAT)
        self.change = formats.get(num_format=CHANGE_FORMAT)
        self.step = formats.get(num_format=STEP_FORMAT)
        missed = COUNTED_ZERO if data.missing_stage_policy == ZERO else NOT_COUNTED
        self.not_taken = self._fixed(NOT_TAKEN)
        self.missed = self._fixed(missed)
        self._band: dict[str | None, tuple[str, Format]] = {}
        self._earlier_band: dict[str | None, tuple[str, Format]] = {}

    def _fixed(self, text: str) -> tuple[str, Format, int]:
        """One of our own muted texts ("Tidak mengikuti"): never guarded, never odd."""
        fmt, width, odd = self.texts.decide(text, self.formats.muted)
        assert not odd
        return text, fmt, width

    def band(self, code: str | None) -> tuple[str, Format]:
        """The round's band: its label and its colours."""
        found = self._band.get(code)
        if found is None:
            found = self._band[code] = (self.bands.label(code), self.formats.band(self.bands.index(code)))
        return found

    def earlier_band(self, code: str | None) -> tuple[str, Format]:
        """A band of an earlier round (named by its own labels when the round's bands do not)."""
        found = self._earlier_band.get(code)
        if found is None:
            label = self.labels.get(code, code) if code else NOT_PARTICIPATING_LABEL
            found = self._earlier_band[code] = (label, self.formats.band(self.bands.index(code)))
        return found

    def ranking(self, r: RecapRow, widths: list[int]) -> tuple[list[Cell], list[OddCell]]:
        """Rank, body, category, region, self and verified score, the later stages, final score, band."""
        texts, score = self.texts, self.score
        cells: list[Cell] = []
        odd: list[OddCell] = []
        if r.rank is not None:
            cells.append((0, r.rank, None))
            width = len(str(r.rank)) + 1
            if width > widths[0]:
                widths[0] = width
        texts.add(cells, odd, widths, 1, r.body)
        texts.add(cells, odd, widths, 2, r.category)
        texts.add(cells, odd, widths, 3, r.region_code)
        last = 6 + len(self.stages)
        if r.participating:
            # False: a later stage the body did not take part in (it did not pass the gate).
            scores: list[Decimal | bool | None] = [r.self_score, r.verified_score]
            for code in self.stages:
                scores.append(False if code in r.missing_stages else r.stage_scores.get(code, False))
            for col, value in enumerate(scores, start=4):
                if value is False:
                    text, fmt, width = self.missed
                    cells.append((col, text, fmt))
                    if width > widths[col]:
                        widths[col] = width
                elif value is not None:
                    cells.append((col, float(value), score))
                    if widths[col] < _SCORE_WIDTH:
                        widths[col] = _SCORE_WIDTH
        else:
            text, fmt, width = self.not_taken
            for col in range(4, last):
                cells.append((col, text, fmt))
                if width > widths[col]:
                    widths[col] = width
        if r.final_score is not None:
            cells.append((last, float(r.final_score), score))
            if widths[last] < _SCORE_WIDTH:
                widths[last] = _SCORE_WIDTH
        label, fmt = self.band(r.band if r.participating else None)
        texts.add(cells, odd, widths, last + 1, label, fmt)
        return cells, odd

    def aspect(self, r: RecapRow, widths: list[int]) -> tuple[list[Cell], list[OddCell]]:
        """Body, category, the verified score of each aspect."""
        score = self.score
        cells: list[Cell] = []
        odd: list[OddCell] = []
        self.texts.add(cells, odd, widths, 0, r.body)
        self.texts.add(cells, odd, widths, 1, r.category)
        get = r.aspect_scores.get
        for col, code in enumerate(self.aspects, start=2):
            value = get(code)
            if value is not None:
                cells.append((col, float(value), score))
                if widths[col] < _SCORE_WIDTH:
                    widths[col] = _SCORE_WIDTH
        return cells, odd

    def trend(self, r: RecapRow, widths: list[int]) -> tuple[list[Cell], list[OddCell]]:
        """Body, category, final score and band of each earlier round, of this one, and the changes."""
        texts, score = self.texts, self.score
        cells: list[Cell] = []
        odd: list[OddCell] = []
        texts.add(cells, odd, widths, 0, r.body)
        texts.add(cells, odd, widths, 1, r.category)
        col = 2
        for round_id in self.earlier:
            point = r.history.get(round_id)
            if point is not None:
                if point.final_score is not None:
                    cells.append((col, float(point.final_score), score))
                    if widths[col] < _SCORE_WIDTH:
                        widths[col] = _SCORE_WIDTH
                label, fmt = self.earlier_band(point.band)
                texts.add(cells, odd, widths, col + 1, label, fmt)
            col += 2
        if r.final_score is not None:
            cells.append((col, float(r.final_score), score))
            if widths[col] < _SCORE_WIDTH:
                widths[col] = _SCORE_WIDTH
        label, fmt = self.band(r.band if r.participating else None)
        texts.add(cells, odd, widths, col + 1, label, fmt)
        if r.score_change is not None:
            cells.append((col + 2, float(r.score_change), self.change))
            if widths[col + 2] < _SCORE_WIDTH:
                widths[col + 2] = _SCORE_WIDTH
        if r.band_change is not None:
            cells.append((col + 3, r.band_change, self.step))
            width = len(str(r.band_change)) + 1
            if width > widths[col + 3]:
                widths[col + 3] = width
        return cells, odd


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
        Sheet(workbook, f, PERINGKAT), data, f"Peringkat — {data.round_title}", printable=False
    )
    per_category: dict[int, _Ranking] = {}
    for category in data.categories:
        sheet = Sheet(workbook, f, sheet_name(category.name, taken))
        per_category[category.id] = _Ranking(
            sheet, data, f"Peringkat {category.name} — {data.round_title}", printable=True
        )
    aspects = Sheet(workbook, f, PER_ASPEK)
    participation = Sheet(workbook, f, PARTISIPASI)
    koreksi = Sheet(workbook, f, KOREKSI)
    trend = Sheet(workbook, f, TREN)

    aspect_header = aspects.stamp(f"Nilai Verifikasi per Indikator — {data.round_title}", data.stamp)
    aspects.header(aspect_header, aspect_headers(data))
    trend_header = trend.stamp(f"Tren Nilai Akhir — {data.round_title}", data.stamp)
    trend.header(trend_header, trend_headers(data))

    cells = _BodyCells(data, bands, f)
    aspect_rows = _Rows(aspects, aspect_header + 1, len(data.aspects) + 2)
    trend_rows = _Rows(trend, trend_header + 1, len(trend_headers(data)))
    ranking_rows = ranking.rows
    written = 0
    for r in rows:
        # A body's ranking cells go to Peringkat and to its category's sheet; the widths are kept per
        # category sheet (or on Peringkat's own for a body whose category has none) and Peringkat takes the
        # widest at the end.
        category_ranking = per_category.get(r.category_id)
        own = category_ranking.rows if category_ranking is not None else ranking_rows
        row_cells, odd = cells.ranking(r, own.widths)
        ranking_rows.put(row_cells, odd)
        if category_ranking is not None:
            category_ranking.rows.put(row_cells, odd)
        aspect_rows.put(*cells.aspect(r, aspect_rows.widths))
        trend_rows.put(*cells.trend(r, trend_rows.widths))
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    if progress is not None:
        progress(written)

    ranking.close(*per_category.values())
    for sheet_ranking in per_category.values():
        sheet_ranking.close()
    aspect_rows.fit()
    aspects.table(aspect_header, aspect_rows.row - 1, len(data.aspects) + 2, freeze_cols=1)
    aspects.finish()
    trend_rows.fit()
    trend.table(trend_header, trend_rows.row - 1, len(trend_headers(data)), freeze_cols=1)
    trend.finish()
    _write_corrections(koreksi, data, corrections, cells.texts)
    _write_participation(participation, data)
    _write_summary(workbook, summary, data, bands)
    workbook.close()


def _write_corrections(
    sheet: Sheet, data: RecapData, corrections: Iterable[CorrectionRow], texts: _Texts
) -> None:
    header = sheet.stamp(f"Koreksi Verifikasi — {data.round_title}", data.stamp)
    sheet.header(header, CORRECTION_HEADERS)
    wrap = sheet.f.get(text_wrap=True, valign="top")
    rows = _Rows(sheet, header + 1, len(CORRECTION_HEADERS))
    widths = rows.widths
    add = texts.add
    for c in corrections:
        cells: list[Cell] = []
        odd: list[OddCell] = []
        add(cells, odd, widths, 0, c.body)
        add(cells, odd, widths, 1, c.category)
        add(cells, odd, widths, 2, c.question_code)
        add(cells, odd, widths, 3, c.question_text, wrap)
        for col, value in ((4, c.self_value), (5, c.verified_value)):
            if isinstance(value, Decimal):
                cells.append((col, float(value), None))
                width = len(str(value)) + 1
                if width > widths[col]:
                    widths[col] = width
            else:
                add(cells, odd, widths, col, value)
        add(cells, odd, widths, 6, c.verifier)
        add(cells, odd, widths, 7, c.note, wrap)
        rows.put(cells, odd)
    rows.fit()
    sheet.fixed.update({3: 50, 7: 40})
    sheet.table(header, rows.row - 1, len(CORRECTION_HEADERS), freeze_cols=1)
    sheet.finish()


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
