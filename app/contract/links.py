"""OpenAPI links: which answer's ids feed which operation's path, so a client (and schemathesis's stateful
phase) can walk a season: a created round's ``id`` feeds every ``/rounds/{round_id}/...`` operation, a
submission's ``round_id`` and ``body_id`` the round's letter of that body, a page of jobs its first job's
``/jobs/{job_id}``.

Built from the document itself, so a new operation is linked as soon as it exists: a success answer (or the
first item of a page of them) links to every operation whose path parameters it fills, each parameter from

1. a property of the answer named like it (``round_id``, ``batch_id``, ``key``, ``version``);
2. the answer's own ``id``, when the answer is the resource the parameter names (``ID_OF``);
3. the same path parameter of the request that got the answer (``/rounds/{round_id}/...`` to
   ``/rounds/{round_id}/...``),

and at least one from the answer itself (a link that only repeats the request's path tells nothing).
"""

from __future__ import annotations

from typing import Any

# The path parameter a resource's own ``id`` fills, by the schema of the answer that holds it.
ID_OF = {
    "AccountOut": "account_id",
    "ApiKeyCreated": "api_key_id",
    "ApiKeyOut": "api_key_id",
    "BodyOut": "body_id",
    "CommissionOut": "commission_id",
    "EvidenceFileOut": "file_id",
    "JobOut": "job_id",
    "NoticeOut": "notice_id",
    "ObjectionOut": "objection_id",
    "RoundOut": "round_id",
    "SubmissionOut": "submission_id",
    "SubmissionSummary": "submission_id",
}
OTHER_RESOURCES = frozenset(ID_OF.values())
METHODS = ("get", "put", "post", "delete", "patch")
PAGE_PREFIX = "Page_"


def _name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _answer(schemas: dict[str, Any], response: dict[str, Any]) -> tuple[str, str] | None:
    """The component an answer holds, and the JSON pointer to it (``/items/0`` in a page)."""
    name = _name(response.get("content", {}).get("application/json", {}).get("schema", {}))
    if name is None or name not in schemas:
        return None
    if name.startswith(PAGE_PREFIX):
        item = _name(schemas[name].get("properties", {}).get("items", {}).get("items", {}))
        return (item, "/items/0") if item in schemas else None
    return name, ""


def _path_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]


def _fill(
    parameter: str, name: str, properties: dict[str, Any], pointer: str, request: list[str]
) -> tuple[str, bool] | None:
    """Where ``parameter`` comes from, and whether that is news from the answer: its own id or a value
    that names no other resource (a round's ``commission_id`` fills a path, but every operation of the
    commission is no step in the round's walk)."""
    if ID_OF.get(name) == parameter and "id" in properties:
        return f"$response.body#{pointer}/id", True
    if parameter in properties:
        return f"$response.body#{pointer}/{parameter}", parameter not in OTHER_RESOURCES
    if parameter in request:
        return f"$request.path.{parameter}", False
    return None


def add_links(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the links of every success answer (replacing links made by an earlier call)."""
    schemas = spec.get("components", {}).get("schemas", {})
    targets = [
        (operation["operationId"], _path_parameters(operation))
        for operations in spec.get("paths", {}).values()
        for method, operation in operations.items()
        if method in METHODS and "operationId" in operation and _path_parameters(operation)
    ]
    for operations in spec.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            request = _path_parameters(operation)
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                answer = _answer(schemas, response)
                if answer is None:
                    continue
                name, pointer = answer
                properties = schemas[name].get("properties", {})
                links: dict[str, Any] = {}
                for operation_id, needed in targets:
                    filled = [_fill(p, name, properties, pointer, request) for p in needed]
                    if any(f is None for f in filled) or not any(f[1] for f in filled if f is not None):
                        continue
                    links[operation_id] = {
                        "operationId": operation_id,
                        "parameters": {
                            f"path.{p}": f[0] for p, f in zip(needed, filled, strict=True) if f is not None
                        },
                    }
                if links:
                    response["links"] = links
                else:
                    response.pop("links", None)
    return spec
