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


FILE_HEADERS: dict[str, Any] = {
    "ETag": {"description": "The file's validator (changes with its content).", "schema": {"type": "string"}},
    "Last-Modified": {"description": "When the file was written.", "schema": {"type": "string"}},
    "Content-Disposition": {
        "description": "The file's name, to save it under.",
        "schema": {"type": "string"},
    },
}


def file_download(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a route whose 200 answer is a file of one of ``media_types``."""
    content = {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in media_types}
    return {200: {"description": description, "content": content, "headers": FILE_HEADERS}}
