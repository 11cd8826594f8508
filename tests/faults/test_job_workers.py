"""Jobs under real faults, with real processes: ``emonev serve`` and ``emonev worker`` processes on PostgreSQL
(a published round of 150 bodies, so that a ZIP of result sheets takes seconds), killed with SIGKILL, sharing
one queue, losing their database; and ``emonev serve`` on SQLite running jobs itself.

Every wait is bounded. The workers beat every second and are taken for dead after 3 s of silence. Slow-ish:
the module starts about a dozen server and worker processes and runs jobs for real: 66 s with -n 2 on a 2-core
machine at load 3 (the longest tests, a job killing its workers and the lost database, about 25 s each), about
3 to 5 minutes at load 12."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, insert, literal, select, text
from sqlalchemy.orm import Session

from app.accounts.security import hash_password
from app.db.base import utcnow
from app.db.migrate import alembic_config
from app.db.models import Account, Commission, Publication, PublicBody, PublishedResult, Submission
from app.demo.world import COMMISSION_ADMIN_EMAIL as DEMO_ADMIN
from app.settings import Settings
from bench import recap_db
from tests.faults.live import SETTINGS, psycopg_url
from tests.faults.live import log_in as demo_log_in
from tests.processes import LiveServer, LiveWorker, TemporaryPostgres, serve, temporary_postgres, workers
from tests.web import seed as web_seed

POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")
BODIES = 150  # result sheets of this many bodies take a few seconds: long enough to cancel or kill a job
PASSWORD = "kata-sandi-uji-pekerjaan"
ADMIN = "admin@bench.go.id"  # the bench commission's administrator
OTHER_ADMIN = "admin@lain.go.id"  # another commission's administrator
OPERATOR = "ppid@bench.go.id"  # an operator of one of the bench commission's bodies
MAX_ATTEMPTS = 2
JOB_SETTINGS = SETTINGS | {
    "EMONEV_WORKER_HEARTBEAT_SECONDS": "1",
    "EMONEV_WORKER_STALLED_AFTER_SECONDS": "3",
    "EMONEV_JOB_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
}
WAIT_SECONDS = 60


@dataclass(frozen=True)
class Published:
    url: str
    round_id: int  # the published round with submissions (its result sheets take seconds)
    revisions: int  # its publications: revision 1 to ``revisions``


def _needs_postgres() -> str:
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("needs PostgreSQL: set EMONEV_TEST_POSTGRES_URL")
    return POSTGRES_URL


@contextmanager
def published_round(cluster_url: str, *, revisions: int = 1) -> Iterator[Published]:
    """A new database on ``cluster_url``'s cluster with bench/recap_db.py's published round of ``BODIES``
    bodies (its latest publication copied to ``revisions`` revisions: distinct jobs to queue), our three
    accounts; dropped afterwards."""
    url = cluster_url.rsplit("/", 1)[0] + f"/{recap_db.DB_PREFIX}_fault_{uuid.uuid4().hex[:10]}"
    round_id = recap_db.seed(url, BODIES, 15)
    try:
        engine = create_engine(url)
        with Session(engine) as session, session.begin():
            _accounts(session)
            _more_revisions(session, round_id, revisions)
        engine.dispose()
        yield Published(url, round_id, revisions)
    finally:
        recap_db.drop_database(url)


def _accounts(session: Session) -> None:
    password = hash_password(PASSWORD)
    bench = session.scalars(select(Commission).where(Commission.code == "ki-bench")).one()
    other = Commission(code="ki-lain", name="Komisi Informasi Lain", timezone="Asia/Jakarta")
    session.add(other)
    session.flush()
    body_id = session.scalars(select(PublicBody.id).where(PublicBody.commission_id == bench.id)).first()
    for email, role, commission_id, body in (
        (ADMIN, "commission_admin", bench.id, None),
        (OTHER_ADMIN, "commission_admin", other.id, None),
        (OPERATOR, "operator", bench.id, body_id),
    ):
        session.add(
            Account(
                email=email,
                name=email,
                password_hash=password,
                role=role,
                commission_id=commission_id,
                body_id=body,
                active=True,
            )
        )


def _more_revisions(session: Session, round_id: int, revisions: int) -> None:
    latest = session.scalars(
        select(Publication).where(Publication.round_id == round_id).order_by(Publication.revision.desc())
    ).first()
    assert latest is not None
    copied = [c.name for c in Publication.__table__.columns if c.name not in ("id", "revision")]
    result_columns = [
        c.name for c in PublishedResult.__table__.columns if c.name not in ("id", "publication_id")
    ]
    for revision in range(latest.revision + 1, revisions + 1):
        values = {name: getattr(latest, _attribute(Publication, name)) for name in copied}
        new_id = session.scalar(
            insert(Publication).values(revision=revision, **values).returning(Publication.id)
        )
        session.execute(
            text(
                f"INSERT INTO published_result (publication_id, {', '.join(result_columns)}) "
                f"SELECT :new, {', '.join(result_columns)} FROM published_result WHERE publication_id = :old"
            ),
            {"new": new_id, "old": latest.id},
        )


def _attribute(model: Any, column: str) -> str:
    return next(a.key for a in model.__mapper__.column_attrs if a.columns[0].name == column)


# --- Talking to the service ---------------------------------------------------------------------------------


def log_in(client: httpx.Client, email: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def ask(
    client: httpx.Client, auth: dict[str, str], round_id: int, kind: str, revision: int | None = None
) -> Any:
    body: dict[str, Any] = {"kind": kind}
    if revision is not None:
        body["revision"] = revision
    answer = client.post(f"/api/v1/rounds/{round_id}/exports", json=body, headers=auth)
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == f"/api/v1/jobs/{answer.json()['id']}"
    return answer.json()


def wait_for(
    client: httpx.Client,
    auth: dict[str, str],
    job_id: int,
    until: Callable[[dict[str, Any]], bool],
    *,
    seconds: float = WAIT_SECONDS,
    what: str = "",
) -> dict[str, Any]:
    """Poll GET /jobs/{id} until ``until(job)`` (failing the test after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = client.get(f"/api/v1/jobs/{job_id}", headers=auth)
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if until(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} never became {what}: {job}"
        time.sleep(0.2)


def ended(job: dict[str, Any]) -> bool:
    return job["status"] in ("done", "failed", "cancelled")


def running_past(fraction: float) -> Callable[[dict[str, Any]], bool]:
    def test(job: dict[str, Any]) -> bool:
        assert not ended(job), job
        total = job["progress"]["total"]
        return job["status"] == "running" and bool(total) and job["progress"]["done"] >= fraction * total

    return test


def downloaded(client: httpx.Client, auth: dict[str, str], job: dict[str, Any]) -> bytes:
    """The job's file, checked against the size and SHA-256 the job reports."""
    assert job["status"] == "done", job
    assert job["download_url"] == f"/api/v1/jobs/{job['id']}/file"
    answer = client.get(job["download_url"], headers=auth)
    assert answer.status_code == 200, answer.text
    assert len(answer.content) == job["file"]["size"]
    assert hashlib.sha256(answer.content).hexdigest() == job["file"]["sha256"]
    return answer.content


def sheets_in(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return len(archive.namelist())


def job_files(root: Path, job_id: int) -> list[Path]:
    """The files placed for a job under EMONEV_JOB_FILES_DIR."""
    return sorted((root / "job-files" / str(job_id)).glob("*"))


def staged_files(root: Path, job_id: int) -> list[Path]:
    """A job's files under their staging names (being written, or left by a killed worker)."""
    return sorted((root / "job-files" / "tmp").glob(f"{job_id}-*"))


def queue_rows(url: str, job_ids: list[int]) -> list[tuple[Any, ...]]:
    """procrastinate's rows for our jobs: (our job's id, status, attempts)."""
    with psycopg.connect(psycopg_url(url)) as connection:
        return connection.execute(
            "SELECT (args->>'job_id')::int, status, attempts FROM procrastinate_jobs "
            "WHERE (args->>'job_id')::int = ANY(%s) ORDER BY id",
            [job_ids],
        ).fetchall()


def ran(one: LiveWorker) -> list[int]:
    """The jobs a worker started, from its log."""
    return [
        int(line.rsplit("(job_id=", 1)[1].split(")")[0])
        for line in one.log.read_text().splitlines()
        if "Starting job emonev.run_job" in line
    ]


def settings_for(root: Path) -> dict[str, str]:
    return JOB_SETTINGS | {"EMONEV_JOB_FILES_DIR": str(root / "job-files")}


# --- PostgreSQL: one server and its workers -----------------------------------------------------------------


@dataclass
class Stack:
    """A served round on PostgreSQL, shared by the tests below (each starts the workers it needs, and leaves
    no job queued)."""

    published: Published
    server: LiveServer
    root: Path
    client: httpx.Client
    auth: dict[str, str]


REVISIONS = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cluster = _needs_postgres()
    root = tmp_path_factory.mktemp("jobs")
    with (
        published_round(cluster, revisions=REVISIONS) as published,
        serve(root, settings_for(root), prepare=[], database_url=published.url) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield Stack(published, server, root, client, log_in(client, ADMIN))


@pytest.fixture
def one(stack: Stack) -> Iterator[LiveWorker]:
    with workers(stack.root, stack.server.env, "satu") as (started,):
        yield started


def test_an_export_is_accepted_polled_and_downloaded_whole(stack: Stack, one: LiveWorker) -> None:
    client, auth = stack.client, stack.auth
    asked = ask(client, auth, stack.published.round_id, "recap", revision=1)
    assert asked["status"] == "queued"
    assert asked["download_url"] is None
    assert client.get(f"/api/v1/jobs/{asked['id']}/file", headers=auth).status_code == 409
    done = wait_for(client, auth, asked["id"], ended, what="ended")
    assert done["status"] == "done", done
    assert done["attempts"] == 1
    assert done["progress"]["percent"] == 100.0
    assert done["requested_by"] == ADMIN
    content = downloaded(client, auth, done)
    assert content[:2] == b"PK"
    assert done["file"]["name"].endswith(".xlsx")
    assert ran(one) == [asked["id"]]


def test_identical_requests_at_once_make_one_job(stack: Stack, one: LiveWorker) -> None:
    start = threading.Barrier(8)
    ids: list[int] = []

    def request() -> None:
        with httpx.Client(base_url=stack.server.url, timeout=30) as own:
            start.wait(timeout=10)
            ids.append(ask(own, stack.auth, stack.published.round_id, "recap", revision=2)["id"])

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_SECONDS)
    assert len(ids) == 8
    assert len(set(ids)) == 1, ids
    assert wait_for(stack.client, stack.auth, ids[0], ended, what="ended")["status"] == "done"
    assert ran(one) == [ids[0]]


def test_a_running_job_cancelled_stops_leaves_no_file_and_the_worker_goes_on(
    stack: Stack, one: LiveWorker
) -> None:
    client, auth = stack.client, stack.auth
    sheets = ask(client, auth, stack.published.round_id, "result_sheets", revision=3)
    following = ask(client, auth, stack.published.round_id, "recap", revision=3)
    wait_for(client, auth, sheets["id"], running_past(0.1), what="running")
    cancelled = client.delete(f"/api/v1/jobs/{sheets['id']}", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    after = wait_for(client, auth, following["id"], ended, what="ended")
    assert after["status"] == "done", after
    assert ran(one) == [sheets["id"], following["id"]]
    stopped = client.get(f"/api/v1/jobs/{sheets['id']}", headers=auth).json()
    assert stopped["status"] == "cancelled"
    assert stopped["file"] is None
    assert stopped["download_url"] is None
    assert stopped["progress"]["done"] < stopped["progress"]["total"]
    assert client.get(f"/api/v1/jobs/{sheets['id']}/file", headers=auth).status_code == 409
    assert not job_files(stack.root, sheets["id"])
    assert not staged_files(stack.root, sheets["id"])
    # Stopped at a progress report, or (a fast machine) as it finished: either way its file is not kept.
    assert f"job {sheets['id']} (result_sheets) stopped: cancelled" in one.log.read_text()


def test_only_the_commissions_readers_see_a_job_and_its_file(stack: Stack, one: LiveWorker) -> None:
    client, auth = stack.client, stack.auth
    job = wait_for(
        client, auth, ask(client, auth, stack.published.round_id, "recap", revision=4)["id"], ended
    )
    assert job["status"] == "done"
    for outsider in (OPERATOR, OTHER_ADMIN):
        theirs = log_in(client, outsider)
        assert client.get(f"/api/v1/jobs/{job['id']}", headers=theirs).status_code == 404
        assert client.get(f"/api/v1/jobs/{job['id']}/file", headers=theirs).status_code == 404
        assert client.delete(f"/api/v1/jobs/{job['id']}", headers=theirs).status_code == 404
        assert client.post(f"/api/v1/jobs/{job['id']}/retry", headers=theirs).status_code == 404
        refused = client.post(
            f"/api/v1/rounds/{stack.published.round_id}/exports", json={"kind": "recap"}, headers=theirs
        )
        assert refused.status_code in (403, 404), refused.text
    assert client.get(f"/api/v1/jobs/{job['id']}/file", headers=auth).status_code == 200


def test_a_worker_killed_mid_job_is_replaced_and_the_job_completes_whole(stack: Stack) -> None:
    client, auth, root = stack.client, stack.auth, stack.root
    with workers(root, stack.server.env, "pertama") as (first,):
        job = ask(client, auth, stack.published.round_id, "result_sheets", revision=5)
        half = wait_for(client, auth, job["id"], running_past(0.2), what="running")
        first.process.kill()
        first.process.wait(timeout=10)
    # Nobody is offered the half-made ZIP: it sits under its staging name only.
    assert half["download_url"] is None
    assert half["file"] is None
    assert client.get(f"/api/v1/jobs/{job['id']}/file", headers=auth).status_code == 409
    assert not job_files(root, job["id"])
    assert staged_files(root, job["id"])

    with workers(root, stack.server.env, "kedua") as (second,):
        done = wait_for(client, auth, job["id"], ended, what="ended")
        assert done["status"] == "done", done
        assert done["attempts"] == 2
        assert sheets_in(downloaded(client, auth, done)) == done["progress"]["total"]
        assert "handing it to another worker" in second.log.read_text()
    assert ran(second) == [job["id"]]
    assert len(job_files(root, job["id"])) == 1
    # procrastinate counts the handing on and the run that finished.
    assert queue_rows(stack.published.url, [job["id"]]) == [(job["id"], "succeeded", 2)]


def test_a_job_that_keeps_killing_its_worker_fails_after_the_last_attempt(stack: Stack) -> None:
    client, auth = stack.client, stack.auth
    job = ask(client, auth, stack.published.round_id, "result_sheets", revision=6)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with workers(stack.root, stack.server.env, f"ke-{attempt}") as (doomed,):
            wait_for(
                client, auth, job["id"], lambda j, n=attempt: j["attempts"] == n and running_past(0.05)(j)
            )
            doomed.process.kill()
            doomed.process.wait(timeout=10)
    with workers(stack.root, stack.server.env, "terakhir"):
        failed = wait_for(client, auth, job["id"], ended, what="ended")
    assert failed["status"] == "failed", failed
    assert failed["attempts"] == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} attempts" in failed["error"]
    assert failed["error_indonesian"].startswith(f"Pekerjaan ini gagal {MAX_ATTEMPTS} kali")
    assert failed["download_url"] is None
    assert not job_files(stack.root, job["id"])


def test_two_workers_share_the_queue_and_do_each_job_once(stack: Stack) -> None:
    client, auth = stack.client, stack.auth
    with workers(stack.root, stack.server.env, "kiri", "kanan") as (left, right):
        # Both listen before the jobs come: each NOTIFY wakes both.
        asked = [
            ask(client, auth, stack.published.round_id, "recap", revision=r) for r in range(1, REVISIONS + 1)
        ]
        ids = [j["id"] for j in asked]
        done = [wait_for(client, auth, i, ended, what="ended") for i in ids]
    assert [j["status"] for j in done] == ["done"] * REVISIONS, done
    assert [j["attempts"] for j in done] == [1] * REVISIONS
    # Each worker took some of the jobs, and no job went to both.
    assert ran(left)
    assert ran(right)
    assert sorted(ran(left) + ran(right)) == ids
    assert [len(job_files(stack.root, i)) for i in ids] == [1] * REVISIONS
    assert len({j["file"]["sha256"] for j in done}) == REVISIONS  # each revision's own recap
    assert queue_rows(stack.published.url, ids) == [(i, "succeeded", 1) for i in ids]


# --- PostgreSQL: the database goes away ---------------------------------------------------------------------


def test_a_worker_that_loses_the_database_retries_and_resumes_without_restart(tmp_path: Path) -> None:
    with (
        temporary_postgres() as pg,
        published_round(pg.url, revisions=2) as published,
        serve(tmp_path, settings_for(tmp_path), prepare=[], database_url=published.url) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
        workers(tmp_path, server.env, "tabah") as (steady,),
    ):
        auth = log_in(client, ADMIN)
        before = wait_for(client, auth, ask(client, auth, published.round_id, "recap")["id"], ended)
        assert before["status"] == "done"

        outage(pg, client, auth, steady)
        # The server answers again, with the job as it last was.
        assert client.get(f"/api/v1/jobs/{before['id']}", headers=auth).json()["status"] == "done"

        asked = ask(client, auth, published.round_id, "recap", revision=2)
        after = wait_for(client, auth, asked["id"], ended)
        assert after["status"] == "done", after
        assert after["attempts"] == 1
        assert ran(steady) == [before["id"], after["id"]]
        assert steady.process.poll() is None  # the same worker, never restarted


def outage(pg: TemporaryPostgres, client: httpx.Client, auth: dict[str, str], steady: LiveWorker) -> None:
    """The database stops: the server answers 503; the worker process stays up, saying (more than once,
    waiting longer each time) that it will start its worker again; then the database comes back."""
    pg.stop("fast")
    deadline = time.monotonic() + WAIT_SECONDS
    while len(waits := restarts(steady)) < 2:
        assert time.monotonic() < deadline, steady.log.read_text()
        assert steady.process.poll() is None, steady.log.read_text()
        refused = client.get("/api/v1/rounds", headers=auth)
        assert refused.status_code == 503, refused.text
        time.sleep(0.5)
    assert waits[1] > waits[0], waits
    pg.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while (answer := client.get("/api/v1/rounds", headers=auth)).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)


def restarts(steady: LiveWorker) -> list[float]:
    """The waits, in seconds, the worker announced before starting again."""
    return [
        float(line.rsplit("starting again in ", 1)[1].split()[0])
        for line in steady.log.read_text().splitlines()
        if "starting again in" in line
    ]


# --- SQLite: jobs inside the server -------------------------------------------------------------------------

COPIES = 300  # bodies added to the demo's published round: its result sheets then take seconds


def sqlite_round(path: Path) -> int:
    """A migrated SQLite database with the browser tests' demo data, the published round given ``COPIES``
    more submitting bodies (copies of one of its own); returns the round's id."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine) as session, session.begin():
        settings = Settings(database_url=url, environment="development", demo_data=False)
        round_id = web_seed.seed(session=session, settings=settings, now=utcnow()).gated_round_id
        publication_id = session.scalars(
            select(Publication.id)
            .where(Publication.round_id == round_id)
            .order_by(Publication.revision.desc())
        ).first()
        model = session.scalars(
            select(Submission)
            .join(PublishedResult, PublishedResult.body_id == Submission.body_id)
            .where(Submission.round_id == round_id, PublishedResult.publication_id == publication_id)
        ).first()
        assert model is not None
        for i in range(COPIES):
            body_id = _copy_row(session, PublicBody, model.body_id, name=f"Kelurahan Salinan {i:04d}")
            _copy_row(session, Submission, model.id, body_id=body_id)
            result_id = session.scalar(
                select(PublishedResult.id).where(
                    PublishedResult.publication_id == publication_id, PublishedResult.body_id == model.body_id
                )
            )
            _copy_row(session, PublishedResult, result_id, body_id=body_id)
    engine.dispose()
    return round_id


def _copy_row(session: Session, model: Any, row_id: Any, **changes: Any) -> int:
    table = model.__table__
    columns = [c.name for c in table.columns if c.name != "id" and c.name not in changes]
    source = select(*[table.c[c] for c in columns], *[literal(v).label(k) for k, v in changes.items()]).where(
        table.c.id == row_id
    )
    return int(session.scalar(insert(table).from_select([*columns, *changes], source).returning(table.c.id)))


def sqlite_job_status(path: Path, job_id: int) -> tuple[str, int]:
    with sqlite3.connect(path) as connection:
        status, attempts = connection.execute(
            "SELECT status, attempts FROM job WHERE id = ?", (job_id,)
        ).fetchone()
        return status, attempts


def test_sqlite_server_runs_jobs_itself_and_finishes_one_it_was_killed_in(tmp_path: Path) -> None:
    database = tmp_path / "web.sqlite3"
    round_id = sqlite_round(database)
    settings = settings_for(tmp_path)
    with (
        serve(tmp_path, settings, prepare=[]) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        auth = demo_log_in(client, DEMO_ADMIN)
        job = ask(client, auth, round_id, "result_sheets")
        wait_for(client, auth, job["id"], running_past(0.2), what="running")
        server.process.kill()
        server.process.wait(timeout=10)
    assert sqlite_job_status(database, job["id"]) == ("running", 1)
    assert not job_files(tmp_path, job["id"])

    with (
        serve(tmp_path, settings, prepare=[]) as again,
        httpx.Client(base_url=again.url, timeout=30) as client,
    ):
        auth = demo_log_in(client, DEMO_ADMIN)
        done = wait_for(client, auth, job["id"], ended, what="ended")
        assert done["status"] == "done", done
        assert done["attempts"] == 2
        assert sheets_in(downloaded(client, auth, done)) == done["progress"]["total"] > COPIES
    assert len(job_files(tmp_path, job["id"])) == 1
