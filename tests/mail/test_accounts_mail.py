"""Account invitations and password resets end to end: the API or a page, the delivery job, the message the
real SMTP server receives, and its single-use link on the set-password page and API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import invitations
from app.db.base import utcnow
from app.db.models import AccountToken, AuditEntry, Notice, RequestThrottle
from app.mail import delivery
from app.main import create_app
from app.settings import Settings
from app.web import session as web_session
from tests.factories import PASSWORD, World, auth, problem
from tests.mail.conftest import deliver
from tests.mail.smtp import Received, SmtpServer
from tests.web.conftest import Pages, csrf_of

pytestmark = pytest.mark.db

BASE = "https://emonev.example"
NEW_PASSWORD = "sandi-baru-yang-panjang"
RESET = "/api/v1/auth/password-reset"
SET = "/api/v1/auth/set-password"


def _client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(settings, session_factory=session_factory)
    with TestClient(app) as c:
        yield c


def link_of(message: Received) -> str:
    """The set-password link of a message (the same in its plain-text and HTML parts), as a path."""
    text = message.text()
    link = next(word for word in text.split() if word.startswith(f"{BASE}/atur-kata-sandi?token="))
    assert link in message.html()
    return link.removeprefix(BASE)


def secret_of(path: str) -> str:
    return parse_qs(urlsplit(path).query)["token"][0]


def login(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def set_on_page(client: TestClient, path: str, password: str, again: str | None = None) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(
        "/atur-kata-sandi",
        data={
            "token": secret_of(path),
            "password": password,
            "password_again": password if again is None else again,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )


def create_invited(client: TestClient, world: World, email: str, **extra: Any) -> Any:
    response = client.post(
        "/api/v1/accounts",
        json={"email": email, "name": "Siti Rahmawati", "role": "verifier"} | extra,
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text
    return response.json()


# --- Invitations -------------------------------------------------------------------------------------------


def test_an_account_created_without_a_password_is_invited_and_its_holder_sets_one_once(
    mail_client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    created = create_invited(mail_client, world, "Siti.Verifikator@Example.go.id")
    assert created["activated"] is False
    # Waiting for activation: no password logs in, with the same answer as a wrong one.
    assert login(mail_client, "siti.verifikator@example.go.id", "").status_code in {401, 422}
    assert login(mail_client, "siti.verifikator@example.go.id", "apa-saja-sepuluh").status_code == 401

    deliver(session_factory, mail_settings)
    [message] = smtp.wait_for(1)
    assert message.recipients == ["siti.verifikator@example.go.id"]
    assert message.subject == f"Undangan akun E-Monev {world.commission.name}"
    text = message.text()
    assert "Yth. Siti Rahmawati," in text
    assert "sebagai Verifikator" in text
    assert "Akun Anda: siti.verifikator@example.go.id" in text
    assert "WIB" in text  # the link's expiry, in the commission's time zone
    path = link_of(message)

    page = mail_client.get(path)
    assert page.status_code == 200
    assert "Buat kata sandi" in page.text
    assert "siti.verifikator@example.go.id" in page.text
    # Two passwords that differ, or one too short: the form again, the link still good.
    assert set_on_page(mail_client, path, NEW_PASSWORD, "sandi-lain-sekali").status_code == 422
    short = set_on_page(mail_client, path, "pendek")
    assert short.status_code == 422
    assert "Kata sandi paling sedikit 10 karakter." in short.text

    done = set_on_page(mail_client, path, NEW_PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/?pesan=kata-sandi-diatur"
    home = mail_client.get(done.headers["location"])  # logged in by the page
    assert "Kata sandi Anda sudah disimpan dan Anda sudah masuk." in home.text
    assert login(mail_client, "siti.verifikator@example.go.id", NEW_PASSWORD).status_code == 200

    # The link works no more, on the page or through the API.
    again = mail_client.get(path)
    assert again.status_code == 400
    assert "Tautan ini tidak berlaku lagi" in again.text
    assert 'href="/lupa-kata-sandi"' in again.text
    refused = mail_client.post(SET, json={"token": secret_of(path), "password": "yang-lain-lagi-1"})
    assert refused.status_code == 400
    assert problem(refused)["type"].endswith("/link-invalid")
    assert login(mail_client, "siti.verifikator@example.go.id", NEW_PASSWORD).status_code == 200

    account = mail_client.get(f"/api/v1/accounts/{created['id']}", headers=world.token(world.admin)).json()
    assert account["activated"] is True
    # With a password, the holder uses the password reset, not a new invitation.
    resend = mail_client.post(
        f"/api/v1/accounts/{created['id']}/invitation", headers=world.token(world.admin)
    )
    assert resend.status_code == 409
    audit = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "account.set_password", AuditEntry.entity_id == str(created["id"])
        )
    ).one()
    assert audit.after["password"] == "set"
    assert audit.after["link"] == "invitation"


def test_a_resent_invitation_replaces_the_old_link(
    mail_client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    created = create_invited(mail_client, world, "panel@example.go.id", role="panelist")
    deliver(session_factory, mail_settings)
    smtp.wait_for(1)
    resend = mail_client.post(
        f"/api/v1/accounts/{created['id']}/invitation", headers=world.token(world.admin)
    )
    assert resend.status_code == 202
    body = resend.json()
    assert body["account_id"] == created["id"]
    assert body["recipient"] == "panel@example.go.id"
    assert body["notice_status"] == "pending"
    # The link is in the message only.
    assert "token" not in resend.text
    assert "atur-kata-sandi" not in resend.text
    deliver(session_factory, mail_settings)
    first, second = smtp.wait_for(2)
    assert "sebagai Juri" in second.text()
    old, new = link_of(first), link_of(second)
    assert old != new
    assert mail_client.get(old).status_code == 400
    assert mail_client.post(SET, json={"token": secret_of(old), "password": NEW_PASSWORD}).status_code == 400

    used = mail_client.post(SET, json={"token": secret_of(new), "password": NEW_PASSWORD})
    assert used.status_code == 200, used.text
    assert used.json()["account"]["activated"] is True
    me = mail_client.get("/api/v1/auth/me", headers=auth(used.json()["access_token"]))
    assert me.json()["account"]["email"] == "panel@example.go.id"


def test_an_operator_is_invited_for_its_body_and_other_admins_may_not_resend(
    mail_client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    created = create_invited(
        mail_client, world, "ppid@kelurahan.example.go.id", role="operator", body_id=world.body.id
    )
    deliver(session_factory, mail_settings)
    [message] = smtp.wait_for(1)
    assert f"sebagai PPID (operator badan publik) untuk {world.body.name}" in " ".join(message.text().split())
    other = World(world.session).admin  # an administrator of another commission
    refused = mail_client.post(f"/api/v1/accounts/{created['id']}/invitation", headers=world.token(other))
    assert refused.status_code == 403
    operator = mail_client.post(
        f"/api/v1/accounts/{created['id']}/invitation", headers=world.token(world.operator)
    )
    assert operator.status_code == 403


def test_an_invitation_is_for_an_account_without_a_password(
    mail_client: TestClient, world: World, session: Session
) -> None:
    both = mail_client.post(
        "/api/v1/accounts",
        json={
            "email": "a@example.go.id",
            "name": "A",
            "role": "verifier",
            "password": PASSWORD,
            "invite": True,
        },
        headers=world.token(world.admin),
    )
    assert both.status_code == 422
    assert [e["field"] for e in problem(both)["errors"]] == ["invite"]
    later = create_invited(mail_client, world, "b@example.go.id", invite=False)
    assert session.scalar(select(func.count()).select_from(Notice)) == 0
    assert later["activated"] is False
    with_password = create_invited(mail_client, world, "c@example.go.id", password=PASSWORD)
    assert with_password["activated"] is True
    assert session.scalar(select(func.count()).select_from(Notice)) == 0
    sent = mail_client.post(f"/api/v1/accounts/{later['id']}/invitation", headers=world.token(world.admin))
    assert sent.status_code == 202
    assert session.scalar(select(func.count()).select_from(Notice)) == 1


def test_an_administrator_invites_on_the_accounts_page_and_sees_who_is_waiting(
    mail_client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    admin = Pages(mail_client).login(world.admin)
    created = admin.post(
        "/akun",
        {
            "name": "Budi PPID",
            "email": "budi@kelurahan.example.go.id",
            "role": "operator",
            "body_id": str(world.body.id),
        },
    )
    assert created.status_code == 200
    assert "Undangan untuk membuat kata sandi sedang dikirim" in created.text
    row = created.text.split("budi@kelurahan.example.go.id")[1].split("</tr>")[0]
    assert "Menunggu aktivasi" in row
    assert world.body.name in created.text
    assert "Kirim ulang undangan" in row
    action = row.split('action="')[1].split('"')[0]
    deliver(session_factory, mail_settings)
    [first] = smtp.wait_for(1)
    resent = admin.post(action)
    assert "tautan undangan sebelumnya tidak berlaku lagi" in resent.text

    deliver(session_factory, mail_settings)
    first, second = smtp.wait_for(2)
    assert first.recipients == second.recipients == ["budi@kelurahan.example.go.id"]
    assert mail_client.get(link_of(first)).status_code == 400
    used = mail_client.post(SET, json={"token": secret_of(link_of(second)), "password": NEW_PASSWORD})
    assert used.status_code == 200
    listing = admin.get("/akun").text
    row = listing.split("budi@kelurahan.example.go.id")[1].split("</tr>")[0]
    assert "Menunggu aktivasi" not in row
    assert "Kirim ulang undangan" not in row
    # A refused form comes back with the reason in Indonesian.
    refused = admin.post("/akun", {"name": "Tanpa Surel", "email": "bukan-surel", "role": "verifier"})
    assert refused.status_code == 422
    assert "Alamat surel ini tidak sah." in refused.text


# --- Password reset ----------------------------------------------------------------------------------------


def test_a_known_and_an_unknown_address_get_the_same_answer_and_only_the_known_one_a_message(
    mail_client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    known = mail_client.post(RESET, json={"email": world.operator.email.upper()})
    unknown = mail_client.post(RESET, json={"email": "tidak-ada@example.go.id"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    # Both were counted (per address and per client).
    assert session.scalar(select(func.count()).select_from(RequestThrottle)) == 4

    deliver(session_factory, mail_settings)
    [message] = smtp.wait_for(1)
    assert message.recipients == [world.operator.email]
    assert message.subject == f"Atur ulang kata sandi E-Monev {world.commission.name}"
    assert "mengatur ulang kata sandi" in message.text()
    assert smtp.to("tidak-ada@example.go.id") == []


def test_a_reset_link_sets_the_password_and_ends_every_session(
    mail_client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    old_session = world.token(world.operator)
    assert mail_client.get("/api/v1/auth/me", headers=old_session).status_code == 200
    # Through the page, as a person would.
    page = mail_client.get("/login")
    assert 'href="/lupa-kata-sandi"' in page.text
    form = mail_client.get("/lupa-kata-sandi")
    sent = mail_client.post(
        "/lupa-kata-sandi", data={"email": world.operator.email, "csrf_token": csrf_of(form.text)}
    )
    assert sent.status_code == 200
    assert "Bila surel ini terdaftar" in sent.text
    deliver(session_factory, mail_settings)
    [message] = smtp.wait_for(1)
    path = link_of(message)
    assert "Atur ulang kata sandi" in mail_client.get(path).text

    assert set_on_page(mail_client, path, NEW_PASSWORD).status_code == 303
    assert mail_client.get("/api/v1/auth/me", headers=old_session).status_code == 401
    assert login(mail_client, world.operator.email, PASSWORD).status_code == 401
    assert login(mail_client, world.operator.email, NEW_PASSWORD).status_code == 200
    assert mail_client.get(path).status_code == 400


def test_a_reset_link_expires(
    mail_client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    assert mail_client.post(RESET, json={"email": world.verifier.email}).status_code == 202
    deliver(session_factory, mail_settings)
    path = link_of(smtp.wait_for(1)[0])
    token = session.scalars(select(AccountToken).where(AccountToken.account_id == world.verifier.id)).one()
    assert token.purpose == "password_reset"
    assert timedelta(minutes=59) < token.expires_at - token.created_at <= timedelta(minutes=60)
    session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    page = mail_client.get(path)
    assert page.status_code == 400
    assert "Minta tautan baru" in page.text
    assert mail_client.post(SET, json={"token": secret_of(path), "password": NEW_PASSWORD}).status_code == 400
    assert login(mail_client, world.verifier.email, PASSWORD).status_code == 200


def test_a_deactivated_account_gets_no_reset_message(
    mail_client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    world.panelist.active = False
    session.commit()
    assert mail_client.post(RESET, json={"email": world.panelist.email}).status_code == 202
    deliver(session_factory, mail_settings)
    assert session.scalar(select(func.count()).select_from(Notice)) == 0
    assert smtp.messages() == []


@pytest.fixture
def strict_client(mail_settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = mail_settings.model_copy(
        update={"password_reset_per_address": 2, "password_reset_per_client": 5}
    )
    yield from _client(settings, session_factory)


def test_resets_are_throttled_per_address_known_or_not(strict_client: TestClient, world: World) -> None:
    for email in (world.admin.email, "tidak-ada@example.go.id"):
        assert strict_client.post(RESET, json={"email": email}).status_code == 202
        assert strict_client.post(RESET, json={"email": email}).status_code == 202
        refused = strict_client.post(RESET, json={"email": email})
        assert refused.status_code == 429
        body = problem(refused)
        assert body["type"].endswith("/too-many-requests")
        assert 59 * 60 < int(refused.headers["retry-after"]) <= 60 * 60
    # Another address from this client still passes (2 + 2 counted, the limit per client is 5).
    assert strict_client.post(RESET, json={"email": world.verifier.email}).status_code == 202


def test_resets_are_throttled_per_client_and_the_page_says_so(
    strict_client: TestClient, world: World, session: Session
) -> None:
    for n in range(5):
        assert strict_client.post(RESET, json={"email": f"orang{n}@example.go.id"}).status_code == 202
    refused = strict_client.post(RESET, json={"email": world.admin.email})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert session.scalar(select(func.count()).select_from(Notice)) == 0  # refused: no message either
    form = strict_client.get("/lupa-kata-sandi")
    page = strict_client.post(
        "/lupa-kata-sandi", data={"email": world.admin.email, "csrf_token": csrf_of(form.text)}
    )
    assert page.status_code == 429
    assert "Terlalu banyak permintaan tautan kata sandi." in page.text
    assert "Retry-After" in page.headers


def test_the_count_stays_when_the_request_fails_afterwards(
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
    session: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(invitations, "request_password_reset", broken)
    app = create_app(mail_settings, session_factory=session_factory)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post(RESET, json={"email": world.admin.email}).status_code == 500
    assert session.scalar(select(func.count()).select_from(RequestThrottle)) == 2


def test_the_mail_links_and_the_pages_agree_on_the_set_password_path() -> None:
    assert delivery.SET_PASSWORD_PATH == web_session.SET_PASSWORD_PATH
