"""Authentication: turn a request's bearer token or API key into a Principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.principal import Principal, Role
from app.accounts.security import API_KEY_PREFIX, digest
from app.db.base import utcnow
from app.db.models import Account, ApiKey, AuthToken
from app.db.session import SessionDep
from app.errors import Unauthenticated


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


def principal_for_account(account: Account, *, token_id: int | None = None) -> Principal:
    return Principal(
        role=Role(account.role),
        label=account.email,
        account_id=account.id,
        token_id=token_id,
        commission_id=account.commission_id,
        body_id=account.body_id,
    )


def _principal_for_key(session: Session, secret: str) -> Principal | None:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(secret), ApiKey.revoked_at.is_(None)))
    if key is None:
        return None
    return Principal(
        role=Role.api_body if key.scope == "body" else Role.api_read,
        label=f"api-key:{key.prefix}",
        api_key_id=key.id,
        commission_id=key.commission_id,
        body_id=key.body_id,
    )


def live_token(session: Session, token_digest: str) -> tuple[int, Account] | None:
    """The id and account of the bearer token with this digest, if it is neither expired nor revoked and its
    account is active: the one check for API tokens and page sessions alike."""
    # Expiry is compared in SQL: SQLite hands instants back without an offset and PostgreSQL in the
    # session's zone, so comparing in Python would need care on each backend.
    row = session.execute(
        select(AuthToken.id, Account)
        .join(Account, Account.id == AuthToken.account_id)
        .where(
            AuthToken.token_hash == token_digest,
            AuthToken.revoked_at.is_(None),
            AuthToken.expires_at > utcnow(),
            Account.active.is_(True),
        )
    ).first()
    return None if row is None else (row[0], row[1])


def _principal_for_token(session: Session, secret: str) -> Principal | None:
    found = live_token(session, digest(secret))
    if found is None:
        return None
    token_id, account = found
    return principal_for_account(account, token_id=token_id)


def get_optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller, or None when the request carries no credential. A credential that is unknown, expired,
    revoked or belongs to a deactivated account is a 401, never silently anonymous."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    secret = _credential(request)
    if secret is None:
        return None
    if secret.startswith(API_KEY_PREFIX):
        principal = _principal_for_key(session, secret)
    else:
        principal = _principal_for_token(session, secret)
    if principal is None:
        raise Unauthenticated("the token or API key is invalid, expired or revoked")
    request.state.principal = principal
    return principal


def require_principal(principal: Annotated[Principal | None, Depends(get_optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthenticated("log in (POST /api/v1/auth/login) or send an API key")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
