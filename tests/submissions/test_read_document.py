"""The GET of a submission is written straight to JSON (service.read_json) for speed: it must be the very
document the schema path (service.detail, as opening and reopening return it) gives, in every state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from app.db.models import Answer, DeadlineExtension, Round
from app.db.session import get_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from app.submissions import service
from tests.conftest import BACKENDS, ROOT, migrated_database
from tests.factories import World, get_json, now
from tests.submissions.helpers import FULL_ANSWERS, open_submission, put_answers

PDF = b"%PDF-1.4\n" + b"0" * 200 + b"\n%%EOF\n"


def _schema_document(session: Session, submission_id: int) -> dict[str, Any]:
    ctx = service._load(session, submission_id)
    return service.detail(session, ctx).model_dump(mode="json")


def _upload(client: TestClient, sub_id: int, headers: dict[str, str], code: str, name: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/submissions/{sub_id}/answers/{code}/files",
        headers=headers,
        files={"file": (name, PDF + name.encode(), "application/pdf")},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_full_saq_with_files_notes_and_an_extension_reads_as_the_schema_gives_it(
    client: TestClient, world: World, session: Session
) -> None:
    op = world.token(world.operator)
    sub = open_submission(client, world)
    answers = {**FULL_ANSWERS, "1.1.2": {"value": "b", "note": 'catatan: "kutip" & <tag> \u00e9'}}
    del answers["2.3"]
    saved = put_answers(client, sub["id"], op, answers, 1)
    assert saved.status_code == 200, saved.text
    kept = _upload(client, sub["id"], op, "1.1.1", "dip-2024.pdf")
    _upload(client, sub["id"], op, "1.1.1", "dip-2025.pdf")
    removed = _upload(client, sub["id"], op, "1.1.1", "salah.pdf")
    assert client.delete(removed["url"], headers=op).status_code == 204
    _upload(client, sub["id"], op, "2.3", "tanpa-jawaban.pdf")  # a file on a question with no answer yet
    session.add(
        DeadlineExtension(
            round_id=world.round.id,
            closes_at=now() + timedelta(days=30),
            scope="bodies",
            body_ids=[world.body.id],
            reason="pleno",
        )
    )
    # An instant on the second: written without a fraction, as the schema writes it.
    session.execute(
        update(Answer)
        .where(Answer.submission_id == sub["id"], Answer.question_code == "2.1")
        .values(updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    )
    session.flush()

    response = client.get(f"/api/v1/submissions/{sub['id']}", headers=op)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document == _schema_document(session, sub["id"])
    assert response.headers["ETag"] == f'"{document["version"]}"'
    files = document["answers"]["1.1.1"]["files"]
    assert [f["name"] for f in files] == ["dip-2024.pdf", "dip-2025.pdf"]  # upload order, removed left out
    assert files[0]["id"] == kept["id"]
    assert document["answers"]["1.1.2"]["note"] == answers["1.1.2"]["note"]
    assert document["answers"]["2.3"]["value"] is None
    assert len(document["answers"]["2.3"]["files"]) == 1
    assert document["closes_at"].endswith("Z")
    assert document["updated_at"].endswith("Z")
    assert document["answers"]["2.1"]["updated_at"] == "2026-01-02T03:04:05Z"


def test_every_reader_gets_the_same_document(client: TestClient, world: World, session: Session) -> None:
    sub = open_submission(client, world)
    assert put_answers(client, sub["id"], world.token(world.operator), FULL_ANSWERS, 1).status_code == 200
    expected = _schema_document(session, sub["id"])
    for reader in (world.operator, world.admin, world.panelist, world.system_admin):
        assert get_json(client, f"/api/v1/submissions/{sub['id']}", world.token(reader)) == expected


def test_an_empty_draft_reads_as_the_schema_gives_it(
    client: TestClient, world: World, session: Session
) -> None:
    sub = open_submission(client, world)
    document = get_json(client, f"/api/v1/submissions/{sub['id']}", world.token(world.operator))
    assert document == _schema_document(session, sub["id"]) == {**sub, "answers": {}}


def test_a_draft_past_its_deadline_is_settled_when_read(
    client: TestClient, world: World, session: Session
) -> None:
    """A round submitting drafts at the deadline: reading a due draft submits it first (the general path)."""
    sub = open_submission(client, world)
    assert put_answers(client, sub["id"], world.token(world.operator), FULL_ANSWERS, 1).status_code == 200
    round_ = session.get_one(Round, world.round.id)
    round_.drafts_at_deadline = "submit"
    round_.saq_closes_at = now() - timedelta(minutes=1)
    round_.status = "closed"
    session.flush()

    response = client.get(f"/api/v1/submissions/{sub['id']}", headers=world.token(world.admin))

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["status"] == "submitted"
    assert document == _schema_document(session, sub["id"])
    assert response.headers["ETag"] == f'"{document["version"]}"'


def test_unknown_and_forbidden_reads_are_problems(client: TestClient, world: World) -> None:
    sub = open_submission(client, world)
    missing = client.get("/api/v1/submissions/999999", headers=world.token(world.operator))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    other = client.get(f"/api/v1/submissions/{sub['id']}", headers=world.token(world.other_operator))
    assert other.status_code == 403
    anonymous = client.get(f"/api/v1/submissions/{sub['id']}")
    assert anonymous.status_code == 401


# --- A real engine: the app's own pool and connections, committing (PostgreSQL reads without a transaction)


@pytest.fixture(params=BACKENDS)
def committed(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient, Engine, World, dict[str, str], dict[str, str]]]:
    with migrated_database(request.param, tmp_path, f"emonev_read_{uuid.uuid4().hex}") as (engine, url):
        with make_sessionmaker(engine).begin() as session:
            world = World(session)
            op, admin = world.token(world.operator), world.token(world.admin)
        settings = Settings(
            environment="test",
            database_url=url,
            evidence_dir=tmp_path / "evidence",
            questionnaires_dir=ROOT / "questionnaires",
            demo_data=False,
        )
        try:
            with TestClient(create_app(settings)) as client:
                yield client, engine, world, op, admin
        finally:
            get_engine(url).dispose()


def test_on_a_real_engine_reads_match_and_a_due_draft_is_settled_for_good(
    committed: tuple[TestClient, Engine, World, dict[str, str], dict[str, str]],
) -> None:
    client, engine, world, op, admin = committed
    sub = open_submission(client, world, op)
    assert put_answers(client, sub["id"], op, FULL_ANSWERS, 1).status_code == 200
    url = f"/api/v1/submissions/{sub['id']}"
    assert get_json(client, url, op) == _committed_document(engine, sub["id"])
    with Session(engine) as session:
        session.execute(
            update(Round)
            .where(Round.id == world.round.id)
            .values(drafts_at_deadline="submit", saq_closes_at=now() - timedelta(minutes=1), status="closed")
        )
        session.commit()

    document = get_json(client, url, admin)

    assert document["status"] == "submitted"
    assert document == _committed_document(engine, sub["id"])  # stored, not only shown
    assert get_json(client, url, admin) == document


def _committed_document(engine: Engine, submission_id: int) -> dict[str, Any]:
    with Session(engine) as session:
        return _schema_document(session, submission_id)
