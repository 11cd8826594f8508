"""PostgreSQL statements of a request stop at the request's statement timeout; an export's or an import's
session (``allow_long_work``) gets the long one for its transaction only. A timed-out statement is a 503
"did not answer in time", not a 500."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db.faults import ANSWERS, Kind, kind_of
from app.db.session import Timeouts, allow_long_work, create_app_engine
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
    assert ANSWERS[kind_of(stopped.value)].status == 503


def test_long_work_gets_the_long_timeout_for_its_transaction_only(engine: Engine) -> None:
    with Session(engine) as session:
        allow_long_work(session, SETTINGS)
        session.execute(text("SELECT pg_sleep(0.6)"))
        session.commit()
        assert session.scalar(text("SHOW statement_timeout")) == "10s"
    with Session(engine) as session:
        assert session.scalar(text("SHOW statement_timeout")) == "300ms"
