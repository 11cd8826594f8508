"""Single-use links to set an account's password (an invitation, a password reset) and the links to stop
deadline reminders.

A link's secret is ``<token id>.<HMAC(secret key, purpose, id, nonce)>``: the database keeps the id, the
nonce and the state (expiry, used, revoked), never the secret, and the outbox makes the link only when it
sends the message. Changing EMONEV_SECRET_KEY invalidates every link not yet used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import Account, AccountToken
from app.errors import EmonevError, FieldProblem

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
PURPOSES = (INVITATION, PASSWORD_RESET)


class LinkInvalid(EmonevError):
    """The link is unknown, used, replaced by a newer one, or expired (one answer for all: a guessed link
    learns nothing)."""

    status = 400
    type_slug = "link-invalid"
    title = "Link not valid"


def _mac(secret_key: str, purpose: str, token_id: int, nonce: str) -> str:
    digest = hmac.new(
        secret_key.encode(), f"account-token:{purpose}:{token_id}:{nonce}".encode(), hashlib.sha256
    )
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def issue(
    session: Session, *, account: Account, purpose: str, valid_for: timedelta, now: datetime | None = None
) -> AccountToken:
    """A new link of ``purpose`` for ``account``; the account's earlier unused links of that purpose stop
    working (a re-sent invitation replaces the old one)."""
    assert purpose in PURPOSES
    now = now or utcnow()
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.account_id == account.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token = AccountToken(
        account_id=account.id,
        purpose=purpose,
        nonce=secrets.token_hex(16),
        expires_at=now + valid_for,
        created_at=now,
    )
    session.add(token)
    session.flush()
    return token


def secret_of(secret_key: str, token: AccountToken) -> str:
    """The link's secret (what goes in the URL)."""
    return f"{token.id}.{_mac(secret_key, token.purpose, token.id, token.nonce)}"


def find_valid(
    session: Session, *, secret_key: str, secret: str, purpose: str | None = None, now: datetime | None = None
) -> AccountToken:
    """The live token a link's secret names, locked for the caller's transaction (two uses of one link at
    once: the second waits and then finds it used). Raises :class:`LinkInvalid` otherwise."""
    invalid = LinkInvalid(
        "the link is not valid: it was used, replaced by a newer one, or has expired; ask for a new one",
        errors=[FieldProblem("token", "is not a valid link", "Tautan ini tidak berlaku lagi.")],
        indonesian="Tautan ini tidak berlaku lagi: sudah dipakai, diganti tautan yang lebih baru, atau "
        "kedaluwarsa. Minta tautan baru.",
    )
    token_id, _, mac = secret.partition(".")
    # isascii: "²".isdigit() is true, and int() refuses it.
    if not (token_id.isascii() and token_id.isdigit()) or len(token_id) > 18 or not mac:
        raise invalid
    token = session.get(AccountToken, int(token_id), with_for_update=True)
    if token is None or (purpose is not None and token.purpose != purpose):
        raise invalid
    if not hmac.compare_digest(mac, _mac(secret_key, token.purpose, token.id, token.nonce)):
        raise invalid
    if token.used_at is not None or token.revoked_at is not None:
        raise invalid
    if as_utc(token.expires_at) <= (now or utcnow()):
        raise invalid
    return token


def revoke_all(session: Session, account_id: int, now: datetime | None = None) -> None:
    """Every unused link of the account stops working (its password was set, it was deactivated)."""
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.account_id == account_id,
            AccountToken.used_at.is_(None),
            AccountToken.revoked_at.is_(None),
        )
        .values(revoked_at=now or utcnow())
    )


# --- unsubscribe links -----------------------------------------------------------------------------------


def unsubscribe_secret(secret_key: str, email: str) -> str:
    """The secret of an address's link to stop reminders: the address and an HMAC of it (a link stays valid,
    and works once more after a person subscribes again; it can only stop reminders to that address)."""
    address = base64.urlsafe_b64encode(email.encode()).rstrip(b"=").decode()
    digest = hmac.new(secret_key.encode(), f"unsubscribe:{email}".encode(), hashlib.sha256).digest()
    return f"{address}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def unsubscribe_address(secret_key: str, secret: str) -> str | None:
    """The address an unsubscribe secret names, or None when it is not one of ours."""
    address, _, _mac_part = secret.partition(".")
    try:
        email = base64.urlsafe_b64decode(address + "=" * (-len(address) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(unsubscribe_secret(secret_key, email), secret):
        return None
    return email
