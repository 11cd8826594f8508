"""The single place where errors become RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.db.faults import DATABASE_FAULTS, INCIDENTS
from app.db.uniqueness import broken_index, unique_conflict
from app.errors import (
    MAX_LISTED_PROBLEMS,
    PROBLEM_BASE,
    Conflict,
    EmonevError,
    ServiceUnavailable,
    more_problems,
)

log = logging.getLogger("emonev")
PROBLEM_JSON = "application/problem+json"


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=int(body["status"]), media_type=PROBLEM_JSON, headers=headers)


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def http_error_headers(request: Request, exc: StarletteHTTPException) -> dict[str, str] | None:
    """The headers of a routing error: a 405 names in ``Allow`` every method the path answers (RFC 9110).
    Starlette's own header names only the methods of the first route on the path, but a path often has a
    route per method (``GET`` and ``POST /api/v1/rounds/{round_id}/submissions``), and pages raise it bare."""
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        routes = request.app.router.routes
        headers["Allow"] = ", ".join(
            method
            for method in METHOD_ORDER
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
        )
    return headers or None


def error_headers(exc: EmonevError) -> dict[str, str] | None:
    """The headers an error answer carries: how to authenticate (401); when to come back (429; 503 on a
    connection that is closed: a load balancer or client then retries on a fresh one, perhaps to a healthy
    process); a connection whose body was not read in time is closed too (408)."""
    if exc.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, ServiceUnavailable):
        return {"Retry-After": str(exc.retry_after), "Connection": "close"}
    retry_after = getattr(exc, "retry_after", None)
    if exc.status == 429 and isinstance(retry_after, int):
        return {"Retry-After": str(retry_after)}
    if exc.status == 408:
        return {"Connection": "close"}
    return None


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        where, rest = parts[0], parts[1:]
        return f"{where}:{'.'.join(rest)}" if rest and where != "body" else ".".join(rest) or where
    return ".".join(parts)


def _validation_message(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        ctx = err.get("ctx") or {}
        return f"malformed JSON: {ctx.get('error', 'cannot be parsed')}"
    return str(err.get("msg", "invalid value"))


def race_conflict(request: Request, exc: IntegrityError) -> Conflict | None:
    """The 409 for a write a unique index refused (two requests at the same moment), logged in one line;
    None for any other integrity error, which is a bug."""
    conflict = unique_conflict(exc)
    if conflict is not None:
        log.info(
            "unique index %s refused a write on %s %s (a concurrent request stored it first): 409",
            broken_index(exc),
            request.method,
            request.url.path,
        )
    return conflict


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(EmonevError)
    async def _domain(request: Request, exc: EmonevError) -> JSONResponse:
        return problem_response(exc.problem(request.url.path), error_headers(exc))

    async def _database_fault(request: Request, exc: Exception) -> JSONResponse:
        answer = INCIDENTS.failed(exc)
        return await (_domain(request, answer) if answer is not None else _bug(request, exc))

    for fault in DATABASE_FAULTS:
        app.add_exception_handler(fault, _database_fault)

    @app.exception_handler(IntegrityError)
    async def _unique(request: Request, exc: IntegrityError) -> JSONResponse:
        conflict = race_conflict(request, exc)
        return await (_domain(request, conflict) if conflict is not None else _bug(request, exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = exc.errors()
        errors = [
            {"field": _field_path(tuple(e["loc"])), "message": _validation_message(e)}
            for e in found[:MAX_LISTED_PROBLEMS]
        ]
        if len(found) > MAX_LISTED_PROBLEMS:
            errors.append(more_problems(len(found) - MAX_LISTED_PROBLEMS).as_dict())
        malformed = any(e.get("type") == "json_invalid" for e in found)
        return problem_response(
            {
                "type": PROBLEM_BASE + ("malformed-json" if malformed else "invalid-input"),
                "title": "Malformed JSON" if malformed else "Invalid input",
                "status": 400 if malformed else 422,
                "detail": "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                "instance": request.url.path,
                "errors": errors,
            }
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(
            {
                "type": PROBLEM_BASE + slug,
                "title": str(exc.detail) if exc.status_code != 404 else "Not found",
                "status": exc.status_code,
                "detail": str(exc.detail),
                "instance": request.url.path,
            },
            http_error_headers(request, exc),
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            {
                "type": PROBLEM_BASE + "internal-error",
                "title": "Internal server error",
                "status": 500,
                "detail": "An unexpected error occurred; it has been logged.",
                "instance": request.url.path,
            }
        )
