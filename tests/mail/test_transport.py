"""The SMTP transport's settings and its TLS and AUTH paths, against a real aiosmtpd server with a certificate
made by ``trustme``: the password crosses only under TLS, a server that cannot take it so is refused, a wrong
password or an untrusted certificate leaves the message unsent with the reason kept."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Notice
from app.mail.delivery import queue_due_delivery
from app.mail.outbox import Event, Letter, Recipient, notify
from app.mail.transport import SmtpTransport, TemporaryFailure, parse_smtp_url
from app.settings import Settings
from tests.factories import World
from tests.mail.conftest import deliver
from tests.mail.smtp import SmtpServer

USER = "surel@ki.example.go.id"
PASSWORD = "rahasia:p@ss/word%"  # the test server's
# The same, percent-encoded as the URL must carry it.
URL_CREDENTIALS = "surel%40ki.example.go.id:rahasia%3Ap%40ss%2Fword%25"


# --- EMONEV_SMTP_URL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "port", "implicit_tls", "username", "password"),
    [
        ("smtp://mail.ki.example.go.id", "mail.ki.example.go.id", 587, False, None, None),
        ("smtps://mail.ki.example.go.id", "mail.ki.example.go.id", 465, True, None, None),
        ("smtp://relay.internal:25", "relay.internal", 25, False, None, None),
        ("  smtps://u:kunci@mail.example:2465 ", "mail.example", 2465, True, "u", "kunci"),
        (f"smtp://{URL_CREDENTIALS}@mail.example", "mail.example", 587, False, USER, PASSWORD),
    ],
)
def test_the_smtp_url_gives_host_port_tls_and_the_decoded_login(
    url: str, host: str, port: int, implicit_tls: bool, username: str | None, password: str | None
) -> None:
    config = parse_smtp_url(url)
    assert (config.host, config.port, config.implicit_tls) == (host, port, implicit_tls)
    assert (config.username, config.password) == (username, password)
    # What logs and pages show names the user, never the password.
    assert password is None or password not in config.label
    assert config.label.startswith("smtps://" if implicit_tls else "smtp://")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example:25", "must start with smtp:// or smtps://"),
        ("mail.example:25", "must start with smtp:// or smtps://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example:dua-lima", "bad port"),
        ("smtp://mail.example:70000", "bad port"),
    ],
)
def test_a_bad_smtp_url_is_refused_naming_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_smtp_url(url)


# --- TLS and AUTH against a real server --------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def settings_for(settings: Settings, url: str, ca_file: Path | None) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": url,
            "smtp_ca_file": ca_file,
            "smtp_timeout_seconds": 5,
            "mail_per_minute": 0,
            "mail_retry_seconds": 1,
            "base_url": "https://emonev.example",
            "mail_from": "E-Monev <noreply@emonev.example>",
        }
    )


def with_login(server: SmtpServer, credentials: str = URL_CREDENTIALS) -> str:
    scheme, rest = server.url.split("://")
    return f"{scheme}://{credentials}@{rest}"


def a_message(to: str = "ppid@example.go.id") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "E-Monev <noreply@emonev.example>"
    message["To"] = to
    message["Subject"] = "Uji"
    message["Message-ID"] = "<uji.1@emonev.example>"
    message.set_content("Isi uji.")
    return message


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[SmtpServer]:
    with SmtpServer(tls=server_context(ca), users={USER: PASSWORD}) as server:
        yield server


def test_starttls_then_auth_sends_with_the_password_only_under_tls(
    starttls_server: SmtpServer, settings: Settings, ca_file: Path
) -> None:
    transport = SmtpTransport(settings_for(settings, with_login(starttls_server), ca_file))
    try:
        answer = transport.send(a_message(), "ppid@example.go.id")
        transport.send(a_message("kedua@example.go.id"), "kedua@example.go.id")
    finally:
        transport.close()
    assert answer.startswith("250")
    first, second = starttls_server.wait_for(2)
    assert (first.tls, first.login, first.recipients) == (True, USER, ["ppid@example.go.id"])
    assert (second.tls, second.login) == (True, USER)  # the same connection, kept
    # One login, with the decoded password, over TLS.
    assert starttls_server.logins == [(USER, PASSWORD, True)]


def test_smtps_is_tls_from_the_first_byte(ca: trustme.CA, settings: Settings, ca_file: Path) -> None:
    with SmtpServer(tls=server_context(ca), implicit_tls=True, users={USER: PASSWORD}) as server:
        assert server.url.startswith("smtps://")
        transport = SmtpTransport(settings_for(settings, with_login(server), ca_file))
        try:
            transport.send(a_message(), "ppid@example.go.id")
        finally:
            transport.close()
        [received] = server.wait_for(1)
    assert (received.tls, received.login) == (True, USER)
    assert server.logins == [(USER, PASSWORD, True)]


def test_a_relay_without_a_password_uses_starttls_when_offered(
    ca: trustme.CA, settings: Settings, ca_file: Path
) -> None:
    with SmtpServer(tls=server_context(ca)) as server:
        transport = SmtpTransport(settings_for(settings, server.url, ca_file))
        try:
            transport.send(a_message(), "ppid@example.go.id")
        finally:
            transport.close()
        [received] = server.wait_for(1)
    assert (received.tls, received.login) == (True, None)


def test_no_starttls_with_a_password_is_refused_before_the_password_is_sent(settings: Settings) -> None:
    # A server that would take the password in clear (AUTH offered without TLS).
    with SmtpServer(users={USER: PASSWORD}) as server:
        transport = SmtpTransport(settings_for(settings, with_login(server), None))
        with pytest.raises(TemporaryFailure) as refused:
            transport.send(a_message(), "ppid@example.go.id")
        transport.close()
        assert server.logins == []
        assert server.messages() == []
    # The configuration is wrong, not the message: nothing can go until it is put right.
    assert refused.value.connection
    assert refused.value.response == (
        f"smtp://{USER}@127.0.0.1:{server.port} does not offer STARTTLS: "
        "refusing to send the password in clear"
    )
    assert PASSWORD not in refused.value.response


def test_an_untrusted_certificate_sends_nothing_not_even_the_password(
    starttls_server: SmtpServer, settings: Settings
) -> None:
    # No EMONEV_SMTP_CA_FILE: trustme's CA is not among the system's.
    transport = SmtpTransport(settings_for(settings, with_login(starttls_server), None))
    with pytest.raises(TemporaryFailure) as refused:
        transport.send(a_message(), "ppid@example.go.id")
    transport.close()
    assert refused.value.connection
    assert "CERTIFICATE_VERIFY_FAILED" in refused.value.response
    assert starttls_server.logins == []
    assert starttls_server.messages() == []


# --- Through the outbox: what the secretariat sees ---------------------------------------------------------


def _write(session: Session, world: World, *emails: str) -> None:
    notify(
        session,
        event=Event.account_invitation,
        ref="uji-transport",
        letters=[
            Letter(
                Recipient(email),
                {
                    "email": email,
                    "role_words": "Operator PPID",
                    "body_name": None,
                    "valid_until": (utcnow() + timedelta(days=7)).isoformat(),
                    "paths": {"set_password": "/atur-kata-sandi?token=uji"},
                },
            )
            for email in emails
        ],
        commission_id=world.commission.id,
        commission_name=world.commission.name,
    )
    session.commit()


def _notices(session: Session) -> list[Notice]:
    notices = list(session.scalars(select(Notice).order_by(Notice.id)))
    for notice in notices:
        session.refresh(notice)
    return notices


@pytest.mark.db
def test_a_notice_goes_out_over_starttls_with_auth(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    starttls_server: SmtpServer,
    settings: Settings,
    ca_file: Path,
) -> None:
    _write(session, world, "ppid@example.go.id")
    deliver(session_factory, settings_for(settings, with_login(starttls_server), ca_file))
    [received] = starttls_server.wait_for(1)
    assert (received.tls, received.login) == (True, USER)
    [notice] = _notices(session)
    assert notice.status == "sent"
    assert notice.message_id == received.message_id


def _put_right(session: Session, session_factory: sessionmaker[Session], settings: Settings) -> None:
    """The notices' time comes, with the settings put right: each delivered once."""
    for notice in _notices(session):
        notice.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert queue_due_delivery(session_factory, settings, utcnow())
    deliver(session_factory, settings)
    assert {n.status for n in _notices(session)} == {"sent"}


@pytest.mark.db
def test_a_wrong_password_fails_no_notice_all_wait_with_the_servers_535(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    starttls_server: SmtpServer,
    settings: Settings,
    ca_file: Path,
) -> None:
    # (It once marked every pending notice failed in one pass: a typo in EMONEV_SMTP_URL lost the outbox.)
    _write(session, world, "ppid@example.go.id", "kedua@example.go.id", "ketiga@example.go.id")
    url = with_login(starttls_server, "surel%40ki.example.go.id:salah")
    deliver(session_factory, settings_for(settings, url, ca_file))
    notices = _notices(session)
    assert [n.status for n in notices] == ["pending"] * 3
    # The batch stopped at the first: the server's answer kept, no password in it.
    [tried] = [n for n in notices if n.attempts]
    assert tried.last_response == "535 5.7.8 Authentication credentials invalid"
    # (smtplib tries PLAIN, then LOGIN) and only over TLS.
    assert set(starttls_server.logins) == {(USER, "salah", True)}
    assert starttls_server.messages() == []

    _put_right(session, session_factory, settings_for(settings, with_login(starttls_server), ca_file))
    assert sorted(r for m in starttls_server.messages() for r in m.recipients) == [
        "kedua@example.go.id",
        "ketiga@example.go.id",
        "ppid@example.go.id",
    ]


@pytest.mark.db
def test_no_starttls_fails_no_notice_all_wait_saying_why(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    settings: Settings,
) -> None:
    with SmtpServer(users={USER: PASSWORD}) as server:
        _write(session, world, "ppid@example.go.id", "kedua@example.go.id")
        deliver(session_factory, settings_for(settings, with_login(server), None))
        assert server.logins == []
        assert server.messages() == []
    notices = _notices(session)
    assert [n.status for n in notices] == ["pending", "pending"]
    [tried] = [n for n in notices if n.attempts]
    assert tried.last_response == (
        f"smtp://{USER}@127.0.0.1:{server.port} does not offer STARTTLS: "
        "refusing to send the password in clear"
    )


@pytest.mark.db
def test_an_untrusted_certificate_keeps_the_notice_pending_with_the_reason(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    starttls_server: SmtpServer,
    settings: Settings,
    ca_file: Path,
) -> None:
    _write(session, world, "ppid@example.go.id", "kedua@example.go.id")
    deliver(session_factory, settings_for(settings, with_login(starttls_server), None))
    notices = _notices(session)
    assert [n.status for n in notices] == ["pending", "pending"]
    tried = [n for n in notices if n.attempts]
    assert len(tried) == 1  # no connection: the batch stops at the first
    assert "CERTIFICATE_VERIFY_FAILED" in (tried[0].last_response or "")
    assert starttls_server.messages() == []

    # The CA made known: delivered, once each.
    _put_right(session, session_factory, settings_for(settings, with_login(starttls_server), ca_file))
    assert sorted(r for m in starttls_server.messages() for r in m.recipients) == [
        "kedua@example.go.id",
        "ppid@example.go.id",
    ]
