"""Concurrent creations through the app on a real engine (its own pool, its own connections), on SQLite and
on PostgreSQL: exactly one request creates, the others get a 409 naming the field, one row is stored.

On SQLite the writers queue on the database's write lock (BEGIN IMMEDIATE), so the service's own check
decides; on PostgreSQL the requests check at the same moment and the unique index decides."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.db.models import Account, PublicBody, Round
from app.db.session import get_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from tests.conftest import BACKENDS, ROOT, migrated_database
from tests.factories import World
from tests.races import all_at_once, assert_one_created
from tests.web.conftest import Pages

API = "/api/v1"
REQUESTS = 8
PAGE_WORKERS = 4


@dataclass
class Live:
    client: TestClient
    engine: Engine
    admin: dict[str, str]
    admin_account: Account
    commission_id: int
    settings: Settings


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app on a database of its own (migrated; a commission with an administrator), really committing."""
    tmp_path = tmp_path_factory.mktemp("races")
    with ExitStack() as cleanup:
        engine, url = cleanup.enter_context(
            migrated_database(request.param, tmp_path, f"emonev_races_{uuid.uuid4().hex}")
        )
        cleanup.callback(get_engine(url, pool_size=REQUESTS, max_overflow=0).dispose)  # the app's, first
        yield from _live(engine, url, tmp_path)


def _live(engine: Engine, url: str, tmp_path: Path) -> Iterator[Live]:
    with make_sessionmaker(engine).begin() as session:
        world = World(session)
        admin = world.token(world.admin)
        account = world.admin
        commission_id = world.commission.id
    settings = Settings(
        environment="test",
        database_url=url,
        db_pool_size=REQUESTS,
        db_max_overflow=0,
        evidence_dir=tmp_path / "evidence",
        questionnaires_dir=ROOT / "questionnaires",
        demo_data=False,
    )
    with TestClient(create_app(settings)) as client:
        yield Live(
            client=client,
            engine=engine,
            admin=admin,
            admin_account=account,
            commission_id=commission_id,
            settings=settings,
        )


def _stored(live: Live, stmt: object) -> int:
    with Session(live.engine) as session:
        count: int = session.scalar(stmt)  # type: ignore[call-overload]
        return count


def _create_body(live: Live, name: str) -> httpx.Response:
    return live.client.post(
        f"{API}/commissions/{live.commission_id}/bodies",
        json={"name": name, "category": "kelurahan"},
        headers=live.admin,
    )


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(["Kelurahan Gambir", "kelurahan gambir"] * (REQUESTS // 2), id="case"),
        pytest.param(["Kelurahan Menteng"] * REQUESTS, id="exact"),
    ],
)
def test_concurrent_registrations_of_one_name_store_one_body(live: Live, names: list[str]) -> None:
    responses = all_at_once(lambda name: _create_body(live, name), names)

    assert_one_created(responses, "name")
    same = func.lower(PublicBody.name) == names[0].lower()
    assert _stored(live, select(func.count()).select_from(PublicBody).where(same)) == 1


def test_concurrent_accounts_with_one_email_store_one(live: Live) -> None:
    emails = ["PPID@gambir.go.id", "ppid@gambir.go.id"] * 2  # each request hashes a password: few

    responses = all_at_once(
        lambda email: live.client.post(
            f"{API}/accounts",
            json={
                "email": email,
                "name": "PPID Gambir",
                "role": "verifier",
                "password": "rahasia-uji-123",
                "commission_id": live.commission_id,
            },
            headers=live.admin,
        ),
        emails,
    )

    assert_one_created(responses, "email")
    assert (
        _stored(live, select(func.count()).select_from(Account).where(Account.email == "ppid@gambir.go.id"))
        == 1
    )


def test_concurrent_round_forms_with_one_title_create_one_and_show_the_rest_why(live: Live) -> None:
    # A page's POST handler runs its database work on the event loop, so one app serves page forms one at a
    # time: the forms race from apps of their own (as from several uvicorn workers), each in its own thread.
    form = {
        "_form": "baru",
        "_halaman": "/ronde",
        "title": "Monev KIP 2026",
        "year": "2026",
        "saq_opens_at": "2026-08-01T00:00",
        "saq_closes_at": "2026-08-31T23:59",
    }
    with ExitStack() as apps:
        workers = [
            Pages(apps.enter_context(TestClient(create_app(live.settings)))).login(live.admin_account)
            for _ in range(PAGE_WORKERS)
        ]
        for pages in workers:  # each app builds its routes' validators on first use: not during the race
            assert pages.get("/ronde").status_code == 200

        responses = all_at_once(lambda pages: pages.post("/ronde", form, follow_redirects=False), workers)

    assert sorted(r.status_code for r in responses) == [303] + [409] * (PAGE_WORKERS - 1), [
        (r.status_code, r.text[:200]) for r in responses
    ]
    for refused in (r for r in responses if r.status_code == 409):
        assert "<h1>Periode Monev</h1>" in refused.text  # the form's own page, the title's error beside it
        error = re.search(r'<p class="field-error" id="f-baru-title-galat">([^<]*)</p>', refused.text)
        assert error is not None, refused.text
        assert "sudah dipakai periode lain" in error.group(1)
    same = (Round.commission_id == live.commission_id) & (Round.title == "Monev KIP 2026")
    assert _stored(live, select(func.count()).select_from(Round).where(same)) == 1
