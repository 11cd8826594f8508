"""The files jobs make: written under ``tmp/`` while the job runs, then moved whole (fsync, rename) to
``<job id>/`` under ``EMONEV_JOB_FILES_DIR``, so that nobody is ever offered half a file; removed once they
expire."""

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


def remove_expired(session: Session, root: Path, now: datetime) -> int:
    """Delete the files of jobs past their ``expires_at`` (their rows stay, saying when the file went) and
    staging files older than a day (left by a worker that was killed). Returns how many job files went."""
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
