"""Jobs: ask for a round's export as a job (202 + Location), watch it, cancel it, fetch its file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from app.accounts.deps import CurrentPrincipal
from app.contract.headers import file_download
from app.contract.problems import problems
from app.db.models import Job
from app.db.session import SessionDep
from app.downloads import stored_file
from app.errors import Conflict
from app.inputs import Id
from app.jobs import service
from app.jobs.kinds import registry
from app.jobs.schemas import ExportRequest, JobOut
from app.jobs.service import FileGone
from app.pagination import Page, PageParamsDep
from app.settings import SettingsDep

# What the kinds of job make (JobOutcome.media_type): recaps and answer workbooks, ZIPs of result sheets and
# letters, a results preview in JSON.
JOB_FILE_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/zip",
    "application/json",
)

router = APIRouter(tags=["jobs"])

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The job is queued (or the identical job already queued or running); poll `Location`.",
        "headers": {
            "Location": {"description": "The job: GET /api/v1/jobs/{id}.", "schema": {"type": "string"}}
        },
    }
}


def job_out(request: Request, job: Job) -> JobOut:
    kind = registry().get(job.kind)
    return JobOut.of(
        job,
        title=kind.title if kind else job.kind,
        download_url=str(request.url_for("get_job_file", job_id=str(job.id)).path),
    )


def accepted(request: Request, response: Response, job: Job) -> JobOut:
    response.headers["Location"] = request.url_for("get_job", job_id=str(job.id)).path
    return job_out(request, job)


@router.post(
    "/rounds/{round_id}/exports",
    status_code=202,
    response_model=JobOut,
    responses={**problems(Conflict), **ACCEPTED},
)
def request_export(
    round_id: Id,
    body: ExportRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> JobOut:
    """Make a file from the round's published results in the background: `recap` (the recap workbook) or
    `result_sheets` (a ZIP with every body's result sheet). Answers 202 with `Location: /api/v1/jobs/{id}`
    at once; poll it for progress and, when done, its `download_url`. Asking again while the identical job
    (same kind, round and revision) is queued or running gives that job, not a second one. The commission's
    readers only; 409 while the round is unpublished."""
    params = {"revision": body.revision}
    job, _new = service.request_job(
        session=session, kind_name=body.kind, round_id=round_id, params=params, by=principal, export_only=True
    )
    return accepted(request, response, job)


@router.get("/rounds/{round_id}/jobs", response_model=Page[JobOut])
def list_round_jobs(
    round_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep, request: Request
) -> Page[JobOut]:
    """The round's jobs that the caller may read (their files included), oldest first, paginated."""
    result = service.round_jobs(session=session, round_id=round_id, by=principal, params=page)
    return result.map(lambda job: job_out(request, job))


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: Id, session: SessionDep, principal: CurrentPrincipal, request: Request) -> JobOut:
    """A job: its status (queued, running, done, failed, cancelled), progress (done, total, percentage, an
    estimate of the seconds left), who asked and when, why it failed, and when done its file and
    `download_url`. Only those who may read what the job makes see it (404 for the others)."""
    return job_out(request, service.get_job(session=session, job_id=job_id, by=principal))


@router.delete("/jobs/{job_id}", response_model=JobOut, responses=problems(Conflict))
def cancel_job(job_id: Id, session: SessionDep, principal: CurrentPrincipal, request: Request) -> JobOut:
    """Cancel a queued or running job (the person who asked for it, or an administrator of its commission; the
    system administrator for a job of the service's own delivery duties): a running one stops at its next
    progress report and no file is kept. 409 when it has already ended."""
    return job_out(request, service.cancel_job(session=session, job_id=job_id, by=principal))


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    response_model=JobOut,
    responses={**problems(Conflict), **ACCEPTED},
)
def retry_job(
    job_id: Id, session: SessionDep, principal: CurrentPrincipal, request: Request, response: Response
) -> JobOut:
    """Ask again for a failed or cancelled job (or one whose file has expired): a new job with the same kind,
    round and options (or the identical one already queued). 202 with its `Location`."""
    job, _new = service.retry_job(session=session, job_id=job_id, by=principal)
    return accepted(request, response, job)


@router.get(
    "/jobs/{job_id}/file",
    response_class=FileResponse,
    responses={
        **problems(Conflict, FileGone),
        **file_download("The file the job made, in its kind's media type.", *JOB_FILE_TYPES),
    },
)
def get_job_file(
    job_id: Id, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> FileResponse:
    """The file a finished job made (recap workbook, ZIP), under its name. 409 while the job is not done,
    410 once the file was removed after its retention period (ask for it again)."""
    job, path = service.job_file(session=session, job_id=job_id, by=principal, root=settings.job_files_dir)
    return stored_file(
        path,
        name=job.file_name or path.name,
        content_type=job.file_media_type or "application/octet-stream",
        disposition="attachment",
    )
