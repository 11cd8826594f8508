"""The page behind the link in every deadline reminder: stop reminders, or take them again.

No session and no CSRF token: the HMAC in the link is the proof (a mail client's RFC 8058 one-click POST,
``List-Unsubscribe=One-Click``, has neither). So this router has no ``csrf_protect``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from app.db.session import SessionDep
from app.mail import unsubscribe
from app.mail.delivery import UNSUBSCRIBE_PATH
from app.settings import SettingsDep
from app.web.render import render

router = APIRouter(include_in_schema=False)

RESUBSCRIBE = "langganan"


@router.get(UNSUBSCRIBE_PATH)
def unsubscribe_page(request: Request, session: SessionDep, settings: SettingsDep, t: str = "") -> Response:
    state = unsubscribe.look(session, secret_key=settings.secret_key, secret=t)
    return render(request, "unsubscribe.html", {"state": state, "t": t})


@router.post(UNSUBSCRIBE_PATH)
def unsubscribe_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    t: str = "",
    aksi: Annotated[str, Form(max_length=20)] = "",
    one_click: Annotated[str, Form(alias="List-Unsubscribe", max_length=20)] = "",
) -> Response:
    """The page's buttons (``aksi``: ``berhenti`` or ``langganan``) and the mail clients' one-click POST."""
    stop = aksi != RESUBSCRIBE
    state = unsubscribe.change(
        session,
        secret_key=settings.secret_key,
        secret=t,
        stop=stop,
        via="one-click" if one_click == "One-Click" and not aksi else "page",
    )
    return render(request, "unsubscribe.html", {"state": state, "t": t})
