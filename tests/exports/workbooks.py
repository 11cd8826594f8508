"""Reading produced workbooks back in tests: openpyxl (values, styles, panes) and pandas (values)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

HEADER_ROW = 6  # the header row of the recap's tables, as a spreadsheet numbers it


def open_xlsx(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def rows_after(ws: Worksheet, header_row: int = HEADER_ROW) -> list[tuple[Any, ...]]:
    """Values of the rows under the header, up to the first empty row."""
    out = []
    for values in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if all(v is None for v in values):
            break
        out.append(values)
    return out


def header(ws: Worksheet, header_row: int = HEADER_ROW) -> list[Any]:
    return [c.value for c in ws[header_row] if c.value is not None]


def frame(data: bytes, sheet: str, header_row: int = HEADER_ROW) -> pd.DataFrame:
    """The sheet's table as pandas reads it (the header on ``header_row``)."""
    return pd.read_excel(io.BytesIO(data), sheet_name=sheet, header=header_row - 1, engine="openpyxl")


def members(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def two_decimals(value: Any) -> str | None:
    """A number cell as the API writes the figure: two decimals."""
    return None if value is None else f"{value:.2f}"


def find_row(ws: Worksheet, first_cell: str) -> int:
    """The number of the first row whose column A holds ``first_cell``."""
    for cell in ws["A"]:
        if cell.value == first_cell:
            return int(cell.row)
    raise AssertionError(f"no row starting with {first_cell!r} in {ws.title}")
