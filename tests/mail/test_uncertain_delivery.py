"""A notice whose data reached the SMTP server but whose "250" never came back (the answer too slow for the
client's timeout, or the connection cut right after the data) may have been delivered: it is marked
``uncertain``, never sent again by itself, and the secretariat sees it so (RFC 1047). Real aiosmtpd server on
the loopback, real sockets, the real timeout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import AuditEntry, Notice
from app.main import create_app
from app.settings import Settings
from tests.factories import World
from tests.mail.conftest import deliver
from tests.mail.secretariat import round_opened
from tests.mail.smtp import SmtpServer
from tests.mail.test_secretariat_pages import row
from tests.web.conftest import Pages
from tests.web.test_result_pages import text_of

pytestmark = pytest.mark.db

TIMEOUT = 2.0  # the client's SMTP timeout: the steps before the data must not run out of it under load
SLOW = 5.0  # how long the slow server takes before its "250"


@pytest.fixture
def short_timeout(mail_settings: Settings) -> Settings:
    return mail_settings.model_copy(update={"smtp_timeout_seconds": TIMEOUT})


@pytest.fixture
def app_client(short_timeout: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(short_timeout, session_factory=session_factory)) as client:
        yield client


@pytest.mark.parametrize("fault", ["250 too late", "dropped after the data"])
def test_a_notice_whose_data_went_without_an_answer_is_uncertain_delivered_once_and_shown(
    fault: str,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    short_timeout: Settings,
    app_client: TestClient,
) -> None:
    [notice] = round_opened(session, world, "ppid.gambir@example.go.id")
    session.commit()
    if fault == "250 too late":
        smtp.data_delay = SLOW
    else:
        smtp.drop_after_data = True

    deliver(session_factory, short_timeout)
    session.refresh(notice)
    assert notice.status == "uncertain"
    assert notice.attempts == 1
    assert notice.claimed_at is None
    assert "may or may not have been delivered" in (notice.last_response or "")
    # The server did take it.
    [received] = smtp.messages()
    assert received.recipients == ["ppid.gambir@example.go.id"]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.uncertain")).one()
    assert audit.entity_id == str(notice.id)

    # The server is prompt again and any back-off is over (the clock moved rather than waited for): a later
    # delivery run does not send it again by itself.
    smtp.data_delay = 0.0
    smtp.drop_after_data = False
    session.execute(update(Notice).values(next_attempt_at=utcnow() - timedelta(hours=1)))
    session.commit()
    deliver(session_factory, short_timeout)
    session.refresh(notice)
    assert (notice.status, notice.attempts) == ("uncertain", 1)
    assert len(smtp.messages()) == 1

    # The secretariat sees it as uncertain, in the API and on the round's mail page.
    admin = world.token(world.admin)
    body = app_client.get(f"/api/v1/notices/{notice.id}", headers=admin).json()
    assert (body["status"], body["sent_at"]) == ("uncertain", None)
    assert "may or may not have been delivered" in body["last_response"]
    counts = app_client.get(f"/api/v1/rounds/{world.round.id}/notices/counts", headers=admin).json()
    assert (counts["uncertain"], counts["sent"], counts["pending"]) == (1, 0, 0)
    page = Pages(app_client).login(world.admin).get(f"/ronde/{world.round.id}/surel")
    assert "Tidak pasti 1" in text_of(page.text)
    assert "Tidak pasti" in row(page.text, notice.id)
    assert "Kirim ulang" in row(page.text, notice.id)
