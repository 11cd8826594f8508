"""Response headers an integrator acts on, declared once for every route that sends them."""

from __future__ import annotations

from typing import Any

ETAG: dict[str, Any] = {
    "ETag": {
        "description": 'The version of what you read, e.g. `"3"`: send it back in `If-Match` to change it.',
        "schema": {"type": "string"},
    }
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
