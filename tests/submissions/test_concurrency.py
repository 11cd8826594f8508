"""Real concurrency on PostgreSQL: committed data, separate connections, requests racing in threads.

The other tests run inside one rolled-back transaction, where requests cannot race. Here a throw-away database
is migrated, seeded and committed, and two clients hit the same submission at the same moment.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from app.db.models import Answer, Submission
from app.db.session import make_sessionmaker
from app.main import create_app
from app.settings import Settings
from tests.conftest import migrate
from tests.factories import World

POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs EMONEV_TEST_POSTGRES_URL")


@pytest.fixture(scope="module")
def committed_engine() -> Iterator[Engine]:
    assert POSTGRES_URL is not None
    name = f"emonev_race_{os.getpid()}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name, pool_size=10)
    with engine.begin() as conn:
        migrate(conn)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Committed:
    """A committed World, its operator's headers, and a factory of independent clients of one app."""

    world: World
    headers: dict[str, str]
    new_client: Callable[[], TestClient]


@pytest.fixture
def committed(committed_engine: Engine, tmp_path: Path) -> Iterator[Committed]:
    session = Session(committed_engine)
    world = World(session)
    headers = world.token(world.operator)
    session.commit()
    settings = Settings(environment="test", database_url="sqlite://", evidence_dir=tmp_path, demo_data=False)
    app = create_app(settings, session_factory=make_sessionmaker(committed_engine))
    with ExitStack() as stack:
        yield Committed(world, headers, lambda: stack.enter_context(TestClient(app)))
    session.close()


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_opens_create_one_submission(committed: Committed, committed_engine: Engine) -> None:
    world, headers = committed.world, committed.headers
    url = f"/api/v1/rounds/{world.round.id}/submissions"
    clients = [committed.new_client() for _ in range(4)]

    responses = race(*(lambda c=c: c.post(url, headers=headers) for c in clients))

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    with Session(committed_engine) as check:
        count = check.scalar(
            select(func.count(Submission.id)).where(
                Submission.round_id == world.round.id, Submission.body_id == world.body.id
            )
        )
    assert count == 1


def test_two_saves_on_the_same_version_one_wins_one_gets_412(
    committed: Committed, committed_engine: Engine
) -> None:
    world, headers = committed.world, committed.headers
    first, second = committed.new_client(), committed.new_client()
    opened = first.post(f"/api/v1/rounds/{world.round.id}/submissions", headers=headers)
    sub_id = opened.json()["id"]
    url = f"/api/v1/submissions/{sub_id}/answers"
    etag = {"If-Match": opened.headers["ETag"]}

    responses = race(
        lambda: first.put(url, headers=headers | etag, json={"answers": {"2.2": {"value": 95}}}),
        lambda: second.put(url, headers=headers | etag, json={"answers": {"2.2": {"value": 10}}}),
    )

    assert sorted(r.status_code for r in responses) == [200, 412]
    winner = next(r for r in responses if r.status_code == 200)
    loser = next(r for r in responses if r.status_code == 412)
    assert loser.json()["current_version"] == 2
    with Session(committed_engine) as check:
        stored = check.scalar(
            select(Answer.value).where(Answer.submission_id == sub_id, Answer.question_code == "2.2")
        )
        version = check.scalar(select(Submission.version).where(Submission.id == sub_id))
    assert version == 2
    assert stored == (95 if winner is responses[0] else 10)
