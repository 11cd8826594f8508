"""A round's live results as jobs: the preview job's file holds what the synchronous preview shows, and the
publication as a job writes one audited revision, or fails with the reason the synchronous route gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Publication
from app.jobs.worker import run_queued
from app.main import create_app
from app.settings import Settings
from tests.factories import World, problem
from tests.results.test_results import Season, season  # noqa: F401  (the fixture)

pytestmark = pytest.mark.db


def job_of(client: TestClient, world: World, job_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", headers=world.token(world.admin)).json()
    return body


def test_the_preview_job_keeps_what_the_synchronous_preview_shows(
    client: TestClient,
    world: World,
    season: Season,  # noqa: F811
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    asked = client.post(
        f"/api/v1/rounds/{world.round.id}/results/preview-jobs", headers=world.token(world.admin)
    )
    assert asked.status_code == 202, asked.text
    assert asked.headers["location"] == f"/api/v1/jobs/{asked.json()['id']}"
    again = client.post(
        f"/api/v1/rounds/{world.round.id}/results/preview-jobs", headers=world.token(world.admin)
    )
    assert again.json()["id"] == asked.json()["id"]
    assert run_queued(session_factory, settings) == 1

    done = job_of(client, world, asked.json()["id"])
    assert done["status"] == "done", done
    assert done["result"] == {"bodies": 6, "incomplete": 0, "ready_to_publish": True}
    kept = json.loads(client.get(done["download_url"], headers=world.token(world.admin)).content)
    shown = client.get(
        f"/api/v1/rounds/{world.round.id}/results?limit=500", headers=world.token(world.admin)
    ).json()
    assert kept == shown
    assert [item["final_score"] for item in kept["items"][:4]] == ["87.00", "86.50", "86.50", "56.00"]


def test_only_administrators_ask_for_the_preview_or_the_publication(
    client: TestClient,
    world: World,
    season: Season,  # noqa: F811
) -> None:
    for outsider in (world.operator, world.verifier, world.panelist):
        for path, payload in (("results/preview-jobs", None), ("publish-jobs", {"reason": "Pleno"})):
            refused = client.post(
                f"/api/v1/rounds/{world.round.id}/{path}", json=payload, headers=world.token(outsider)
            )
            assert refused.status_code == 403, (path, refused.text)


def test_publishing_as_a_job_writes_one_audited_revision_then_refuses_an_unchanged_one(
    client: TestClient,
    world: World,
    season: Season,  # noqa: F811
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    def publish(jobs: int) -> dict[str, Any]:
        asked = client.post(
            f"/api/v1/rounds/{world.round.id}/publish-jobs",
            json={"reason": "Keputusan pleno 1/2025"},
            headers=world.token(world.admin),
        )
        assert asked.status_code == 202, asked.text
        assert run_queued(session_factory, settings) == jobs
        return job_of(client, world, asked.json()["id"])

    # The publication, then the delivery of the notices it wrote (tests/mail/test_season_notices.py).
    first = publish(jobs=2)
    assert first["status"] == "done", first
    assert first["result"]["revision"] == 1
    revisions = session.scalars(select(Publication.revision).where(Publication.round_id == world.round.id))
    assert revisions.all() == [1]
    audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "round.publish")).all()
    assert [a.entity_id for a in audited] == [str(first["result"]["publication_id"])]
    ranking = client.get(
        f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan", headers=world.token(world.admin)
    )
    assert ranking.status_code == 200

    unchanged = publish(jobs=1)  # refused: no notice, no delivery
    assert unchanged["status"] == "failed"
    assert unchanged["error_indonesian"].startswith("Tidak ada yang berubah sejak revisi 1")
    assert session.scalars(select(Publication.id).where(Publication.round_id == world.round.id)).all() == [
        first["result"]["publication_id"]
    ]


def test_a_round_past_the_limit_is_refused_in_the_request_naming_the_job_form(
    world: World,
    season: Season,  # noqa: F811
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    small = settings.model_copy(update={"sync_results_max_bodies": 5})  # the season invites 6
    with TestClient(create_app(small, session_factory=session_factory)) as client:
        for method, path, form, payload in (
            ("GET", "results", "results/preview-jobs", None),
            ("POST", "publish", "publish-jobs", {"reason": "Pleno"}),
        ):
            refused = client.request(
                method,
                f"/api/v1/rounds/{world.round.id}/{path}",
                json=payload,
                headers=world.token(world.admin),
            )
            assert refused.status_code == 409, refused.text
            found = problem(refused)
            assert found["type"].endswith("too-large-at-once")
            assert found["job_request"] == {
                "method": "POST",
                "href": f"/api/v1/rounds/{world.round.id}/{form}",
                "body": payload,
            }
            assert found["bodies"] == 6
        asked = client.post(
            f"/api/v1/rounds/{world.round.id}/results/preview-jobs", headers=world.token(world.admin)
        )
        assert asked.status_code == 202
