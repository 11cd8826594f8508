"""A link check holds no database connection while it waits for a slow site: the links are read, the
transaction ends, the HTTP requests go out, and the results are stored in a new, short transaction.

Real pieces: PostgreSQL with a pool of one connection (no overflow), and a slow web site on the loopback (a
threaded ``http.server`` that answers only when the test lets it). The checker's own code fetches it; only
the address is redirected (the checker refuses loopback addresses, so the site's name resolves to a public
address, and the transport connects that address's requests to the loopback)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from app.db.session import make_sessionmaker
from app.main import create_app
from app.settings import Settings
from app.verification.linkcheck import LinkChecker
from app.verification.routes import get_link_checker
from tests.conftest import POSTGRES_URL, _drop_database, _own_database, migrate
from tests.factories import World, make_answers, make_submission, now

PUBLIC_IP = "93.184.216.34"
SERVED_WITHIN = 5.0  # seconds; the other request takes milliseconds when a connection is free


class SlowSite(ThreadingHTTPServer):
    """Answers every GET only once ``release`` is set (or after 20 s)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.arrived = threading.Event()
        self.release = threading.Event()


class _SlowHandler(BaseHTTPRequestHandler):
    server: SlowSite

    def do_GET(self) -> None:
        self.server.arrived.set()
        self.server.release.wait(20)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class ToLoopback(httpx.HTTPTransport):
    """Connects to the loopback whatever address the checker pinned (it would never fetch the loopback)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(host="127.0.0.1")
        return super().handle_request(request)


@pytest.fixture
def site() -> Iterator[SlowSite]:
    server = SlowSite()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def pool_of_one() -> Iterator[Engine]:
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("needs PostgreSQL: set EMONEV_TEST_POSTGRES_URL")
    name = f"emonev_linkcheck_pool_{os.getpid()}"
    engine = create_engine(_own_database(POSTGRES_URL, name), pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        migrate(conn)
    yield engine
    engine.dispose()
    _drop_database(POSTGRES_URL, name)


def test_another_request_is_served_while_the_link_check_waits_for_a_slow_site(
    pool_of_one: Engine, site: SlowSite, tmp_path: Path
) -> None:
    with Session(pool_of_one, expire_on_commit=False) as session:
        world = World(session)
        sub = make_submission(
            session, world.round, world.body, world.template, status="submitted", submitted_at=now()
        )
        link = f"http://ppid.example.go.id:{site.server_address[1]}/dip"
        make_answers(session, sub, {"1.1.1": {"value": "yes", "evidence": [link]}})
        admin = world.token(world.admin)
        session.commit()
    settings = Settings(environment="test", database_url="sqlite://", evidence_dir=tmp_path, demo_data=False)
    app = create_app(settings, session_factory=make_sessionmaker(pool_of_one))
    app.dependency_overrides[get_link_checker] = lambda: LinkChecker(
        timeout=30, transport=ToLoopback(retries=0), resolver=lambda host, port: [PUBLIC_IP]
    )
    checks: list[httpx.Response] = []
    others: list[httpx.Response] = []

    with TestClient(app) as client:
        checking = threading.Thread(
            target=lambda: checks.append(
                client.post(f"/api/v1/submissions/{sub.id}/link-check", headers=admin)
            )
        )
        checking.start()
        assert site.arrived.wait(10), "the link check never reached the site"
        other = threading.Thread(target=lambda: others.append(client.get("/api/v1/auth/me", headers=admin)))
        started = time.monotonic()
        other.start()
        other.join(timeout=SERVED_WITHIN)
        served_while_waiting = not other.is_alive() and not site.release.is_set()
        waited = time.monotonic() - started
        site.release.set()
        checking.join(timeout=30)
        other.join(timeout=30)

    assert served_while_waiting, f"the other request waited {waited:.1f} s for the pool's one connection"
    assert others[0].status_code == 200
    assert checks[0].status_code == 200, checks[0].text
    assert (checks[0].json()["checked"], checks[0].json()["ok"]) == (1, 1)
