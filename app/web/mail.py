"""The secretariat's mail pages: the notices of a round ("Surel"), of the commission without a round
(account invitations, password resets) with the commission's mail settings, a button to send one again, and
in development without SMTP the "Surel (pengembangan)" page where an administrator reads each message as it
was (or would be) sent.

The pages call ``app.mail.service`` as the API does: administrators of the notice's commission and system
administrators only, 404 for everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import Select, select

from app.accounts.principal import Principal, Role
from app.commissions import service as commissions
from app.commissions.schemas import MAX_SIGNATURE_LENGTH, MAX_SIGNATURE_LINES
from app.commissions.service import commission_timezone, commissions_query
from app.db.models import Commission, Notice
from app.db.session import SessionDep
from app.errors import InvalidInput, NotFound
from app.inputs import Id
from app.mail import service
from app.mail.delivery import build_message, render_notice
from app.mail.outbox import EVENT_WORDS, STATUS_WORDS
from app.pagination import PageParams, paginate
from app.settings import Settings, SettingsDep
from app.web import format as fmt
from app.web.forms import read_form
from app.web.render import redirect, render
from app.web.session import CurrentUser

router = APIRouter()

SHOWN = 50
DEV_PAGE = "/surel/pengembangan"
BADGES = {
    "pending": "badge-info",
    "sending": "badge-info",
    "sent": "badge-ok",
    "failed": "badge-bad",
    "uncertain": "badge-warn",
    "cancelled": "badge-warn",
}
# The status tabs of a list, in the order a secretary looks at them.
TABS = ("failed", "uncertain", "pending", "sending", "sent", "cancelled")
# The HTML of a message, framed on the development page: no scripts, no requests anywhere, its own origin.
MESSAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox"
)

StatusParam = Annotated[str | None, Query(alias="keadaan", max_length=16)]
SearchParam = Annotated[str | None, Query(alias="cari", max_length=320)]
CursorParam = Annotated[str | None, Query(alias="lanjut", max_length=100)]


@dataclass(frozen=True)
class NoticeView:
    """A notice as the pages show it: Indonesian words, the commission's time zone."""

    id: int
    event_label: str
    status: str
    status_label: str
    badge: str
    recipient: str
    subject: str
    attempts: int
    resends: int
    last_response: str | None
    written: str
    sent: str
    next_attempt: str
    message_id: str | None
    resendable: bool
    no_resend_reason: str | None


def notice_view(notice: Notice, timezone: str) -> NoticeView:
    refusal = service.resend_refusal(notice)
    return NoticeView(
        id=notice.id,
        event_label=EVENT_WORDS.get(notice.event, notice.event),
        status=notice.status,
        status_label=STATUS_WORDS.get(notice.status, notice.status),
        badge=BADGES.get(notice.status, "badge-info"),
        recipient=notice.recipient,
        subject=notice.subject,
        attempts=notice.attempts,
        resends=notice.resends,
        last_response=notice.last_response,
        written=fmt.when(notice.created_at, timezone),
        sent=fmt.when(notice.sent_at, timezone) if notice.sent_at else "",
        next_attempt=fmt.when(notice.next_attempt_at, timezone),
        message_id=notice.message_id,
        resendable=refusal is None,
        # Invitations and resets are never resent (their link); a pending one simply has no button.
        no_resend_reason=refusal.indonesian
        if refusal is not None and notice.event in service.NEW_LINK_EVENTS
        else None,
    )


def _status(value: str | None) -> str | None:
    return value if value in service.STATUSES else None


def _listing(
    session: SessionDep, stmt: Select[Notice], cursor: str | None, timezone: str
) -> tuple[list[NoticeView], str | None]:
    params = PageParams(limit=SHOWN, cursor=cursor or None)
    try:
        params.after_id  # noqa: B018 - a cursor this page did not make starts the list again
    except InvalidInput:
        params = PageParams(limit=SHOWN)
    page = paginate(session=session, stmt=stmt, id_column=Notice.id, params=params)
    return [notice_view(n, timezone) for n in page.rows], page.next_cursor


def _dev_page_open(settings: Settings) -> bool:
    return not settings.smtp_url and settings.is_development


@router.get("/ronde/{round_id}/surel")
def round_mail_page(
    round_id: Id,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    status: StatusParam = None,
    search: SearchParam = None,
    cursor: CursorParam = None,
) -> Response:
    """The round's notices, by status, with the server's answer for the refused ones and "Kirim ulang"."""
    round_ = service.round_for_notices(session=session, round_id=round_id, by=user.principal)
    tz = commission_timezone(session, round_.commission_id)
    status = _status(status)
    filters = service.NoticeFilters(status=status, recipient=search)
    notices, next_cursor = _listing(
        session, service.round_notices_query(round_=round_, filters=filters), cursor, tz
    )
    return render(
        request,
        "admin/mail.html",
        {
            "round": round_,
            "commission": session.get(Commission, round_.commission_id),
            "base": f"/ronde/{round_.id}/surel",
            "counts": service.status_counts(session=session, round_id=round_.id, without_round=False),
            "notices": notices,
            "status": status,
            "search": search or "",
            "next_cursor": next_cursor,
            "tabs": TABS,
            "words": STATUS_WORDS,
            "dev_page": _dev_page_open(settings),
        },
    )


@router.get("/komisi/{commission_id}/surel")
def commission_mail_page(
    commission_id: Id,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    status: StatusParam = None,
    search: SearchParam = None,
    cursor: CursorParam = None,
) -> Response:
    """The commission's notices tied to no round (account invitations, password resets), and its mail
    settings: the reply-to address and the signature."""
    commission = service.commission_for_notices(
        session=session, commission_id=commission_id, by=user.principal
    )
    status = _status(status)
    filters = service.NoticeFilters(status=status, recipient=search)
    stmt = service.commission_notices_query(commission=commission, filters=filters, without_round=True)
    notices, next_cursor = _listing(session, stmt, cursor, commission.timezone)
    return render(
        request,
        "admin/mail.html",
        {
            "round": None,
            "commission": commission,
            "base": f"/komisi/{commission.id}/surel",
            "counts": service.status_counts(session=session, commission_id=commission.id, without_round=True),
            "notices": notices,
            "status": status,
            "search": search or "",
            "next_cursor": next_cursor,
            "tabs": TABS,
            "words": STATUS_WORDS,
            "dev_page": _dev_page_open(settings),
            "max_signature_lines": MAX_SIGNATURE_LINES,
            "max_signature_length": MAX_SIGNATURE_LENGTH,
        },
    )


@router.post("/komisi/{commission_id}/surel/pengaturan")
async def save_mail_settings(
    commission_id: Id, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The commission's reply-to address and signature (empty: none, and the default signature)."""
    form = await read_form(request)
    commission = service.commission_for_notices(
        session=session, commission_id=commission_id, by=user.principal
    )
    commissions.update_commission(
        session=session,
        commission=commission,
        changes={
            "mail_reply_to": str(form.get("mail_reply_to") or ""),
            "mail_signature": str(form.get("mail_signature") or ""),
        },
        by=user.principal,
    )
    return redirect(f"/komisi/{commission.id}/surel#h-pengaturan", message="tersimpan")


@router.post("/surel/{notice_id}/kirim-ulang")
def resend(notice_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Send a notice again; back to the list it was on."""
    notice = service.resend(session=session, notice_id=notice_id, by=user.principal)
    back = (
        f"/ronde/{notice.round_id}/surel"
        if notice.round_id is not None
        else f"/komisi/{notice.commission_id}/surel"
    )
    return redirect(f"{back}#surel-{notice.id}", message="surel-dikirim-ulang")


@router.get("/surel")
def mail_start(request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Where the "Surel" menu leads: a commission administrator's own commission, a system administrator's
    choice of commission."""
    principal = user.principal
    if principal.role is Role.commission_admin and principal.commission_id is not None:
        return redirect(f"/komisi/{principal.commission_id}/surel")
    if not principal.is_system_admin:
        raise NotFound("no mail pages for this role", indonesian="Halaman ini tidak ada.")
    return render(
        request,
        "admin/mail_start.html",
        {
            "commissions": session.scalars(commissions_query(by=principal).order_by(Commission.name)).all(),
            "dev_page": _dev_page_open(settings),
        },
    )


# --- Development without SMTP ------------------------------------------------------------------------------


def _dev_scope(principal: Principal, settings: Settings) -> int | None:
    """The commission whose messages the development page shows (None: every one, a system administrator);
    404 when mail is really sent (EMONEV_SMTP_URL set) or in production, and for anyone but an
    administrator."""
    missing = NotFound(
        "the development mail page exists only in development without EMONEV_SMTP_URL",
        indonesian="Halaman ini hanya ada di lingkungan pengembangan tanpa server SMTP.",
    )
    if not _dev_page_open(settings):
        raise missing
    if principal.is_system_admin:
        return None
    if principal.role is not Role.commission_admin or principal.commission_id is None:
        raise missing
    return principal.commission_id


def _dev_notice(session: SessionDep, notice_id: int, principal: Principal, settings: Settings) -> Notice:
    _dev_scope(principal, settings)
    return service.get_notice(session=session, notice_id=notice_id, by=principal)


@router.get(DEV_PAGE)
def dev_mail_page(
    request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    """Development without SMTP: the newest messages, each readable as it was (or would be) sent."""
    scope = _dev_scope(user.principal, settings)
    stmt = select(Notice).order_by(Notice.id.desc()).limit(SHOWN)
    if scope is not None:
        stmt = stmt.where(Notice.commission_id == scope)
    tz = commission_timezone(session, scope)
    return render(
        request,
        "admin/mail_dev.html",
        {"notices": [notice_view(n, tz) for n in session.scalars(stmt)], "notice": None},
    )


# The message's headers as the page names them.
_HEADER_LABELS = (
    ("From", "Pengirim"),
    ("To", "Penerima"),
    ("Reply-To", "Balasan ke"),
    ("Subject", "Perihal"),
    ("List-Unsubscribe", "Tautan berhenti berlangganan"),
)


@router.get(DEV_PAGE + "/{notice_id}")
def dev_mail_message(
    notice_id: Id, request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    """One message as it was (or would be) sent: its headers, its text, its HTML (framed, sandboxed)."""
    notice = _dev_notice(session, notice_id, user.principal, settings)
    message = build_message(session, notice, settings)
    text = message.get_body(preferencelist=("plain",))
    headers = [(label, str(message[name])) for name, label in _HEADER_LABELS if message[name] is not None]
    return render(
        request,
        "admin/mail_dev.html",
        {
            "notices": [],
            "notice": notice_view(notice, commission_timezone(session, notice.commission_id)),
            "headers": headers,
            "text": text.get_content() if text is not None else "",
        },
    )


@router.get(DEV_PAGE + "/{notice_id}/html")
def dev_mail_html(notice_id: Id, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """The message's HTML part alone, for the development page's frame: sandboxed (no scripts, no
    requests, an origin of its own) and framable by this site only."""
    notice = _dev_notice(session, notice_id, user.principal, settings)
    rendered, _sender, _links = render_notice(session, notice, settings)
    return HTMLResponse(
        rendered.html,
        headers={
            "Content-Security-Policy": MESSAGE_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )
