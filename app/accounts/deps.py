"""Authentication: turn a request's bearer token or API key into a Principal."""

from __future__ import annotations

from typing import Annotated, NamedTuple, Protocol

from fastapi import Depends, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.accounts import policy
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


class AccountFields(Protocol):
    """What a principal is made of: an ``Account`` row or the columns :func:`live_token` reads."""

    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def commission_id(self) -> int | None: ...
    @property
    def body_id(self) -> int | None: ...


class LiveAccount(NamedTuple):
    """The columns of a token's account that authentication and the pages need."""

    id: int
    email: str
    name: str
    role: str
    commission_id: int | None
    body_id: int | None


# Authentication runs on every request: these look-ups select plain table columns (Core), not ORM
# entities, which saves building and tracking an ORM object per request.
_ACCOUNT = Account.__table__.c
_TOKEN = AuthToken.__table__.c
_KEY = ApiKey.__table__.c


def principal_for_account(account: AccountFields, *, token_id: int | None = None) -> Principal:
    return Principal(
        role=Role(account.role),
        label=account.email,
        account_id=account.id,
        token_id=token_id,
        commission_id=account.commission_id,
        body_id=account.body_id,
    )


# Built once: constructing a select costs more CPU than running it, and these run on every request.
# A key is live while it is not revoked and the account that issued it could still issue it (active, and an
# administrator of the key's commission or a system administrator): checked here, at every use, so that
# deactivating or demoting the issuer stops the key at once and restoring them brings it back.
_ISSUER = Account.__table__.alias("issuer")
_LIVE_KEY = (
    select(_KEY.id, _KEY.prefix, _KEY.scope, _KEY.commission_id, _KEY.body_id)
    .select_from(ApiKey.__table__.outerjoin(_ISSUER, _ISSUER.c.id == _KEY.created_by_id))
    .where(
        _KEY.key_hash == bindparam("digest"),
        _KEY.revoked_at.is_(None),
        policy.key_issuer_still_entitled(_ISSUER.c, _KEY.commission_id),
    )
)
# Expiry is compared in SQL: SQLite hands instants back without an offset and PostgreSQL in the session's
# zone, so comparing in Python would need care on each backend.
_LIVE_TOKEN = (
    select(
        _TOKEN.id,
        _ACCOUNT.id,
        _ACCOUNT.email,
        _ACCOUNT.name,
        _ACCOUNT.role,
        _ACCOUNT.commission_id,
        _ACCOUNT.body_id,
    )
    .select_from(AuthToken.__table__.join(Account.__table__, _ACCOUNT.id == _TOKEN.account_id))
    .where(
        _TOKEN.token_hash == bindparam("digest"),
        _TOKEN.revoked_at.is_(None),
        _TOKEN.expires_at > bindparam("now"),
        _ACCOUNT.active.is_(True),
    )
)


def _principal_for_key(session: Session, secret: str) -> Principal | None:
    key = session.execute(_LIVE_KEY, {"digest": digest(secret)}).first()
    if key is None:
        return None
    return Principal(
        role=Role.api_body if key.scope == "body" else Role.api_read,
        label=f"api-key:{key.prefix}",
        api_key_id=key.id,
        commission_id=key.commission_id,
        body_id=key.body_id,
    )


def live_token(session: Session, token_digest: str) -> tuple[int, LiveAccount] | None:
    """The id and account of the bearer token with this digest, if it is neither expired nor revoked and its
    account is active: the one check for API tokens and page sessions alike."""
    row = session.execute(_LIVE_TOKEN, {"digest": token_digest, "now": utcnow()}).first()
    return None if row is None else (row[0], LiveAccount(*row[1:]))


def _principal_for_token(session: Session, secret: str) -> Principal | None:
    found = live_token(session, digest(secret))
    if found is None:
        return None
    token_id, account = found
    return principal_for_account(account, token_id=token_id)


def get_optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller, or None when the request carries no credential. A credential that is unknown, expired,
    revoked or belongs to a deactivated account, or an API key whose issuer is deactivated or no longer an
    administrator of its commission, is a 401, never silently anonymous."""
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
        raise Unauthenticated(
            "the token or API key is invalid, expired or revoked (an API key also stops when the "
            "administrator who issued it is deactivated or no longer administers its commission)"
        )
    request.state.principal = principal
    return principal


NOT_LOGGED_IN = "log in (POST /api/v1/auth/login) or send an API key"


async def require_principal(
    principal: Annotated[Principal | None, Depends(get_optional_principal)],
) -> Principal:
    # async: it does no I/O, and a sync dependency would cost a thread-pool hop on every request.
    if principal is None:
        raise Unauthenticated(NOT_LOGGED_IN)
    return principal


async def require_credential(request: Request) -> None:
    """401 at once for a request without any credential; checking the credential is left to
    :func:`authenticate`, called by a route that does all its database work in one thread-pool call."""
    if _credential(request) is None:
        raise Unauthenticated(NOT_LOGGED_IN)


def authenticate(request: Request, session: Session) -> Principal:
    """The caller, as ``CurrentPrincipal`` gives it (401 when the credential is missing or not valid), for a
    route that authenticates inside its own thread-pool call instead of in a dependency of its own."""
    principal = get_optional_principal(request, session)
    if principal is None:
        raise Unauthenticated(NOT_LOGGED_IN)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
CredentialRequired = Depends(require_credential)
