"""API schemas of logins, accounts, API keys and the audit log. Password hashes and key digests never leave
the service: no output schema has a field for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from app.accounts.principal import Role
from app.inputs import StrictId, not_null_in_schema


def _utc(value: datetime) -> datetime:
    # SQLite hands stored instants back without an offset; they are UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]
AccountRole = Literal["system_admin", "commission_admin", "verifier", "panelist", "operator"]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, examples=["ppid@kelurahan.example.go.id"])
    password: str = Field(max_length=1024)


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: AccountRole
    commission_id: int | None
    body_id: int | None = Field(description="The public body of a PPID operator.")
    active: bool
    activated: bool = Field(
        description="false while the account waits for its holder to set a password through an invitation "
        '("menunggu aktivasi"): it cannot log in until then.'
    )
    created_at: Instant


class TokenOut(BaseModel):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>`. Shown only now.")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: Instant
    account: AccountOut


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, examples=["verifikator@ki.example.go.id"])
    name: str = Field(max_length=200, examples=["Siti Rahmawati"])
    role: AccountRole
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="At least 10 characters. Leave it out to invite the holder instead: the account cannot "
        "log in until they set a password through the invitation's single-use link.",
    )
    invite: StrictBool | None = Field(
        default=None,
        description="Without a password an invitation is sent unless this is false (then send one later with "
        "POST /accounts/{id}/invitation). true together with a password is refused (422).",
    )
    commission_id: StrictId | None = Field(
        default=None,
        description="Required for every role but system_admin; a commission administrator may leave it out "
        "(its own commission).",
    )
    body_id: StrictId | None = Field(
        default=None, description="Required for an operator: a public body of the commission."
    )


# What a change may leave out but not clear.
PATCH_NOT_NULL = ("name", "email", "role", "active", "password", "old_password")


class AccountPatch(BaseModel):
    """Only the fields sent are changed. Owners may change `name` and `password` (with `old_password`);
    administrators change the rest, and an administrator's new password for someone else needs no old one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null_in_schema(*PATCH_NOT_NULL))

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: AccountRole | None = None
    body_id: StrictId | None = None
    active: StrictBool | None = Field(
        default=None, description="false deactivates: the account can no longer log in."
    )
    password: str | None = Field(default=None, max_length=1024)
    old_password: str | None = Field(
        default=None, max_length=1024, description="Required when changing your own password."
    )


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, examples=["Dashboard Diskominfo"])
    scope: Literal["read", "body"] = Field(
        description="`read`: reads the whole commission, changes nothing. `body`: acts as the PPID operator "
        "of one public body (`body_id`)."
    )
    body_id: StrictId | None = None
    commission_id: StrictId | None = Field(
        default=None, description="A system administrator must name it; a commission administrator's own."
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scope: Literal["read", "body"]
    prefix: str = Field(description="The start of the key, to tell keys apart.")
    commission_id: int
    body_id: int | None
    created_by_id: int | None
    created_at: Instant
    revoked_at: Instant | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(
        description="The key itself, shown only in this response: send it as `X-API-Key: <key>` or "
        "`Authorization: Bearer <key>`."
    )


class MeOut(BaseModel):
    role: Role
    commission_id: int | None
    body_id: int | None
    account: AccountOut | None = Field(description="The logged-in account; null for an API key.")
    api_key: ApiKeyOut | None = Field(description="The API key used; null for a logged-in account.")


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: Instant
    actor_id: int | None = Field(description="The account that acted; null for API keys and the system.")
    actor_label: str = Field(description="The account's e-mail, `api-key:<prefix>`, or `system`.")
    commission_id: int | None
    action: str = Field(examples=["account.update"])
    entity: str = Field(examples=["account"])
    entity_id: str
    before: Any
    after: Any


class InvitationOut(BaseModel):
    """An invitation written to the outbox; the link itself is only in the message."""

    account_id: int
    recipient: str
    notice_id: int = Field(description="The notice that carries the link")
    notice_status: str = Field(examples=["pending"])
    expires_at: Instant = Field(description="When the link stops working.")


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, examples=["ppid@kelurahan.example.go.id"])


class AcceptedOut(BaseModel):
    detail: str


class SetPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=200, description="The `token` of the link in the message.")
    password: str = Field(max_length=1024, description="At least 10 characters.")
