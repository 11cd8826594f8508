"""Response headers an integrator acts on, declared once for every route that sends them."""

from __future__ import annotations

from typing import Any

ETAG: dict[str, Any] = {
    "ETag": {
        "description": 'The version of what you read, e.g. `"3"`: send it back in `If-Match` to change it '
        "(or in `If-None-Match` to read it only when it changed, where the operation says so).",
        "schema": {"type": "string"},
    }
}
CACHE_VALIDATORS: dict[str, Any] = {
    **ETAG,
    "Last-Modified": {"description": "When what you read last changed.", "schema": {"type": "string"}},
    "Cache-Control": {"description": "How long caches may keep it.", "schema": {"type": "string"}},
}
IDEMPOTENT_REPLAYED: dict[str, Any] = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same "
        "`Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def with_etag(description: str, *, status: int = 200, **more: Any) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a route whose ``status`` answer carries an ``ETag``."""
    return {status: {"description": description, "headers": {**ETAG, **more.pop("headers", {})}, **more}}
