"""The exports as jobs: the recap workbook and the ZIP of result sheets of a round's publication."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.db.models import Job
from app.exports import service
from app.exports.workbook_safety import XLSX_MEDIA_TYPE
from app.jobs.kinds import JobKind, JobOutcome, JobRun, JobScope, register


def _prepare(session: Session, by: Principal, scope: JobScope, params: dict[str, Any]) -> dict[str, Any]:
    """The commission's readers, on a published round; the revision is fixed when asked (the latest then),
    so that the job makes the file the person saw offered, whatever is published meanwhile."""
    policy.ensure_commission_reader(by, scope.commission_id)
    round_ = scope.round
    assert round_ is not None
    publication = service.publication_of(session, round_, params.get("revision"))
    return {"revision": publication.revision}


def _may_read(session: Session, by: Principal, job: Job) -> None:
    assert job.commission_id is not None
    policy.ensure_commission_reader(by, job.commission_id)


def _recap(run: JobRun) -> JobOutcome:
    assert run.round_id is not None
    with run.reading().begin() as session:
        name = service.recap(
            session=session,
            round_id=run.round_id,
            revision=run.params["revision"],
            by=run.principal,
            target=run.target,
            progress=run.progress,
        )
    return JobOutcome(file_name=name, media_type=XLSX_MEDIA_TYPE)


def _result_sheets(run: JobRun) -> JobOutcome:
    assert run.round_id is not None
    with run.reading().begin() as session:
        name = service.result_sheets_zip(
            session=session,
            round_id=run.round_id,
            revision=run.params["revision"],
            by=run.principal,
            target=run.target,
            progress=run.progress,
        )
    return JobOutcome(file_name=name, media_type=service.ZIP_MEDIA_TYPE)


RECAP = register(
    JobKind(
        name="recap",
        title="Rekapitulasi (Excel)",
        run=_recap,
        prepare=_prepare,
        ensure_may_read=_may_read,
        export=True,
    )
)
RESULT_SHEETS = register(
    JobKind(
        name="result_sheets",
        title="Lembar hasil semua badan publik (ZIP)",
        run=_result_sheets,
        prepare=_prepare,
        ensure_may_read=_may_read,
        export=True,
    )
)
