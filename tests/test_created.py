"""Every operation that creates something answers ``201 Created`` with a ``Location`` a client can follow.

``Location`` is the path of the new resource's GET (or of the list that shows it, where it has no GET of its
own); an operation that finds the resource already there answers 200 without one (``app/created.py``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.models import VerifierAssignment
from app.main import create_app
from app.settings import Settings
from tests.conftest import ROOT
from tests.factories import (
    MINI_TEMPLATE,
    World,
    make_stage,
    make_submission,
    make_verified_submission,
    now,
    tiny_pdf,
)

API = "/api/v1"

# Every operation that creates, as the OpenAPI document names it.
CREATING = (
    ("post", "/api/v1/commissions"),
    ("post", "/api/v1/commissions/{commission_id}/categories"),
    ("post", "/api/v1/commissions/{commission_id}/bodies"),
    ("post", "/api/v1/commissions/{commission_id}/bodies/import"),
    ("post", "/api/v1/commissions/{commission_id}/bodies/import.xlsx"),
    ("post", "/api/v1/accounts"),
    ("post", "/api/v1/api-keys"),
    ("post", "/api/v1/templates"),
    ("post", "/api/v1/commissions/{commission_id}/rounds"),
    ("post", "/api/v1/rounds/{round_id}/invitations"),
    ("post", "/api/v1/rounds/{round_id}/extensions"),
    ("post", "/api/v1/rounds/{round_id}/assignments/spread"),
    ("post", "/api/v1/rounds/{round_id}/submissions"),
    ("post", "/api/v1/submissions/{submission_id}/answers/{code}/files"),
    ("post", "/api/v1/submissions/{submission_id}/verification"),
    ("post", "/api/v1/submissions/{submission_id}/objections"),
    ("put", "/api/v1/stages/{stage_id}/scores/{body_id}"),
    ("post", "/api/v1/rounds/{round_id}/publish"),
    ("post", "/api/v1/commissions/{commission_id}/webhooks"),
)
# Operations that create only sometimes answer 200 by default: a dry run of an import creates nothing.
DEFAULT_200 = {
    "/api/v1/commissions/{commission_id}/bodies/import",
    "/api/v1/commissions/{commission_id}/bodies/import.xlsx",
}


def created(response: Any, path: str) -> str:
    """Assert a 201 whose Location is ``path``."""
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == path
    return path


def follow(client: TestClient, location: str, headers: dict[str, str]) -> Any:
    response = client.get(location, headers=headers)
    assert response.status_code == 200, response.text
    return response


def not_created(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert "Location" not in response.headers


@pytest.fixture(scope="module")
def openapi_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The served OpenAPI document's paths, read once: it is the same on every database (no test of it needs
    one), and building it takes a second."""
    root = tmp_path_factory.mktemp("openapi")
    settings = Settings(
        environment="test",
        database_url="sqlite://",
        evidence_dir=root / "evidence",
        job_files_dir=root / "job-files",
        questionnaires_dir=ROOT / "questionnaires",
        demo_data=False,
    )
    with TestClient(create_app(settings)) as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200
    paths: dict[str, Any] = answer.json()["paths"]
    return paths


@pytest.mark.parametrize(("method", "path"), CREATING)
def test_the_openapi_document_says_201_with_location(
    openapi_paths: dict[str, Any], method: str, path: str
) -> None:
    operation = openapi_paths[path][method]
    answer = operation["responses"]["201"]
    assert "Location" in answer["headers"]
    if path not in DEFAULT_200:
        assert next(iter(operation["responses"])) == "201"  # the route's own status code


def test_every_201_in_the_openapi_document_names_its_location(openapi_paths: dict[str, Any]) -> None:
    paths = openapi_paths
    with_201 = {
        (method, path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "201" in operation["responses"]
    }
    assert with_201 == set(CREATING)


def test_a_commission_its_category_and_a_body(client: TestClient, world: World) -> None:
    root = world.token(world.system_admin)
    response = client.post(
        f"{API}/commissions",
        json={"code": "ki-jabar", "name": "Komisi Informasi Provinsi Jawa Barat", "timezone": "Asia/Jakarta"},
        headers=root,
    )
    commission = response.json()["id"]
    assert (
        follow(client, created(response, f"{API}/commissions/{commission}"), root).json()["code"]
        == "ki-jabar"
    )

    admin = world.token(world.admin)
    cid = world.commission.id
    response = client.post(
        f"{API}/commissions/{cid}/categories", json={"code": "dinas", "name": "Dinas"}, headers=admin
    )
    listed = follow(client, created(response, f"{API}/commissions/{cid}/categories"), admin).json()["items"]
    assert "dinas" in [c["code"] for c in listed]

    response = client.post(
        f"{API}/commissions/{cid}/bodies",
        json={"name": "Kelurahan Petojo Utara", "category": "kelurahan", "region_code": "31.71.01.1005"},
        headers=admin,
    )
    body = response.json()["id"]
    assert (
        follow(client, created(response, f"{API}/bodies/{body}"), admin).json()["name"]
        == "Kelurahan Petojo Utara"
    )


def test_a_body_import_is_201_only_when_it_writes(client: TestClient, world: World) -> None:
    admin = world.token(world.admin)
    cid = world.commission.id
    csv = "name,category,region_code,parent,ppid_email\nKelurahan Duri Pulo,kelurahan,31.71.01.1004,,\n"
    url = f"{API}/commissions/{cid}/bodies/import"
    headers = admin | {"Content-Type": "text/csv"}
    not_created(client.post(url, content=csv, headers=headers))
    response = client.post(f"{url}?dry_run=false", content=csv, headers=headers)
    listed = follow(client, created(response, f"{API}/commissions/{cid}/bodies"), admin).json()["items"]
    assert "Kelurahan Duri Pulo" in [b["name"] for b in listed]


def test_an_account_and_an_api_key(client: TestClient, world: World) -> None:
    admin = world.token(world.admin)
    response = client.post(
        f"{API}/accounts",
        json={
            "email": "verifikator.baru@ki.example.go.id",
            "name": "Verifikator Baru",
            "role": "verifier",
            "password": "kata-sandi-panjang",
            "commission_id": world.commission.id,
        },
        headers=admin,
    )
    account = response.json()["id"]
    location = created(response, f"{API}/accounts/{account}")
    assert follow(client, location, admin).json()["email"] == "verifikator.baru@ki.example.go.id"

    response = client.post(
        f"{API}/api-keys", json={"name": "Dasbor provinsi", "scope": "read"}, headers=admin
    )
    key = response.json()["id"]
    assert key in [
        k["id"] for k in follow(client, created(response, f"{API}/api-keys"), admin).json()["items"]
    ]


def test_a_template_version_and_the_same_one_again(client: TestClient, world: World) -> None:
    admin = world.token(world.admin)
    text = MINI_TEMPLATE.read_text(encoding="utf-8").replace("key: test-mini", "key: test-created")
    headers = admin | {"Content-Type": "text/yaml"}
    response = client.post(f"{API}/templates", content=text.encode(), headers=headers)
    version = response.json()["version"]
    location = created(response, f"{API}/templates/test-created/{version}")
    assert follow(client, location, admin).json()["key"] == "test-created"
    not_created(client.post(f"{API}/templates", content=text.encode(), headers=headers))


def test_a_round_its_invitations_and_an_extension(client: TestClient, world: World, session: Session) -> None:
    admin = world.token(world.admin)
    response = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json={
            "year": 2026,
            "title": "Monev KIP 2026",
            "saq_opens_at": "2026-07-01T00:00:00+07:00",
            "saq_closes_at": "2026-08-31T23:59:00+07:00",
        },
        headers=admin,
    )
    round_id = response.json()["id"]
    assert follow(client, created(response, f"{API}/rounds/{round_id}"), admin).json()["status"] == "draft"

    invitations = f"{API}/rounds/{round_id}/invitations"
    response = client.post(invitations, json={"body_ids": [world.body.id]}, headers=admin)
    assert world.body.id in [
        i["body_id"] for i in follow(client, created(response, invitations), admin).json()["items"]
    ]
    not_created(client.post(invitations, json={"body_ids": [world.body.id]}, headers=admin))

    extensions = f"{API}/rounds/{world.round.id}/extensions"
    response = client.post(
        extensions,
        json={
            "closes_at": (world.round.saq_closes_at + timedelta(days=3)).isoformat(),
            "scope": "round",
            "reason": "Keputusan pleno: gangguan jaringan",
        },
        headers=admin,
    )
    extension = response.json()["id"]
    assert extension in [
        e["id"] for e in follow(client, created(response, extensions), admin).json()["items"]
    ]


def test_a_submission_opened_and_an_evidence_file(client: TestClient, world: World) -> None:
    operator = world.token(world.operator)
    response = client.post(f"{API}/rounds/{world.round.id}/submissions", headers=operator)
    submission = response.json()["id"]
    assert (
        follow(client, created(response, f"{API}/submissions/{submission}"), operator).json()["id"]
        == submission
    )
    not_created(client.post(f"{API}/rounds/{world.round.id}/submissions", headers=operator))

    pdf = tiny_pdf()
    response = client.post(
        f"{API}/submissions/{submission}/answers/1.1.1/files",
        files={"file": ("sk-ppid.pdf", pdf, "application/pdf")},
        headers=operator,
    )
    file_id = response.json()["id"]
    assert follow(client, created(response, f"{API}/evidence/{file_id}"), operator).content == pdf


def test_assignments_spread_and_a_verification_started(
    client: TestClient, world: World, session: Session
) -> None:
    submission = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    admin = world.token(world.admin)
    spread = f"{API}/rounds/{world.round.id}/assignments/spread"
    payload = {"category_code": "kelurahan", "verifier_ids": [world.verifier.id]}
    response = client.post(spread, json=payload, headers=admin)
    assigned = follow(client, created(response, f"{API}/rounds/{world.round.id}/assignments"), admin).json()[
        "items"
    ]
    assert world.body.id in [a["body_id"] for a in assigned]
    not_created(client.post(spread, json=payload, headers=admin))

    verifier = world.token(world.verifier)
    url = f"{API}/submissions/{submission.id}/verification"
    response = client.post(url, headers=verifier)
    assert follow(client, created(response, url), verifier).json()["status"] == "in_progress"
    not_created(client.post(url, headers=verifier))


def test_an_objection(client: TestClient, world: World, session: Session) -> None:
    submission = make_verified_submission(
        session, world.round, world.body, world.template, world.verifier, {"2.2": 60}
    )
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    world.round.results_released_at = now() - timedelta(hours=2)
    world.round.objection_opens_at = now() - timedelta(hours=1)
    world.round.objection_closes_at = now() + timedelta(days=3)
    session.flush()
    operator = world.token(world.operator)
    url = f"{API}/submissions/{submission.id}/objections"
    response = client.post(
        url,
        json={"question_code": "2.2", "explanation": "Laporan layanan kami 95% tepat waktu"},
        headers=operator,
    )
    objection = response.json()["id"]
    assert objection in [o["id"] for o in follow(client, created(response, url), operator).json()]


def test_a_judges_first_score_and_a_publication(client: TestClient, world: World, session: Session) -> None:
    round_ = world.round
    round_.status = "stages"
    round_.saq_weight = Decimal(70)
    stage = make_stage(session, round_, code="presentasi", weight=30)
    make_verified_submission(session, round_, world.body, world.template, world.verifier)
    session.flush()
    judge = world.token(world.panelist)
    url = f"{API}/stages/{stage.id}/scores/{world.body.id}"
    response = client.put(url, json={"score": "85"}, headers=judge)
    scores = follow(client, created(response, f"{API}/stages/{stage.id}/scores"), judge).json()["items"]
    assert [s["body_id"] for s in scores] == [world.body.id]
    not_created(client.put(url, json={"score": "86"}, headers=judge))

    round_.status = "final"
    session.flush()
    admin = world.token(world.admin)
    response = client.post(
        f"{API}/rounds/{round_.id}/publish", json={"reason": "Keputusan pleno 3/2025"}, headers=admin
    )
    revisions = follow(client, created(response, f"{API}/rounds/{round_.id}/publications"), admin).json()[
        "items"
    ]
    assert [(r["revision"], r["reason"]) for r in revisions] == [(1, "Keputusan pleno 3/2025")]
