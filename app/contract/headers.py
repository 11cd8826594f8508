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


PART_HEADERS: dict[str, Any] = {
    **FILE_HEADERS,
    "Content-Range": {
        "description": "Which bytes of the file: `bytes 0-1023/52311`.",
        "schema": {"type": "string"},
    },
}


def file_download(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries of a route answering a file of one of ``media_types`` (app/downloads.py): the
    whole file (200), or the one byte range a ``Range`` asked for (206)."""
    binary = {"type": "string", "format": "binary"}
    content = {kind: {"schema": {} if kind == "application/json" else dict(binary)} for kind in media_types}
    return {
        200: {"description": description, "content": content, "headers": FILE_HEADERS},
        206: {
            "description": "The byte range a `Range: bytes=...` header asked for (one range; any other "
            "`Range` is ignored and the whole file sent).",
            "content": content,
            "headers": PART_HEADERS,
        },
    }
