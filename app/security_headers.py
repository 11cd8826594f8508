"""Security headers on every response of the service: pages, API answers, errors and static files.

One ASGI middleware, outermost (outside Starlette's own error handling, so a 500 carries them too), adds:

- ``Content-Security-Policy``: scripts, styles, fonts, fetches and forms from the service itself only, no
  inline script or style (the pages keep theirs in ``app/web/static``), no plugins, never inside a frame. A
  response that brings its own policy keeps it: the API documentation pages (``app/api_docs.py``) allow their
  one inline script by a nonce and Swagger UI's and ReDoc's inline styles, on those pages only.
- ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``; ``X-Content-Type-Options:
  nosniff``; ``Referrer-Policy: same-origin`` (addresses with ids never leave for another site);
- ``Strict-Transport-Security`` in production only (``EMONEV_ENVIRONMENT=production``), where TLS ends at the
  proxy in front of the service: browsers then never try plain HTTP again for a year.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000"


def security_headers(*, production: bool) -> list[tuple[str, str]]:
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
    ]
    if production:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SecurityHeadersMiddleware:
    """Adds :func:`security_headers` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.headers = security_headers(production=production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
