"""The database goes away under a running server and comes back: users get a clean 503 with Retry-After
(pages: the Indonesian "gangguan" page), ``/readyz`` says not ready while ``/healthz`` stays live, the log
gets one line for the outage instead of a traceback per request, and the server serves again by itself once
the database is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.faults.live import OPERATORS, SETTINGS, log_in, prepare
from tests.processes import LiveServer, TemporaryPostgres, serve, temporary_postgres

REQUESTS_DURING_OUTAGE = 6


def test_outage_is_503_with_retry_after_and_recovers_without_restart(tmp_path: Path) -> None:
    with temporary_postgres() as pg:
        prepare(pg.url)
        with (
            serve(tmp_path, SETTINGS, prepare=[], database_url=pg.url) as server,
            httpx.Client(base_url=server.url, timeout=20) as client,
        ):
            outage_and_recovery(pg, server, client)


def outage_and_recovery(pg: TemporaryPostgres, server: LiveServer, client: httpx.Client) -> None:
    auth = log_in(client, OPERATORS[0])
    assert client.get("/api/v1/rounds", headers=auth).status_code == 200
    assert client.get("/readyz").status_code == 200

    pg.stop("fast")  # a clean stop: the test cluster runs with synchronous_commit=off
    for _ in range(REQUESTS_DURING_OUTAGE):
        started = time.monotonic()
        refused = client.get("/api/v1/rounds", headers=auth)
        assert time.monotonic() - started < 10
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["connection"] == "close"
        assert refused.json()["type"].endswith("/service-unavailable")
        assert "database" in refused.json()["detail"]

    page = client.get("/", headers=auth)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "Layanan sedang mengalami gangguan" in page.text
    assert int(page.headers["retry-after"]) > 0

    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["database"]["ok"] is False
    assert client.get("/healthz").status_code == 200

    log = server.log.read_text()
    assert log.count("database unreachable") == 1, log
    assert "Traceback" not in log, log

    pg.start()
    deadline = time.monotonic() + 30
    while (answer := client.get("/api/v1/rounds", headers=auth)).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    assert client.get("/readyz").status_code == 200
    assert server.process.poll() is None  # the same process, never restarted

    # The incident is over at the first commit some seconds after its last failure: one more line.
    deadline = time.monotonic() + 30
    while "database unreachable is over" not in (log := server.log.read_text()):
        assert time.monotonic() < deadline, log
        assert client.get("/api/v1/rounds", headers=auth).status_code == 200
        time.sleep(0.5)
    assert "Traceback" not in log, log
