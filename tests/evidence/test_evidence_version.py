"""A change to a submission's evidence (an upload, a removal) is a change of the submission: its version and
ETag move on, so a client still holding the old ETag gets 412 on its next save; If-Match compares strongly."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import EvidenceFile
from tests.factories import World, problem, tiny_pdf
from tests.submissions.helpers import open_submission, put_answers, snapshot


@pytest.fixture
def sub(client: TestClient, world: World) -> dict[str, Any]:
    return open_submission(client, world)


@pytest.fixture
def op(world: World) -> dict[str, str]:
    return world.token(world.operator)


def upload(client: TestClient, sub_id: int, headers: dict[str, str], name: str = "sk-ppid.pdf") -> Any:
    return client.post(
        f"/api/v1/submissions/{sub_id}/answers/1.1.1/files",
        headers=headers,
        files={"file": (name, tiny_pdf(name), "application/pdf")},
    )


def etag_of(client: TestClient, sub_id: int, headers: dict[str, str]) -> str:
    response = client.get(f"/api/v1/submissions/{sub_id}", headers=headers)
    assert response.status_code == 200
    return response.headers["ETag"]


def files_of(session: Session, sub_id: int) -> int:
    session.expire_all()
    return (
        session.scalar(
            select(func.count(EvidenceFile.id)).where(
                EvidenceFile.submission_id == sub_id, EvidenceFile.removed_at.is_(None)
            )
        )
        or 0
    )


def test_an_upload_moves_the_etag_so_a_save_on_the_old_one_is_412(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    assert etag_of(client, sub["id"], op) == '"1"'

    uploaded = upload(client, sub["id"], op)

    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["submission_version"] == 2
    assert etag_of(client, sub["id"], op) == '"2"'
    stale = put_answers(client, sub["id"], op, {"2.3": {"value": "x"}}, 1)
    assert stale.status_code == 412
    assert problem(stale)["current_version"] == 2
    assert put_answers(client, sub["id"], op, {"2.3": {"value": "x"}}, 2).status_code == 200


def test_a_removal_moves_the_etag_too(client: TestClient, sub: dict[str, Any], op: dict[str, str]) -> None:
    meta = upload(client, sub["id"], op).json()

    assert client.delete(meta["url"], headers=op).status_code == 204

    assert etag_of(client, sub["id"], op) == '"3"'
    assert put_answers(client, sub["id"], op, {"2.3": {"value": "x"}}, 2).status_code == 412


def test_an_upload_with_a_stale_if_match_is_412_and_stores_nothing(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    put_answers(client, sub["id"], op, {"2.3": {"value": "x"}}, 1)
    before = snapshot(session, sub["id"])

    response = upload(client, sub["id"], op | {"If-Match": '"1"'})

    assert response.status_code == 412
    assert problem(response)["current_version"] == 2
    assert snapshot(session, sub["id"]) == before
    assert upload(client, sub["id"], op | {"If-Match": '"2"'}).status_code == 201


@pytest.mark.parametrize("tag", ['W/"1"', '"9"'])
def test_a_removal_with_a_weak_or_stale_if_match_is_412_and_keeps_the_file(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, tag: str
) -> None:
    meta = upload(client, sub["id"], op).json()

    response = client.delete(meta["url"], headers=op | {"If-Match": tag})

    assert response.status_code == 412
    problem(response)
    assert files_of(session, sub["id"]) == 1
    assert client.delete(meta["url"], headers=op | {"If-Match": '"2"'}).status_code == 204


def test_a_weak_if_match_on_an_upload_is_412(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    response = upload(client, sub["id"], op | {"If-Match": 'W/"1"'})

    assert response.status_code == 412
    assert problem(response)["errors"] == [
        {"field": "header:If-Match", "message": "a weak ETag never matches"}
    ]
    assert files_of(session, sub["id"]) == 0
