"""How a message leaves: SMTP with the standard library's ``smtplib``, or the log in development.

``EMONEV_SMTP_URL``: ``smtp://user:pass@host:587`` (STARTTLS; required when a password is given, so a
password never crosses the network in clear), ``smtps://user:pass@host:465`` (TLS from the first byte),
``smtp://host:25`` (a relay on a trusted network: STARTTLS when the server offers it). The server's
certificate is checked against the system's CAs (and ``EMONEV_SMTP_CA_FILE``).

The server's answer decides what happens next: 2xx sent; 4xx, a refused or dropped connection, a timeout:
:class:`TemporaryFailure` (tried again later); 5xx to a message: :class:`PermanentFailure` (marked failed with
the answer). A refused login or a server without STARTTLS when a password is set is about the configuration,
not the message: a TemporaryFailure with no connection, so every notice waits with that answer until
EMONEV_SMTP_URL is put right (instead of the whole outbox failing in one pass).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from app.settings import Settings

log = logging.getLogger("emonev.mail")

# A connection idle longer than this is checked (NOOP) before the next message: servers drop idle clients.
_IDLE_CHECK_SECONDS = 10.0


class TemporaryFailure(Exception):
    """Not sent, try again later. ``connection``: nothing can be sent now (no connection at all)."""

    def __init__(self, response: str, *, connection: bool = False) -> None:
        super().__init__(response)
        self.response = response
        self.connection = connection


class UncertainFailure(Exception):
    """The connection failed after the message's data was handed over, before the server's answer: it may
    have been delivered. Never sent again by itself (marked ``uncertain`` for the secretariat)."""

    def __init__(self, response: str) -> None:
        super().__init__(response)
        self.response = response


class PermanentFailure(Exception):
    """Refused for good (a 5xx answer: no such mailbox, a policy refusal)."""

    def __init__(self, response: str) -> None:
        super().__init__(response)
        self.response = response


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @property
    def label(self) -> str:
        """Where it sends, for logs and pages (never the password)."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    """The parts of ``EMONEV_SMTP_URL``; ValueError naming what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"EMONEV_SMTP_URL must start with smtp:// or smtps://, not {parts.scheme or url!r}")
    if not parts.hostname:
        raise ValueError("EMONEV_SMTP_URL names no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"EMONEV_SMTP_URL has a bad port: {exc}") from None
    implicit = parts.scheme == "smtps"
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        implicit_tls=implicit,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.smtp_ca_file is not None:
        context.load_verify_locations(cafile=str(settings.smtp_ca_file))
    return context


def _answer(code: int, message: bytes | str) -> str:
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"[:2000]


class SmtpTransport:
    """One SMTP connection, opened at the first message and kept for the next ones."""

    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.config = parse_smtp_url(settings.smtp_url or "")
        self.timeout = settings.smtp_timeout_seconds
        self.context = _tls_context(settings)
        self.client: smtplib.SMTP | None = None
        self.last_used = 0.0

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        client: smtplib.SMTP
        if config.implicit_tls:
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=self.timeout, context=self.context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=self.timeout)
        try:
            client.ehlo()
            if not config.implicit_tls:
                if client.has_extn("starttls"):
                    client.starttls(context=self.context)
                    client.ehlo()
                elif config.password:
                    raise TemporaryFailure(
                        f"{config.label} does not offer STARTTLS: refusing to send the password in clear",
                        connection=True,
                    )
            if config.username and config.password:
                client.login(config.username, config.password)
        except BaseException:
            client.close()
            raise
        return client

    def _ready(self) -> smtplib.SMTP:
        if self.client is not None and time.monotonic() - self.last_used > _IDLE_CHECK_SECONDS:
            try:
                code, _ = self.client.noop()
                if code != 250:
                    raise smtplib.SMTPServerDisconnected
            except (smtplib.SMTPException, OSError):
                self.close()
        if self.client is None:
            try:
                self.client = self._connect()
            except smtplib.SMTPResponseException as exc:  # the login refused (535) among them
                raise TemporaryFailure(_answer(exc.smtp_code, exc.smtp_error), connection=True) from exc
            except (smtplib.SMTPException, OSError) as exc:
                raise TemporaryFailure(
                    f"no connection to {self.config.label}: {exc or type(exc).__name__}", connection=True
                ) from exc
        return self.client

    def send(self, message: EmailMessage, recipient: str) -> str:
        """Hand ``message`` to the server for ``recipient``; returns the server's answer to its data (the
        "250 2.0.0 Ok: queued as ..." that makes it the server's responsibility)."""
        if not recipient.isascii():
            # Sending it would need SMTPUTF8, which the service does not ask for: refused for good, with a
            # reason the secretariat can act on (the address is entered wrong, or needs its ASCII form).
            raise PermanentFailure(
                f"the address {recipient!r} is not ASCII; the service sends only to ASCII addresses"
            )
        client = self._ready()
        sender = parseaddr(str(message["From"]))[1]
        steps: list[tuple[Callable[[], tuple[int, bytes]], tuple[int, ...]]] = [
            (lambda: client.mail(sender), (250,)),
            (lambda: client.rcpt(recipient), (250, 251)),
            (lambda: client.data(message.as_bytes(policy=SMTP_POLICY)), (250,)),
        ]
        step_index = 0
        try:
            for step_index, (step, expected) in enumerate(steps):  # noqa: B007 (read after the loop)
                code, text = step()
                if code not in expected:
                    self._after_refusal()
                    failure = PermanentFailure if code >= 500 else TemporaryFailure
                    raise failure(_answer(code, text))
        except smtplib.SMTPResponseException as exc:  # the data refused (smtplib raises for it)
            self._after_refusal()
            failure = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
            raise failure(_answer(exc.smtp_code, exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            if step_index == len(steps) - 1:
                # Lost (or timed out) while the data went or its answer was awaited: the server may have taken
                # it without our hearing its 250 (RFC 1047). Sending it again could deliver it twice.
                raise UncertainFailure(
                    f"connection to {self.config.label} lost after the message was sent: "
                    f"{exc or type(exc).__name__}; it may or may not have been delivered"
                ) from exc
            # Dropped before the data: by SMTP's rules the server has not taken the message.
            raise TemporaryFailure(
                f"connection to {self.config.label} lost: {exc or type(exc).__name__}"
            ) from exc
        self.last_used = time.monotonic()
        return _answer(code, text)

    def _after_refusal(self) -> None:
        # The transaction was refused; make sure the next one starts clean.
        if self.client is not None:
            try:
                self.client.rset()
            except (smtplib.SMTPException, OSError):
                self.close()
        self.last_used = time.monotonic()

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


class LogTransport:
    """Development without SMTP: the message is written to the log (and readable on the "Surel
    (pengembangan)" page), not sent."""

    name = "log"

    def send(self, message: EmailMessage, recipient: str) -> str:
        text = message.get_body(preferencelist=("plain",))
        body = text.get_content() if text is not None else ""
        log.info(
            "e-mail not sent (EMONEV_SMTP_URL is not set): to %s, subject %r\n%s",
            recipient,
            message["Subject"],
            body,
        )
        return "logged (EMONEV_SMTP_URL is not set)"

    def close(self) -> None:
        pass


Transport = SmtpTransport | LogTransport


def transport_for(settings: Settings) -> Transport | None:
    """How this process sends: SMTP when configured, the log in development, none in production without
    SMTP (notices then wait, pending, until it is configured)."""
    if settings.smtp_url:
        return SmtpTransport(settings)
    if settings.is_development:
        return LogTransport()
    return None
