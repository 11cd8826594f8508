"""Open data of published results: the files of one revision, written as a stream, and their validators.

Every published revision of a round is four files under a stable address (routes in ``routes.py``):

- ``hasil.csv``: one row per body of the revision, taking part or not (columns in ``columns.py``);
- ``nilai-aspek.csv``: one row per participating body x aspect of its category's questionnaire;
- ``hasil.json``: the rows of ``hasil.csv`` with a small header (commission, round, revision, license);
- ``datapackage.json``: a Frictionless Tabular Data Package describing the two CSV files.

Figures are the publication's, never recomputed: scores as the API writes them (``"87.50"``), so a file
and ``GET /api/v1/public/rounds/{id}/rankings`` agree to the cent. Body names, region codes and the
commission's name and license are read live, so the files' ETag is the commission's public stamp
(``app.portal.caching``), which changes when any of those do. Nothing personal is written: no operator,
e-mail address, evidence, verifier's note or who published.

The writers take rows from ``iter_published_results`` (batches of 2,000) and write them to a file as they
come, so a 10,000-body revision is never held in memory at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.commissions.licenses import license_of
from app.commissions.timezones import as_utc
from app.db.models import Commission, Publication, Round
from app.errors import FieldProblem, InvalidInput, NotFound
from app.opendata.columns import ASPECT_COLUMNS, result_columns, stage_column_name, table_schema
from app.portal.caching import Stamp, commission_stamp
from app.regions import name_of, province_code, regency_code
from app.results.schemas import NOT_PARTICIPATING_LABEL
from app.results.service import (
    ResultRow,
    band_labels,
    iter_published_results,
    rules_of,
    score_text,
)
from app.rounds.service import round_templates
from app.submissions.service import template_of

RESULTS_CSV = "hasil.csv"
ASPECTS_CSV = "nilai-aspek.csv"
RESULTS_JSON = "hasil.json"
DATA_PACKAGE = "datapackage.json"
FILES = (RESULTS_CSV, ASPECTS_CSV, RESULTS_JSON, DATA_PACKAGE)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
JSON_MEDIA_TYPE = "application/json"
SEPARATORS = {"koma": ",", "titik-koma": ";"}
DEFAULT_SEPARATOR = "koma"
FORMAT_VERSION = "1"
"""Part of every file's ETag: raise it when a file's layout changes, so caches fetch the new one."""


def address(*, commission_code: str, round_id: int, revision: int | None, name: str) -> str:
    """The stable path of an open-data file (``revision`` None: the ``terbaru`` address), for pages that
    link to it: ``/data/ki-dki/12/revisi-2/hasil.csv``."""
    folder = "terbaru" if revision is None else f"revisi-{revision}"
    return f"/data/{commission_code}/{round_id}/{folder}/{name}"


@dataclass(frozen=True)
class Release:
    """One published revision of a round, with what its files print around the rows."""

    commission: Commission
    round: Round
    publication: Publication
    stages: list[tuple[str, str]]
    """``(code, title)`` of every stage the publication weighted, the SAQ first."""
    band_labels: dict[str, str]

    @cached_property
    def stage_columns(self) -> list[tuple[str, str]]:
        """``(column name, stage code)`` of the per-stage score columns."""
        return [(stage_column_name(code), code) for code, _title in self.stages]

    @cached_property
    def published_at(self) -> str:
        """The instant in UTC, ISO 8601 as the API writes it, with ``Z``: ``2025-12-10T03:00:00.123456Z``."""
        return as_utc(self.publication.created_at).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Download:
    """A file of a published revision ready to be written: its validators, media type and writer. Nothing
    but the revision and the validators is read before a conditional GET is answered."""

    publication: Publication
    name: str
    separator: str
    stamp: Stamp
    key: str
    media_type: str
    write: Callable[[Path], str]
    """Writes the file at the path; returns the name it downloads under."""


# --- Finding a release --------------------------------------------------------------------------------------


def find_commission(*, session: Session, code: str) -> Commission:
    commission = session.scalar(select(Commission).where(Commission.code == code))
    if commission is None:
        raise NotFound(
            f"no commission with the code {code!r}",
            indonesian=f"Komisi Informasi dengan kode {code!r} tidak ditemukan.",
        )
    return commission


def find_release(*, session: Session, commission_code: str, round_id: int, revision: int | None) -> Release:
    """A published revision of a commission's round (the latest when ``revision`` is None); NotFound (with
    the reason) for an unknown commission or round, a round not published yet, or a revision it lacks."""
    return _release(session, *_locate(session, commission_code, round_id, revision))


def _locate(
    session: Session, commission_code: str, round_id: int, revision: int | None
) -> tuple[Commission, Round, Publication]:
    commission = find_commission(session=session, code=commission_code)
    round_ = session.get(Round, round_id)
    if round_ is None or round_.commission_id != commission.id:
        raise NotFound(
            f"commission {commission.code} has no round {round_id}",
            indonesian=f"Periode {round_id} tidak ditemukan pada {commission.name}.",
        )
    stmt = select(Publication).where(Publication.round_id == round_.id)
    if revision is None:
        stmt = stmt.order_by(Publication.revision.desc()).limit(1)
    else:
        stmt = stmt.where(Publication.revision == revision)
    publication = session.scalar(stmt)
    if publication is None and revision is not None and _published(session, round_):
        raise NotFound(
            f"round {round_.title} has no published revision {revision}",
            indonesian=f"Hasil {round_.title} tidak memiliki revisi {revision}.",
        )
    if publication is None:
        raise NotFound(
            f"the results of round {round_.title} are not published",
            indonesian=f"Hasil {round_.title} belum diumumkan.",
        )
    return commission, round_, publication


def _release(session: Session, commission: Commission, round_: Round, publication: Publication) -> Release:
    rules = rules_of(publication)
    return Release(
        commission=commission,
        round=round_,
        publication=publication,
        stages=[(code, rules.title(code)) for code in rules.stage_weights],
        band_labels=band_labels(session=session, round_id=round_.id),
    )


def _published(session: Session, round_: Round) -> bool:
    return (
        session.scalar(select(Publication.id).where(Publication.round_id == round_.id).limit(1)) is not None
    )


def latest_revision(*, session: Session, commission_code: str, round_id: int, name: str) -> tuple[int, Stamp]:
    """The latest revision of a round (for the ``terbaru`` address of ``name``) and the commission's stamp."""
    check_name(name)
    commission, _round, publication = _locate(session, commission_code, round_id, None)
    return publication.revision, commission_stamp(session, commission.id)


def check_name(name: str) -> None:
    if name not in FILES:
        raise NotFound(
            f"no open-data file {name!r}; the files are {', '.join(FILES)}",
            indonesian=f"Berkas {name!r} tidak ada. Berkas yang tersedia: {', '.join(FILES)}.",
        )


def separator_of(pemisah: str | None) -> str:
    """The CSV delimiter named by ``?pemisah=``: ``koma`` (the default) or ``titik-koma``."""
    value = DEFAULT_SEPARATOR if pemisah is None else pemisah
    if value not in SEPARATORS:
        known = ", ".join(SEPARATORS)
        raise InvalidInput(
            f"pemisah {pemisah!r} is not a separator; one of: {known}",
            errors=[
                FieldProblem(
                    "query:pemisah",
                    f"not a separator; one of: {known}",
                    indonesian=f"Pemisah kolom {pemisah!r} tidak dikenal. Pilih salah satu: {known}.",
                )
            ],
            indonesian=f"Pemisah kolom {pemisah!r} tidak dikenal. Pilih salah satu: {known}.",
        )
    return SEPARATORS[value]


def download(
    *,
    session: Session,
    commission_code: str,
    round_id: int,
    revision: int,
    name: str,
    pemisah: str | None,
    base_url: str,
) -> Download:
    """The file ``name`` of a published revision, ready to be checked against a conditional request and then
    written. ``base_url`` (the service's address) goes into the data package's ``sources``."""
    check_name(name)
    separator = separator_of(pemisah)
    commission, round_, publication = _locate(session, commission_code, round_id, revision)
    # The round's title and year are printed in every file and may be edited after publication.
    key = f"opendata:{FORMAT_VERSION}:{publication.id}:{name}:{separator}:{round_.year}:{round_.title}" + (
        f":{base_url}" if name == DATA_PACKAGE else ""
    )
    stamp = commission_stamp(session, commission.id)
    prefix = f"emonev-{commission.code}-{round_.id}-revisi-{publication.revision}"

    def write(path: Path) -> str:
        release = _release(session, commission, round_, publication)
        if name == DATA_PACKAGE:
            path.write_text(
                json.dumps(data_package(release=release, base_url=base_url), ensure_ascii=False, indent=2),
                encoding="utf-8",
            )
            return DATA_PACKAGE
        if name == RESULTS_JSON:
            with path.open("w", encoding="utf-8") as file:
                write_results_json(
                    file, release, iter_published_results(session=session, publication=release.publication)
                )
            return f"{prefix}-{RESULTS_JSON}"
        rows = iter_published_results(session=session, publication=release.publication)
        with path.open("w", encoding="utf-8-sig", newline="") as file:
            if name == RESULTS_CSV:
                write_results_csv(file, release, rows, separator=separator)
            else:
                write_aspects_csv(
                    file, aspect_rows(session=session, release=release, rows=rows), separator=separator
                )
        return f"{prefix}-{name}"

    media_type = JSON_MEDIA_TYPE if name.endswith(".json") else CSV_MEDIA_TYPE
    return Download(publication, name, separator, stamp, key, media_type, write)


# --- Rows ---------------------------------------------------------------------------------------------------


def result_record(release: Release, row: ResultRow) -> dict[str, Any]:
    """One body's row of ``hasil.csv`` as Python values: scores as the API's strings, None for empty."""
    region = row.region_code
    regency = regency_code(region)
    province = province_code(region)
    record: dict[str, Any] = {
        "kode_komisi": release.commission.code,
        "nama_komisi": release.commission.name,
        "id_periode": release.round.id,
        "tahun": release.round.year,
        "judul_periode": release.round.title,
        "revisi": release.publication.revision,
        "diterbitkan_pada": release.published_at,
        "id_badan_publik": row.body_id,
        "nama_badan_publik": row.body_name,
        "kode_kategori": row.category_code,
        "nama_kategori": row.category_name,
        "kode_wilayah": region,
        "kode_provinsi": province,
        "nama_provinsi": name_of(province),
        "kode_kabupaten_kota": regency,
        "nama_kabupaten_kota": name_of(regency),
        "mengikuti": row.participating,
        "nilai_mandiri": score_text(row.self_score),
        "nilai_verifikasi": score_text(row.verified_score),
    }
    for column, code in release.stage_columns:
        record[column] = score_text(row.stage_scores.get(code))
    record |= {
        "nilai_akhir": score_text(row.final_score),
        "kode_kualifikasi": row.band,
        "kualifikasi": release.band_labels.get(row.band, row.band) if row.band else NOT_PARTICIPATING_LABEL,
        "peringkat": row.rank,
    }
    return record


@dataclass(frozen=True)
class AspectRow:
    body_id: int
    code: str
    title: str
    weight: Decimal
    score: Decimal | None


def aspect_rows(*, session: Session, release: Release, rows: Iterable[ResultRow]) -> Iterator[AspectRow]:
    """One row per participating body x aspect of the questionnaire its category answered in the round, in
    the questionnaire's order; an aspect with no applicable question has no score."""
    aspects: dict[int, tuple[scoring.Aspect, ...]] = {
        category.id: template_of(session, version).aspects
        for category, version in round_templates(session=session, round_=release.round)
    }
    for row in rows:
        if not row.participating:
            continue
        for aspect in aspects.get(row.category_id, ()):
            yield AspectRow(
                row.body_id, aspect.code, aspect.title, aspect.weight, row.aspect_scores.get(aspect.code)
            )


# --- Writers ------------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_results_csv(
    file: IO[str], release: Release, rows: Iterable[ResultRow], *, separator: str = ","
) -> None:
    """``hasil.csv``: a header of column names, then one line per row (CRLF, RFC 4180 quoting)."""
    columns = result_columns(release.stages)
    writer = csv.writer(file, delimiter=separator)
    writer.writerow([column.name for column in columns])
    for row in rows:
        record = result_record(release, row)
        writer.writerow([_cell(record[column.name]) for column in columns])


def write_aspects_csv(file: IO[str], rows: Iterable[AspectRow], *, separator: str = ",") -> None:
    writer = csv.writer(file, delimiter=separator)
    writer.writerow([column.name for column in ASPECT_COLUMNS])
    for row in rows:
        writer.writerow([row.body_id, row.code, row.title, _plain(row.weight), _cell(score_text(row.score))])


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def write_results_json(file: IO[str], release: Release, rows: Iterable[ResultRow]) -> None:
    """``hasil.json``: ``{"commission", "round", "revision", "published_at", "license", "rows": [...]}``.
    Each row has the CSV's columns; scores stay strings with two decimals (``"87.50"``) as in the API, so
    no reader turns them into binary floating point, and an empty cell is ``null``."""
    license_ = license_of(release.commission.data_license)
    head = {
        "commission": {"code": release.commission.code, "name": release.commission.name},
        "round": {"id": release.round.id, "year": release.round.year, "title": release.round.title},
        "revision": release.publication.revision,
        "published_at": release.published_at,
        "license": {"name": license_.spdx, "title": license_.title, "path": license_.path},
    }
    text = json.dumps(head, ensure_ascii=False)
    file.write(text[:-1] + ', "rows": [')
    first = True
    for row in rows:
        file.write("\n" if first else ",\n")
        file.write(json.dumps(result_record(release, row), ensure_ascii=False))
        first = False
    file.write("\n]}\n")


# --- The data package ---------------------------------------------------------------------------------------


def package_name(release: Release) -> str:
    return f"emonev-{release.commission.code}-{release.round.id}-revisi-{release.publication.revision}"


def data_package(*, release: Release, base_url: str) -> dict[str, Any]:
    """The Frictionless Tabular Data Package (v1 descriptor) of a revision: ``hasil.csv`` and
    ``nilai-aspek.csv`` beside it, each with its Table Schema; the license, the source and the commission as
    publisher. Paths are relative, so the folder of downloaded files is the package."""
    commission, round_, publication = release.commission, release.round, release.publication
    license_ = license_of(commission.data_license)
    correction = (
        f" Revisi ini mengoreksi revisi sebelumnya: {publication.reason}" if publication.revision > 1 else ""
    )
    stage_list = ", ".join(
        f"{title} {weight}%"
        for (_, title), weight in zip(release.stages, publication.stage_weights.values(), strict=True)
    )
    return {
        "profile": "tabular-data-package",
        "name": package_name(release),
        "title": f"Hasil E-Monev Keterbukaan Informasi Publik {round_.title} - {commission.name} (revisi "
        f"{publication.revision})",
        "description": (
            f"Hasil monitoring dan evaluasi keterbukaan informasi publik (E-Monev, UU 14/2008) "
            f"{round_.title} oleh {commission.name}, sebagaimana diumumkan pada revisi "
            f"{publication.revision}.{correction} hasil.csv memuat satu baris per badan publik yang "
            "diundang, termasuk yang tidak mengikuti; nilai-aspek.csv memuat nilai verifikasi per "
            f"indikator. Nilai akhir = {stage_list}. Nilai ditulis dengan titik desimal dan dua angka "
            "desimal; sel kosong berarti tidak ada nilai. Baris yang sama tersedia sebagai hasil.json, dan "
            "CSV dengan pemisah titik koma melalui ?pemisah=titik-koma."
        ),
        "keywords": ["keterbukaan informasi publik", "E-Monev", "Komisi Informasi", "badan publik"],
        "created": release.published_at,
        "licenses": [{"name": license_.spdx, "path": license_.path, "title": license_.title}],
        "sources": [
            {
                "title": f"API publik peringkat E-Monev {commission.name}",
                "path": f"{base_url.rstrip('/')}/api/v1/public/rounds/{round_.id}/rankings",
            }
        ],
        "contributors": [{"title": commission.name, "role": "publisher"}],
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": "hasil",
                "path": RESULTS_CSV,
                "title": "Hasil per badan publik",
                "description": "Satu baris per badan publik yang diundang: nilai per tahap, nilai akhir, "
                "kualifikasi dan peringkat dalam kategorinya.",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": True},
                "schema": table_schema(result_columns(release.stages), primary_key=["id_badan_publik"]),
            },
            {
                "profile": "tabular-data-resource",
                "name": "nilai-aspek",
                "path": ASPECTS_CSV,
                "title": "Nilai per indikator",
                "description": "Satu baris per badan publik yang mengikuti x indikator kuesionernya.",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": True},
                "schema": table_schema(
                    ASPECT_COLUMNS,
                    primary_key=["id_badan_publik", "kode_aspek"],
                    foreign_keys=[
                        {
                            "fields": ["id_badan_publik"],
                            "reference": {"resource": "hasil", "fields": ["id_badan_publik"]},
                        }
                    ],
                ),
            },
        ],
    }
