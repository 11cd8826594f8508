"""Logins, accounts, API keys and reading the audit log.

Every change is audited with the account's public fields only: a password hash, a token or a key never
reaches the audit log (a password change shows as ``"password": "changed"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts import throttle as throttling
from app.accounts.notices import write_invitation
from app.accounts.principal import Principal, Role
from app.accounts.schemas import PATCH_NOT_NULL
from app.accounts.security import (
    digest,
    hash_password,
    key_prefix,
    needs_rehash,
    new_api_key,
    new_token,
    unusable_password,
    verify_password,
)
from app.accounts.throttle import LoginThrottle
from app.audit.service import record
from app.db.base import utcnow
from app.db.models import Account, ApiKey, AuditEntry, AuthToken, Commission, PublicBody
from app.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    ProblemCollector,
    Unauthenticated,
)
from app.mail import tokens
from app.pagination import PageParams, PageResult, paginate

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024
BAD_LOGIN = "the email or password is wrong"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- Validation ------------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_email(problems: ProblemCollector, email: str, field: str = "email") -> str:
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 320:
        problems.add(field, "is not an email address", "Alamat surel ini tidak sah.")
    return email


def _check_name(problems: ProblemCollector, name: str) -> str:
    name = name.strip()
    if not name:
        problems.add("name", "must not be empty", "Nama wajib diisi.")
    elif len(name) > 200:
        problems.add("name", "must be at most 200 characters", "Nama paling panjang 200 karakter.")
    return name


def check_password(problems: ProblemCollector, password: str, field: str = "password") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.add(
            field,
            f"must be at least {PASSWORD_MIN_LENGTH} characters",
            f"Kata sandi paling sedikit {PASSWORD_MIN_LENGTH} karakter.",
        )
    elif len(password) > PASSWORD_MAX_LENGTH:
        problems.add(
            field,
            f"must be at most {PASSWORD_MAX_LENGTH} characters",
            f"Kata sandi paling panjang {PASSWORD_MAX_LENGTH} karakter.",
        )


def _check_placement(
    session: Session,
    problems: ProblemCollector,
    *,
    role: Role,
    commission_id: int | None,
    body_id: int | None,
) -> None:
    """A system administrator belongs to no commission; every other account to one; an operator (only)
    to one public body of that commission."""
    if role is Role.system_admin:
        if commission_id is not None:
            problems.add(
                "commission_id",
                "a system administrator belongs to no commission",
                "Administrator sistem tidak terikat pada satu Komisi Informasi.",
            )
    elif commission_id is None:
        problems.add(
            "commission_id", f"required for the role {role.value}", "Pilih Komisi Informasi akun ini."
        )
    elif session.get(Commission, commission_id) is None:
        problems.add(
            "commission_id", f"no commission with id {commission_id}", "Komisi Informasi ini tidak ada."
        )
    if role is Role.operator:
        if body_id is None:
            problems.add(
                "body_id",
                "required for an operator: the public body it answers for",
                "Pilih badan publik yang diwakili PPID ini.",
            )
        elif commission_id is not None:
            body = session.get(PublicBody, body_id)
            if body is None or body.commission_id != commission_id:
                problems.add(
                    "body_id",
                    f"no public body with id {body_id} in this commission",
                    "Badan publik ini bukan badan publik Komisi Informasi ini.",
                )
    elif body_id is not None:
        problems.add(
            "body_id",
            "only an operator belongs to a public body",
            "Hanya akun PPID yang terikat pada badan publik.",
        )


def _email_taken(session: Session, email: str, *, except_id: int | None = None) -> bool:
    stmt = select(Account.id).where(Account.email == email)
    if except_id is not None:
        stmt = stmt.where(Account.id != except_id)
    return session.scalar(stmt) is not None


def _email_conflict() -> Conflict:
    return Conflict(
        "an account with this email already exists",
        errors=[
            FieldProblem("email", "is already used by another account", "Surel ini sudah dipakai akun lain.")
        ],
        indonesian="Sudah ada akun dengan surel ini.",
    )


def public_fields(account: Account) -> dict[str, Any]:
    """What the audit log may keep of an account."""
    return {
        "email": account.email,
        "name": account.name,
        "role": account.role,
        "commission_id": account.commission_id,
        "body_id": account.body_id,
        "active": account.active,
    }


# --- Login ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    account: Account


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-only-for-timing")


def login(
    *,
    session: Session,
    email: str,
    password: str,
    ttl_hours: int,
    throttle: LoginThrottle,
    now: datetime | None = None,
) -> LoginResult:
    """Check the credentials and issue an opaque bearer token (stored only as its digest). An unknown email
    and a wrong password get the same answer, after the same work, and count alike towards throttling the
    email: while it is throttled (:class:`LoginThrottled`) the password is not checked at all.

    A failed login writes its failure before raising ``Unauthenticated``: the caller must commit it."""
    now = now or utcnow()
    email = normalise_email(email)
    key = throttling.email_hash(email)
    throttling.ensure_allowed(session, key=key, throttle=throttle, now=now)
    account = session.scalar(select(Account).where(Account.email == email))
    if account is None:
        verify_password(_dummy_hash(), password)
        _login_failed(session, key=key, throttle=throttle, now=now, account=None)
    elif not account.activated:
        # Invited, no password yet: the same answer after the same work as a wrong password.
        verify_password(_dummy_hash(), password)
        _login_failed(session, key=key, throttle=throttle, now=now, account=account)
    elif not verify_password(account.password_hash, password):
        _login_failed(session, key=key, throttle=throttle, now=now, account=account)
    if not account.active:
        raise Forbidden("this account is deactivated; ask your administrator")
    throttling.clear(session, key=key)
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return start_session(session=session, account=account, ttl_hours=ttl_hours, now=now)


def start_session(*, session: Session, account: Account, ttl_hours: int, now: datetime) -> LoginResult:
    """Issue a bearer token for an account whose holder has just proved who they are."""
    token = new_token()
    expires_at = now + timedelta(hours=ttl_hours)
    session.add(AuthToken(account_id=account.id, token_hash=digest(token), expires_at=expires_at))
    session.flush()
    return LoginResult(token=token, expires_at=expires_at, account=account)


def _login_failed(
    session: Session, *, key: str, throttle: LoginThrottle, now: datetime, account: Account | None
) -> NoReturn:
    """Count the failure, audit the start of throttling, and refuse the login."""
    until = throttling.record_failure(session, key=key, throttle=throttle, now=now)
    if until is not None:
        window = {
            "failures": throttle.max_failures,
            "window_minutes": int(throttle.window.total_seconds() // 60),
            "until": until.isoformat(),
        }
        # An unknown email is kept only as its digest: what was typed may be someone's password.
        record(
            session=session,
            actor=None,
            action="login.throttle",
            entity="account" if account else "login",
            entity_id=account.id if account else key,
            after=({"email": account.email} if account else {"email_sha256": key}) | window,
            commission_id=account.commission_id if account else None,
        )
        session.flush()
    raise Unauthenticated(BAD_LOGIN)


def logout(*, session: Session, by: Principal) -> None:
    """Revoke the token the request came with."""
    if by.token_id is None:
        raise Forbidden(
            "an API key cannot log out; an administrator revokes it (DELETE /api/v1/api-keys/{id})"
        )
    token = session.get(AuthToken, by.token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def revoke_tokens(session: Session, account_id: int, *, keep: int | None = None) -> None:
    """End the account's sessions and API tokens (all but ``keep``)."""
    stmt = update(AuthToken).where(AuthToken.account_id == account_id, AuthToken.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthToken.id != keep)
    session.execute(stmt.values(revoked_at=utcnow()))


@dataclass(frozen=True)
class Me:
    principal: Principal
    account: Account | None
    api_key: ApiKey | None


def me(*, session: Session, by: Principal) -> Me:
    return Me(
        principal=by,
        account=session.get(Account, by.account_id) if by.account_id is not None else None,
        api_key=session.get(ApiKey, by.api_key_id) if by.api_key_id is not None else None,
    )


# --- Accounts ---------------------------------------------------------------------------------------------


def create_account(
    *,
    session: Session,
    by: Principal,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    commission_id: int | None = None,
    body_id: int | None = None,
    invite: bool | None = None,
    invitation_valid_for: timedelta = timedelta(days=7),
) -> Account:
    """Create an account. A commission administrator creates accounts of its own commission (the default);
    a system administrator creates system administrators and accounts of any commission.

    Without a password the account cannot log in until its holder sets one: an invitation with a single-use
    link is written in the same transaction (``invite`` false: none yet; one is sent later). An invitation
    goes only to an account without a password (``invite`` true with a password is refused)."""
    if commission_id is None and role is not Role.system_admin:
        commission_id = policy.commission_scope(by, None)
    policy.ensure_manage_account(by, role=role, commission_id=commission_id)
    problems = ProblemCollector()
    email = _check_email(problems, email)
    name = _check_name(problems, name)
    if password is not None:
        check_password(problems, password)
        if invite:
            problems.add(
                "invite",
                "an invitation is for an account without a password: leave out the password or the invite",
                "Undangan hanya untuk akun tanpa kata sandi: kosongkan kata sandi atau jangan kirim "
                "undangan.",
            )
    _check_placement(session, problems, role=role, commission_id=commission_id, body_id=body_id)
    problems.raise_if_any("the account cannot be created", "Akun belum dapat dibuat.")
    if _email_taken(session, email):
        raise _email_conflict()
    account = Account(
        email=email,
        name=name,
        role=role.value,
        password_hash=hash_password(password) if password is not None else unusable_password(),
        commission_id=commission_id,
        body_id=body_id,
        active=True,
    )
    session.add(account)
    session.flush()  # a concurrent insert of the e-mail: 409 (app/db/uniqueness.py)
    record(
        session=session,
        actor=by,
        action="account.create",
        entity="account",
        entity_id=account.id,
        after=public_fields(account),
        commission_id=account.commission_id,
    )
    session.flush()
    if password is None and invite is not False:
        write_invitation(session, account=account, valid_for=invitation_valid_for)
    return account


def list_accounts(
    *,
    session: Session,
    by: Principal,
    params: PageParams,
    commission_id: int | None = None,
    role: Role | None = None,
    active: bool | None = None,
    body_id: int | None = None,
) -> PageResult[Account]:
    """Accounts a principal manages: a commission administrator its commission's, a system administrator
    everybody's (or one commission's)."""
    scope = policy.commission_scope(by, commission_id)
    if scope is None:
        policy.ensure_system_admin(by)
    else:
        policy.ensure_admin(by, scope)
    stmt = select(Account)
    if scope is not None:
        stmt = stmt.where(Account.commission_id == scope)
    if role is not None:
        stmt = stmt.where(Account.role == role.value)
    if active is not None:
        stmt = stmt.where(Account.active.is_(active))
    if body_id is not None:
        stmt = stmt.where(Account.body_id == body_id)
    return paginate(session=session, stmt=stmt, id_column=Account.id, params=params)


def _account_or_404(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id}")
    return account


def get_account(*, session: Session, by: Principal, account_id: int) -> Account:
    account = _account_or_404(session, account_id)
    policy.ensure_read_account(by, account)
    return account


def update_account(
    *, session: Session, by: Principal, account_id: int, changes: Mapping[str, Any]
) -> Account:
    """Apply the fields present in ``changes``. Changing one's own password needs the old one; a new
    password or a deactivation ends the account's other sessions."""
    account = _account_or_404(session, account_id)
    fields = set(changes) - {"old_password"}
    new_role = Role(changes.get("role") or account.role)
    policy.ensure_change_account(by, account, fields=fields, new_role=new_role)

    problems = ProblemCollector()
    for field in PATCH_NOT_NULL:
        if field in changes and changes[field] is None:
            problems.add(field, "must not be null", "Isian ini wajib diisi.")
    problems.raise_if_any("the account cannot be changed", "Akun belum dapat diubah.")

    is_self = by.account_id == account.id
    new: dict[str, Any] = {}
    if "name" in changes:
        new["name"] = _check_name(problems, changes["name"])
    if "email" in changes:
        new["email"] = _check_email(problems, changes["email"])
    if "active" in changes:
        new["active"] = bool(changes["active"])
    if "role" in changes:
        new["role"] = new_role.value
    if "body_id" in changes:
        new["body_id"] = changes["body_id"]
    elif "role" in changes and new_role is not Role.operator:
        new["body_id"] = None  # leaving the operator role leaves the body
    if "role" in changes and (new_role is Role.system_admin) != (account.role == Role.system_admin.value):
        problems.add(
            "role",
            "a system administrator and a commission account cannot turn into each other",
            "Akun administrator sistem dan akun Komisi Informasi tidak dapat saling diubah.",
        )
    elif "role" in changes or "body_id" in changes:
        _check_placement(
            session,
            problems,
            role=new_role,
            commission_id=account.commission_id,
            body_id=new.get("body_id", account.body_id),
        )
    password: str | None = changes.get("password")
    if password is not None:
        check_password(problems, password)
        if is_self:
            old = changes.get("old_password")
            if old is None:
                problems.add(
                    "old_password",
                    "required to change your own password",
                    "Masukkan kata sandi lama untuk mengganti kata sandi Anda.",
                )
            elif not verify_password(account.password_hash, old):
                problems.add("old_password", "is wrong", "Kata sandi lama salah.")
    elif "old_password" in changes:
        problems.add(
            "old_password",
            "send it only together with a new password",
            "Kata sandi lama hanya diisi bersama kata sandi baru.",
        )
    problems.raise_if_any("the account cannot be changed", "Akun belum dapat diubah.")
    if "email" in new and new["email"] != account.email and _email_taken(session, new["email"]):
        raise _email_conflict()

    before = public_fields(account)
    for key, value in new.items():
        setattr(account, key, value)
    after = public_fields(account)
    changed = {key for key in after if after[key] != before[key]}
    audit_before = {key: before[key] for key in sorted(changed)}
    audit_after = {key: after[key] for key in sorted(changed)}
    if password is not None:
        account.password_hash = hash_password(password)
        audit_after["password"] = "changed"  # noqa: S105 - the fact of a change, never the value
        revoke_tokens(session, account.id, keep=by.token_id if is_self else None)
        tokens.revoke_all(session, account.id)  # an invitation or reset link is moot now
    if "active" in changed and not account.active:
        revoke_tokens(session, account.id)
        tokens.revoke_all(session, account.id)
    if "email" in changed:
        # A link already mailed to the old address (a typo, a PPID who left) must not open the account.
        tokens.revoke_all(session, account.id)
    session.flush()  # a concurrent insert of the e-mail: 409 (app/db/uniqueness.py)
    if audit_after:
        record(
            session=session,
            actor=by,
            action="account.update",
            entity="account",
            entity_id=account.id,
            before=audit_before,
            after=audit_after,
            commission_id=account.commission_id,
        )
        session.flush()
    return account


# --- API keys ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedKey:
    row: ApiKey
    key: str


def create_api_key(
    *,
    session: Session,
    by: Principal,
    name: str,
    scope: str,
    body_id: int | None = None,
    commission_id: int | None = None,
) -> CreatedKey:
    """Issue an integrator's key. Only its digest and a short prefix are kept: the key is shown once."""
    commission_id = policy.commission_scope(by, commission_id)
    if commission_id is None:
        policy.ensure_system_admin(by)
        raise InvalidInput(
            "name the commission the key belongs to",
            errors=[
                FieldProblem(
                    "commission_id",
                    "required for a system administrator",
                    "Pilih Komisi Informasi kunci API ini.",
                )
            ],
            indonesian="Sebutkan Komisi Informasi pemilik kunci API ini.",
        )
    policy.ensure_admin(by, commission_id)
    problems = ProblemCollector()
    name = _check_name(problems, name)
    if session.get(Commission, commission_id) is None:
        problems.add(
            "commission_id", f"no commission with id {commission_id}", "Komisi Informasi ini tidak ada."
        )
    elif scope == "body":
        body = session.get(PublicBody, body_id) if body_id is not None else None
        if body_id is None:
            problems.add(
                "body_id", "required for a body-scoped key", "Pilih badan publik yang diwakili kunci API ini."
            )
        elif body is None or body.commission_id != commission_id:
            problems.add(
                "body_id",
                f"no public body with id {body_id} in this commission",
                "Badan publik ini bukan badan publik Komisi Informasi ini.",
            )
    elif body_id is not None:
        problems.add(
            "body_id",
            "only a body-scoped key names a public body",
            "Hanya kunci API untuk satu badan publik yang menyebut badan publik.",
        )
    problems.raise_if_any("the API key cannot be created", "Kunci API belum dapat dibuat.")
    key = new_api_key()
    row = ApiKey(
        name=name,
        prefix=key_prefix(key),
        key_hash=digest(key),
        scope=scope,
        commission_id=commission_id,
        body_id=body_id if scope == "body" else None,
        created_by_id=by.account_id,
    )
    session.add(row)
    session.flush()
    record(
        session=session,
        actor=by,
        action="api_key.create",
        entity="api_key",
        entity_id=row.id,
        after={"name": row.name, "scope": row.scope, "prefix": row.prefix, "body_id": row.body_id},
        commission_id=commission_id,
    )
    session.flush()
    return CreatedKey(row=row, key=key)


def list_api_keys(
    *, session: Session, by: Principal, params: PageParams, commission_id: int | None = None
) -> PageResult[ApiKey]:
    scope = policy.commission_scope(by, commission_id)
    if scope is None:
        policy.ensure_system_admin(by)
    else:
        policy.ensure_admin(by, scope)
    stmt = select(ApiKey)
    if scope is not None:
        stmt = stmt.where(ApiKey.commission_id == scope)
    return paginate(session=session, stmt=stmt, id_column=ApiKey.id, params=params)


def revoke_api_key(*, session: Session, by: Principal, key_id: int) -> None:
    """Revoke a key: it gets 401 from then on. Revoking a revoked key changes nothing."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    policy.ensure_admin(by, key.commission_id)
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    record(
        session=session,
        actor=by,
        action="api_key.revoke",
        entity="api_key",
        entity_id=key.id,
        before={"revoked": False},
        after={"revoked": True},
        commission_id=key.commission_id,
    )
    session.flush()


# --- Audit log --------------------------------------------------------------------------------------------


def list_audit(
    *,
    session: Session,
    by: Principal,
    params: PageParams,
    commission_id: int | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
) -> PageResult[AuditEntry]:
    """Audit entries, oldest first. ``actor`` is an account id or an actor label (an e-mail or
    ``api-key:<prefix>``)."""
    scope = policy.commission_scope(by, commission_id)
    policy.ensure_audit_reader(by, scope)
    stmt = select(AuditEntry)
    if scope is not None:
        stmt = stmt.where(AuditEntry.commission_id == scope)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        if actor.isdigit():
            stmt = stmt.where(AuditEntry.actor_id == int(actor))
        else:
            stmt = stmt.where(AuditEntry.actor_label == actor)
    return paginate(session=session, stmt=stmt, id_column=AuditEntry.id, params=params)
