"""Every request body is read in full before the app sees the request.

A client that sends its body slowly (an operator uploading evidence over a bad mobile line, or someone doing
it on purpose, many times at once) must hold nothing scarce while it does so. Authentication, the CSRF check
and the routes all use the request's database session, which holds a pooled connection (and, on SQLite, the
write lock) from its first query to the end of the request: had the app seen the request before its body, a
slow upload would hold a connection for as long as the client took. ``ReadBodyFirst`` therefore reads each
body completely, in memory up to ``IN_MEMORY`` bytes and spooled to a temporary file (``TMPDIR``) beyond, and
only then calls the app, with a ``receive`` that replays the body at local speed. This holds for every route,
the uploads (evidence files, answer and bodies workbooks, templates) and any other body alike.

A body larger than the largest upload any route takes (:func:`body_limit`) is refused with 413 problem+json
at once when its Content-Length says so, and otherwise as soon as it passes the limit; it is never read
further. Each route still applies its own, smaller limit as it reads (2 MB per evidence file by default).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge
from app.problems import problem_response
from app.settings import Settings

# Saves of answers and page forms fit in memory; a file goes to disk, so that many slow uploads at once hold
# little memory each (the disk is bounded by the size cap per request).
IN_MEMORY = 256 * 1024
REPLAY_CHUNK = 64 * 1024
# Room for a multipart envelope (boundaries, part headers, small form fields) around the largest file.
ENVELOPE = 64 * 1024


def body_limit(settings: Settings) -> int:
    """The largest body the service reads: its largest upload plus a multipart envelope."""
    return max(settings.upload_max_bytes, settings.evidence_max_bytes) + ENVELOPE


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _too_large(limit: int) -> PayloadTooLarge:
    megabytes = f"{limit / 1_048_576:.1f}".removesuffix(".0").replace(".", ",")
    return PayloadTooLarge(
        f"the request body is larger than {limit} bytes, more than any upload of this service may be",
        indonesian=f"Kiriman terlalu besar: paling besar {megabytes} MB.",
        max_bytes=limit,
    )


class _Body:
    """The body as it arrives: chunks in memory, rolled over to a temporary file past ``IN_MEMORY``."""

    def __init__(self) -> None:
        self.size = 0
        self.chunks: list[bytes] = []
        self.file: IO[bytes] | None = None

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.file is None and self.size > IN_MEMORY:
            self.file = tempfile.TemporaryFile(prefix="emonev-body-")  # noqa: SIM115 - closed in close()
            self.file.writelines(self.chunks)
            self.chunks.clear()
        if self.file is not None:
            self.file.write(chunk)
        elif chunk:
            self.chunks.append(chunk)

    def replay(self, receive: Receive) -> Receive:
        """A ``receive`` that gives the app the body, then (for disconnect checks) the client's own."""
        if self.file is not None:
            self.file.seek(0)
        pending = list(reversed(self.chunks))
        left = self.size
        done = False

        async def replayed() -> Message:
            nonlocal left, done
            if done:
                return await receive()
            if self.file is not None:
                chunk = self.file.read(min(REPLAY_CHUNK, left))
            else:
                chunk = pending.pop() if pending else b""
            left -= len(chunk)
            done = left <= 0
            return {"type": "http.request", "body": chunk, "more_body": not done}

        return replayed

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class ReadBodyFirst:
    """ASGI middleware: the app sees a request only once its whole body is here (see the module text).
    ``limit`` is asked on every request, so a change of the settings applies at once."""

    def __init__(self, app: ASGIApp, *, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = _declared_length(headers)
        if declared in (None, 0) and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        limit = self.limit()
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        first = await receive()
        if first["type"] == "http.request" and not first.get("more_body", False):
            # The whole body in one message (most JSON and form posts): nothing to spool.
            if len(first.get("body", b"")) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            await self.app(scope, _then(first, receive), send)
            return
        body = _Body()
        try:
            message = first
            while True:
                if message["type"] == "http.disconnect":
                    return  # the client is gone: there is nobody to answer
                body.add(message.get("body", b""))
                if body.size > limit:
                    await self._refuse(scope, receive, send, limit)
                    return
                if not message.get("more_body", False):
                    break
                message = await receive()
            await self.app(scope, body.replay(receive), send)
        finally:
            body.close()

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = _too_large(limit)
        # The rest of the body is never read, so the connection cannot carry another request.
        response = problem_response(error.problem(scope["path"]), headers={"Connection": "close"})
        await response(scope, receive, send)


def _then(first: Message, receive: Receive) -> Receive:
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return first

    return replayed
