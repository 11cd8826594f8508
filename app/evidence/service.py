"""Evidence files (data dukung): attach to a question of a draft submission, download, remove.

A file counts as evidence for its question in scoring while it is not removed (see
``app.submissions.service.scoring_answers``). Removing marks the row; the blob stays, because other rows (of
this or another submission) may hold the same content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.audit.service import record
from app.db.base import utcnow
from app.db.models import EvidenceFile
from app.errors import Conflict, NotFound
from app.evidence.schemas import EvidenceFileOut, file_out
from app.evidence.storage import StagedUpload, blob_path
from app.submissions.service import (
    Draft,
    load_for_edit,
    load_for_read,
    next_version,
    parsed_version,
)

MAX_FILES_PER_QUESTION = 10


def _ensure_question(session: Session, draft: Draft, question_code: str) -> None:
    template = parsed_version(session, draft.template_version_id, draft.template_hash)
    try:
        template.question(question_code)
    except KeyError:
        raise NotFound(f"question {question_code} is not in the SAQ of submission {draft.id}") from None


def _ensure_room(session: Session, submission_id: int, question_code: str) -> None:
    count = session.scalar(
        select(func.count(EvidenceFile.id)).where(
            EvidenceFile.submission_id == submission_id,
            EvidenceFile.question_code == question_code,
            EvidenceFile.removed_at.is_(None),
        )
    )
    if (count or 0) >= MAX_FILES_PER_QUESTION:
        raise Conflict(
            f"question {question_code} already has {MAX_FILES_PER_QUESTION} files; remove one first",
            indonesian=f"Pertanyaan {question_code} sudah memiliki {MAX_FILES_PER_QUESTION} berkas data "
            "dukung. Hapus satu berkas sebelum mengunggah yang baru.",
            max_files=MAX_FILES_PER_QUESTION,
        )


@dataclass(frozen=True)
class Attached:
    """The evidence file a request attached, or the one it already had (``created`` False)."""

    file: EvidenceFileOut
    created: bool


def _live_copy(session: Session, submission_id: int, question_code: str, sha256: str) -> EvidenceFile | None:
    return session.scalars(
        select(EvidenceFile)
        .where(
            EvidenceFile.submission_id == submission_id,
            EvidenceFile.question_code == question_code,
            EvidenceFile.sha256 == sha256,
            EvidenceFile.removed_at.is_(None),
        )
        .order_by(EvidenceFile.id)
        .limit(1)
    ).first()


def attach(
    *,
    session: Session,
    submission_id: int,
    question_code: str,
    staged: StagedUpload,
    by: Principal,
    evidence_dir: Path,
    if_match: str | None = None,
    now: datetime | None = None,
) -> Attached:
    """Store a received file as evidence for one question of a draft submission (the submission locked).

    The same content (by SHA-256) already attached to the question, and not removed, is not stored again:
    the answer is that file (``created`` False) and nothing changes, so the version does not move and an
    ``if_match`` is not compared (a retried upload whose first answer was lost gets its file). Otherwise the
    submission's version moves on (a client holding the old ETag gets 412 on its next save); an ``if_match``
    sent must name the current version (412 otherwise). The answer carries the version after the request.
    The lock on the submission's row makes two identical uploads at the same moment one file."""
    now = now or utcnow()
    draft = load_for_edit(session=session, submission_id=submission_id, by=by, now=now)
    _ensure_question(session, draft, question_code)
    existing = _live_copy(session, submission_id, question_code, staged.sha256)
    if existing is not None:
        if not blob_path(evidence_dir, staged.sha256).is_file():
            staged.commit(evidence_dir)  # the stored copy went missing: this upload brings it back
        out = file_out(existing).model_copy(update={"submission_version": draft.version})
        return Attached(file=out, created=False)
    _ensure_room(session, submission_id, question_code)
    version = next_version(session, draft, expected=if_match, at=now)
    staged.commit(evidence_dir)
    row = EvidenceFile(
        submission_id=submission_id,
        question_code=question_code,
        sha256=staged.sha256,
        size=staged.size,
        content_type=staged.content_type,
        original_name=staged.original_name,
        uploaded_by_id=by.account_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session=session,
        actor=by,
        action="evidence.upload",
        entity="evidence_file",
        entity_id=row.id,
        after={
            "submission_id": submission_id,
            "question_code": question_code,
            "sha256": row.sha256,
            "size": row.size,
            "content_type": row.content_type,
            "name": row.original_name,
        },
        commission_id=draft.commission_id,
    )
    return Attached(file=file_out(row).model_copy(update={"submission_version": version}), created=True)


def _file(session: Session, file_id: int) -> EvidenceFile:
    row = session.get(EvidenceFile, file_id)
    if row is None or row.removed_at is not None:
        raise NotFound(f"evidence file {file_id} does not exist or was removed")
    return row


@dataclass(frozen=True)
class Download:
    path: Path
    name: str
    content_type: str
    size: int


def download(*, session: Session, file_id: int, by: Principal, evidence_dir: Path) -> Download:
    """The stored file, for whoever may read the submission it belongs to (``load_for_read``: a verifier
    not while the body is still filling in its SAQ)."""
    row = _file(session, file_id)
    load_for_read(session=session, submission_id=row.submission_id, by=by)
    path = blob_path(evidence_dir, row.sha256)
    if not path.is_file():
        raise NotFound(f"the content of evidence file {file_id} is missing from the evidence store")
    return Download(path=path, name=row.original_name, content_type=row.content_type, size=row.size)


def remove(
    *,
    session: Session,
    file_id: int,
    by: Principal,
    submission_id: int | None = None,
    if_match: str | None = None,
    now: datetime | None = None,
) -> int:
    """Withdraw a file from a draft submission while the window is open. The row is kept, marked removed.

    ``submission_id``, when given, is the submission the caller means (404 if the file is not part of it).
    The submission's version moves on, as for an upload; an ``if_match`` sent must name the current version
    (412 otherwise). Returns the submission's new version."""
    now = now or utcnow()
    row = _file(session, file_id)
    if submission_id is not None and row.submission_id != submission_id:
        raise NotFound(f"evidence file {file_id} is not part of submission {submission_id}")
    draft = load_for_edit(session=session, submission_id=row.submission_id, by=by, now=now)
    version = next_version(session, draft, expected=if_match, at=now)
    row.removed_at = now
    session.flush()
    record(
        session=session,
        actor=by,
        action="evidence.remove",
        entity="evidence_file",
        entity_id=row.id,
        before={"question_code": row.question_code, "sha256": row.sha256, "name": row.original_name},
        after={"removed_at": now.isoformat()},
        commission_id=draft.commission_id,
    )
    return version
