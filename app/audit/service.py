"""The append-only audit log: every change to answers, statuses, deadlines, templates and accounts."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.db.base import utcnow
from app.db.models import AuditEntry

_INSERT = insert(typing.cast(Table, AuditEntry.__table__))


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
    at: datetime | None = None,
) -> None:
    """Append one entry, written at once (a plain insert: the ORM's unit of work cost a save more CPU than the
    rest of writing its answers)."""
    session.execute(
        _INSERT,
        {
            "at": at or utcnow(),
            "actor_id": actor.account_id if actor else None,
            "actor_label": actor.label if actor else "system",
            "commission_id": commission_id
            if commission_id is not None
            else (actor.commission_id if actor else None),
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "before": before,
            "after": after,
        },
    )
