"""The whole demo seeded once per module and database; each test runs in a savepoint rolled back after it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.demo import DemoReport, seed_demo
from app.settings import Settings
from tests.factories import ROOT

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def demo_settings_at(evidence_dir: Path) -> Settings:
    return Settings(
        environment="development",
        database_url="sqlite://",
        evidence_dir=evidence_dir,
        questionnaires_dir=ROOT / "questionnaires",
        demo_data=True,
    )


@dataclass(frozen=True)
class Seeded:
    connection: Connection
    report: DemoReport
    settings: Settings


@pytest.fixture(scope="module")
def seeded_demo(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The demo as ``emonev serve`` seeds it, on its own connection whose transaction is rolled back."""
    settings = demo_settings_at(tmp_path_factory.mktemp("evidence"))
    connection = engine.connect()
    outer = connection.begin()
    try:
        with Session(bind=connection, join_transaction_mode="create_savepoint", autoflush=False) as session:
            report = seed_demo(session=session, settings=settings, now=NOW)
            session.commit()
        yield Seeded(connection, report, settings)
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def demo(seeded_demo: Seeded) -> Iterator[Seeded]:
    savepoint = seeded_demo.connection.begin_nested()
    try:
        yield seeded_demo
    finally:
        savepoint.rollback()


@pytest.fixture
def demo_session_factory(demo: Seeded) -> sessionmaker[Session]:
    return sessionmaker(
        bind=demo.connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )


@pytest.fixture
def demo_session(demo_session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = demo_session_factory()
    try:
        yield session
    finally:
        session.close()
