"""PostgreSQL statements of a request stop at the request's statement timeout; an export's or an import's
session (``allow_long_work``) gets the long one for its transaction only. A timed-out statement is a 503
"did not answer in time", not a 500."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db.faults import ANSWERS, Kind, kind_of
from app.db.session import (
    Timeouts,
    allow_long_work,
    create_app_engine,
    create_sqlite_engine,
    make_sessionmaker,
    read_only,
)
from app.main import create_app
from app.settings import Settings

POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")
SETTINGS = Settings(
    environment="test",
    db_statement_timeout_seconds=0.3,
    db_long_statement_timeout_seconds=10,
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("needs PostgreSQL: set EMONEV_TEST_POSTGRES_URL")
    engine = create_app_engine(POSTGRES_URL, pool_size=2, timeouts=Timeouts.for_requests(SETTINGS))
    yield engine
    engine.dispose()


def test_a_request_statement_stops_at_the_statement_timeout(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(OperationalError) as stopped:
        session.execute(text("SELECT pg_sleep(1)"))
    assert kind_of(stopped.value) is Kind.TIMEOUT
    assert ANSWERS[Kind.TIMEOUT].status == 503


def test_long_work_gets_the_long_timeout_for_its_transaction_only(engine: Engine) -> None:
    with Session(engine) as session:
        allow_long_work(session, SETTINGS)
        session.execute(text("SELECT pg_sleep(0.6)"))
        session.commit()
        assert session.scalar(text("SHOW statement_timeout")) == "10s"
    with Session(engine) as session:
        assert session.scalar(text("SHOW statement_timeout")) == "300ms"


def test_a_bug_is_no_fault_of_the_database_and_stays_a_500_with_its_traceback(tmp_path: Path) -> None:
    """A syntax error or a missing table would be retried for ever as a 503; it is a 500 that gets logged."""
    engine = create_sqlite_engine(f"sqlite:///{tmp_path / 'bug.sqlite3'}")
    for statement in ("SELEC 1", "SELECT * FROM no_such_table"):
        with engine.connect() as connection, pytest.raises(OperationalError) as failed:
            connection.execute(text(statement))
        assert kind_of(failed.value) is None, statement
    engine.dispose()


def test_a_database_that_refuses_connections_is_unreachable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = create_app_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing",
        pool_size=1,
        timeouts=Timeouts.for_requests(SETTINGS),
    )
    with Session(engine) as session, pytest.raises(OperationalError) as failed:
        session.execute(text("SELECT 1"))
    assert kind_of(failed.value) is Kind.UNREACHABLE
    engine.dispose()


def test_a_bug_reaching_the_api_is_a_500_not_a_503(tmp_path: Path) -> None:
    app = create_app(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/rounds", headers={"Authorization": "Bearer nothing"})
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_a_long_read_on_sqlite_holds_no_write_lock(tmp_path: Path) -> None:
    """An export job reads for minutes: meanwhile saves (and the job's own progress reports) must still be
    written. A read_only session begins deferred; an ordinary one takes the write lock up front."""
    engine = create_sqlite_engine(f"sqlite:///{tmp_path / 'e.sqlite3'}", timeouts=Timeouts(sqlite_busy=0.2))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    sessions = make_sessionmaker(engine)
    with read_only(sessions).begin() as reader:
        reader.execute(text("SELECT count(*) FROM t")).scalar_one()
        with sessions.begin() as writer:
            writer.execute(text("INSERT INTO t VALUES (1)"))
    with sessions.begin() as holder:
        holder.execute(text("SELECT count(*) FROM t")).scalar_one()
        with pytest.raises(OperationalError, match="locked"), sessions.begin() as writer:
            writer.execute(text("INSERT INTO t VALUES (2)"))
    engine.dispose()
