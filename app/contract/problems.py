"""What an operation may answer besides success, declared once per kind of problem.

Every error is RFC 9457 ``application/problem+json`` (app/problems.py writes them) with the one
:class:`Problem` schema. The OpenAPI document lists, for every operation, each status it can answer:

- the answers every operation of a kind shares are added by app/contract/document.py from what the route
  is (a body: 400/408/413/415/422; a path parameter: 404; a credential: 401/403; the database: 503);
- the answers only some operations give (409, 410, 412, 428, 429) are named on the route with
  :func:`problems`, by the error classes the service raises, e.g. ``responses=problems(Conflict,
  StaleVersion)``.

tests/documented_statuses.py checks, over the whole test suite, that every status an operation was seen to
answer is listed, and schemathesis checks it again from outside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from app.errors import (
    Conflict,
    EmonevError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionRequired,
    StaleVersion,
    Unauthenticated,
    UnsupportedMedia,
)

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"


class FieldProblemOut(BaseModel):
    """One offending field: where it is and why it is wrong."""

    field: str = Field(
        description="Where: a dotted path in the body (`answers.1.1.1.value`), or `query:name`, "
        "`path:name`, `header:Name`; empty for the entry that counts problems left unlisted."
    )
    message: str = Field(description="Why, in English.")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class Problem(BaseModel):
    """An RFC 9457 problem. Some kinds add members of their own (e.g. `job_id` on a 409 that names the
    job doing the work, `max_bytes` on a 413); clients must ignore members they do not know."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem; stable, compare it rather than `title`.")
    title: str = Field(description="A short summary of the kind, in English.")
    status: int = Field(ge=400, le=599, description="The HTTP status, repeated.")
    detail: str = Field(description="What went wrong this time, in English.")
    # Optional members: absent when there is nothing to say, never null, so no `default` in the schema
    # (a default of null would contradict the member's own type: openapi-spec-validator refuses it).
    instance: str | SkipJsonSchema[None] = Field(
        default=None, description="The path of the request.", json_schema_extra=_no_default
    )
    errors: list[FieldProblemOut] | SkipJsonSchema[None] = Field(
        default=None,
        description="Each offending field (at most 100, then one entry counting the rest).",
        json_schema_extra=_no_default,
    )


def _header(description: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": dict(schema or {"type": "string"})}


RETRY_AFTER = {"Retry-After": _header("Seconds to wait before trying again.", {"type": "integer"})}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": _header("`Bearer`: send `Authorization: Bearer <token>` or `X-API-Key`.")},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}

# What each status means on this API, for the statuses many operations share.
MEANING: dict[int, str] = {
    400: "The body is not well-formed JSON.",
    401: "No credential, or one that is invalid, expired or revoked.",
    403: "Your role or commission may not do this.",
    404: "Not found, or not visible to you.",
    408: "The request body did not arrive in time.",
    409: "Conflict with the resource's current state.",
    410: "Gone.",
    412: "`If-Match` names a version older than the current one: read it again.",
    413: "The body is larger than this operation takes.",
    415: "The body's media type is not one this operation takes.",
    422: "Invalid input: `errors` names each offending field and why.",
    428: "`If-Match` is required: send the version (ETag) you read.",
    429: "Too many requests: wait `Retry-After` seconds.",
    503: "The database cannot answer now (unreachable or busy): retry after `Retry-After` seconds.",
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of one error status."""
    response: dict[str, Any] = {
        "description": description or MEANING.get(status, "An error."),
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status in HEADERS:
        response["headers"] = dict(HEADERS[status])
    return response


# The kinds that are just their status; any other kind is named in the description with its own `type`.
PLAIN_KINDS: frozenset[type[EmonevError]] = frozenset(
    {
        EmonevError,
        InvalidInput,
        NotFound,
        Unauthenticated,
        Forbidden,
        Conflict,
        StaleVersion,
        PreconditionRequired,
        PayloadTooLarge,
        UnsupportedMedia,
    }
)


def _kind_meaning(kind: type[EmonevError]) -> str:
    if kind in PLAIN_KINDS:
        return MEANING.get(kind.status, kind.title + ".")
    doc = " ".join((kind.__doc__ or "").split())
    named = f"{kind.title} (type `{kind.type_slug}`)"
    return f"{named}: {doc}" if doc else f"{named}."


def problems(*kinds: type[EmonevError] | int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries of the problems a route's service raises beyond the ones every route of
    its kind shares: each error class (or bare status) once, several classes of one status in one entry."""
    meanings: dict[int, list[str]] = {}
    for kind in kinds:
        status, meaning = (
            (kind, MEANING[kind]) if isinstance(kind, int) else (kind.status, _kind_meaning(kind))
        )
        listed = meanings.setdefault(status, [])
        if meaning not in listed:
            listed.append(meaning)
    return {status: problem_response(status, " ".join(m)) for status, m in sorted(meanings.items())}
