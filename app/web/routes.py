"""Server-rendered pages in Bahasa Indonesia: login, the dashboards, and the routers of each role's pages.

Pages live outside ``/api/v1``. They authenticate with a session cookie (``app.web.session``), check CSRF on
every POST through one router dependency, call the domain services directly and render Jinja2 templates.
Errors on pages are Indonesian HTML pages (``app.web.errors``); the JSON endpoints the pages' scripts
call live under ``/web/`` and answer problem+json like the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.staticfiles import StaticFiles

from app.accounts import service as accounts
from app.accounts.principal import Role
from app.accounts.throttle import LoginThrottle, LoginThrottled
from app.commissions.service import commission_timezone
from app.db.base import utcnow
from app.db.models import PublicBody
from app.db.session import SessionDep
from app.errors import Forbidden, Unauthenticated
from app.portal.limits import public_rate_limit
from app.rounds import service as rounds
from app.settings import SettingsDep
from app.web import (
    admin,
    downloads,
    jobs,
    letters,
    mail,
    operator,
    panel,
    passwords,
    portal,
    unsubscribe,
    verifier,
)
from app.web.errors import install_page_errors
from app.web.render import redirect, render
from app.web.session import (
    CurrentUser,
    OptionalUser,
    PageUser,
    clear_session_cookie,
    csrf_protect,
    set_session_cookie,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme) may be the page after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return redirect(_safe_next(next))
    return render(request, "login.html", {"next": _safe_next(next), "email": "", "error": None})


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    try:
        result = accounts.login(
            session=session,
            email=email,
            password=password,
            ttl_hours=settings.token_ttl_hours,
            throttle=LoginThrottle.from_settings(settings),
        )
    except LoginThrottled as exc:
        error = (
            "Terlalu banyak percobaan masuk yang gagal dengan surel ini. "
            f"Coba lagi dalam {exc.retry_after_minutes} menit."
        )
        page = render(
            request, "login.html", {"next": _safe_next(next), "email": email, "error": error}, status_code=429
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except Unauthenticated:
        error = "Surel atau kata sandi salah."
        return render(
            request, "login.html", {"next": _safe_next(next), "email": email, "error": error}, status_code=401
        )
    except Forbidden:
        error = "Akun ini dinonaktifkan. Hubungi administrator Komisi Informasi."
        return render(
            request, "login.html", {"next": _safe_next(next), "email": email, "error": error}, status_code=403
        )
    response = redirect(_safe_next(next))
    set_session_cookie(response, result.token, settings)
    return response


@router.post("/logout")
def logout(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    accounts.logout(session=session, by=user.principal)
    response = redirect("/login", message="keluar")
    clear_session_cookie(response, settings)
    return response


@router.api_route("/", methods=["GET", "HEAD"])
def dashboard(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    """Each role's starting page: the body's rounds, the verifier's bodies, or the commission's rounds; an
    anonymous visitor gets the public results portal. The answer depends on the cookie (``Vary``)."""
    if user is None:
        public_rate_limit(request)
        response = portal.home_page(request, session)
    else:
        response = _start_page(request, session, user)
    response.headers["Vary"] = "Accept-Encoding, Cookie, Authorization"
    return response


def _start_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    principal = user.principal
    now = utcnow()
    timezone = commission_timezone(session, principal.commission_id)
    if principal.role in {Role.operator, Role.api_body}:
        body = session.get(PublicBody, principal.body_id) if principal.body_id is not None else None
        of_body = rounds.rounds_of_body(session=session, body=body) if body is not None else []
        return render(
            request,
            "operator/dashboard.html",
            {"body": body, "rounds": of_body, "now": now, "tz": timezone},
        )
    if principal.role is Role.panelist:
        return render(request, "panel/stages.html", {"sheets": panel.judge_sheets(session, user)})
    if principal.role is Role.verifier:
        return render(
            request,
            "verifier/dashboard.html",
            {"assignments": verifier.assignments(session, user), "now": now, "tz": timezone},
        )
    return render(
        request,
        "admin/dashboard.html",
        {"rounds": rounds.recent_rounds(session=session, by=principal), "now": now, "tz": timezone},
    )


router.include_router(passwords.router)
router.include_router(operator.router)
router.include_router(verifier.router)
router.include_router(admin.router)
router.include_router(panel.router)
router.include_router(downloads.router)
router.include_router(jobs.router)
router.include_router(mail.router)
router.include_router(letters.router)


def install(app: FastAPI) -> None:
    """Serve the pages and their static files, and give page paths HTML error pages."""
    app.include_router(router)
    app.include_router(unsubscribe.router)  # no CSRF: its link is the proof
    app.include_router(portal.router)  # public, GET only: no session, no CSRF
    app.include_router(operator.json_router)
    app.include_router(jobs.json_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_page_errors(app)
