"""The verification corrections of a round, for recaps: every verified value that differs from the body's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, cast, select
from sqlalchemy.orm import Session

import scoring
from app.db.models import (
    Account,
    Answer,
    BodyCategory,
    PublicBody,
    Round,
    Submission,
    Verification,
    VerifiedAnswer,
)
from app.verification.common import same_value, template_of


@dataclass(frozen=True)
class CorrectionRow:
    """A question whose verified value differs from the body's own value."""

    submission_id: int
    body_id: int
    body_name: str
    category_code: str
    question_code: str
    question_text: str
    self_value: Any
    verified_value: Any
    verifier_id: int | None
    verifier_name: str | None
    note: str | None
    template_version_id: int


def _differing_values(
    session: Session, verification_ids: list[int], submission_ids: list[int]
) -> dict[int, list[tuple[str, Any, Any, str | None]]]:
    """``(question code, own value, verified value, note)`` per verification id (of the submissions given),
    for the verified answers whose stored JSON differs from the body's answer (or that have no answer).
    Equal JSON is the same value, so only the few candidates are fetched and decoded; ``same_value`` decides
    on the rest. Every table is narrowed to the chunk's ids, so each chunk costs the same however big the
    round is."""
    found: dict[int, list[tuple[str, Any, Any, str | None]]] = {}
    rows = session.execute(
        select(
            VerifiedAnswer.verification_id,
            VerifiedAnswer.question_code,
            Answer.value,
            VerifiedAnswer.value,
            VerifiedAnswer.note,
        )
        .join(Verification, Verification.id == VerifiedAnswer.verification_id)
        .outerjoin(
            Answer,
            and_(
                Answer.submission_id == Verification.submission_id,
                Answer.question_code == VerifiedAnswer.question_code,
                Answer.submission_id.in_(submission_ids),
            ),
        )
        .where(
            Verification.id.in_(verification_ids),
            VerifiedAnswer.verification_id.in_(verification_ids),
            cast(Answer.value, Text).is_distinct_from(cast(VerifiedAnswer.value, Text)),
        )
    )
    for vid, code, own, checked, note in rows:
        found.setdefault(vid, []).append((code, own, checked, note))
    return found


def iter_corrections(*, session: Session, round_: Round, batch: int = 1000) -> Iterator[CorrectionRow]:
    """Every verified value of the round that differs from the body's value, ordered by category code, body
    name and question order in the template.

    Streams: the verified submissions come from one ordered query read ``batch`` rows at a time (plain
    columns, no ORM objects), each batch's differing values in one more query, and each template version
    is loaded and indexed once, so time and memory stay flat as rounds grow."""
    heads = session.execute(
        select(
            Submission.id,
            Submission.template_version_id,
            PublicBody.id,
            PublicBody.name,
            BodyCategory.code,
            Verification.id,
            Account.id,
            Account.name,
        )
        .join(Verification, Verification.submission_id == Submission.id)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .outerjoin(Account, Account.id == Verification.verifier_id)
        .where(Submission.round_id == round_.id)
        .order_by(BodyCategory.code, PublicBody.name, PublicBody.id)
        .execution_options(yield_per=batch)
    )
    templates: dict[int, tuple[scoring.Template, dict[str, int]]] = {}
    for chunk in heads.partitions():
        differing = _differing_values(session, [row[5] for row in chunk], [row[0] for row in chunk])
        for sid, version_id, body_id, body_name, category_code, vid, verifier_id, verifier_name in chunk:
            candidates = differing.get(vid)
            if not candidates:
                continue
            known = templates.get(version_id)
            if known is None:
                template = template_of(session, version_id)
                order = {entry.question.code: i for i, entry in enumerate(template.questions())}
                known = templates[version_id] = (template, order)
            template, order = known
            in_template = sorted((c for c in candidates if c[0] in order), key=lambda c: order[c[0]])
            for code, own, checked, note in in_template:
                q = template.question(code)
                if same_value(q.type, own, checked):
                    continue
                yield CorrectionRow(
                    submission_id=sid,
                    body_id=body_id,
                    body_name=body_name,
                    category_code=category_code,
                    question_code=code,
                    question_text=q.text,
                    self_value=own,
                    verified_value=checked,
                    verifier_id=verifier_id,
                    verifier_name=verifier_name,
                    note=note,
                    template_version_id=version_id,
                )
