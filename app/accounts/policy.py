"""Authorisation: the one place that says who may see and change what.

Every route asks one of these functions before it touches data, and the permission-matrix test drives every
route with every role, so a new route cannot forget. Rules:

- a system administrator may do anything;
- everything else belongs to one commission: nobody reaches another commission's data;
- a commission administrator manages the commission's rounds, bodies, accounts and results;
- a verifier sees the commission's rounds and only the bodies assigned to it (in any round);
- a panel member sees the commission's rounds and scores stages;
- a PPID operator, and a body-scoped API key, see and edit only their own body;
- a read-only API key reads the whole commission and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session

from app.accounts.principal import Principal, Role
from app.db.models import PublicBody, VerifierAssignment
from app.errors import Forbidden

COMMISSION_STAFF = frozenset({Role.commission_admin, Role.verifier, Role.panelist, Role.api_read})
BODY_SCOPED = frozenset({Role.operator, Role.api_body})


def _same_commission(principal: Principal, commission_id: int) -> bool:
    return principal.is_system_admin or principal.commission_id == commission_id


def ensure_system_admin(principal: Principal) -> None:
    if not principal.is_system_admin:
        raise Forbidden("only a system administrator may do this")


def ensure_admin(principal: Principal, commission_id: int) -> None:
    """Manage the commission: rounds, bodies, accounts, publication."""
    if principal.is_system_admin:
        return
    if principal.role is not Role.commission_admin or principal.commission_id != commission_id:
        raise Forbidden("only an administrator of this commission may do this")


def ensure_member(principal: Principal, commission_id: int) -> None:
    """Read the commission's general data (its rounds, categories, templates): any role of the commission."""
    if not _same_commission(principal, commission_id):
        raise Forbidden("this belongs to another commission")


def ensure_commission_reader(principal: Principal, commission_id: int) -> None:
    """Read everything of a commission: administrators, panel members and read-only keys (not verifiers,
    who see only their assigned bodies, nor operators)."""
    if principal.is_system_admin:
        return
    allowed = {Role.commission_admin, Role.panelist, Role.api_read}
    if principal.role not in allowed or principal.commission_id != commission_id:
        raise Forbidden("you may not read all of this commission's data")


def is_assigned(session: Session, principal: Principal, body_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    VerifierAssignment.verifier_id == principal.account_id,
                    VerifierAssignment.body_id == body_id,
                )
            )
        )
    )


def can_read_body(session: Session, principal: Principal, *, commission_id: int, body_id: int) -> bool:
    if principal.is_system_admin:
        return True
    if principal.commission_id != commission_id:
        return False
    if principal.role in {Role.commission_admin, Role.panelist, Role.api_read}:
        return True
    if principal.role in BODY_SCOPED:
        return principal.body_id == body_id
    if principal.role is Role.verifier:
        return is_assigned(session, principal, body_id)
    return False


def ensure_read_body(session: Session, principal: Principal, *, commission_id: int, body_id: int) -> None:
    if not can_read_body(session, principal, commission_id=commission_id, body_id=body_id):
        raise Forbidden("you may not see this public body's data")


def ensure_answer_for_body(principal: Principal, *, commission_id: int, body_id: int) -> None:
    """Fill in and submit a body's SAQ: its PPID operator or a body-scoped key only."""
    if (
        principal.role in BODY_SCOPED
        and principal.commission_id == commission_id
        and principal.body_id == body_id
    ):
        return
    raise Forbidden("only this body's PPID operator may change its answers")


def ensure_verify_body(session: Session, principal: Principal, *, commission_id: int, body_id: int) -> None:
    """Verify a body's answers: its assigned verifier, or an administrator of the commission."""
    if principal.is_system_admin:
        return
    if principal.commission_id == commission_id:
        if principal.role is Role.commission_admin:
            return
        if principal.role is Role.verifier and is_assigned(session, principal, body_id):
            return
    raise Forbidden("only the verifier assigned to this body, or an administrator, may verify it")


def ensure_panelist(principal: Principal, commission_id: int) -> None:
    if principal.is_system_admin:
        return
    if (
        principal.role not in {Role.panelist, Role.commission_admin}
        or principal.commission_id != commission_id
    ):
        raise Forbidden("only a panel member of this commission may score stages")


def visible_bodies(principal: Principal, commission_id: int) -> ColumnElement[bool]:
    """A WHERE clause on ``PublicBody`` limiting a list to what the principal may see."""
    if principal.is_system_admin or (
        principal.commission_id == commission_id
        and principal.role in {Role.commission_admin, Role.panelist, Role.api_read}
    ):
        return PublicBody.commission_id == commission_id
    if principal.commission_id != commission_id:
        return ~true()
    if principal.role in BODY_SCOPED:
        return PublicBody.id == principal.body_id
    if principal.role is Role.verifier:
        return PublicBody.id.in_(
            select(VerifierAssignment.body_id).where(VerifierAssignment.verifier_id == principal.account_id)
        )
    return ~true()
