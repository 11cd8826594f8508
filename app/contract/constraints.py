"""Rules the validation enforces on every input, written into the OpenAPI document so a client (and a
generated one) knows them before the server refuses a request.

``app.inputs.refuse_unstorable_input`` refuses the NUL character (U+0000) anywhere in a request's text: path,
query and header values, and every key and string of a body (PostgreSQL text cannot hold it). Here every
string schema without a pattern of its own gets ``NUL_FREE``, and every object that takes keys of the
client's choosing gets it as ``propertyNames``. Strings that already have a pattern keep it (each is a
character class without NUL, ``test_every_string_refuses_nul`` checks); uploaded files (``format: binary``)
are bytes, not text, and are left alone. What the server answers never holds a NUL either, so the response
schemas that share these components stay true.
"""

from __future__ import annotations

from typing import Any

# ECMA-262 and Python's ``re`` read ``\u0000`` alike, so validators and generators agree on it.
NUL_FREE = "^[^\\u0000]*$"
# One version named, without NUL (app/submissions/service.py parse_if_match): an empty or blank If-Match is a
# missing one, and "*" or a list (a comma) names no single version (428 for both).
VERSION_GIVEN = "^\\s*(?:[^\\s\\u0000,*]|\\*[^\\u0000,]*[^\\s\\u0000,])[^\\u0000,]*$"


def _takes_any_key(node: dict[str, Any]) -> bool:
    if node.get("type") != "object" and "properties" not in node and "additionalProperties" not in node:
        return False
    return node.get("additionalProperties", True) is not False


def _refuse_nul(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _refuse_nul(item)
        return
    if not isinstance(node, dict):
        return
    if (
        node.get("type") == "string"
        and "pattern" not in node
        and "enum" not in node
        and "const" not in node
        and node.get("format") != "binary"
    ):
        node["pattern"] = NUL_FREE
    if _takes_any_key(node):
        names = node.setdefault("propertyNames", {})
        if "pattern" not in names and "enum" not in names and "const" not in names:
            names["pattern"] = NUL_FREE
    for key, value in node.items():
        if key in ("examples", "example", "default", "const", "enum", "links", "description"):
            continue  # data, not schemas
        if key == "properties" and isinstance(value, dict):
            for child in value.values():
                _refuse_nul(child)
        else:
            _refuse_nul(value)


def _without_null(schema: dict[str, Any]) -> None:
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


def parameters_are_never_null(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` without the ``null`` FastAPI writes for an optional parameter (``str | None``): a path, query
    or header value is text or absent, and a client that sends ``null`` sends the four letters."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    if "anyOf" in parameter.get("schema", {}):
                        _without_null(parameter["schema"])
    return spec


def require_if_match(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with ``If-Match`` required where the operation answers 428 without it (the route reads the
    header as optional only to answer that 428 with a problem that says what to send). A route whose header
    is truly optional says so in its description ("Optional: ..."; an evidence upload or removal): it answers
    428 only to an If-Match that names no single version (``*``, a list), never to a missing one."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "428" not in operation.get("responses", {}):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
                    if parameter.get("description", "").startswith("Optional"):
                        continue
                    parameter["required"] = True
                    schema = parameter.get("schema", {})
                    _without_null(schema)
                    if schema.get("type") == "string":
                        schema["pattern"] = VERSION_GIVEN
    return spec


# Answers that repeat what was sent: a 422 names the offending field, which may be a key holding a NUL.
ECHOES = frozenset({"Problem", "FieldProblemOut"})


def refuse_nul(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the NUL rule in every input schema: the components and each operation's parameters
    and bodies (responses share the components; their own inline schemas are left as they are)."""
    schemas = spec.get("components", {}).get("schemas", {})
    _refuse_nul({name: schema for name, schema in schemas.items() if name not in ECHOES})
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                _refuse_nul(parameter.get("schema"))
            _refuse_nul(operation.get("requestBody"))
    return spec
