"""Concurrent duplicate creations against a real ``emonev serve`` (uvicorn, its own pool) on PostgreSQL: the
requests check at the same moment, the database's unique indexes decide. Exactly one 201, every other
request a 409 problem+json naming the field (never a 500), exactly one row stored."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from app.db.session import make_sessionmaker
from tests.conftest import POSTGRES_URL, _drop_database, _own_database, migrate
from tests.factories import World
from tests.processes import LiveServer, serve
from tests.races import all_at_once, assert_one_created

API = "/api/v1"
REQUESTS = 12


@dataclass
class Service:
    server: LiveServer
    engine: Engine
    admin: dict[str, str]
    system_admin: dict[str, str]
    commission_id: int

    def post(self, path: str, payload: dict[str, object], *, system: bool = False) -> httpx.Response:
        headers = self.system_admin if system else self.admin
        return httpx.post(f"{self.server.url}{API}{path}", json=payload, headers=headers, timeout=30)

    def count(self, sql: str) -> int:
        with self.engine.connect() as connection:
            found: int = connection.execute(text(sql)).scalar_one()
            return found


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``emonev serve`` on a fresh database of the local PostgreSQL, migrated, with a commission (category
    ``kelurahan``), its administrator and a system administrator."""
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("needs PostgreSQL: set EMONEV_TEST_POSTGRES_URL")
    name = f"emonev_faults_{uuid.uuid4().hex}"
    url = _own_database(POSTGRES_URL, name)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            migrate(connection)
        with make_sessionmaker(engine).begin() as session:
            world = World(session)
            tokens = world.token(world.admin), world.token(world.system_admin)
            commission_id = world.commission.id
        settings = {"EMONEV_ENVIRONMENT": "test", "EMONEV_DEMO_DATA": "false"}
        with serve(tmp_path_factory.mktemp("races"), settings, prepare=[], database_url=url) as server:
            yield Service(server, engine, *tokens, commission_id)
            assert "Traceback" not in server.log.read_text()
    finally:
        engine.dispose()
        _drop_database(POSTGRES_URL, name)


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(
            ["Kelurahan Gambir", "kelurahan gambir", "KELURAHAN GAMBIR"] * (REQUESTS // 3), id="case"
        ),
        pytest.param(["Kelurahan Menteng"] * REQUESTS, id="exact"),
    ],
)
def test_concurrent_registrations_of_one_body_name(service: Service, names: list[str]) -> None:
    responses = all_at_once(
        lambda name: service.post(
            f"/commissions/{service.commission_id}/bodies", {"name": name, "category": "kelurahan"}
        ),
        names,
    )

    created = assert_one_created(responses, "name")
    assert created["name"] in names
    stored = f"SELECT count(*) FROM public_body WHERE lower(name) = '{names[0].lower()}'"
    assert service.count(stored) == 1


def test_concurrent_categories_with_one_code(service: Service) -> None:
    responses = all_at_once(
        lambda n: service.post(
            f"/commissions/{service.commission_id}/categories",
            {"code": "kecamatan", "name": f"Kecamatan {n}"},
        ),
        range(REQUESTS),
    )

    assert_one_created(responses, "code")
    assert service.count("SELECT count(*) FROM body_category WHERE code = 'kecamatan'") == 1


def test_concurrent_commissions_with_one_code(service: Service) -> None:
    responses = all_at_once(
        lambda n: service.post(
            "/commissions",
            {"code": "ki-jatim", "name": f"KI Jawa Timur {n}", "timezone": "Asia/Jakarta"},
            system=True,
        ),
        range(REQUESTS),
    )

    assert_one_created(responses, "code")
    assert service.count("SELECT count(*) FROM commission WHERE code = 'ki-jatim'") == 1
