"""``emonev serve --workers 2`` starts, with the worker start-up timeout given on the command line, and both
workers answer on a real port."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.faults.live import SETTINGS
from tests.processes import serve


def test_serve_with_two_workers_starts_and_answers(tmp_path: Path) -> None:
    args = ("--workers", "2", "--worker-startup-timeout", "90")
    with serve(tmp_path, SETTINGS, prepare=[["db", "upgrade"]], serve_args=args) as server:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            for _ in range(10):
                assert client.get("/healthz").status_code == 200
                assert client.get("/readyz").status_code == 200
                client.cookies.clear()
        deadline = time.monotonic() + 60
        while (log := server.log.read_text()).count("Application startup complete") < 2:
            assert time.monotonic() < deadline, log
            time.sleep(0.2)
        assert "Started parent process" in log, log
