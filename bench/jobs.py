"""Jobs on PostgreSQL with real ``emonev worker`` processes (results in bench/README.md, "Jobs").

- ``sheets``: the result sheets ZIP of a published round of ``--n`` bodies (seeded by bench/recap_db.py) as
  one job: wall time from queueing to done with one worker and with two (the round in parts of
  ``--per-part`` bodies), and with one worker as a single job (no parts: the code before the split; not with
  ``--no-single``). Every ZIP is checked: valid (CRCs), one sheet per body with a submission in the
  publication, names unique.
- ``post``: the time from ``POST /rounds/{id}/exports`` to its 202 (a new recap job each time, cancelled
  after), ``--posts`` times, with no worker running and then while two workers are busy with result sheets.
- ``overhead``: empty jobs through one worker: ``--empty`` jobs of a no-op kind registered in this process,
  run by the same procrastinate worker ``emonev worker`` runs (``run_worker_async(once=True)``, in process:
  the kind exists only here), and for comparison by ``run_queued`` (the SQLite job thread's loop, no queue).
- ``recap``: the recap of a published round of ``--recap-n`` bodies as a job, run by ``emonev worker --once``
  under ``/usr/bin/time -v``: its wall time and peak resident set.

The seeded databases are named ``emonev_bench_recap_jobs<N>`` and kept (``--reseed`` seeds them again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.accounts.principal import SYSTEM  # noqa: E402
from app.accounts.security import digest, hash_password, new_token  # noqa: E402
from app.db.base import utcnow  # noqa: E402
from app.db.models import Account, AuthToken, Job, Publication, PublishedResult, Round, Submission  # noqa: E402
from app.db.session import get_engine, make_sessionmaker  # noqa: E402
from app.jobs import service as jobs  # noqa: E402
from app.jobs.kinds import JobKind, JobOutcome, JobRun, register  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench import recap_db  # noqa: E402
from bench.harness import free_port, percentile, start_server, stop_server  # noqa: E402

EMONEV = ROOT / ".venv" / "bin" / "emonev"
BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"
FILES = Path("/tmp/emonev-bench-jobs")


def database(n: int, reseed: bool) -> tuple[str, int]:
    url = f"{BASE}/{recap_db.DB_PREFIX}_jobs{n}"
    round_id = None if reseed or not recap_db.database_exists(url) else recap_db.published_round(url)
    if round_id is None:
        started = time.perf_counter()
        round_id = recap_db.seed(url, n, 1)
        print(f"seeded {n} bodies in {time.perf_counter() - started:.0f} s", flush=True)
    return url, round_id


def environment(url: str, **extra: str) -> dict[str, str]:
    return os.environ | {
        "EMONEV_DATABASE_URL": url,
        "EMONEV_DEMO_DATA": "false",
        "EMONEV_JOB_FILES_DIR": str(FILES),
        "EMONEV_ENVIRONMENT": "test",
        **extra,
    }


def start_workers(url: str, count: int, **extra: str) -> list[subprocess.Popen[bytes]]:
    workers = [
        subprocess.Popen(
            [str(EMONEV), "worker", "--name", f"bench-{n}"],
            cwd=ROOT,
            env=environment(url, **extra),
            start_new_session=True,
        )
        for n in range(count)
    ]
    time.sleep(3)  # connected and listening
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def queue_job(sessions: sessionmaker[Session], kind: str, round_id: int, params: dict[str, Any]) -> int:
    with sessions.begin() as session:
        job, _new = jobs.request_job(
            session=session, kind_name=kind, params=params, by=SYSTEM, round_id=round_id
        )
        return job.id


def wait_done(sessions: sessionmaker[Session], job_id: int, timeout: float = 3600) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            if job.status in jobs.ENDED:
                return job
        time.sleep(0.2)
    raise SystemExit(f"job {job_id} did not finish in {timeout} s")


def sheets_expected(sessions: sessionmaker[Session], round_id: int) -> int:
    with sessions() as session:
        publication = session.scalar(select(Publication.id).where(Publication.round_id == round_id))
        return (
            session.scalar(
                select(func.count())
                .select_from(Submission)
                .join(
                    PublishedResult,
                    (PublishedResult.body_id == Submission.body_id)
                    & (PublishedResult.publication_id == publication),
                )
                .where(Submission.round_id == round_id)
            )
            or 0
        )


def check_zip(job: Job, expected: int) -> list[str]:
    assert job.status == "done", (job.status, job.error)
    assert job.file_path is not None
    with zipfile.ZipFile(FILES / job.file_path) as archive:
        bad = archive.testzip()
        names = archive.namelist()
    assert bad is None, f"bad CRC in {bad}"
    assert len(names) == expected == len(set(names)), (len(names), expected)
    return names


def bench_sheets(n: int, per_part: int, reseed: bool, single: bool) -> None:
    url, round_id = database(n, reseed)
    sessions = make_sessionmaker(get_engine(url))
    expected = sheets_expected(sessions, round_id)
    print(f"result sheets: {expected} sheets, parts of {per_part} bodies", flush=True)
    runs = [("two workers, in parts", 2, per_part), ("one worker, in parts", 1, per_part)]
    if single:
        runs.append(("one worker, one job (no parts)", 1, 1_000_000))
    orders = {}
    for label, count, bodies_per_part in runs:
        load = os.getloadavg()[0]
        workers = start_workers(
            url, count, EMONEV_RESULT_SHEETS_BODIES_PER_PART=str(min(bodies_per_part, 20000))
        )
        try:
            started = time.perf_counter()
            job_id = queue_job(sessions, "result_sheets", round_id, {})
            job = wait_done(sessions, job_id)
            wall = time.perf_counter() - started
            cpu = [recap_db._backend_cpu(worker.pid) for worker in workers]
        finally:
            stop_workers(workers)
        names = check_zip(job, expected)
        orders[label] = names
        with sessions() as session:
            ran_by = session.scalars(select(Job.parts_total).where(Job.id == job_id)).one()
        print(
            f"  {label}: {wall:.1f} s ({expected / wall:.0f} sheets/s), parts {ran_by}, "
            f"{(job.file_size or 0) / 1e6:.1f} MB, worker CPU {' + '.join(f'{c:.0f}' for c in cpu)} s, "
            f"load average before {load:.2f}, after {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    first, *others = orders.values()
    print(f"  the same entries in the same order in every ZIP: {all(names == first for names in others)}")


def admin_token(sessions: sessionmaker[Session], round_id: int) -> str:
    with sessions.begin() as session:
        round_ = session.get(Round, round_id)
        assert round_ is not None
        token = new_token()
        admin = Account(
            email=f"admin-{token[:8]}@bench.go.id",
            name="Admin",
            password_hash=hash_password("bench-password-1"),
            role="commission_admin",
            commission_id=round_.commission_id,
        )
        session.add(admin)
        session.flush()
        session.add(
            AuthToken(account_id=admin.id, token_hash=digest(token), expires_at=utcnow() + timedelta(days=1))
        )
    return token


def time_posts(
    client: httpx.Client, base: str, round_id: int, headers: dict[str, str], count: int
) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.post(f"{base}/rounds/{round_id}/exports", json={"kind": "recap"}, headers=headers)
        samples.append(time.perf_counter() - started)
        assert answer.status_code == 202, answer.text
        assert (
            client.delete(answer.headers["location"].replace("/api/v1", base, 1), headers=headers).status_code
            == 200
        )
    return samples


def summary(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"n {len(ms)}, p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
        f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms"
    )


def bench_post(n: int, per_part: int, count: int, reseed: bool) -> None:
    url, round_id = database(n, reseed)
    sessions = make_sessionmaker(get_engine(url))
    token = admin_token(sessions, round_id)
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    server = start_server(url, port, env=environment(url))
    base = f"http://127.0.0.1:{port}/api/v1"
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with httpx.Client(timeout=30) as client:
            time_posts(client, base, round_id, headers, 20)  # warm-up
            idle = time_posts(client, base, round_id, headers, count)
            print(f"POST to 202, no worker running: {summary(idle)}")
            workers = start_workers(url, 2, EMONEV_RESULT_SHEETS_BODIES_PER_PART=str(per_part))
            sheets = queue_job(sessions, "result_sheets", round_id, {})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # both workers on a part
                with sessions() as session:
                    running = session.scalar(
                        select(func.count()).where(Job.parent_id == sheets, Job.status == jobs.RUNNING)
                    )
                if running == 2:
                    break
                time.sleep(0.2)
            load = os.getloadavg()[0]
            busy = time_posts(client, base, round_id, headers, count)
            with sessions() as session:
                still = session.scalar(
                    select(func.count()).where(Job.parent_id == sheets, Job.status == jobs.RUNNING)
                )
            print(
                f"POST to 202, two workers busy: {summary(busy)} (load average {load:.2f}; "
                f"parts running after: {still})"
            )
            with sessions.begin() as session:
                jobs.cancel_job(session=session, job_id=sheets, by=SYSTEM)
    finally:
        stop_workers(workers)
        stop_server(server)


def _noop(run: JobRun) -> JobOutcome:
    return JobOutcome(result={})


NOOP = JobKind(
    name="bench_noop",
    title="Bench",
    run=_noop,
    prepare=lambda _session, _by, _scope, params: params,
    ensure_may_read=lambda _session, _by, _job: None,
)


def bench_overhead(n: int, count: int, reseed: bool) -> None:
    from app.jobs.worker import run_queued, run_worker_async

    register(NOOP)
    url, round_id = database(n, reseed)
    settings = Settings(database_url=url, job_files_dir=FILES, demo_data=False, environment="test")
    sessions = make_sessionmaker(get_engine(url))
    stamp = time.time()
    for label in ("procrastinate worker (emonev worker's loop, in process)", "run_queued (no queue)"):
        started = time.perf_counter()
        ids = [
            queue_job(sessions, NOOP.name, round_id, {"n": i, "at": stamp, "how": label})
            for i in range(count)
        ]
        queued = time.perf_counter() - started
        if label.startswith("run_queued"):
            with sessions.begin() as session:  # off procrastinate's queue: only run_queued runs these
                for queue_id in session.scalars(select(Job.queue_job_id).where(Job.id.in_(ids))):
                    session.execute(
                        text("SELECT procrastinate_cancel_job_v1(:id, false, true)"), {"id": queue_id}
                    )
        started = time.perf_counter()
        if label.startswith("procrastinate"):
            asyncio.run(run_worker_async(settings, once=True, name="bench"))
        else:
            run_queued(sessions, settings, limit=count)
        wall = time.perf_counter() - started
        with sessions() as session:
            done = session.scalar(select(func.count()).where(Job.id.in_(ids), Job.status == jobs.DONE))
        print(
            f"empty jobs, {label}: {done}/{count} done in {wall:.2f} s: {count / wall:.0f} jobs/s "
            f"(queueing them, one transaction each: {count / queued:.0f} jobs/s)",
            flush=True,
        )


def bench_recap(n: int, reseed: bool) -> None:
    url, round_id = database(n, reseed)
    sessions = make_sessionmaker(get_engine(url))
    job_id = queue_job(sessions, "recap", round_id, {})
    load = os.getloadavg()[0]
    started = time.perf_counter()
    timed = subprocess.run(
        ["/usr/bin/time", "-v", str(EMONEV), "worker", "--once"],
        cwd=ROOT,
        env=environment(url),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timed.stderr).group(1))  # type: ignore[union-attr]
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
    print(
        f"recap of {n} bodies as a job, emonev worker --once: {job.status}, {wall:.1f} s wall, peak RSS "
        f"{peak / 1024:.0f} MB, file {(job.file_size or 0) / 1e6:.1f} MB (load average before {load:.2f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", nargs="*", default=["sheets", "post", "overhead", "recap"])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--per-part", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--empty", type=int, default=500)
    parser.add_argument("--recap-n", type=int, default=100_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--no-single", action="store_true", help="sheets: leave out the one-job run")
    args = parser.parse_args()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "?",
    )
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: nproc {os.cpu_count()}, {cpu}, "
        f"Python {platform.python_version()}"
    )
    FILES.mkdir(parents=True, exist_ok=True)
    if "sheets" in args.what:
        bench_sheets(args.n, args.per_part, args.reseed, not args.no_single)
    if "post" in args.what:
        bench_post(args.n, args.per_part, args.posts, args.reseed)
    if "overhead" in args.what:
        bench_overhead(args.n, args.empty, args.reseed)
    if "recap" in args.what:
        bench_recap(args.recap_n, args.reseed)


if __name__ == "__main__":
    main()
