"""The exports as jobs: the recap workbook and the ZIP of result sheets of a round's publication (made in
parts that several workers share when the round is large)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.db.models import Job
from app.errors import Forbidden
from app.exports import service
from app.exports.workbook_safety import XLSX_MEDIA_TYPE
from app.jobs import files, parts
from app.jobs.kinds import JobKind, JobOutcome, JobRun, JobScope, register


def prepare_export(
    session: Session, by: Principal, scope: JobScope, params: dict[str, Any]
) -> dict[str, Any]:
    """The commission's readers, on a published round; the revision is fixed when asked (the latest then),
    so that the job makes the file the person saw offered, whatever is published meanwhile."""
    policy.ensure_commission_reader(by, scope.commission_id)
    round_ = scope.round
    assert round_ is not None
    publication = service.publication_of(session, round_, params.get("revision"))
    return {"revision": publication.revision}


def may_read_export(session: Session, by: Principal, job: Job) -> None:
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


def zip_in_parts(
    run: JobRun,
    *,
    cut: Callable[[Session], list[list[int]]],
    part_kind: str,
    ids_key: str,
    whole: Callable[[Session], str],
    what: str,
) -> JobOutcome:
    """A ZIP made at once for a small round, in parts for a large one: the first run asks ``cut`` for the
    parts (ids in the ZIP's order) and, when there are several, queues one job of ``part_kind`` per part
    (its ids under ``ids_key``; the workers share them) and waits; the run after the last part joins their
    ZIPs into this job's, in the same order (app/jobs/parts.py). With one part, ``whole`` writes the ZIP to
    ``run.target`` and returns its name. ``what`` names the entries in the check of the joined count."""
    assert run.round_id is not None
    with run.sessions() as session:
        job = session.get(Job, run.job_id)
        assert job is not None
        done = parts.parts_of(session, job.id) if job.parts_total is not None else None
        waiting = parts.waiting_for_parts(job)
    if waiting:  # run again before the last part finished (a worker's retry): keep waiting
        return JobOutcome(waiting=True)
    if done is not None:
        return _join_parts(run, done, ids_key, what)
    revision = run.params["revision"]
    with run.sessions() as session:
        pieces = cut(session)
    if len(pieces) > 1:
        run.progress(0, sum(len(ids) for ids in pieces))
        params = [{"revision": revision, "part": n, ids_key: ids} for n, ids in enumerate(pieces, 1)]
        with run.sessions.begin() as session:
            parts.fan_out(session, run.job_id, part_kind, params)
        return JobOutcome(waiting=True)
    with run.reading().begin() as session:
        name = whole(session)
    return JobOutcome(file_name=name, media_type=service.ZIP_MEDIA_TYPE)


def _result_sheets(run: JobRun) -> JobOutcome:
    """One job for a round of up to ``result_sheets_bodies_per_part`` bodies; for a larger one, parts."""
    assert run.round_id is not None
    round_id = run.round_id
    revision = run.params["revision"]
    return zip_in_parts(
        run,
        cut=lambda session: service.result_sheet_parts(
            session=session,
            round_id=round_id,
            revision=revision,
            by=run.principal,
            bodies_per_part=run.settings.result_sheets_bodies_per_part,
        ),
        part_kind=RESULT_SHEETS_PART.name,
        ids_key="submission_ids",
        whole=lambda session: service.result_sheets_zip(
            session=session,
            round_id=round_id,
            revision=revision,
            by=run.principal,
            target=run.target,
            progress=run.progress,
        ),
        what="result sheets",
    )


def _join_parts(run: JobRun, done: list[Job], ids_key: str, what: str) -> JobOutcome:
    """The assembly: every part's ZIP, in the order they were cut, copied into this job's file. The parts'
    files are removed once the job is done (``parts.remove_part_files``), not before: an assembly cut short
    (its worker killed while placing the file) must find them again."""
    total = sum(len(part.params[ids_key]) for part in done)
    run.progress(total, total)
    paths = [files.resolve(run.settings.job_files_dir, part.file_path) for part in done if part.file_path]
    assert len(paths) == len(done), "every part is done with its file"
    joined = service.join_zips(paths, run.target)
    if joined != total:
        raise RuntimeError(f"the parts hold {joined} {what}, not {total}")
    assert done[0].file_name is not None
    return JobOutcome(file_name=done[0].file_name, media_type=service.ZIP_MEDIA_TYPE)


def _result_sheets_part(run: JobRun) -> JobOutcome:
    assert run.round_id is not None
    with run.reading().begin() as session:
        name = service.result_sheets_part_zip(
            session=session,
            round_id=run.round_id,
            revision=run.params["revision"],
            by=run.principal,
            submission_ids=run.params["submission_ids"],
            target=run.target,
            progress=run.progress,
        )
    return JobOutcome(file_name=name, media_type=service.ZIP_MEDIA_TYPE)


def _only_as_a_part(
    session: Session, by: Principal, scope: JobScope, params: dict[str, Any]
) -> dict[str, Any]:
    raise Forbidden(
        "a part of the result sheets is queued by its result_sheets job, not asked for",
        indonesian="Bagian lembar hasil dibuat oleh pekerjaan lembar hasilnya, tidak dapat diminta sendiri.",
    )


RECAP = register(
    JobKind(
        name="recap",
        title="Rekapitulasi (Excel)",
        run=_recap,
        prepare=prepare_export,
        ensure_may_read=may_read_export,
        export=True,
    )
)
RESULT_SHEETS = register(
    JobKind(
        name="result_sheets",
        title="Lembar hasil semua badan publik (ZIP)",
        run=_result_sheets,
        prepare=prepare_export,
        ensure_may_read=may_read_export,
        export=True,
    )
)
RESULT_SHEETS_PART = register(
    JobKind(
        name="result_sheets_part",
        title="Bagian lembar hasil (ZIP)",
        run=_result_sheets_part,
        prepare=_only_as_a_part,
        ensure_may_read=may_read_export,
    )
)
