"""All letters of a round as a job: a ZIP with one folder per category and one PDF per body of the
publication, made in parts that the workers share when the round is large. Jobs are run here by
``run_queued``; real ``emonev worker`` processes on PostgreSQL are in tests/faults/test_letter_workers.py."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Job
from app.exports.service import slug
from app.jobs.worker import run_queued
from app.settings import Settings
from tests.exports.published import Published, publish_world
from tests.factories import World, problem
from tests.letters.pdf import text_of

pytestmark = pytest.mark.db


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"letters_bodies_per_part": 2})


@pytest.fixture
def published(world: World) -> Published:
    return publish_world(world)


def test_the_letters_of_a_round_come_as_a_zip_made_in_parts(
    client: TestClient, published: Published, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    world = published.world
    asked = client.post(f"/api/v1/rounds/{published.round.id}/letter-jobs", headers=world.token(world.admin))
    assert asked.status_code == 202, asked.text
    assert asked.headers["location"] == f"/api/v1/jobs/{asked.json()['id']}"
    job_id = asked.json()["id"]
    again = client.post(
        f"/api/v1/rounds/{published.round.id}/exports",
        json={"kind": "letters"},
        headers=world.token(world.admin),
    )
    assert again.json()["id"] == job_id  # the identical job, not a second one

    assert run_queued(session_factory, settings) == 1 + 3 + 1  # fan out, three parts of 2, 2, 1, join
    with session_factory() as session:
        parts = session.scalars(select(Job).where(Job.parent_id == job_id).order_by(Job.id)).all()
    assert [len(p.params["body_ids"]) for p in parts] == [2, 2, 1]
    done = client.get(f"/api/v1/jobs/{job_id}", headers=world.token(world.admin)).json()
    assert done["status"] == "done", done
    assert done["progress"]["done"] == done["progress"]["total"] == 5
    assert done["file"]["name"] == f"surat-hasil-{slug(published.round.title)}-revisi-1.zip"
    fetched = client.get(done["download_url"], headers=world.token(world.admin))
    archive = zipfile.ZipFile(io.BytesIO(fetched.content))
    names = archive.namelist()
    assert [name.split("/")[0] for name in names] == ["kecamatan"] * 3 + ["kelurahan"] * 2
    assert all(name.endswith(".pdf") for name in names)
    own = next(n for n in names if n.endswith(f"-{world.body.id}.pdf"))
    text = text_of(archive.read(own))
    assert "Nilai akhir : 76,50" in text
    single = client.get(
        f"/api/v1/rounds/{published.round.id}/bodies/{world.body.id}/letter.pdf",
        headers=world.token(world.admin),
    )
    assert archive.read(own) == single.content  # the same letter, byte for byte


def test_letters_are_not_for_operators_nor_before_publication(client: TestClient, world: World) -> None:
    url = f"/api/v1/rounds/{world.round.id}/letter-jobs"
    assert client.post(url, headers=world.token(world.operator)).status_code == 403
    unpublished = client.post(url, headers=world.token(world.admin))
    assert unpublished.status_code == 409
    problem(unpublished)
