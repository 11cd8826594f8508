"""The append-only audit log: every change to answers, statuses, deadlines, templates and accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.accounts.principal import Principal
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
