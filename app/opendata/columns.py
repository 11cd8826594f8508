"""The columns of the open-data files and their Table Schemas (Frictionless Data), in one place.

The CSV headers, the JSON rows' keys and the data package's schemas are all made from these lists, so a
column cannot appear in a file without its type and its meaning in Bahasa Indonesia.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.bodies.validation import REGION_CODE

SCORE = {"minimum": 0, "maximum": 100}


@dataclass(frozen=True)
class Column:
    """One column: its name in the files, its Table Schema type, a short title and what it means."""

    name: str
    type: str
    title: str
    description: str
    constraints: dict[str, Any] = field(default_factory=dict)

    def field(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "title": self.title,
            "description": self.description,
        }
        if self.type == "number":
            described["decimalChar"] = "."
        if self.type == "boolean":
            described |= {"trueValues": ["true"], "falseValues": ["false"]}
        if self.constraints:
            described["constraints"] = dict(self.constraints)
        return described


_RESULT_HEAD = (
    Column(
        "kode_komisi",
        "string",
        "Kode Komisi",
        "Kode Komisi Informasi penyelenggara E-Monev.",
        {"required": True},
    ),
    Column("nama_komisi", "string", "Komisi Informasi", "Nama Komisi Informasi.", {"required": True}),
    Column(
        "id_periode", "integer", "ID Periode", "Nomor periode Monev di layanan E-Monev.", {"required": True}
    ),
    Column("tahun", "integer", "Tahun", "Tahun periode Monev.", {"required": True}),
    Column("judul_periode", "string", "Periode", "Judul periode Monev.", {"required": True}),
    Column(
        "revisi",
        "integer",
        "Revisi",
        "Nomor revisi hasil yang diumumkan (1 = penetapan pertama; revisi berikutnya adalah koreksi).",
        {"required": True, "minimum": 1},
    ),
    Column(
        "diterbitkan_pada",
        "datetime",
        "Diterbitkan Pada",
        "Saat revisi ini diumumkan, dalam UTC (ISO 8601).",
        {"required": True},
    ),
    Column(
        "id_badan_publik",
        "integer",
        "ID Badan Publik",
        "Nomor badan publik di layanan E-Monev; tetap dari tahun ke tahun.",
        {"required": True, "unique": True},
    ),
    Column("nama_badan_publik", "string", "Badan Publik", "Nama badan publik.", {"required": True}),
    Column("kode_kategori", "string", "Kode Kategori", "Kode kategori badan publik.", {"required": True}),
    Column(
        "nama_kategori",
        "string",
        "Kategori",
        "Kategori badan publik; peringkat disusun per kategori.",
        {"required": True},
    ),
    Column(
        "kode_wilayah",
        "string",
        "Kode Wilayah",
        "Kode wilayah Kemendagri badan publik (provinsi, kabupaten/kota, kecamatan atau desa/kelurahan, "
        "misalnya 31.71.01.1001); kosong bila tidak ada.",
        {"pattern": REGION_CODE.pattern.removeprefix("^").removesuffix("$")},
    ),
    Column("kode_provinsi", "string", "Kode Provinsi", "Kode wilayah provinsi (2 digit), dari kode wilayah."),
    Column("nama_provinsi", "string", "Provinsi", "Nama provinsi menurut Kepmendagri tentang kode wilayah."),
    Column(
        "kode_kabupaten_kota",
        "string",
        "Kode Kabupaten/Kota",
        "Kode wilayah kabupaten/kota (misalnya 31.71), dari kode wilayah; kosong untuk badan publik tingkat "
        "provinsi.",
    ),
    Column(
        "nama_kabupaten_kota",
        "string",
        "Kabupaten/Kota",
        "Nama kabupaten/kota menurut Kepmendagri tentang kode wilayah.",
    ),
    Column(
        "mengikuti",
        "boolean",
        "Mengikuti",
        "true: badan publik mengikuti E-Monev; false: diundang tetapi tidak mengikuti (tidak dinilai, "
        "semua nilai kosong).",
        {"required": True},
    ),
    Column(
        "nilai_mandiri",
        "number",
        "Nilai Mandiri",
        "Nilai SAQ menurut isian badan publik sendiri (0-100, dua desimal).",
        SCORE,
    ),
    Column(
        "nilai_verifikasi",
        "number",
        "Nilai Verifikasi",
        "Nilai SAQ setelah verifikasi (0-100, dua desimal).",
        SCORE,
    ),
)

_RESULT_TAIL = (
    Column(
        "nilai_akhir",
        "number",
        "Nilai Akhir",
        "Nilai akhir: jumlah nilai tahap x bobot tahap, dibulatkan setengah ke atas menjadi dua desimal.",
        SCORE,
    ),
    Column(
        "kode_kualifikasi",
        "string",
        "Kode Kualifikasi",
        "Kode kualifikasi menurut nilai akhir (misalnya menuju-informatif); kosong bila tidak mengikuti.",
    ),
    Column(
        "kualifikasi",
        "string",
        "Kualifikasi",
        "Kualifikasi menurut nilai akhir (Informatif, Menuju Informatif, ...), atau Tidak Mengikuti.",
        {"required": True},
    ),
    Column(
        "peringkat",
        "integer",
        "Peringkat",
        "Peringkat dalam kategori menurut nilai akhir; nilai sama berbagi peringkat (1, 2, 2, 4). Kosong "
        "bila tidak mengikuti.",
        {"minimum": 1},
    ),
)

ASPECT_COLUMNS = (
    Column(
        "id_badan_publik",
        "integer",
        "ID Badan Publik",
        "Nomor badan publik; sama dengan id_badan_publik pada hasil.csv.",
        {"required": True},
    ),
    Column("kode_aspek", "string", "Kode Indikator", "Kode indikator (aspek) SAQ.", {"required": True}),
    Column("nama_aspek", "string", "Indikator", "Nama indikator (aspek) SAQ.", {"required": True}),
    Column(
        "bobot_aspek",
        "number",
        "Bobot Indikator",
        "Bobot indikator dalam nilai SAQ (persen) menurut kuesioner kategori badan publik.",
        {"required": True, "minimum": 0, "maximum": 100},
    ),
    Column(
        "nilai",
        "number",
        "Nilai Indikator",
        "Nilai verifikasi indikator (0-100, dua desimal); kosong bila tidak ada pertanyaan yang berlaku.",
        SCORE,
    ),
)

_NOT_A_NAME = re.compile(r"[^a-z0-9_]")


def stage_column_name(code: str) -> str:
    """The score column of a stage: ``nilai_tahap_presentasi``; ``uji-publik``: ``nilai_tahap_uji_publik``."""
    return "nilai_tahap_" + _NOT_A_NAME.sub("_", code.lower())


def result_columns(stages: Sequence[tuple[str, str]]) -> list[Column]:
    """The columns of ``hasil.csv``: one score column per stage, ``(code, title)`` in publication order with
    the SAQ first, between the verified score and the final score."""
    per_stage = [
        Column(
            stage_column_name(code),
            "number",
            f"Nilai {title}",
            f"Nilai tahap {title} (kode {code}) yang dihitung dalam nilai akhir (0-100, dua desimal); kosong "
            "bila badan publik tidak mengikuti tahap ini."
            + (" Untuk SAQ: nilai verifikasi." if code == "saq" else ""),
            SCORE,
        )
        for code, title in stages
    ]
    return [*_RESULT_HEAD, *per_stage, *_RESULT_TAIL]


def table_schema(
    columns: Sequence[Column],
    *,
    primary_key: Sequence[str],
    foreign_keys: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "fields": [column.field() for column in columns],
        "missingValues": [""],
        "primaryKey": list(primary_key),
    }
    if foreign_keys:
        schema["foreignKeys"] = list(foreign_keys)
    return schema
