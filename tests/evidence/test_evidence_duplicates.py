"""The same file uploaded again to the same question is not stored twice: the answer is 200 with the file
already there, nothing changes (not the version, not the audit trail), also when the uploads race. A stored
file is on the disk (its content and its directory flushed) before the upload is answered."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, EvidenceFile
from app.db.session import make_sessionmaker
from app.evidence.storage import blob_path
from app.main import create_app
from app.settings import Settings
from tests.conftest import migrated_database
from tests.factories import World, get_json, tiny_pdf
from tests.submissions.helpers import open_submission
from tests.web.conftest import Pages


@pytest.fixture
def sub(client: TestClient, world: World) -> dict[str, Any]:
    return open_submission(client, world)


@pytest.fixture
def op(world: World) -> dict[str, str]:
    return world.token(world.operator)


def upload(
    client: TestClient, sub_id: int, headers: dict[str, str], content: bytes, *, code: str = "1.1.1"
) -> Any:
    return client.post(
        f"/api/v1/submissions/{sub_id}/answers/{code}/files",
        headers=headers,
        files={"file": ("sk-ppid.pdf", content, "application/pdf")},
    )


def live_files(session: Session, sub_id: int) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.execute(
        select(EvidenceFile.question_code, EvidenceFile.sha256)
        .where(EvidenceFile.submission_id == sub_id, EvidenceFile.removed_at.is_(None))
        .order_by(EvidenceFile.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def uploads_audited(session: Session) -> int:
    return (
        session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "evidence.upload")) or 0
    )


def test_the_same_file_again_on_the_same_question_is_200_with_the_stored_file(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    pdf = tiny_pdf("SK PPID 2024")
    first = upload(client, sub["id"], op, pdf)
    assert first.status_code == 201, first.text

    again = upload(client, sub["id"], op, pdf)

    assert again.status_code == 200, again.text
    assert again.json() | {"submission_version": None} == first.json() | {"submission_version": None}
    assert again.json()["submission_version"] == first.json()["submission_version"] == 2
    assert again.headers["location"].endswith(first.json()["url"])
    assert live_files(session, sub["id"]) == [("1.1.1", first.json()["sha256"])]
    assert uploads_audited(session) == 1
    etag = client.get(f"/api/v1/submissions/{sub['id']}", headers=op).headers["etag"]
    assert etag == '"2"'


def test_a_retry_with_the_if_match_of_before_the_first_upload_gets_the_file(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    pdf = tiny_pdf("SK PPID 2024")
    first = upload(client, sub["id"], op | {"If-Match": '"1"'}, pdf)
    assert first.status_code == 201

    retried = upload(client, sub["id"], op | {"If-Match": '"1"'}, pdf)

    assert retried.status_code == 200
    assert retried.json()["id"] == first.json()["id"]


def test_the_same_file_on_another_question_or_after_its_removal_is_stored_again(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    pdf = tiny_pdf("SK PPID 2024")
    first = upload(client, sub["id"], op, pdf).json()

    other_question = upload(client, sub["id"], op, pdf, code="1.1.2")
    assert client.delete(first["url"], headers=op).status_code == 204
    after_removal = upload(client, sub["id"], op, pdf)

    assert (other_question.status_code, after_removal.status_code) == (201, 201)
    assert after_removal.json()["id"] != first["id"]
    assert sorted(live_files(session, sub["id"])) == [("1.1.1", first["sha256"]), ("1.1.2", first["sha256"])]


def test_a_different_file_on_the_same_question_is_stored(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    assert upload(client, sub["id"], op, tiny_pdf("satu")).status_code == 201
    assert upload(client, sub["id"], op, tiny_pdf("dua")).status_code == 201
    assert len(live_files(session, sub["id"])) == 2


def test_the_page_upload_answers_200_for_the_same_file(
    client: TestClient, sub: dict[str, Any], world: World, session: Session
) -> None:
    pages = Pages(client).login(world.operator)
    url = f"/web/pengisian/{sub['id']}/berkas/1.1.1"
    pdf = tiny_pdf("SK PPID 2024")

    def send() -> Any:
        return client.post(
            url, headers={"X-CSRF-Token": pages.csrf}, files={"file": ("sk.pdf", pdf, "application/pdf")}
        )

    first, again = send(), send()

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["file"]["id"] == first.json()["file"]["id"]
    assert again.json()["version"] == first.json()["version"]
    assert len(live_files(session, sub["id"])) == 1


def test_an_upload_is_answered_only_once_the_file_and_its_directory_are_on_the_disk(
    client: TestClient,
    sub: dict[str, Any],
    op: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flushed: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # the real fsync, noting what it flushed
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    pdf = tiny_pdf("SK PPID 2024")

    response = upload(client, sub["id"], op, pdf)

    assert response.status_code == 201
    stored = blob_path(settings.evidence_dir, response.json()["sha256"])
    assert stored.read_bytes() == pdf
    assert str(stored.parent) in flushed
    assert str(settings.evidence_dir) in flushed
    assert any(Path(name).parent == settings.evidence_dir / "tmp" for name in flushed)  # the content


# --- Racing uploads of the same file, on a real connection pool ------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def pooled_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_database(request.param, tmp_path, f"emonev_evidence_race_{os.getpid()}") as (engine, _url):
        yield engine


def test_identical_uploads_at_the_same_moment_store_one_file(pooled_engine: Engine, tmp_path: Path) -> None:
    with Session(pooled_engine, expire_on_commit=False) as session:
        world = World(session)
        op = world.token(world.operator)
        session.commit()
        settings = Settings(
            environment="test", database_url="sqlite://", evidence_dir=tmp_path / "evidence", demo_data=False
        )
        app = create_app(settings, session_factory=make_sessionmaker(pooled_engine))
        racers = 6
        start = threading.Barrier(racers)
        statuses: list[int] = []
        pdf = tiny_pdf("SK PPID 2024")
        with TestClient(app) as client:
            sub = open_submission(client, world, op)

            def race() -> None:
                start.wait(timeout=10)
                statuses.append(upload(client, sub["id"], op, pdf).status_code)

            threads = [threading.Thread(target=race) for _ in range(racers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            version = get_json(client, f"/api/v1/submissions/{sub['id']}", op)["version"]

        assert sorted(statuses) == [200] * (racers - 1) + [201]
        assert len(live_files(session, sub["id"])) == 1
        assert version == sub["version"] + 1
