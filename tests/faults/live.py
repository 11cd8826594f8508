"""What the fault tests share: a PostgreSQL database of the test's own on the local cluster, the settings of a
served demo, and logging in over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.demo.world import COMMISSION_ADMIN_EMAIL, DEMO_PASSWORD, operator_email

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
DEMO = {
    "EMONEV_ENVIRONMENT": "development",
    "EMONEV_DEMO_DATA": "true",
    "EMONEV_SECRET_KEY": "kunci-rahasia-uji-gangguan",
}


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a new, empty database on ``EMONEV_TEST_POSTGRES_URL``'s cluster, dropped afterwards."""
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("needs PostgreSQL: set EMONEV_TEST_POSTGRES_URL")
    name = f"emonev_fault_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
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
