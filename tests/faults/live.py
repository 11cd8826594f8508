"""What the fault tests share: a PostgreSQL database of the test's own on the local cluster, the settings of a
served demo, and logging in over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.migrate import alembic_config
from app.demo.world import COMMISSION_ADMIN_EMAIL, DEMO_PASSWORD, operator_email, seed_world
from app.settings import Settings

POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")
OPEN_ROUND = 1  # the demo's open round (the first the demo creates)
OPERATORS = [
    operator_email(name)
    for name in (
        "Kecamatan Menteng",
        "Kecamatan Gambir",
        "Kecamatan Tanah Abang",
        "Kelurahan Menteng",
        "Kelurahan Gondangdia",
        "Kelurahan Gambir",
        "Kelurahan Kebon Kacang",
    )
]
ADMIN = COMMISSION_ADMIN_EMAIL
SETTINGS = {
    "EMONEV_ENVIRONMENT": "development",
    "EMONEV_DEMO_DATA": "false",
    "EMONEV_SECRET_KEY": "kunci-rahasia-uji-gangguan",
}


def prepare(url: str) -> None:
    """Migrate the database and seed the demo's commission, bodies, accounts and open round, in this process
    (seconds faster than ``emonev db upgrade`` and the whole demo in subprocesses)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with Session(engine) as session, session.begin():
            settings = Settings(database_url=url, environment="development", demo_data=False)
            seed_world(session=session, settings=settings, now=utcnow())
    finally:
        engine.dispose()


@contextmanager
def postgres_database() -> Iterator[str]:
    r"""The URL of a new database on ``EMONEV_TEST_POSTGRES_URL``'s cluster, :func:`prepare`\ d, dropped
    afterwards."""
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("needs PostgreSQL: set EMONEV_TEST_POSTGRES_URL")
    name = f"emonev_fault_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    try:
        prepare(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def psycopg_url(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for a plain psycopg connection of the test's own."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def log_in(client: httpx.Client, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
