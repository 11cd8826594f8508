"""API schemas of jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.db.base import utcnow
from app.db.models import Job
from app.inputs import StrictId

# The job kinds registered with ``export=True`` (tests/contract/test_document_rules.py checks they agree).
ExportKind = Literal["letters", "recap", "result_sheets"]
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


class ExportRequest(BaseModel):
    """A file to make from a round's published results."""

    model_config = ConfigDict(extra="forbid")

    kind: ExportKind = Field(
        description="`recap` (the recap workbook), `result_sheets` (a ZIP of every body's result sheet) or "
        "`letters` (a ZIP of every body's letter as PDF).",
        examples=["recap"],
    )
    revision: StrictId | None = Field(
        default=None, description="A published revision; the latest when left out (resolved when asked)."
    )


class Progress(BaseModel):
    done: int
    total: int | None = Field(description="Units of work in all (bodies, links, rows); null until known.")
    percent: float | None
    seconds_left: int | None = Field(description="An estimate from the pace so far; null until there is one.")


class JobFile(BaseModel):
    name: str
    media_type: str | None
    size: int
    sha256: str
    expires_at: datetime | None = Field(description="When the file is removed (EMONEV_JOB_FILES_KEEP_DAYS).")
    removed: bool


class JobOut(BaseModel):
    id: int
    kind: str
    title: str = Field(description="What the job makes, in Bahasa Indonesia (as the pages show it).")
    commission_id: int | None
    round_id: int | None
    params: dict[str, Any]
    status: JobStatus
    progress: Progress
    attempts: int
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(description="Why it failed or was cancelled (English).")
    error_indonesian: str | None = Field(description="The same reason, as the pages show it.")
    result: dict[str, Any] | None = Field(description="A summary some jobs give (a link sweep's counts).")
    file: JobFile | None
    download_url: str | None = Field(description="Where to fetch the file once the job is done.")

    @classmethod
    def of(cls, job: Job, *, title: str, download_url: str | None, now: datetime | None = None) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            title=title,
            commission_id=job.commission_id,
            round_id=job.round_id,
            params=job.params or {},
            status=job.status,
            progress=progress_of(job, now or utcnow()),
            attempts=job.attempts,
            requested_by=job.requested_by_label,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error if job.status in ("failed", "cancelled") else None,
            error_indonesian=job.error_indonesian if job.status in ("failed", "cancelled") else None,
            result=job.result,
            file=None
            if job.file_path is None
            else JobFile(
                name=job.file_name or "",
                media_type=job.file_media_type,
                size=job.file_size or 0,
                sha256=job.file_sha256 or "",
                expires_at=job.expires_at,
                removed=job.file_removed_at is not None,
            ),
            download_url=download_url
            if job.status == "done" and job.file_path and not job.file_removed_at
            else None,
        )


def progress_of(job: Job, now: datetime) -> Progress:
    """Done, total, percentage and the time left at the pace so far (from the job's start)."""
    total = job.progress_total
    done = job.progress_done
    if job.status == "done":
        return Progress(done=total or done, total=total, percent=100.0, seconds_left=0)
    percent = round(100 * done / total, 1) if total else None
    left = None
    if job.status == "running" and total and done and job.started_at is not None:
        elapsed = (now - job.started_at).total_seconds()
        left = max(0, round(elapsed / done * (total - done)))
    return Progress(done=done, total=total, percent=percent, seconds_left=left)
