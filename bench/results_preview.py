"""The live results of a large round (``results.publication.live_results``: every score recomputed), as
the synchronous preview computes them for one page (``GET /rounds/{id}/results``) and as the
``results_preview`` job writes all of them to a JSON file, in the same run, on the round
``bench/recap_db.py`` seeds on PostgreSQL (its database is created and dropped):

    .venv/bin/python -m bench.results_preview --n 10000 \
        --db postgresql+psycopg://postgres@127.0.0.1:5432/emonev_bench_recap_preview
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from app.accounts.principal import SYSTEM
from app.db.models import Job
from app.db.session import engine_for_long_work, make_sessionmaker
from app.jobs.service import request_job
from app.jobs.worker import run_queued
from app.pagination import PageParams
from app.results.publication import live_results_view
from app.settings import Settings
from bench import recap_db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    round_id = recap_db.seed(args.db, args.n, 20251204)
    print(f"seeded {args.n} bodies in {time.perf_counter() - started:.0f} s")
    try:
        with tempfile.TemporaryDirectory() as directory:
            settings = Settings(database_url=args.db, job_files_dir=Path(directory))
            sessions = make_sessionmaker(engine_for_long_work(settings))
            started = time.perf_counter()
            with sessions() as session:
                page = live_results_view(
                    session=session, round_id=round_id, by=SYSTEM, category=None, params=PageParams(limit=50)
                )
            print(f"synchronous preview, first page of 50: {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            with sessions.begin() as session:
                job, _ = request_job(
                    session=session, kind_name="results_preview", round_id=round_id, params={}, by=SYSTEM
                )
                job_id = job.id
            asked = time.perf_counter() - started
            run_queued(sessions, settings)
            with sessions() as session:
                done = session.scalar(select(Job).where(Job.id == job_id))
                assert done is not None
                assert done.status == "done", done.error
                size = done.file_size or 0
            took = time.perf_counter() - started
            print(f"preview job: asked in {asked * 1000:.0f} ms, done in {took:.1f} s")
            print(f"{page.incomplete} incomplete, file {size / 1e6:.1f} MB")
    finally:
        recap_db.drop_database(args.db)


if __name__ == "__main__":
    main()
