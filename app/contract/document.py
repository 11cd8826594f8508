"""The OpenAPI document, completed from the code so that it tells the whole truth.

FastAPI writes each operation's parameters, body and success answer. This adds, from what each route is:

- every error status it can answer, as ``application/problem+json`` with the ``Problem`` schema
  (app/contract/problems.py says which status comes from what); FastAPI's own 422 schema is replaced,
  since the service never answers in that shape;
- how it authenticates (``security``: a bearer token from ``POST /auth/login`` or an ``X-API-Key``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant

from app.accounts.deps import get_optional_principal, require_credential, require_principal
from app.contract import constraints, links
from app.contract.problems import PROBLEM_JSON, FieldProblemOut, Problem, problem_response

SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A session token from `POST /api/v1/auth/login`.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key a commission administrator issued (`POST /api/v1/api-keys`).",
    },
}
SIGNED_IN: list[dict[str, list[str]]] = [{"bearerToken": []}, {"apiKey": []}]
JSON_BODY = "application/json"


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _statuses(operation: dict[str, Any], calls: set[Callable[..., Any]], path: str) -> set[int]:
    """The error statuses every route like this one can answer."""
    # Any request: a NUL in any query parameter or header (app/inputs.py); a body sent too slowly or too
    # large, to any operation (app/body_timeout.py, app/request_body.py).
    found: set[int] = {408, 413, 422}
    if path.startswith("/api/"):
        found.add(503)  # every API operation reads the database
    body = operation.get("requestBody")
    if body is not None:
        if JSON_BODY in body.get("content", {}):
            found.add(400)  # malformed JSON
        if set(body.get("content", {})) - {JSON_BODY}:
            found.add(415)
    if any(p["in"] == "path" for p in operation.get("parameters", [])):
        found.add(404)
    if require_principal in calls or require_credential in calls:
        found |= {401, 403}
    elif get_optional_principal in calls:
        found.add(401)  # a credential that is sent must be valid
    return found


def _own_body(response: dict[str, Any]) -> bool:
    """An error status whose body the route declares itself (the readiness checks), not a problem."""
    content = response.get("content", {})
    return bool(content) and PROBLEM_JSON not in content and "HTTPValidationError" not in str(content)


def _as_problem(response: dict[str, Any], status: int) -> dict[str, Any]:
    """An error response declared by a route (or FastAPI's 422) as problem+json, keeping its description
    and headers."""
    description = response.get("description")
    if description == "Validation Error":  # FastAPI's own 422
        description = None
    completed = problem_response(status, description or None)
    if "headers" in response:
        completed["headers"] = {**completed.get("headers", {}), **response["headers"]}
    return completed


def _security(calls: set[Callable[..., Any]]) -> list[dict[str, list[str]]]:
    if require_principal in calls or require_credential in calls:
        return SIGNED_IN
    if get_optional_principal in calls:
        return [{}, *SIGNED_IN]  # anonymous, or signed in for more
    return []  # no credential needed (said outright: linters and generators read a missing one as unknown)


def complete(app: FastAPI, spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (FastAPI's document of ``app``) with every operation's error answers and security."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["FieldProblemOut"] = FieldProblemOut.model_json_schema()
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["Problem"].pop("$defs", None)
    components["securitySchemes"] = SECURITY_SCHEMES

    for context in routing.iter_route_contexts(app.routes):
        if not isinstance(context.original_route, routing.APIRoute) or not context.include_in_schema:
            continue
        calls = set(_calls(context.dependant))
        path = str(context.path_format)
        for method in context.methods or ():
            operation = spec["paths"][path][method.lower()]
            responses = operation["responses"]
            for status in _statuses(operation, calls, path):
                responses.setdefault(str(status), {})
            for key in list(responses):
                if key.isdigit() and int(key) >= 400 and not _own_body(responses[key]):
                    responses[key] = _as_problem(responses[key], int(key))
            # The route's own answer first (FastAPI's order), then the errors by status.
            errors = sorted(key for key in responses if key.isdigit() and int(key) >= 400)
            operation["responses"] = {
                **{key: answer for key, answer in responses.items() if key not in errors},
                **{key: responses[key] for key in errors},
            }
            operation["security"] = _security(calls)
    spec = constraints.parameters_are_never_null(constraints.refuse_nul(spec))
    return links.add_links(constraints.require_if_match(spec))
