"""The append-only audit log: every change to answers, statuses, deadlines, templates and accounts."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.db.base import utcnow
from app.db.models import AuditEntry

_INSERT = insert(typing.cast(Table, AuditEntry.__table__))
# The same insert as SQL text, for a statement that writes an entry together with the change it records (a
# data-modifying WITH on PostgreSQL). Parameters as :func:`entry` names them; before and after as JSON text.
PG_INSERT_SQL = """
    INSERT INTO audit_entry (
        at, actor_id, actor_label, commission_id, action, entity, entity_id, before, after
    )
    VALUES (
        :at, :actor_id, :actor_label, :commission_id, :action, :entity, :entity_id,
        CAST(:before AS json), CAST(:after AS json)
    )"""


class EntryFields(TypedDict, total=False):
    """What a caller says of one entry; ``actor``, ``action``, ``entity`` and ``entity_id`` are required."""

    actor: Required[Principal | None]
    action: Required[str]
    entity: Required[str]
    entity_id: Required[int | str]
    before: Any
    after: Any
    commission_id: int | None  # default: the actor's
    at: datetime  # default: now


def entry(**fields: Unpack[EntryFields]) -> dict[str, Any]:
    """The column values of one entry (``before`` and ``after`` as given: JSON-able values)."""
    actor = fields["actor"]
    commission_id = fields.get("commission_id")
    return {
        "at": fields.get("at") or utcnow(),
        "actor_id": actor.account_id if actor else None,
        "actor_label": actor.label if actor else "system",
        "commission_id": commission_id
        if commission_id is not None
        else (actor.commission_id if actor else None),
        "action": fields["action"],
        "entity": fields["entity"],
        "entity_id": str(fields["entity_id"]),
        "before": fields.get("before"),
        "after": fields.get("after"),
    }


def record(*, session: Session, **fields: Unpack[EntryFields]) -> None:
    """Append one entry, written at once (a plain insert: the ORM's unit of work cost a save more CPU than the
    rest of writing its answers)."""
    session.execute(_INSERT, entry(**fields))
