"""Assigning verifiers to the bodies of a round, and a verifier's own list of bodies."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.db.models import (
    Account,
    BodyCategory,
    Invitation,
    PublicBody,
    Round,
    Submission,
    Verification,
    VerifierAssignment,
)
from app.errors import FieldProblem, InvalidInput, ProblemCollector
from app.pagination import Page, PageParams, decode_cursor, encode_cursor
from app.rounds.service import get_round
from app.verification.schemas import AssignmentOut, AssignmentsResult, MyAssignment, SpreadResult
from app.verification.scores import review_progress_many

_PAIR = 1 << 32


def _verifiers(session: Session, round_: Round, ids: list[int], field: str) -> dict[int, Account]:
    rows = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(set(ids))))}
    problems = ProblemCollector()
    for vid in dict.fromkeys(ids):
        account = rows.get(vid)
        if account is None or account.commission_id != round_.commission_id:
            problems.add(
                f"{field}.{vid}",
                "no such account in this commission",
                f"Tidak ada akun nomor {vid} di Komisi Informasi ini.",
            )
        elif account.role != Role.verifier.value or not account.active:
            problems.add(
                f"{field}.{vid}",
                "not an active verifier account",
                f"{account.name} bukan akun verifikator yang aktif.",
            )
    problems.raise_if_any(
        "some verifiers cannot be assigned", "Sebagian verifikator tidak dapat ditugaskan; lihat rinciannya."
    )
    return rows


def _assign(
    session: Session, *, round_: Round, body_id: int, verifier_id: int, by: Principal
) -> tuple[VerifierAssignment, bool]:
    row = session.get(VerifierAssignment, (round_.id, body_id))
    before = row.verifier_id if row is not None else None
    if before == verifier_id:
        assert row is not None
        return row, False
    if row is None:
        row = VerifierAssignment(round_id=round_.id, body_id=body_id, verifier_id=verifier_id)
        session.add(row)
    else:
        row.verifier_id = verifier_id
    verification = session.scalar(
        select(Verification)
        .join(Submission, Submission.id == Verification.submission_id)
        .where(
            Submission.round_id == round_.id,
            Submission.body_id == body_id,
            Verification.status == "in_progress",
        )
    )
    if verification is not None:
        verification.verifier_id = verifier_id
    record(
        session=session,
        actor=by,
        action="verification.assign",
        entity="verifier_assignment",
        entity_id=f"{round_.id}:{body_id}",
        before={"verifier_id": before} if before is not None else None,
        after={"verifier_id": verifier_id},
        commission_id=round_.commission_id,
    )
    return row, True


def _assignment_out(session: Session, round_: Round, body_ids: list[int]) -> list[AssignmentOut]:
    rows = session.execute(
        select(VerifierAssignment, PublicBody, BodyCategory, Account)
        .join(PublicBody, PublicBody.id == VerifierAssignment.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .join(Account, Account.id == VerifierAssignment.verifier_id)
        .where(VerifierAssignment.round_id == round_.id, VerifierAssignment.body_id.in_(body_ids))
        .order_by(VerifierAssignment.body_id)
    ).all()
    return [
        AssignmentOut(
            round_id=a.round_id,
            body_id=b.id,
            body_name=b.name,
            category=c.code,
            category_name=c.name,
            verifier_id=v.id,
            verifier_name=v.name,
        )
        for a, b, c, v in rows
    ]


def set_assignments(
    *, session: Session, round_id: int, assignments: Mapping[int, int], by: Principal
) -> AssignmentsResult:
    """Assign (or reassign) verifiers to invited bodies of the round, by hand. All or nothing."""
    round_ = get_round(session=session, round_id=round_id, by=by)
    policy.ensure_admin(by, round_.commission_id)
    body_ids = list(assignments)
    invited = set(
        session.scalars(
            select(Invitation.body_id).where(
                Invitation.round_id == round_.id, Invitation.body_id.in_(body_ids)
            )
        )
    )
    names = dict(
        session.execute(select(PublicBody.id, PublicBody.name).where(PublicBody.id.in_(body_ids))).all()
    )
    problems = ProblemCollector()
    for body_id in body_ids:
        if body_id not in invited:
            problems.add(
                f"assignments.{body_id}",
                "this body is not invited to the round",
                f"{names.get(body_id, f'Badan publik nomor {body_id}')} tidak diundang ke {round_.title}.",
            )
    problems.raise_if_any(
        "some bodies cannot be assigned", "Sebagian badan publik tidak dapat ditugaskan; lihat rinciannya."
    )
    _verifiers(session, round_, list(assignments.values()), "assignments")
    changed = 0
    for body_id, verifier_id in assignments.items():
        changed += _assign(session, round_=round_, body_id=body_id, verifier_id=verifier_id, by=by)[1]
    session.flush()
    return AssignmentsResult(changed=changed, assignments=_assignment_out(session, round_, body_ids))


def spread_assignments(
    *, session: Session, round_id: int, category_code: str, verifier_ids: list[int], by: Principal
) -> SpreadResult:
    """Assign every unassigned invited body of a category, one by one (by body id), to the listed verifier
    with the fewest bodies in the round so far (ties: the first listed). Existing assignments stay."""
    round_ = get_round(session=session, round_id=round_id, by=by)
    policy.ensure_admin(by, round_.commission_id)
    category = session.scalar(
        select(BodyCategory).where(
            BodyCategory.commission_id == round_.commission_id, BodyCategory.code == category_code
        )
    )
    if category is None:
        raise InvalidInput(
            f"no body category {category_code!r} in this commission",
            errors=[
                FieldProblem(
                    "category_code",
                    "unknown category",
                    f"Kategori {category_code!r} tidak dikenal di Komisi Informasi ini.",
                )
            ],
            indonesian=f"Kategori {category_code!r} tidak dikenal di Komisi Informasi ini.",
        )
    _verifiers(session, round_, verifier_ids, "verifier_ids")
    order = list(dict.fromkeys(verifier_ids))
    load = dict.fromkeys(order, 0)
    for vid, n in session.execute(
        select(VerifierAssignment.verifier_id, func.count())
        .where(VerifierAssignment.round_id == round_.id, VerifierAssignment.verifier_id.in_(order))
        .group_by(VerifierAssignment.verifier_id)
    ):
        load[vid] = int(n)
    assigned = set(
        session.scalars(select(VerifierAssignment.body_id).where(VerifierAssignment.round_id == round_.id))
    )
    bodies = session.scalars(
        select(Invitation.body_id)
        .join(PublicBody, PublicBody.id == Invitation.body_id)
        .where(Invitation.round_id == round_.id, PublicBody.category_id == category.id)
        .order_by(Invitation.body_id)
    ).all()
    count = 0
    for body_id in bodies:
        if body_id in assigned:
            continue
        verifier_id = min(order, key=lambda v: (load[v], order.index(v)))
        _assign(session, round_=round_, body_id=body_id, verifier_id=verifier_id, by=by)
        load[verifier_id] += 1
        count += 1
    session.flush()
    return SpreadResult(assigned=count, per_verifier=load)


def list_assignments(
    *, session: Session, round_id: int, by: Principal, params: PageParams
) -> Page[AssignmentOut]:
    """The round's assignments, by body id."""
    round_ = get_round(session=session, round_id=round_id, by=by)
    policy.ensure_admin(by, round_.commission_id)
    stmt = select(VerifierAssignment.body_id).where(VerifierAssignment.round_id == round_.id)
    if params.after_id is not None:
        stmt = stmt.where(VerifierAssignment.body_id > params.after_id)
    ids = list(session.scalars(stmt.order_by(VerifierAssignment.body_id).limit(params.limit + 1)))
    more = len(ids) > params.limit
    ids = ids[: params.limit]
    return Page(
        items=_assignment_out(session, round_, ids),
        next_cursor=encode_cursor(ids[-1]) if more and ids else None,
    )


def my_assignments(
    *, session: Session, by: Principal, round_id: int | None, params: PageParams
) -> Page[MyAssignment]:
    """The calling verifier's bodies (all rounds, or one), ordered by round then body, with their status and
    review progress (``scores.review_progress``: the applicable questions, as completion counts them)."""
    policy.ensure_verifier(by)
    stmt = (
        select(VerifierAssignment, Round, PublicBody, BodyCategory, Submission, Verification)
        .join(Round, Round.id == VerifierAssignment.round_id)
        .join(PublicBody, PublicBody.id == VerifierAssignment.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .outerjoin(
            Submission,
            and_(Submission.round_id == VerifierAssignment.round_id, Submission.body_id == PublicBody.id),
        )
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(VerifierAssignment.verifier_id == by.account_id)
        .order_by(VerifierAssignment.round_id, VerifierAssignment.body_id)
        .limit(params.limit + 1)
    )
    if round_id is not None:
        stmt = stmt.where(VerifierAssignment.round_id == round_id)
    if params.cursor:
        after = decode_cursor(params.cursor)
        r, b = divmod(after, _PAIR)
        stmt = stmt.where(
            or_(
                VerifierAssignment.round_id > r,
                and_(VerifierAssignment.round_id == r, VerifierAssignment.body_id > b),
            )
        )
    rows = session.execute(stmt).all()
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    progress = review_progress_many(
        session=session,
        submissions=[
            (s.id, v.id if v is not None else None, s.template_version_id)
            for *_, s, v in rows
            if s is not None
        ],
    )
    items = [
        MyAssignment(
            round_id=r.id,
            round_title=r.title,
            body_id=b.id,
            body_name=b.name,
            category=c.code,
            category_name=c.name,
            submission_id=s.id if s is not None else None,
            submission_status=s.status if s is not None else None,
            verification_status=v.status if v is not None else "not_started",
            reviewed=progress[s.id].reviewed if s is not None else 0,
            total=progress[s.id].total if s is not None else None,
        )
        for _, r, b, c, s, v in rows
    ]
    last = rows[-1][0] if rows else None
    cursor = encode_cursor(last.round_id * _PAIR + last.body_id) if more and last is not None else None
    return Page(items=items, next_cursor=cursor)
