"""A job split into parts that several workers share (the result sheets of a large round).

The parent's run queues its parts (``fan_out``) and returns ``JobOutcome(waiting=True)``: it stays running,
occupying no worker. Each part is an ordinary job with ``parent_id``; its progress reports also set the
parent's progress to the sum over the parts, and stop the part when the parent has ended (cancelled,
failed). The part that finishes moves the parent's ``parts_done`` in the same transaction that marks it done
(one atomic UPDATE: exactly one part sees the last one finish, however many workers there are); that part
queues the parent again, whose run then assembles the parts' files into its own. A part that fails fails
the parent with its reason and cancels the other parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Job
from app.jobs import files, queue
from app.jobs.kinds import JobCancelled
from app.jobs.service import CANCELLED, FAILED, PENDING, QUEUED, RUNNING, cancel_parts


def fan_out(session: Session, parent_id: int, kind: str, params: Sequence[dict[str, Any]]) -> bool:
    """Queue one part of ``kind`` per entry of ``params`` for the running job ``parent_id``, in the caller's
    transaction; False (and nothing queued) when its parts were queued already (a repeated run)."""
    parent = session.get(Job, parent_id, with_for_update=True)
    assert parent is not None
    if parent.status != RUNNING:
        raise JobCancelled
    if parent.parts_total is not None:
        return False
    parent.parts_total = len(params)
    parent.parts_done = 0
    for part_params in params:
        part = Job(
            kind=kind,
            commission_id=parent.commission_id,
            round_id=parent.round_id,
            params=part_params,
            status=QUEUED,
            requested_by=parent.requested_by,
            requested_by_label=parent.requested_by_label,
            progress_done=0,
            attempts=0,
            parent_id=parent.id,
        )
        session.add(part)
        session.flush()
        queue.enqueue(session, part)
    return True


def parts_of(session: Session, parent_id: int) -> list[Job]:
    """The parts of a job, in the order they were queued."""
    return list(session.scalars(select(Job).where(Job.parent_id == parent_id).order_by(Job.id)))


def waiting_for_parts(job: Job) -> bool:
    return job.parts_total is not None and (job.parts_done or 0) < job.parts_total


def report_to_parent(session: Session, parent_id: int) -> bool:
    """Set the parent's progress to the sum of its parts' (read on the spot, so a part tried again after
    its worker died counts once); False when the parent has ended, so the part should stop."""
    total = select(func.coalesce(func.sum(Job.progress_done), 0)).where(Job.parent_id == parent_id)
    moved: int = session.execute(
        update(Job)
        .where(Job.id == parent_id, Job.status == RUNNING)
        .values(progress_done=total.scalar_subquery(), heartbeat_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    return bool(moved)


def end_with_parent(session: Session, part_id: int) -> None:
    """A part that stopped because its parent has ended (cancelled, failed) is cancelled too, not left
    running (then taken for stalled and run again)."""
    session.execute(
        update(Job)
        .where(Job.id == part_id, Job.status == RUNNING)
        .values(
            status=CANCELLED,
            finished_at=utcnow(),
            error="the job it belongs to has ended",
            error_indonesian="Pekerjaan induknya sudah berakhir.",
        )
    )


def part_finished(session: Session, part: Job) -> None:
    """In the transaction that marks ``part`` done: count it on its parent and, if it was the last, queue
    the parent again to assemble (with fresh attempts: the assembly is a run of its own)."""
    assert part.parent_id is not None
    session.flush()  # the part's own row, done, counts in the sum
    report_to_parent(session, part.parent_id)
    counted = session.execute(
        update(Job)
        .where(Job.id == part.parent_id, Job.status == RUNNING)
        .values(parts_done=Job.parts_done + 1)
        .returning(Job.parts_done, Job.parts_total)
    ).first()
    if counted is None or counted.parts_done < (counted.parts_total or 0):
        return
    parent = session.get(Job, part.parent_id)
    assert parent is not None
    session.refresh(parent)
    parent.status = QUEUED
    parent.attempts = 0
    session.flush()
    queue.enqueue(session, parent)


def remove_part_files(sessions: sessionmaker[Session], root: Path, parent_id: int) -> None:
    """After the parent is done (its joined file in place): the parts' files go (their rows stay, saying so).
    Left undone by a killed worker, the files expire with the parts like any job file."""
    with sessions.begin() as session:
        for part in parts_of(session, parent_id):
            if part.file_path is not None and part.file_removed_at is None:
                files.resolve(root, part.file_path).unlink(missing_ok=True)
                part.file_removed_at = utcnow()


def part_failed(session: Session, part: Job, english: str, indonesian: str) -> None:
    """In the transaction that marks ``part`` failed: the parent fails with its reason (what the person who
    asked sees) and the other parts are cancelled."""
    assert part.parent_id is not None
    now = utcnow()
    failed = session.execute(
        update(Job)
        .where(Job.id == part.parent_id, Job.status.in_(PENDING))
        .values(
            status=FAILED,
            finished_at=now,
            dedup_key=None,
            error=f"part {part.id} failed: {english}"[:2000],
            error_indonesian=indonesian[:2000],
        )
    ).rowcount  # type: ignore[attr-defined]
    if failed:
        cancel_parts(session, part.parent_id, "another part failed", "Bagian lain pekerjaan ini gagal.")
