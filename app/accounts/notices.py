"""The two notices about an account itself: an invitation to set a password, and a password reset.

Each writes a single-use link (``app.mail.tokens``; a newer link of the same purpose replaces the account's
earlier ones) and its notice in the caller's transaction; the link itself is made only when the message is
sent. Kept apart from ``service`` so that creating an account can invite without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.principal import Role
from app.db.base import utcnow
from app.db.models import Account, AccountToken, Commission, Notice, PublicBody
from app.mail import tokens
from app.mail.outbox import Event, Letter, Recipient, notice_key, notify

# How the messages name each role ("... sebagai Verifikator").
ROLE_WORDS = {
    Role.system_admin.value: "Administrator Sistem",
    Role.commission_admin.value: "Administrator Komisi Informasi",
    Role.verifier.value: "Verifikator",
    Role.panelist.value: "Juri",
    Role.operator.value: "PPID (operator badan publik)",
}
# The sender's name when the account belongs to no commission (a system administrator).
NO_COMMISSION = "Komisi Informasi"


@dataclass(frozen=True)
class SentLink:
    """A link written for an account, and the notice that will carry it."""

    account: Account
    token: AccountToken
    notice: Notice


def _write(
    session: Session, *, account: Account, event: Event, purpose: str, valid_for: timedelta, now: datetime
) -> SentLink:
    token = tokens.issue(session, account=account, purpose=purpose, valid_for=valid_for, now=now)
    commission = session.get(Commission, account.commission_id) if account.commission_id else None
    body = session.get(PublicBody, account.body_id) if account.body_id else None
    ref = f"account_token:{token.id}"
    notify(
        session,
        event=event,
        ref=ref,
        letters=[
            Letter(
                Recipient(account.email, account_id=account.id, body_id=account.body_id),
                {
                    "greeting": account.name,
                    "email": account.email,
                    "role_words": ROLE_WORDS.get(account.role, account.role),
                    "body_name": body.name if body is not None else None,
                    "valid_until": token.expires_at.isoformat(),
                    "token_id": token.id,
                },
            )
        ],
        commission_id=commission.id if commission is not None else None,
        commission_name=commission.name if commission is not None else NO_COMMISSION,
    )
    notice = session.scalars(select(Notice).where(Notice.key == notice_key(event, ref, account.email))).one()
    return SentLink(account=account, token=token, notice=notice)


def write_invitation(
    session: Session, *, account: Account, valid_for: timedelta, now: datetime | None = None
) -> SentLink:
    """An invitation to set the account's first password (the account's earlier invitations stop working)."""
    return _write(
        session,
        account=account,
        event=Event.account_invitation,
        purpose=tokens.INVITATION,
        valid_for=valid_for,
        now=now or utcnow(),
    )


def write_password_reset(
    session: Session, *, account: Account, valid_for: timedelta, now: datetime | None = None
) -> SentLink:
    """A link to choose a new password (the account's earlier reset links stop working)."""
    return _write(
        session,
        account=account,
        event=Event.password_reset,
        purpose=tokens.PASSWORD_RESET,
        valid_for=valid_for,
        now=now or utcnow(),
    )
