"""Uploading template versions through the API, and reading one back as a tree for forms."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, TemplateVersion
from tests.factories import MINI_TEMPLATE, World, get_json, problem

API = "/api/v1"
MINI = MINI_TEMPLATE.read_text(encoding="utf-8")
UPLOADED = MINI.replace("key: test-mini", "key: test-upload")
YAML = {"Content-Type": "text/yaml"}


def _versions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TemplateVersion)) or 0)


def test_an_admin_uploads_a_new_version_as_yaml(client: TestClient, world: World, session: Session) -> None:
    response = client.post(
        f"{API}/templates", content=UPLOADED.encode(), headers=world.token(world.admin) | YAML
    )
    assert response.status_code == 201, response.text
    assert (response.json()["key"], response.json()["version"], response.json()["question_count"]) == (
        "test-upload",
        "1",
        5,
    )
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "template.import")).all()
    assert audit[-1].actor_id == world.admin.id


def test_a_multipart_upload_works_too(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/templates",
        files={"file": ("test-upload.yaml", UPLOADED.encode(), "application/octet-stream")},
        headers=world.token(world.system_admin),
    )
    assert response.status_code == 201, response.text


def test_the_same_content_again_is_200_and_changes_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    before = _versions(session)
    response = client.post(f"{API}/templates", content=MINI.encode(), headers=world.token(world.admin) | YAML)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == world.template.id
    assert _versions(session) == before


def test_a_version_reused_with_other_content_is_a_conflict(client: TestClient, world: World) -> None:
    changed = MINI.replace("title: SAQ uji - mini", "title: SAQ uji - diubah")
    response = client.post(
        f"{API}/templates", content=changed.encode(), headers=world.token(world.admin) | YAML
    )
    assert response.status_code == 409
    assert problem(response)["errors"][0]["field"] == "version"


def test_an_invalid_template_lists_every_problem_with_its_path(
    client: TestClient, world: World, session: Session
) -> None:
    broken = UPLOADED.replace("weight: 60", "weight: 55").replace("type: number", "type: angka")
    before = _versions(session)
    response = client.post(
        f"{API}/templates", content=broken.encode(), headers=world.token(world.admin) | YAML
    )
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["aspects", "aspects[1].items[1].type"]
    assert _versions(session) == before


def test_yaml_that_does_not_parse_is_a_422(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/templates", content=b"key: [unclosed\n", headers=world.token(world.admin) | YAML
    )
    assert response.status_code == 422
    problem(response)


def test_json_is_not_a_template_upload(client: TestClient, world: World) -> None:
    response = client.post(f"{API}/templates", json={"key": "x"}, headers=world.token(world.admin))
    assert response.status_code == 415


def test_operators_and_verifiers_cannot_upload(client: TestClient, world: World) -> None:
    for account in (world.operator, world.verifier, world.panelist):
        response = client.post(
            f"{API}/templates", content=UPLOADED.encode(), headers=world.token(account) | YAML
        )
        assert response.status_code == 403
    assert client.post(f"{API}/templates", content=UPLOADED.encode(), headers=YAML).status_code == 401


def test_a_version_reads_back_as_a_tree_for_forms(client: TestClient, world: World) -> None:
    detail = get_json(client, f"{API}/templates/test-mini/1", world.token(world.operator))
    assert detail["key"] == "test-mini"
    assert [a["code"] for a in detail["aspects"]] == ["1", "2"]
    first = detail["aspects"][0]["items"][0]["items"][0]
    assert (first["code"], first["type"], first["weight"], first["evidence"]) == (
        "1.1.1",
        "yes_no",
        "2",
        "required",
    )
    second_aspect = detail["aspects"][1]["items"]
    assert second_aspect[0]["weight"] == "1"  # the default weight is filled in
    assert detail["bands"][0]["code"] == "informatif"


def test_an_unknown_version_is_a_404(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/templates/test-mini/99", headers=world.token(world.admin))
    assert response.status_code == 404
    problem(response)
