"""The uniqueness rules the database enforces, and what a request that breaks one is told.

The services check their rules before writing and refuse with a precise 409 ("a body named ... already
exists"). Two requests at the same moment can both pass that check; the database's unique index then refuses
the second write with an ``IntegrityError``. This table turns that error, whichever request or service it
comes from, into the same kind of 409 problem naming the field (``app/problems.py`` and ``app/web/errors.py``
call :func:`unique_conflict`), so a race is never a 500. Every unique index and constraint of the models is
either a rule here or listed in :data:`NOT_RULES` with the reason no request can break it
(``tests/app/test_uniqueness.py`` checks that).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError

import app.db.models  # noqa: F401 - puts every table on Base.metadata
from app.db.base import Base
from app.errors import Conflict, FieldProblem

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
SQLITE_PREFIX = "UNIQUE constraint failed: "


@dataclass(frozen=True)
class UniqueRule:
    """What breaking one unique index means to the person who sent the request."""

    field: str
    message: str
    indonesian: str

    def conflict(self) -> Conflict:
        return Conflict(
            f"{self.field}: {self.message}",
            errors=[FieldProblem(self.field, self.message, self.indonesian)],
            indonesian=self.indonesian,
        )


_BODY_NAME = UniqueRule(
    "name",
    "already used by another body of this commission (names are compared ignoring case)",
    "Sudah ada badan publik dengan nama ini di Komisi Informasi ini (huruf besar dan kecil dianggap sama).",
)
_EMAIL = UniqueRule("email", "is already used by another account", "Surel ini sudah dipakai akun lain.")

# By index or constraint name (the naming convention of app/db/base.py, or the name given to an index).
RULES: dict[str, UniqueRule] = {
    "uq_commission_code": UniqueRule(
        "code", "already used by another commission", "Kode ini sudah dipakai Komisi Informasi lain."
    ),
    "uq_body_category_commission_id": UniqueRule(
        "code",
        "already used by another category of this commission",
        "Kode ini sudah dipakai kategori lain di Komisi Informasi ini.",
    ),
    "uq_public_body_commission_id": _BODY_NAME,
    "uq_public_body_commission_id_lower_name": _BODY_NAME,
    "uq_account_email": _EMAIL,
    "uq_account_lower_email": _EMAIL,
    "uq_template_version_key": UniqueRule(
        "version",
        "this template key and version were stored at the same moment by another request",
        "Templat dengan kunci dan versi ini baru saja disimpan oleh permintaan lain; muat ulang daftarnya.",
    ),
    "uq_round_commission_id": UniqueRule(
        "title",
        "already used by another round of the same year",
        "Nama ini sudah dipakai periode lain pada tahun yang sama; pilih nama lain.",
    ),
    "uq_stage_round_id": UniqueRule(
        "code",
        "already used by another stage of this round",
        "Kode ini sudah dipakai tahap lain di periode ini.",
    ),
    "pk_invitation": UniqueRule(
        "body_ids",
        "a body was invited to this round at the same moment by another request",
        "Badan publik ini baru saja diundang oleh permintaan lain; muat ulang halaman.",
    ),
    "pk_round_template": UniqueRule(
        "category",
        "a template was set for this category at the same moment by another request",
        "Templat kategori ini baru saja ditetapkan oleh permintaan lain; muat ulang halaman.",
    ),
    "pk_verifier_assignment": UniqueRule(
        "assignments",
        "a verifier was assigned to this body at the same moment by another request",
        "Verifikator badan publik ini baru saja ditetapkan oleh permintaan lain; muat ulang halaman.",
    ),
    "uq_submission_round_id": UniqueRule(
        "round_id",
        "the body already has a submission in this round",
        "Badan publik ini sudah memiliki isian SAQ pada periode ini; muat ulang halaman.",
    ),
    "uq_answer_submission_id": UniqueRule(
        "question_code",
        "answered at the same moment by another request",
        "Pertanyaan ini baru saja dijawab oleh permintaan lain; muat ulang halaman.",
    ),
    "uq_verification_submission_id": UniqueRule(
        "submission_id",
        "its verification was started at the same moment by another request",
        "Verifikasi isian ini baru saja dimulai oleh permintaan lain; muat ulang halaman.",
    ),
    "uq_verified_answer_verification_id": UniqueRule(
        "question_code",
        "verified at the same moment by another request",
        "Pertanyaan ini baru saja diverifikasi oleh permintaan lain; muat ulang halaman.",
    ),
    "uq_objection_submission_id": UniqueRule(
        "question_code",
        "this question already has an objection",
        "Pertanyaan ini sudah disanggah; setiap pertanyaan hanya dapat disanggah sekali.",
    ),
    "uq_panel_score_stage_id": UniqueRule(
        "score",
        "your score for this body was saved at the same moment by another request",
        "Nilai Anda untuk badan publik ini baru saja disimpan oleh permintaan lain; muat ulang halaman.",
    ),
    "uq_publication_round_id": UniqueRule(
        "revision",
        "a revision of this round was published at the same moment by another request",
        "Hasil periode ini baru saja diumumkan oleh permintaan lain; muat ulang halaman.",
    ),
    "pk_idempotent_request": UniqueRule(
        "header:Idempotency-Key",
        "in use by a concurrent request",
        "Pengiriman yang sama sedang diproses. Tunggu sebentar, lalu muat ulang halaman.",
    ),
}

# Unique indexes no request can break, and why.
NOT_RULES: dict[str, str] = {
    "uq_api_key_key_hash": "the digest of a fresh random key",
    "uq_auth_token_token_hash": "the digest of a fresh random token",
    "uq_published_result_publication_id": "written once per body with its new publication",
    "uq_job_dedup_key": "request_job catches it: the identical job already queued is the answer",
    "uq_notice_key": "the outbox inserts with ON CONFLICT DO NOTHING: the notice written is the answer",
    "pk_mail_opt_out": "opting out again is the same opt-out: written with ON CONFLICT DO NOTHING",
    "uq_webhook_delivery_webhook_id": "one row per endpoint of a fresh random event id",
}


def _column_names(parts: Iterable[Any]) -> frozenset[str] | None:
    """``table.column`` of each part, as SQLite names them; None when a part is an expression."""
    names = []
    for part in parts:
        if not isinstance(part, Column):
            return None
        names.append(f"{part.table.name}.{part.name}")
    return frozenset(names)


@cache
def _names_by_columns() -> dict[frozenset[str], str]:
    """SQLite names the columns of a broken constraint, not its name: map them back to the name."""
    found: dict[frozenset[str], str] = {}
    for table in Base.metadata.tables.values():
        candidates: list[tuple[object, Iterable[Any]]] = [(table.primary_key.name, table.primary_key.columns)]
        candidates += [(c.name, c.columns) for c in table.constraints if isinstance(c, UniqueConstraint)]
        candidates += [(i.name, i.expressions) for i in table.indexes if i.unique]
        for name, parts in candidates:
            columns = _column_names(parts)
            if name is not None and columns is not None:
                found[columns] = str(name)
    return found


def broken_index(exc: IntegrityError) -> str | None:
    """The name of the unique index or constraint a write broke; None for any other integrity error."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        if getattr(orig, "sqlstate", None) != UNIQUE_VIOLATION:
            return None
        name: str | None = diag.constraint_name
        return name
    text = str(orig)
    if not text.startswith(SQLITE_PREFIX):
        return None
    named = text.removeprefix(SQLITE_PREFIX)
    if named.startswith("index '"):
        return named.removeprefix("index '").removesuffix("'")
    return _names_by_columns().get(frozenset(part.strip() for part in named.split(",")))


def unique_conflict(exc: IntegrityError) -> Conflict | None:
    """The 409 for a write that broke one of :data:`RULES`; None when it broke anything else (a bug)."""
    name = broken_index(exc)
    rule = RULES.get(name) if name is not None else None
    return rule.conflict() if rule is not None else None
