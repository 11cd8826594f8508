"""The import of bodies from a file (an .xlsx workbook or a CSV) as a job, and the import the command line
runs with the same rules.

The request checks the file's outside (an .xlsx's ZIP structure and sizes, a CSV's encoding), keeps it under
the job files' ``inputs/`` until the job ends, and queues a ``bodies_import`` job (the identical file with
the same options while one is pending gives that job). The job reads the file, checks every row and, unless
it is a dry run, writes every body in one transaction, all or nothing. Its result is the report the
synchronous import answers (``ImportReportOut``); a file with problems ends the job with the report listing
them and nothing written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from io import BytesIO
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.bodies.schemas import ImportReportOut
from app.bodies.service import ImportReport, RowProblem, import_bodies, read_csv
from app.commissions.service import get_commission
from app.db.models import Job
from app.errors import Conflict, InvalidInput
from app.exports.service import read_bodies_workbook
from app.exports.workbook_safety import UploadLimits, inspect_xlsx
from app.jobs import files
from app.jobs.kinds import JobKind, JobOutcome, JobRun, JobScope, ensure_still_admin, register
from app.jobs.runner import complete_in
from app.jobs.service import request_job
from app.settings import Settings

XLSX, CSV = "xlsx", "csv"
KIND = "bodies_import"

Progress = Callable[[int, int | None], None]


def format_of(data: bytes) -> str:
    """An .xlsx is a ZIP archive; anything else is read as a CSV."""
    return XLSX if data.startswith(b"PK\x03\x04") else CSV


def import_file(
    *,
    session: Session,
    commission_id: int,
    data: bytes,
    name: str,
    dry_run: bool,
    by: Principal,
    limits: UploadLimits,
    progress: Progress | None = None,
) -> ImportReport:
    """Import bodies from the bytes of an .xlsx or a CSV, all or nothing, and report: a file with problems
    (in its rows, or cells with formulas) gives the report listing them all, with nothing written, instead
    of raising. The job and ``emonev bodies import`` run this."""
    tell = progress or (lambda done, total: None)
    ensure_still_admin(by, commission_id)
    tell(0, None)
    # The file is read and checked before the session is first used: on SQLite its first statement takes
    # the one write lock, which saves elsewhere would then wait on for the whole scan of the sheets.
    if format_of(data) == XLSX:
        read = read_bodies_workbook(BytesIO(data), name=name, limits=limits)
        if read.problems:
            report = ImportReport(dry_run=dry_run, rows=len(read.rows))
            report.problems = [
                RowProblem(p.row, p.column, p.message, p.indonesian or p.message) for p in read.problems
            ]
            return report
        rows, numbers = read.rows, read.numbers
    else:
        csv_rows, numbers = read_csv(data)
        rows = list(csv_rows)
    commission = get_commission(session=session, commission_id=commission_id, by=by)
    if dry_run:
        return import_bodies(
            session=session,
            commission=commission,
            rows=rows,
            dry_run=True,
            by=by,
            row_numbers=numbers,
            progress=tell,
        )
    try:
        with session.begin_nested():
            return import_bodies(
                session=session,
                commission=commission,
                rows=rows,
                dry_run=False,
                by=by,
                row_numbers=numbers,
                progress=tell,
            )
    except InvalidInput:
        # Some rows are wrong and nothing was written: the report lists them all.
        report = import_bodies(
            session=session, commission=commission, rows=rows, dry_run=True, by=by, row_numbers=numbers
        )
        report.dry_run = False
        return report


def check_upload(data: bytes, *, name: str, limits: UploadLimits) -> None:
    """What the request checks before queueing, quickly: an .xlsx container (its sheets are scanned by the
    job) or a readable CSV (422 else)."""
    if format_of(data) == XLSX:
        inspect_xlsx(BytesIO(data), name=name, limits=limits, scan_sheets=False)
    else:
        read_csv(data)


def request_import(
    *,
    session: Session,
    commission_id: int,
    data: bytes,
    name: str,
    dry_run: bool,
    by: Principal,
    settings: Settings,
) -> Job:
    """Queue the import of ``data`` as a job (commission administrators), keeping the file until the job
    ends; the identical file with the same options while a job for it is pending gives that job."""
    policy.ensure_admin(by, commission_id)
    check_upload(data, name=name, limits=UploadLimits(max_bytes=settings.upload_max_bytes))
    fmt = format_of(data)
    params = {
        "format": fmt,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "dry_run": dry_run,
        "file_name": name,
    }
    job, new = request_job(session=session, kind_name=KIND, commission_id=commission_id, params=params, by=by)
    if new:
        files.store_input(settings.job_files_dir, job.id, data, f".{fmt}")
    return job


def _prepare(session: Session, by: Principal, scope: JobScope, params: dict[str, Any]) -> dict[str, Any]:
    policy.ensure_admin(by, scope.commission_id)
    return params


def _may_read(session: Session, by: Principal, job: Job) -> None:
    assert job.commission_id is not None
    policy.ensure_admin(by, job.commission_id)


def _run(run: JobRun) -> JobOutcome:
    assert run.commission_id is not None
    kept = files.input_of(run.settings.job_files_dir, run.job_id)
    data = kept.read_bytes() if kept is not None else None
    if data is None or hashlib.sha256(data).hexdigest() != run.params["sha256"]:
        raise Conflict(
            "the uploaded file is no longer kept (the job was asked for again after it ended); upload it "
            "again",
            indonesian="Berkas yang diunggah tidak disimpan lagi. Unggah berkas itu sekali lagi.",
        )
    run.progress(0, None)
    with run.sessions.begin() as session:
        report = import_file(
            session=session,
            commission_id=run.commission_id,
            data=data,
            name=run.params["file_name"],
            dry_run=run.params["dry_run"],
            by=run.principal,
            limits=UploadLimits(max_bytes=run.settings.upload_max_bytes),
            progress=run.progress if run.progress_inside_transactions else None,
        )
        result = _job_result(report)
        if report.created:
            # Done in the import's own transaction: the job is done if and only if the bodies are there, and
            # a cancel either stops the import before or comes too late.
            complete_in(session, run.job_id, result, total=2 * report.rows)
    if not report.created:
        run.progress(report.rows, report.rows)
    return JobOutcome(result=result)


# A job's result is sent with every poll of GET /jobs/{id}: it lists the first bodies created, not 20,000
# (the commission's body list has them all).
RESULT_BODIES = 100


def _job_result(report: ImportReport) -> dict[str, Any]:
    out = ImportReportOut.of(report).model_dump(mode="json")
    out["bodies_omitted"] = max(0, len(out["bodies"]) - RESULT_BODIES)
    out["bodies"] = out["bodies"][:RESULT_BODIES]
    return out


BODIES_IMPORT = register(
    JobKind(
        name=KIND,
        title="Impor badan publik",
        run=_run,
        prepare=_prepare,
        ensure_may_read=_may_read,
        dedup_ignores=("file_name",),
    )
)
