"""Slow uploads starve nobody: a real ``emonev serve`` on PostgreSQL with a pool of two connections (and no
overflow) keeps answering ordinary requests at once while more uploads than the pool holds trickle in over
raw sockets, and every upload is stored once it has arrived.

Before bodies were read ahead of the request (``app/request_body.py``), each upload authenticated, and so
checked out a connection, before its body streamed in: two slow uploads took the whole pool and every other
request waited for the pool's 30 s timeout, then failed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.demo.world import DEMO_PASSWORD, operator_email
from tests.conftest import POSTGRES_URL, _drop_database, _own_database
from tests.factories import tiny_pdf
from tests.processes import LiveServer, serve

POOL = 2
SLOW_UPLOADS = 3 * POOL
ORDINARY_REQUESTS = 10
QUICK_SECONDS = 2.0  # generous: these requests take milliseconds when nothing holds the pool
BOUNDARY = "batas-lambat"


@pytest.fixture
def database_url() -> Iterator[str]:
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("needs PostgreSQL: set EMONEV_TEST_POSTGRES_URL")
    name = f"emonev_slow_uploads_{os.getpid()}"
    yield _own_database(POSTGRES_URL, name)
    _drop_database(POSTGRES_URL, name)


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    settings = {"EMONEV_DB_POOL_SIZE": str(POOL), "EMONEV_DB_MAX_OVERFLOW": "0"}
    with serve(tmp_path, settings, prepare=[["db", "upgrade"]], database_url=database_url) as live:
        yield live


def multipart(name: str, content: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


class SlowUpload:
    """One evidence upload over a raw socket: the headers and a few bytes at once, then a byte at a time."""

    def __init__(self, server: LiveServer, path: str, token: str, body: bytes) -> None:
        port = int(server.url.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.body = body
        self.sent = 64
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + body[: self.sent])

    def trickle(self) -> None:
        if self.sent < len(self.body) - 1:  # the last byte waits for finish()
            try:
                self.sock.sendall(self.body[self.sent : self.sent + 1])
            except OSError:  # the server gave up on it; finish() reports what it answered
                self.sent = len(self.body) - 1
                return
            self.sent += 1

    def finish(self) -> int:
        """Send the rest; the response's status."""
        with contextlib.suppress(OSError):
            self.sock.sendall(self.body[self.sent :])
        answer = b""
        while b"\r\n" not in answer:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return int(answer.split(b" ", 2)[1])


def test_ordinary_requests_answer_at_once_while_slow_uploads_outnumber_the_pool(server: LiveServer) -> None:
    client = httpx.Client(base_url=server.url, timeout=QUICK_SECONDS * 4)
    login = client.post(
        "/api/v1/auth/login", json={"email": operator_email("Kelurahan Gambir"), "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    round_id = client.get("/api/v1/rounds", headers=headers).json()["items"][0]["id"]
    opened = client.post(f"/api/v1/rounds/{round_id}/submissions", headers=headers)
    assert opened.status_code in (200, 201), opened.text
    sub_id = opened.json()["id"]
    answers = client.get(f"/api/v1/submissions/{sub_id}", headers=headers).json()["answers"]
    code = next(code for code, answer in sorted(answers.items()) if not answer["files"])
    path = f"/api/v1/submissions/{sub_id}/answers/{code}/files"

    uploads = [
        SlowUpload(server, path, token, multipart(f"bukti-{i}.pdf", tiny_pdf(f"bukti lambat {i}")))
        for i in range(SLOW_UPLOADS)
    ]
    try:
        check_while_uploading(client, headers, sub_id, uploads, code)
    finally:
        for upload in uploads:
            upload.sock.close()
        client.close()


def check_while_uploading(
    client: httpx.Client, headers: dict[str, str], sub_id: int, uploads: list[SlowUpload], code: str
) -> None:
    stop = threading.Event()

    def keep_trickling() -> None:
        while not stop.wait(0.2):
            for upload in uploads:
                upload.trickle()

    dripper = threading.Thread(target=keep_trickling, daemon=True)
    dripper.start()
    time.sleep(1.0)  # every upload is under way, sending a byte at a time

    timings: list[tuple[str, int | str, float]] = []
    try:
        for i in range(ORDINARY_REQUESTS):
            url = "/api/v1/auth/me" if i % 2 else f"/api/v1/submissions/{sub_id}"
            started = time.monotonic()
            try:
                status: int | str = client.get(url, headers=headers).status_code
            except httpx.TimeoutException:
                status = "timed out"
            timings.append((url, status, time.monotonic() - started))
            if status != 200:
                break
    finally:
        stop.set()
        dripper.join(timeout=5)

    assert all(status == 200 for _, status, _ in timings), timings
    assert max(seconds for *_, seconds in timings) < QUICK_SECONDS, timings
    assert [upload.finish() for upload in uploads] == [201] * SLOW_UPLOADS
    stored = client.get(f"/api/v1/submissions/{sub_id}", headers=headers).json()["answers"][code]["files"]
    assert sorted(f["name"] for f in stored) == sorted(f"bukti-{i}.pdf" for i in range(SLOW_UPLOADS))
