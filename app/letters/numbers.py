"""Letter numbers (nomor surat) from the commission's pattern, ``letter_number_format``.

A pattern is text with placeholders in braces, each filled for the letter:

- ``{urut}``: the body's sequence number in the round: its place among the bodies of the round's
  publication ordered by when they were registered (their id), so a corrected revision keeps every number;
  ``{urut:03}`` pads it to three digits (``007``);
- ``{tahun}``: the year of the publication date (``2026``), ``{bulan}``: its month (``12``),
  ``{romawi}``: the month in Roman numerals (``XII``);
- ``{kode}``: the commission's code (``ki-dki``), ``{kategori}``: the body's category code;
- ``{revisi}``: the published revision (``1``).

``{{`` and ``}}`` write a brace. The default is ``{urut}/KI/{romawi}/{tahun}``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date

DEFAULT_NUMBER_FORMAT = "{urut}/KI/{romawi}/{tahun}"
PLACEHOLDERS = ("urut", "tahun", "bulan", "romawi", "kode", "kategori", "revisi")
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
PADDING = {"", "02", "03", "04", "05", "06"}


@dataclass(frozen=True)
class NumberParts:
    sequence: int
    published_on: date
    commission_code: str
    category_code: str
    revision: int


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a letter-number pattern (in Bahasa Indonesia), or None when it is."""
    try:
        fields = list(string.Formatter().parse(pattern))
    except ValueError:
        return "Kurung kurawal tidak berpasangan. Tulis {{ atau }} untuk kurung kurawal biasa."
    for _text, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"{{{name}}} tidak dikenal. Yang dapat dipakai: {known}."
        if conversion is not None or (spec and (name != "urut" or spec not in PADDING)):
            return (
                f"Format {{{name}:{spec}}} tidak dikenal. Hanya nomor urut yang dapat diberi nol di depan, "
                "misalnya {urut:03}."
            )
    return None


def letter_number(pattern: str | None, parts: NumberParts) -> str:
    """The letter's number from a pattern that :func:`pattern_problem` accepts (the default when None)."""
    return (pattern or DEFAULT_NUMBER_FORMAT).format(
        urut=parts.sequence,
        tahun=parts.published_on.year,
        bulan=f"{parts.published_on.month:02d}",
        romawi=ROMAN_MONTHS[parts.published_on.month - 1],
        kode=parts.commission_code,
        kategori=parts.category_code,
        revisi=parts.revision,
    )
