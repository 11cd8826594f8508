"""The round's downloads page: the recap workbook and the ZIP of result sheets are made as jobs (the same
``app.jobs.service`` the API uses). A person asks for one with a button, watches its progress bar (the page's
script polls ``/web/pekerjaan/{id}``; without scripts the page reloads itself while a job is pending) and
downloads the finished file with the page session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from app.accounts import policy
from app.commissions.service import commission_timezone
from app.db.base import utcnow
from app.db.models import Job
from app.db.session import SessionDep
from app.downloads import stored_file
from app.inputs import Id
from app.jobs import service as jobs
from app.jobs.kinds import registry
from app.jobs.schemas import progress_of
from app.results import service as results
from app.rounds import service as rounds
from app.settings import SettingsDep
from app.web import format as fmt
from app.web.forms import read_form
from app.web.render import redirect, render
from app.web.session import CurrentUser, csrf_protect

router = APIRouter()
json_router = APIRouter(prefix="/web", include_in_schema=False, dependencies=[Depends(csrf_protect)])

# How many of the round's jobs the page lists, newest first.
SHOWN = 20
BADGES = {
    "queued": "badge-info",
    "running": "badge-info",
    "done": "badge-ok",
    "failed": "badge-bad",
    "cancelled": "badge-warn",
}


@dataclass(frozen=True)
class JobView:
    """A job as the downloads page and its script show it: Indonesian words, the commission's time zone."""

    id: int
    title: str
    status: str
    status_label: str
    badge: str
    pending: bool
    requested: str
    revision: int | None
    percent: int | None
    percent_label: str
    left_label: str
    finished: str
    error: str | None
    file_name: str | None
    file_label: str
    file_url: str | None
    file_removed: bool
    kept_until: str

    def as_json(self) -> dict[str, Any]:
        """What the page's script needs to move the bar (and to know when to reload for the file)."""
        return {
            "id": self.id,
            "status": self.status,
            "status_label": self.status_label,
            "pending": self.pending,
            "percent": self.percent,
            "percent_label": self.percent_label,
            "left_label": self.left_label,
        }


def job_view(job: Job, timezone: str, now: datetime) -> JobView:
    kind = registry().get(job.kind)
    progress = progress_of(job, now)
    percent = None if progress.percent is None else int(progress.percent)
    has_file = job.status == jobs.DONE and job.file_path is not None
    removed = has_file and job.file_removed_at is not None
    return JobView(
        id=job.id,
        title=kind.title if kind else job.kind,
        status=job.status,
        status_label=fmt.JOB_STATUS.get(job.status, job.status),
        badge=BADGES.get(job.status, "badge-info"),
        pending=job.status in jobs.PENDING,
        requested=f"Diminta oleh {job.requested_by_label} pada {fmt.when(job.created_at, timezone)}",
        revision=(job.params or {}).get("revision"),
        percent=percent,
        percent_label="" if percent is None else f"{percent}%",
        left_label=_left(job.status, progress.seconds_left),
        finished=fmt.when(job.finished_at, timezone) if job.finished_at else "",
        error=job.error_indonesian if job.status in (jobs.FAILED, jobs.CANCELLED) else None,
        file_name=job.file_name if has_file else None,
        file_label=fmt.file_size(job.file_size or 0) if has_file else "",
        file_url=f"/pekerjaan/{job.id}/berkas" if has_file and not removed else None,
        file_removed=removed,
        kept_until=fmt.when(job.expires_at, timezone) if job.expires_at else "",
    )


def _left(status: str, seconds: int | None) -> str:
    if status == jobs.QUEUED:
        return "menunggu giliran"
    return fmt.time_left(seconds) if status == jobs.RUNNING else ""


def _back_to(job: Job) -> str:
    return f"/ronde/{job.round_id}/unduhan" if job.round_id is not None else "/"


@router.get("/ronde/{round_id}/unduhan")
def downloads_page(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The round's files: buttons that ask for them, and the jobs making them or made, newest first."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    policy.ensure_commission_reader(user.principal, round_.commission_id)
    tz = rounds.timezone_of(session=session, round_=round_)
    now = utcnow()
    # Only the jobs that make a file to download here (recap, ZIP), not link sweeps or previews.
    files = [kind.name for kind in registry().values() if kind.export]
    found = jobs.latest_round_jobs(
        session=session, round_id=round_id, by=user.principal, limit=SHOWN, kinds=files
    )
    views = [job_view(job, tz, now) for job in found]
    context = {
        "round": round_,
        "tz": tz,
        "publication": results.latest_publication(session=session, round_=round_),
        "jobs": views,
        "pending": any(v.pending for v in views),
    }
    return render(request, "admin/downloads.html", context)


@router.post("/ronde/{round_id}/unduhan")
async def ask_for_file(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Ask for the recap or the result sheets of the latest publication: a job, or the identical one already
    queued or running."""
    kind = str((await read_form(request)).get("kind") or "")
    _job, new = jobs.request_job(
        session=session,
        kind_name=kind,
        round_id=round_id,
        params={"revision": None},
        by=user.principal,
        export_only=True,
    )
    return redirect(f"/ronde/{round_id}/unduhan", message="berkas-diminta" if new else "berkas-sedang-dibuat")


@router.post("/pekerjaan/{job_id}/batalkan")
def cancel(job_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Stop a job that is waiting or running; no file is kept."""
    job = jobs.cancel_job(session=session, job_id=job_id, by=user.principal)
    return redirect(_back_to(job), message="berkas-dibatalkan")


@router.post("/pekerjaan/{job_id}/ulangi")
def retry(job_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Ask again for a job that failed, was cancelled or whose file has expired."""
    job, _new = jobs.retry_job(session=session, job_id=job_id, by=user.principal)
    return redirect(_back_to(job), message="berkas-diminta")


@router.get("/pekerjaan/{job_id}/berkas")
def job_file(job_id: Id, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> FileResponse:
    """The file a finished job made, under its name."""
    job, path = jobs.job_file(session=session, job_id=job_id, by=user.principal, root=settings.job_files_dir)
    return stored_file(
        path,
        name=job.file_name or path.name,
        content_type=job.file_media_type or "application/octet-stream",
        disposition="attachment",
    )


@json_router.get("/pekerjaan/{job_id}")
def job_progress(job_id: Id, session: SessionDep, user: CurrentUser) -> JSONResponse:
    """A job's state and progress for the downloads page's bar."""
    job = jobs.get_job(session=session, job_id=job_id, by=user.principal)
    tz = commission_timezone(session, job.commission_id)
    return JSONResponse(job_view(job, tz, utcnow()).as_json(), headers={"Cache-Control": "no-store"})
