"""The OpenAPI document lists every error an operation answers, as problem+json, from the code."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from app.accounts.deps import CurrentPrincipal
from app.contract.problems import PROBLEM_JSON, PROBLEM_REF, Problem, problems
from app.errors import Conflict, StaleVersion, WindowClosed
from app.main import create_app
from app.settings import Settings
from tests.documented_statuses import undocumented

JSON = "application/json"
SETTINGS = Settings(environment="test", database_url="sqlite://", demo_data=False)
SPEC = create_app(SETTINGS).openapi()
OPERATIONS = [(method, path, op) for path, ops in SPEC["paths"].items() for method, op in ops.items()]


def errors_of(operation: dict[str, Any]) -> dict[str, Any]:
    return {status: r for status, r in operation["responses"].items() if int(status) >= 400}


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_every_error_is_problem_json_with_the_problem_schema(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    for status, response in errors_of(operation).items():
        if (path, status) == ("/readyz", "503"):
            assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ReadinessOut")
            continue
        assert response["content"] == {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}, status
        assert response["description"], status


def test_fastapis_own_validation_schema_is_gone() -> None:
    assert "HTTPValidationError" not in SPEC["components"]["schemas"]
    assert "HTTPValidationError" not in str(SPEC["paths"])


def test_every_api_operation_may_answer_503_with_retry_after() -> None:
    for method, path, operation in OPERATIONS:
        if path.startswith("/api/"):
            answer = operation["responses"]["503"]
            assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer"}, (method, path)


def test_what_a_route_is_decides_its_shared_statuses() -> None:
    save = SPEC["paths"]["/api/v1/submissions/{submission_id}/answers"]["put"]
    # A JSON body, a path parameter, a credential; and what the service adds (409, 412, 428).
    assert set(save["responses"]) >= {
        "400",
        "401",
        "403",
        "404",
        "408",
        "409",
        "412",
        "413",
        "422",
        "428",
        "503",
    }
    assert "415" not in save["responses"]  # JSON only
    assert save["security"] == [{"bearerToken": []}, {"apiKey": []}]
    assert save["responses"]["401"]["headers"]["WWW-Authenticate"]
    upload = SPEC["paths"]["/api/v1/submissions/{submission_id}/answers/{code}/files"]["post"]
    assert "415" in upload["responses"]
    login = SPEC["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == []  # said outright: the OpenAPI linter refuses an operation without it
    assert "404" not in login["responses"]
    public = SPEC["paths"]["/api/v1/public/rounds/{round_id}/rankings"]["get"]
    assert public["security"] == []  # no login at all
    assert not {"401", "403"} & set(public["responses"])
    assert "ETag" in public["responses"]["304"]["headers"]


def test_etag_is_declared_where_it_is_sent() -> None:
    read = SPEC["paths"]["/api/v1/submissions/{submission_id}"]["get"]
    assert "ETag" in read["responses"]["200"]["headers"]
    submit = SPEC["paths"]["/api/v1/submissions/{submission_id}/submit"]["post"]
    assert set(submit["responses"]["200"]["headers"]) == {"ETag", "Idempotent-Replayed"}
    assert any(p["name"].lower() == "idempotency-key" for p in submit["parameters"])


def test_problems_names_each_kind_once_per_status() -> None:
    declared = problems(Conflict, WindowClosed, StaleVersion, 428)
    assert sorted(declared) == [409, 412, 428]
    conflicts = declared[409]["description"]
    assert conflicts.count("Conflict with the resource's current state.") == 1
    assert "The window for this action is closed (type `window-closed`)" in conflicts
    assert declared[428]["content"][PROBLEM_JSON]


def test_real_problems_match_the_documents_problem_schema(tmp_path: Any) -> None:
    """Problems of several kinds, as served, against the document's own JSON Schema of ``Problem``."""
    schema = {**SPEC["components"]["schemas"]["Problem"], "components": SPEC["components"]}
    validator = Draft202012Validator(schema)
    app = create_app(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    with TestClient(app) as client:
        answers = [
            client.put("/api/v1/submissions/1/answers", content=b"{", headers={"Content-Type": JSON}),  # 400
            client.post("/api/v1/auth/login", json={"email": "x"}),  # 422 with errors
            client.get("/api/v1/rounds/1"),  # 401
            client.get("/api/v1/nowhere"),  # 404
        ]
    assert [a.status_code for a in answers] == [400, 422, 401, 404]
    for answer in answers:
        assert answer.headers["content-type"] == PROBLEM_JSON
        assert not list(validator.iter_errors(answer.json())), answer.json()
        Problem.model_validate(answer.json())
    assert answers[1].json()["errors"]
    # The schema is not empty: a problem without its status is refused.
    assert list(validator.iter_errors({k: v for k, v in answers[0].json().items() if k != "status"}))


def test_the_suite_fails_on_an_answer_the_document_does_not_list() -> None:
    """tests/documented_statuses.py, the guard: a route raising a kind it does not declare is reported."""
    router = APIRouter()

    @router.post("/things/{thing_id}", responses=problems(StaleVersion))
    def change_thing(thing_id: int, principal: CurrentPrincipal) -> None:
        raise Conflict("taken", indonesian="Sudah dipakai.")

    app = create_app(SETTINGS)
    app.include_router(router, prefix="/api/v1")
    spec = app.openapi()
    seen = {
        ("post", "/api/v1/things/7", 412, "", PROBLEM_JSON),  # declared
        ("post", "/api/v1/things/7", 404, "", PROBLEM_JSON),  # a path parameter
        ("post", "/api/v1/things/7", 409, "", PROBLEM_JSON),  # not declared
        ("post", "/api/v1/things/7", 412, "etag", ""),  # a header its answer does not document
        ("post", "/api/v1/things/7", 422, "", "text/plain"),  # a body its answer does not document
        ("get", "/nowhere", 409, "", PROBLEM_JSON),  # not an operation of the document
    }
    assert undocumented(seen, spec) == [
        "POST /api/v1/things/{thing_id} answered 409",
        "POST /api/v1/things/{thing_id} answered 412 with etag",
        "POST /api/v1/things/{thing_id} answered 422 in text/plain",
    ]


def test_a_nul_in_any_query_is_a_documented_422_even_where_nothing_is_declared(tmp_path: Any) -> None:
    app = create_app(Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    with TestClient(app) as client:
        answer = client.get("/healthz?x=%00")
    assert answer.status_code == 422
    assert "422" in SPEC["paths"]["/healthz"]["get"]["responses"]
    assert "413" in SPEC["paths"]["/api/v1/auth/logout"]["post"]["responses"]  # a body sent to any operation
