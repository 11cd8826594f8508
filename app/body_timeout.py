"""A bound on how long a client may take between two pieces of its request body.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) and bounds the size of a request head
(h11), but waits for a request body for ever, and so does ``ReadBodyFirst`` (app/request_body.py), which reads
every body before the app sees the request. A client that announces 2 MB and sends them at a trickle, or
stops, would keep its request open for good. This middleware, outside ``ReadBodyFirst``, bounds the wait for
each piece to ``EMONEV_BODY_READ_TIMEOUT_SECONDS``. Past it the request is answered 408 (problem+json; pages:
the Indonesian error page) and the connection is closed, whoever was reading the body.
"""

from __future__ import annotations

import logging

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import BodyReadTimeout
from app.problems import error_headers, problem_response
from app.web.errors import error_page, is_page_request

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
        started = False
        replaced = False

        async def bounded_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done:
                return await receive()
            with anyio.move_on_after(self.seconds):
                message = await receive()
                body_done = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            timed_out = True
            raise self.error()

        async def checked_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # the app's answer, replaced by the 408
            if message["type"] == "http.response.start":
                started = True
                if timed_out and message["status"] != 408:  # the reader called it something else
                    replaced = True
                    await self.answer(scope, receive, send)
                    return
            await send(message)

        try:
            await self.app(scope, bounded_receive, checked_send)
        except BodyReadTimeout:
            if started:
                raise
            await self.answer(scope, receive, send)

    def error(self) -> BodyReadTimeout:
        return BodyReadTimeout(
            f"The request body stopped arriving: nothing came for {self.seconds:g} s.",
            indonesian=f"Isian atau berkas tidak terkirim seluruhnya: tidak ada data selama {self.seconds:g} "
            "detik. Periksa koneksi Anda, lalu coba lagi.",
        )

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        log.warning("%s %s: the request body stopped arriving", scope["method"], scope["path"])
        error = self.error()
        request = Request(scope)
        response: Response
        if is_page_request(request):
            response = error_page(request, 408, detail=error.indonesian, headers=error_headers(error))
        else:
            response = problem_response(error.problem(scope["path"]), error_headers(error))
        await response(scope, receive, send)
