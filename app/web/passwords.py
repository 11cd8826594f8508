"""The pages to ask for a password reset ("Lupa kata sandi?") and to set a password with a single-use link
(an invitation's or a reset's). Public pages: their forms are bound to the pre-session cookie like the login
form (``app.web.session``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from app.accounts import invitations
from app.accounts.throttle import RequestsThrottled
from app.db.session import SessionDep
from app.errors import InvalidInput
from app.mail import tokens
from app.settings import SettingsDep
from app.web.render import redirect, render
from app.web.session import (
    FORGOT_PASSWORD_PATH,
    SET_PASSWORD_PATH,
    OptionalUser,
    set_session_cookie,
)

router = APIRouter()

RESET_SENT = (
    "Bila surel ini terdaftar pada akun yang aktif, kami sudah mengirim tautan untuk membuat kata sandi baru "
    "ke alamat itu. Tautan hanya dapat dipakai sekali dan berlaku {minutes} menit. Periksa juga folder spam."
)
PASSWORDS_DIFFER = "Kedua kata sandi tidak sama. Ketik ulang."


@router.get(FORGOT_PASSWORD_PATH)
def forgot_page(request: Request, user: OptionalUser) -> Response:
    return render(request, "password_forgot.html", {"email": "", "error": None, "sent": None})


@router.post(FORGOT_PASSWORD_PATH)
def forgot_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUser,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    if not email.strip():
        return render(
            request,
            "password_forgot.html",
            {"email": "", "error": "Isi alamat surel akun Anda.", "sent": None},
            status_code=422,
        )
    client = request.client.host if request.client is not None else "unknown"
    try:
        invitations.count_password_reset(session=session, email=email, client=client, settings=settings)
    except RequestsThrottled as exc:
        page = render(
            request,
            "password_forgot.html",
            {
                "email": email,
                "error": "Terlalu banyak permintaan tautan kata sandi. "
                f"Coba lagi dalam {exc.retry_after_minutes} menit.",
                "sent": None,
            },
            status_code=429,
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    session.commit()  # the count stays, whatever happens next
    invitations.request_password_reset(session=session, email=email, settings=settings)
    sent = RESET_SENT.format(minutes=settings.password_reset_valid_minutes)
    return render(request, "password_forgot.html", {"email": "", "error": None, "sent": sent})


def _invalid(request: Request, exc: tokens.LinkInvalid) -> Response:
    return render(
        request,
        "password_link_invalid.html",
        {"message": exc.indonesian or "Tautan ini tidak berlaku lagi."},
        status_code=400,
    )


@router.get(SET_PASSWORD_PATH)
def set_password_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: OptionalUser, token: str = ""
) -> Response:
    try:
        link, account = invitations.link_account(session=session, secret=token[:200], settings=settings)
    except tokens.LinkInvalid as exc:
        return _invalid(request, exc)
    return render(
        request,
        "password_set.html",
        {"token": token, "email": account.email, "purpose": link.purpose, "errors": []},
    )


@router.post(SET_PASSWORD_PATH)
def set_password_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUser,
    token: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        link, account = invitations.link_account(session=session, secret=token, settings=settings)
        if password != password_again:
            errors = [PASSWORDS_DIFFER]
        else:
            result = invitations.set_password(
                session=session, secret=token, password=password, settings=settings
            )
            response = redirect("/", message="kata-sandi-diatur")
            set_session_cookie(response, result.token, settings)
            return response
    except tokens.LinkInvalid as exc:
        return _invalid(request, exc)
    except InvalidInput as exc:
        errors = [problem.indonesian or problem.message for problem in exc.errors]
    return render(
        request,
        "password_set.html",
        {"token": token, "email": account.email, "purpose": link.purpose, "errors": errors},
        status_code=422,
    )
