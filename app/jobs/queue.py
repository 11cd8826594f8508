"""Putting a job on the queue, in the caller's own transaction.

On PostgreSQL the queue is procrastinate's ``procrastinate_jobs`` table: the row is added with procrastinate's
own ``procrastinate_defer_jobs_v1`` function on the caller's connection, so a job exists on the queue if and
only if the request that asked for it committed (and its insert trigger wakes the workers by NOTIFY at that
commit). On SQLite the server's own job thread is woken after the commit.
"""

from __future__ import annotations

import json
import threading

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.db.models import Job

QUEUE = "emonev"
TASK = "emonev.run_job"

# Set after a commit that queued a job on SQLite: the server's job thread stops waiting.
LOCAL_WAKE = threading.Event()

_DEFER = text(
    "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, CAST(:args AS jsonb), NULL)"
    "::procrastinate_job_to_defer_v1]))[1]"
)
_CANCEL = text("SELECT procrastinate_cancel_job_v1(:id, false, false)")


def on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def enqueue(session: Session, job: Job) -> None:
    """Queue ``job`` (flushed, so it has its id) in the session's transaction."""
    if on_postgres(session):
        job.queue_job_id = session.scalar(
            _DEFER, {"queue": QUEUE, "task": TASK, "args": json.dumps({"job_id": job.id})}
        )
    else:
        event.listen(session, "after_commit", lambda _session: LOCAL_WAKE.set(), once=True)


def withdraw(session: Session, job: Job) -> None:
    """Take a cancelled job off the queue if no worker has it yet (one that has it stops at its next progress
    report, seeing the job cancelled)."""
    if on_postgres(session) and job.queue_job_id is not None:
        session.execute(_CANCEL, {"id": job.queue_job_id})
