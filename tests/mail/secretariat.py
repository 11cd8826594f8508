"""Helpers of the secretariat's mail tests: notices of a round in every status, and a template set for them.

The round's events get their real templates with the season's notices; these tests bring a small
``round_opened`` of their own (tests/mail/secretariat_templates), looked up before the app's templates, so
they do not depend on the wording of those.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jinja2
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import Notice
from app.mail import render, tokens
from app.mail.outbox import Event, Letter, Recipient, notify
from tests.factories import World

TEMPLATES = Path(__file__).resolve().parent / "secretariat_templates"

# One notice of the round per status: the address says which.
STATUS_OF = {
    "terkirim@example.go.id": "sent",
    "menunggu@example.go.id": "pending",
    "sedang@example.go.id": "sending",
    "gagal@example.go.id": "failed",
    "tidakpasti@example.go.id": "uncertain",
    "batal@example.go.id": "cancelled",
}
REFUSAL = "550 5.1.1 <gagal@example.go.id>: Recipient address rejected: User unknown"


@pytest.fixture
def round_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    for html in (False, True):
        env = render._environment(html)
        assert env.loader is not None
        monkeypatch.setattr(
            env, "loader", jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES)), env.loader])
        )


def round_opened(session: Session, world: World, *emails: str, body_id: int | None = None) -> list[Notice]:
    """A "round opened" notice of world.round to each address (pending, as written)."""
    notify(
        session,
        event=Event.round_opened,
        ref=f"round:{world.round.id}",
        letters=[
            Letter(Recipient(email, body_id=body_id or world.body.id), {"round_title": world.round.title})
            for email in emails
        ],
        commission_id=world.commission.id,
        commission_name=world.commission.name,
        round_id=world.round.id,
    )
    session.flush()
    return list(session.scalars(select(Notice).where(Notice.recipient.in_(emails)).order_by(Notice.id)).all())


def notices_in_every_status(session: Session, world: World) -> dict[str, Notice]:
    """World.round's notices, one per status (STATUS_OF), the failed one with the server's refusal."""
    notices = round_opened(session, world, *STATUS_OF)
    for notice in notices:
        status = STATUS_OF[notice.recipient]
        values: dict[str, object] = {"status": status}
        if status == "failed":
            values |= {"attempts": 1, "last_response": REFUSAL}
        if status == "sent":
            values |= {"attempts": 1, "last_response": "250 2.0.0 Ok: queued", "message_id": "<x@y>"}
        if status == "uncertain":
            values |= {"attempts": 1, "last_response": "the worker w:1 stopped while sending it"}
        session.execute(update(Notice).where(Notice.id == notice.id).values(**values))
    session.commit()
    for notice in notices:
        session.refresh(notice)
    return {STATUS_OF[n.recipient]: n for n in notices}


def invitation(session: Session, world: World, status: str = "failed") -> Notice:
    """An account invitation of world.operator (the commission's, no round) in ``status``."""
    account = world.operator
    token = tokens.issue(session, account=account, purpose=tokens.INVITATION, valid_for=timedelta(days=7))
    notify(
        session,
        event=Event.account_invitation,
        ref=f"account_token:{token.id}",
        letters=[
            Letter(
                Recipient(account.email, account_id=account.id),
                {
                    "email": account.email,
                    "role_words": "Operator PPID",
                    "body_name": world.body.name,
                    "valid_until": token.expires_at.isoformat(),
                    "token_id": token.id,
                },
            )
        ],
        commission_id=world.commission.id,
        commission_name=world.commission.name,
    )
    notice = session.scalars(select(Notice).where(Notice.ref == f"account_token:{token.id}")).one()
    notice.status = status
    session.commit()
    return notice
