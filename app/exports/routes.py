"""Excel recaps, result sheets, answer workbooks and workbook imports.

Downloads are written to a temporary file and streamed from it (deleted after sending), so memory stays
flat however large the round. Uploads are read within ``EMONEV_UPLOAD_MAX_BYTES`` and checked as untrusted
(ZIP structure, uncompressed size, compression ratio, row count, no DTD) before openpyxl parses them.
"""

from __future__ import annotations

import re
from io import BytesIO
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from app.accounts import policy
from app.accounts.deps import CurrentPrincipal
from app.bodies import jobs as import_jobs
from app.bodies.routes import CSV_TYPES, IMPORTED, import_report_out
from app.bodies.schemas import ImportReportOut
from app.contract.headers import file_download, with_etag
from app.contract.problems import problems
from app.db.session import LongWorkSessionDep, SessionDep
from app.downloads import send_file
from app.errors import Conflict, PreconditionRequired, StaleVersion, TooLargeAtOnce, WindowClosed
from app.exports import service
from app.exports.jobs import RECAP, RESULT_SHEETS
from app.exports.workbook_safety import XLSX_MEDIA_TYPE, UploadLimits
from app.inputs import Id
from app.jobs.routes import ACCEPTED, job_out
from app.jobs.schemas import JobOut
from app.settings import SettingsDep
from app.submissions.schemas import SaveResult
from app.submissions.service import etag
from app.uploads import Upload, read_upload, request_body_doc

router = APIRouter(tags=["exports"])

XLSX_TYPES = (XLSX_MEDIA_TYPE, "application/octet-stream")
Revision = Annotated[
    Id | None, Query(description="A published revision of the round; the latest when left out.")
]
_FILENAME = re.compile(r'filename="?([^";]+)"?')


def _xlsx_response(description: str) -> dict[int | str, dict[str, Any]]:
    return file_download(description, XLSX_MEDIA_TYPE)


def _exports_path(request: Request, round_id: int) -> str:
    """Where the same export is asked for as a job (any size)."""
    return str(request.url_for("request_export", round_id=str(round_id)).path)


@router.get(
    "/rounds/{round_id}/recap.xlsx",
    response_class=FileResponse,
    responses={**problems(Conflict, TooLargeAtOnce), **_xlsx_response("The recap workbook (Rekapitulasi).")},
)
def recap(
    round_id: Id,
    session: LongWorkSessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    request: Request,
    revision: Revision = None,
) -> FileResponse:
    """The round's recap workbook for the plenary, the governor's office and the press (the commission's
    administrators, panel members and read-only keys), made at once for a publication of at most
    `EMONEV_SYNC_RECAP_MAX_BODIES` bodies (5,000 by default); a larger one answers 409
    (`too-large-at-once`) naming the job that makes it in `job_request`: `POST /rounds/{id}/exports` with
    `{"kind": "recap", "revision": n}`, which works for any size.

    Sheets: `Ringkasan` (stage weights, bodies per qualification and category with `Tidak Mengikuti`,
    percentages, a chart), `Peringkat` (every body by category and rank), one sheet per category, `Per
    Aspek`, `Partisipasi`, `Koreksi Verifikasi` (every verified value that differs from the body's own) and
    `Tren` (final scores in earlier rounds and the change). Figures are those of the publication (the
    latest, or `revision`), two decimals, as numbers; every sheet states when it was made and from which
    revision. 409 while the round's results are unpublished."""
    service.ensure_at_once(
        session=session,
        round_id=round_id,
        revision=revision,
        by=principal,
        kind=RECAP.name,
        max_bodies=settings.sync_recap_max_bodies,
        job_path=_exports_path(request, round_id),
    )
    return send_file(
        lambda path: service.recap(
            session=session, round_id=round_id, revision=revision, by=principal, target=path
        ),
        XLSX_MEDIA_TYPE,
        ".xlsx",
    )


@router.get(
    "/rounds/{round_id}/result-sheets.zip",
    response_class=FileResponse,
    responses={
        **problems(Conflict, TooLargeAtOnce),
        **file_download("A ZIP of result sheets.", service.ZIP_MEDIA_TYPE),
    },
)
def result_sheets(
    round_id: Id,
    session: LongWorkSessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    request: Request,
    revision: Revision = None,
) -> FileResponse:
    """A ZIP with the result sheet (Lembar Hasil Penilaian) of every body of the publication that has a
    submission, one folder per category (the commission's readers). 409 while unpublished. Made at once
    for a publication of at most `EMONEV_SYNC_RESULT_SHEETS_MAX_BODIES` bodies (200 by default); a larger
    one answers 409 (`too-large-at-once`) naming the job that makes it in `job_request`: `POST
    /rounds/{id}/exports` with `{"kind": "result_sheets", "revision": n}`, which works for any size."""
    service.ensure_at_once(
        session=session,
        round_id=round_id,
        revision=revision,
        by=principal,
        kind=RESULT_SHEETS.name,
        max_bodies=settings.sync_result_sheets_max_bodies,
        job_path=_exports_path(request, round_id),
    )
    return send_file(
        lambda path: service.result_sheets_zip(
            session=session, round_id=round_id, revision=revision, by=principal, target=path
        ),
        service.ZIP_MEDIA_TYPE,
        ".zip",
    )


@router.get(
    "/submissions/{submission_id}/result.xlsx",
    response_class=FileResponse,
    responses={**problems(Conflict), **_xlsx_response("The body's result sheet.")},
)
def result_sheet(
    submission_id: Id, session: LongWorkSessionDep, principal: CurrentPrincipal, revision: Revision = None
) -> FileResponse:
    """A body's result sheet (Lembar Hasil Penilaian): its published scores and qualification, every
    question with the answer, the evidence, the verified value and the verifier's note, and the
    recommendations (questions that lost the most points). For whoever may read the body (its operator sees
    it once the round is published); 409 while the round is unpublished."""
    return send_file(
        lambda path: service.result_sheet(
            session=session, submission_id=submission_id, revision=revision, by=principal, target=path
        ),
        XLSX_MEDIA_TYPE,
        ".xlsx",
    )


@router.get(
    "/submissions/{submission_id}/answers.xlsx",
    response_class=FileResponse,
    responses=_xlsx_response("The answer workbook."),
)
def answer_workbook(
    submission_id: Id, session: LongWorkSessionDep, principal: CurrentPrincipal
) -> FileResponse:
    """A workbook to fill the SAQ offline: every question with its allowed values (drop-down lists), and the
    columns Jawaban, Tautan Data Dukung (one link per line) and Catatan, filled with the stored answers.
    It is pinned to this submission, its version and its SAQ version; upload it back with POST."""
    return send_file(
        lambda path: service.answer_workbook(
            session=session, submission_id=submission_id, by=principal, target=path
        ),
        XLSX_MEDIA_TYPE,
        ".xlsx",
    )


def _named(upload: Upload, request: Request) -> str:
    if upload.filename:
        return upload.filename
    found = _FILENAME.search(request.headers.get("content-disposition", ""))
    return found.group(1).strip() if found else "the uploaded file"


async def answers_upload(
    submission_id: Id,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Upload:
    # Refuse strangers before reading what they send.
    await run_in_threadpool(
        service.ensure_may_upload_answers, session=session, submission_id=submission_id, by=principal
    )
    upload = await read_upload(
        request, raw_types=XLSX_TYPES, max_bytes=settings.upload_max_bytes, what="answer workbook (.xlsx)"
    )
    return Upload(data=upload.data, filename=_named(upload, request), content_type=upload.content_type)


@router.post(
    "/submissions/{submission_id}/answers.xlsx",
    response_model=SaveResult,
    responses={
        **problems(WindowClosed, StaleVersion, PreconditionRequired),
        **with_etag("Saved; `ETag` is the submission's new version"),
    },
    openapi_extra=request_body_doc(XLSX_TYPES, "The filled answer workbook (.xlsx)."),
)
def upload_answers(
    submission_id: Id,
    session: LongWorkSessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    upload: Annotated[Upload, Depends(answers_upload)],
    response: Response,
    if_match: Annotated[str | None, Header(description="Optional: the version (ETag) you read.")] = None,
) -> SaveResult:
    """Save the answers of a filled answer workbook (the body's operator), all or nothing, with the same
    rules as `PUT /submissions/{id}/answers`: open window, draft submission, values within the options,
    http(s) links. The workbook must be the one downloaded for this submission and SAQ version (else 422)
    at the submission's current version (else 412: someone saved since; download it again); `If-Match` may
    be sent and must then name the current version. Every problem is listed at once (422), each naming its
    cell (`Jawaban!G7`) in `errors` and its sheet, row and column in `cells`. A row left blank clears that
    answer (uploaded evidence files stay). Formulas are refused, never evaluated. Returns the new version
    (also as `ETag`)."""
    result = service.import_answer_workbook(
        session=session,
        submission_id=submission_id,
        upload=BytesIO(upload.data),
        name=upload.filename or "the uploaded file",
        if_match=if_match,
        by=principal,
        limits=UploadLimits(max_bytes=settings.upload_max_bytes),
    )
    response.headers["ETag"] = etag(result.version)
    return result


async def bodies_upload(
    commission_id: Id, request: Request, settings: SettingsDep, principal: CurrentPrincipal
) -> Upload:
    policy.ensure_admin(principal, commission_id)
    upload = await read_upload(
        request, raw_types=XLSX_TYPES, max_bytes=settings.upload_max_bytes, what="workbook (.xlsx)"
    )
    return Upload(data=upload.data, filename=_named(upload, request), content_type=upload.content_type)


@router.post(
    "/commissions/{commission_id}/bodies/import.xlsx",
    response_model=ImportReportOut,
    openapi_extra=request_body_doc(
        XLSX_TYPES,
        "An .xlsx whose first sheet has the header name, category, region_code, parent, ppid_email "
        "(or Nama Badan Publik, Kategori, Kode Wilayah, Induk, Email PPID).",
    ),
    responses={**problems(Conflict, TooLargeAtOnce), **IMPORTED},
)
def import_bodies_workbook(
    commission_id: Id,
    session: LongWorkSessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    upload: Annotated[Upload, Depends(bodies_upload)],
    request: Request,
    response: Response,
    dry_run: Annotated[bool, Query(description="Only check the file; write nothing.")] = True,
) -> ImportReportOut:
    """Register many bodies from an Excel workbook (commission administrators), all or nothing: the same
    rules and report as the CSV import (`POST /commissions/{id}/bodies/import`), with row numbers as the
    sheet shows them. The first sheet is read; a formula cell is refused (formulas are never evaluated)."""
    report = service.import_bodies_workbook(
        session=session,
        commission_id=commission_id,
        upload=BytesIO(upload.data),
        name=upload.filename or "the uploaded file",
        dry_run=dry_run,
        by=principal,
        limits=UploadLimits(max_bytes=settings.upload_max_bytes),
        max_rows=settings.sync_import_max_rows,
    )
    return import_report_out(report, request, response, commission_id)


async def bodies_file_upload(
    commission_id: Id, request: Request, settings: SettingsDep, principal: CurrentPrincipal
) -> Upload:
    policy.ensure_admin(principal, commission_id)
    upload = await read_upload(
        request,
        raw_types=(*XLSX_TYPES, *CSV_TYPES),
        max_bytes=settings.upload_max_bytes,
        what="workbook (.xlsx) or CSV file",
    )
    return Upload(data=upload.data, filename=_named(upload, request), content_type=upload.content_type)


@router.post(
    "/commissions/{commission_id}/bodies/import-jobs",
    status_code=202,
    response_model=JobOut,
    openapi_extra=request_body_doc(
        (*XLSX_TYPES, *CSV_TYPES),
        "The .xlsx workbook or the CSV, as for `import.xlsx` and `import`.",
    ),
    responses={**problems(Conflict), **ACCEPTED},
)
def request_bodies_import(
    commission_id: Id,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    upload: Annotated[Upload, Depends(bodies_file_upload)],
    request: Request,
    response: Response,
    dry_run: Annotated[bool, Query(description="Only check the file; write nothing.")] = True,
) -> JobOut:
    """Import bodies from an .xlsx workbook or a CSV as a job (commission administrators), for files of any
    size (the synchronous imports take up to `EMONEV_SYNC_IMPORT_MAX_ROWS` rows). The file's container is
    checked at once (422); the rows are checked by the job, with the same rules, all or nothing. Answers
    202 with `Location: /api/v1/jobs/{id}`; the job's progress counts rows (checked, then written) and its
    `result` is the import report (`ImportReportOut`: rows, problems with their row numbers, the bodies
    created). A file with problems ends the job with the report and nothing written. The same file with
    the same `dry_run` while its job is queued or running gives that job."""
    job = import_jobs.request_import(
        session=session,
        commission_id=commission_id,
        data=upload.data,
        name=upload.filename or "the uploaded file",
        dry_run=dry_run,
        by=principal,
        settings=settings,
    )
    response.headers["Location"] = request.url_for("get_job", job_id=str(job.id)).path
    return job_out(request, job)
