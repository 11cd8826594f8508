"""How stored answer values are shown in workbooks, and how a workbook's cells are read back as values.

Sheets show option labels ("Ya", "Lengkap"), not the codes the API stores ("yes", "a"); reading accepts
either. Nothing here validates: a cell that matches no option is passed on as typed, so the submissions
service rejects it with the same rules and messages as the API.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import scoring

YES_NO_LABELS = {"yes": "Ya", "no": "Tidak"}
TYPE_LABELS = {
    scoring.QuestionType.YES_NO: "Ya/Tidak",
    scoring.QuestionType.CHOICE: "Pilihan",
    scoring.QuestionType.MULTI_CHOICE: "Pilihan ganda",
    scoring.QuestionType.NUMBER: "Angka",
    scoring.QuestionType.TEXT: "Teks",
}
EVIDENCE_LABELS = {
    scoring.EvidenceRule.REQUIRED: "Wajib",
    scoring.EvidenceRule.OPTIONAL: "Opsional",
    scoring.EvidenceRule.NONE: "-",
}
MULTI_SEPARATOR = "; "
_SPLIT_MULTI = re.compile(r"[;\n]")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
MAX_INTEGER_DIGITS = 1000
"""A whole number with more digits is passed on as its text (the engine reads it exactly): an int that
long costs time to build and JSON cannot write one past 4,300 digits."""


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def option_labels(question: scoring.Question) -> list[str]:
    """What a spreadsheet user picks from: Ya/Tidak, or the option labels."""
    if question.type is scoring.QuestionType.YES_NO:
        return list(YES_NO_LABELS.values())
    return [option.label for option in question.options]


def display(question: scoring.Question, value: Any) -> str | Decimal | None:
    """A stored value as a sheet shows it: labels for options, a Decimal for a number, None when blank."""
    if is_blank(value):
        return None
    kind = question.type
    if kind is scoring.QuestionType.YES_NO:
        return YES_NO_LABELS.get(str(value), str(value))
    labels = {option.value: option.label for option in question.options}
    if kind is scoring.QuestionType.CHOICE:
        return labels.get(str(value), str(value))
    if kind is scoring.QuestionType.MULTI_CHOICE:
        items = value if isinstance(value, list) else [value]
        return MULTI_SEPARATOR.join(labels.get(str(item), str(item)) for item in items)
    if kind is scoring.QuestionType.NUMBER and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return str(value)
    return str(value)


def _plain(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        # Decimal(repr(...)) gives the digits the file holds (1.23456789012346E+19); int(cell) would add
        # the binary float's own digits (12345678901234599936).
        return str(int(Decimal(repr(cell))))
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ", timespec="minutes")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


def _lookup(question: scoring.Question) -> dict[str, str]:
    if question.type is scoring.QuestionType.YES_NO:
        pairs = {"ya": "yes", "tidak": "no", "yes": "yes", "no": "no", "true": "yes", "false": "no"}
        return pairs
    table = {option.label.strip().lower(): option.value for option in question.options}
    table.update({option.value.lower(): option.value for option in question.options})
    return table


def from_cell(question: scoring.Question, cell: Any) -> Any:
    """The API value for what a user typed in the answer cell (None when blank)."""
    if is_blank(cell):
        return None
    kind = question.type
    if kind is scoring.QuestionType.NUMBER:
        return _number(cell)
    if kind is scoring.QuestionType.TEXT:
        return _plain(cell)
    table = _lookup(question)
    if kind is scoring.QuestionType.MULTI_CHOICE:
        parts = [part.strip() for part in _SPLIT_MULTI.split(_plain(cell)) if part.strip()]
        return [table.get(part.lower(), part) for part in parts]
    if isinstance(cell, bool):
        cell = "yes" if cell else "no"
    text = _plain(cell)
    return table.get(text.lower(), text)


def _number(cell: Any) -> int | float | str:
    """A number cell as the value the user typed: a whole number as an int, a fraction as a float only
    when the float is exactly the typed number, otherwise (and for anything that is not a finite number)
    the typed text, which the engine reads exactly or refuses naming it."""
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        text = repr(cell)  # the shortest text that gives this float: the number as the file writes it
    else:
        text = _plain(cell)
        if _DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    if number == number.to_integral_value():
        return int(number) if number.adjusted() < MAX_INTEGER_DIGITS else text
    approximate = float(number)
    return approximate if Decimal(repr(approximate)) == number else text


def links_from_cell(cell: Any) -> list[str]:
    """Evidence links typed one per line (any whitespace separates them)."""
    return [] if is_blank(cell) else _plain(cell).split()


def text_from_cell(cell: Any) -> str | None:
    return None if is_blank(cell) else _plain(cell)
