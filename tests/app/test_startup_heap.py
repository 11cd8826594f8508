"""A served app moves what it built at start-up out of the garbage collector's sight; tests' apps do not."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _start(environment: str, tmp_path: Path) -> int:
    settings = Settings(
        environment=environment,  # type: ignore[arg-type]
        database_url="sqlite://",
        evidence_dir=tmp_path,
        demo_data=False,
        secret_key="a real secret for this test",
    )
    app = create_app(settings, session_factory=sessionmaker(class_=Session))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        return gc.get_freeze_count()


@pytest.mark.parametrize("environment", ["development", "production"])
def test_a_served_app_freezes_its_start_up_objects(environment: str, tmp_path: Path, unfrozen: None) -> None:
    assert _start(environment, tmp_path) > 10_000


def test_a_test_app_leaves_the_collector_alone(tmp_path: Path, unfrozen: None) -> None:
    assert _start("test", tmp_path) == 0
