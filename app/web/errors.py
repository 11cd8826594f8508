"""Errors on pages: friendly Indonesian pages instead of problem+json, a refused form back on its own page,
and a redirect to login when needed.

The API (``/api/...``), the pages' JSON endpoints (``/web/...``) and the OpenAPI pages keep the problem+json
handlers of ``app/problems.py``; every other path gets HTML. The handlers run after the request's transaction
was rolled back, so an error page never reports a half-written change.

A page form that names its page (``_form`` and ``_halaman``, see ``app/web/forms.py``) and is refused for
what it holds, or for the state of the data (4xx other than 401, 403 and 404), is answered with its own page
rendered again (an internal GET of that page) carrying the errors and the typed values, with the error's
status. Anything else gets a plain error page. Pages only ever show the Indonesian text of an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Message

from app.db.faults import DATABASE_FAULTS, INCIDENTS
from app.errors import EmonevError, FieldProblem, Unauthenticated
from app.problems import error_headers, http_error_headers, race_conflict
from app.web.forms import (
    MACHINE_PREFIXES,
    STATE_KEY,
    FormState,
    origin,
    page_errors,
    typed_values,
    validation_problems,
)
from app.web.render import render

log = logging.getLogger("emonev.web")

# Refusals a form cannot be corrected against: the person is not signed in, may not do this, or the thing is
# gone. Those get the plain error page.
NOT_A_FORM_MATTER = frozenset({401, 403, 404})
# Request headers of the refused POST that do not describe the internal GET of its page.
BODY_HEADERS = frozenset({b"content-type", b"content-length", b"transfer-encoding", b"expect"})

HEADINGS: dict[int, tuple[str, str]] = {
    400: (
        "Permintaan tidak dapat diproses",
        "Isian yang dikirim tidak dapat dibaca. Periksa lalu coba lagi.",
    ),
    403: ("Akses ditolak", "Akun Anda tidak berwenang membuka atau mengubah halaman ini."),
    404: ("Halaman tidak ditemukan", "Halaman atau data yang Anda cari tidak ada, atau sudah dipindahkan."),
    405: ("Cara membuka halaman tidak didukung", "Halaman ini tidak dapat dibuka dengan cara tersebut."),
    408: (
        "Pengiriman terlalu lambat",
        "Isian atau berkas tidak terkirim seluruhnya dalam batas waktu. Periksa koneksi Anda, lalu coba "
        "lagi.",
    ),
    409: ("Tidak dapat diproses saat ini", "Permintaan bertentangan dengan keadaan data saat ini."),
    412: (
        "Data telah diubah di tab/perangkat lain",
        "Muat ulang halaman untuk melihat data terbaru, lalu ulangi perubahan Anda.",
    ),
    413: ("Berkas terlalu besar", "Ukuran berkas melebihi batas yang diizinkan (2 MB per berkas)."),
    415: ("Jenis berkas tidak didukung", "Unggah dokumen PDF (atau gambar) yang sah."),
    422: ("Isian belum benar", "Beberapa isian belum benar. Periksa daftar berikut, lalu coba lagi."),
    428: ("Versi data diperlukan", "Muat ulang halaman lalu ulangi perubahan Anda."),
    429: ("Terlalu banyak permintaan", "Tunggu sebentar, lalu coba lagi."),
    500: (
        "Terjadi kesalahan pada sistem",
        "Maaf, terjadi kesalahan yang tidak terduga. Kesalahan sudah dicatat; silakan coba lagi nanti.",
    ),
    503: (
        "Layanan sedang mengalami gangguan",
        "Layanan sedang mengalami gangguan sementara. Tidak ada yang diubah; silakan coba lagi beberapa "
        "saat lagi.",
    ),
}
WINDOW_CLOSED = ("Batas waktu sudah lewat", "Tahap ini tidak sedang dibuka, atau batas waktunya sudah lewat.")


def is_page_request(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PREFIXES)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or target in {"/", "/login", "/logout"}:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def error_page(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    problems: Sequence[str] = (),
    heading: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A plain error page: the heading and advice for the status, the error's own Indonesian sentence
    (``detail``) and the Indonesian messages of its fields."""
    title, message = heading or HEADINGS.get(status, HEADINGS[400 if status < 500 else 500])
    referer = request.headers.get("referer") or ""
    back = referer if referer.startswith(str(request.base_url)) else None
    response = render(
        request,
        "error.html",
        {
            "heading": title,
            "message": message,
            "detail": detail,
            "status": status,
            "problems": list(dict.fromkeys(problems)),
            "back": back,
        },
        status_code=status,
    )
    response.headers.update(headers or {})
    return response


async def _submitted_form(request: Request) -> FormData | None:
    """The refused request's form: parsed already by the route (Starlette keeps it on the request)."""
    if request.method != "POST":
        return None
    try:
        return await request.form()
    except (ClientDisconnect, RuntimeError, StarletteHTTPException):
        return None


async def form_again(
    request: Request, status: int, problems: Sequence[FieldProblem], summary: str
) -> Response | None:
    """The page a refused form came from, rendered again (an internal GET) with the form's errors and typed
    values, answered with the refusal's status; None when the form does not name its page or that page
    cannot be shown."""
    form = await _submitted_form(request)
    where = origin(form) if form is not None else None
    if form is None or where is None:
        return None
    name, page = where
    state = FormState(form=name, message=summary, errors=page_errors(problems), values=typed_values(form))
    path, _, query = page.partition("?")
    scope = {
        "type": "http",
        "asgi": request.scope.get("asgi", {"version": "3.0"}),
        "http_version": request.scope.get("http_version", "1.1"),
        "method": "GET",
        "scheme": request.scope.get("scheme", "http"),
        "server": request.scope.get("server"),
        "client": request.scope.get("client"),
        "root_path": request.scope.get("root_path", ""),
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k, v) for k, v in request.scope["headers"] if k.lower() not in BODY_HEADERS],
        "state": {**request.scope.get("state", {}), STATE_KEY: state},
    }
    start: Message = {}
    body = bytearray()
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if asked:
            return {"type": "http.disconnect"}
        asked = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await request.app(scope, receive, send)
    if start.get("status") != 200:
        return None
    response = Response(bytes(body), status_code=status)
    response.raw_headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"] + [
        (b"content-length", str(len(body)).encode())
    ]
    return response


Handler = Callable[[Request, Any], Awaitable[Response]]
PageHandler = Callable[[Request, Any], Awaitable[Response]]


def install_page_errors(app: FastAPI) -> None:
    """Wrap the app's problem+json handlers: page paths get HTML, everything else what it got before."""
    originals: dict[Any, Handler] = dict(app.exception_handlers)

    def wrap(kind: Any, page: PageHandler) -> None:
        original = originals.get(kind)

        async def handler(request: Request, exc: Any) -> Response:
            if is_page_request(request) or original is None:
                return await page(request, exc)
            return await original(request, exc)

        app.exception_handlers[kind] = handler

    async def domain(request: Request, exc: EmonevError) -> Response:
        if isinstance(exc, Unauthenticated):
            return login_redirect(request)
        heading = WINDOW_CLOSED if exc.type_slug == "window-closed" else None
        # A form is shown again only when what it holds or the state of the data was refused; not when the
        # service could not do its part (the database is down) or the body never arrived.
        if exc.status not in NOT_A_FORM_MATTER and exc.status < 500 and exc.status != 408:
            summary = exc.indonesian or (heading or HEADINGS.get(exc.status, HEADINGS[400]))[1]
            again = await form_again(request, exc.status, exc.errors, summary)
            if again is not None:
                return again
        return error_page(
            request,
            exc.status,
            detail=exc.indonesian,
            problems=[e.message for e in page_errors(exc.errors)],
            heading=heading,
            headers=error_headers(exc),
        )

    async def database_fault(request: Request, exc: Exception) -> Response:
        answer = INCIDENTS.failed(exc)
        return await (domain(request, answer) if answer is not None else bug(request, exc))

    async def validation(request: Request, exc: RequestValidationError) -> Response:
        if all(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
            return error_page(request, 404)  # /pengisian/abc names no page, whatever the route calls it
        problems = validation_problems(exc.errors())
        again = await form_again(request, 422, problems, HEADINGS[422][1])
        if again is not None:
            return again
        return error_page(request, 422, problems=[e.message for e in page_errors(problems)])

    async def http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code, headers=http_error_headers(request, exc))

    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on page %s %s", request.method, request.url.path)
        return error_page(request, 500)

    async def unique(request: Request, exc: IntegrityError) -> Response:
        conflict = race_conflict(request, exc)
        return await (domain(request, conflict) if conflict is not None else bug(request, exc))

    wrap(EmonevError, domain)
    wrap(IntegrityError, unique)
    wrap(RequestValidationError, validation)
    wrap(StarletteHTTPException, http)
    wrap(Exception, bug)
    for fault in DATABASE_FAULTS:
        wrap(fault, database_fault)
