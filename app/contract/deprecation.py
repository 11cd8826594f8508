"""How the API announces what it will stop doing (README, "Versioning and deprecation").

`/api/v1` stays compatible: a change that would break a client is made only in `/api/v2`. What is replaced
stays readable for at least one release and is announced three ways: in the OpenAPI document
(`deprecated: true`), in CHANGELOG.md, and on the answers themselves with the headers of RFC 9745 and RFC
8594, which a client can log or alert on:

- `Deprecation: @<unix time>`: when it was deprecated;
- `Sunset: <HTTP date>`: when it stops working, once that is decided;
- `Link: <url>; rel="deprecation"`: where the replacement is explained, when there is a page for it.

Three kinds of thing are deprecated, each its own way:

- an operation: ``@router.get(..., **operation(NOTICE))`` marks it `deprecated` in the document, declares
  the headers on its success answer and sends them on every answer;
- an input (an old spelling of a value, a parameter, a body member): the code that reads the old form calls
  :func:`announce`, so only the answers to requests that still use it carry the headers (the operation's
  success answer declares them with :data:`HEADERS`);
- an output member: :func:`field` marks it `deprecated` in its schema; it is sent until `/api/v2` (or the
  release the notice names) drops it, and the headers are not sent for it (every answer would carry them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import Depends, Response
from pydantic import Field

HEADERS: dict[str, dict[str, Any]] = {
    "Deprecation": {
        "description": "Present when the request used something deprecated (RFC 9745): `@` and the Unix "
        "time it was deprecated. See CHANGELOG.md for the replacement.",
        "schema": {"type": "string", "pattern": "^@-?[0-9]+$"},
    },
    "Sunset": {
        "description": "When what is deprecated stops working (RFC 8594), once that is decided.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'With `rel="deprecation"`: where the replacement is explained.',
        "schema": {"type": "string"},
    },
}


@dataclass(frozen=True)
class Notice:
    """One deprecation: when it was announced, when it ends (if decided) and where it is explained."""

    since: datetime
    sunset: datetime | None = None
    link: str | None = None
    replacement: str = ""
    """What to use instead, in English, for the document's descriptions."""

    def headers(self) -> dict[str, str]:
        found = {"Deprecation": f"@{int(self.since.timestamp())}"}
        if self.sunset is not None:
            found["Sunset"] = format_datetime(self.sunset.astimezone(UTC), usegmt=True)
        if self.link is not None:
            found["Link"] = f'<{self.link}>; rel="deprecation"'
        return found

    def sentence(self) -> str:
        """The notice as the document's descriptions write it."""
        ends = f"; it stops working on {self.sunset.date().isoformat()}" if self.sunset else ""
        instead = f" {self.replacement}" if self.replacement else ""
        return f"Deprecated since {self.since.date().isoformat()}{ends}.{instead}"


def announce(response: Response, notice: Notice) -> None:
    """Make this answer carry the notice's headers (a route's injected ``Response``, or one it returns)."""
    for name, value in notice.headers().items():
        if name == "Link" and "link" in response.headers:
            response.headers.append(name, value)
        else:
            response.headers[name] = value


def operation(
    notice: Notice, *, status: int = 200, description: str = "Successful Response"
) -> dict[str, Any]:
    """Keyword arguments for a route decorator that deprecate the whole operation."""

    async def send_headers(response: Response) -> None:
        announce(response, notice)

    return {
        "deprecated": True,
        "dependencies": [Depends(send_headers)],
        "responses": {status: {"description": f"{description}. {notice.sentence()}", "headers": HEADERS}},
    }


def field(notice: Notice, *, description: str, **kwargs: Any) -> Any:
    """A pydantic ``Field`` for an output member that is deprecated (``deprecated: true`` in its schema)."""
    return Field(
        description=f"{description} {notice.sentence()}",
        json_schema_extra={"deprecated": True},
        **kwargs,
    )
