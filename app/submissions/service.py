"""Submissions: one body's SAQ in one round, its answers, and submitting it.

Concurrency: every change bumps ``Submission.version`` (the mapper's version counter, sent as the ETag).
A save names the version it was based on; the submission row is locked (``SELECT ... FOR UPDATE`` on
PostgreSQL) and a save based on an older version is refused with 412, so two operators saving at once never
silently overwrite each other. Scores are never stored: ``scoring`` computes them from the stored answers
on every read.
"""

from __future__ import annotations

import hashlib
import typing
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Integer,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    exists,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

import scoring
from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import PG_INSERT_SQL, EntryFields, entry, record
from app.commissions.service import commission_timezone
from app.commissions.timezones import as_utc, format_local
from app.db.base import utcnow
from app.db.models import (
    Answer,
    BodyCategory,
    Commission,
    EvidenceFile,
    IdempotentRequest,
    PublicBody,
    Round,
    Submission,
    TemplateVersion,
    Verification,
)
from app.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionRequired,
    StaleVersion,
    SubmissionIncomplete,
    WindowClosed,
)
from app.evidence.schemas import EvidenceFileOut, file_out
from app.inputs import parse_digits
from app.json_text import json_text
from app.pagination import Page, PageParams, paginate
from app.questionnaires.service import answers_or_422, parsed, parsed_if_known
from app.rounds.service import (
    FILLING_AFTER_CLOSE,
    WINDOW_COLUMNS,
    effective_closes_at,
    ensure_window_open,
    get_round,
    is_invited,
    settle_due_drafts,
    template_for,
    window_from_rows,
    with_window_joins,
)
from app.submissions.schemas import (
    MAX_LINK_LENGTH,
    MAX_LINKS_PER_ANSWER,
    MAX_NOTE_LENGTH,
    AnswerOut,
    BodyRef,
    Checklist,
    ChecklistItem,
    IncompleteCounts,
    SaveResult,
    ScoreSummary,
    SubmissionOut,
    SubmissionSummary,
    SubmitResult,
    TemplateRef,
)
from app.webhooks import outbox as webhook_events

EMPTY: dict[str, Any] = {"value": None, "evidence": [], "note": None}
STALE_TEXT = (
    "Jawaban SAQ ini baru saja diubah di tab atau perangkat lain. Muat ulang halaman untuk melihat data "
    "terbaru, lalu ulangi perubahan Anda."
)
NOT_SAVED_TEXT = (
    "Beberapa jawaban belum sesuai dengan SAQ, sehingga tidak ada yang disimpan. "
    "Perbaiki isian yang ditandai."
)
FILE_EVIDENCE_PREFIX = "file:"


# --- ETags -------------------------------------------------------------------------------------------------


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(header: str | None) -> int:
    """The version named by an ``If-Match`` header: 428 without one; ``*`` or a list is not enough, since a
    save must say which version it was based on. If-Match compares strongly (RFC 9110, 13.1.1): a weak tag
    (``W/"3"``) never matches, and neither does an unparseable one: 412."""
    if header is None or not header.strip():
        raise PreconditionRequired(
            'send If-Match: "<version>" with the version (ETag) you read, so no one else\'s save is lost',
            errors=[
                FieldProblem("header:If-Match", "missing", "Versi data yang Anda baca tidak ikut terkirim.")
            ],
            indonesian="Versi data yang menjadi dasar perubahan tidak ikut terkirim. Muat ulang halaman, "
            "lalu ulangi perubahan Anda.",
        )
    tag = header.strip()
    if tag == "*" or "," in tag:
        raise PreconditionRequired(
            'If-Match must name the one version you read, e.g. If-Match: "3"',
            errors=[
                FieldProblem(
                    "header:If-Match",
                    "must be a single ETag",
                    "Sebutkan tepat satu versi data yang Anda baca.",
                )
            ],
            indonesian="Perubahan harus menyebut tepat satu versi data yang Anda baca. Muat ulang halaman, "
            "lalu ulangi perubahan Anda.",
        )
    if tag.startswith("W/"):
        raise StaleVersion(
            f"If-Match {header!r} is a weak ETag, and If-Match compares strongly: a weak tag never matches; "
            'send the ETag as you read it, e.g. If-Match: "3"',
            errors=[
                FieldProblem(
                    "header:If-Match",
                    "a weak ETag never matches",
                    "Versi data yang dikirim tidak dapat dicocokkan dengan versi yang tersimpan.",
                )
            ],
            indonesian="Versi data yang dikirim tidak dapat dicocokkan dengan versi yang tersimpan. Muat "
            "ulang halaman untuk melihat data terbaru, lalu ulangi perubahan Anda.",
        )
    version = parse_digits(tag.strip('"'))
    if version is None:
        raise StaleVersion(
            f"If-Match {header!r} does not match any version of this submission",
            errors=[
                FieldProblem(
                    "header:If-Match",
                    "not an ETag of this submission",
                    "Versi data yang dikirim bukan versi SAQ ini.",
                )
            ],
            indonesian="Versi data yang dikirim bukan versi SAQ ini. Muat ulang halaman untuk melihat data "
            "terbaru, lalu ulangi perubahan Anda.",
        )
    return version


# --- Loading -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    submission: Submission
    round: Round
    body: PublicBody
    # Held so they stay in the session's (weak) identity map for the window rules and template look-ups.
    commission: Commission | None = None
    template: TemplateVersion | None = None


def template_row(session: Session, version_id: int) -> TemplateVersion:
    row = session.get(TemplateVersion, version_id, options=[defer(TemplateVersion.source_text)])
    assert row is not None, "a submission always points at its template version"
    return row


def template_of(session: Session, row: TemplateVersion) -> scoring.Template:
    """The parsed template of a stored version."""
    return parsed_version(session, row.id, row.content_hash)


def parsed_version(session: Session, version_id: int, content_hash: str) -> scoring.Template:
    """The parsed template of the stored version with this id and content hash. Versions are immutable, so
    the (large) source text is only loaded the first time a process meets a version."""
    template = parsed_if_known(content_hash)
    if template is None:
        row = session.get(TemplateVersion, version_id)
        assert row is not None, "a submission always points at its template version"
        template = parsed(row)
    return template


def _load(session: Session, submission_id: int, *, for_update: bool = False) -> Context:
    """The submission with its round and body in one query; ``for_update`` locks the submission row.

    The round's commission and the template version come in the same query, so the later look-ups of
    the window rules and of the template are answered from the session without another round trip.
    """
    stmt = (
        select(Submission, Round, PublicBody, Commission, TemplateVersion)
        .join(Round, Round.id == Submission.round_id)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .join(Commission, Commission.id == Round.commission_id)
        .join(TemplateVersion, TemplateVersion.id == Submission.template_version_id)
        .options(defer(TemplateVersion.source_text))
        .where(Submission.id == submission_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Submission).execution_options(populate_existing=True)
    row = session.execute(stmt).unique().first()
    if row is None:
        raise NotFound(f"submission {submission_id} does not exist")
    return Context(*row)


def filling_until(
    *, session: Session, submission: Submission, round_: Round, body: PublicBody, now: datetime | None = None
) -> datetime | None:
    """While the body may still fill in this SAQ, the instant its window closes for it (extensions
    included); ``None`` once it was submitted, its window closed or its verification started.

    Until then the SAQ is the body's work in progress: its verification cannot start and its verifier does
    not see it (``policy.ensure_read_submission``)."""
    if submission.status == "submitted":
        return None
    closes = effective_closes_at(session=session, round_=round_, body=body)
    if (now or utcnow()) >= closes:
        return None
    started = session.scalar(select(exists().where(Verification.submission_id == submission.id)))
    return open_until(status=submission.status, closes_at=closes, verification_started=bool(started), now=now)


def open_until(
    *, status: str, closes_at: datetime, verification_started: bool, now: datetime | None = None
) -> datetime | None:
    """``filling_until`` from the columns it depends on."""
    if status == "submitted" or verification_started or (now or utcnow()) >= closes_at:
        return None
    return closes_at


def load_for_read(*, session: Session, submission_id: int, by: Principal) -> Context:
    ctx = _load(session, submission_id)
    until = filling_until(session=session, submission=ctx.submission, round_=ctx.round, body=ctx.body)
    policy.ensure_read_submission(
        session,
        by,
        commission_id=ctx.body.commission_id,
        body_id=ctx.body.id,
        round_id=ctx.round.id,
        filling_until=until,
    )
    return ctx


@dataclass(frozen=True)
class Draft:
    """A draft submission open for a change by its body's operator: the columns a change needs."""

    id: int
    version: int
    round_id: int
    body_id: int
    commission_id: int
    template_version_id: int
    template_hash: str


_SUBMISSION = typing.cast(Table, Submission.__table__)
_ANSWER = typing.cast(Table, Answer.__table__)
_S = _SUBMISSION.c
_B = PublicBody.__table__.c
_T = TemplateVersion.__table__.c


_R = Round.__table__.c

# Built once (building a select costs more CPU than running it; every save runs these). The body's window
# comes in the same statement (a row per extension of the round).
_DRAFT = (
    select(
        _S.id,
        _S.version,
        _S.status,
        _S.submitted_at,
        _S.round_id,
        _S.body_id,
        _B.commission_id,
        _S.template_version_id,
        _T.content_hash,
        *WINDOW_COLUMNS,
    )
    .select_from(
        with_window_joins(
            _SUBMISSION.join(PublicBody.__table__, _B.id == _S.body_id)
            .join(TemplateVersion.__table__, _T.id == _S.template_version_id)
            .join(Round.__table__, _R.id == _S.round_id)
        )
    )
    .where(_S.id == bindparam("submission_id"))
)
_DRAFT_LOCKED = _DRAFT.with_for_update(of=_SUBMISSION)
_NEXT_VERSION = (
    update(_SUBMISSION)
    .where(_S.id == bindparam("submission_id"), _S.version == bindparam("version"))
    .values(version=_S.version + 1, updated_at=bindparam("at"))
    .returning(_S.version)
)


def load_for_edit(
    *,
    session: Session,
    submission_id: int,
    by: Principal,
    now: datetime | None = None,
    lock: bool = True,
) -> Draft:
    """The submission, locked (``SELECT ... FOR UPDATE`` on PostgreSQL), for a change by its body's
    operator while the window is open and it is a draft. Plain columns, not ORM entities, with its window in
    one statement: every save of answers goes through here."""
    rows = session.execute(_DRAFT_LOCKED if lock else _DRAFT, {"submission_id": submission_id}).all()
    if not rows:
        raise NotFound(f"submission {submission_id} does not exist")
    row = rows[0]
    policy.ensure_answer_for_body(by, commission_id=row.commission_id, body_id=row.body_id)
    window_from_rows(rows, body_id=row.body_id).ensure_open(now or utcnow())
    if row.status != "draft":
        zone = commission_timezone(session, row.commission_id)
        raise WindowClosed(
            f"submission {row.id} was submitted on {row.submitted_at:%Y-%m-%d %H:%M} UTC and can no "
            "longer be changed",
            indonesian=f"SAQ ini sudah dikirim pada {format_local(row.submitted_at, zone)} dan tidak dapat "
            "diubah lagi.",
            submission_status=row.status,
        )
    return Draft(
        id=row.id,
        version=row.version,
        round_id=row.round_id,
        body_id=row.body_id,
        commission_id=row.commission_id,
        template_version_id=row.template_version_id,
        template_hash=row.content_hash,
    )


def next_version(session: Session, draft: Draft, *, expected: str | None = None, at: datetime) -> int:
    """Move a draft's version on (its ETag) for a change outside its answers, such as an evidence file
    added or removed, so that a client holding the old ETag gets 412 on its next save. ``expected``, an
    optional If-Match header, must name the current version (412 otherwise)."""
    if expected is not None:
        ensure_current(draft, parse_if_match(expected))
    version: int | None = session.scalar(
        _NEXT_VERSION, {"submission_id": draft.id, "version": draft.version, "at": at}
    )
    if version is None:  # changed by another process since it was read (only where nothing locks the row)
        raise StaleVersion(
            f"submission {draft.id} changed in the meantime; reload it and try again",
            indonesian=STALE_TEXT,
            current_version=None,
        )
    return version


def ensure_current(draft: Draft, expected_version: int) -> None:
    if draft.version != expected_version:
        raise StaleVersion(
            f"submission {draft.id} is at version {draft.version}, not {expected_version}: someone saved in "
            "the meantime; reload it, merge your changes and save again",
            indonesian=STALE_TEXT,
            current_version=draft.version,
        )


# --- Answers and scores ------------------------------------------------------------------------------------


def _stored(session: Session, submission_id: int) -> tuple[dict[str, dict[str, Any]], dict[str, list[int]]]:
    """The stored answers (``{code: {value, evidence, note}}``) and the ids of the files not removed, by
    question, in one round trip."""
    if session.get_bind().dialect.name == "postgresql":
        return _stored_pg(session, submission_id)
    answers = select(
        Answer.question_code,
        Answer.value,
        Answer.evidence_links,
        Answer.note,
        cast(null(), Integer).label("file_id"),
    ).where(Answer.submission_id == submission_id)
    files = select(
        EvidenceFile.question_code,
        cast(null(), JSON),
        cast(null(), JSON),
        cast(null(), Text),
        EvidenceFile.id,
    ).where(EvidenceFile.submission_id == submission_id, EvidenceFile.removed_at.is_(None))
    stored: dict[str, dict[str, Any]] = {}
    file_ids: dict[str, list[int]] = defaultdict(list)
    for code, value, links, note, file_id in session.execute(union_all(answers, files)):
        if file_id is None:
            stored[code] = {"value": value, "evidence": list(links or []), "note": note}
        else:
            file_ids[code].append(file_id)
    for ids in file_ids.values():
        ids.sort()
    return stored, file_ids


# The answers as one JSON object in the shape the service works with ({code: {value, evidence, note}}):
# psycopg decodes one document and nothing is rebuilt in Python (reading three JSON values per answer took
# about 1.1 ms of CPU for a full SAQ, rebuilding the dictionaries another 0.3 ms).
_PG_STORED = text(
    """
    SELECT
        (SELECT coalesce(
            json_object_agg(
                question_code, json_build_object('value', value, 'evidence', evidence_links, 'note', note)
            ),
            '{}')
         FROM answer WHERE submission_id = :submission_id),
        (SELECT coalesce(json_agg(json_build_array(question_code, id)), '[]')
         FROM evidence_file WHERE submission_id = :submission_id AND removed_at IS NULL)
    """
)


def _stored_pg(
    session: Session, submission_id: int
) -> tuple[dict[str, dict[str, Any]], dict[str, list[int]]]:
    stored, files = session.execute(_PG_STORED, {"submission_id": submission_id}).one()
    file_ids: dict[str, list[int]] = defaultdict(list)
    for code, file_id in files:
        file_ids[code].append(file_id)
    for ids in file_ids.values():
        ids.sort()
    return stored, file_ids


def _active_files(session: Session, submission_id: int) -> list[EvidenceFile]:
    return list(
        session.scalars(
            select(EvidenceFile)
            .where(EvidenceFile.submission_id == submission_id, EvidenceFile.removed_at.is_(None))
            .order_by(EvidenceFile.id)
        )
    )


def evidence_files(*, session: Session, submission_id: int) -> dict[str, list[EvidenceFileOut]]:
    """The submission's evidence files not removed, by question code, in upload order: name, size, type
    and upload time, as every view of the submission describes them. The caller has checked access."""
    files: dict[str, list[EvidenceFileOut]] = defaultdict(list)
    for row in _active_files(session, submission_id):
        files[row.question_code].append(file_out(row))
    return dict(files)


def with_files(
    answers: dict[str, scoring.Answer], files: Mapping[str, Iterable[int]]
) -> dict[str, scoring.Answer]:
    """Add uploaded files to the answers' evidence. A file is evidence just like a link: it is passed to the
    engine as a ``file:<id>`` entry, so a question has evidence when it has a link or a file not removed."""
    for code, ids in files.items():
        refs = tuple(f"{FILE_EVIDENCE_PREFIX}{i}" for i in ids)
        if not refs:
            continue
        current = answers.get(code)
        answers[code] = (
            scoring.Answer(value=None, evidence=refs)
            if current is None
            else replace(current, evidence=current.evidence + refs)
        )
    return answers


def scoring_answers(
    template: scoring.Template, raw: Mapping[str, Any], files: Mapping[str, Iterable[int]]
) -> dict[str, scoring.Answer]:
    """Stored answers (and files) as the engine reads them."""
    return with_files(scoring.parse_answers(template, raw), files)


def _card(
    session: Session, ctx: Context
) -> tuple[scoring.Template, scoring.ScoreCard, dict[str, dict[str, Any]]]:
    template = template_of(session, template_row(session, ctx.submission.template_version_id))
    raw, files = _stored(session, ctx.submission.id)
    return template, scoring.score(template, scoring_answers(template, raw, files)), raw


def _summary(card: scoring.ScoreCard) -> ScoreSummary:
    return ScoreSummary(score=str(card.score), band=card.band.code, band_label=card.band.label)


_EXPLANATIONS = {
    scoring.QuestionStatus.SCORED: "answered; earns {earned} of {max}",
    scoring.QuestionStatus.UNANSWERED: "not answered; earns 0 of {max}",
    scoring.QuestionStatus.EVIDENCE_MISSING: "the answer needs evidence (a link or a file) and has none; "
    "earns 0 of {max}",
    scoring.QuestionStatus.NOT_APPLICABLE: "not applicable (its condition is not met); not counted",
    scoring.QuestionStatus.NOT_SCORED: "free text; not scored",
}


def score(*, session: Session, submission_id: int, by: Principal) -> dict[str, Any]:
    """The self-assessed score computed now from the stored answers and evidence, with the reason each
    question counted as it did."""
    ctx = load_for_read(session=session, submission_id=submission_id, by=by)
    template, card, _ = _card(session, ctx)
    body = card.to_json()
    for question in body["questions"]:
        question["text"] = template.question(question["code"]).text
        question["explanation"] = _EXPLANATIONS[scoring.QuestionStatus(question["status"])].format(**question)
    return {"submission_id": ctx.submission.id, "band_label": card.band.label, **body}


def open_items(
    card: scoring.ScoreCard, stored: Mapping[str, Mapping[str, Any]]
) -> tuple[list[str], list[str]]:
    """The codes of the questions left unanswered (free-text questions included) and of the answers lacking
    the evidence their question requires, in questionnaire order."""
    unanswered = [
        q.code
        for q in card.questions
        if q.status is scoring.QuestionStatus.UNANSWERED
        or (
            q.status is scoring.QuestionStatus.NOT_SCORED
            and stored.get(q.code, EMPTY)["value"] in (None, "", [])
        )
    ]
    missing = [q.code for q in card.questions if q.status is scoring.QuestionStatus.EVIDENCE_MISSING]
    return unanswered, missing


def checklist(*, session: Session, submission_id: int, by: Principal) -> Checklist:
    ctx = load_for_read(session=session, submission_id=submission_id, by=by)
    template, card, stored = _card(session, ctx)
    unanswered, missing = open_items(card, stored)

    def items(codes: list[str]) -> list[ChecklistItem]:
        return [ChecklistItem(code=code, text=template.question(code).text) for code in codes]

    return Checklist(
        submission_id=ctx.submission.id,
        complete=not unanswered and not missing,
        unanswered=items(unanswered),
        evidence_missing=items(missing),
    )


def incomplete_text(counts: IncompleteCounts) -> str:
    """What is left open, as pages say it: "61 pertanyaan belum dijawab, 4 data dukung wajib belum
    dilampirkan" (a part that is zero is left out)."""
    parts = []
    if counts.unanswered:
        parts.append(f"{counts.unanswered} pertanyaan belum dijawab")
    if counts.evidence_missing:
        parts.append(f"{counts.evidence_missing} data dukung wajib belum dilampirkan")
    return ", ".join(parts) or "semua pertanyaan sudah dijawab dan data dukung wajib sudah lengkap"


def _english(counts: IncompleteCounts) -> str:
    return (
        f"{counts.unanswered} question(s) unanswered and {counts.evidence_missing} answer(s) lacking "
        "required evidence"
    )


def _ensure_acknowledged(current: IncompleteCounts, acknowledged: IncompleteCounts | None) -> None:
    """An incomplete SAQ is submitted only when the person acknowledged exactly what is open now: a count
    that changed since (answers saved in another tab) means they did not see what they would lock."""
    if not current.unanswered and not current.evidence_missing:
        return
    if acknowledged == current:
        return
    extra: dict[str, Any] = {
        "unanswered": current.unanswered,
        "evidence_missing": current.evidence_missing,
        "acknowledged": None if acknowledged is None else acknowledged.model_dump(),
    }
    if acknowledged is None:
        raise SubmissionIncomplete(
            f"the SAQ has {_english(current)}; to submit it anyway, send acknowledge_incomplete: "
            f'{{"unanswered": {current.unanswered}, "evidence_missing": {current.evidence_missing}}} '
            "(GET .../checklist lists them)",
            indonesian=f"SAQ belum lengkap: {incomplete_text(current)}. Periksa daftarnya, lalu "
            "konfirmasi sekali lagi bila Anda tetap ingin mengirim.",
            **extra,
        )
    raise SubmissionIncomplete(
        f"the acknowledged counts ({_english(acknowledged)}) no longer match the SAQ, which now has "
        f"{_english(current)}: the answers changed since; check them again and acknowledge the current "
        "counts",
        indonesian="Jawaban SAQ berubah sejak Anda memeriksanya (mungkin di tab atau perangkat lain). "
        f"Sekarang: {incomplete_text(current)}. Periksa daftar terbaru, lalu konfirmasi lagi.",
        **extra,
    )


# --- Reading -----------------------------------------------------------------------------------------------


def _body_ref(body: PublicBody) -> BodyRef:
    return BodyRef(id=body.id, name=body.name, category=body.category.code, region_code=body.region_code)


def _template_ref(row: TemplateVersion) -> TemplateRef:
    return TemplateRef(key=row.key, version=row.version, title=row.title)


def detail(session: Session, ctx: Context) -> SubmissionOut:
    sub = ctx.submission
    answers: dict[str, AnswerOut] = {}
    rows = session.execute(
        select(
            Answer.question_code,
            Answer.value,
            Answer.evidence_links,
            Answer.note,
            Answer.updated_at,
            Answer.updated_by_id,
        )
        .where(Answer.submission_id == sub.id)
        .order_by(Answer.question_code)
    )
    for code, value, links, note, updated_at, updated_by_id in rows:
        answers[code] = AnswerOut(
            value=value,
            evidence=list(links or []),
            note=note,
            updated_at=updated_at,
            updated_by_id=updated_by_id,
        )
    for code, files in evidence_files(session=session, submission_id=sub.id).items():
        answers.setdefault(code, AnswerOut()).files.extend(files)
    answers = dict(sorted(answers.items()))  # a question with files only in its place, as the GET gives it
    return SubmissionOut(
        id=sub.id,
        round_id=sub.round_id,
        body=_body_ref(ctx.body),
        status=sub.status,
        version=sub.version,
        template=_template_ref(template_row(session, sub.template_version_id)),
        created_at=sub.created_at,
        updated_at=sub.updated_at,
        submitted_at=sub.submitted_at,
        submitted_by_id=sub.submitted_by_id,
        closes_at=effective_closes_at(session=session, round_=ctx.round, body=ctx.body),
        reopened_at=sub.reopened_at,
        reopen_reason=sub.reopen_reason,
        answers=answers,
    )


# The GET of a submission is what the page (after every reload) and integrators call most. It is read with
# statements built once, as plain columns, and written as JSON by orjson, not through the ORM and the
# response model (for a full SAQ: six ORM queries and two validations of a hundred answers cost about four
# times the reading). The document is the same as ``detail`` gives (a test holds the two together).
_CAT = BodyCategory.__table__.c
_V = Verification.__table__.c
_E = EvidenceFile.__table__.c
_A = _ANSWER.c
_HEAD = (
    select(
        _S.id,
        _S.round_id,
        _S.body_id,
        _S.status,
        _S.version,
        _S.template_version_id,
        _S.created_at,
        _S.updated_at,
        _S.submitted_at,
        _S.submitted_by_id,
        _S.reopened_at,
        _S.reopen_reason,
        _B.name,
        _B.region_code,
        _B.commission_id,
        _CAT.code,
        _T.key,
        _T.version.label("template_version"),
        _T.title,
        _R.status.label("round_status"),
        _R.drafts_at_deadline,
        exists().where(_V.submission_id == _S.id).label("verification_started"),
        *WINDOW_COLUMNS,
    )
    .select_from(
        with_window_joins(
            _SUBMISSION.join(PublicBody.__table__, _B.id == _S.body_id)
            .join(BodyCategory.__table__, _CAT.id == _B.category_id)
            .join(TemplateVersion.__table__, _T.id == _S.template_version_id)
            .join(Round.__table__, _R.id == _S.round_id)
        )
    )
    .where(_S.id == bindparam("submission_id"))
)
# Answers and files in one round trip, answers first, each in the order ``detail`` gives them.
_ANSWERS_AND_FILES = union_all(
    select(
        _A.question_code,
        _A.value,
        _A.evidence_links,
        _A.note,
        _A.updated_at,
        _A.updated_by_id,
        cast(null(), Integer).label("file_id"),
        cast(null(), Text).label("original_name"),
        cast(null(), Text).label("content_type"),
        cast(null(), Integer).label("size"),
        cast(null(), Text).label("sha256"),
    ).where(_A.submission_id == bindparam("submission_id")),
    select(
        _E.question_code,
        cast(null(), JSON),
        cast(null(), JSON),
        cast(null(), Text),
        _E.created_at,
        _E.uploaded_by_id,
        _E.id,
        _E.original_name,
        _E.content_type,
        _E.size,
        _E.sha256,
    ).where(_E.submission_id == bindparam("submission_id"), _E.removed_at.is_(None)),
)
_JSON_OPTIONS = orjson.OPT_UTC_Z


def _pg_instant(column: str) -> str:
    # An instant as the schema writes it (pydantic: UTC with Z, microseconds only when there are some).
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN extract(microseconds FROM {column})::int % 1000000 = 0 "
        f"""THEN to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        f"""ELSE to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )


# On PostgreSQL the answers object is written by the server, as JSON text the document takes as it is: a
# hundred answers cost Python nothing to read or encode (reading them as rows cost about 0.6 ms of CPU).
_PG_ANSWERS_JSON = text(
    """
    WITH a AS (
        SELECT question_code, value, evidence_links, note, updated_at, updated_by_id
        FROM answer WHERE submission_id = :submission_id
    ), f AS (
        SELECT question_code, json_agg(json_build_object(
            'id', id, 'question_code', question_code, 'name', original_name, 'content_type', content_type,
            'size', size, 'sha256', sha256, 'uploaded_by_id', uploaded_by_id,
            'uploaded_at', UPLOADED_AT_Z, 'url', '/api/v1/evidence/' || id,
            'submission_version', NULL
        ) ORDER BY id) AS files
        FROM evidence_file WHERE submission_id = :submission_id AND removed_at IS NULL
        GROUP BY question_code
    )
    SELECT coalesce(json_object_agg(
        coalesce(a.question_code, f.question_code),
        json_build_object(
            'value', a.value, 'evidence', coalesce(a.evidence_links, '[]'::json),
            'files', coalesce(f.files, '[]'::json), 'note', a.note,
            'updated_at', UPDATED_AT_Z, 'updated_by_id', a.updated_by_id
        ) ORDER BY coalesce(a.question_code, f.question_code)
    ), '{}'::json)::text
    FROM a FULL JOIN f ON f.question_code = a.question_code
    """.replace("UPLOADED_AT_Z", _pg_instant("created_at")).replace(
        "UPDATED_AT_Z", _pg_instant("a.updated_at")
    )
)


def read_json(
    *, session: Session, submission_id: int, by: Principal, now: datetime | None = None
) -> tuple[int, bytes]:
    """The submission as ``read`` returns it, as JSON bytes, with its version (the ETag). Its statements may
    run outside a transaction (``db.session.reading_only``): the version is read before the answers, so a save
    landing in between shows newer answers under the older ETag, whose next save is refused (412) and
    reloaded; never the reverse."""
    rows = session.execute(_HEAD, {"submission_id": submission_id}).all()
    if not rows:
        raise NotFound(f"submission {submission_id} does not exist")
    head = rows[0]
    if (
        head.status == "draft"
        and head.drafts_at_deadline == "submit"
        and head.round_status in FILLING_AFTER_CLOSE
    ):  # it may be due to be settled: the general path does that, in a transaction
        session.commit()  # ends a read without one (db.session.reading_only)
        out = read(session=session, submission_id=submission_id, by=by)
        return out.version, out.model_dump_json().encode()
    closes = window_from_rows(rows, body_id=head.body_id).closes_at
    until = open_until(
        status=head.status, closes_at=closes, verification_started=head.verification_started, now=now
    )
    policy.ensure_read_submission(
        session,
        by,
        commission_id=head.commission_id,
        body_id=head.body_id,
        round_id=head.round_id,
        filling_until=until,
    )
    answers: Any
    if session.get_bind().dialect.name == "postgresql":
        answers = orjson.Fragment(
            session.execute(_PG_ANSWERS_JSON, {"submission_id": submission_id}).scalar_one()
        )
    else:
        answers = _answers_and_files(session, submission_id)
    document = {
        "id": head.id,
        "round_id": head.round_id,
        "body": {
            "id": head.body_id,
            "name": head.name,
            "category": head.code,
            "region_code": head.region_code,
        },
        "status": head.status,
        "version": head.version,
        "template": {"key": head.key, "version": head.template_version, "title": head.title},
        "updated_at": as_utc(head.updated_at),
        "submitted_at": as_utc(head.submitted_at) if head.submitted_at else None,
        "created_at": as_utc(head.created_at),
        "submitted_by_id": head.submitted_by_id,
        "closes_at": closes,
        "reopened_at": as_utc(head.reopened_at) if head.reopened_at else None,
        "reopen_reason": head.reopen_reason,
        "answers": answers,
    }
    try:
        return head.version, orjson.dumps(document, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:  # an integer past 64 bits in an answer read as rows: the schema's encoder
        return head.version, SubmissionOut.model_validate(document).model_dump_json().encode()


def _answers_and_files(session: Session, submission_id: int) -> dict[str, dict[str, Any]]:
    """The answers object of the document, in question order, from rows (SQLite)."""
    answers: dict[str, dict[str, Any]] = {}
    rows = session.execute(_ANSWERS_AND_FILES, {"submission_id": submission_id}).all()
    # Answers first, then their files, whatever order the union's rows came in.
    for row in sorted(rows, key=_files_last):
        if row.file_id is None:
            answers[row.question_code] = {
                "value": row.value,
                "evidence": list(row.evidence_links or []),
                "files": [],
                "note": row.note,
                "updated_at": as_utc(row.updated_at),
                "updated_by_id": row.updated_by_id,
            }
            continue
        answer = answers.get(row.question_code)
        if answer is None:
            answer = answers[row.question_code] = {
                "value": None,
                "evidence": [],
                "files": [],
                "note": None,
                "updated_at": None,
                "updated_by_id": None,
            }
        answer["files"].append(
            {
                "id": row.file_id,
                "question_code": row.question_code,
                "name": row.original_name,
                "content_type": row.content_type,
                "size": row.size,
                "sha256": row.sha256,
                "uploaded_by_id": row.updated_by_id,
                "uploaded_at": as_utc(row.updated_at),
                "url": f"/api/v1/evidence/{row.file_id}",
                "submission_version": None,
            }
        )
    for answer in answers.values():
        answer["files"].sort(key=_file_id)
    return dict(sorted(answers.items()))


def _files_last(row: Any) -> bool:
    return row.file_id is not None


def _file_id(file: dict[str, Any]) -> int:
    file_id: int = file["id"]
    return file_id


def read(*, session: Session, submission_id: int, by: Principal) -> SubmissionOut:
    ctx = load_for_read(session=session, submission_id=submission_id, by=by)
    # A draft whose deadline passed in a round that submits drafts at the deadline is settled when read.
    if settle_due_drafts(session=session, round_=ctx.round, body_ids=[ctx.body.id]):
        session.refresh(ctx.submission)
    return detail(session, ctx)


def list_for_round(
    *,
    session: Session,
    round_id: int,
    by: Principal,
    params: PageParams,
    category: str | None = None,
    status: str | None = None,
    region: str | None = None,
) -> Page[SubmissionSummary]:
    """The submissions of a round that the principal may see, by id, filtered by body category code,
    status and region code prefix."""
    round_ = get_round(session=session, round_id=round_id, by=by)
    stmt = (
        select(Submission, PublicBody, TemplateVersion.key, TemplateVersion.version, TemplateVersion.title)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .join(TemplateVersion, TemplateVersion.id == Submission.template_version_id)
        .where(
            Submission.round_id == round_id,
            policy.visible_bodies(by, round_.commission_id, round_id=round_id),
        )
    )
    if category:
        stmt = stmt.join(BodyCategory, BodyCategory.id == PublicBody.category_id).where(
            BodyCategory.code == category
        )
    if status:
        stmt = stmt.where(Submission.status == status)
    if region:
        stmt = stmt.where(PublicBody.region_code.startswith(region, autoescape=True))
    result = paginate(
        session=session, stmt=stmt, id_column=Submission.id, params=params, id_of=lambda row: row[0].id
    )
    return result.map(
        lambda row: SubmissionSummary(
            id=row[0].id,
            round_id=row[0].round_id,
            body=_body_ref(row[1]),
            status=row[0].status,
            version=row[0].version,
            template=TemplateRef(key=row[2], version=row[3], title=row[4]),
            updated_at=row[0].updated_at,
            submitted_at=row[0].submitted_at,
        )
    )


# --- Creating ----------------------------------------------------------------------------------------------


def open_submission(
    *, session: Session, round_id: int, by: Principal, now: datetime | None = None
) -> tuple[SubmissionOut, bool]:
    """The body's submission in the round, created (pinned to the body's template version) if it has none.
    Returns it and whether it was created. Concurrent calls never create two: the database's unique
    (round, body) constraint decides, and the loser returns the winner's row."""
    round_ = get_round(session=session, round_id=round_id)
    if by.body_id is None:
        raise Forbidden("only a public body's PPID operator (or a body API key) opens its submission")
    body = session.get(PublicBody, by.body_id)
    if body is None:
        raise NotFound(f"public body {by.body_id} does not exist")
    policy.ensure_answer_for_body(by, commission_id=round_.commission_id, body_id=body.id)
    if not is_invited(session=session, round_=round_, body=body):
        raise Forbidden(f"{body.name} is not invited to round {round_.title}")
    existing = _find(session, round_id, body.id)
    if existing is not None:
        return detail(session, Context(existing, round_, body)), False
    ensure_window_open(session=session, round_=round_, body=body, now=now or utcnow())
    version = template_for(session=session, round_=round_, body=body)
    submission = Submission(round_id=round_.id, body_id=body.id, template_version_id=version.id)
    try:
        with session.begin_nested():
            session.add(submission)
            session.flush()
    except IntegrityError:
        winner = _find(session, round_id, body.id)
        if winner is None:
            raise
        return detail(session, Context(winner, round_, body)), False
    record(
        session=session,
        actor=by,
        action="submission.create",
        entity="submission",
        entity_id=submission.id,
        after={"round_id": round_.id, "body_id": body.id, "template_version_id": version.id},
        commission_id=round_.commission_id,
    )
    session.flush()
    return detail(session, Context(submission, round_, body)), True


def _find(session: Session, round_id: int, body_id: int) -> Submission | None:
    return session.scalar(
        select(Submission)
        .where(Submission.round_id == round_id, Submission.body_id == body_id)
        .execution_options(populate_existing=True)
    )


# --- Saving ------------------------------------------------------------------------------------------------


def _limit_problems(patches: Mapping[str, Mapping[str, Any] | None]) -> list[FieldProblem]:
    problems = []
    for code, patch in patches.items():
        if not patch:
            continue
        links = patch.get("evidence")
        if isinstance(links, list):
            if len(links) > MAX_LINKS_PER_ANSWER:
                problems.append(
                    FieldProblem(
                        f"answers.{code}.evidence",
                        f"at most {MAX_LINKS_PER_ANSWER} links",
                        f"Paling banyak {MAX_LINKS_PER_ANSWER} tautan data dukung.",
                    )
                )
            problems.extend(
                FieldProblem(
                    f"answers.{code}.evidence[{i}]",
                    f"longer than {MAX_LINK_LENGTH} characters",
                    f"Tautan ke-{i + 1} lebih dari {MAX_LINK_LENGTH} karakter.",
                )
                for i, link in enumerate(links)
                if isinstance(link, str) and len(link) > MAX_LINK_LENGTH
            )
        note = patch.get("note")
        if isinstance(note, str) and len(note) > MAX_NOTE_LENGTH:
            problems.append(
                FieldProblem(
                    f"answers.{code}.note",
                    f"longer than {MAX_NOTE_LENGTH} characters",
                    f"Catatan lebih dari {MAX_NOTE_LENGTH} karakter.",
                )
            )
    return problems


def _merge(before: dict[str, Any] | None, patch: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The answer after applying a patch; None when nothing (no value, link or note) is left."""
    if patch is None:
        return None
    after = {**(before or EMPTY), **patch}
    if after.get("evidence") is None:
        after["evidence"] = []
    if after.get("value") in ("", []):
        after["value"] = None
    if after == EMPTY:
        return None
    return after


# On PostgreSQL a save writes its answers, its audit entry and the next version in one statement
# (data-modifying WITHs, each run once and to completion): two round trips fewer, each of which cost the app
# and PostgreSQL more CPU than the writing itself. The answers go as one JSON parameter, as the service holds
# them ({code: {value, evidence, note}}), so the statement is prepared once whatever the number of answers.
_PG_WRITE_ANSWERS = """
    written AS (
        INSERT INTO answer (
            submission_id, question_code, value, evidence_links, note, updated_at, updated_by_id
        )
        SELECT :submission_id, a.key, a.value -> 'value', a.value -> 'evidence', a.value ->> 'note', :at,
            :updated_by_id
        FROM json_each(CAST(:answers AS json)) AS a
        ON CONFLICT (submission_id, question_code) DO UPDATE SET
            value = excluded.value,
            evidence_links = excluded.evidence_links,
            note = excluded.note,
            updated_at = excluded.updated_at,
            updated_by_id = excluded.updated_by_id
        RETURNING 1
    )"""
_PG_WRITE_AUDIT = f"""
    audited AS ({PG_INSERT_SQL} RETURNING 1)"""
_PG_NEXT_VERSION = """
    UPDATE submission SET version = version + 1, updated_at = :at
    WHERE id = :submission_id AND version = :version
    RETURNING version"""
# Keyed by (any answers to write, an audit entry): answers to write are changed answers, so (True, False)
# never occurs.
_PG_WRITES = {
    (True, True): text(f"WITH {_PG_WRITE_ANSWERS}, {_PG_WRITE_AUDIT} {_PG_NEXT_VERSION}"),
    (False, True): text(f"WITH {_PG_WRITE_AUDIT} {_PG_NEXT_VERSION}"),
    (False, False): text(_PG_NEXT_VERSION),
}


def _write(
    session: Session,
    draft: Draft,
    *,
    upserts: Mapping[str, dict[str, Any]],
    audit: EntryFields | None,
    at: datetime,
    by: int | None,
) -> int | None:
    """Insert or update ``upserts`` on the (submission, question) key, append the audit entry and move the
    version on; the new version, or None if the draft is no longer at its version."""
    params: dict[str, Any] = {"submission_id": draft.id, "version": draft.version, "at": at}
    if session.get_bind().dialect.name == "postgresql":
        if audit is not None:
            values = entry(**audit)
            params |= values | {"before": json_text(values["before"]), "after": json_text(values["after"])}
        if upserts:
            params |= {"answers": json_text(upserts), "updated_by_id": by}
        version: int | None = session.scalar(_PG_WRITES[bool(upserts), audit is not None], params)
        return version
    if upserts:
        insert = sqlite_insert(Answer)
        columns = ("value", "evidence_links", "note", "updated_at", "updated_by_id")
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[Answer.submission_id, Answer.question_code],
                set_={column: getattr(insert.excluded, column) for column in columns},
            ),
            [
                {
                    "submission_id": draft.id,
                    "question_code": code,
                    "value": a["value"],
                    "evidence_links": a["evidence"],
                    "note": a["note"],
                    "updated_at": at,
                    "updated_by_id": by,
                }
                for code, a in upserts.items()
            ],
        )
    if audit is not None:
        record(session=session, **audit)
    next_version: int | None = session.scalar(_NEXT_VERSION, params)
    return next_version


def save_answers(
    *,
    session: Session,
    submission_id: int,
    if_match: str | None,
    answers: Mapping[str, Mapping[str, Any] | None],
    by: Principal,
    now: datetime | None = None,
) -> SaveResult:
    """Apply a partial change of answers, based on the version named by ``if_match`` (an If-Match header).

    Refused unless the principal is the body's operator (403), the window is open and the submission is a
    draft (409), and If-Match is present (428) and names the current version (412, with the current
    version). Every bad
    field is reported at once (422) and nothing is written. Each changed answer records who changed it and
    when, and is audited with its value before and after; the submission's version always moves on.
    """
    now = now or utcnow()
    draft = load_for_edit(session=session, submission_id=submission_id, by=by, now=now)
    ensure_current(draft, parse_if_match(if_match))
    not_objects = [
        FieldProblem(
            f"answers.{code}",
            "an answer must be an object with value, evidence and note, or null",
            "Jawaban ini tidak dapat dibaca.",
        )
        for code, patch in answers.items()
        if patch is not None and not isinstance(patch, Mapping)
    ]
    if not_objects:
        raise InvalidInput(
            "some answers do not fit the template; nothing was saved",
            errors=not_objects,
            indonesian=NOT_SAVED_TEXT,
        )
    template = parsed_version(session, draft.template_version_id, draft.template_hash)
    stored, files = _stored(session, draft.id)

    merged = {code: _merge(stored.get(code), patch) for code, patch in answers.items()}
    problems = _limit_problems(answers)
    try:
        fresh = answers_or_422(template, {code: after or {} for code, after in merged.items()})
    except InvalidInput as exc:
        problems = exc.errors + problems
    if problems:
        raise InvalidInput(
            "some answers do not fit the template; nothing was saved",
            errors=problems,
            indonesian=NOT_SAVED_TEXT,
        )

    changed = sorted(code for code, after in merged.items() if after != stored.get(code))
    upserts = {code: after for code in changed if (after := merged[code]) is not None}
    removed = [code for code in changed if merged[code] is None]
    if removed:
        session.execute(
            delete(_ANSWER).where(_ANSWER.c.submission_id == draft.id, _ANSWER.c.question_code.in_(removed))
        )
    # One entry per save, naming each changed answer with its value before and after (None: absent). A row per
    # answer cost PostgreSQL about 2 ms per full SAQ (index and foreign-key upkeep of a hundred rows) and told
    # no more.
    audit: EntryFields | None = None
    if changed:
        audit = {
            "actor": by,
            "action": "answers.save",
            "entity": "submission",
            "entity_id": draft.id,
            "before": {code: stored.get(code) for code in changed},
            "after": {code: merged[code] for code in changed},
            "commission_id": draft.commission_id,
            "at": now,
        }
    version = _write(session, draft, upserts=upserts, audit=audit, at=now, by=by.account_id)
    if version is None:  # saved by another process since our read (only possible where nothing locks the row)
        raise StaleVersion(
            f"submission {draft.id} changed while saving; reload it and save again",
            indonesian=STALE_TEXT,
            current_version=None,
        )

    # The score of the submission as it now stands: the answers just validated plus the untouched ones.
    untouched = {code: after for code, after in stored.items() if code not in merged}
    final = scoring.parse_answers(template, untouched) if untouched else {}
    final.update({code: answer for code, answer in fresh.items() if merged[code] is not None})
    card = scoring.score(template, with_files(final, files))
    return SaveResult(submission_id=draft.id, version=version, changed=changed, score=_summary(card))


# --- Submitting --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replayable:
    """A response to send as is: either freshly made or replayed for a retried Idempotency-Key."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


def _fingerprint(action: str, submission_id: int, acknowledged: IncompleteCounts | None = None) -> str:
    request = f"{action}:{submission_id}"
    if acknowledged is not None:
        request += f":{acknowledged.unanswered}:{acknowledged.evidence_missing}"
    return hashlib.sha256(request.encode()).hexdigest()


def submit(
    *,
    session: Session,
    submission_id: int,
    by: Principal,
    acknowledge_incomplete: IncompleteCounts | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Replayable:
    """Lock the submission's answers (status ``submitted``) while the window is open.

    An SAQ with unanswered questions or answers lacking required evidence is submitted only when
    ``acknowledge_incomplete`` names exactly the counts it has now (409 ``submission-incomplete`` with the
    current counts otherwise, also when the answers changed after the person looked); a complete SAQ needs
    no acknowledgement. With an ``Idempotency-Key``, a retry by the same principal returns the stored first
    response, even after the window closed; the same key used for another request is a 422. Without a key,
    submitting an already-submitted submission is a 409.
    """
    now = now or utcnow()
    ctx = _load(session, submission_id, for_update=True)
    policy.ensure_answer_for_body(by, commission_id=ctx.body.commission_id, body_id=ctx.body.id)
    fingerprint = _fingerprint("submit", submission_id, acknowledge_incomplete)
    if idempotency_key is not None:
        if not idempotency_key or len(idempotency_key) > 200:
            raise InvalidInput(
                "Idempotency-Key must be 1 to 200 characters",
                errors=[
                    FieldProblem(
                        "header:Idempotency-Key",
                        "1 to 200 characters",
                        "Kode pengiriman harus 1 sampai 200 karakter.",
                    )
                ],
                indonesian="Kode pengiriman tidak sah. Muat ulang halaman kirim, lalu kirim lagi.",
            )
        previous = session.get(IdempotentRequest, (by.actor_key, idempotency_key), populate_existing=True)
        if previous is not None:
            if previous.request_fingerprint != fingerprint:
                raise InvalidInput(
                    "this Idempotency-Key was already used for a different request; use a new key",
                    errors=[
                        FieldProblem(
                            "header:Idempotency-Key",
                            "already used for another request",
                            "Kode pengiriman ini sudah dipakai untuk permintaan lain.",
                        )
                    ],
                    indonesian="Kode pengiriman ini sudah dipakai untuk permintaan lain. Muat ulang halaman "
                    "kirim, lalu kirim lagi.",
                )
            return Replayable(previous.status_code, previous.response_body, replayed=True)
    sub = ctx.submission
    if sub.status == "submitted":
        assert sub.submitted_at is not None, "a submitted submission has its time"
        zone = commission_timezone(session, ctx.body.commission_id)
        raise Conflict(
            f"submission {sub.id} was already submitted on {sub.submitted_at:%Y-%m-%d %H:%M} UTC",
            indonesian=f"SAQ ini sudah dikirim pada {format_local(sub.submitted_at, zone)}.",
            submission_status=sub.status,
        )
    ensure_window_open(session=session, round_=ctx.round, body=ctx.body, now=now)
    _, card, stored = _card(session, ctx)
    unanswered, missing = open_items(card, stored)
    left_open = IncompleteCounts(unanswered=len(unanswered), evidence_missing=len(missing))
    _ensure_acknowledged(left_open, acknowledge_incomplete)
    acknowledged = left_open if unanswered or missing else None
    sub.status = "submitted"
    sub.submitted_at = now
    sub.submitted_by_id = by.account_id
    sub.updated_at = now
    session.flush()
    record(
        session=session,
        actor=by,
        action="submission.submit",
        entity="submission",
        entity_id=sub.id,
        before={"status": "draft"},
        after={
            "status": "submitted",
            "submitted_at": now.isoformat(),
            "score": str(card.score),
            "acknowledged_incomplete": None if acknowledged is None else acknowledged.model_dump(),
        },
        commission_id=ctx.body.commission_id,
    )
    webhook_events.submission_submitted(
        session,
        commission_id=ctx.body.commission_id,
        round_id=ctx.round.id,
        submission_id=sub.id,
        body_id=ctx.body.id,
        submitted_at=now,
        at_deadline=False,
    )
    result = SubmitResult(
        submission_id=sub.id,
        status=sub.status,
        version=sub.version,
        submitted_at=now,
        submitted_by_id=sub.submitted_by_id,
        score=_summary(card),
        acknowledged_incomplete=acknowledged,
    ).model_dump(mode="json")
    session.flush()
    if idempotency_key is not None:
        # The same key at the same moment for another submission: the primary key refuses the second, a 409
        # naming the header (app/db/uniqueness.py).
        session.add(
            IdempotentRequest(
                actor=by.actor_key,
                key=idempotency_key,
                request_fingerprint=fingerprint,
                status_code=200,
                response_body=result,
            )
        )
        session.flush()
    return Replayable(200, result, replayed=False)
