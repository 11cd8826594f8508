"""Authorisation: the one place that says who may see and change what.

Every route asks one of these functions before it touches data, and the permission-matrix test drives every
route with every role, so a new route cannot forget. Rules:

- a system administrator may do anything;
- everything else belongs to one commission: nobody reaches another commission's data;
- a commission administrator manages the commission's rounds, bodies, accounts and results;
- a verifier sees the commission's rounds and only the bodies assigned to it: for a round's data
  (submissions, verification, objections, link checks, invitations) only the bodies assigned to it in that
  round; for a body's own record, bodies assigned to it in any round; a SAQ the body may still fill in
  (a draft before its own deadline, extensions included) stays the body's own until it is submitted or
  the deadline passed;
- a panel member sees the commission's rounds and scores stages;
- a PPID operator, and a body-scoped API key, see and edit only their own body;
- a read-only API key reads the whole commission and changes nothing; any API key works only while the
  account that issued it could still issue it (``key_issuer_still_entitled``).
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import KeyedColumnElement

from app.accounts.principal import Principal, Role
from app.db.models import Account, PublicBody, VerifierAssignment
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


def ensure_template_admin(principal: Principal) -> None:
    """Upload SAQ template versions (shared by every commission): system or commission administrators."""
    if principal.role not in {Role.system_admin, Role.commission_admin}:
        raise Forbidden("only an administrator may upload SAQ templates")


def ensure_member(principal: Principal, commission_id: int) -> None:
    """Read the commission's general data (its rounds, categories, templates): any role of the commission."""
    if not _same_commission(principal, commission_id):
        raise Forbidden("this belongs to another commission")


def sees_only_own_body(principal: Principal) -> bool:
    """A PPID operator or a body API key: of data about several bodies it sees only its own body's part."""
    return principal.role in BODY_SCOPED


def ensure_commission_reader(principal: Principal, commission_id: int) -> None:
    """Read everything of a commission: administrators, panel members and read-only keys (not verifiers,
    who see only their assigned bodies, nor operators)."""
    if principal.is_system_admin:
        return
    allowed = {Role.commission_admin, Role.panelist, Role.api_read}
    if principal.role not in allowed or principal.commission_id != commission_id:
        raise Forbidden("you may not read all of this commission's data")


def is_assigned(session: Session, principal: Principal, body_id: int, *, round_id: int | None) -> bool:
    """Whether the verifier is assigned to the body in round ``round_id``; with ``None`` (no round in
    question, as for the body's own record), in any round."""
    condition = and_(
        VerifierAssignment.verifier_id == principal.account_id, VerifierAssignment.body_id == body_id
    )
    if round_id is not None:
        condition = and_(condition, VerifierAssignment.round_id == round_id)
    return bool(session.scalar(select(exists().where(condition))))


def can_read_body(
    session: Session, principal: Principal, *, commission_id: int, body_id: int, round_id: int | None
) -> bool:
    """Read a body's data; ``round_id`` is the round the data belongs to (a submission's, an evidence
    file's), ``None`` for the body's own record or data of every round."""
    if principal.is_system_admin:
        return True
    if principal.commission_id != commission_id:
        return False
    if principal.role in {Role.commission_admin, Role.panelist, Role.api_read}:
        return True
    if principal.role in BODY_SCOPED:
        return principal.body_id == body_id
    if principal.role is Role.verifier:
        return is_assigned(session, principal, body_id, round_id=round_id)
    return False


def ensure_read_body(
    session: Session, principal: Principal, *, commission_id: int, body_id: int, round_id: int | None
) -> None:
    if not can_read_body(session, principal, commission_id=commission_id, body_id=body_id, round_id=round_id):
        raise Forbidden("you may not see this public body's data")


STILL_FILLING_TEXT = (
    "SAQ ini masih diisi oleh badan publik; verifikator dapat membukanya setelah SAQ dikirim atau batas "
    "waktu pengisiannya lewat."
)


def ensure_not_still_filling(principal: Principal, *, filling_until: datetime | None) -> None:
    """A SAQ the body may still fill in (``filling_until``: when its window closes for it, extensions
    included; ``None`` once it was submitted or the window closed) is the body's work in progress: its
    verifier sees none of it (answers, files, links) until then. Administrators still may."""
    if filling_until is not None and principal.role is Role.verifier:
        raise Forbidden(
            "the body is still filling in this SAQ: its verifier sees it once it is submitted or the body's "
            f"SAQ window closes ({filling_until.isoformat()})",
            indonesian=STILL_FILLING_TEXT,
            closes_at=filling_until.isoformat(),
        )


def ensure_read_submission(
    session: Session,
    principal: Principal,
    *,
    commission_id: int,
    body_id: int,
    round_id: int,
    filling_until: datetime | None,
) -> None:
    """Read a body's SAQ in a round (answers, evidence files): whoever may read the body's data of that
    round, a verifier only once the SAQ is no longer being filled (``ensure_not_still_filling``)."""
    ensure_read_body(session, principal, commission_id=commission_id, body_id=body_id, round_id=round_id)
    ensure_not_still_filling(principal, filling_until=filling_until)


def ensure_answer_for_body(principal: Principal, *, commission_id: int, body_id: int) -> None:
    """Fill in and submit a body's SAQ: its PPID operator or a body-scoped key only."""
    if (
        principal.role in BODY_SCOPED
        and principal.commission_id == commission_id
        and principal.body_id == body_id
    ):
        return
    raise Forbidden("only this body's PPID operator may change its answers")


def ensure_reopen_submission(principal: Principal, commission_id: int) -> None:
    """Reopen a body's submitted SAQ before its verification starts: the commission's secretariat
    (its administrators) and system administrators; never the body itself nor its verifier."""
    if principal.is_system_admin:
        return
    if principal.role is not Role.commission_admin or principal.commission_id != commission_id:
        raise Forbidden("only the commission's secretariat may reopen a submitted SAQ")


def ensure_verify_body(
    session: Session, principal: Principal, *, commission_id: int, body_id: int, round_id: int
) -> None:
    """Verify a body's answers in a round: the verifier assigned to it in that round, or an administrator
    of the commission."""
    if not can_verify_body(
        session, principal, commission_id=commission_id, body_id=body_id, round_id=round_id
    ):
        raise Forbidden(
            "only the verifier assigned to this body in this round, or an administrator, may verify it"
        )


def ensure_panelist(principal: Principal, commission_id: int) -> None:
    if principal.is_system_admin:
        return
    if (
        principal.role not in {Role.panelist, Role.commission_admin}
        or principal.commission_id != commission_id
    ):
        raise Forbidden("only a panel member of this commission may score stages")


def visible_bodies(principal: Principal, commission_id: int, *, round_id: int | None) -> ColumnElement[bool]:
    """A WHERE clause on ``PublicBody`` limiting a list to what the principal may see: for a list of a
    round's data pass ``round_id`` (a verifier sees the bodies assigned to it in that round), for a list of
    bodies themselves ``None`` (assigned in any round)."""
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
        assigned = select(VerifierAssignment.body_id).where(
            VerifierAssignment.verifier_id == principal.account_id
        )
        if round_id is not None:
            assigned = assigned.where(VerifierAssignment.round_id == round_id)
        return PublicBody.id.in_(assigned)
    return ~true()


# --- Accounts, API keys and the audit log --------------------------------------------------------------

COMMISSION_ACCOUNT_ROLES = frozenset({Role.commission_admin, Role.verifier, Role.panelist, Role.operator})
ACCOUNT_ROLES = COMMISSION_ACCOUNT_ROLES | {Role.system_admin}
# What anybody may change on their own account; the rest is an administrator's business.
SELF_SERVICE_FIELDS = frozenset({"name", "password"})


def can_manage_account(principal: Principal, *, role: Role, commission_id: int | None) -> bool:
    """Create, read or change an account with this role in this commission. A commission administrator
    manages the commission's administrators, verifiers, panel members and operators; only a system
    administrator manages system administrators and accounts of any commission."""
    if principal.is_system_admin:
        return True
    return (
        principal.role is Role.commission_admin
        and commission_id is not None
        and principal.commission_id == commission_id
        and role in COMMISSION_ACCOUNT_ROLES
    )


def ensure_manage_account(principal: Principal, *, role: Role, commission_id: int | None) -> None:
    if not can_manage_account(principal, role=role, commission_id=commission_id):
        if role is Role.system_admin or commission_id is None:
            raise Forbidden("only a system administrator may manage system administrators")
        raise Forbidden("only an administrator of this commission may manage its accounts")


def ensure_read_account(principal: Principal, account: Account) -> None:
    """An account is seen by its owner and by whoever manages it."""
    if principal.account_id is not None and principal.account_id == account.id:
        return
    ensure_manage_account(principal, role=Role(account.role), commission_id=account.commission_id)


def ensure_change_account(
    principal: Principal, account: Account, *, fields: Set[str], new_role: Role
) -> None:
    """Change ``fields`` of ``account`` (``new_role`` is its role after the change). Owners change their
    name and password; nobody changes their own role or deactivates themselves (no self lock-out);
    administrators change the rest, and may not give a role they could not create."""
    is_self = principal.account_id is not None and principal.account_id == account.id
    if is_self and fields & {"role", "active"}:
        raise Forbidden("you may not change your own role or deactivate your own account")
    if is_self and fields <= SELF_SERVICE_FIELDS:
        return
    ensure_manage_account(principal, role=Role(account.role), commission_id=account.commission_id)
    ensure_manage_account(principal, role=new_role, commission_id=account.commission_id)


def key_issuer_still_entitled(
    issuer: ReadOnlyColumnCollection[str, KeyedColumnElement[Any]], key_commission_id: ColumnElement[int]
) -> ColumnElement[bool]:
    """SQL for: the account that issued an API key (``issuer``: the columns of the ``account`` table, outer
    joined) could still issue it. Issuing a key of either scope takes an administrator of the key's
    commission or a system administrator (``ensure_admin``), so a key stops working when its issuer is
    deactivated or no longer holds that role, and works again if they are restored. A key recorded without
    an issuer (made by the system, not a person) has nobody to follow."""
    return or_(
        issuer.id.is_(None),
        and_(
            issuer.active.is_(True),
            or_(
                issuer.role == Role.system_admin.value,
                and_(issuer.role == Role.commission_admin.value, issuer.commission_id == key_commission_id),
            ),
        ),
    )


def ensure_audit_reader(principal: Principal, commission_id: int | None) -> None:
    """The audit log: a system administrator reads all of it (``commission_id`` None), a commission
    administrator its own commission's entries."""
    if principal.is_system_admin:
        return
    if commission_id is None:
        raise Forbidden("only a system administrator may read the whole audit log")
    ensure_admin(principal, commission_id)


def commission_scope(principal: Principal, requested: int | None) -> int | None:
    """The commission a list is limited to: the one asked for, else the principal's own. ``None`` (every
    commission) only for a system administrator; callers still check access to the scope they get."""
    if requested is not None or principal.is_system_admin:
        return requested
    return principal.commission_id


def member_scope(principal: Principal, requested: int | None) -> int | None:
    """The commission a list of commission-wide data (rounds) is limited to: the one asked for, else the
    principal's own; ``None`` (every commission) only for a system administrator. Anyone of a commission
    (``ensure_member``) may list its rounds; another commission's are refused."""
    scope = commission_scope(principal, requested)
    if scope is not None:
        ensure_member(principal, scope)
    elif not principal.is_system_admin:
        raise Forbidden("only a system administrator may list every commission's data")
    return scope


# --- Verification, stages and results -----------------------------------------------------------------


def can_verify_body(
    session: Session, principal: Principal, *, commission_id: int, body_id: int, round_id: int
) -> bool:
    """The rule of ``ensure_verify_body`` as a test, for bulk work that skips rather than refuses."""
    if principal.is_system_admin:
        return True
    if principal.commission_id != commission_id:
        return False
    if principal.role is Role.commission_admin:
        return True
    return principal.role is Role.verifier and is_assigned(session, principal, body_id, round_id=round_id)


def ensure_verifier(principal: Principal) -> None:
    """Act as a verifier on one's own assignments (a system administrator passes, and has none)."""
    if principal.is_system_admin or principal.role is Role.verifier:
        return
    raise Forbidden("only a verifier has verification assignments")


def ensure_bulk_verify(principal: Principal, commission_id: int) -> None:
    """Bulk verification work over a round: administrators, and verifiers (limited by ``visible_bodies``
    to their assigned bodies)."""
    if principal.is_system_admin:
        return
    if principal.commission_id == commission_id and principal.role in {Role.commission_admin, Role.verifier}:
        return
    raise Forbidden("only a verifier or an administrator of this commission may do this")


def ensure_read_verification(
    session: Session,
    principal: Principal,
    *,
    commission_id: int,
    body_id: int,
    round_id: int,
    released: bool,
    filling_until: datetime | None = None,
) -> None:
    """Read a body's verification in a round: those who verify it (its verifier once the SAQ is no longer
    being filled, see ``ensure_not_still_filling``), the commission's readers (administrators, panel
    members, read-only keys), and the body itself once the results were released."""
    if can_verify_body(session, principal, commission_id=commission_id, body_id=body_id, round_id=round_id):
        ensure_not_still_filling(principal, filling_until=filling_until)
        return
    if principal.commission_id == commission_id and principal.role in {Role.panelist, Role.api_read}:
        return
    if (
        released
        and principal.role in BODY_SCOPED
        and principal.commission_id == commission_id
        and principal.body_id == body_id
    ):
        return
    if principal.role in BODY_SCOPED and principal.body_id == body_id:
        raise Forbidden("the verification results are not released to the body yet")
    raise Forbidden("you may not see this body's verification")


# --- E-mail notices ------------------------------------------------------------------------------------


def ensure_notice_admin(principal: Principal, commission_id: int | None) -> None:
    """The secretariat's view of e-mail (the outbox's notices, resending one): the administrators of the
    notice's commission and system administrators; a notice of no commission (a system administrator's
    invitation), system administrators only. Read-only API keys do not read them: they hold people's
    addresses and the mail servers' answers, like the audit log, which such keys do not read either."""
    if principal.is_system_admin:
        return
    if commission_id is None:
        raise Forbidden("only a system administrator may see this notice")
    ensure_admin(principal, commission_id)
