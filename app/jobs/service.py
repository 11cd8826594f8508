"""Asking for jobs, reading them, cancelling and retrying them; who may do which."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.deps import principal_for_account
from app.accounts.principal import SYSTEM, Principal, Role
from app.commissions.service import get_commission
from app.db.base import utcnow
from app.db.models import Account, ApiKey, Job
from app.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from app.jobs import files, queue
from app.jobs.kinds import JobKind, JobScope, registry
from app.pagination import PageParams, PageResult, paginate
from app.rounds.service import get_round

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
PENDING = (QUEUED, RUNNING)
ENDED = (DONE, FAILED, CANCELLED)


def kind_named(name: str, *, export_only: bool = False) -> JobKind:
    kinds = registry()
    kind = kinds.get(name)
    if kind is None or (export_only and not kind.export):
        offered = sorted(k.name for k in kinds.values() if k.export or not export_only)
        raise InvalidInput(
            f"unknown kind {name!r}",
            errors=[
                FieldProblem(
                    "kind",
                    f"must be one of {', '.join(offered)}",
                    f"Jenis pekerjaan harus salah satu dari {', '.join(offered)}.",
                )
            ],
            indonesian="Jenis pekerjaan ini tidak dikenal.",
        )
    return kind


def _dedup_key(kind: str, scope: str, params: dict[str, Any]) -> str:
    options = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"{kind}:{scope}:{options}"


def snapshot(principal: Principal) -> dict[str, Any]:
    """Who asked, as stored with the job (the token they used is left out)."""
    fields = asdict(principal)
    fields.pop("token_id", None)
    fields["role"] = principal.role.value
    return fields


def principal_now(session: Session, stored: dict[str, Any]) -> Principal:
    """The person (or key) who asked for a job, with their rights as they stand now: a job runs with no more
    than its requester may still do. An account since deactivated or a key since revoked runs nothing."""
    gone = Forbidden(
        "the account or API key that asked for this job may no longer use the service",
        indonesian="Akun atau kunci API yang meminta pekerjaan ini tidak aktif lagi.",
    )
    if stored.get("account_id") is not None:
        account = session.get(Account, stored["account_id"])
        if account is None or not account.active:
            raise gone
        return principal_for_account(account)
    if stored.get("api_key_id") is not None:
        key = session.get(ApiKey, stored["api_key_id"])
        if key is None or key.revoked_at is not None:
            raise gone
        return Principal(
            role=Role(stored["role"]),
            label=stored["label"],
            api_key_id=key.id,
            commission_id=key.commission_id,
            body_id=key.body_id,
        )
    return SYSTEM


def request_job(
    *,
    session: Session,
    kind_name: str,
    params: dict[str, Any],
    by: Principal,
    round_id: int | None = None,
    commission_id: int | None = None,
    export_only: bool = False,
) -> tuple[Job, bool]:
    """Queue a job of ``kind_name`` on a round (or, without one, on ``commission_id``) for ``by``, or find the
    identical one (same kind, scope and options) that is still queued or running. Returns the job and
    whether it is new."""
    kind = kind_named(kind_name, export_only=export_only)
    if round_id is not None:
        round_ = get_round(session=session, round_id=round_id)
        scope = JobScope(round_.commission_id, round_)
    else:
        if commission_id is None:  # the service's own work (delivering e-mail): nobody asks for it again
            raise Conflict(
                f"a {kind.name} job is queued by the service itself, not asked for",
                indonesian="Pekerjaan ini dijalankan oleh layanan sendiri dan tidak dapat diminta ulang.",
            )
        get_commission(session=session, commission_id=commission_id, by=by)
        scope = JobScope(commission_id)
    params = kind.prepare(session, by, scope, dict(params))
    identity = {name: value for name, value in params.items() if name not in kind.dedup_ignores}
    key = _dedup_key(kind.name, f"{scope.commission_id}/{round_id}", identity)
    return queue_job(
        session=session,
        kind=kind.name,
        params=params,
        by=by,
        dedup_key=key,
        commission_id=scope.commission_id,
        round_id=round_id,
    )


def queue_job(
    *,
    session: Session,
    kind: str,
    params: dict[str, Any],
    by: Principal,
    dedup_key: str,
    commission_id: int | None,
    round_id: int | None = None,
) -> tuple[Job, bool]:
    """Queue a job whose rights and params are already checked, or find the pending one with the same
    ``dedup_key``. Returns the job and whether it is new. (``request_job`` is the way for people's requests;
    the service itself queues its own work, such as delivering e-mail, through this.)"""
    key = dedup_key
    existing = session.scalar(select(Job).where(Job.dedup_key == key))
    if existing is not None:
        return existing, False
    job = Job(
        kind=kind,
        commission_id=commission_id,
        round_id=round_id,
        params=params,
        dedup_key=key,
        status=QUEUED,
        requested_by=snapshot(by),
        requested_by_label=by.label,
        progress_done=0,
        attempts=0,
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        # Someone asked for the same job at the same moment and their row won: theirs is the job.
        existing = session.scalar(select(Job).where(Job.dedup_key == key))
        if existing is None:
            raise
        return existing, False
    queue.enqueue(session, job)
    return job, True


def get_job(*, session: Session, job_id: int, by: Principal) -> Job:
    """A job, for those who may read what it makes (404 for the others too: a job's existence says little,
    but its parameters may)."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist", indonesian="Pekerjaan ini tidak ada.")
    try:
        registry()[job.kind].ensure_may_read(session, by, job)
    except Forbidden as exc:
        raise NotFound(f"job {job_id} does not exist", indonesian="Pekerjaan ini tidak ada.") from exc
    return job


def _whole(session: Session, job: Job) -> Job:
    """The job a part belongs to (cancelling or retrying a part means the whole job), or the job itself."""
    if job.parent_id is None:
        return job
    parent = session.get(Job, job.parent_id)
    assert parent is not None
    return parent


def round_jobs(*, session: Session, round_id: int, by: Principal, params: PageParams) -> PageResult[Job]:
    """The jobs of a round that ``by`` may read, oldest first (keyset pages by id); the parts of a split job
    are not listed (its progress counts theirs)."""
    get_round(session=session, round_id=round_id, by=by)
    page = paginate(
        session=session,
        stmt=select(Job).where(Job.round_id == round_id, Job.parent_id.is_(None)),
        id_column=Job.id,
        params=params,
    )
    return PageResult(rows=_readable(session, by, page.rows), next_cursor=page.next_cursor)


def latest_round_jobs(
    *, session: Session, round_id: int, by: Principal, limit: int, kinds: Sequence[str] | None = None
) -> list[Job]:
    """The newest ``limit`` jobs of a round that ``by`` may read (of these ``kinds`` only, if given), newest
    first (the downloads page)."""
    get_round(session=session, round_id=round_id, by=by)
    stmt = select(Job).where(Job.round_id == round_id)
    if kinds is not None:
        stmt = stmt.where(Job.kind.in_(kinds))
    rows = session.scalars(stmt.order_by(Job.id.desc()).limit(limit)).all()
    return _readable(session, by, rows)


def _readable(session: Session, by: Principal, jobs: Sequence[Job]) -> list[Job]:
    kinds = registry()
    readable = []
    for job in jobs:
        try:
            kinds[job.kind].ensure_may_read(session, by, job)
        except Forbidden:
            continue
        readable.append(job)
    return readable


def _asked_by(job: Job, by: Principal) -> bool:
    stored = job.requested_by or {}
    if by.account_id is not None:
        return bool(stored.get("account_id") == by.account_id)
    return by.api_key_id is not None and stored.get("api_key_id") == by.api_key_id


def cancel_job(*, session: Session, job_id: int, by: Principal) -> Job:
    """Cancel a queued or running job: the person who asked for it, or an administrator of its commission
    (the system administrator for a duty of the service, which has no commission).
    A running job stops at its next progress report and its half-made file is removed; 409 when it has
    already ended. Cancelling a part of a job cancels the whole job, and the job its parts."""
    job = _whole(session, get_job(session=session, job_id=job_id, by=by))
    if job.commission_id is None:
        # A duty of the service (e-mail, webhook delivery) belongs to no commission: the system
        # administrator may stop a stuck one; the duty is queued again when work is due.
        policy.ensure_system_admin(by)
    elif not _asked_by(job, by):
        policy.ensure_admin(by, job.commission_id)
    session.refresh(job, with_for_update=True)
    if job.status not in PENDING:
        raise Conflict(
            f"job {job.id} has already ended ({job.status})",
            indonesian="Pekerjaan ini sudah selesai dan tidak dapat dibatalkan lagi.",
        )
    job.status = CANCELLED
    job.finished_at = utcnow()
    job.dedup_key = None
    job.error = f"cancelled by {by.label}"
    job.error_indonesian = f"Dibatalkan oleh {by.label}."
    queue.withdraw(session, job)
    cancel_parts(session, job.id, f"cancelled by {by.label}", f"Dibatalkan oleh {by.label}.")
    return job


def cancel_parts(session: Session, parent_id: int, english: str, indonesian: str) -> None:
    """Cancel the parts of a job (app/jobs/parts.py) that have not ended, and take those no worker has yet
    off the queue. A part locked meanwhile by its worker (reporting progress, finishing: that locks the part,
    then the job) is skipped rather than waited for, which could deadlock: it sees the job ended at its next
    progress report and is cancelled then (app/jobs/runner.py)."""
    pending = (
        select(Job)
        .where(Job.parent_id == parent_id, Job.status.in_(PENDING))
        .with_for_update(skip_locked=True)
    )
    for part in session.scalars(pending):
        part.status = CANCELLED
        part.finished_at = utcnow()
        part.error = english
        part.error_indonesian = indonesian
        queue.withdraw(session, part)


def retry_job(*, session: Session, job_id: int, by: Principal) -> tuple[Job, bool]:
    """Ask again for a job that failed or was cancelled (or whose file has expired): the same kind, round and
    options, as a new job (or the identical one already queued)."""
    job = _whole(session, get_job(session=session, job_id=job_id, by=by))
    if job.status in PENDING:
        return job, False
    return request_job(
        session=session,
        kind_name=job.kind,
        round_id=job.round_id,
        commission_id=job.commission_id,
        params=job.params,
        by=by,
    )


def job_file(*, session: Session, job_id: int, by: Principal, root: Path) -> tuple[Job, Path]:
    """The finished file of a job: 409 while it is not done (or made no file), 410 once removed."""
    job = get_job(session=session, job_id=job_id, by=by)
    if job.status != DONE or job.file_path is None:
        raise Conflict(
            f"job {job.id} has no file ({job.status})",
            indonesian="Berkas pekerjaan ini belum tersedia.",
        )
    path = files.resolve(root, job.file_path)
    if job.file_removed_at is not None or not path.is_file():
        raise FileGone(
            f"the file of job {job.id} was removed after its retention period; ask for it again",
            indonesian="Berkas ini sudah dihapus karena masa simpannya habis; minta dibuat lagi.",
        )
    return job, path


class FileGone(Conflict):
    status = 410
    type_slug = "gone"
    title = "Gone"
