"""The OpenAPI document says the rules the validation enforces (no NUL character in any text) and links
the operations a client walks a season through."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, get_args

from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

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


def app_models() -> dict[str, type[BaseModel]]:
    """The pydantic models of the app by name (the document names its schemas after them)."""
    found: dict[str, type[BaseModel]] = {}
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("app."):
            found[model.__name__] = model
    return found


def mistyped(schema: dict[str, Any]) -> list[Any]:
    """JSON values of the wrong type for ``schema`` that pydantic's lax mode would take (``true`` for 1,
    ``"5"`` for 5, ``1`` for true), inside arrays and objects too."""
    kinds = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    if any(s.get("type") == "string" for s in kinds):
        return []  # a decimal also takes text, as documented
    wrong: list[Any] = []
    for kind in kinds:
        if kind.get("type") in ("integer", "number"):
            wrong += [True, "5"]
        elif kind.get("type") == "boolean":
            wrong += [1, "true"]
        elif kind.get("type") == "array" and "items" in kind:
            wrong += [[value] for value in mistyped(kind["items"])]
        elif kind.get("type") == "object" and isinstance(kind.get("additionalProperties"), dict):
            wrong += [{"1": value} for value in mistyped(kind["additionalProperties"])]
    return wrong


def body_models() -> set[str]:
    """The schemas a JSON request body names, and those they name in turn."""
    schemas = SPEC["components"]["schemas"]
    names: set[str] = set()
    pending = [
        media["schema"]
        for _path, _method, operation in OPERATIONS.values()
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
        if media_type == "application/json"
    ]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            if ref and name not in names:
                names.add(name)
                pending.append(schemas[name])
            pending.extend(v for k, v in node.items() if k not in ("examples", "default"))
    return names


def test_a_json_body_takes_numbers_and_booleans_only_as_such() -> None:
    """A request body's integer, number and boolean fields refuse another JSON type, as the document says:
    pydantic's lax mode took ``{"skip_ok_hours": false}`` as 0 (schemathesis, coverage phase)."""
    models = app_models()
    schemas = SPEC["components"]["schemas"]
    taken = []
    checked = 0
    for name in sorted(body_models()):
        if "properties" not in schemas[name]:
            continue  # an enum
        model = models[name]
        for field, schema in schemas[name].get("properties", {}).items():
            for value in mistyped(schema):
                checked += 1
                try:
                    model.__pydantic_validator__.validate_assignment(model.model_construct(), field, value)
                except ValidationError:
                    continue
                taken.append(f"{name}.{field} = {value!r}")
    assert checked > 50
    assert taken == []


def integral_numbers(schema: dict[str, Any]) -> list[Any]:
    """JSON values for ``schema`` that are integers as JSON Schema reads them, written with a fraction of zero
    (``5.0``), inside arrays and objects too."""
    wrong: list[Any] = []
    for kind in schema.get("anyOf", [schema]):
        if kind.get("type") == "integer":
            wrong.append(float(kind.get("minimum", 1)))
        elif kind.get("type") == "array" and "items" in kind:
            wrong += [[value] for value in integral_numbers(kind["items"])]
        elif kind.get("type") == "object" and isinstance(kind.get("additionalProperties"), dict):
            wrong += [{"1": value} for value in integral_numbers(kind["additionalProperties"])]
    return wrong


def test_a_json_body_takes_an_integer_written_with_a_zero_fraction() -> None:
    """JSON Schema's ``integer`` is any number without a fraction, so ``5.0`` is one, and schemathesis sends
    it: strict integers refused it (``body_ids: [1335.0]`` on POST /rounds/{round_id}/invitations and every
    other integer of a body, for every role, schemathesis's random seed 2051787217)."""
    models = app_models()
    schemas = SPEC["components"]["schemas"]
    refused = []
    checked = 0
    for name in sorted(body_models()):
        for field, schema in schemas[name].get("properties", {}).items():
            for value in integral_numbers(schema):
                checked += 1
                model = models[name]
                if field in refused_fields(model, field, value):
                    refused.append(f"{name}.{field} = {value!r}")
    assert checked >= 20
    assert refused == []


def refused_fields(model: type[BaseModel], field: str, value: Any) -> set[str]:
    try:
        model.__pydantic_validator__.validate_assignment(model.model_construct(), field, value)
    except ValidationError as exc:
        return {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    return set()


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


def keys(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from keys(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key not in ("examples", "example", "default", "properties"):
                yield from keys(value)
            elif key == "properties":
                yield from keys(list(value.values()))


def test_bounds_reach_the_document_as_json_schema_says_them() -> None:
    """A bound set after a validator reached the document as pydantic's ``ge``/``le``, which JSON Schema does
    not know: the year of a round's PATCH had no bounds in the document."""
    assert {"ge", "le", "gt", "lt"} & set(keys(SPEC["components"]["schemas"])) == set()
