"""The files jobs make: written under ``tmp/`` while the job runs, then moved whole (fsync, rename) to
``<job id>/`` under ``EMONEV_JOB_FILES_DIR``, so that nobody is ever offered half a file; removed once they
expire.

The files jobs read (an uploaded workbook to import) are kept under ``inputs/<job id>.<suffix>`` from the
request that queued the job until the job ends; ``remove_expired`` sweeps up those of jobs that ended
without running (cancelled while queued) and of requests that never committed."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Job
from app.evidence.storage import durable_replace

_CHUNK = 1024 * 1024
INPUTS = "inputs"
# An input whose job row cannot be seen is left alone this long: the request that wrote it may not have
# committed yet.
_UNCLAIMED_INPUT_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class PlacedFile:
    relative_path: str
    size: int
    sha256: str


def staging_path(root: Path, job_id: int) -> Path:
    """A fresh name under ``root/tmp`` for a run of job ``job_id`` to write to (each attempt its own)."""
    directory = root / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{job_id}-{uuid.uuid4().hex}.part"


def place(root: Path, job_id: int, staged: Path, suffix: str) -> PlacedFile:
    """Move a finished file from its staging name to its place, durably; returns where, its size and its
    SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with staged.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    relative = f"{job_id}/{uuid.uuid4().hex}{suffix}"
    durable_replace(staged, root / relative)
    return PlacedFile(relative, size, digest.hexdigest())


def resolve(root: Path, relative: str) -> Path:
    return root / relative


def store_input(root: Path, job_id: int, data: bytes, suffix: str) -> Path:
    """Keep what job ``job_id`` will read, durably (written aside, fsynced, renamed), before its request
    commits: a worker never finds a queued job without its input."""
    staged = staging_path(root, job_id)
    staged.write_bytes(data)
    target = root / INPUTS / f"{job_id}{suffix}"
    durable_replace(staged, target)
    return target


def input_of(root: Path, job_id: int) -> Path | None:
    """The input kept for job ``job_id``, if any."""
    directory = root / INPUTS
    return next(iter(sorted(directory.glob(f"{job_id}.*"))), None) if directory.is_dir() else None


def remove_input(root: Path, job_id: int) -> None:
    """Delete job ``job_id``'s input (its job has ended: nothing will read it again)."""
    directory = root / INPUTS
    if directory.is_dir():
        for path in directory.glob(f"{job_id}.*"):
            path.unlink(missing_ok=True)


def _remove_ended_inputs(session: Session, root: Path, now: datetime) -> None:
    directory = root / INPUTS
    if not directory.is_dir():
        return
    kept: dict[int, Path] = {}
    for path in directory.iterdir():
        stem = path.name.split(".", 1)[0]
        if stem.isdigit():
            kept[int(stem)] = path
    if not kept:
        return
    statuses: dict[int, str] = {
        job_id: status
        for job_id, status in session.execute(select(Job.id, Job.status).where(Job.id.in_(list(kept))))
    }
    cutoff = (now - _UNCLAIMED_INPUT_GRACE).timestamp()
    for job_id, path in kept.items():
        status = statuses.get(job_id)
        try:
            if status in ("done", "failed", "cancelled") or (
                status is None and path.stat().st_mtime < cutoff
            ):
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def remove_expired(session: Session, root: Path, now: datetime) -> int:
    """Delete the files of jobs past their ``expires_at`` (their rows stay, saying when the file went) and
        staging files older than a day (left by a worker that was killed), and the inputs of jobs that have
    ended. Returns how many job files went."""
    expired = session.scalars(
        select(Job).where(Job.expires_at < now, Job.file_path.is_not(None), Job.file_removed_at.is_(None))
    ).all()
    for job in expired:
        assert job.file_path is not None
        path = resolve(root, job.file_path)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty, or gone already
            path.parent.rmdir()
        job.file_removed_at = now
    _remove_ended_inputs(session, root, now)
    staging = root / "tmp"
    if staging.is_dir():
        cutoff = (now - timedelta(days=1)).timestamp()
        for leftover in staging.glob("*.part"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
    return len(expired)
