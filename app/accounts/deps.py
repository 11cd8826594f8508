"""Authentication: turn a request's bearer token or API key into a Principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

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


def principal_for_account(account: Account) -> Principal:
    return Principal(
        role=Role(account.role),
        label=account.email,
        account_id=account.id,
        commission_id=account.commission_id,
        body_id=account.body_id,
    )


def get_optional_principal(request: Request, session: SessionDep) -> Principal | None:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    secret = _credential(request)
    if secret is None:
        return None
    now = utcnow()
    principal: Principal | None = None
    if secret.startswith(API_KEY_PREFIX):
        key = session.scalar(
            select(ApiKey).where(ApiKey.key_hash == digest(secret), ApiKey.revoked_at.is_(None))
        )
        if key is not None:
            principal = Principal(
                role=Role.api_body if key.scope == "body" else Role.api_read,
                label=f"api-key:{key.prefix}",
                api_key_id=key.id,
                commission_id=key.commission_id,
                body_id=key.body_id,
            )
    else:
        row = session.execute(
            select(AuthToken, Account)
            .join(Account, Account.id == AuthToken.account_id)
            .where(AuthToken.token_hash == digest(secret), AuthToken.revoked_at.is_(None))
        ).first()
        if row is not None:
            token, account = row
            if token.expires_at.replace(tzinfo=now.tzinfo) > now and account.active:
                principal = principal_for_account(account)
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
