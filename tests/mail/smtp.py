"""A real SMTP server on the loopback for the e-mail tests (aiosmtpd), and what it received.

    with SmtpServer() as smtp:
        settings = settings.model_copy(update={"smtp_url": smtp.url})
        ...
        [message] = smtp.wait_for(1)

It can refuse: ``smtp.refuse_data = "451 4.3.0 try again later"`` answers every message so (a 4xx is
temporary, a 5xx permanent); an address in ``smtp.refuse_recipients`` gets its code at RCPT. ``stop()`` and
``start()`` take it away and bring it back on the same port (connection refused meanwhile).
"""

from __future__ import annotations

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

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

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
        with self.server.lock:
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
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
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://127.0.0.1:{self.port}"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        ok = isinstance(auth_data, LoginPassword) and self.users.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        return AuthResult(success=ok)

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "ready_timeout": 10}
        if self.users:
            kwargs |= {"authenticator": self._authenticate, "auth_require_tls": self.tls is not None}
        else:
            kwargs |= {"auth_require_tls": False}
        if self.tls is not None:
            if self.implicit_tls:
                kwargs["ssl_context"] = self.tls
                # aiosmtpd's readiness check would speak plain SMTP to a TLS port.
                kwargs["server_hostname"] = "localhost"
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
