"""Small exports stream at once from their GET route; past the limit of bodies the route answers 409 with
the job that makes the same file (README, "Small exports at once, large ones as jobs"). The published
world has five bodies; the limits are set around it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.principal import SYSTEM
from app.exports import recap_workbook, service
from app.jobs.worker import run_queued
from app.settings import Settings
from tests.exports.published import Published, publish_world
from tests.factories import World, problem

pytestmark = pytest.mark.db

BODIES = 5
EXPORTS = [("recap.xlsx", "recap"), ("result-sheets.zip", "result_sheets")]


@pytest.fixture
def limit() -> int:
    return BODIES - 1


@pytest.fixture
def settings(settings: Settings, limit: int) -> Settings:
    return settings.model_copy(
        update={"sync_recap_max_bodies": limit, "sync_result_sheets_max_bodies": limit}
    )


@pytest.fixture
def published(world: World) -> Published:
    return publish_world(world)


@pytest.mark.parametrize(("file", "kind"), EXPORTS)
def test_past_the_limit_the_route_names_the_job_that_makes_the_file(
    client: TestClient,
    published: Published,
    session_factory: sessionmaker[Session],
    settings: Settings,
    file: str,
    kind: str,
) -> None:
    world = published.world
    round_id = published.round.id
    refused = client.get(f"/api/v1/rounds/{round_id}/{file}", headers=world.token(world.admin))
    assert refused.status_code == 409
    body = problem(refused)
    assert body["type"].endswith("/too-large-at-once")
    assert f"has {BODIES} bodies, more than the {BODIES - 1} exported at once" in body["detail"]
    assert f"POST /api/v1/rounds/{round_id}/exports" in body["detail"]
    assert f'{{"kind": "{kind}", "revision": 1}}' in body["detail"]
    assert body["job_request"] == {
        "method": "POST",
        "href": f"/api/v1/rounds/{round_id}/exports",
        "body": {"kind": kind, "revision": 1},
    }
    assert (body["bodies"], body["max_bodies"]) == (BODIES, BODIES - 1)

    job_request = body["job_request"]
    asked = client.post(job_request["href"], json=job_request["body"], headers=world.token(world.admin))
    assert asked.status_code == 202, asked.text
    assert run_queued(session_factory, settings) == 1
    done = client.get(asked.headers["location"], headers=world.token(world.admin)).json()
    assert done["status"] == "done", done
    # The recap counts its body rows and the closing step; the ZIP its one sheet (one submission).
    assert done["progress"]["total"] == {"recap": BODIES + 1, "result_sheets": 1}[kind]
    fetched = client.get(done["download_url"], headers=world.token(world.admin))
    assert fetched.status_code == 200
    assert fetched.content[:2] == b"PK"


@pytest.mark.parametrize(("file", "kind"), EXPORTS)
def test_strangers_and_unknown_revisions_are_refused_before_the_size(
    client: TestClient, published: Published, file: str, kind: str
) -> None:
    world = published.world
    url = f"/api/v1/rounds/{published.round.id}/{file}"
    assert client.get(url, headers=world.token(world.operator)).status_code == 403
    unknown = client.get(url, headers=world.token(world.admin), params={"revision": 9})
    assert unknown.status_code == 404
    assert "job_request" not in problem(unknown)


@pytest.mark.parametrize("limit", [BODIES])
@pytest.mark.parametrize(("file", "kind"), EXPORTS)
def test_at_the_limit_the_file_streams_at_once(
    client: TestClient, published: Published, file: str, kind: str
) -> None:
    world = published.world
    response = client.get(f"/api/v1/rounds/{published.round.id}/{file}", headers=world.token(world.admin))
    assert response.status_code == 200, response.text
    assert response.content[:2] == b"PK"


def test_one_body_s_result_sheet_streams_whatever_the_limit(client: TestClient, published: Published) -> None:
    world = published.world
    response = client.get(
        f"/api/v1/submissions/{published.submission.id}/result.xlsx", headers=world.token(world.admin)
    )
    assert response.status_code == 200, response.text


def test_the_recap_reports_its_rows_as_it_writes_them(
    published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recap_workbook, "PROGRESS_EVERY", 2)
    heard: list[tuple[int, int]] = []
    service.recap(
        session=published.world.session,
        round_id=published.round.id,
        revision=None,
        by=SYSTEM,
        target=tmp_path / "rekap.xlsx",
        progress=lambda done, total: heard.append((done, total)),
    )
    # Five body rows, two at a time, then the closing step (corrections, summary, the file closed).
    assert heard == [(0, 6), (2, 6), (4, 6), (5, 6), (6, 6)]
