"""Who is making a request: a logged-in account or an integrator's API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    system_admin = "system_admin"
    commission_admin = "commission_admin"
    verifier = "verifier"
    panelist = "panelist"
    operator = "operator"
    # Integrators' keys act with one of these two roles.
    api_read = "api_read"
    api_body = "api_body"


@dataclass(frozen=True)
class Principal:
    role: Role
    label: str
    account_id: int | None = None
    api_key_id: int | None = None
    commission_id: int | None = None
    body_id: int | None = None
    # The login token this request came with (so logout can revoke exactly it).
    token_id: int | None = None

    @property
    def is_system_admin(self) -> bool:
        return self.role is Role.system_admin

    @property
    def actor_key(self) -> str:
        """A stable string naming the actor, e.g. for idempotency keys."""
        return f"account:{self.account_id}" if self.account_id is not None else f"api_key:{self.api_key_id}"


SYSTEM = Principal(role=Role.system_admin, label="system")
