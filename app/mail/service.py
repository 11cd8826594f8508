"""The secretariat's view of e-mail: the notices of a round or a commission, how many are in each state, one
notice's history, and sending one again.

Who may: the administrators of the notice's commission and system administrators
(``policy.ensure_notice_admin``); anyone else is answered 404, as if the notice (or the round's list) did
not exist. Nothing here shows a link's secret: the outbox keeps none (app/mail/tokens.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.db.base import utcnow
from app.db.models import Commission, Notice, Round
from app.errors import Conflict, Forbidden, NotFound
from app.mail.delivery import queue_delivery
from app.mail.outbox import (
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    STATUS_WORDS,
    UNCERTAIN,
    Event,
)

STATUSES = (PENDING, SENDING, SENT, FAILED, UNCERTAIN, CANCELLED)
# A person may ask for these to be sent again; a pending or sending one is on its way already.
RESENDABLE = frozenset({SENT, FAILED, UNCERTAIN, CANCELLED})
# Their link is single use and may be used, replaced or expired: a fresh invitation or reset makes a new one.
NEW_LINK_EVENTS = {
    Event.account_invitation.value: "Kirim undangan baru dari halaman akun; undangan lama tidak dikirim "
    "ulang karena tautannya sekali pakai dan mungkin sudah dipakai, diganti, atau kedaluwarsa.",
    Event.password_reset.value: "Minta atur ulang kata sandi yang baru; pesan lama tidak dikirim ulang "
    "karena tautannya sekali pakai dan mungkin sudah dipakai, diganti, atau kedaluwarsa.",
}


@dataclass(frozen=True)
class NoticeFilters:
    """What a list of notices is narrowed to: a status, an event, a body, a part of the recipient's
    address (case-insensitive)."""

    status: str | None = None
    event: str | None = None
    body_id: int | None = None
    recipient: str | None = None


def _not_found(notice_id: int) -> NotFound:
    return NotFound(f"notice {notice_id} does not exist", indonesian="Surel ini tidak ada.")


def get_notice(*, session: Session, notice_id: int, by: Principal) -> Notice:
    """One notice, for those who may see its commission's mail (404 for everyone else)."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise _not_found(notice_id)
    try:
        policy.ensure_notice_admin(by, notice.commission_id)
    except Forbidden as exc:
        raise _not_found(notice_id) from exc
    return notice


def round_for_notices(*, session: Session, round_id: int, by: Principal) -> Round:
    """The round whose notices are asked for, if ``by`` may see them (404 otherwise)."""
    round_ = session.get(Round, round_id)
    missing = NotFound(f"round {round_id} does not exist", indonesian="Periode ini tidak ada.")
    if round_ is None:
        raise missing
    try:
        policy.ensure_notice_admin(by, round_.commission_id)
    except Forbidden as exc:
        raise missing from exc
    return round_


def commission_for_notices(*, session: Session, commission_id: int, by: Principal) -> Commission:
    """The commission whose notices are asked for, if ``by`` may see them (404 otherwise)."""
    commission = session.get(Commission, commission_id)
    missing = NotFound(
        f"commission {commission_id} does not exist", indonesian="Komisi Informasi ini tidak ada."
    )
    if commission is None:
        raise missing
    try:
        policy.ensure_notice_admin(by, commission.id)
    except Forbidden as exc:
        raise missing from exc
    return commission


def _filtered(stmt: Select[Any], filters: NoticeFilters) -> Select[Any]:
    if filters.status is not None:
        stmt = stmt.where(Notice.status == filters.status)
    if filters.event is not None:
        stmt = stmt.where(Notice.event == filters.event)
    if filters.body_id is not None:
        stmt = stmt.where(Notice.body_id == filters.body_id)
    needle = (filters.recipient or "").strip().lower()
    if needle:
        # Addresses are stored in lower case; the wildcards of LIKE are matched as themselves.
        stmt = stmt.where(Notice.recipient.contains(needle, autoescape=True))
    return stmt


def round_notices_query(*, round_: Round, filters: NoticeFilters) -> Select[Any]:
    """The round's notices (the caller checked ``round_for_notices``), to be paged by id."""
    return _filtered(select(Notice).where(Notice.round_id == round_.id), filters)


def commission_notices_query(
    *, commission: Commission, filters: NoticeFilters, without_round: bool = False
) -> Select[Any]:
    """The commission's notices, of every round and of none (invitations, password resets); with
    ``without_round`` only the latter."""
    stmt = select(Notice).where(Notice.commission_id == commission.id)
    if without_round:
        stmt = stmt.where(Notice.round_id.is_(None))
    return _filtered(stmt, filters)


def status_counts(
    *, session: Session, round_id: int | None = None, commission_id: int | None = None, without_round: bool
) -> dict[str, int]:
    """How many notices are in each status (every status named, 0 included), of a round or of a
    commission (``without_round``: only those tied to no round)."""
    stmt = select(Notice.status, func.count()).group_by(Notice.status)
    if round_id is not None:
        stmt = stmt.where(Notice.round_id == round_id)
    if commission_id is not None:
        stmt = stmt.where(Notice.commission_id == commission_id)
    if without_round:
        stmt = stmt.where(Notice.round_id.is_(None))
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(stmt):
        counts[status] = int(count)
    return counts


def resend_refusal(notice: Notice) -> Conflict | None:
    """Why the notice cannot be sent again now, or None when it can."""
    if notice.event in NEW_LINK_EVENTS:
        return Conflict(
            f"a {notice.event} notice is not resent: its single-use link may be used, replaced or expired; "
            "send a new invitation or password reset instead",
            indonesian=NEW_LINK_EVENTS[notice.event],
        )
    if notice.status not in RESENDABLE:
        return Conflict(
            f"the notice is {notice.status}: it is on its way already",
            indonesian=f"Surel ini sedang dalam proses ({STATUS_WORDS[notice.status]}); tunggu sampai "
            "hasil pengirimannya tercatat.",
            notice_status=notice.status,
        )
    return None


def resend(*, session: Session, notice_id: int, by: Principal) -> Notice:
    """Send a sent, failed, uncertain or cancelled notice again: it becomes pending at once (attempts 0)
    with one more resend, so it carries a new Message-ID, and the delivery job is queued. A reminder that
    is no longer wanted (the body has submitted since) is cancelled again by the delivery itself."""
    notice = get_notice(session=session, notice_id=notice_id, by=by)
    refusal = resend_refusal(notice)
    if refusal is not None:
        raise refusal
    before = {
        "status": notice.status,
        "resends": notice.resends,
        "message_id": notice.message_id,
        "last_response": notice.last_response,
    }
    # Conditional on the status read: a resend racing another (or a worker) changes nothing twice.
    changed = session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.status == notice.status, Notice.resends == notice.resends)
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            resends=Notice.resends + 1,
            claimed_at=None,
            claimed_by=None,
            sent_at=None,
            transport=None,
            message_id=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise Conflict(
            "the notice changed while it was being resent; read it again",
            indonesian="Surel ini baru saja diubah orang lain; muat ulang halaman.",
        )
    session.refresh(notice)
    queue_delivery(session)
    record(
        session=session,
        actor=by,
        action="notice.resend",
        entity="notice",
        entity_id=notice.id,
        before=before,
        after={
            "event": notice.event,
            "recipient": notice.recipient,
            "subject": notice.subject,
            "status": PENDING,
            "resends": notice.resends,
        },
        commission_id=notice.commission_id,
    )
    return notice
