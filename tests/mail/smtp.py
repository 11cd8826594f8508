"""A real SMTP server on the loopback for the e-mail tests (aiosmtpd), and what it received.

    with SmtpServer() as smtp:
        settings = settings.model_copy(update={"smtp_url": smtp.url})
        ...
        [message] = smtp.wait_for(1)

It can refuse: ``smtp.refuse_data = "451 4.3.0 try again later"`` answers every message so (a 4xx is
temporary, a 5xx permanent); an address in ``smtp.refuse_recipients`` gets its code at RCPT. It can be slow
or cut off after taking a message's data: ``smtp.data_delay = 3.0`` stores every message, then waits that long
before its "250" (a client that gives up meanwhile cannot take it back); ``smtp.drop_after_data = True``
stores the message and closes the connection without answering. ``stop()`` and
``start()`` take it away and bring it back on the same port (connection refused meanwhile). Each message
received says whether it came over TLS and who logged in (``tls``, ``login``); ``logins`` lists every AUTH.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: list[str]
    message: EmailMessage
    tls: bool = False  # the message came over TLS (STARTTLS or smtps)
    login: str | None = None  # the user the client authenticated as, if it did

    @property
    def subject(self) -> str:
        # A long header folded right after its colon ("Subject:" CRLF SP "Periode ...") is read back by
        # Python's parser with the folding space in front; mail clients drop it, and so do we.
        return str(self.message["Subject"]).strip()

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "the message has no plain-text part"
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, "the message has no HTML part"
        return str(part.get_content())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _over_tls(server: Any) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        refusal = self.server.refuse_recipients.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.server.refuse_data:
            return self.server.refuse_data
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), message, _over_tls(server), login)
        with self.server.lock:
            self.server.received.append(received)
        if self.server.data_delay:
            await asyncio.sleep(self.server.data_delay)
        if self.server.drop_after_data:
            server.transport.abort()  # taken, and no answer ever comes back (the "250" below goes nowhere)
        return "250 2.0.0 Ok: queued"


class SmtpServer:
    """aiosmtpd in a thread of the test process, on 127.0.0.1.

    ``tls``: an ``ssl.SSLContext`` for the server's certificate; with ``implicit_tls`` the connection is TLS
    from the start (smtps), else STARTTLS is offered (and required for AUTH). ``users``: logins accepted."""

    def __init__(
        self,
        *,
        port: int | None = None,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        users: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.users = users or {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.refuse_data: str | None = None
        self.refuse_recipients: dict[str, str] = {}
        self.data_delay = 0.0
        self.drop_after_data = False
        # Every AUTH the server saw: (login, password, whether the connection was TLS by then).
        self.logins: list[tuple[str, str, bool]] = []
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://127.0.0.1:{self.port}"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        # handled=False: aiosmtpd answers the refusal (535) itself; by default it would say nothing at all.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        with self.lock:
            self.logins.append((login, password, _over_tls(server)))
        ok = self.users.get(login) == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "ready_timeout": 10}
        if self.users:
            # AUTH only under TLS: after STARTTLS, or from the start with smtps (aiosmtpd counts only STARTTLS
            # as TLS, so it is told not to ask for it there).
            require_starttls = self.tls is not None and not self.implicit_tls
            kwargs |= {"authenticator": self._authenticate, "auth_require_tls": require_starttls}
        else:
            kwargs |= {"auth_require_tls": False}
        if self.tls is not None:
            if self.implicit_tls:
                kwargs["ssl_context"] = self.tls  # (its readiness check then speaks TLS too)
            else:
                kwargs["tls_context"] = self.tls
        self.controller = Controller(_Handler(self), **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The messages received, once there are at least ``count`` (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, the SMTP server received {len(self.messages())}")

    def wait_to(self, address: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
        """The messages to ``address``, once there are at least ``count`` of them (others may arrive too: a
        seeded demo's notices, say)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages to {address}, received {len(self.to(address))}")

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages() if address.lower() in (r.lower() for r in m.recipients)]
