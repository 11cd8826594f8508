"""The recap's body rows written from plain data (no database): every text a user typed stays text on every
sheet it reaches, and the columns fit what was written. The recap works out each body row's cells once and
writes them to several sheets, so these hold for each sheet, not only for ``Peringkat``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from app.exports.layout import NOT_PARTICIPATING_LABEL, BandInfo, Stamp
from app.exports.recap_workbook import (
    AspectInfo,
    BandCountLine,
    CategoryInfo,
    CorrectionRow,
    ParticipationLine,
    RecapData,
    RecapRow,
    RoundInfo,
    StageInfo,
    TrendPoint,
    write_recap,
)
from app.exports.workbook_safety import EXCEL_MAX_STRING, needs_text_guard
from tests.exports.test_workbook_safety import INJECTION, RISKY
from tests.exports.workbooks import find_row

BANDS = [BandInfo("informatif", "Informatif"), BandInfo("kurang", "Kurang Informatif")]
KELURAHAN = CategoryInfo(1, "kel", "Kelurahan")
DINAS = CategoryInfo(2, "din", "Dinas")
EARLIER = RoundInfo(7, 2024, "Monev 2024")
SAFE = ["Kelurahan Gondangdia", "<b>bukan tag</b>", INJECTION]
# Risky names that openpyxl reads back as written (it keeps Excel's _x000D_ escape of a carriage return).
NAMES = [text for text in RISKY if "\r" not in text] + SAFE
TWO_LINES = "Dinas Komunikasi\ndan Informatika Provinsi"


def body(name: str, category: CategoryInfo, rank: int, score: str) -> RecapRow:
    value = Decimal(score)
    return RecapRow(
        body=name,
        category_id=category.id,
        category=category.name,
        region_code="-31.71" if rank == 1 else "31.71",
        participating=True,
        rank=rank,
        self_score=value,
        verified_score=value,
        stage_scores={"saq": value, "presentasi": value},
        final_score=value,
        band="informatif",
        aspect_scores={"1": value},
        history={EARLIER.id: TrendPoint(Decimal("50.00"), "lama")},
        score_change=Decimal("-0.50"),
        band_change=-1,
    )


def recap_data() -> RecapData:
    line = ParticipationLine("Kelurahan", 1, 1, Decimal(100), 1, Decimal(100), 1, Decimal(100))
    return RecapData(
        commission="Komisi Informasi Uji",
        round_title="Monev 2025",
        year=2025,
        stamp=Stamp(
            datetime(2025, 12, 11, 1, 0, tzinfo=UTC), "Asia/Jakarta", 1, datetime(2025, 12, 10, tzinfo=UTC)
        ),
        stages=[StageInfo("saq", "SAQ", Decimal(70)), StageInfo("presentasi", "Presentasi", Decimal(30))],
        bands=BANDS,
        categories=[KELURAHAN, DINAS],
        aspects=[AspectInfo("1", "Jenis Informasi")],
        band_counts=[BandCountLine("Kelurahan", {"informatif": 1}, 0, 1)],
        band_percentages={"informatif": Decimal(100), NOT_PARTICIPATING_LABEL: Decimal(0)},
        participation=[line],
        participation_total=line,
        earlier_rounds=[EARLIER],
        band_labels={"lama": "=Lama"},
    )


def write(tmp_path: Path, rows: list[RecapRow], corrections: list[CorrectionRow]) -> Path:
    out = tmp_path / "rekap.xlsx"
    write_recap(out, recap_data(), rows, corrections)
    return out


def correction(note: str) -> CorrectionRow:
    return CorrectionRow("Dinas Satu", "Dinas", "1.1", note, "Ya", Decimal("12.50"), "@verifikator", note)


def test_text_from_users_stays_text_on_every_sheet(tmp_path: Path) -> None:
    rows = [body(name, KELURAHAN, rank, "90.00") for rank, name in enumerate(NAMES, start=1)]
    wb = load_workbook(write(tmp_path, rows, [correction(name) for name in NAMES]))

    def written(cell: Cell, text: str) -> None:
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", needs_text_guard(text)), (
            cell.coordinate
        )

    for i, name in enumerate(NAMES):
        for sheet, column in (("Peringkat", "B"), ("Kelurahan", "B"), ("Per Aspek", "A"), ("Tren", "A")):
            written(wb[sheet][f"{column}{7 + i}"], name)
        written(wb["Koreksi Verifikasi"][f"D{7 + i}"], name)
        written(wb["Koreksi Verifikasi"][f"H{7 + i}"], name)
    written(wb["Peringkat"]["D7"], "-31.71")
    written(wb["Kelurahan"]["D7"], "-31.71")
    written(wb["Koreksi Verifikasi"]["G7"], "@verifikator")
    # An earlier round's band label (from its own template) is guarded too, in its band's colours.
    label = wb["Tren"]["D7"]
    written(label, "=Lama")
    assert label.fill.fgColor.rgb.endswith("EDEDED")
    # The question and the note keep their wrapping when guarded.
    assert wb["Koreksi Verifikasi"]["D9"].alignment.wrap_text
    assert wb["Koreksi Verifikasi"]["F7"].value == 12.5


def test_columns_fit_what_each_sheet_holds(tmp_path: Path) -> None:
    long_name = "Kelurahan dengan Nama yang Panjang Sekali"
    rows = [
        body(long_name, KELURAHAN, 1, "90.00"),
        body(TWO_LINES, DINAS, 1, "85.00"),
        body("Dinas Dua", DINAS, 2, "60.00"),
    ]
    wb = load_workbook(write(tmp_path, rows, [correction("catatan")]))

    def width(sheet: str, column: str) -> float:
        return round(wb[sheet].column_dimensions[column].width - 0.71)

    # Peringkat fits the widest body of every category; each category's sheet only its own bodies, a name
    # on two lines by its longer line.
    assert width("Peringkat", "B") == len(long_name) + 2
    assert width("Kelurahan", "B") == len(long_name) + 2
    assert width("Dinas", "B") == len("dan Informatika Provinsi") + 2
    assert width("Per Aspek", "A") == len(long_name) + 2
    assert width("Tren", "A") == len(long_name) + 2
    assert wb["Dinas"][f"B{find_row(wb['Dinas'], 1)}"].value == TWO_LINES


def test_text_longer_than_a_cell_holds_is_cut_to_fit(tmp_path: Path) -> None:
    note = "catatan " * 5000
    wb = load_workbook(write(tmp_path, [body("Dinas Satu", DINAS, 1, "90.00")], [correction(note)]))
    assert wb["Koreksi Verifikasi"]["H7"].value == note[:EXCEL_MAX_STRING]
