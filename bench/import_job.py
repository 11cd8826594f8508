"""A 20,000-row body import (an .xlsx), as the synchronous service does it and as a ``bodies_import`` job
(the request's part: check and keep the file, queue; then the job run by ``run_queued``), each into a fresh
database of its own, in the same run.

    .venv/bin/python -m bench.import_job [ROWS]          # SQLite files in a temporary directory
    EMONEV_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python -m bench.import_job [ROWS]
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from app.accounts.principal import SYSTEM
from app.bodies.jobs import request_import
from app.db.migrate import upgrade
from app.db.models import BodyCategory, Commission, Job, PublicBody
from app.db.session import engine_for_long_work, get_engine, make_sessionmaker
from app.exports.service import import_bodies_workbook
from app.exports.workbook_safety import UploadLimits
from app.jobs.worker import run_queued
from app.settings import Settings
from bench.harness import fresh_database


def workbook(rows: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Badan Publik")
    sheet.append(["name", "category", "region_code", "parent", "ppid_email"])
    for i in range(rows):
        sheet.append([f"Kelurahan Bench {i:06d}", "kelurahan", "31.71.06.1001", None, f"ppid{i}@bench.go.id"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def database(label: str, directory: Path) -> str:
    postgres = os.environ.get("EMONEV_BENCH_POSTGRES_URL")
    url = (
        fresh_database(postgres, f"emonev_bench_import_{label}")
        if postgres
        else f"sqlite:///{directory}/{label}.db"
    )
    upgrade(url)
    with make_sessionmaker(get_engine(url)).begin() as session:
        commission = Commission(code="ki-bench", name="KI Bench", timezone="Asia/Jakarta")
        session.add(commission)
        session.flush()
        session.add(BodyCategory(commission_id=commission.id, code="kelurahan", name="Kelurahan"))
    return url


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    data = workbook(rows)
    print(f"{rows} rows, {len(data) / 1e6:.1f} MB workbook")
    with tempfile.TemporaryDirectory() as directory:
        url = database("sync", Path(directory))
        sessions = make_sessionmaker(engine_for_long_work(Settings(database_url=url)))
        started = time.perf_counter()
        with sessions.begin() as session:
            report = import_bodies_workbook(
                session=session,
                commission_id=1,
                upload=BytesIO(data),
                name="bench.xlsx",
                dry_run=False,
                by=SYSTEM,
                limits=UploadLimits(max_bytes=len(data)),
            )
        sync_seconds = time.perf_counter() - started
        assert len(report.created) == rows

        url = database("job", Path(directory))
        settings = Settings(database_url=url, job_files_dir=Path(directory) / "job-files")
        sessions = make_sessionmaker(engine_for_long_work(settings))
        started = time.perf_counter()
        with sessions.begin() as session:
            job = request_import(
                session=session,
                commission_id=1,
                data=data,
                name="bench.xlsx",
                dry_run=False,
                by=SYSTEM,
                settings=settings,
            )
            job_id = job.id
        request_seconds = time.perf_counter() - started
        assert run_queued(sessions, settings) == 1
        job_seconds = time.perf_counter() - started
        with sessions() as session:
            done = session.get(Job, job_id)
            assert done is not None
            assert done.status == "done", done.error
            assert session.scalar(select(func.count()).select_from(PublicBody)) == rows
    backend = "PostgreSQL" if os.environ.get("EMONEV_BENCH_POSTGRES_URL") else "SQLite"
    print(f"{backend}: synchronous import {sync_seconds:.1f} s")
    print(f"{backend}: job: request (check, keep, queue) {request_seconds:.2f} s")
    print(f"{backend}: job: until done {job_seconds:.1f} s")


if __name__ == "__main__":
    main()
