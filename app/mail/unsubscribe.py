"""Stopping deadline reminders, and taking them again: what the link in every reminder does.

The link (``/surel/berhenti?t=...``) names an address and carries an HMAC of it
(``tokens.unsubscribe_secret``); it is the only proof asked for, so the one-click POST of RFC 8058 (a mail
client's "unsubscribe" button) works without a session or a CSRF token. It can only stop or restart the
optional notices of that one address: official notices (invitations, extensions, results...) are sent
whatever it says.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db.base import utcnow
from app.db.models import MailOptOut
from app.errors import FieldProblem
from app.mail import tokens
from app.mail.outbox import normalise


def address_of(secret_key: str, secret: str) -> str:
    """The address a link names; :class:`tokens.LinkInvalid` (400) when the link is not one of ours."""
    email = tokens.unsubscribe_address(secret_key, secret) if secret else None
    if email is None:
        raise tokens.LinkInvalid(
            "the unsubscribe link is not valid (incomplete or altered)",
            errors=[FieldProblem("t", "is not a valid unsubscribe link", "Tautan ini tidak sah.")],
            indonesian="Tautan berhenti berlangganan ini tidak sah: mungkin terpotong atau berubah saat "
            "disalin. Buka tautan lengkap dari surel pengingat, atau hubungi sekretariat Komisi Informasi.",
        )
    return normalise(email)


def is_opted_out(session: Session, email: str) -> bool:
    return session.get(MailOptOut, normalise(email)) is not None


def opt_out(session: Session, email: str, *, via: str) -> bool:
    """Stop reminders to ``email`` (``via``: "page" or "one-click"); whether it changed anything. Audited."""
    email = normalise(email)
    table = MailOptOut.__table__
    assert isinstance(table, Table)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Two clicks at once (the mail client's and the page's): the second finds the row and changes nothing.
    stmt = insert(table).values(email=email, created_at=utcnow()).on_conflict_do_nothing()
    if not session.execute(stmt.returning(table.c.email)).first():
        return False
    record(
        session=session,
        actor=None,
        action="mail.opt_out",
        entity="mail_opt_out",
        entity_id=email,
        after={"email": email, "via": via},
    )
    return True


def opt_in(session: Session, email: str) -> bool:
    """Send reminders to ``email`` again; whether it changed anything. Audited."""
    email = normalise(email)
    removed = session.execute(delete(MailOptOut).where(MailOptOut.email == email)).rowcount  # type: ignore[attr-defined]
    if not removed:
        return False
    record(
        session=session,
        actor=None,
        action="mail.opt_in",
        entity="mail_opt_out",
        entity_id=email,
        before={"email": email},
    )
    return True


@dataclass(frozen=True)
class Subscription:
    """An address's reminders as the page shows them, and whether the request changed them."""

    email: str
    opted_out: bool
    changed: bool = False


def look(session: Session, *, secret_key: str, secret: str) -> Subscription:
    email = address_of(secret_key, secret)
    return Subscription(email=email, opted_out=is_opted_out(session, email))


def change(session: Session, *, secret_key: str, secret: str, stop: bool, via: str) -> Subscription:
    """Stop (``stop``) or restart the reminders of the address the link names."""
    email = address_of(secret_key, secret)
    changed = opt_out(session, email, via=via) if stop else opt_in(session, email)
    return Subscription(email=email, opted_out=stop, changed=changed)
