"""Bulk actions on verified values, each recorded under one batch id so a batch can be undone.

- ``confirm_checked`` (over a round's verifications, filtered): a reviewed question whose evidence was checked
  and whose verified value is still empty gets the body's value.
- ``approve_unreviewed`` (one verification, at the version the verifier saw): every question not reviewed
  yet gets the body's value, as one deliberate, counted step.

Each batch writes one audit entry per verification with every answer before and after (a question that
was not reviewed has ``null`` before); undoing a batch puts back what it replaced, unless changed since.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.db.base import utcnow
from app.db.models import AuditEntry, BodyCategory, PublicBody, Submission, Verification, VerifiedAnswer
from app.errors import Conflict, FieldProblem, InvalidInput, NotFound
from app.rounds.service import get_round
from app.verification.common import (
    answer_state,
    bump_version,
    ensure_version,
    find_verification,
    in_progress,
    is_empty,
    submission_context,
    template_of,
)
from app.verification.schemas import ApprovedUnreviewed, BulkFailure, BulkResult
from app.verification.scores import load_answer_data

BULK_ENTITY = "verification_bulk"
BULK_UNDO = "verification.bulk_undo"
APPROVE_UNREVIEWED = "approve_unreviewed"


def _apply(
    session: Session,
    *,
    by: Principal,
    action: str,
    batch_id: str,
    commission_id: int,
    submission_id: int,
    verification: Verification,
    targets: Mapping[str, dict[str, Any]],
    now: datetime,
    summary: Mapping[str, Any] | None = None,
) -> int:
    """Set each target question's ``{value, evidence_checked, note}`` (creating the verified answer of a
    question not reviewed yet), record them as one audit entry of the batch and move the version on."""
    rows = {
        r.question_code: r
        for r in session.scalars(
            select(VerifiedAnswer).where(
                VerifiedAnswer.verification_id == verification.id,
                VerifiedAnswer.question_code.in_(list(targets)),
            )
        )
    }
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for code, state in targets.items():
        row = rows.get(code)
        before[code] = answer_state(row)
        if row is None:
            row = VerifiedAnswer(verification_id=verification.id, question_code=code)
            session.add(row)
        row.value = state["value"]
        row.evidence_checked = bool(state["evidence_checked"])
        row.note = state["note"]
        row.updated_at = now
        row.updated_by_id = by.account_id
        after[code] = answer_state(row)
    head = {"submission_id": submission_id, "verification_id": verification.id}
    record(
        session=session,
        actor=by,
        action=f"verification.bulk.{action}",
        entity=BULK_ENTITY,
        entity_id=batch_id,
        before=head | {"answers": before},
        after=head | dict(summary or {}) | {"answers": after},
        commission_id=commission_id,
    )
    bump_version(session, verification)
    return len(targets)


def bulk(
    *,
    session: Session,
    round_id: int,
    by: Principal,
    action: str,
    category: str | None,
    body_ids: list[int] | None,
) -> BulkResult:
    """Apply a bulk action to the verifications of the round's submissions matching the filter (a verifier
    reaches only its assigned bodies). Recorded per submission under one batch id, so it can be undone."""
    round_ = get_round(session=session, round_id=round_id, by=by)
    policy.ensure_bulk_verify(by, round_.commission_id)
    assert action == "confirm_checked"
    stmt = (
        select(Submission, Verification)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(
            Submission.round_id == round_.id,
            policy.visible_bodies(by, round_.commission_id, round_id=round_.id),
        )
        .order_by(Submission.id)
    )
    if category is not None:
        cat = session.scalar(
            select(BodyCategory).where(
                BodyCategory.commission_id == round_.commission_id, BodyCategory.code == category
            )
        )
        if cat is None:
            text = f"Kategori {category!r} tidak dikenal di Komisi Informasi ini."
            raise InvalidInput(
                f"no body category {category!r}",
                errors=[FieldProblem("filter.category", "unknown category", text)],
                indonesian=text,
            )
        stmt = stmt.where(PublicBody.category_id == cat.id)
    if body_ids is not None:
        stmt = stmt.where(Submission.body_id.in_(body_ids))
    batch_id = uuid.uuid4().hex
    failed: list[BulkFailure] = []
    todo: list[tuple[Submission, Verification]] = []
    for submission, verification in session.execute(stmt).all():
        if verification is None:
            failed.append(BulkFailure(submission_id=submission.id, reason="verification not started"))
        elif verification.status != "in_progress":
            failed.append(BulkFailure(submission_id=submission.id, reason="verification completed"))
        else:
            todo.append((submission, verification))
    data = load_answer_data(session=session, submissions=[(s.id, v.id) for s, v in todo])
    changed = 0
    now = utcnow()
    for submission, verification in todo:
        answers = data[submission.id]
        targets = {
            code: {"value": answers.raw[code]["value"], "evidence_checked": True, "note": v.note}
            for code, v in answers.verified.items()
            if v.evidence_checked
            and is_empty(v.value)
            and not is_empty(answers.raw.get(code, {}).get("value"))
        }
        if not targets:
            continue
        changed += _apply(
            session,
            by=by,
            action=action,
            batch_id=batch_id,
            commission_id=round_.commission_id,
            submission_id=submission.id,
            verification=verification,
            targets=targets,
            now=now,
        )
    return BulkResult(batch_id=batch_id, changed=changed, failed=failed)


def approve_unreviewed(
    *, session: Session, submission_id: int, by: Principal, if_match: str | None, evidence_checked: bool
) -> ApprovedUnreviewed:
    """Give every question the verifier has not reviewed yet the body's own value (empty where the body
    gave none), as one recorded step with its count and codes. ``If-Match`` names the version the verifier
    saw, so exactly the questions it counted as unreviewed change. The evidence of these answers counts as
    checked only when ``evidence_checked`` is sent true; a note is left empty."""
    ctx = submission_context(session, submission_id)
    verification = in_progress(session, ctx, by)
    ensure_version(verification, if_match)
    template = template_of(session, ctx.submission.template_version_id)
    answers = load_answer_data(session=session, submissions=[(ctx.submission.id, verification.id)])[
        ctx.submission.id
    ]
    codes = [e.question.code for e in template.questions() if e.question.code not in answers.verified]
    if not codes:
        raise Conflict(
            "every question of this verification is reviewed already; nothing to approve",
            indonesian=(
                f"Semua pertanyaan {ctx.body.name} sudah diperiksa; tidak ada jawaban yang perlu disetujui."
            ),
        )
    batch_id = uuid.uuid4().hex
    changed = _apply(
        session,
        by=by,
        action=APPROVE_UNREVIEWED,
        batch_id=batch_id,
        commission_id=ctx.round.commission_id,
        submission_id=ctx.submission.id,
        verification=verification,
        targets={
            code: {
                "value": answers.raw.get(code, {}).get("value"),
                "evidence_checked": evidence_checked,
                "note": None,
            }
            for code in codes
        },
        now=utcnow(),
        summary={"count": len(codes), "codes": codes},
    )
    return ApprovedUnreviewed(
        batch_id=batch_id, changed=changed, failed=[], codes=codes, version=verification.version
    )


def undo_bulk(*, session: Session, batch_id: str, by: Principal) -> BulkResult:
    """Restore the values a bulk action replaced, where they were not changed again since."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == BULK_ENTITY, AuditEntry.entity_id == batch_id)
        .order_by(AuditEntry.id)
    ).all()
    done = [e for e in entries if e.action != BULK_UNDO]
    if not done or done[0].commission_id is None:
        raise NotFound(f"bulk action {batch_id} does not exist")
    policy.ensure_bulk_verify(by, done[0].commission_id)
    if any(e.action == BULK_UNDO for e in entries):
        raise Conflict(
            f"bulk action {batch_id} was already undone",
            indonesian="Tindakan massal ini sudah pernah dibatalkan.",
        )
    changed = 0
    failed: list[BulkFailure] = []
    now = utcnow()
    for entry in done:
        submission_id = int(entry.after["submission_id"])
        ctx = submission_context(session, submission_id)
        if not policy.can_verify_body(
            session, by, commission_id=ctx.body.commission_id, body_id=ctx.body.id, round_id=ctx.round.id
        ):
            failed.append(BulkFailure(submission_id=submission_id, reason="you may not verify this body"))
            continue
        verification = find_verification(session, submission_id, for_update=True)
        if verification is None or verification.status != "in_progress":
            failed.append(BulkFailure(submission_id=submission_id, reason="verification completed"))
            continue
        rows = {
            r.question_code: r
            for r in session.scalars(
                select(VerifiedAnswer).where(VerifiedAnswer.verification_id == verification.id)
            )
        }
        restored_before: dict[str, Any] = {}
        restored_after: dict[str, Any] = {}
        moved: list[str] = []
        for code, state in entry.after["answers"].items():
            row = rows.get(code)
            if answer_state(row) != state:
                moved.append(code)
                continue
            assert row is not None
            previous = entry.before["answers"][code]
            restored_before[code] = state
            if previous is None:
                session.delete(row)
                restored_after[code] = None
                continue
            row.value = previous["value"]
            row.evidence_checked = previous["evidence_checked"]
            row.note = previous["note"]
            row.updated_at = now
            row.updated_by_id = by.account_id
            restored_after[code] = answer_state(row)
        if moved:
            failed.append(
                BulkFailure(
                    submission_id=submission_id, reason=f"changed since the bulk action: {', '.join(moved)}"
                )
            )
        if restored_after:
            record(
                session=session,
                actor=by,
                action=BULK_UNDO,
                entity=BULK_ENTITY,
                entity_id=batch_id,
                before={"submission_id": submission_id, "answers": restored_before},
                after={"submission_id": submission_id, "answers": restored_after},
                commission_id=entry.commission_id,
            )
            bump_version(session, verification)
            changed += len(restored_after)
    if not changed:
        record(
            session=session,
            actor=by,
            action=BULK_UNDO,
            entity=BULK_ENTITY,
            entity_id=batch_id,
            after={"answers": {}},
            commission_id=done[0].commission_id,
        )
    session.flush()
    return BulkResult(batch_id=batch_id, changed=changed, failed=failed)
