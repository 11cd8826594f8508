"""The result sheets of a large round are made in parts that the workers share, then joined into one ZIP that
holds exactly what the single job makes. A tiny ``result_sheets_bodies_per_part`` makes the test round
(four bodies with a sheet) large. Jobs are run by ``run_queued``; real worker processes on PostgreSQL are
in tests/faults/."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.deps import principal_for_account
from app.db.base import utcnow
from app.db.models import Job, PublicBody
from app.exports import service
from app.jobs import files
from app.jobs.worker import requeue_stalled, run_queued, settle_dropped_jobs
from app.settings import Settings
from tests.exports.published import PUBLISHED_AT, Published, publish_world
from tests.factories import World, make_submission

pytestmark = pytest.mark.db

SHEETS = 4


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"result_sheets_bodies_per_part": 1})


@pytest.fixture
def published(world: World) -> Published:
    """The published test round, where the three kecamatan bodies submitted too: four sheets."""
    published = publish_world(world)
    kecamatan = world.session.scalars(
        select(PublicBody).where(PublicBody.category_id == published.kecamatan.id)
    )
    for body in kecamatan.all():
        make_submission(
            world.session, world.round, body, world.template, status="submitted", submitted_at=PUBLISHED_AT
        )
    world.session.flush()
    return published


def ask(client: TestClient, published: Published) -> dict[str, Any]:
    world = published.world
    asked = client.post(
        f"/api/v1/rounds/{published.round.id}/exports",
        json={"kind": "result_sheets"},
        headers=world.token(world.admin),
    )
    assert asked.status_code == 202, asked.text
    job: dict[str, Any] = asked.json()
    return job


def poll(client: TestClient, published: Published, job_id: int) -> dict[str, Any]:
    world = published.world
    seen: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", headers=world.token(world.admin)).json()
    return seen


def parts_of(sessions: sessionmaker[Session], parent_id: int) -> list[Job]:
    with sessions() as session:
        return list(session.scalars(select(Job).where(Job.parent_id == parent_id).order_by(Job.id)))


def test_a_large_round_is_made_in_parts_and_joined_into_the_same_zip(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
) -> None:
    world = published.world
    job = ask(client, published)

    # The parent's first run only queues the parts, and waits for them, running, holding no worker.
    assert run_queued(session_factory, settings, limit=1) == 1
    waiting = poll(client, published, job["id"])
    assert waiting["status"] == "running"
    assert waiting["progress"]["total"] == SHEETS
    parts = parts_of(session_factory, job["id"])
    assert [p.status for p in parts] == ["queued"] * SHEETS
    listed = client.get(f"/api/v1/rounds/{published.round.id}/jobs", headers=world.token(world.admin))
    assert [j["id"] for j in listed.json()["items"]] == [job["id"]]  # the parts are not listed

    # Every part, then the parent once more to join them: one file, on the parent.
    assert run_queued(session_factory, settings) == SHEETS + 1
    done = poll(client, published, job["id"])
    assert done["status"] == "done", done
    assert done["progress"]["done"] == done["progress"]["total"] == SHEETS
    fetched = client.get(done["download_url"], headers=world.token(world.admin))
    joined = zipfile.ZipFile(io.BytesIO(fetched.content))
    assert joined.testzip() is None

    with session_factory() as session:
        single = tmp_path / "single.zip"
        name = service.result_sheets_zip(
            session=session,
            round_id=published.round.id,
            revision=1,
            by=principal_for_account(world.admin),
            target=single,
        )
    assert done["file"]["name"] == name
    expected = zipfile.ZipFile(single).namelist()
    assert len(expected) == SHEETS
    assert joined.namelist() == expected  # every body once, in category and name order
    for entry in expected:
        assert joined.read(entry)[:2] == b"PK"

    # The parts' own files went once joined; their rows say so.
    for part in parts_of(session_factory, job["id"]):
        assert part.status == "done"
        assert part.file_removed_at is not None
        assert part.file_path is not None
        assert not files.resolve(settings.job_files_dir, part.file_path).exists()


def test_cancelling_the_job_cancels_its_parts(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    job = ask(client, published)
    assert run_queued(session_factory, settings, limit=2) == 2  # the fan-out and the first part
    assert poll(client, published, job["id"])["progress"]["done"] == 1

    cancelled = client.delete(f"/api/v1/jobs/{job['id']}", headers=world.token(world.admin))
    assert cancelled.status_code == 200
    assert [p.status for p in parts_of(session_factory, job["id"])] == ["done"] + ["cancelled"] * (SHEETS - 1)
    assert run_queued(session_factory, settings) == 0
    after = poll(client, published, job["id"])
    assert after["status"] == "cancelled"
    assert after["download_url"] is None


def test_cancelling_a_part_cancels_the_whole_job(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    job = ask(client, published)
    run_queued(session_factory, settings, limit=1)
    part = parts_of(session_factory, job["id"])[1]
    cancelled = client.delete(f"/api/v1/jobs/{part.id}", headers=world.token(world.admin))
    assert cancelled.status_code == 200
    assert cancelled.json()["id"] == job["id"]
    assert poll(client, published, job["id"])["status"] == "cancelled"
    assert {p.status for p in parts_of(session_factory, job["id"])} == {"cancelled"}


def test_a_failing_part_fails_the_job_with_its_reason(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    job = ask(client, published)
    assert run_queued(session_factory, settings, limit=2) == 2
    # The person who asked loses their account while the parts run: the next part fails, and so does the job.
    with session_factory.begin() as session:
        account = session.merge(world.admin)
        account.active = False
    assert run_queued(session_factory, settings) == 1
    with session_factory.begin() as session:
        session.merge(world.admin).active = True
    failed = poll(client, published, job["id"])
    assert failed["status"] == "failed", failed
    assert "may no longer use the service" in failed["error"]
    assert failed["error_indonesian"].startswith("Akun atau kunci API")
    statuses = [p.status for p in parts_of(session_factory, job["id"])]
    assert statuses == ["done", "failed"] + ["cancelled"] * (SHEETS - 2)
    # Asked again, it is a new job.
    assert ask(client, published)["id"] != job["id"]


def test_a_job_waiting_for_its_parts_is_not_handed_on_as_stalled(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    job = ask(client, published)
    run_queued(session_factory, settings, limit=1)
    later = utcnow() + timedelta(seconds=settings.worker_stalled_after_seconds + 60)
    assert requeue_stalled(session_factory, settings, later) == 0
    assert poll(client, published, job["id"])["status"] == "running"
    assert run_queued(session_factory, settings) == SHEETS + 1
    assert poll(client, published, job["id"])["status"] == "done"


def test_a_part_whose_worker_died_is_run_again_and_the_zip_is_joined_once(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    world = published.world
    job = ask(client, published)
    run_queued(session_factory, settings, limit=2)
    # What a worker killed in the middle of the second part leaves: the part running, its heartbeat old.
    second = parts_of(session_factory, job["id"])[1]
    old = utcnow() - timedelta(seconds=settings.worker_stalled_after_seconds + 60)
    with session_factory.begin() as session:
        session.execute(
            update(Job).where(Job.id == second.id).values(status="running", attempts=1, heartbeat_at=old)
        )
    assert requeue_stalled(session_factory, settings, utcnow()) == 1  # the part, not the waiting job
    assert run_queued(session_factory, settings) == SHEETS - 1 + 1
    done = poll(client, published, job["id"])
    assert done["status"] == "done"
    assert [p.attempts for p in parts_of(session_factory, job["id"])] == [1, 2, 1, 1]
    fetched = client.get(done["download_url"], headers=world.token(world.admin))
    names = zipfile.ZipFile(io.BytesIO(fetched.content)).namelist()
    assert len(names) == len(set(names)) == SHEETS


def test_a_part_running_when_the_job_ended_stops_and_is_cancelled_with_it(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    job = ask(client, published)
    run_queued(session_factory, settings, limit=1)
    # The job is cancelled while its parts' workers hold them (cancel_parts skips a locked part): each part
    # hears of it at its next progress report.
    with session_factory.begin() as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(status="cancelled"))
    assert run_queued(session_factory, settings) == SHEETS
    assert {p.status for p in parts_of(session_factory, job["id"])} == {"cancelled"}
    assert poll(client, published, job["id"])["status"] == "cancelled"


def test_a_job_waiting_for_its_parts_is_not_settled_as_dropped_by_the_queue(
    client: TestClient,
    published: Published,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """PostgreSQL: the parent's queue row ends when it has queued its parts (a real worker marks it
    succeeded); the duty that fails jobs the queue dropped must leave it waiting."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the queue's own table exists on PostgreSQL only")
    job = ask(client, published)
    run_queued(session_factory, settings, limit=1)
    session.execute(
        text(
            "UPDATE procrastinate_jobs SET status = 'succeeded' "
            "WHERE id = (SELECT queue_job_id FROM job WHERE id = :id)"
        ),
        {"id": job["id"]},
    )
    assert settle_dropped_jobs(session_factory, utcnow()) == 0
    assert poll(client, published, job["id"])["status"] == "running"
    assert run_queued(session_factory, settings) == SHEETS + 1
    assert poll(client, published, job["id"])["status"] == "done"


def test_a_part_the_queue_gave_up_on_fails_the_whole_job(
    client: TestClient,
    published: Published,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """PostgreSQL: a part whose queue row failed (procrastinate's own retries spent) fails its job and
    cancels the other parts, so the job does not wait for it for ever and the same request makes a new job."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the queue's own table exists on PostgreSQL only")
    job = ask(client, published)
    run_queued(session_factory, settings, limit=1)
    first = parts_of(session_factory, job["id"])[0]
    session.execute(
        text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id"), {"id": first.queue_job_id}
    )
    assert settle_dropped_jobs(session_factory, utcnow()) == 1
    assert run_queued(session_factory, settings) == 0
    assert poll(client, published, job["id"])["status"] == "failed"
    assert {part.status for part in parts_of(session_factory, job["id"])} == {"failed", "cancelled"}
    assert ask(client, published)["id"] != job["id"]


def test_an_assembly_cut_short_while_placing_its_file_finishes_when_run_again(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parts' files are removed only once the joined ZIP is in place and the job done: an assembly
    whose worker died while placing the file finds them again."""
    job = ask(client, published)
    run_queued(session_factory, settings, limit=SHEETS + 1)  # fan out and every part: the job is queued again
    place = files.place
    calls: list[int] = []

    def lost_once(root: Path, job_id: int, staged: Path, suffix: str) -> files.PlacedFile:
        calls.append(job_id)
        if len(calls) == 1:
            raise OSError("the worker's disk went away while placing the joined ZIP")
        return place(root, job_id, staged, suffix)

    monkeypatch.setattr(files, "place", lost_once)
    monkeypatch.setattr("app.jobs.worker.time.sleep", lambda _seconds: None)
    run_queued(session_factory, settings)
    done = poll(client, published, job["id"])
    assert done["status"] == "done", done
    assert done["attempts"] == 2
    archive = zipfile.ZipFile(
        io.BytesIO(
            client.get(done["download_url"], headers=published.world.token(published.world.admin)).content
        )
    )
    assert len(archive.namelist()) == SHEETS
    assert all(part.file_removed_at is not None for part in parts_of(session_factory, job["id"]))
