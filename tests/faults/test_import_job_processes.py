"""The import of bodies as a job through real processes: ``emonev serve`` answers 202 and keeps the file; on
PostgreSQL an ``emonev worker`` runs the job, on SQLite the server's own job thread does (the one write lock:
the import's transaction and the job's bookkeeping must not wait on each other). Bounded in time."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from tests.faults.live import ADMIN, SETTINGS, log_in, postgres_database, prepare
from tests.processes import emonev, serve

ROWS = 400


def workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "category", "region_code", "parent", "ppid_email"])
    for i in range(ROWS):
        sheet.append([f"Kelurahan Proses {i:04d}", "kelurahan", "31.71.06.1001", None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
        prepare(url)
        yield url


def wait_for(
    client: httpx.Client, auth: dict[str, str], location: str, seconds: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(location, headers=auth).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the job did not end within {seconds} s: {job}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_import_job_runs_in_a_real_worker_and_leaves_no_input(backend: str, tmp_path: Path) -> None:
    files_dir = tmp_path / "job-files"
    settings = SETTINGS | {"EMONEV_JOB_FILES_DIR": str(files_dir)}
    with (
        database(backend, tmp_path) as url,
        serve(tmp_path, settings, prepare=[], database_url=url) as server,
    ):
        client = httpx.Client(base_url=server.url, timeout=30)
        auth = log_in(client, ADMIN)
        asked = client.post(
            "/api/v1/commissions/1/bodies/import-jobs?dry_run=false",
            headers=auth | {"Content-Type": "application/octet-stream"},
            content=workbook(),
        )
        assert asked.status_code == 202, asked.text
        assert list((files_dir / "inputs").iterdir()) != []
        if backend == "postgresql":
            emonev(server.env, "worker", "--once", timeout=90)
        job = wait_for(client, auth, asked.headers["location"])
        assert job["status"] == "done", job
        assert job["result"]["created"] == ROWS
        assert job["progress"]["done"] == job["progress"]["total"] == 2 * ROWS
        listed = client.get("/api/v1/commissions/1/bodies?q=Proses&limit=500", headers=auth).json()
        assert len([b for b in listed["items"] if b["name"].startswith("Kelurahan Proses")]) == ROWS
        assert list((files_dir / "inputs").iterdir()) == []
        client.close()
