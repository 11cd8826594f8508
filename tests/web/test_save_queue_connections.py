"""A save waiting in the queue holds no database connection (and so, on SQLite, not the write lock).

The other page tests share one connection between every session, so they cannot see this: here the app has a
real connection pool on a file-backed SQLite database with committed data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db.session import create_sqlite_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from tests.conftest import migrate
from tests.factories import World
from tests.submissions.helpers import finishes_after_release, open_submission, put_answers
from tests.web.conftest import Pages


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_sqlite_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    with eng.begin() as conn:
        migrate(conn)
    yield eng
    eng.dispose()


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    with Session(engine, expire_on_commit=False) as session:  # no reload (and lock) after the commit
        world = World(session)
        session.commit()
        yield world


@pytest.fixture
def headers(world: World) -> dict[str, str]:
    made = world.token(world.operator)
    world.session.commit()
    return made


@pytest.fixture
def client(engine: Engine, world: World, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(environment="test", database_url="sqlite://", evidence_dir=tmp_path, demo_data=False)
    with TestClient(create_app(settings, session_factory=make_sessionmaker(engine))) as c:
        yield c


def _queued_while_watching(client: TestClient, engine: Engine, request: Any) -> Any:
    """Send ``request`` while every turn of the save queue is taken; return the pooled connections checked out
    while it waited, and its response once the queue frees up."""
    checked_out: list[int] = []
    response = finishes_after_release(
        client,
        request,
        while_waiting=lambda: checked_out.append(engine.pool.checkedout()),  # type: ignore[attr-defined]
    )
    return checked_out[0], response


def test_an_autosave_waiting_its_turn_holds_no_connection(
    client: TestClient, engine: Engine, world: World
) -> None:
    pages = Pages(client).login(world.operator)
    opened = pages.post(f"/pengisian/mulai/{world.round.id}", follow_redirects=False)
    sid = int(opened.headers["location"].rsplit("/", 1)[1])

    checked_out, response = _queued_while_watching(
        client,
        engine,
        lambda: pages.post_json(
            f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"2.3": {"value": "a"}}}
        ),
    )

    assert checked_out == 0
    assert response.status_code == 200, response.text


def test_an_api_save_waiting_its_turn_holds_no_connection(
    client: TestClient, engine: Engine, world: World, headers: dict[str, str]
) -> None:
    sub = open_submission(client, world, headers)

    checked_out, response = _queued_while_watching(
        client,
        engine,
        lambda: put_answers(client, sub["id"], headers, {"2.3": {"value": "a"}}, sub["version"]),
    )

    assert checked_out == 0
    assert response.status_code == 200, response.text
