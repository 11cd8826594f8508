"""Running one job: claim it, run its kind's function as the person who asked, place its file, record the
outcome. The same function runs under procrastinate (PostgreSQL) and in the server's job thread (SQLite).

A run that raises anything but a domain error (a lost database, a bug) leaves the job ``running`` and
raises again, for the queue to retry it with backoff; the attempt after the last allowed one marks it failed
with the reason instead. A domain error (the round unpublished, the requester's rights gone) fails the job at
once: trying again would only say the same.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.faults import kind_of
from app.db.models import Job
from app.errors import EmonevError
from app.jobs import files, parts
from app.jobs.kinds import JobCancelled, JobOutcome, JobRun, registry
from app.jobs.service import CANCELLED, DONE, FAILED, PENDING, RUNNING, principal_now
from app.settings import Settings

log = logging.getLogger("emonev.jobs")

# Progress is written at most this often (and always at the end): a job reporting every row costs no more
# than a write a second.
REPORT_EVERY_SECONDS = 1.0

_SUFFIXES = {
    "application/zip": ".zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/pdf": ".pdf",
    "text/csv": ".csv",
    "application/json": ".json",
}


# What the pages say of a refusal that carries no sentence of its own (the English one is never shown there).
_REFUSED = "Pekerjaan ini tidak dapat diselesaikan. Silakan minta ulang; bila gagal lagi, hubungi pengelola."
_INDONESIAN_BY_STATUS = {
    403: "Peminta pekerjaan ini tidak lagi berwenang atas data ini, sehingga pekerjaan tidak dijalankan.",
    404: "Data yang dibutuhkan pekerjaan ini sudah tidak ada.",
    409: "Keadaan data sudah berubah sehingga pekerjaan ini tidak dapat diselesaikan. Silakan minta ulang.",
}


class _Reporter:
    def __init__(self, sessions: sessionmaker[Session], job_id: int, parent_id: int | None) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.parent_id = parent_id
        self.last = 0.0
        # The latest total told, written or not: a job quicker than a report still ends showing it.
        self.total: int | None = None

    def __call__(self, done: int, total: int | None, *, force: bool = False) -> None:
        if total is not None:
            self.total = total
        now = time.monotonic()
        if not force and now - self.last < REPORT_EVERY_SECONDS:
            return
        self.last = now
        values: dict[str, Any] = {"progress_done": done, "heartbeat_at": utcnow()}
        if total is not None:
            values["progress_total"] = total
        with self.sessions.begin() as session:
            moved = session.execute(
                update(Job).where(Job.id == self.job_id, Job.status == RUNNING).values(**values)
            ).rowcount  # type: ignore[attr-defined]
            # A part also moves its parent's progress, and stops when the parent has ended.
            if moved and self.parent_id is not None:
                moved = parts.report_to_parent(session, self.parent_id)
        if not moved:
            raise JobCancelled


class _Heartbeat:
    """Moves the job's ``heartbeat_at`` every few seconds while it runs, whatever the work reports: on SQLite
    a job whose heartbeat stops is taken for dead and queued again (app/jobs/worker.py requeue_stalled), so
    a long step without progress reports must not look like a killed server."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int, every: float) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.every = every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"emonev-job-{job_id}-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with self.sessions.begin() as session:
                    session.execute(
                        update(Job)
                        .where(Job.id == self.job_id, Job.status == RUNNING)
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:  # the database may be away for a moment; the job itself will notice
                log.warning("job %s: could not record its heartbeat", self.job_id)

    def __enter__(self) -> _Heartbeat:
        # Sessions bound to one connection (the tests' rolled-back transaction) cannot be shared with a
        # thread; they run jobs far shorter than a heartbeat anyway.
        if isinstance(self.sessions.kw.get("bind"), Engine):
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()


def _fail(sessions: sessionmaker[Session], job: Job, english: str, indonesian: str) -> None:
    with sessions.begin() as session:
        failed = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status.in_(PENDING))
            .values(
                status=FAILED,
                finished_at=utcnow(),
                dedup_key=None,
                error=english[:2000],
                error_indonesian=indonesian[:2000],
            )
        ).rowcount  # type: ignore[attr-defined]
        if failed and job.parent_id is not None:
            parts.part_failed(session, job, english, indonesian)


def _claim(sessions: sessionmaker[Session], job_id: int, settings: Settings) -> Job | None:
    """Mark the job running for this attempt; None when there is nothing to run (it ended, was cancelled, or
    has used up its attempts: then it is marked failed)."""
    with sessions.begin() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status not in PENDING:
            return None
        if job.attempts >= settings.job_max_attempts:
            reason = job.error or "it stopped before finishing (a worker was stopped or lost the database)"
            job.status = FAILED
            job.finished_at = utcnow()
            job.dedup_key = None
            job.error = f"gave up after {job.attempts} attempts: {reason}"[:2000]
            job.error_indonesian = (
                f"Pekerjaan ini gagal {job.attempts} kali dan tidak dicoba lagi. Silakan minta ulang; bila "
                "gagal lagi, hubungi pengelola layanan."
            )
            if job.parent_id is not None:
                parts.part_failed(session, job, job.error, job.error_indonesian)
            return None
        job.status = RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = utcnow()
        if job.parts_total is None:  # a job assembling its parts keeps the progress they made
            job.progress_done = 0
        session.flush()
        session.expunge(job)
        return job


def run_job(job_id: int, *, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Run job ``job_id`` once (see the module's docstring for what happens when it fails)."""
    job = _claim(sessions, job_id, settings)
    if job is None:  # it has ended (or just gave up): nothing will read its input again
        files.remove_input(settings.job_files_dir, job_id)
        return
    kind = registry()[job.kind]
    root = settings.job_files_dir
    staged = files.staging_path(root, job.id)
    reporter = _Reporter(sessions, job.id, job.parent_id)
    try:
        with sessions() as session:
            principal = principal_now(session, job.requested_by)
        with _Heartbeat(sessions, job.id, settings.worker_heartbeat_seconds):
            outcome: JobOutcome = kind.run(
                JobRun(
                    job_id=job.id,
                    kind=job.kind,
                    params=dict(job.params),
                    round_id=job.round_id,
                    commission_id=job.commission_id,
                    principal=principal,
                    settings=settings,
                    sessions=sessions,
                    target=staged,
                    report=reporter,
                ),
            )
    except JobCancelled:
        staged.unlink(missing_ok=True)
        if job.parent_id is not None:
            with sessions.begin() as session:
                parts.end_with_parent(session, job.id)
        files.remove_input(root, job.id)
        log.info("job %s (%s) stopped: cancelled", job.id, job.kind)
        return
    except EmonevError as exc:
        staged.unlink(missing_ok=True)
        _fail(sessions, job, exc.detail, exc.indonesian or _INDONESIAN_BY_STATUS.get(exc.status, _REFUSED))
        files.remove_input(root, job.id)
        log.info("job %s (%s) failed: %s", job.id, job.kind, exc.detail)
        return
    except Exception as exc:
        staged.unlink(missing_ok=True)
        fault = kind_of(exc)
        reason = f"the database was {fault.value}" if fault else f"{type(exc).__name__}: {exc}"
        log.exception("job %s (%s) attempt %s stopped: %s", job.id, job.kind, job.attempts, reason)
        _record_error(sessions, job.id, reason)
        raise
    _finish(sessions, settings, job, staged, outcome, reporter.total)


def complete_in(session: Session, job_id: int, result: dict[str, Any], *, total: int = 1) -> None:
    """Mark a running job done inside the caller's transaction, for work whose outcome is that transaction
    (a publication): the job is done if and only if the work commits, and no cancel can come between the
    two. Raises ``JobCancelled`` (so the work rolls back) when the job was cancelled meanwhile."""
    now = utcnow()
    moved = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING)
        .values(
            status=DONE,
            finished_at=now,
            heartbeat_at=now,
            dedup_key=None,
            error=None,
            result=result,
            progress_done=total,
            progress_total=total,
        )
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        raise JobCancelled


def _record_error(sessions: sessionmaker[Session], job_id: int, reason: str) -> None:
    """Keep the latest reason with the job (while it waits to be tried again), if the database lets us."""
    try:
        with sessions.begin() as session:
            session.execute(update(Job).where(Job.id == job_id).values(error=reason[:2000]))
    except Exception:  # the database may be what failed; the reason is in the log
        log.warning("job %s: could not record the error", job_id)


def _finish(
    sessions: sessionmaker[Session],
    settings: Settings,
    job: Job,
    staged: Path,
    outcome: JobOutcome,
    total: int | None,
) -> None:
    root = settings.job_files_dir
    if outcome.waiting:
        staged.unlink(missing_ok=True)
        log.info("job %s (%s) waits for its parts", job.id, job.kind)
        return
    placed = None
    if outcome.file_name is not None:
        suffix = _SUFFIXES.get(outcome.media_type or "", Path(outcome.file_name).suffix)
        placed = files.place(root, job.id, staged, suffix)
    else:
        staged.unlink(missing_ok=True)
    now = utcnow()
    with sessions.begin() as session:
        current = session.get(Job, job.id, with_for_update=True)
        if current is None or current.status != RUNNING:
            # Cancelled while the file was being placed: nobody is offered it. (Or the work marked itself
            # done in its own transaction: ``complete_in``.)
            if placed is not None:
                files.resolve(root, placed.relative_path).unlink(missing_ok=True)
            files.remove_input(root, job.id)
            if current is not None and current.status == CANCELLED:
                log.info("job %s (%s) stopped: cancelled as it finished, its file not kept", job.id, job.kind)
            return
        current.status = DONE
        current.finished_at = now
        current.heartbeat_at = now
        current.dedup_key = None
        current.error = None
        current.result = outcome.result
        if total is not None:
            current.progress_total = total
        if current.progress_total is not None:
            current.progress_done = current.progress_total
        if placed is not None:
            current.file_name = outcome.file_name
            current.file_media_type = outcome.media_type
            current.file_path = placed.relative_path
            current.file_size = placed.size
            current.file_sha256 = placed.sha256
            current.expires_at = now + timedelta(days=settings.job_files_keep_days)
        if current.parent_id is not None:
            parts.part_finished(session, current)
    files.remove_input(root, job.id)
    if job.parts_total is not None:
        parts.remove_part_files(sessions, root, job.id)
    log.info("job %s (%s) done", job.id, job.kind)
