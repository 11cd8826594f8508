"""Exports as jobs through the API: 202 and Location, polling, the same request giving the same job,
cancelling, the file and who may see it. Jobs are run here by ``run_queued`` (what the SQLite server thread
does); real worker processes on PostgreSQL are in tests/faults/test_workers.py."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.jobs.worker import DROPPED_INDONESIAN, prune_queue, run_queued, settle_dropped_jobs
from app.settings import Settings
from tests.exports.published import Published, publish_world
from tests.factories import World, problem

pytestmark = pytest.mark.db


@pytest.fixture
def published(world: World) -> Published:
    return publish_world(world)


def ask(client: TestClient, published: Published, kind: str, who: Any = None, **extra: Any) -> Any:
    world = published.world
    return client.post(
        f"/api/v1/rounds/{published.round.id}/exports",
        json={"kind": kind, **extra},
        headers=world.token(who or world.admin),
    )


def test_a_recap_job_is_accepted_polled_and_downloaded(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    asked = ask(client, published, "recap")
    assert asked.status_code == 202, asked.text
    location = asked.headers["location"]
    job = asked.json()
    assert location == f"/api/v1/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["title"] == "Rekapitulasi (Excel)"
    assert job["params"] == {"revision": 1}
    assert job["download_url"] is None

    assert run_queued(session_factory, settings) == 1

    done = client.get(location, headers=world.token(world.admin)).json()
    assert done["status"] == "done"
    assert done["progress"]["percent"] == 100.0
    assert done["file"]["name"].startswith("rekap-monev-2025")
    assert done["file"]["size"] > 1000
    fetched = client.get(done["download_url"], headers=world.token(world.admin))
    assert fetched.status_code == 200
    assert len(fetched.content) == done["file"]["size"]
    assert fetched.content[:2] == b"PK"


def test_the_result_sheets_zip_counts_its_progress_and_holds_every_sheet(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    job = ask(client, published, "result_sheets").json()
    run_queued(session_factory, settings)
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=world.token(world.admin)).json()
    assert done["status"] == "done", done
    total = done["progress"]["total"]
    assert total
    assert done["progress"]["done"] == total
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(done["download_url"], headers=world.token(world.admin)).content)
    )
    assert len(archive.namelist()) == total


def test_the_same_request_while_queued_gives_the_same_job(client: TestClient, published: Published) -> None:
    first = ask(client, published, "recap").json()
    again = ask(client, published, "recap", revision=1)
    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    other = ask(client, published, "result_sheets").json()
    assert other["id"] != first["id"]


def test_a_cancelled_job_does_not_run_and_can_be_asked_for_again(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    job = ask(client, published, "recap").json()
    cancelled = client.delete(f"/api/v1/jobs/{job['id']}", headers=world.token(world.admin))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert run_queued(session_factory, settings) == 0
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=world.token(world.admin)).status_code == 409
    again = ask(client, published, "recap").json()
    assert again["id"] != job["id"]
    retried = client.post(f"/api/v1/jobs/{job['id']}/retry", headers=world.token(world.admin))
    assert retried.status_code == 202
    assert retried.json()["id"] == again["id"]


def test_only_the_commissions_readers_see_the_job_and_its_file(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    assert ask(client, published, "recap", who=world.operator).status_code == 403
    job = ask(client, published, "recap").json()
    run_queued(session_factory, settings)
    for outsider in (world.operator, world.verifier):
        assert client.get(f"/api/v1/jobs/{job['id']}", headers=world.token(outsider)).status_code == 404
        assert client.get(f"/api/v1/jobs/{job['id']}/file", headers=world.token(outsider)).status_code == 404
    listed = client.get(f"/api/v1/rounds/{published.round.id}/jobs", headers=world.token(world.admin)).json()
    assert [j["id"] for j in listed["items"]] == [job["id"]]


def test_an_unknown_kind_or_an_unpublished_round_is_refused(client: TestClient, world: World) -> None:
    bad = client.post(
        f"/api/v1/rounds/{world.round.id}/exports", json={"kind": "pdf"}, headers=world.token(world.admin)
    )
    assert bad.status_code == 422
    assert problem(bad)["errors"][0]["field"] == "kind"
    unpublished = client.post(
        f"/api/v1/rounds/{world.round.id}/exports", json={"kind": "recap"}, headers=world.token(world.admin)
    )
    assert unpublished.status_code == 409


def test_a_job_the_queue_gave_up_on_is_failed_and_asked_for_anew(
    client: TestClient, published: Published, session: Session, session_factory: sessionmaker[Session]
) -> None:
    """PostgreSQL: procrastinate's row ended (its retries spent) while ours still said queued: the periodic
    settling fails ours with a reason, and the same request makes a new job instead of the dead one."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the queue's own table exists on PostgreSQL only")
    world = published.world
    job = ask(client, published, "recap").json()
    session.execute(
        text(
            "UPDATE procrastinate_jobs SET status = 'failed' "
            "WHERE id = (SELECT queue_job_id FROM job WHERE id = :id)"
        ),
        {"id": job["id"]},
    )
    assert settle_dropped_jobs(session_factory, utcnow()) == 1
    settled = client.get(f"/api/v1/jobs/{job['id']}", headers=world.token(world.admin)).json()
    assert settled["status"] == "failed"
    assert settled["error_indonesian"] == DROPPED_INDONESIAN
    assert ask(client, published, "recap").json()["id"] != job["id"]
    assert settle_dropped_jobs(session_factory, utcnow()) == 0


def test_a_job_whose_requester_lost_the_right_fails_saying_why_in_indonesian(
    client: TestClient,
    published: Published,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """A panel member asks for the recap, then becomes a verifier before it runs: the job runs with the
    rights they have now, so it fails, and the reason the pages show is Indonesian (the refusal itself has
    only an English sentence)."""
    world = published.world
    job = ask(client, published, "recap", who=world.panelist).json()
    world.panelist.role = "verifier"
    session.flush()
    run_queued(session_factory, settings)
    failed = client.get(f"/api/v1/jobs/{job['id']}", headers=world.token(world.admin)).json()
    assert failed["status"] == "failed"
    assert failed["file"] is None
    assert "may not read" in failed["error"]
    assert failed["error_indonesian"].startswith("Peminta pekerjaan ini tidak lagi berwenang")


def test_the_queues_own_rows_of_long_finished_jobs_are_pruned(
    client: TestClient, published: Published, session: Session, session_factory: sessionmaker[Session]
) -> None:
    """PostgreSQL: procrastinate's row of a job finished over 30 days ago goes (our job row stays, with its
    state); a recent one stays."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the queue's own table exists on PostgreSQL only")
    old = ask(client, published, "recap").json()
    recent = ask(client, published, "result_sheets").json()
    queue_ids = dict(
        session.execute(
            text("SELECT id, queue_job_id FROM job WHERE id IN (:a, :b)"),
            {"a": old["id"], "b": recent["id"]},
        ).all()
    )
    for job, days in ((old, 31), (recent, 1)):
        session.execute(
            text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = :q"),
            {"q": queue_ids[job["id"]]},
        )
        session.execute(
            text("UPDATE procrastinate_events SET at = now() - make_interval(days => :d) WHERE job_id = :q"),
            {"q": queue_ids[job["id"]], "d": days},
        )
    assert prune_queue(session_factory, utcnow()) == 1
    left = set(session.scalars(text("SELECT id FROM procrastinate_jobs")).all())
    assert queue_ids[old["id"]] not in left
    assert queue_ids[recent["id"]] in left
    assert (
        client.get(
            f"/api/v1/jobs/{old['id']}", headers=published.world.token(published.world.admin)
        ).status_code
        == 200
    )
