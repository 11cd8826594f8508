"""Every request body is read in full before the app sees the request (``app/request_body.py``), so a slow
client holds no database connection while it sends; a body past the largest upload is 413 at once."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.request_body import IN_MEMORY, ReadBodyFirst, body_limit
from app.settings import Settings
from tests.factories import problem

Message = dict[str, Any]


@dataclass
class Client:
    """The client's side of one request: its body in chunks (or a disconnect), counting what was taken."""

    chunks: list[bytes]
    disconnect_after: int | None = None
    taken: int = 0

    async def receive(self) -> Message:
        if self.disconnect_after is not None and self.taken >= self.disconnect_after:
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}
        if self.taken >= len(self.chunks):
            await asyncio.sleep(3600)  # the ASGI server waits for a disconnect that never comes
        chunk = self.chunks[self.taken]
        self.taken += 1
        return {"type": "http.request", "body": chunk, "more_body": self.taken < len(self.chunks)}


@dataclass
class App:
    """The app behind the middleware: notes how much of the body the client had sent when it was called,
    reads the body and answers its SHA-256."""

    client: Client
    called_with_taken: int | None = None
    body: bytes = b""
    messages: list[Message] = field(default_factory=list)

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        self.called_with_taken = self.client.taken
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": hashlib.sha256(self.body).hexdigest().encode()})


def run(client: Client, headers: dict[str, str], *, limit: int = 50 * IN_MEMORY) -> tuple[App, list[Message]]:
    app = App(client)
    middleware = ReadBodyFirst(app, limit=lambda: limit)  # type: ignore[arg-type]
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/anything",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    # A fresh thread has no running event loop, even when a browser test's loop runs in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, middleware(scope, client.receive, send)).result(timeout=30)
    return app, sent


def chunked(size: int, chunk: int) -> list[bytes]:
    data = bytes(i % 251 for i in range(size))
    return [data[i : i + chunk] for i in range(0, size, chunk)]


@pytest.mark.parametrize(
    "chunks",
    [chunked(10_000, 100), chunked(3 * IN_MEMORY + 5, 64 * 1024), [b'{"a": 1}']],
    ids=["in-memory", "spooled-to-disk", "one-message"],
)
def test_the_app_is_called_only_once_the_whole_body_has_arrived_and_reads_it_intact(
    chunks: list[bytes],
) -> None:
    client = Client(chunks)
    whole = b"".join(chunks)

    app, sent = run(client, {"content-length": str(len(whole))})

    assert app.called_with_taken == len(chunks)
    assert app.body == whole
    assert sent[1]["body"] == hashlib.sha256(whole).hexdigest().encode()


def test_a_chunked_body_without_a_length_is_read_first_too() -> None:
    client = Client(chunked(5000, 7))

    app, _ = run(client, {"transfer-encoding": "chunked"})

    assert app.called_with_taken == len(client.chunks)
    assert len(app.body) == 5000


def test_a_request_without_a_body_goes_straight_to_the_app() -> None:
    client = Client([b""])

    app, sent = run(client, {})

    assert app.called_with_taken == 0
    assert sent[0]["status"] == 200


def test_a_declared_length_past_the_limit_is_413_before_a_byte_is_read() -> None:
    client = Client(chunked(10_000, 100))

    app, sent = run(client, {"content-length": "10000"}, limit=4096)

    assert app.called_with_taken is None
    assert client.taken == 0
    assert sent[0]["status"] == 413
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"connection"] == b"close"
    body = json.loads(sent[1]["body"])
    assert (body["status"], body["max_bytes"]) == (413, 4096)


def test_an_undeclared_body_is_cut_off_as_soon_as_it_passes_the_limit() -> None:
    client = Client(chunked(1_000_000, 1000))

    app, sent = run(client, {"transfer-encoding": "chunked"}, limit=4096)

    assert app.called_with_taken is None
    assert client.taken == 5
    assert sent[0]["status"] == 413


def test_a_client_that_goes_away_mid_body_never_reaches_the_app() -> None:
    client = Client(chunked(10_000, 100), disconnect_after=3)

    app, sent = run(client, {"content-length": "10000"})

    assert app.called_with_taken is None
    assert sent == []


def test_the_service_refuses_a_body_past_its_largest_upload(client: TestClient, settings: Settings) -> None:
    settings.upload_max_bytes = settings.evidence_max_bytes = 1024
    limit = body_limit(settings)

    response = client.post(
        "/api/v1/auth/login",
        content=json.dumps({"email": "a@b.id", "password": "x" * limit}),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert problem(response)["max_bytes"] == limit
