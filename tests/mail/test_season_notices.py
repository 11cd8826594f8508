"""The season's official notices end to end: the event through the API, the mail job, the message received
by a real SMTP server (aiosmtpd) with the right recipients, subject and words, and its link opening the
operator's page.

Each body hears through its PPID's official address and its active operator accounts, no one else: not the
commission's staff, not another body, not a deactivated operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.commissions.timezones import format_words
from app.db.models import (
    Account,
    Invitation,
    Job,
    Notice,
    PublicBody,
    Submission,
    Verification,
    VerifiedAnswer,
)
from app.main import create_app
from app.settings import Settings
from tests.factories import (
    MINI_FULL,
    World,
    get_json,
    make_account,
    make_answers,
    make_body,
    make_submission,
    make_verification,
    make_verified_submission,
    now,
    problem,
)
from tests.mail.conftest import deliver
from tests.mail.smtp import Received, SmtpServer

pytestmark = pytest.mark.db

WITA = "Asia/Makassar"


@pytest.fixture
def mail_client(mail_settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(mail_settings, session_factory=session_factory)) as c:
        yield c


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def addresses(session: Session, body: PublicBody) -> set[str]:
    """Who should hear for a body: its PPID address and its active operators."""
    operators = session.scalars(
        select(func.lower(Account.email)).where(
            Account.body_id == body.id, Account.active.is_(True), Account.role == "operator"
        )
    )
    assert body.ppid_email is not None
    return {body.ppid_email.lower(), *operators}


def received_by(smtp: SmtpServer) -> dict[str, Received]:
    """Each message by its one recipient (a notice goes to one address)."""
    out: dict[str, Received] = {}
    for message in smtp.messages():
        [recipient] = message.recipients
        assert recipient not in out, f"{recipient} received twice"
        out[recipient] = message
    return out


def subject(message: Received) -> str:
    """The subject as a mail client shows it. (Python's e-mail package folds a long subject holding "):"
    right after "Subject:", and reads it back with the folding space in front.)"""
    return " ".join(message.subject.split())


def link(message: Received, prefix: str = "https://emonev.example/") -> str:
    found = next(word for word in message.text().split() if word.startswith(prefix))
    assert found in message.html()
    return found


def open_link(client: TestClient, url: str, headers: dict[str, str]) -> str:
    """GET the link's page as the operator; its HTML."""
    parts = urlsplit(url)
    assert parts.netloc == "emonev.example"
    response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
    assert response.status_code == 200, response.text
    return response.text


def notices(session: Session, event: str) -> int:
    return session.scalar(select(func.count()).select_from(Notice).where(Notice.event == event)) or 0


# --- 3. the round opens ------------------------------------------------------------------------------------


def test_opening_a_round_invites_every_invited_body_once_with_its_window_in_the_commissions_zone(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    world.commission.timezone = WITA
    make_account(session, "operator", commission_id=world.commission.id, body_id=world.body.id, active=False)
    later = make_body(session, world.category, name="Kelurahan Baru")
    make_account(session, "operator", commission_id=world.commission.id, body_id=later.id)
    session.commit()
    as_admin = world.token(world.admin)
    opens = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    closes = datetime(2031, 8, 31, 15, 59, tzinfo=UTC)  # 31 Agustus 2031 pukul 23.59 WITA
    round_ = ok(
        mail_client.post(
            f"/api/v1/commissions/{world.commission.id}/rounds",
            headers=as_admin,
            json={
                "year": 2031,
                "title": "E-Monev 2031",
                "saq_opens_at": opens.isoformat(),
                "saq_closes_at": closes.isoformat(),
            },
        ),
        201,
    )
    rid = round_["id"]
    ok(
        mail_client.put(
            f"/api/v1/rounds/{rid}/templates", headers=as_admin, json={"kelurahan": {"key": "test-mini", "version": "1"}}
        )
    )
    ok(
        mail_client.post(
            f"/api/v1/rounds/{rid}/invitations",
            headers=as_admin,
            json={"body_ids": [world.body.id, world.other_body.id]},
        ),
        201,
    )
    # An extension decided while the round is a draft tells no one yet: the invitation carries it.
    extended = datetime(2031, 9, 7, 15, 59, tzinfo=UTC)
    ok(
        mail_client.post(
            f"/api/v1/rounds/{rid}/extensions",
            headers=as_admin,
            json={
                "closes_at": extended.isoformat(),
                "scope": "bodies",
                "body_ids": [world.other_body.id],
                "reason": "Keputusan Rapat Pleno 3/2031",
            },
        ),
        201,
    )
    assert notices(session, "extension_granted") == 0
    ok(mail_client.post(f"/api/v1/rounds/{rid}/status", headers=as_admin, json={"status": "open"}))
    deliver(session_factory, mail_settings)

    expected = addresses(session, world.body) | addresses(session, world.other_body)
    assert len(expected) == 4  # two PPID addresses, two active operators (not the deactivated one)
    smtp.wait_for(len(expected))
    got = received_by(smtp)
    assert set(got) == expected
    for email in addresses(session, world.body):
        message = got[email]
        assert subject(message) == "Periode E-Monev 2031 dibuka: isi SAQ paling lambat 31 Agustus 2031"
        text = message.text()
        assert f"Yth. PPID {world.body.name}," in text
        assert "Batas waktu pengisian: 31 Agustus 2031 pukul 23.59 WITA" in text
        assert f"Pengisian SAQ dibuka: {format_words(opens, WITA)}" in text
        assert "diperpanjang" not in text
        assert f"Sekretariat {world.commission.name}" in text
    other = got[next(iter(addresses(session, world.other_body)))]
    assert subject(other) == "Periode E-Monev 2031 dibuka: isi SAQ paling lambat 7 September 2031"
    assert "diperpanjang sampai 7 September 2031 pukul 23.59 WITA" in other.text()
    operator = world.token(world.operator)
    page = open_link(mail_client, link(got[world.operator.email.lower()]), operator)
    assert "E-Monev 2031" in page
    assert "Mulai mengisi SAQ" in page

    # A body invited while the round is open gets the same invitation; the others hear nothing again,
    # and inviting it again (a repeated request) writes nothing.
    for status in (201, 200):
        ok(
            mail_client.post(
                f"/api/v1/rounds/{rid}/invitations", headers=as_admin, json={"body_ids": [later.id]}
            ),
            status,
        )
    deliver(session_factory, mail_settings)
    smtp.wait_for(len(expected) + 2)
    got = received_by(smtp)
    assert set(got) == expected | addresses(session, later)
    assert notices(session, "round_opened") == len(expected) + 2


# --- 5. a deadline extension -------------------------------------------------------------------------------


def test_an_extension_tells_the_bodies_it_moves_that_have_not_submitted_with_its_reason(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    submitted = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    draft = make_submission(session, world.round, world.other_body, world.template)
    third = make_body(session, world.category, name="Kelurahan Ketiga")
    world.round.saq_closes_at = datetime(2031, 8, 31, 16, 59, tzinfo=UTC)
    session.add(Invitation(round_id=world.round.id, body_id=third.id))
    session.commit()
    as_admin = world.token(world.admin)
    reason = "Keputusan Rapat Pleno: gangguan jaringan di wilayah kelurahan"
    ok(
        mail_client.post(
            f"/api/v1/rounds/{world.round.id}/extensions",
            headers=as_admin,
            json={"closes_at": "2031-09-10T23:59:00+07:00", "scope": "round", "reason": reason},
        ),
        201,
    )
    # An earlier extension for one body changes nothing for it (its deadline is already later): no notice.
    ok(
        mail_client.post(
            f"/api/v1/rounds/{world.round.id}/extensions",
            headers=as_admin,
            json={
                "closes_at": "2031-09-05T23:59:00+07:00",
                "scope": "bodies",
                "body_ids": [third.id],
                "reason": "permintaan PPID",
            },
        ),
        201,
    )
    deliver(session_factory, mail_settings)
    expected = addresses(session, world.other_body) | addresses(session, third)
    smtp.wait_for(len(expected))
    got = received_by(smtp)
    assert set(got) == expected  # the submitted body gains nothing and is not told
    message = got[world.other_operator.email.lower()]
    assert subject(message) == f"Perpanjangan batas waktu SAQ {world.round.title}: paling lambat 10 September 2031"
    text = message.text()
    assert "Batas waktu baru: 10 September 2031 pukul 23.59 WIB" in text
    assert f"Alasan: {reason}" in text
    assert link(message).endswith(f"/pengisian/{draft.id}")
    open_link(mail_client, link(message), world.token(world.other_operator))

    # Reopening the submitted SAQ with a new deadline tells that body, reason and all.
    ok(
        mail_client.post(
            f"/api/v1/submissions/{submitted.id}/reopen",
            headers=as_admin,
            json={"reason": "Data dukung 1.1.1 salah unggah", "closes_at": "2031-09-12T23:59:00+07:00"},
        )
    )
    deliver(session_factory, mail_settings)
    smtp.wait_for(len(expected) + len(addresses(session, world.body)))
    reopened = received_by(smtp)[world.operator.email.lower()]
    assert subject(reopened) == f"SAQ {world.round.title} dibuka kembali: paling lambat 12 September 2031"
    assert "Alasan: Data dukung 1.1.1 salah unggah" in reopened.text()
    assert link(reopened).endswith(f"/pengisian/{submitted.id}")
    open_link(mail_client, link(reopened), world.token(world.operator))
