"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served without a CDN.

Their scripts and styles are the files that the ``fastapi-offline`` package ships (Swagger UI 5, ReDoc 2, both
MIT), served by the service under ``/static/api-docs``: the pages work on a closed network and run no
third-party script on the service's origin. FastAPI writes each page with one inline script that starts the
viewer; it runs by a per-response nonce, and each page's Content-Security-Policy allows that nonce and the
viewers' inline styles on that page only (every other response keeps ``app/security_headers.py``'s policy).
"""

from __future__ import annotations

import secrets
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_PREFIX = "/static/api-docs"
ASSETS = Path(str(files("fastapi_offline") / "static"))


def _policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",  # both viewers set styles from their scripts
            "img-src 'self' data:",
            "worker-src 'self' blob:",  # ReDoc's search runs in a worker it builds from a blob
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _with_nonce(page: HTMLResponse) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode("utf-8").replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"Content-Security-Policy": _policy(nonce)})


def install(app: FastAPI, *, openapi_url: str) -> None:
    """Serve the viewers' files and the two pages (create the app with ``docs_url=None, redoc_url=None``).
    Mount before the pages' own ``/static``."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=ASSETS), name="api-docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _with_nonce(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{STATIC_PREFIX}/swagger-ui-bundle.js",
                swagger_css_url=f"{STATIC_PREFIX}/swagger-ui.css",
                swagger_favicon_url=f"{STATIC_PREFIX}/favicon.png",
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _with_nonce(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{STATIC_PREFIX}/redoc.standalone.js",
                redoc_favicon_url=f"{STATIC_PREFIX}/favicon.png",
                with_google_fonts=False,
            )
        )
