"""Releasing a round's verification results to the bodies, and the objections (masa sanggah) that follow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.commissions.timezones import as_utc, format_local, format_words
from app.db.base import utcnow
from app.db.models import Answer, Objection, PublicBody, Round, Submission, Verification, VerifiedAnswer
from app.errors import Conflict, FieldProblem, InvalidInput, NotFound, ProblemCollector, WindowClosed
from app.mail import season as season_mail
from app.pagination import Page, PageParams, encode_cursor
from app.rounds.service import get_round, timezone_of
from app.verification.common import (
    answer_state,
    bump_version,
    find_verification,
    is_empty,
    submission_context,
    template_of,
    value_text,
)
from app.verification.schemas import ObjectionOut
from app.webhooks import outbox as webhook_events

MAX_LINK_LENGTH = 2000


def pending_verifications(*, session: Session, round_: Round) -> list[int]:
    """Submissions that took part (submitted, or verified) whose verification is not completed."""
    rows = session.execute(
        select(Submission.id, Submission.status, Verification.status)
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(Submission.round_id == round_.id)
        .order_by(Submission.id)
    ).all()
    return [
        sid
        for sid, sub_status, ver_status in rows
        if ver_status != "completed" and (sub_status == "submitted" or ver_status == "in_progress")
    ]


def release(*, session: Session, round_id: int, by: Principal, now: datetime | None = None) -> Round:
    """Release the verification results to the bodies (opens the way to objections within the round's
    objection window). Every verification of a body that took part must be completed first."""
    round_ = get_round(session=session, round_id=round_id, by=by)
    policy.ensure_admin(by, round_.commission_id)
    if round_.results_released_at is not None:
        timezone = timezone_of(session=session, round_=round_)
        raise Conflict(
            f"the verification results of round {round_.title} were already released",
            indonesian=(
                f"Hasil verifikasi {round_.title} sudah dirilis pada "
                f"{format_words(round_.results_released_at, timezone)}."
            ),
            results_released_at=as_utc(round_.results_released_at).isoformat(),
        )
    pending = pending_verifications(session=session, round_=round_)
    if pending:
        raise Conflict(
            f"{len(pending)} verification(s) are not completed yet",
            indonesian=(
                f"Hasil verifikasi belum dapat dirilis: verifikasi {len(pending)} badan publik belum selesai "
                f"({_names(session, pending)})."
            ),
            pending_submission_ids=pending,
        )
    round_.results_released_at = as_utc(now or utcnow())
    session.flush()
    record(
        session=session,
        actor=by,
        action="round.release_verification",
        entity="round",
        entity_id=round_.id,
        before={"results_released_at": None},
        after={"results_released_at": round_.results_released_at.isoformat()},
        commission_id=round_.commission_id,
    )
    season_mail.verification_released(session, round_=round_)
    webhook_events.verification_released(session, round_=round_)
    return round_


def _names(session: Session, submission_ids: list[int], shown: int = 10) -> str:
    """The bodies of these submissions by name, the first ``shown`` of them, then how many more."""
    names = list(
        session.scalars(
            select(PublicBody.name)
            .join(Submission, Submission.body_id == PublicBody.id)
            .where(Submission.id.in_(submission_ids[:shown]))
            .order_by(PublicBody.name)
        )
    )
    more = len(submission_ids) - len(names)
    return ", ".join(names) + (f", dan {more} lainnya" if more > 0 else "")


def _objections_out(session: Session, rows: Sequence[Objection]) -> list[ObjectionOut]:
    """Objections with the body's own answer and the verified value of each question, in a few queries."""
    submission_ids = {r.submission_id for r in rows}
    codes = {r.question_code for r in rows}
    own: dict[tuple[int, str], Any] = {}
    verified: dict[tuple[int, str], Any] = {}
    if rows:
        own = {
            (sid, code): value
            for sid, code, value in session.execute(
                select(Answer.submission_id, Answer.question_code, Answer.value).where(
                    Answer.submission_id.in_(submission_ids), Answer.question_code.in_(codes)
                )
            )
        }
        verified = {
            (sid, code): value
            for sid, code, value in session.execute(
                select(Verification.submission_id, VerifiedAnswer.question_code, VerifiedAnswer.value)
                .join(Verification, Verification.id == VerifiedAnswer.verification_id)
                .where(
                    Verification.submission_id.in_(submission_ids),
                    VerifiedAnswer.question_code.in_(codes),
                )
            )
        }
    return [
        ObjectionOut(
            id=row.id,
            submission_id=row.submission_id,
            question_code=row.question_code,
            explanation=row.explanation,
            evidence=list(row.evidence_links or []),
            created_by_id=row.created_by_id,
            created_at=row.created_at,
            body_value=own.get((row.submission_id, row.question_code)),
            verified_value=verified.get((row.submission_id, row.question_code)),
            status=row.status,
            decision_reason=row.decision_reason,
            decided_value=row.decided_value,
            decided_by_id=row.decided_by_id,
            decided_at=row.decided_at,
        )
        for row in rows
    ]


def _ensure_objection_window(session: Session, round_: Round, now: datetime) -> None:
    timezone = timezone_of(session=session, round_=round_)
    if round_.results_released_at is None:
        raise WindowClosed(
            "the verification results of this round are not released yet",
            indonesian=f"Hasil verifikasi {round_.title} belum dirilis; sanggahan belum dapat diajukan.",
        )
    opens, closes = round_.objection_opens_at, round_.objection_closes_at
    if opens is None or closes is None:
        raise WindowClosed(
            "this round has no objection window",
            indonesian=f"{round_.title} tidak memiliki masa sanggah.",
        )
    if now < as_utc(opens):
        raise WindowClosed(
            f"the objection window opens on {format_local(opens, timezone)}",
            indonesian=f"Masa sanggah baru dibuka pada {format_words(opens, timezone)}.",
            opens_at=as_utc(opens).isoformat(),
        )
    if now >= as_utc(closes):
        raise WindowClosed(
            f"the objection window closed on {format_local(closes, timezone)}",
            indonesian=f"Masa sanggah sudah ditutup pada {format_words(closes, timezone)}.",
            closes_at=as_utc(closes).isoformat(),
        )


def _links_or_422(links: list[str], field: str) -> list[str]:
    problems = ProblemCollector()
    for i, link in enumerate(links):
        parts = urlsplit(link) if len(link) <= MAX_LINK_LENGTH else None
        if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
            problems.add(
                f"{field}[{i}]",
                "not an http or https link (at most 2000 characters)",
                f"Tautan ke-{i + 1} bukan alamat http atau https yang sah (paling panjang {MAX_LINK_LENGTH} "
                "karakter).",
            )
    problems.raise_if_any("some evidence links are not valid", "Sebagian tautan data dukung tidak sah.")
    return links


def create_objection(
    *,
    session: Session,
    submission_id: int,
    by: Principal,
    question_code: str,
    explanation: str,
    evidence: list[str],
    now: datetime | None = None,
) -> ObjectionOut:
    """A body objects to the verified value of one question, inside the round's objection window."""
    now = as_utc(now or utcnow())
    ctx = submission_context(session, submission_id)
    policy.ensure_answer_for_body(by, commission_id=ctx.body.commission_id, body_id=ctx.body.id)
    _ensure_objection_window(session, ctx.round, now)
    verification = find_verification(session, submission_id)
    if verification is None or verification.status != "completed":
        raise Conflict(
            "this submission has no completed verification to object to",
            indonesian=f"Verifikasi {ctx.body.name} belum selesai, sehingga belum ada yang dapat disanggah.",
        )
    template = template_of(session, ctx.submission.template_version_id)
    if question_code not in {e.question.code for e in template.questions()}:
        text = f"SAQ ini tidak memiliki pertanyaan {question_code}."
        raise InvalidInput(
            f"the SAQ has no question {question_code!r}",
            errors=[FieldProblem("question_code", "unknown question code", text)],
            indonesian=text,
        )
    _links_or_422(evidence, "evidence")
    existing = session.scalar(
        select(Objection).where(
            Objection.submission_id == submission_id, Objection.question_code == question_code
        )
    )
    if existing is not None:
        raise Conflict(
            f"question {question_code} already has an objection ({existing.status})",
            indonesian=(
                f"Pertanyaan {question_code} sudah disanggah; setiap pertanyaan hanya dapat disanggah sekali."
            ),
            objection_id=existing.id,
        )
    row = Objection(
        submission_id=submission_id,
        question_code=question_code,
        explanation=explanation,
        evidence_links=evidence,
        created_by_id=by.account_id,
        status="open",
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session=session,
        actor=by,
        action="objection.create",
        entity="objection",
        entity_id=row.id,
        after={
            "submission_id": submission_id,
            "question_code": question_code,
            "explanation": explanation,
            "evidence": evidence,
        },
        commission_id=ctx.round.commission_id,
    )
    return _objections_out(session, [row])[0]


def _no_value(value: Any) -> bool:
    return is_empty(value) or (isinstance(value, str) and not value.strip())


def _check_decision(*, accept: bool, value: Any, no_valid_answer: bool, question_code: str) -> None:
    """Accepting needs the new verified value, or ``no_valid_answer`` said out loud (an empty value is never
    taken for a choice); rejecting takes neither."""
    if accept and no_valid_answer and not _no_value(value):
        text = 'Pilih salah satu: nilai terverifikasi yang baru, atau "Tidak ada jawaban yang sah".'
        raise InvalidInput(
            "send either value or no_valid_answer: true, not both",
            errors=[FieldProblem("value", "not together with no_valid_answer", text)],
            indonesian=text,
        )
    if accept and not no_valid_answer and _no_value(value):
        text = (
            f"Sanggahan yang diterima menetapkan nilai terverifikasi baru untuk pertanyaan {question_code}: "
            'pilih nilainya (biasanya jawaban badan publik). Pilih "Tidak ada jawaban yang sah" hanya bila '
            "itu memang keputusan Anda."
        )
        raise InvalidInput(
            "accepting an objection sets the verified value: send value (the body's own answer is the "
            "objection's body_value), or no_valid_answer: true to leave the question without a valid answer",
            errors=[FieldProblem("value", "required when accept is true", text)],
            indonesian=text,
        )
    if not accept and (no_valid_answer or not _no_value(value)):
        text = "Sanggahan yang ditolak tidak mengubah nilai terverifikasi: jangan kirim nilai baru."
        raise InvalidInput(
            "a rejected objection leaves the verified value as it is: do not send value or no_valid_answer",
            errors=[FieldProblem("value", "only with accept: true", text)],
            indonesian=text,
        )


def decide_objection(
    *,
    session: Session,
    objection_id: int,
    by: Principal,
    accept: bool,
    reason: str,
    value: Any,
    no_valid_answer: bool = False,
    now: datetime | None = None,
) -> ObjectionOut:
    """The verifier accepts (setting the verified value, evidence checked, the objection's links counting
    as evidence) or rejects an objection, with a reason. Decided objections are final.

    Accepting needs the new value; an empty one is refused unless ``no_valid_answer`` (the question then has
    no valid answer), so a form left at its default never empties a verified value by accident."""
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound(f"objection {objection_id} does not exist")
    ctx = submission_context(session, row.submission_id)
    policy.ensure_verify_body(
        session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
    )
    if ctx.round.status == "published":
        # A decision changes verified answers, which the published letters and result sheets are read from.
        raise Conflict(
            f"the results of round {ctx.round.title} are published: objections are decided before "
            "publication",
            round_status=ctx.round.status,
            indonesian=f"Hasil {ctx.round.title} sudah diumumkan: sanggahan diputus sebelum hasil diumumkan.",
        )
    if row.status != "open":
        decided = "diterima" if row.status == "accepted" else "ditolak"
        raise Conflict(
            f"objection {objection_id} was already decided ({row.status})",
            indonesian=(
                f"Sanggahan {ctx.body.name} atas pertanyaan {row.question_code} sudah {decided}; "
                "keputusan sanggahan bersifat final."
            ),
        )
    now = as_utc(now or utcnow())
    _check_decision(
        accept=accept, value=value, no_valid_answer=no_valid_answer, question_code=row.question_code
    )
    if no_valid_answer:
        value = None
    if accept:
        template = template_of(session, ctx.submission.template_version_id)
        try:
            scoring.parse_answers(template, {row.question_code: {"value": value}})
        except scoring.AnswerError as exc:
            raise InvalidInput(
                "the value does not fit the question",
                errors=[FieldProblem("value", p.message, value_text(template, p)) for p in exc.problems],
                indonesian=f"Nilai baru tidak sesuai dengan pertanyaan {row.question_code}.",
            ) from exc
        verification = find_verification(session, row.submission_id, for_update=True)
        assert verification is not None, "objections are made to completed verifications"
        answer = session.scalar(
            select(VerifiedAnswer).where(
                VerifiedAnswer.verification_id == verification.id,
                VerifiedAnswer.question_code == row.question_code,
            )
        )
        before = answer_state(answer)
        if answer is None:
            answer = VerifiedAnswer(verification_id=verification.id, question_code=row.question_code)
            session.add(answer)
        answer.value = value
        answer.evidence_checked = True
        answer.updated_at = now
        answer.updated_by_id = by.account_id
        record(
            session=session,
            actor=by,
            action="objection.accept",
            entity="verified_answer",
            entity_id=f"{verification.id}:{row.question_code}",
            before=before,
            after=answer_state(answer),
            commission_id=ctx.round.commission_id,
        )
        bump_version(session, verification)
    before_objection = {"status": row.status}
    row.status = "accepted" if accept else "rejected"
    row.decision_reason = reason
    row.decided_value = value if accept else None
    row.decided_by_id = by.account_id
    row.decided_at = now
    session.flush()
    record(
        session=session,
        actor=by,
        action="objection.decide",
        entity="objection",
        entity_id=row.id,
        before=before_objection,
        after={"status": row.status, "reason": reason, "value": row.decided_value},
        commission_id=ctx.round.commission_id,
    )
    season_mail.objection_answered(session, objection=row)
    return _objections_out(session, [row])[0]


def list_objections(*, session: Session, submission_id: int, by: Principal) -> list[ObjectionOut]:
    """A submission's objections (at most one per question), by question code."""
    ctx = submission_context(session, submission_id)
    verification = find_verification(session, submission_id)
    released = ctx.round.results_released_at is not None and verification is not None
    policy.ensure_read_verification(
        session,
        by,
        commission_id=ctx.body.commission_id,
        body_id=ctx.body.id,
        round_id=ctx.round.id,
        released=released,
    )
    rows = session.scalars(
        select(Objection).where(Objection.submission_id == submission_id).order_by(Objection.question_code)
    ).all()
    return _objections_out(session, rows)


def list_round_objections(
    *, session: Session, round_id: int, by: Principal, status: str | None, params: PageParams
) -> Page[ObjectionOut]:
    """A round's objections (a verifier sees those of its bodies), by id."""
    round_ = get_round(session=session, round_id=round_id, by=by)
    policy.ensure_bulk_verify(by, round_.commission_id)
    stmt = (
        select(Objection)
        .join(Submission, Submission.id == Objection.submission_id)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .where(
            Submission.round_id == round_.id,
            policy.visible_bodies(by, round_.commission_id, round_id=round_.id),
        )
    )
    if status is not None:
        stmt = stmt.where(Objection.status == status)
    if params.after_id is not None:
        stmt = stmt.where(Objection.id > params.after_id)
    rows = list(session.scalars(stmt.order_by(Objection.id).limit(params.limit + 1)))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return Page(
        items=_objections_out(session, rows),
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )
