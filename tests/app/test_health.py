"""/healthz is liveness only; /readyz checks the database, its migrations and the evidence directory."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.db.migrate import upgrade
from app.main import create_app
from app.settings import Settings


def readiness(
    tmp_path: Path, *, migrated: bool, evidence_dir: Path
) -> tuple[int, dict[str, dict[str, object]]]:
    url = f"sqlite:///{tmp_path / 'ready.sqlite3'}"
    if migrated:
        upgrade(url)
    settings = Settings(environment="test", database_url=url, evidence_dir=evidence_dir, demo_data=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
    return answer.status_code, answer.json()["checks"]


def test_ready_when_migrated_and_the_evidence_directory_takes_files(tmp_path: Path) -> None:
    status, checks = readiness(tmp_path, migrated=True, evidence_dir=tmp_path / "evidence")
    assert status == 200
    assert all(check["ok"] for check in checks.values()), checks
    assert list((tmp_path / "evidence" / "tmp").iterdir()) == []  # the probe file is gone, and stood in tmp/


def test_not_ready_before_the_migrations(tmp_path: Path) -> None:
    status, checks = readiness(tmp_path, migrated=False, evidence_dir=tmp_path / "evidence")
    assert status == 503
    assert checks["database"]["ok"] is True
    assert checks["migrations"]["ok"] is False
    assert "emonev db upgrade" in str(checks["migrations"]["detail"])


def test_not_ready_when_the_evidence_directory_cannot_take_files(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the evidence directory should be")
    status, checks = readiness(tmp_path, migrated=True, evidence_dir=blocker)
    assert status == 503
    assert checks["evidence_dir"]["ok"] is False
    assert checks["database"]["ok"] is True
