"""What keeps a notice from doing harm or waiting too long: a link mailed to an address that is no longer
the account's opens nothing and is not sent, a reset is not queued behind a round's mailing, addresses and
words outside ASCII are handled, and production refuses placeholder mail settings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Notice
from app.mail import delivery, season
from app.mail.outbox import Event, Letter, Recipient, notify
from app.settings import Settings
from tests.factories import World
from tests.mail.conftest import deliver
from tests.mail.smtp import SmtpServer
from tests.mail.test_accounts_mail import RESET, SET, create_invited, link_of, secret_of

pytestmark = pytest.mark.db


def _status(session: Session, recipient: str) -> tuple[str, str | None]:
    notice = session.scalars(select(Notice).where(Notice.recipient == recipient)).one()
    session.refresh(notice)
    return notice.status, notice.last_response


def test_a_corrected_address_stops_the_invitation_sent_to_the_mistyped_one(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    admin = world.token(world.admin)
    created = create_invited(mail_client, world, "salah.ketik@example.go.id")
    # Corrected before the delivery job ran: the message to the typo is not sent.
    patched = mail_client.patch(
        f"/api/v1/accounts/{created['id']}", headers=admin, json={"email": "benar@example.go.id"}
    )
    assert patched.status_code == 200, patched.text
    deliver(session_factory, mail_settings)
    assert smtp.messages() == []
    status, reason = _status(session, "salah.ketik@example.go.id")
    assert status == "cancelled"
    assert reason == "its link was used or replaced by a newer one"

    # Sent again to the right address, it works; a link that had reached the typo would not.
    again = mail_client.post(f"/api/v1/accounts/{created['id']}/invitation", headers=admin)
    assert again.status_code == 202, again.text
    deliver(session_factory, mail_settings)
    [message] = smtp.wait_to("benar@example.go.id")
    answer = mail_client.post(
        SET, json={"token": secret_of(link_of(message)), "password": "sandi-baru-12345"}
    )
    assert answer.status_code == 200, answer.text


def test_a_link_already_mailed_to_the_old_address_opens_nothing_after_the_address_changes(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    created = create_invited(mail_client, world, "lama@example.go.id")
    deliver(session_factory, mail_settings)
    [message] = smtp.wait_to("lama@example.go.id")
    mail_client.patch(
        f"/api/v1/accounts/{created['id']}",
        headers=world.token(world.admin),
        json={"email": "baru@example.go.id"},
    )
    answer = mail_client.post(
        SET, json={"token": secret_of(link_of(message)), "password": "sandi-baru-12345"}
    )
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/link-invalid")


def test_a_deactivated_accounts_pending_invitation_is_not_sent(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    created = create_invited(mail_client, world, "pergi@example.go.id")
    mail_client.patch(
        f"/api/v1/accounts/{created['id']}", headers=world.token(world.admin), json={"active": False}
    )
    deliver(session_factory, mail_settings)
    assert smtp.messages() == []
    assert _status(session, "pergi@example.go.id")[0] == "cancelled"


def test_a_password_reset_is_sent_before_a_round_mailing_already_waiting(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    season.round_opened(session, round_=world.round)
    session.commit()
    waiting = session.scalars(select(Notice.id).where(Notice.event == Event.round_opened)).all()
    assert len(waiting) >= 2
    assert mail_client.post(RESET, json={"email": world.operator.email}).status_code == 202
    first = delivery.claim_next(session_factory, "uji", delivery.utcnow())
    reset = session.scalars(select(Notice).where(Notice.event == Event.password_reset)).one()
    assert first == reset.id


def test_a_token_with_a_non_ascii_digit_is_an_invalid_link_not_a_server_error(
    mail_client: TestClient,
) -> None:
    answer = mail_client.post(SET, json={"token": "².abc", "password": "sandi-baru-12345"})
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/link-invalid")
    page = mail_client.get("/atur-kata-sandi", params={"token": "²³.abc"})
    assert page.status_code == 400


def test_a_non_ascii_address_fails_with_a_reason_and_non_ascii_words_arrive_intact(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    world.commission.mail_signature = "Sekretariat “KI” – Bagian Monev"
    notify(
        session,
        event=Event.objection_answered,
        ref="uji:1",
        letters=[
            Letter(Recipient(address), _objection_context())
            for address in ("sîti@example.go.id", "ok@example.go.id")
        ],
        commission_id=world.commission.id,
        commission_name=world.commission.name,
    )
    session.commit()
    deliver(session_factory, mail_settings)
    status, reason = _status(session, "sîti@example.go.id")
    assert status == "failed"
    assert reason is not None
    assert "not ASCII" in reason
    [message] = smtp.wait_to("ok@example.go.id")
    assert message.message["Content-Transfer-Encoding"] is None  # multipart: each part says its own
    assert all(
        part["Content-Transfer-Encoding"] == "quoted-printable" for part in message.message.iter_parts()
    )
    assert "Sekretariat “KI” – Bagian Monev" in message.text()


def _objection_context() -> dict[str, object]:
    return {
        "body_name": "Kelurahan Uji",
        "round_title": "Monev 2025",
        "question_code": "A1",
        "question_text": "Apakah ada daftar informasi publik?",
        "accepted": True,
        "decision": "diterima",
        "reason": "Dokumen – sah",
        "decided_value": "Ya",
        "decided_at": "2025-09-01T01:00:00+00:00",
        "paths": {"verification": "/"},
    }


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ({"mail_from": "KI DKI <e-monev@jakarta.go.id>"}, "EMONEV_BASE_URL"),
        ({"base_url": "https://e-monev.go.id"}, "EMONEV_MAIL_FROM"),
    ],
)
def test_production_with_smtp_refuses_placeholder_addresses(missing: dict[str, str], variable: str) -> None:
    with pytest.raises(ValidationError, match=variable):
        Settings(
            environment="production",
            secret_key="s" * 40,
            smtp_url="smtp://mail.example.go.id:25",
            _env_file=None,  # type: ignore[call-arg]
            **missing,
        )
    Settings(environment="production", secret_key="s" * 40, _env_file=None)  # type: ignore[call-arg]
