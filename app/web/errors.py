"""Errors on pages: friendly Indonesian pages instead of problem+json, and a redirect to login when needed.

The API (``/api/...``), the pages' JSON endpoints (``/web/...``) and the OpenAPI pages keep the problem+json
handlers of ``app/problems.py``; every other path gets HTML. The handlers run after the request's transaction
was rolled back, so an error page never reports a half-written change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import EmonevError, FieldProblem, Unauthenticated
from app.inputs import NUL_MESSAGE
from app.web.render import render

log = logging.getLogger("emonev.web")

MACHINE_PREFIXES = ("/api/", "/web/", "/docs", "/redoc", "/openapi.json", "/healthz")

HEADINGS: dict[int, tuple[str, str]] = {
    400: (
        "Permintaan tidak dapat diproses",
        "Isian yang dikirim tidak dapat dibaca. Periksa lalu coba lagi.",
    ),
    403: ("Akses ditolak", "Akun Anda tidak berwenang membuka atau mengubah halaman ini."),
    404: ("Halaman tidak ditemukan", "Halaman atau data yang Anda cari tidak ada, atau sudah dipindahkan."),
    405: ("Cara membuka halaman tidak didukung", "Halaman ini tidak dapat dibuka dengan cara tersebut."),
    409: ("Tidak dapat diproses saat ini", "Permintaan bertentangan dengan keadaan data saat ini."),
    412: (
        "Data telah diubah di tab/perangkat lain",
        "Muat ulang halaman untuk melihat data terbaru, lalu ulangi perubahan Anda.",
    ),
    413: ("Berkas terlalu besar", "Ukuran berkas melebihi batas yang diizinkan (2 MB per berkas)."),
    415: ("Jenis berkas tidak didukung", "Unggah dokumen PDF (atau gambar) yang sah."),
    422: ("Isian belum benar", "Beberapa isian belum benar. Periksa daftar berikut, lalu coba lagi."),
    428: ("Versi data diperlukan", "Muat ulang halaman lalu ulangi perubahan Anda."),
    500: (
        "Terjadi kesalahan pada sistem",
        "Maaf, terjadi kesalahan yang tidak terduga. Kesalahan sudah dicatat; silakan coba lagi nanti.",
    ),
}
# The shared input rules' messages (app/inputs.py, English for the API) as a page lists them.
PAGE_MESSAGES = {NUL_MESSAGE: "Isian ini tidak boleh memuat karakter NUL (U+0000)."}
WINDOW_CLOSED = ("Batas waktu sudah lewat", "Tahap ini tidak sedang dibuka, atau batas waktunya sudah lewat.")


def _on_page(problem: FieldProblem) -> dict[str, str]:
    return {"field": problem.field, "message": PAGE_MESSAGES.get(problem.message, problem.message)}


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
    problems: list[dict[str, str]] | None = None,
    heading: tuple[str, str] | None = None,
) -> Response:
    title, message = heading or HEADINGS.get(status, HEADINGS[400 if status < 500 else 500])
    referer = request.headers.get("referer") or ""
    back = referer if referer.startswith(str(request.base_url)) else None
    return render(
        request,
        "error.html",
        {
            "heading": title,
            "message": message,
            "detail": detail,
            "status": status,
            "problems": problems or [],
            "back": back,
        },
        status_code=status,
    )


Handler = Callable[[Request, Any], Awaitable[Response]]


def install_page_errors(app: FastAPI) -> None:
    """Wrap the app's problem+json handlers: page paths get HTML, everything else what it got before."""
    originals: dict[Any, Handler] = dict(app.exception_handlers)

    def wrap(kind: Any, page: Callable[[Request, Any], Response]) -> None:
        original = originals.get(kind)

        async def handler(request: Request, exc: Any) -> Response:
            if is_page_request(request) or original is None:
                return page(request, exc)
            return await original(request, exc)

        app.exception_handlers[kind] = handler

    def domain(request: Request, exc: EmonevError) -> Response:
        if isinstance(exc, Unauthenticated):
            return login_redirect(request)
        heading = WINDOW_CLOSED if exc.type_slug == "window-closed" else None
        return error_page(
            request,
            exc.status,
            detail=exc.detail,
            problems=[_on_page(e) for e in exc.errors],
            heading=heading,
        )

    def validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "message": str(e["msg"])}
            for e in exc.errors()
        ]
        return error_page(request, 422, problems=problems)

    def http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(
            request, exc.status_code, detail=None if exc.status_code == 404 else str(exc.detail)
        )

    def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on page %s %s", request.method, request.url.path)
        return error_page(request, 500)

    wrap(EmonevError, domain)
    wrap(RequestValidationError, validation)
    wrap(StarletteHTTPException, http)
    wrap(Exception, bug)
