"""A notice that cannot be written (its template wants what its context lacks) fails saying why, and the rest
of the mailing goes on: it is not left ``sending`` (later called "uncertain") though surely never sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import AuditEntry, Notice
from app.mail.outbox import Event, Letter, Recipient, notify
from app.settings import Settings
from tests.factories import World
from tests.mail.conftest import deliver
from tests.mail.smtp import SmtpServer

pytestmark = pytest.mark.db


def test_a_notice_that_cannot_be_written_fails_saying_why_and_the_others_go(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    whole = {
        "email": "baik@example.go.id",
        "role_words": "Operator PPID",
        "body_name": None,
        "valid_until": (utcnow() + timedelta(days=7)).isoformat(),
        "paths": {"set_password": "/atur-kata-sandi?token=uji"},
    }
    broken = {k: v for k, v in whole.items() if k != "role_words"}  # the template prints it
    notify(
        session,
        event=Event.account_invitation,
        ref="uji-rusak",
        letters=[
            Letter(Recipient("rusak@example.go.id"), broken | {"email": "rusak@example.go.id"}),
            Letter(Recipient("baik@example.go.id"), whole),
        ],
        commission_id=world.commission.id,
        commission_name=world.commission.name,
    )
    session.commit()

    deliver(session_factory, mail_settings)
    by_address = {n.recipient: n for n in session.scalars(select(Notice))}
    for notice in by_address.values():
        session.refresh(notice)
    failed = by_address["rusak@example.go.id"]
    assert failed.status == "failed"
    assert failed.last_response == "could not be written: UndefinedError: 'role_words' is undefined"
    assert failed.claimed_at is None
    assert by_address["baik@example.go.id"].status == "sent"
    assert [m.recipients for m in smtp.messages()] == [["baik@example.go.id"]]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.failed")).one()
    assert audit.entity_id == str(failed.id)
