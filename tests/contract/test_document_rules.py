"""The OpenAPI document says the rules the validation enforces (no NUL character in any text) and links
the operations a client walks a season through."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, get_args

from fastapi.testclient import TestClient

from app.contract.constraints import ECHOES
from app.errors import PreconditionRequired, StaleVersion
from app.jobs.kinds import registry
from app.jobs.schemas import ExportKind
from app.main import create_app
from app.settings import Settings
from app.submissions.service import parse_if_match

APP = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False))
SPEC = APP.openapi()
OPERATIONS = {
    operation["operationId"]: (path, method, operation)
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
    if isinstance(operation, dict) and "operationId" in operation
}


def strings(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string schema (and key schema) under ``node`` that takes free text."""
    if isinstance(node, list):
        for n, item in enumerate(node):
            yield from strings(item, f"{where}[{n}]")
        return
    if not isinstance(node, dict):
        return
    fixed = "enum" in node or "const" in node
    if node.get("type") == "string" and not fixed and node.get("format") != "binary":
        yield where, node
    if node.get("additionalProperties", False) is not False:
        yield f"{where} keys", node.get("propertyNames", {})
    for key, value in node.items():
        if key not in ("examples", "example", "default", "enum", "const", "description"):
            yield from strings(value, f"{where}.{key}")


def inputs() -> Iterator[tuple[str, dict[str, Any]]]:
    # Problems repeat what was sent (app/contract/constraints.py ECHOES): answers only, never inputs.
    schemas = SPEC["components"]["schemas"]
    yield from strings({name: s for name, s in schemas.items() if name not in ECHOES}, "components")
    for operation_id, (_path, _method, operation) in OPERATIONS.items():
        for parameter in operation.get("parameters", []):
            yield from strings(parameter["schema"], f"{operation_id} {parameter['name']}")
        yield from strings(operation.get("requestBody"), f"{operation_id} body")


def test_every_text_input_says_it_refuses_nul() -> None:
    allowing = [where for where, schema in inputs() if re.search(schema.get("pattern", ""), "a\x00b")]
    assert allowing == []


def test_a_text_with_nul_is_refused_as_the_document_says() -> None:
    """What the document now says is what the server does (app.inputs.refuse_unstorable_input)."""
    with TestClient(APP) as client:
        answer = client.get("/api/v1/public/rounds/1/rankings", params={"cursor": "a\x00b"})
    assert answer.status_code == 422


def test_a_created_round_links_to_its_operations() -> None:
    links = SPEC["paths"]["/api/v1/commissions/{commission_id}/rounds"]["post"]["responses"]["201"]["links"]
    targets = {OPERATIONS[link["operationId"]][0]: link["parameters"] for link in links.values()}
    assert targets["/api/v1/rounds/{round_id}"] == {"path.round_id": "$response.body#/id"}
    assert "/api/v1/rounds/{round_id}/submissions" in targets


def test_a_page_links_its_first_item() -> None:
    links = SPEC["paths"]["/api/v1/rounds/{round_id}/jobs"]["get"]["responses"]["200"]["links"]
    targets = {OPERATIONS[link["operationId"]][0]: link["parameters"] for link in links.values()}
    assert targets["/api/v1/jobs/{job_id}"] == {"path.job_id": "$response.body#/items/0/id"}


def test_every_link_fills_every_path_parameter_of_an_operation_that_exists() -> None:
    for path, operations in SPEC["paths"].items():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                for name, link in response.get("links", {}).items():
                    _target, _method, target = OPERATIONS[link["operationId"]]
                    needed = {f"path.{p['name']}" for p in target.get("parameters", []) if p["in"] == "path"}
                    assert set(link["parameters"]) == needed, f"{path} {status} {name}"


def test_the_export_kinds_the_document_offers_are_the_registered_ones() -> None:
    assert set(get_args(ExportKind)) == {kind.name for kind in registry().values() if kind.export}


def names_no_single_version(header: str) -> bool:
    """Whether ``parse_if_match`` answers 428 (a 412 for a stale or weak tag is no concern here)."""
    try:
        parse_if_match(header)
    except PreconditionRequired:
        return True
    except StaleVersion:
        return False
    return False


def test_a_required_if_match_is_refused_with_428_exactly_when_the_document_says_so() -> None:
    """The document's If-Match pattern takes what parse_if_match takes as one version: it took a list
    (``00Ly,h0-000``), which is a 428, schema-valid (schemathesis's stateful phase, fixed seed 20251205, as
    the verifier on POST /submissions/{submission_id}/verification/approve-unreviewed)."""
    patterns = {
        parameter["schema"]["pattern"]
        for _path, _method, operation in OPERATIONS.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header" and parameter["name"].lower() == "if-match" and parameter["required"]
    }
    assert len(patterns) == 1
    (pattern,) = patterns
    samples = ['"3"', "3", ' "3" ', 'W/"3"', "*3", "x*", "", " ", "*", " * ", '"3", "4"', "00Ly,h0-000", ","]
    for header in samples:
        assert (re.search(pattern, header) is None) == names_no_single_version(header), header
