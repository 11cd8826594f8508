"""Removing old rows a batch at a time: each batch in a short transaction of its own, so no lock is held for
long and a duty running in several workers at once never waits for another (their queries skip locked rows
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer at a time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete
from sqlalchemy.orm import Session, sessionmaker


def delete_in_batches(sessions: sessionmaker[Session], model: Any, ids: Select[Any], batch: int) -> int:
    """Delete the rows of ``model`` whose ``id`` the query ``ids`` selects, ``batch`` at a time (each batch
    locked with ``skip_locked``, in a transaction of its own) until a batch comes back short; returns how
    many."""
    ids = ids.limit(batch).with_for_update(skip_locked=True)
    deleted = 0
    while True:
        with sessions.begin() as session:
            removed: int = session.execute(
                delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        deleted += removed
        if removed < batch:
            return deleted
