"""Round-wide link sweeps: the job through the API (202, progress, the summary, the recorded checks, who may
ask and read), the sweep holding no database connection while it waits on a site, and the nightly duty
queuing one sweep per open round per night however many workers run it.

The links are fetched from a real web site on the loopback. The checker refuses loopback addresses, so (as in
test_linkcheck_connection.py) the site's name resolves to a public address and the transport connects that
address's requests to the loopback; everything else is the checker's own code."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cli import build_parser
from app.db.models import Job, LinkCheck, Objection
from app.db.session import make_sessionmaker
from app.jobs.worker import run_queued
from app.settings import Settings
from app.verification import sweeps
from app.verification.linkcheck import LinkChecker
from tests.conftest import migrated_database
from tests.factories import (
    World,
    get_json,
    make_account,
    make_answers,
    make_api_key,
    make_commission,
    make_round,
    make_submission,
    now,
)
from tests.processes import CLI, emonev
from tests.verification.test_linkcheck_connection import PUBLIC_IP, SlowSite, ToLoopback

pytestmark = pytest.mark.db

ServerT = TypeVar("ServerT", bound=ThreadingHTTPServer)


class Site(ThreadingHTTPServer):
    """``/ok/...`` answers 200, anything else 404; counts the requests per path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()

    def url(self, path: str) -> str:
        return f"http://ppid.example.go.id:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        status = 200 if self.path.startswith("/ok/") else 404
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def site() -> Iterator[Site]:
    with serving(Site()) as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def own_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine, str]]:
    """A migrated database of this module's own (committed data, several connections): backend, engine, URL.
    Its tests keep their rounds apart (only the nightly test's rounds are in a nightly status)."""
    name = f"emonev_sweeps_{os.getpid()}"
    with migrated_database(request.param, tmp_path_factory.mktemp("sweeps"), name) as (engine, url):
        yield request.param, engine, url


def loopback_checker(_settings: Settings | None = None) -> LinkChecker:
    return LinkChecker(timeout=10, transport=ToLoopback(retries=0), resolver=lambda host, port: [PUBLIC_IP])


@pytest.fixture(autouse=True)
def checker_reaches_the_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweeps, "make_checker", loopback_checker)


def links_world(world: World, site: Site) -> dict[str, Any]:
    """Two submissions: one with an OK link, a missing page, a private address and a URL with no host; the
    other with the OK link again and, in an objection, another OK link."""
    session = world.session
    first = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    second = make_submission(session, world.round, world.other_body, world.template)
    make_answers(
        session,
        first,
        {
            "1.1.1": {"value": "yes", "evidence": [site.url("/ok/dip"), site.url("/missing")]},
            "1.1.2": {"value": "yes", "evidence": ["http://10.1.2.3/intranet", "http:///no-host"]},
        },
    )
    make_answers(session, second, {"1.1.1": {"value": "yes", "evidence": [site.url("/ok/dip")]}})
    session.add(
        Objection(
            submission_id=second.id,
            question_code="1.1.1",
            explanation="Lihat tautan",
            evidence_links=[site.url("/ok/sk")],
        )
    )
    session.flush()
    return {"first": first, "second": second}


def ask(client: TestClient, world: World, who: Any = None, **body: Any) -> Any:
    return client.post(
        f"/api/v1/rounds/{world.round.id}/link-sweeps",
        json=body or None,
        headers=world.token(who or world.admin),
    )


def test_a_sweep_is_accepted_run_and_summarised_with_every_check_recorded(
    client: TestClient, world: World, site: Site, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    made = links_world(world, site)
    asked = ask(client, world)
    assert asked.status_code == 202, asked.text
    job = asked.json()
    assert asked.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert (job["kind"], job["status"], job["title"]) == (
        "link_sweep",
        "queued",
        "Pemeriksaan tautan bukti seluruh putaran",
    )

    assert run_queued(session_factory, settings) == 1

    done = get_json(client, asked.headers["location"], world.token(world.admin))
    assert done["status"] == "done", done
    assert done["result"] == {
        "submissions": 2,
        "links": 6,
        "checked": 6,
        "ok": 3,
        "broken": 1,
        "blocked": 1,
        "error": 1,
        "skipped": 0,
        "unchecked": 0,
        "skip_ok_hours": 12.0,
    }
    assert (done["progress"]["done"], done["progress"]["total"]) == (6, 6)
    assert done["download_url"] is None
    assert site.hits == {"/ok/dip": 2, "/missing": 1, "/ok/sk": 1}
    checks = get_json(client, f"/api/v1/submissions/{made['first'].id}/link-checks", world.token(world.admin))
    assert {c["url"]: c["outcome"] for c in checks["items"]} == {
        site.url("/ok/dip"): "ok",
        site.url("/missing"): "broken",
        "http://10.1.2.3/intranet": "blocked",
        "http:///no-host": "error",
    }
    assert {c["status_code"] for c in checks["items"] if c["outcome"] == "broken"} == {404}


def test_links_checked_ok_lately_are_not_fetched_again_unless_asked(
    client: TestClient, world: World, site: Site, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    links_world(world, site)
    ask(client, world)
    run_queued(session_factory, settings)
    site.hits.clear()

    again = ask(client, world).json()
    run_queued(session_factory, settings)
    result = get_json(client, f"/api/v1/jobs/{again['id']}", world.token(world.admin))["result"]
    assert (result["skipped"], result["checked"], result["broken"]) == (3, 3, 1)
    assert site.hits == {"/missing": 1}

    everything = ask(client, world, skip_ok_hours=0).json()
    run_queued(session_factory, settings)
    result = get_json(client, f"/api/v1/jobs/{everything['id']}", world.token(world.admin))["result"]
    assert (result["skipped"], result["checked"], result["ok"]) == (0, 6, 3)
    assert world.session.scalar(select(func.count()).select_from(LinkCheck)) == 15


def test_the_same_sweep_asked_again_while_queued_is_the_same_job(client: TestClient, world: World) -> None:
    first = ask(client, world).json()
    assert ask(client, world).json()["id"] == first["id"]
    assert ask(client, world, skip_ok_hours=0).json()["id"] != first["id"]
    bad = ask(client, world, skip_ok_hours=-1)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].endswith("skip_ok_hours")


def test_administrators_ask_for_sweeps_and_the_commissions_readers_see_them(
    client: TestClient, world: World, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    for refused in (world.verifier, world.panelist, world.operator):
        assert ask(client, world, who=refused).status_code == 403
    stranger = make_account(
        world.session, "commission_admin", commission_id=make_commission(world.session).id
    )
    key = make_api_key(world.session, world.commission)
    job = ask(client, world).json()
    assert ask(client, world, who=world.system_admin).json()["id"] == job["id"]
    url = f"/api/v1/jobs/{job['id']}"
    for reader in (world.admin, world.panelist, world.system_admin):
        assert client.get(url, headers=world.token(reader)).status_code == 200
    assert client.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    for outsider in (world.verifier, world.operator):
        assert client.get(url, headers=world.token(outsider)).status_code == 404
        assert client.delete(url, headers=world.token(outsider)).status_code == 404
    assert ask(client, world, who=stranger).status_code == 403
    assert client.get(url, headers=world.token(stranger)).status_code == 404
    assert (
        client.post("/api/v1/rounds/999999/link-sweeps", headers=world.token(world.admin)).status_code == 404
    )


def test_progress_counts_links_up_to_the_total(
    world: World, site: Site, session_factory: sessionmaker[Session]
) -> None:
    links_world(world, site)
    world.session.commit()
    reports: list[tuple[int, int | None]] = []
    counts = sweeps.sweep_round(
        sessions=session_factory,
        round_id=world.round.id,
        by=sweeps.NIGHTLY,
        checker=loopback_checker(),
        skip_ok_hours=0,
        progress=lambda done, total: reports.append((done, total)),
    )
    assert reports[0] == (0, 6)
    assert reports[-1] == (6, 6)
    assert [done for done, _total in reports] == sorted(done for done, _total in reports)
    assert counts.checked == 6


# --- No connection held while waiting ----------------------------------------------------------------------


def test_the_job_shows_its_progress_and_the_database_serves_others_while_a_site_is_slow(
    own_database: tuple[str, Engine, str], settings: Settings
) -> None:
    backend, migrated, url = own_database
    with serving(SlowSite()) as site:
        # One connection in all on PostgreSQL; on SQLite a write needs the one write lock. Either way a sweep
        # holding the database while it waits on the site would stop the other session.
        engine = create_engine(url, pool_size=1, max_overflow=0) if backend == "postgresql" else migrated
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            world = World(session)
            world.round.status = "stages"  # not swept at night: the nightly test counts its own rounds
            sub = make_submission(session, world.round, world.body, world.template)
            slow = f"http://ppid.example.go.id:{site.server_address[1]}/dip"
            make_answers(session, sub, {"1.1.1": {"evidence": [slow, "http://10.1.2.3/intranet"]}})
            job, _new = sweeps.request_sweep(session=session, round_id=world.round.id, by=sweeps.NIGHTLY)
            submission_id, job_id = sub.id, job.id
            session.commit()
        running = threading.Thread(target=run_queued, args=(sessions, settings))
        running.start()
        assert site.arrived.wait(10), "the sweep never reached the site"
        started = time.monotonic()
        with sessions.begin() as session:
            watched = session.get(Job, job_id)
            assert watched is not None
            seen = (watched.status, watched.progress_done, watched.progress_total)
            session.add(Objection(submission_id=submission_id, question_code="1.1.2", explanation="x"))
        waited = time.monotonic() - started
        held = not site.release.is_set()
        site.release.set()
        running.join(timeout=30)
        with sessions() as session:
            done = session.get(Job, job_id)
            assert done is not None
            outcome = (done.status, done.result["ok"], done.result["blocked"])
        if engine is not migrated:
            engine.dispose()
    assert held, "the site was released before the other session got the database"
    assert waited < 5, f"the other session waited {waited:.1f} s while the sweep waited on the site"
    assert seen == ("running", 0, 2)
    assert outcome == ("done", 1, 1)


# --- Every night -------------------------------------------------------------------------------------------

# 02:30 in Jakarta (WIB, UTC+7), 04:30 in Jayapura (WIT, UTC+9), on the day after today (UTC): near the
# real clock, which stamps the jobs' creation.
NIGHT = datetime.now(UTC).replace(hour=19, minute=30, second=0, microsecond=0)
NIGHT_DATE = (NIGHT + timedelta(hours=7)).date().isoformat()


def nightly_jobs(session: Session) -> list[Job]:
    session.expire_all()
    jobs = session.scalars(select(Job).where(Job.kind == "link_sweep").order_by(Job.id))
    return [job for job in jobs if job.params.get("night")]


def test_each_open_round_gets_one_sweep_a_night_from_two_oclock_local_time(
    world: World, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    session = world.session
    closed = make_round(session, world.commission, status="closed")
    objection = make_round(session, world.commission, status="objection")
    make_round(session, world.commission, status="published")
    make_round(session, world.commission, status="stages")
    make_round(session, world.commission, status="draft")
    papua = make_commission(session, timezone="Asia/Jayapura")
    far_east = make_round(session, papua, status="verification")
    session.commit()

    # 00:30 WIB, 02:30 WIT: only the Papuan commission's night has come.
    assert sweeps.queue_nightly_sweeps(session_factory, settings, NIGHT - timedelta(hours=2)) == 1
    assert sweeps.queue_nightly_sweeps(session_factory, settings, NIGHT) == 3
    assert sweeps.queue_nightly_sweeps(session_factory, settings, NIGHT) == 0
    jobs = nightly_jobs(session)
    assert Counter(j.round_id for j in jobs) == Counter(
        [world.round.id, closed.id, objection.id, far_east.id]
    )
    assert {j.params["night"] for j in jobs} == {NIGHT_DATE}
    assert {j.requested_by_label for j in jobs} == {"jadwal malam"}

    # Done (its dedup key cleared), the night's sweep is still not queued twice.
    assert run_queued(session_factory, settings) == 4
    assert {j.status for j in nightly_jobs(session)} == {"done"}
    assert sweeps.queue_nightly_sweeps(session_factory, settings, NIGHT + timedelta(hours=3)) == 0
    # The next night: at 01:30 WIB Jakarta's is not due yet, Jayapura's (03:30 WIT) is.
    assert sweeps.queue_nightly_sweeps(session_factory, settings, NIGHT + timedelta(hours=23)) == 1
    assert sweeps.queue_nightly_sweeps(session_factory, settings, NIGHT + timedelta(hours=24)) == 3

    switched_off = settings.model_copy(update={"link_sweep_nightly": False})
    assert sweeps.queue_nightly_sweeps(session_factory, switched_off, NIGHT + timedelta(hours=48)) == 0
    assert sweeps.queue_nightly_sweeps(session_factory, settings, NIGHT + timedelta(hours=48)) == 4


def test_workers_running_the_duty_at_once_queue_one_sweep_per_round(
    own_database: tuple[str, Engine, str], settings: Settings
) -> None:
    backend, engine, url = own_database
    with make_sessionmaker(engine)() as session:
        world = World(session)
        rounds = [world.round.id] + [
            make_round(session, world.commission, status=status).id
            for status in ("closed", "verification", "objection", "published")
        ]
        session.commit()
    workers = 4
    engines = [create_engine(url) if backend == "postgresql" else engine for _ in range(workers)]
    start = threading.Barrier(workers)
    queued: list[int] = []

    def duty(own: Engine) -> None:
        sessions = make_sessionmaker(own)
        start.wait(10)
        for _ in range(3):
            queued.append(sweeps.queue_nightly_sweeps(sessions, settings, NIGHT))

    threads = [threading.Thread(target=duty, args=(own,)) for own in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for own in engines:
        if own is not engine:
            own.dispose()
    with make_sessionmaker(engine)() as session:
        jobs = nightly_jobs(session)
    assert sum(queued) == 4
    assert Counter(j.round_id for j in jobs) == Counter(rounds[:4])


# --- The command line -------------------------------------------------------------------------------------


def test_the_command_sweeps_a_round_printing_plain_progress_and_the_counts(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path, "cli") as (engine, url):
        with make_sessionmaker(engine)() as session:
            world = World(session)
            sub = make_submission(session, world.round, world.body, world.template)
            # Links that need no network: one refused (a private address), one with no host.
            make_answers(
                session, sub, {"1.1.1": {"evidence": ["http://10.1.2.3/intranet", "http:///no-host"]}}
            )
            round_id = world.round.id
            session.commit()
        env = os.environ | {"EMONEV_DATABASE_URL": url, "EMONEV_ENVIRONMENT": "test"}

        done = emonev(env, "links", "sweep", "--round", str(round_id), timeout=60)
        assert done.stdout.strip() == (
            "1 submissions, 2 links: 2 checked (0 ok, 0 broken, 1 blocked, 1 error), "
            "0 skipped (OK within 12 h), 0 unchecked (past the limit)"
        )
        # Not a terminal: plain lines, the last one at the end with every link counted.
        assert (
            done.stderr.strip().splitlines()[-1].startswith(f"round {round_id}: links checked: 2/2 (100%), ")
        )

        unknown = subprocess.run(
            [*CLI, "links", "sweep", "--round", "999999"], env=env, capture_output=True, text=True, timeout=60
        )
        assert unknown.returncode == 2
        assert unknown.stderr.strip() == "error: round 999999 does not exist"


def test_the_command_refuses_a_negative_number_of_hours(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["links", "sweep", "--round", "1", "--skip-ok-hours", "-3"])
    assert exited.value.code == 2
    assert "--skip-ok-hours: expected a number of hours from 0 to 720, got '-3'" in capsys.readouterr().err
