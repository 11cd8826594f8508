"""The outbox end to end with a real SMTP server: written in the event's transaction, delivered once by the
job, refusals kept with the server's answer, a worker that stopped mid-send never sends again by itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import AuditEntry, Job, Notice
from app.jobs.worker import run_queued
from app.mail import delivery, tokens
from app.mail.outbox import Event, Letter, Recipient, notify
from app.settings import Settings
from tests.factories import World, make_job
from tests.mail.conftest import deliver
from tests.mail.smtp import SmtpServer

pytestmark = pytest.mark.db


def _invite(session: Session, world: World, *emails: str) -> int:
    account = world.operator
    token = tokens.issue(session, account=account, purpose=tokens.INVITATION, valid_for=timedelta(days=7))
    written = notify(
        session,
        event=Event.account_invitation,
        ref=f"account_token:{token.id}",
        letters=[
            Letter(
                Recipient(email, account_id=account.id),
                {
                    "email": email,
                    "role_words": "Operator PPID",
                    "body_name": world.body.name,
                    "valid_until": token.expires_at.isoformat(),
                    "token_id": token.id,
                },
            )
            for email in emails
        ],
        commission_id=world.commission.id,
        commission_name=world.commission.name,
    )
    session.commit()
    return written


def test_a_notice_reaches_the_smtp_server_once_with_text_html_and_a_working_link(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    world.commission.mail_reply_to = "sekretariat@ki.example.go.id"
    assert _invite(session, world, "Ppid.Gambir@Example.go.id") == 1
    # The same occurrence written again (a retried request) is the same notice.
    assert (
        notify(
            session,
            event=Event.account_invitation,
            ref=session.scalars(select(Notice.ref)).one(),
            letters=[Letter(Recipient("ppid.gambir@example.go.id"), {})],
            commission_id=world.commission.id,
            commission_name=world.commission.name,
        )
        == 0
    )

    assert deliver(session_factory, mail_settings) >= 1
    [received] = smtp.wait_for(1)
    assert received.recipients == ["ppid.gambir@example.go.id"]
    assert received.mail_from == "noreply@emonev.example"
    assert received.subject == f"Undangan akun E-Monev {world.commission.name}"
    assert received.message["Reply-To"] == "sekretariat@ki.example.go.id"
    assert received.message["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in received.message  # an official notice: no opting out
    text = received.text()
    assert f"Sekretariat {world.commission.name}" in text
    assert "WIB" in text  # the link's expiry in the commission's time zone
    link = next(word for word in text.split() if word.startswith("https://emonev.example/atur-kata-sandi"))
    assert link in received.html()
    secret = parse_qs(urlsplit(link).query)["token"][0]
    with session_factory() as check:
        found = tokens.find_valid(check, secret_key=mail_settings.secret_key, secret=secret)
        assert found.account_id == world.operator.id

    notice = session.scalars(select(Notice)).one()
    session.refresh(notice)
    assert notice.status == "sent"
    assert notice.message_id == received.message_id
    assert notice.last_response is not None
    assert notice.last_response.startswith("250")
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.sent")).one()
    assert audit.entity_id == str(notice.id)

    # Nothing is due any more: running the queue again sends nothing.
    deliver(session_factory, mail_settings)
    assert delivery.queue_due_delivery(session_factory, mail_settings, utcnow()) is False
    assert len(smtp.messages()) == 1


def test_the_system_administrator_may_cancel_the_delivery_duty_and_it_comes_back(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
    client: TestClient,
) -> None:
    """The delivery job belongs to no commission: its cancelling was a 500 (schemathesis, seed 593953051)."""
    _invite(session, world, "ppid@example.go.id")  # queues the delivery
    job_id = session.scalars(select(Job.id).where(Job.kind == delivery.KIND)).one()

    assert client.delete(f"/api/v1/jobs/{job_id}", headers=world.token(world.admin)).status_code == 404
    cancelled = client.delete(f"/api/v1/jobs/{job_id}", headers=world.token(world.system_admin))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert smtp.messages() == []

    # The notice is still due, so the duty is queued again and the letter goes.
    assert delivery.queue_due_delivery(session_factory, mail_settings, utcnow()) is True
    deliver(session_factory, mail_settings)
    assert [m.recipients for m in smtp.wait_for(1)] == [["ppid@example.go.id"]]


@pytest.mark.parametrize(
    "waiting",
    [
        {"created_at": timedelta(seconds=10)},  # queued, no runner free
        {"status": "running", "heartbeat_at": timedelta(minutes=5)},  # its runner was killed: taken again
    ],
    ids=["queued", "interrupted"],
)
def test_the_delivery_job_gives_way_to_a_job_someone_waits_for(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
    waiting: dict[str, Any],
) -> None:
    """On SQLite one runner does every job: a long mailing ends its slice after a message when a job someone
    asked for waits, and is queued again behind it."""
    _invite(session, world, "a@example.go.id", "b@example.go.id", "c@example.go.id")  # queues the delivery
    ago = {key: utcnow() - value if isinstance(value, timedelta) else value for key, value in waiting.items()}
    asked_for = make_job(session, world.round, world.admin, **ago)
    session.commit()

    assert run_queued(session_factory, mail_settings, limit=1) == 1  # the delivery job, oldest
    mailing = session.scalars(select(Job).where(Job.kind == delivery.KIND)).one()
    session.refresh(mailing)
    assert (mailing.status, mailing.result["sent"]) == ("done", 1)
    assert len(smtp.messages()) == 1
    assert session.scalar(select(func.count()).where(Notice.status == "pending")) == 2

    # The waiting job is taken next and ends; the mailing comes back behind it and finishes.
    asked_for.status = "done"
    session.commit()
    assert delivery.queue_due_delivery(session_factory, mail_settings, utcnow()) is True
    deliver(session_factory, mail_settings)
    assert len(smtp.messages()) == 3


def test_a_rolled_back_event_sends_nothing(
    session: Session,
    world: World,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    with session.begin_nested():
        _ = notify(
            session,
            event=Event.account_invitation,
            ref="account_token:0",
            letters=[Letter(Recipient("someone@example.go.id"), {})],
            commission_id=world.commission.id,
            commission_name=world.commission.name,
        )
        session.rollback()
    assert session.scalar(select(func.count()).select_from(Notice)) == 0
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_refusals_permanent_and_temporary(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    smtp.refuse_recipients["tidak-ada@example.go.id"] = "550 5.1.1 <tidak-ada@example.go.id>: no such user"
    _invite(session, world, "tidak-ada@example.go.id", "nanti@example.go.id")
    smtp.refuse_data = "451 4.3.0 try again later"
    deliver(session_factory, mail_settings)
    by_address = {n.recipient: n for n in session.scalars(select(Notice))}
    for notice in by_address.values():
        session.refresh(notice)
    refused = by_address["tidak-ada@example.go.id"]
    assert refused.status == "failed"
    assert refused.last_response == "550 5.1.1 <tidak-ada@example.go.id>: no such user"
    later = by_address["nanti@example.go.id"]
    assert later.status == "pending"
    assert later.last_response == "451 4.3.0 try again later"
    assert later.next_attempt_at > utcnow()
    assert smtp.messages() == []

    # Its time comes and the server takes it: delivered once.
    smtp.refuse_data = None
    later.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert delivery.queue_due_delivery(session_factory, mail_settings, utcnow()) is True
    deliver(session_factory, mail_settings)
    session.refresh(later)
    assert later.status == "sent"
    assert later.attempts == 2
    assert [m.recipients for m in smtp.messages()] == [["nanti@example.go.id"]]


def test_no_smtp_server_leaves_every_notice_waiting(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    _invite(session, world, "a@example.go.id", "b@example.go.id")
    smtp.stop()
    deliver(session_factory, mail_settings)
    notices = session.scalars(select(Notice).order_by(Notice.id)).all()
    for notice in notices:
        session.refresh(notice)
    assert [n.status for n in notices] == ["pending", "pending"]
    # Only the one tried counts an attempt; the other was never handed to anyone.
    assert sorted(n.attempts for n in notices) == [0, 1]
    assert "no connection" in (notices[0].last_response or notices[1].last_response or "")


def test_a_notice_left_sending_by_a_stopped_worker_becomes_uncertain_not_resent(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    _invite(session, world, "a@example.go.id")
    claimed = delivery.claim_next(session_factory, "dead-worker:1", utcnow())
    assert claimed is not None
    # Nobody settles it while its lease runs: its worker may still be talking to the server.
    assert delivery.settle_interrupted(session_factory, mail_settings, utcnow()) == 0
    session.execute(update(Notice).values(claimed_at=utcnow() - timedelta(hours=1)))
    session.commit()
    assert delivery.settle_interrupted(session_factory, mail_settings, utcnow()) == 1
    deliver(session_factory, mail_settings)
    notice = session.get(Notice, claimed)
    assert notice is not None
    session.refresh(notice)
    assert notice.status == "uncertain"
    assert "dead-worker:1" in (notice.last_response or "")
    assert smtp.messages() == []


def test_development_without_smtp_writes_the_message_to_the_log(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert settings.smtp_url is None
    _invite(session, world, "dev@example.go.id")
    with caplog.at_level("INFO", logger="emonev.mail"):
        deliver(session_factory, settings)
    notice = session.scalars(select(Notice)).one()
    session.refresh(notice)
    assert notice.status == "sent"
    assert notice.transport == "log"
    assert "dev@example.go.id" in caplog.text
    assert "/atur-kata-sandi?token=" in caplog.text
