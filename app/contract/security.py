"""Who may call an operation without credentials, declared in the OpenAPI document from the routes' own
dependencies: an operation that depends on ``require_principal`` or ``require_credential`` (and so answers
401 without a credential) needs a bearer token or an API key; one that depends on ``get_optional_principal``
only takes either or none; any other operation (health, login, the public rankings) needs none.

The routes read the credential from the headers themselves (``app/accounts/deps.py``), not through FastAPI's
``Security`` classes, which would add two dependency calls to every request: the document is completed
here instead, once, when it is first built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.accounts import deps
from app.accounts.security import API_KEY_PREFIX

BEARER = "bearerToken"
API_KEY = "apiKey"
SCHEMES: dict[str, dict[str, Any]] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An opaque token from `POST /api/v1/auth/login` (`access_token`), valid for "
        "`EMONEV_TOKEN_TTL_HOURS` (12 by default) or until `POST /api/v1/auth/logout`. An API key "
        f"(`{API_KEY_PREFIX}...`) may be sent this way too.",
    },
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A key a commission administrator issued (`POST /api/v1/api-keys`), shown once; scope "
        "`read` (everything of one commission, read-only) or `body` (what one body's PPID may do).",
    },
}
CREDENTIAL: list[dict[str, list[str]]] = [{BEARER: []}, {API_KEY: []}]

_REQUIRED: frozenset[Callable[..., Any]] = frozenset({deps.require_principal, deps.require_credential})


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def requirement(route: APIRoute) -> list[dict[str, list[str]]]:
    """The operation's ``security``: a credential, a credential or none, or nothing at all."""
    called = set(_calls(route.dependant))
    if called & _REQUIRED:
        return CREDENTIAL
    if deps.get_optional_principal in called:
        return [*CREDENTIAL, {}]
    return []


def declare(app: FastAPI, document: dict[str, Any]) -> None:
    """Add the two schemes, a credential as the document's default, and each operation's own requirement
    where it differs from that default."""
    document.setdefault("components", {})["securitySchemes"] = SCHEMES
    document["security"] = CREDENTIAL
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        operations = document["paths"].get(str(context.path), {})
        needed = requirement(route)
        for method in context.methods or ():
            operation = operations.get(method.lower())
            if operation is not None and needed is not CREDENTIAL:
                operation["security"] = needed


def install(app: FastAPI) -> None:
    """Complete ``app.openapi()`` with the security declarations the first time it is built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declare(app, build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
