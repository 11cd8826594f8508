"""What every verification use case shares: a submission with its round and body, its template, its
verification row and version, and how verified values are compared and validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

import scoring
from app.accounts import policy
from app.accounts.principal import Principal
from app.db.models import PublicBody, Round, Submission, TemplateVersion, Verification, VerifiedAnswer
from app.errors import Conflict, FieldProblem, InvalidInput, NotFound, StaleVersion
from app.questionnaires.service import parsed
from app.submissions import service as submissions
from app.submissions.service import parse_if_match


@dataclass(frozen=True)
class Context:
    submission: Submission
    round: Round
    body: PublicBody


def submission_context(session: Session, submission_id: int, *, for_update: bool = False) -> Context:
    stmt = select(Submission).where(Submission.id == submission_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    submission = session.scalar(stmt)
    if submission is None:
        raise NotFound(f"submission {submission_id} does not exist")
    round_ = session.get(Round, submission.round_id)
    body = session.get(PublicBody, submission.body_id)
    assert round_ is not None
    assert body is not None
    return Context(submission, round_, body)


def filling_until(session: Session, ctx: Context, now: datetime | None = None) -> datetime | None:
    """When the body's SAQ window closes while it may still fill this SAQ in; ``None`` once it may be
    verified (``app.submissions.service.filling_until``)."""
    return submissions.filling_until(
        session=session, submission=ctx.submission, round_=ctx.round, body=ctx.body, now=now
    )


def template_of(session: Session, template_version_id: int) -> scoring.Template:
    row = session.get(TemplateVersion, template_version_id)
    assert row is not None, "a submission always points at its template version"
    return parsed(row)


def find_verification(
    session: Session, submission_id: int, *, for_update: bool = False
) -> Verification | None:
    stmt = select(Verification).where(Verification.submission_id == submission_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


STALE_TEXT = (
    "Verifikasi ini telah diubah di tab/perangkat lain sejak halaman dibuka. Halaman sudah dimuat ulang "
    "dengan data terbaru: periksa lagi lalu simpan."
)


def in_progress(session: Session, ctx: Context, by: Principal) -> Verification:
    """The submission's verification, locked for a change: the caller must verify the body, and the
    verification must have started and not be completed (409 otherwise)."""
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    verification = find_verification(session, ctx.submission.id, for_update=True)
    if verification is None:
        raise Conflict(
            f"the verification of submission {ctx.submission.id} has not started",
            indonesian=f"Verifikasi {ctx.body.name} belum dimulai; mulai verifikasi terlebih dahulu.",
        )
    if verification.status != "in_progress":
        raise Conflict(
            "this verification is completed; a verified value now changes only through an objection",
            indonesian=(
                f"Verifikasi {ctx.body.name} sudah selesai; nilai terverifikasi kini hanya dapat berubah "
                "melalui sanggahan."
            ),
            verification_status=verification.status,
        )
    return verification


def ensure_version(verification: Verification, if_match: str | None) -> None:
    """A change must name the verification's current version (428 without ``If-Match``, 412 when stale)."""
    expected = parse_if_match(if_match)
    if expected != verification.version:
        raise StaleVersion(
            f"the verification is at version {verification.version}, not {expected}; read it again",
            errors=[FieldProblem("header:If-Match", "stale version", STALE_TEXT)],
            indonesian=STALE_TEXT,
        )


def bump_version(session: Session, verification: Verification) -> None:
    """Give the verification a new version (its ETag) after a change to its answers."""
    flag_modified(verification, "status")
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            "the verification changed while you were saving; read it again", indonesian=STALE_TEXT
        ) from exc


def answer_state(row: VerifiedAnswer | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"value": row.value, "evidence_checked": row.evidence_checked, "note": row.note}


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _normal(kind: scoring.QuestionType, value: Any) -> Any:
    if is_empty(value):
        return None
    if kind is scoring.QuestionType.MULTI_CHOICE and isinstance(value, list):
        return tuple(sorted(str(v) for v in value))
    if kind is scoring.QuestionType.NUMBER and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def same_value(kind: scoring.QuestionType, a: Any, b: Any) -> bool:
    """Whether two stored values of a question mean the same answer (``95`` and ``"95.0"`` for a number,
    options in any order for a multi_choice)."""
    return bool(_normal(kind, a) == _normal(kind, b))


VALUE_HINTS = {
    scoring.QuestionType.YES_NO: "pilih Ya atau Tidak",
    scoring.QuestionType.CHOICE: "pilih salah satu pilihan yang tersedia",
    scoring.QuestionType.MULTI_CHOICE: "pilih dari pilihan yang tersedia",
    scoring.QuestionType.NUMBER: "isi dengan angka, misalnya 12,5",
    scoring.QuestionType.TEXT: "isi dengan teks",
}


def value_text(template: scoring.Template, problem: scoring.AnswerProblem) -> str:
    """A value the template refuses, as a page says it: which question, and what it takes."""
    try:
        question = template.question(problem.code)
    except KeyError:
        return f"SAQ ini tidak memiliki pertanyaan {problem.code}."
    return f"Nilai pertanyaan {problem.code} tidak sesuai: {VALUE_HINTS[question.type]}."


def check_values(template: scoring.Template, values: Mapping[str, Any], *, prefix: str) -> None:
    """Validate values against the template like answers; problems name ``<prefix>.<code>``."""
    try:
        scoring.parse_answers(template, {code: {"value": v} for code, v in values.items()})
    except scoring.AnswerError as exc:
        raise InvalidInput(
            "some values do not fit the template",
            errors=[
                FieldProblem(f"{prefix}.{p.code}.{p.field}".rstrip("."), p.message, value_text(template, p))
                for p in exc.problems
            ],
            indonesian="Nilai terverifikasi tidak sesuai dengan pertanyaan SAQ.",
        ) from exc
