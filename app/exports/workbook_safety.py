"""Untrusted workbooks: users' text is written so that spreadsheets never run it, and uploads are checked
before any spreadsheet library parses them.

Writing
    Every cell whose text comes from a user (body names, notes, links, answers) goes through
    :func:`write_user_text`: it is written as a string cell (never through XlsxWriter's ``write``, which turns
    ``=...`` into a formula) and, when it begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    (or their full-width forms), with the *quote prefix* style, Excel's apostrophe: Excel and LibreOffice show
    it as text and keep it text when the cell is edited. XlsxWriter copies a string that starts with ``<r>``
    and ends with ``</r>`` into the XML unescaped (it takes it for its own rich-string markup), which would
    let a body name inject cells; such text is written as escaped rich-text runs instead.

Reading
    :func:`inspect_xlsx` looks at the ZIP container before openpyxl does: it must be a ZIP with the members of
    an .xlsx, not encrypted, with a plausible number of members, total uncompressed size and compression ratio
    (Python's ``zipfile`` never inflates a member past its declared size, so the declared sizes bound the
    work), no DTD in any XML part, and worksheets with at most ``max_rows`` rows. Worksheets are read with a
    streaming XML parser that stops at the row cap and notes every cell holding a formula. Formulas are never
    evaluated: the workbook is opened with ``read_only=True, data_only=True``, and a cell that holds a formula
    is refused by the readers (its cached value may be stale or missing, and an operator must see what is
    uploaded), naming the cell.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any, Protocol, cast
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from app.errors import MAX_LISTED_PROBLEMS, FieldProblem, InvalidInput, PayloadTooLarge, more_problems

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
EXCEL_MAX_STRING = 32767
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MIB = 1024 * 1024
FORMULA_TEXT = "berisi rumus; ketik nilainya langsung (rumus tidak dihitung)."
DAMAGED = "is damaged and cannot be opened; save it again in the spreadsheet program and upload that file"
log = logging.getLogger(__name__)


class _Worksheet(Protocol):
    def write_string(self, row: int, col: int, string: str, cell_format: Any = None) -> int: ...

    def write_rich_string(self, row: int, col: int, *args: Any) -> int: ...


def needs_text_guard(text: str) -> bool:
    """True when a spreadsheet could take the text for a formula (or strip a leading control character)."""
    return text.startswith(FORMULA_TRIGGERS)


def write_user_text(ws: _Worksheet, row: int, col: int, text: str, plain: Any, guarded: Any) -> None:
    """Write text that came from a user as a string cell that no spreadsheet runs.

    ``plain`` is the cell's format; ``guarded`` the same format with ``quote_prefix`` set (used when the
    text needs it; it may be None otherwise).
    """
    text = text[:EXCEL_MAX_STRING]
    cell_format = plain
    if needs_text_guard(text):
        if guarded is None:
            raise ValueError("text that looks like a formula needs a quote-prefix format")
        cell_format = guarded
    if text.startswith("<r>") and text.endswith("</r>"):
        ws.write_rich_string(row, col, text[:1], text[1:2], text[2:], cell_format)
    else:
        ws.write_string(row, col, text, cell_format)


# --- Uploads ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadLimits:
    """What an uploaded workbook may be. ``max_bytes`` comes from ``settings.upload_max_bytes``."""

    max_bytes: int = 10 * MIB
    max_uncompressed: int = 100 * MIB
    max_ratio: int = 100
    max_members: int = 500
    max_rows: int = 100_000
    max_columns: int = 200  # cells in one row
    max_cells: int = 1_000_000  # cells in one sheet: openpyxl reads about 200,000 a second
    ratio_floor: int = MIB  # members smaller than this are not judged by their ratio


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n} bytes"


def bad_file(name: str, reason: str, indonesian: str | None = None) -> InvalidInput:
    text = indonesian or (
        f"{name} tidak dapat dibaca sebagai berkas Excel (.xlsx). Simpan ulang berkas itu di program lembar "
        "kerja, lalu unggah lagi."
    )
    return InvalidInput(f"{name}: {reason}", errors=[FieldProblem("file", reason, text)], indonesian=text)


@dataclass(frozen=True)
class CellProblem:
    """A problem in one cell of an uploaded workbook, as a spreadsheet shows it (row 1 is the first)."""

    sheet: str
    row: int
    column: str
    message: str
    indonesian: str | None = None
    """The problem in the words a person reads (``message`` is the API's English)."""

    @property
    def cell(self) -> str:
        return f"{self.sheet}!{self.column}{self.row}"

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


def cell_problems(name: str, problems: list[CellProblem], detail: str) -> InvalidInput:
    """A 422 listing every cell problem: ``errors`` name the cell (``Jawaban!G7``), ``cells`` give sheet,
    row and column apart. Nothing of the workbook is saved."""
    return InvalidInput(
        f"{name}: {detail}",
        errors=[
            *(
                FieldProblem(
                    p.cell, p.message, f"Sel {p.cell}: {p.indonesian or 'isinya tidak dapat dibaca.'}"
                )
                for p in problems[:MAX_LISTED_PROBLEMS]
            ),
            *(
                [more_problems(len(problems) - MAX_LISTED_PROBLEMS)]
                if len(problems) > MAX_LISTED_PROBLEMS
                else []
            ),
        ],
        cells=[p.as_dict() for p in problems[:MAX_LISTED_PROBLEMS]],
        indonesian=f"{name}: {len(problems)} masalah pada sel; tidak ada yang disimpan. Perbaiki sel yang "
        "disebut, lalu unggah lagi.",
    )


@dataclass
class SheetScan:
    """What the pre-parse scan saw in one worksheet part."""

    rows: int = 0
    cells: int = 0
    formula_cells: list[str] = field(default_factory=list)


@dataclass
class WorkbookScan:
    """The scan of a whole workbook: worksheet name -> its scan."""

    sheets: dict[str, SheetScan]

    def formulas(self, sheet: str) -> set[str]:
        scan = self.sheets.get(sheet)
        return set(scan.formula_cells) if scan else set()


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 64 * 1024
_SMALL_PART = 4 * MIB


def _sniff(head: bytes) -> str:
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "is an old .xls workbook or an encrypted file, not an .xlsx workbook: save it as .xlsx"
    if head and b"\x00" not in head[:2048]:
        try:
            head[:2048].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return (
                "is a text (CSV?) file, not an .xlsx workbook: open it in a spreadsheet and save it as .xlsx"
            )
    if not head:
        return "is empty"
    return "is not an .xlsx workbook (it is not a ZIP archive)"


def inspect_xlsx(
    file: IO[bytes], *, name: str, limits: UploadLimits, scan_sheets: bool = True
) -> WorkbookScan:
    """Check an upload before parsing it; raise a 413/422 problem naming ``name`` and the reason. Without
    ``scan_sheets`` only the container is checked (milliseconds, where the sheets' scan reads every cell: a
    request that queues a job for the rest)."""
    file.seek(0)
    head = file.read(4096)
    file.seek(0)
    if not head.startswith(b"PK\x03\x04"):
        raise bad_file(name, _sniff(head))
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        log.warning("upload %r: its ZIP container cannot be read: %s: %s", name, type(exc).__name__, exc)
        raise bad_file(name, DAMAGED) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise bad_file(name, f"has {len(infos)} parts; an .xlsx workbook has far fewer")
        names = {info.filename for info in infos}
        for member in ("[Content_Types].xml", "xl/workbook.xml"):
            if member not in names:
                raise bad_file(name, f"is a ZIP archive but not an .xlsx workbook (it has no {member})")
        if any(info.flag_bits & 0x1 for info in infos):
            raise bad_file(
                name,
                "is encrypted; remove the password and upload it again",
                f"{name} dikunci dengan kata sandi. Hapus kata sandinya, lalu unggah lagi.",
            )
        total = sum(info.file_size for info in infos)
        if total > limits.max_uncompressed:
            limit = _size(limits.max_uncompressed)
            too_big = f"{name} terlalu besar setelah dibuka ({_size(total)}); batasnya {limit}."
            raise PayloadTooLarge(
                f"{name} unpacks to {_size(total)}, more than the limit of {_size(limits.max_uncompressed)}",
                errors=[FieldProblem("file", "uncompressed size too large (a zip bomb?)", too_big)],
                indonesian=too_big,
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
                packed = f"{name} dipadatkan secara tidak wajar ({ratio:.0f} banding 1) dan tidak dibuka."
                raise PayloadTooLarge(
                    f"{name}: {info.filename} is compressed {ratio:.0f} to 1, more than the limit of "
                    f"{limits.max_ratio} to 1",
                    errors=[FieldProblem("file", "implausible compression ratio (a zip bomb?)", packed)],
                    indonesian=packed,
                )
        if not scan_sheets:
            return WorkbookScan(sheets={})
        try:
            return _scan_parts(archive, infos, name=name, limits=limits)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            log.warning("upload %r: a part cannot be unpacked: %s: %s", name, type(exc).__name__, exc)
            raise bad_file(name, DAMAGED) from exc


def _scan_parts(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], *, name: str, limits: UploadLimits
) -> WorkbookScan:
    sheet_parts = _sheet_parts(archive, name=name)
    by_part: dict[str, SheetScan] = {}
    for info in infos:
        if info.is_dir() or not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        if info.filename in sheet_parts.values():
            by_part[info.filename] = _scan_sheet(archive, info, name=name, limits=limits)
        else:
            _refuse_dtd(archive, info, name=name)
    return WorkbookScan({sheet: by_part.get(part, SheetScan()) for sheet, part in sheet_parts.items()})


def _refuse_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, name: str) -> None:
    tail = b""
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            if _DTD.search(tail + chunk):
                raise bad_file(name, f"{info.filename} declares a DTD, which an .xlsx workbook never does")
            tail = chunk[-16:]


def _parse_small(archive: zipfile.ZipFile, member: str, *, name: str) -> Iterator[tuple[str, Element]]:
    info = archive.getinfo(member)
    if info.file_size > _SMALL_PART:
        raise bad_file(name, f"{member} is implausibly large")
    data = archive.read(member)
    if _DTD.search(data):
        raise bad_file(name, f"{member} declares a DTD, which an .xlsx workbook never does")
    parser: XMLPullParser[Element] = XMLPullParser(events=("end",))
    try:
        parser.feed(data)
        parser.close()
    except ParseError as exc:
        raise bad_file(name, f"{member} is not well-formed XML: {exc}") from exc
    return _elements(parser)


def _elements(parser: XMLPullParser[Element]) -> Iterator[tuple[str, Element]]:
    for item in parser.read_events():
        event, element = cast(tuple[str, Any], item)
        if isinstance(element, Element):
            yield event, element


def _sheet_parts(archive: zipfile.ZipFile, *, name: str) -> dict[str, str]:
    """Worksheet name -> its part name inside the ZIP, from xl/workbook.xml and its relationships."""
    sheets: list[tuple[str, str]] = []
    for _, element in _parse_small(archive, "xl/workbook.xml", name=name):
        if element.tag == f"{{{_MAIN_NS}}}sheet":
            sheets.append((element.get("name", ""), element.get(f"{{{_REL_NS}}}id", "")))
    targets: dict[str, str] = {}
    rels = "xl/_rels/workbook.xml.rels"
    if rels in archive.namelist():
        for _, element in _parse_small(archive, rels, name=name):
            if element.tag == f"{{{_PKG_REL_NS}}}Relationship":
                target = element.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
                targets[element.get("Id", "")] = path
    return {sheet: targets[rid] for sheet, rid in sheets if rid in targets}


def _too_many_cells(name: str, limits: UploadLimits) -> InvalidInput:
    reason = f"more than {limits.max_columns} cells in a row or {limits.max_cells} cells in a sheet"
    text = (
        f"{name} memuat lebih dari {limits.max_columns} sel dalam satu baris atau lebih dari "
        f"{limits.max_cells} sel dalam satu lembar."
    )
    return InvalidInput(f"{name} has {reason}", errors=[FieldProblem("file", reason, text)], indonesian=text)


def _scan_sheet(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, name: str, limits: UploadLimits
) -> SheetScan:
    scan = SheetScan()
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    row_tag, cell_tag, formula_tag = f"{{{_MAIN_NS}}}row", f"{{{_MAIN_NS}}}c", f"{{{_MAIN_NS}}}f"
    cell = ""
    row_cells = 0
    tail = b""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                if _DTD.search(tail + chunk):
                    raise bad_file(
                        name, f"{info.filename} declares a DTD, which an .xlsx workbook never does"
                    )
                tail = chunk[-16:]
                parser.feed(chunk)
                for event, element in _elements(parser):
                    if event == "start":
                        if element.tag == cell_tag:
                            cell = element.get("r", "")
                            scan.cells += 1
                            row_cells += 1
                            if row_cells > limits.max_columns or scan.cells > limits.max_cells:
                                raise _too_many_cells(name, limits)
                        elif element.tag == formula_tag:
                            scan.formula_cells.append(cell)
                        elif element.tag == row_tag:
                            row_cells = 0
                            scan.rows += 1
                            if scan.rows > limits.max_rows:
                                rows = f"{name} memuat lebih dari {limits.max_rows} baris dalam satu lembar."
                                raise InvalidInput(
                                    f"{name} has more than {limits.max_rows} rows in one sheet",
                                    errors=[FieldProblem("file", f"more than {limits.max_rows} rows", rows)],
                                    indonesian=rows,
                                )
                    elif element.tag == row_tag:
                        element.clear()
        parser.close()
    except ParseError as exc:
        raise bad_file(name, f"{info.filename} is not well-formed XML: {exc}") from exc
    return scan


def open_workbook(file: IO[bytes], *, name: str) -> Any:
    """Open a scanned upload with openpyxl, read-only and with formulas never evaluated."""
    # openpyxl (and the numpy it brings) is imported when a workbook is read, not when the service starts.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    file.seek(0)
    try:
        return load_workbook(file, read_only=True, data_only=True, keep_links=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ParseError, EOFError, OSError) as exc:
        raise bad_file(name, f"cannot be read as an .xlsx workbook: {exc}") from exc
