"""A round's live results as jobs: the preview (every body's final score computed now, kept as a JSON file)
and the publication itself, for rounds too large to compute within a request.

Both recompute every score of the round (``live_results``). The publication job writes the revision in one
transaction under the round's lock, audited as the person who asked, exactly as ``POST /publish`` does; a
refusal (a result incomplete, nothing changed, the round not final) fails the job with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.db.models import Job
from app.jobs.kinds import JobKind, JobOutcome, JobRun, JobScope, ensure_still_admin, register
from app.jobs.runner import complete_in
from app.results import publication as publishing

JSON_MEDIA_TYPE = "application/json"


def _prepare_preview(
    session: Session, by: Principal, scope: JobScope, params: dict[str, Any]
) -> dict[str, Any]:
    policy.ensure_admin(by, scope.commission_id)
    return {}


def _prepare_publish(
    session: Session, by: Principal, scope: JobScope, params: dict[str, Any]
) -> dict[str, Any]:
    policy.ensure_admin(by, scope.commission_id)
    return {"reason": params["reason"]}


def _may_read(session: Session, by: Principal, job: Job) -> None:
    assert job.commission_id is not None
    policy.ensure_admin(by, job.commission_id)


def _preview(run: JobRun) -> JobOutcome:
    assert run.round_id is not None
    assert run.commission_id is not None
    ensure_still_admin(run.principal, run.commission_id)
    run.progress(0, 1)
    with run.reading().begin() as session:
        document = publishing.live_results_document(session=session, round_id=run.round_id, by=run.principal)
    with run.target.open("w", encoding="utf-8") as out:
        json.dump(document.model_dump(mode="json"), out, ensure_ascii=False)
    run.progress(1, 1)
    return JobOutcome(
        file_name=f"pratinjau-hasil-periode-{run.round_id}.json",
        media_type=JSON_MEDIA_TYPE,
        result={
            "bodies": len(document.items),
            "incomplete": document.incomplete,
            "ready_to_publish": document.ready_to_publish,
        },
    )


def _publish(run: JobRun) -> JobOutcome:
    assert run.round_id is not None
    assert run.commission_id is not None
    ensure_still_admin(run.principal, run.commission_id)
    run.progress(0, 1)
    with run.sessions.begin() as session:
        publication = publishing.publish(
            session=session, round_id=run.round_id, by=run.principal, reason=run.params["reason"]
        )
        result = {"publication_id": publication.id, "revision": publication.revision}
        # Done in the publication's own transaction: a cancel either stops it before or comes too late.
        complete_in(session, run.job_id, result)
    return JobOutcome(result=result)


RESULTS_PREVIEW = register(
    JobKind(
        name="results_preview",
        title="Pratinjau hasil akhir (JSON)",
        run=_preview,
        prepare=_prepare_preview,
        ensure_may_read=_may_read,
    )
)
PUBLISH = register(
    JobKind(
        name="publish",
        title="Pengumuman hasil",
        run=_publish,
        prepare=_prepare_publish,
        ensure_may_read=_may_read,
    )
)
