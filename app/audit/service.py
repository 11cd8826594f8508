"""The append-only audit log: every change to answers, statuses, deadlines, templates and accounts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.db.base import utcnow
from app.db.json_text import json_text
from app.db.models import AuditEntry


def record(
    *,
    session: Session,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: int | str,
    before: Any = None,
    after: Any = None,
    commission_id: int | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.account_id if actor else None,
        actor_label=actor.label if actor else "system",
        commission_id=commission_id
        if commission_id is not None
        else (actor.commission_id if actor else None),
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


class Change(NamedTuple):
    """One change for ``record_many``: what happened to which entity, with its values before and after.
    (A tuple: a full SAQ's save makes about a hundred.)"""

    action: str
    entity: str
    entity_id: int | str
    before: Any = None
    after: Any = None


# One statement with one parameter whatever the number of changes, so PostgreSQL prepares it once.
_PG_INSERT_MANY = text(
    """
    INSERT INTO audit_entry
        (at, actor_id, actor_label, commission_id, action, entity, entity_id, before, after)
    SELECT :at, :actor_id, :actor_label, :commission_id, c.action, c.entity, c.entity_id, c.before, c.after
    FROM json_to_recordset(CAST(:changes AS json))
        AS c(action varchar, entity varchar, entity_id varchar, before json, after json)
    """
)


def record_many(
    *,
    session: Session,
    actor: Principal | None,
    changes: Sequence[Change],
    commission_id: int | None = None,
    at: datetime | None = None,
) -> None:
    """``record`` for many changes by one actor at once (a whole SAQ saved audits about a hundred answers),
    written in one INSERT statement."""
    if not changes:
        return
    common = {
        "at": at or utcnow(),
        "actor_id": actor.account_id if actor else None,
        "actor_label": actor.label if actor else "system",
        "commission_id": commission_id
        if commission_id is not None
        else (actor.commission_id if actor else None),
    }
    rows = [
        {
            "action": c.action,
            "entity": c.entity,
            "entity_id": str(c.entity_id),
            "before": c.before,
            "after": c.after,
        }
        for c in changes
    ]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_INSERT_MANY, common | {"changes": json_text(rows)})
    else:
        session.execute(insert(AuditEntry), [common | row for row in rows])
