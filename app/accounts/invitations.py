"""Setting a password through a single-use link: (re)sending an invitation, asking for a password reset,
and using either link.

A password reset gives the same answer whether or not the address belongs to an account (nobody learns
which addresses have accounts); requests are counted per address and per client in ``request_throttle``
whether or not it does, and the caller commits that count before the rest of the request
(:func:`count_password_reset`), so a request that fails afterwards still counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import policy, throttle
from app.accounts import service as accounts
from app.accounts.notices import SentLink, write_invitation, write_password_reset
from app.accounts.principal import Principal, Role
from app.accounts.security import hash_password
from app.audit.service import record
from app.db.base import utcnow
from app.db.models import Account, AccountToken
from app.errors import Conflict, ProblemCollector
from app.mail import tokens
from app.settings import Settings

RESET_PER_ADDRESS = "password_reset:address"
RESET_PER_CLIENT = "password_reset:client"


def resend_invitation(
    *, session: Session, by: Principal, account_id: int, valid_for: timedelta, now: datetime | None = None
) -> SentLink:
    """A new invitation for an account that has no password yet; its earlier invitation links stop working.
    An account that has a password (set by its holder or an administrator) or is deactivated gets a 409:
    its holder asks for a password reset instead."""
    account = accounts.get_account(session=session, by=by, account_id=account_id)
    policy.ensure_manage_account(by, role=Role(account.role), commission_id=account.commission_id)
    if not account.active:
        raise Conflict(
            "the account is deactivated: activate it before inviting its holder",
            indonesian="Akun ini dinonaktifkan. Aktifkan dulu sebelum mengirim undangan.",
        )
    if account.activated:
        raise Conflict(
            "the account already has a password: its holder uses “forgot password” "
            "(POST /api/v1/auth/password-reset) instead of an invitation",
            indonesian="Akun ini sudah memiliki kata sandi. Pemiliknya dapat memakai “Lupa kata sandi?” di "
            "halaman masuk.",
        )
    sent = write_invitation(session, account=account, valid_for=valid_for, now=now)
    record(
        session=session,
        actor=by,
        action="account.invite",
        entity="account",
        entity_id=account.id,
        after={
            "email": account.email,
            "notice_id": sent.notice.id,
            "valid_until": sent.token.expires_at.isoformat(),
        },
        commission_id=account.commission_id,
    )
    return sent


def reset_limits(settings: Settings) -> tuple[throttle.RequestLimit, throttle.RequestLimit]:
    window = timedelta(minutes=settings.password_reset_window_minutes)
    return (
        throttle.RequestLimit(RESET_PER_CLIENT, settings.password_reset_per_client, window),
        throttle.RequestLimit(RESET_PER_ADDRESS, settings.password_reset_per_address, window),
    )


def count_password_reset(
    *, session: Session, email: str, client: str, settings: Settings, now: datetime | None = None
) -> None:
    """Count a password-reset request for this address and this client (whether or not the address has an
    account), or raise :class:`throttle.RequestsThrottled` when either had its limit within the window. The
    caller commits the count before going on."""
    per_client, per_address = reset_limits(settings)
    throttle.count_request(
        session,
        [(per_client, client), (per_address, accounts.normalise_email(email))],
        now=now or utcnow(),
    )


def request_password_reset(
    *, session: Session, email: str, settings: Settings, now: datetime | None = None
) -> None:
    """Write a reset link and its notice for the active account with this address, if there is one. Returns
    nothing either way: the caller's answer must not tell."""
    account = session.scalar(select(Account).where(Account.email == accounts.normalise_email(email)))
    if account is None or not account.active:
        return
    write_password_reset(
        session,
        account=account,
        valid_for=timedelta(minutes=settings.password_reset_valid_minutes),
        now=now,
    )


def link_account(
    *, session: Session, secret: str, settings: Settings, now: datetime | None = None
) -> tuple[AccountToken, Account]:
    """The live link a secret names and its (active) account; :class:`tokens.LinkInvalid` otherwise."""
    token = tokens.find_valid(session, secret_key=settings.secret_key, secret=secret, now=now)
    account = session.get(Account, token.account_id)
    if account is None or not account.active:
        raise tokens.LinkInvalid(
            "the link is not valid: its account is deactivated",
            indonesian="Tautan ini tidak berlaku lagi: akunnya dinonaktifkan.",
        )
    return token, account


def set_password(
    *, session: Session, secret: str, password: str, settings: Settings, now: datetime | None = None
) -> accounts.LoginResult:
    """Use a link: set the account's password, mark the link used, stop the account's other links and end its
    sessions, and log its holder in (the result's token)."""
    now = now or utcnow()
    token, account = link_account(session=session, secret=secret, settings=settings, now=now)
    problems = ProblemCollector()
    accounts.check_password(problems, password)
    problems.raise_if_any("the password cannot be set", "Kata sandi belum dapat diatur.")
    first = not account.activated
    token.used_at = now
    account.password_hash = hash_password(password)
    tokens.revoke_all(session, account.id, now=now)
    accounts.revoke_tokens(session, account.id)
    record(
        session=session,
        actor=None,
        action="account.set_password",
        entity="account",
        entity_id=account.id,
        after={
            "email": account.email,
            "password": "set" if first else "changed",
            "link": token.purpose,
            "token_id": token.id,
        },
        commission_id=account.commission_id,
    )
    session.flush()
    return accounts.start_session(
        session=session, account=account, ttl_hours=settings.token_ttl_hours, now=now
    )
