"""The secretariat's view of e-mail through the API: the notices of a round and of the commission, counts by
status, one notice (never a link's secret), and a resend that reaches the SMTP server with a new Message-ID;
the commission's reply-to address and signature; who may see any of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry
from app.main import create_app
from app.settings import Settings
from tests.factories import World, make_account, make_api_key, make_commission, problem
from tests.mail.conftest import deliver
from tests.mail.secretariat import (
    REFUSAL,
    STATUS_OF,
    invitation,
    notices_in_every_status,
    round_opened,
    round_templates,  # noqa: F401 - the fixture
)
from tests.mail.smtp import SmtpServer

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("round_templates")]


@pytest.fixture
def api(mail_settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """The API of an app that sends to the test's SMTP server."""
    with TestClient(create_app(mail_settings, session_factory=session_factory)) as client:
        yield client


def test_the_round_s_notices_by_status_event_body_and_address_with_counts(
    session: Session, world: World, api: TestClient
) -> None:
    notices = notices_in_every_status(session, world)
    other = round_opened(session, world, "ppid.lain@example.go.id", body_id=world.other_body.id)[0]
    invitation(session, world)  # the commission's, no round: not in the round's list
    admin = world.token(world.admin)
    url = f"/api/v1/rounds/{world.round.id}/notices"

    listed = api.get(url, headers=admin).json()
    assert [n["recipient"] for n in listed["items"]] == [*STATUS_OF, "ppid.lain@example.go.id"]
    failed = api.get(url, params={"status": "failed"}, headers=admin).json()["items"]
    assert [(n["id"], n["status"], n["last_response"]) for n in failed] == [
        (notices["failed"].id, "failed", REFUSAL)
    ]
    assert [
        n["id"] for n in api.get(url, params={"body_id": world.other_body.id}, headers=admin).json()["items"]
    ] == [other.id]
    assert [
        n["recipient"]
        for n in api.get(url, params={"recipient": "TIDAKPASTI@"}, headers=admin).json()["items"]
    ] == ["tidakpasti@example.go.id"]
    # LIKE's wildcards are looked for as themselves.
    assert api.get(url, params={"recipient": "%"}, headers=admin).json()["items"] == []
    assert api.get(url, params={"event": "results_published"}, headers=admin).json()["items"] == []
    assert api.get(url, params={"status": "lost"}, headers=admin).status_code == 422

    # Keyset pages like every list.
    first = api.get(url, params={"limit": 4}, headers=admin).json()
    rest = api.get(url, params={"limit": 4, "cursor": first["next_cursor"]}, headers=admin).json()
    assert len(first["items"]) == 4
    assert [n["id"] for n in first["items"] + rest["items"]] == [n["id"] for n in listed["items"]]
    assert rest["next_cursor"] is None

    counts = api.get(f"{url}/counts", headers=admin).json()
    assert counts == {
        "pending": 2,
        "sending": 1,
        "sent": 1,
        "failed": 1,
        "uncertain": 1,
        "cancelled": 1,
        "total": 7,
    }


def test_the_commission_s_notices_include_those_of_no_round(
    session: Session, world: World, api: TestClient
) -> None:
    notices_in_every_status(session, world)
    invited = invitation(session, world)
    url = f"/api/v1/commissions/{world.commission.id}/notices"
    admin = world.token(world.admin)
    assert len(api.get(url, headers=admin).json()["items"]) == 7
    alone = api.get(url, params={"without_round": "true"}, headers=admin).json()["items"]
    assert [(n["id"], n["event"], n["round_id"]) for n in alone] == [(invited.id, "account_invitation", None)]


def test_one_notice_says_how_it_went_and_never_shows_a_link_secret(
    session: Session,
    world: World,
    api: TestClient,
    smtp: SmtpServer,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    invited = invitation(session, world, status="pending")
    deliver(session_factory, mail_settings)
    [received] = smtp.wait_for(1)
    secret = next(w for w in received.text().split() if "token=" in w).split("token=")[1]
    body = api.get(f"/api/v1/notices/{invited.id}", headers=world.token(world.admin)).json()
    assert body["status"] == "sent"
    assert body["subject"] == received.subject
    assert body["recipient"] == world.operator.email
    assert body["event"] == "account_invitation"
    assert body["attempts"] == 1
    assert body["message_id"] == received.message_id
    assert body["last_response"].startswith("250")
    assert body["sent_at"] is not None
    assert body["resends"] == 0
    assert secret not in str(body)
    assert "context" not in body


def test_a_failed_notice_resent_reaches_the_server_with_a_new_message_id_and_is_audited(
    session: Session,
    world: World,
    api: TestClient,
    smtp: SmtpServer,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    [notice] = round_opened(session, world, "ppid.gambir@example.go.id")
    session.commit()
    smtp.refuse_recipients["ppid.gambir@example.go.id"] = "550 5.1.1 mailbox full for ever"
    deliver(session_factory, mail_settings)
    session.refresh(notice)
    assert (notice.status, notice.last_response) == ("failed", "550 5.1.1 mailbox full for ever")
    assert smtp.messages() == []

    # The address was fixed at the other end; the secretariat sends it again.
    del smtp.refuse_recipients["ppid.gambir@example.go.id"]
    admin = world.token(world.admin)
    answer = api.post(f"/api/v1/notices/{notice.id}/resend", headers=admin)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    assert answer.json()["attempts"] == 0
    assert answer.json()["resends"] == 1
    deliver(session_factory, mail_settings)
    [first] = smtp.wait_for(1)
    assert first.recipients == ["ppid.gambir@example.go.id"]
    assert first.subject == f"Periode {world.round.title} dibuka"
    session.refresh(notice)
    assert notice.status == "sent"
    assert notice.message_id == first.message_id
    assert f"emonev.{notice.id}.1." in first.message_id

    # Sent, and asked for again (the PPID says it never came): a second message, a Message-ID of its own.
    assert api.post(f"/api/v1/notices/{notice.id}/resend", headers=admin).status_code == 202
    deliver(session_factory, mail_settings)
    second = smtp.wait_for(2)[1]
    assert second.message_id != first.message_id
    assert f"emonev.{notice.id}.2." in second.message_id
    assert len(smtp.messages()) == 2

    audited = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notice.resend").order_by(AuditEntry.id)
    ).all()
    assert [(a.entity_id, a.actor_label, a.before["status"], a.after["resends"]) for a in audited] == [
        (str(notice.id), world.admin.email, "failed", 1),
        (str(notice.id), world.admin.email, "sent", 2),
    ]
    assert audited[0].before["last_response"] == "550 5.1.1 mailbox full for ever"


def test_resend_refused_while_on_its_way_and_for_invitations(
    session: Session, world: World, api: TestClient
) -> None:
    notices = notices_in_every_status(session, world)
    admin = world.token(world.admin)
    for status in ("pending", "sending"):
        answer = api.post(f"/api/v1/notices/{notices[status].id}/resend", headers=admin)
        assert answer.status_code == 409, answer.text
        assert problem(answer)["notice_status"] == status
    for status in ("uncertain", "cancelled"):
        assert api.post(f"/api/v1/notices/{notices[status].id}/resend", headers=admin).status_code == 202
    invited = invitation(session, world, status="failed")
    answer = api.post(f"/api/v1/notices/{invited.id}/resend", headers=admin)
    assert answer.status_code == 409
    assert "send a new invitation or password reset instead" in problem(answer)["detail"]
    session.refresh(invited)
    assert (invited.status, invited.resends) == ("failed", 0)
    resent = select(AuditEntry).where(
        AuditEntry.action == "notice.resend", AuditEntry.entity_id == str(invited.id)
    )
    assert session.scalars(resent).all() == []


def test_only_the_commission_s_administrators_see_its_mail(
    session: Session, world: World, api: TestClient
) -> None:
    notices = notices_in_every_status(session, world)
    failed = notices["failed"]
    other_commission = make_commission(session)
    outsiders = {
        "verifier": world.token(world.verifier),
        "panelist": world.token(world.panelist),
        "operator": world.token(world.operator),
        "read-only key": {"X-API-Key": make_api_key(session, world.commission, "read")},
        "other commission's admin": world.token(
            make_account(session, "commission_admin", commission_id=other_commission.id)
        ),
    }
    session.commit()
    for who, headers in outsiders.items():
        for method, url in (
            ("GET", f"/api/v1/notices/{failed.id}"),
            ("POST", f"/api/v1/notices/{failed.id}/resend"),
            ("GET", f"/api/v1/rounds/{world.round.id}/notices"),
            ("GET", f"/api/v1/rounds/{world.round.id}/notices/counts"),
            ("GET", f"/api/v1/commissions/{world.commission.id}/notices"),
        ):
            answer = api.request(method, url, headers=headers)
            assert answer.status_code == 404, f"{who}: {method} {url}: {answer.status_code}"
    session.refresh(failed)
    assert failed.status == "failed"
    assert api.get(f"/api/v1/notices/{failed.id}", headers=world.token(world.system_admin)).status_code == 200


def test_the_commission_s_reply_to_and_signature_are_set_through_the_api_and_used(
    session: Session,
    world: World,
    api: TestClient,
    smtp: SmtpServer,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    url = f"/api/v1/commissions/{world.commission.id}"
    admin = world.token(world.admin)
    changed = api.patch(
        url,
        json={
            "mail_reply_to": " Sekretariat@KI.example.go.id ",
            "mail_signature": "Sekretariat KI DKI Jakarta\nJl. Medan Merdeka 1\nTelp. (021) 1234567",
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["mail_reply_to"] == "sekretariat@ki.example.go.id"
    assert api.get(url, headers=world.token(world.verifier)).json()["mail_signature"].endswith("1234567")

    bad = api.patch(
        url, json={"mail_reply_to": "bukan alamat", "mail_signature": "\n".join("abcdefg")}, headers=admin
    )
    assert bad.status_code == 422
    assert {e["field"] for e in problem(bad)["errors"]} == {"mail_reply_to", "mail_signature"}
    assert api.patch(url, json={"mail_signature": "x" * 501}, headers=admin).status_code == 422
    assert (
        api.patch(url, json={"mail_reply_to": "a@b.id"}, headers=world.token(world.verifier)).status_code
        == 403
    )

    round_opened(session, world, "ppid@example.go.id")
    session.commit()
    deliver(session_factory, mail_settings)
    [received] = smtp.wait_for(1)
    assert received.message["Reply-To"] == "sekretariat@ki.example.go.id"
    assert "Sekretariat KI DKI Jakarta\nJl. Medan Merdeka 1\nTelp. (021) 1234567" in lines(received.text())
    assert "Sekretariat KI DKI Jakarta<br>\nJl. Medan Merdeka 1<br>\nTelp. (021) 1234567" in lines(
        received.html()
    )

    # Null clears them: no Reply-To, the default signature.
    cleared = api.patch(url, json={"mail_reply_to": None, "mail_signature": ""}, headers=admin).json()
    assert (cleared["mail_reply_to"], cleared["mail_signature"]) == (None, None)
    assert cleared["name"] == world.commission.name
    round_opened(session, world, "ppid.dua@example.go.id")
    session.commit()
    deliver(session_factory, mail_settings)
    again = smtp.wait_for(2)[1]
    assert "Reply-To" not in again.message
    assert f"Sekretariat {world.commission.name}" in again.text()


def lines(text: str) -> str:
    return text.replace("\r\n", "\n")
