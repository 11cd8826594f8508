"""Login throttling under real concurrency: committed data, separate connections, logins racing in threads.

As with several app processes behind one database: no attempt may fail with a 500, and a burst of parallel
guesses may not slip past the limit (attempts with one e-mail are serialised). The limit is 3 here and the
bursts are small: SQLite holds its write lock while argon2 checks a password (about 0.4 s on a loaded
2-core machine), so a dozen simultaneous logins there would outlast its busy timeout, throttled or not.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from app.accounts.throttle import email_hash
from app.db.models import LoginFailure
from app.db.session import create_sqlite_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from tests.conftest import migrate
from tests.factories import PASSWORD, World, now

POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")
LOGIN = "/api/v1/auth/login"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def committed_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_sqlite_engine(f"sqlite:///{tmp_path_factory.mktemp('race') / 'race.sqlite3'}")
        with engine.begin() as conn:
            migrate(conn)
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("needs EMONEV_TEST_POSTGRES_URL")
    name = f"emonev_login_race_{os.getpid()}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name, pool_size=20)
    with engine.begin() as conn:
        migrate(conn)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Committed:
    world: World
    new_client: Callable[[], TestClient]


@pytest.fixture
def committed(committed_engine: Engine, tmp_path: Path) -> Iterator[Committed]:
    # Closed before the race: on SQLite an open transaction would hold the write lock.
    with Session(committed_engine, expire_on_commit=False) as session:
        world = World(session)
        session.commit()
    settings = Settings(
        environment="test",
        database_url="sqlite://",
        evidence_dir=tmp_path,
        demo_data=False,
        login_max_failures=3,
    )
    app = create_app(settings, session_factory=make_sessionmaker(committed_engine))
    with ExitStack() as stack:
        yield Committed(world, lambda: stack.enter_context(TestClient(app)))


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
        thread.join(timeout=120)
    return results


def login(client: TestClient, email: str, password: str) -> Callable[[], httpx.Response]:
    return lambda: client.post(LOGIN, json={"email": email, "password": password})


def test_a_burst_of_parallel_guesses_gets_only_the_allowed_tries_and_no_500(committed: Committed) -> None:
    email = committed.world.operator.email
    clients = [committed.new_client() for _ in range(8)]

    responses = race(*(login(c, email, f"wrong-password-{n}") for n, c in enumerate(clients)))

    assert Counter(r.status_code for r in responses) == {401: 3, 429: 5}
    assert login(clients[0], email, PASSWORD)().status_code == 429


def test_failures_and_successes_of_many_emails_at_once_never_500(
    committed: Committed, committed_engine: Engine
) -> None:
    world = committed.world
    long_ago = now() - timedelta(hours=1)
    with Session(committed_engine) as session:
        session.add_all(
            LoginFailure(email_hash=email_hash(f"old{n}@example.go.id"), at=long_ago) for n in range(300)
        )
        session.commit()
    calls = [login(committed.new_client(), f"nobody{n}@example.go.id", "wrong-password") for n in range(4)]
    calls += [login(committed.new_client(), world.admin.email, "wrong-password") for _ in range(2)]
    calls += [login(committed.new_client(), world.verifier.email, PASSWORD)]

    responses = race(*calls)

    assert [r.status_code for r in responses] == [401] * 6 + [200]
    with Session(committed_engine) as session:
        expired = session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.at < now() - timedelta(minutes=30))
        )
        admin_failures = session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.email_hash == email_hash(world.admin.email))
        )
    assert expired == 0  # six failures purged up to a hundred expired rows each
    assert admin_failures == 2
