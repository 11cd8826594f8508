"""A bound on how long a client may take between two pieces of its request body.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) and bounds the size of a request head
(h11), but waits for a request body for ever: a client that announces 2 MB and sends them at a trickle, or
stops, keeps its request (and whatever the request holds) open. This middleware bounds the wait for each
chunk to ``EMONEV_BODY_READ_TIMEOUT_SECONDS``. Past it, reading the body raises :class:`BodyReadTimeout`:
where the app reads the body itself (uploads, page forms) its handlers answer 408 (problem+json, or an
Indonesian page); where FastAPI parses a JSON body (and would call the failure a malformed body, 400), the
middleware answers the 408 problem+json itself. The connection is closed either way.
"""

from __future__ import annotations

import json
import logging

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import BodyReadTimeout

log = logging.getLogger("emonev.http")


class BodyReadTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        timed_out = False
        replaced = False

        async def bounded_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done:
                return await receive()
            with anyio.move_on_after(self.seconds):
                message = await receive()
                body_done = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            if not timed_out:
                log.warning(
                    "%s %s: the request body stopped arriving", scope.get("method"), scope.get("path")
                )
            timed_out = True
            raise self.error()

        async def checked_send(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if timed_out and message["type"] == "http.response.start" and message["status"] != 408:
                replaced = True
                await self._answer_408(send, scope)
                return
            await send(message)

        await self.app(scope, bounded_receive, checked_send)

    def error(self) -> BodyReadTimeout:
        return BodyReadTimeout(
            f"The request body stopped arriving: nothing came for {self.seconds:g} s.",
            indonesian=f"Isian atau berkas tidak terkirim seluruhnya: tidak ada data selama {self.seconds:g} "
            "detik. Periksa koneksi Anda, lalu coba lagi.",
        )

    async def _answer_408(self, send: Send, scope: Scope) -> None:
        body = json.dumps(self.error().problem(scope.get("path"))).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
