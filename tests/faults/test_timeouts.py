"""Waits are bounded: a request meeting a lock held by other work answers 503 after about the lock timeout, a
request finding every pooled connection busy answers 503 after the pool timeout, and a client that stops
sending its body gets 408; none hangs, and the server serves normally right after."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.faults.live import OPERATORS, SETTINGS, log_in, postgres_database, psycopg_url
from tests.processes import LiveServer, serve

LOCK_TIMEOUT = 3.0
POOL_TIMEOUT = 0.5
BODY_READ_TIMEOUT = 1.0
TIMEOUTS = SETTINGS | {
    "EMONEV_DB_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT),
    "EMONEV_DB_POOL_TIMEOUT_SECONDS": str(POOL_TIMEOUT),
    "EMONEV_DB_POOL_SIZE": "1",
    "EMONEV_DB_MAX_OVERFLOW": "0",
    "EMONEV_BODY_READ_TIMEOUT_SECONDS": str(BODY_READ_TIMEOUT),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with (
        postgres_database() as url,
        serve(tmp_path_factory.mktemp("timeouts"), TIMEOUTS, prepare=[], database_url=url) as live,
    ):
        yield live


def timed_get(client: httpx.Client, path: str, auth: dict[str, str]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(path, headers=auth)
    return response, time.monotonic() - started


def wait_for_a_lock_wait(url: str, seconds: float = 10) -> None:
    """Until a session of the database waits for a lock (the blocked request, with its connection)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(psycopg_url(url), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.01)
    raise AssertionError("no request came to wait for the lock")


def test_a_held_lock_and_a_busy_pool_answer_503_quickly(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        auth = log_in(client, OPERATORS[0])
        with psycopg.connect(psycopg_url(server.env["EMONEV_DATABASE_URL"])) as other_work:
            other_work.execute('LOCK TABLE "round" IN ACCESS EXCLUSIVE MODE')
            with ThreadPoolExecutor(1) as pool:
                # The first request waits for the lock, holding the process's only pooled connection ...
                blocked = pool.submit(timed_get, client, "/api/v1/rounds", auth)
                wait_for_a_lock_wait(server.env["EMONEV_DATABASE_URL"])
                # ... so the second finds no connection and is refused after the pool timeout.
                crowded, crowded_seconds = timed_get(client, "/api/v1/rounds", auth)
                locked, locked_seconds = blocked.result(timeout=30)
            other_work.rollback()

        assert crowded.status_code == 503, crowded.text
        assert "connection" in crowded.json()["detail"]
        assert int(crowded.headers["retry-after"]) > 0
        assert crowded_seconds < LOCK_TIMEOUT

        assert locked.status_code == 503, locked.text
        assert "did not answer in time" in locked.json()["detail"]
        assert int(locked.headers["retry-after"]) > 0
        assert LOCK_TIMEOUT * 0.9 < locked_seconds < LOCK_TIMEOUT + 5

        assert client.get("/api/v1/rounds", headers=auth).status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type", "says"),
    [
        ("/api/v1/auth/login", b"application/problem+json", b"request-timeout"),
        ("/login", b"text/html", b"Pengiriman terlalu lambat"),
    ],
    ids=["api", "page"],
)
def test_a_client_that_stops_sending_its_body_gets_408(
    server: LiveServer, path: str, content_type: bytes, says: bytes
) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as raw:
        raw.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n".encode()
            + b"Content-Length: 200\r\n\r\nemail=ppid"
        )
        started = time.monotonic()
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
        waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"connection: close" in head.lower()
    assert b"content-type: " + content_type in head.lower()
    assert says in body
    assert BODY_READ_TIMEOUT * 0.9 < waited < BODY_READ_TIMEOUT + 5
