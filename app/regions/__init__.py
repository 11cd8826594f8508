"""Kemendagri region codes (kode wilayah): their levels, and the names of provinces and regencies/cities.

A code is ``31`` (province), ``31.71`` (kabupaten/kota), ``31.71.01`` (kecamatan) or ``31.71.01.1001``
(kelurahan/desa); the format is checked where a body is registered (app/bodies/validation.py). The names of
the first two levels come from ``kode_wilayah.csv`` beside this module: the 38 provinces and 514
kabupaten/kota of Kepmendagri No. 300.2.2-2138 Tahun 2025 (the same 514 under No. 300.2.2-2430 Tahun 2025),
taken from ``db/wilayah.sql`` of github.com/cahyadsn/wilayah (MIT), commit b7ad440 of 2026-08-08 (README,
"Region codes"). A code the list does not know is shown as the code itself.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "kode_wilayah.csv"


@dataclass(frozen=True)
class Region:
    code: str
    name: str


def province_code(code: str | None) -> str | None:
    """``31`` of ``31.71.01.1001``; None without a code."""
    return code.split(".")[0] if code else None


def regency_code(code: str | None) -> str | None:
    """``31.71`` of ``31.71.01.1001``; None for a province's own code or without a code."""
    if not code or code.count(".") < 1:
        return None
    return ".".join(code.split(".")[:2])


@cache
def _names() -> dict[str, str]:
    with DATA.open(encoding="utf-8", newline="") as file:
        return {row["kode"]: row["nama"] for row in csv.DictReader(file)}


def name_of(code: str | None) -> str | None:
    """The province's or regency's name for its code (None when unknown or not given)."""
    return _names().get(code) if code else None


def label_of(code: str) -> str:
    """What a page shows for a code: its name, or the code itself when the list does not know it."""
    return name_of(code) or code


def provinces() -> list[Region]:
    return [Region(code, name) for code, name in _names().items() if "." not in code]


def regencies(province: str) -> list[Region]:
    return [
        Region(code, name)
        for code, name in _names().items()
        if code.count(".") == 1 and code.startswith(province + ".")
    ]
