"""Commissions and their body categories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.bodies.validation import email_problem
from app.commissions.licenses import LICENSES
from app.commissions.schemas import (
    MAX_LETTER_BLOCK,
    MAX_LETTER_LINES,
    MAX_SIGNATURE_LENGTH,
    MAX_SIGNATURE_LINES,
)
from app.db.models import BodyCategory, Commission
from app.errors import Conflict, FieldProblem, NotFound, ProblemCollector
from app.inputs import parse_digits
from app.letters.numbers import pattern_problem
from app.portal.caching import touch


def get_commission(*, session: Session, commission_id: int, by: Principal) -> Commission:
    """The commission, if the principal belongs to it (or is a system administrator)."""
    commission = session.get(Commission, commission_id)
    if commission is None:
        raise NotFound(f"commission {commission_id} does not exist")
    policy.ensure_member(by, commission.id)
    return commission


def find_commission(*, session: Session, ref: str, by: Principal) -> Commission:
    """A commission by its id or its code (``ki-dki``), if the principal belongs to it."""
    ref = ref.strip()
    commission_id = parse_digits(ref)
    commission = (
        session.get(Commission, commission_id)
        if commission_id is not None
        else session.scalar(select(Commission).where(Commission.code == ref))
    )
    if commission is None:
        raise NotFound(f"commission {ref!r} does not exist")
    policy.ensure_member(by, commission.id)
    return commission


def commission_timezone(session: Session, commission_id: int | None) -> str:
    """The zone the commission's users read instants in (WIB when there is no commission to ask)."""
    commission = session.get(Commission, commission_id) if commission_id is not None else None
    return commission.timezone if commission is not None else "Asia/Jakarta"


def create_commission(*, session: Session, code: str, name: str, timezone: str, by: Principal) -> Commission:
    policy.ensure_system_admin(by)
    if session.scalar(select(Commission.id).where(Commission.code == code)) is not None:
        raise Conflict(
            f"a commission with the code {code!r} already exists",
            errors=[
                FieldProblem(
                    "code", "already used by another commission", "Kode ini sudah dipakai komisi lain."
                )
            ],
            indonesian=f"Sudah ada Komisi Informasi dengan kode {code}.",
        )
    commission = Commission(code=code, name=name, timezone=timezone)
    session.add(commission)
    session.flush()
    record(
        session=session,
        actor=by,
        action="commission.create",
        entity="commission",
        entity_id=commission.id,
        after={"code": code, "name": name, "timezone": timezone},
        commission_id=commission.id,
    )
    return commission


def commissions_query(*, by: Principal) -> Select[Any]:
    """Every commission for a system administrator; one's own for everyone else."""
    stmt = select(Commission)
    if not by.is_system_admin:
        stmt = stmt.where(Commission.id == by.commission_id)
    return stmt


def check_mail_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """``mail_reply_to`` (an address, stored in lower case) and ``mail_signature`` (a few lines) as stored:
    empty text is ``None`` (no Reply-To; the default signature). A 422 naming each field that does not fit."""
    problems = ProblemCollector()
    checked = dict(changes)
    if "mail_reply_to" in changes:
        address = (changes["mail_reply_to"] or "").strip().lower()
        if address and email_problem(address):
            problems.add("mail_reply_to", "is not an email address", "Alamat balasan surel ini tidak sah.")
        checked["mail_reply_to"] = address or None
    if "mail_signature" in changes:
        lines = [line.rstrip() for line in (changes["mail_signature"] or "").strip().splitlines()]
        signature = "\n".join(lines)
        if len(lines) > MAX_SIGNATURE_LINES:
            problems.add(
                "mail_signature",
                f"must be at most {MAX_SIGNATURE_LINES} lines",
                f"Tanda tangan surel paling banyak {MAX_SIGNATURE_LINES} baris.",
            )
        elif len(signature) > MAX_SIGNATURE_LENGTH:
            problems.add(
                "mail_signature",
                f"must be at most {MAX_SIGNATURE_LENGTH} characters",
                f"Tanda tangan surel paling panjang {MAX_SIGNATURE_LENGTH} karakter.",
            )
        checked["mail_signature"] = signature or None
    problems.raise_if_any(
        "; ".join(f"{p.field}: {p.message}" for p in problems.problems),
        "Pengaturan surel belum benar.",
    )
    return checked


LETTER_FIELDS = (
    "letter_heading",
    "letter_address",
    "letter_city",
    "letter_chair_name",
    "letter_chair_title",
    "letter_number_format",
)
_LETTER_LABELS = {
    "letter_heading": "Kop surat",
    "letter_address": "Alamat pada kop surat",
}
_ONE_LINE = {
    "letter_city": ("Kota", 100),
    "letter_chair_name": ("Nama ketua", 200),
    "letter_chair_title": ("Jabatan penanda tangan", 200),
    "letter_number_format": ("Format nomor surat", 200),
}


def check_letter_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """The letterhead fields as stored: trimmed, empty text ``None`` (the defaults: the commission's name,
    "Ketua", the default number pattern), and the open-data license one of ``LICENSES``. A 422 naming each
    field that does not fit."""
    problems = ProblemCollector()
    checked = dict(changes)
    for name, label in _LETTER_LABELS.items():
        if name not in changes:
            continue
        lines = [line.strip() for line in (changes[name] or "").splitlines() if line.strip()]
        text = "\n".join(lines)
        if len(lines) > MAX_LETTER_LINES:
            problems.add(
                name,
                f"must be at most {MAX_LETTER_LINES} lines",
                f"{label} paling banyak {MAX_LETTER_LINES} baris.",
            )
        elif len(text) > MAX_LETTER_BLOCK:
            problems.add(
                name,
                f"must be at most {MAX_LETTER_BLOCK} characters",
                f"{label} paling panjang {MAX_LETTER_BLOCK} karakter.",
            )
        checked[name] = text or None
    for name, (label, limit) in _ONE_LINE.items():
        if name not in changes:
            continue
        value = (changes[name] or "").strip()
        if "\n" in value or "\r" in value:
            problems.add(name, "must be one line", f"{label} harus satu baris.")
        elif len(value) > limit:
            problems.add(
                name, f"must be at most {limit} characters", f"{label} paling panjang {limit} karakter."
            )
        elif name == "letter_number_format" and value and (problem := pattern_problem(value)):
            problems.add(name, "is not a letter number pattern", problem)
        checked[name] = value or None
    if "data_license" in changes and changes["data_license"] not in LICENSES:
        problems.add(
            "data_license",
            f"must be one of {', '.join(LICENSES)}",
            "Pilih salah satu lisensi data terbuka yang tersedia.",
        )
    problems.raise_if_any(
        "; ".join(f"{p.field}: {p.message}" for p in problems.problems),
        "Pengaturan surat belum benar.",
    )
    return checked


def update_commission(
    *, session: Session, commission: Commission, changes: dict[str, Any], by: Principal
) -> Commission:
    """Change the commission's name, time zone, mail settings, open-data license or letterhead (its
    administrators)."""
    policy.ensure_admin(by, commission.id)
    changes = check_letter_settings(check_mail_settings(changes))
    before = {k: getattr(commission, k) for k in changes}
    for key, value in changes.items():
        setattr(commission, key, value)
    # The portal shows the name and license, and its dates in the commission's time zone.
    if any(before[key] != changes[key] for key in ("name", "timezone", "data_license") if key in changes):
        touch(session, commission.id)
    session.flush()
    record(
        session=session,
        actor=by,
        action="commission.update",
        entity="commission",
        entity_id=commission.id,
        before=before,
        after=changes,
        commission_id=commission.id,
    )
    return commission


def create_category(
    *, session: Session, commission: Commission, code: str, name: str, by: Principal
) -> BodyCategory:
    policy.ensure_admin(by, commission.id)
    taken = session.scalar(
        select(BodyCategory.id).where(BodyCategory.commission_id == commission.id, BodyCategory.code == code)
    )
    if taken is not None:
        raise Conflict(
            f"the category code {code!r} is already used in this commission",
            errors=[
                FieldProblem(
                    "code",
                    "already used by another category of this commission",
                    "Kode ini sudah dipakai kategori lain di Komisi Informasi ini.",
                )
            ],
            indonesian=f"Kode kategori {code} sudah dipakai di Komisi Informasi ini.",
        )
    category = BodyCategory(commission_id=commission.id, code=code, name=name)
    session.add(category)
    session.flush()
    record(
        session=session,
        actor=by,
        action="category.create",
        entity="body_category",
        entity_id=category.id,
        after={"code": code, "name": name},
        commission_id=commission.id,
    )
    return category


def categories_query(*, commission: Commission) -> Select[Any]:
    return select(BodyCategory).where(BodyCategory.commission_id == commission.id)


def categories_by_name(*, session: Session, commission_id: int) -> list[BodyCategory]:
    """The commission's body categories in the order pages list them."""
    stmt = select(BodyCategory).where(BodyCategory.commission_id == commission_id).order_by(BodyCategory.name)
    return list(session.scalars(stmt))


def categories_by_code(*, session: Session, commission_id: int) -> dict[str, BodyCategory]:
    rows = session.scalars(select(BodyCategory).where(BodyCategory.commission_id == commission_id))
    return {c.code: c for c in rows}
