"""Page sessions: an opaque token in an HttpOnly cookie, and CSRF protection for every unsafe request.

The cookie carries a bearer token of the ``auth_token`` table (stored there only as its SHA-256), issued by
the accounts login service, so a page session expires and is revoked exactly like an API token.

CSRF: a synchronizer token bound to the session, computed as HMAC(secret key, token digest); it is not
stored, changes with every login and cannot be forged without the server's secret. Before login, the login
form is bound the same way to a random pre-session cookie. One dependency (``csrf_protect``) checks every
POST of the pages' routers: a form field ``csrf_token`` or, for fetch calls, the ``X-CSRF-Token`` header.

Without the cookie, a request may carry the API's own credential (``Authorization: Bearer`` or ``X-API-Key``):
the pages then act for that principal under the same policy, and need no CSRF token (no ambient credential).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import get_optional_principal, live_token, principal_for_account
from app.accounts.principal import Principal
from app.accounts.security import digest
from app.db.session import SessionDep
from app.errors import Forbidden, Unauthenticated
from app.settings import Settings, SettingsDep

SESSION_COOKIE = "emonev_session"
PRESESSION_COOKIE = "emonev_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH = "/login"
FORGOT_PASSWORD_PATH = "/lupa-kata-sandi"  # noqa: S105 - a page, not a password
SET_PASSWORD_PATH = "/atur-kata-sandi"  # noqa: S105 - as app.mail.delivery.SET_PASSWORD_PATH
# The forms a visitor sends before logging in: bound to the pre-session cookie.
PRESESSION_PATHS = frozenset({LOGIN_PATH, FORGOT_PASSWORD_PATH, SET_PASSWORD_PATH})


@dataclass(frozen=True)
class PageUser:
    """Who is using the pages: the principal (for policy and services), the name shown and the session digest.
    Plain values only, so an error page can still show them after the request's session was rolled back."""

    principal: Principal
    name: str
    token_digest: str

    @property
    def role(self) -> str:
        return self.principal.role.value


def _csrf_for(secret_key: str, binding: str) -> str:
    return hmac.new(secret_key.encode(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def session_user(request: Request, session: Session) -> PageUser | None:
    """The logged-in user of a page request, or None when there is no valid session cookie."""
    cached: PageUser | None = getattr(request.state, "page_user", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    token_digest = digest(token)
    found = live_token(session, token_digest)
    if found is None:
        return None
    token_id, account = found
    user = PageUser(
        principal=principal_for_account(account, token_id=token_id),
        name=account.name,
        token_digest=token_digest,
    )
    request.state.page_user = user
    return user


def _has_api_credential(request: Request) -> bool:
    return bool(request.headers.get("authorization") or request.headers.get("x-api-key"))


def _api_user(request: Request, session: Session) -> PageUser | None:
    """Without a session cookie, a request may carry the API's credential (a bearer token or an API key):
    the pages then act for that principal, refused by the same policy as the API. Such requests carry no
    ambient credential, so they need no CSRF token."""
    if request.cookies.get(SESSION_COOKIE) or not _has_api_credential(request):
        return None
    principal = get_optional_principal(request, session)
    if principal is None:
        return None
    user = PageUser(principal=principal, name=principal.label, token_digest="")
    request.state.page_user = user
    return user


def optional_user(request: Request, session: SessionDep) -> PageUser | None:
    return session_user(request, session) or _api_user(request, session)


def require_user(request: Request, session: SessionDep) -> PageUser:
    user = session_user(request, session) or _api_user(request, session)
    if user is None:
        raise Unauthenticated("log in to use the pages")
    return user


OptionalUser = Annotated[PageUser | None, Depends(optional_user)]
CurrentUser = Annotated[PageUser, Depends(require_user)]


def csrf_token(request: Request, settings: Settings) -> str:
    """The CSRF token pages put in their forms (and in a meta tag for scripts)."""
    user: PageUser | None = getattr(request.state, "page_user", None)
    if user is not None:
        return _csrf_for(settings.secret_key, "session:" + user.token_digest)
    presession = getattr(request.state, "presession", None) or request.cookies.get(PRESESSION_COOKIE)
    if not presession:
        presession = secrets.token_urlsafe(24)
        request.state.presession_new = presession
    request.state.presession = presession
    return _csrf_for(settings.secret_key, "pre:" + presession)


def _expected_csrf(request: Request, settings: Settings, session: Session) -> str | None:
    """The token an unsafe request must carry; None when it needs none (API credentials, no cookie).
    A request with neither a valid session nor an API credential must log in first (except the login form,
    which is bound to the pre-session cookie)."""
    user = session_user(request, session)
    if user is not None:
        return _csrf_for(settings.secret_key, "session:" + user.token_digest)
    if not request.cookies.get(SESSION_COOKIE) and _has_api_credential(request):
        return None
    if request.url.path in PRESESSION_PATHS:
        presession = request.cookies.get(PRESESSION_COOKIE)
        return _csrf_for(settings.secret_key, "pre:" + presession) if presession else ""
    raise Unauthenticated("log in to use the pages")


async def csrf_protect(request: Request, settings: SettingsDep, session: SessionDep) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session (403)."""
    if request.method in SAFE_METHODS:
        return
    expected = await run_in_threadpool(_expected_csrf, request, settings, session)
    if expected is None:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
    # As bytes: compare_digest raises TypeError (a 500) on a str holding anything but ASCII.
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("the form has expired or did not come from this site (CSRF token missing or wrong)")


def _secure(settings: Settings) -> bool:
    return not settings.is_development


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(timedelta(hours=settings.token_ttl_hours).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
        path="/",
    )
    response.delete_cookie(PRESESSION_COOKIE, path="/")


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(settings))


def set_presession_cookie(request: Request, response: Response, settings: Settings) -> None:
    """Send the pre-session cookie the login form's CSRF token is bound to, when the page made a new one."""
    value = getattr(request.state, "presession_new", None)
    if value:
        response.set_cookie(
            PRESESSION_COOKIE,
            value,
            max_age=3600 * 12,
            httponly=True,
            samesite="lax",
            secure=_secure(settings),
            path="/",
        )
