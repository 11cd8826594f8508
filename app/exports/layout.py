"""What every workbook of the service looks like: one band palette, one header block, safe cells.

Every sheet opens with the same block: a title, the instant it was produced (a real date in the
commission's time zone, labelled WIB/WITA/WIT) and the published revision it comes from. Scores are the
published 2-decimal figures written as numbers with the format ``0.00``; dates are dates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from app.commissions.timezones import ZONE_LABELS, local
from app.exports.workbook_safety import needs_text_guard, write_user_text

SCORE_FORMAT = "0.00"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
CHANGE_FORMAT = "+0.00;-0.00;0.00"
STEP_FORMAT = "+0;-0;0"
NOT_PARTICIPATING_LABEL = "Tidak Mengikuti"
HEADER_FILL = "#1F3864"
MAX_WIDTH = 60
SHEET_NAME_MAX = 31


@dataclass(frozen=True)
class BandStyle:
    fill: str
    font: str


# Highest band first: Informatif, Menuju Informatif, Cukup, Kurang, Tidak Informatif.
BAND_PALETTE = (
    BandStyle("#C6EFCE", "#006100"),
    BandStyle("#DDEBF7", "#1F4E78"),
    BandStyle("#FFEB9C", "#7F6000"),
    BandStyle("#FCE4D6", "#843C0C"),
    BandStyle("#FFC7CE", "#9C0006"),
)
EXTRA_BAND = BandStyle("#EDEDED", "#3A3A3A")
NOT_PARTICIPATING = BandStyle("#D9D9D9", "#595959")


def band_style(index: int | None) -> BandStyle:
    """The colours of the band at ``index`` in the template's band order (highest first); None: no band."""
    if index is None:
        return NOT_PARTICIPATING
    return BAND_PALETTE[index] if 0 <= index < len(BAND_PALETTE) else EXTRA_BAND


@dataclass(frozen=True)
class BandInfo:
    code: str
    label: str


class Bands:
    """The bands of a round, highest first, and how a band code is shown (label and colours)."""

    def __init__(self, bands: Sequence[BandInfo]) -> None:
        self.bands = tuple(bands)
        self._index = {band.code: i for i, band in enumerate(self.bands)}

    def label(self, code: str | None) -> str:
        if code is None:
            return NOT_PARTICIPATING_LABEL
        index = self._index.get(code)
        return self.bands[index].label if index is not None else code

    def index(self, code: str | None) -> int | None:
        if code is None:
            return None
        return self._index.get(code, len(BAND_PALETTE))


@dataclass(frozen=True)
class Stamp:
    """When a workbook was produced and from which publication (instants are aware)."""

    produced_at: datetime
    timezone: str
    revision: int | None = None
    published_at: datetime | None = None

    @property
    def zone(self) -> str:
        return ZONE_LABELS.get(self.timezone, self.timezone)

    def local(self, instant: datetime) -> datetime:
        """The instant as a naive local date and time: what a spreadsheet date holds."""
        return local(instant, self.timezone).replace(tzinfo=None)


_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unique sheet name: no ``[]:*?/\\``, no leading or trailing apostrophe, at most 31 characters,
    different (ignoring case) from every name in ``taken``, which it is added to."""
    base = _FORBIDDEN.sub("-", wanted).strip().strip("'").strip() or "Lembar"
    if base.lower() == "history":  # reserved by Excel
        base = "History-"
    name = base[:SHEET_NAME_MAX].rstrip()
    n = 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
        n += 1
    taken.add(name.lower())
    return name


class Formats:
    """XlsxWriter formats made once per workbook and shared by property set."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Format] = {}
        self._props: dict[int, dict[str, Any]] = {}
        self._bands: dict[int | None, Format] = {}

    def get(self, **props: Any) -> Format:
        key = tuple(sorted(props.items()))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.workbook.add_format(props)
            self._props[id(found)] = props
        return found

    def guarded(self, fmt: Format) -> Format:
        """The same format with Excel's quote prefix (the cell stays text when edited)."""
        return self.get(**(self._props.get(id(fmt), {}) | {"quote_prefix": True}))

    @property
    def muted(self) -> Format:
        """Grey italic text: a cell that says a body did not take part ("Tidak mengikuti")."""
        return self.get(italic=True, font_color=NOT_PARTICIPATING.font)

    def band(self, index: int | None) -> Format:
        """The format of a band cell: the band's colours from the one palette."""
        found = self._bands.get(index)
        if found is None:
            style = band_style(index)
            found = self._bands[index] = self.get(bg_color=style.fill, font_color=style.font)
        return found


class Sheet:
    """One worksheet written top to bottom (as XlsxWriter's constant-memory mode needs), remembering how wide
    each column must be."""

    def __init__(self, workbook: Workbook, formats: Formats, name: str) -> None:
        self.ws: Worksheet = workbook.add_worksheet(name)
        self.name = name
        self.f = formats
        self.widths: dict[int, int] = {}
        self.fixed: dict[int, int] = {}
        self._plain = formats.get()
        self._guarded = formats.get(quote_prefix=True)
        self._score = formats.get(num_format=SCORE_FORMAT)
        self._date = formats.get(num_format=DATETIME_FORMAT, align="left")

    def _fit(self, col: int, width: int) -> None:
        if width > self.widths.get(col, 0):
            self.widths[col] = width

    def text(self, row: int, col: int, value: str | None, fmt: Format | None = None) -> None:
        """User-supplied (or any) text: always a string cell, guarded against formula injection."""
        if value is None or value == "":
            if fmt is not None:
                self.ws.write_blank(row, col, None, fmt)
            return
        guarded = (self._guarded if fmt is None else self.f.guarded(fmt)) if needs_text_guard(value) else None
        write_user_text(self.ws, row, col, value, fmt or self._plain, guarded)
        self._fit(col, max(len(line) for line in value.split("\n")))

    def score(self, row: int, col: int, value: Decimal | None, fmt: Format | None = None) -> None:
        """A published 2-decimal figure as a number formatted ``0.00`` (blank when None)."""
        if value is None:
            if fmt is not None:
                self.ws.write_blank(row, col, None, fmt)
            return
        self.ws.write_number(row, col, float(value), fmt or self._score)
        self._fit(col, 7)

    def number(self, row: int, col: int, value: int | Decimal | None, fmt: Format | None = None) -> None:
        if value is None:
            return
        self.ws.write_number(row, col, value if isinstance(value, int) else float(value), fmt)
        self._fit(col, len(str(value)) + 1)

    def when(self, row: int, col: int, value: datetime) -> None:
        """A naive local date and time as a real spreadsheet date."""
        self.ws.write_datetime(row, col, value, self._date)
        self._fit(col, 17)

    def header(self, row: int, labels: Sequence[str], *, first_col: int = 0, wrap: bool = True) -> None:
        fmt = self.f.get(
            bold=True, font_color="#FFFFFF", bg_color=HEADER_FILL, text_wrap=wrap, valign="top", border=1
        )
        for i, label in enumerate(labels):
            self.ws.write_string(row, first_col + i, label, fmt)
            self._fit(first_col + i, min(max(len(word) for word in label.split()) + 2, 24) if label else 4)

    def stamp(self, title: str, stamp: Stamp) -> int:
        """The block every sheet starts with, three columns wide (so a table under it sets the sheet's width);
        returns the first free row (after one blank row)."""
        self.ws.write_string(0, 0, title, self.f.get(bold=True, font_size=14))
        label = self.f.get(bold=True)
        self.ws.write_string(1, 0, "Dibuat", label)
        self.when(1, 1, stamp.local(stamp.produced_at))
        self.ws.write_string(1, 2, stamp.zone)
        if stamp.revision is None:
            return 3
        self.ws.write_string(2, 0, "Revisi Penetapan", label)
        self.ws.write_number(2, 1, stamp.revision, self.f.get(align="left"))
        if stamp.published_at is not None:
            self.ws.write_string(3, 0, "Ditetapkan", label)
            self.when(3, 1, stamp.local(stamp.published_at))
            self.ws.write_string(3, 2, stamp.zone)
        return 5

    def table(self, header_row: int, last_row: int, columns: int, *, freeze_cols: int = 0) -> None:
        """Freeze everything above the data and put an auto-filter on the header row."""
        self.ws.freeze_panes(header_row + 1, freeze_cols)
        self.ws.autofilter(header_row, 0, max(last_row, header_row), columns - 1)

    def finish(self) -> None:
        """Set column widths to fit what was written (capped), after the rows: constant-memory friendly."""
        for col in sorted(self.widths.keys() | self.fixed.keys()):
            width = self.fixed.get(col) or min(self.widths[col] + 2, MAX_WIDTH)
            self.ws.set_column(col, col, width)
