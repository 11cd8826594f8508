"""Self-assessed and verified answers as the scoring engine reads them, loaded in bulk.

The verified SAQ score applies the one scoring rule to the verified values:

- a question the verifier has not reviewed yet (no verified answer) counts as unanswered;
- a reviewed question counts with the verifier's value; its evidence is the body's evidence (links and
  uploaded files, plus the links of an accepted objection) only when the verifier ticked ``evidence_checked``,
  so a "yes" that needs evidence counts only when the verifier confirmed the evidence.

The self-assessed score is the body's own answers and evidence, scored as the submissions service does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.db.models import (
    Answer,
    EvidenceFile,
    Objection,
    PublicBody,
    Submission,
    TemplateVersion,
    Verification,
    VerifiedAnswer,
)
from app.questionnaires.service import parsed
from app.submissions.service import FILE_EVIDENCE_PREFIX, scoring_answers

if TYPE_CHECKING:
    import pandas as pd

CHUNK = 500


@dataclass(frozen=True)
class VerifiedValue:
    value: Any
    evidence_checked: bool
    note: str | None


@dataclass
class AnswerData:
    """Everything stored about one submission's answers: the body's, the verifier's, accepted objections."""

    raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    verified: dict[str, VerifiedValue] = field(default_factory=dict)
    objection_links: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def self_evidence(self, code: str) -> tuple[str, ...]:
        links = list(self.raw.get(code, {}).get("evidence") or [])
        links += [f"{FILE_EVIDENCE_PREFIX}{i}" for i in self.files.get(code, [])]
        links += self.objection_links.get(code, [])
        return tuple(links)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def load_answer_data(
    *, session: Session, submissions: Iterable[tuple[int, int | None]]
) -> dict[int, AnswerData]:
    """Answer data per submission id, for ``(submission_id, verification_id or None)`` pairs, in a few
    queries per chunk of submissions."""
    pairs = list(submissions)
    data: dict[int, AnswerData] = {sid: AnswerData() for sid, _ in pairs}
    sub_ids = [sid for sid, _ in pairs]
    by_verification = {vid: sid for sid, vid in pairs if vid is not None}
    for chunk in _chunks(sub_ids):
        for sid, code, value, links, note in session.execute(
            select(
                Answer.submission_id, Answer.question_code, Answer.value, Answer.evidence_links, Answer.note
            ).where(Answer.submission_id.in_(chunk))
        ):
            data[sid].raw[code] = {"value": value, "evidence": list(links or []), "note": note}
        for sid, code, file_id in session.execute(
            select(EvidenceFile.submission_id, EvidenceFile.question_code, EvidenceFile.id)
            .where(EvidenceFile.submission_id.in_(chunk), EvidenceFile.removed_at.is_(None))
            .order_by(EvidenceFile.id)
        ):
            data[sid].files[code].append(file_id)
        for sid, code, links in session.execute(
            select(Objection.submission_id, Objection.question_code, Objection.evidence_links).where(
                Objection.submission_id.in_(chunk), Objection.status == "accepted"
            )
        ):
            data[sid].objection_links[code].extend(links or [])
    verification_ids = list(by_verification)
    for chunk in _chunks(verification_ids):
        for vid, code, value, checked, note in session.execute(
            select(
                VerifiedAnswer.verification_id,
                VerifiedAnswer.question_code,
                VerifiedAnswer.value,
                VerifiedAnswer.evidence_checked,
                VerifiedAnswer.note,
            ).where(VerifiedAnswer.verification_id.in_(chunk))
        ):
            data[by_verification[vid]].verified[code] = VerifiedValue(value, bool(checked), note)
    return data


def self_answers(template: scoring.Template, data: AnswerData) -> dict[str, scoring.Answer]:
    return scoring_answers(template, data.raw, data.files)


def verified_answers(template: scoring.Template, data: AnswerData) -> dict[str, scoring.Answer]:
    """The verified values as answers: unreviewed questions are absent (unanswered); evidence counts only
    where the verifier checked it."""
    parsed = scoring.parse_answers(template, {code: {"value": v.value} for code, v in data.verified.items()})
    return {
        code: scoring.Answer(
            value=answer.value,
            evidence=data.self_evidence(code) if data.verified[code].evidence_checked else (),
        )
        for code, answer in parsed.items()
    }


def self_card(template: scoring.Template, data: AnswerData) -> scoring.ScoreCard:
    return scoring.score(template, self_answers(template, data))


def verified_card(template: scoring.Template, data: AnswerData) -> scoring.ScoreCard:
    return scoring.score(template, verified_answers(template, data))


@dataclass(frozen=True)
class ReviewProgress:
    """Where a verification stands: the questions that need a verified value (``total``: those applicable
    under the verified values, as completion counts them; a conditional question joins once its parent's
    verified value makes it applicable) and those of them still without one (``missing``)."""

    total: int
    missing: tuple[str, ...]

    @property
    def reviewed(self) -> int:
        return self.total - len(self.missing)


def review_progress(card: scoring.ScoreCard, reviewed: Collection[str]) -> ReviewProgress:
    """The review progress of a verification from its verified score card and the reviewed codes."""
    applicable = [q.code for q in card.questions if q.status is not scoring.QuestionStatus.NOT_APPLICABLE]
    return ReviewProgress(
        total=len(applicable), missing=tuple(code for code in applicable if code not in reviewed)
    )


def review_progress_many(
    *, session: Session, submissions: Iterable[tuple[int, int | None, int]]
) -> dict[int, ReviewProgress]:
    """``review_progress`` of many submissions, for ``(submission_id, verification_id or None,
    template_version_id)``: the verified values alone decide which questions are applicable."""
    rows = list(submissions)
    values: dict[int, dict[str, Any]] = defaultdict(dict)
    by_verification = {vid: sid for sid, vid, _ in rows if vid is not None}
    for chunk in _chunks(list(by_verification)):
        for vid, code, value in session.execute(
            select(VerifiedAnswer.verification_id, VerifiedAnswer.question_code, VerifiedAnswer.value).where(
                VerifiedAnswer.verification_id.in_(chunk)
            )
        ):
            values[by_verification[vid]][code] = value
    templates: dict[int, scoring.Template] = {}
    progress = {}
    for sid, _, version_id in rows:
        if version_id not in templates:
            version = session.get(TemplateVersion, version_id)
            assert version is not None
            templates[version_id] = parsed(version)
        template = templates[version_id]
        own = values.get(sid, {})
        card = scoring.score(
            template, scoring.parse_answers(template, {c: {"value": v} for c, v in own.items()})
        )
        progress[sid] = review_progress(card, own)
    return progress


@dataclass(frozen=True)
class BodyScores:
    """One submission of a round scored self-assessed and verified (published figures), with where its
    verification stands."""

    submission_id: int
    body_id: int
    category_id: int
    template_version_id: int
    took_part: bool
    verification_status: str | None
    self_score: Decimal
    verified_score: Decimal
    verified_aspects: dict[str, Decimal]

    @property
    def verified(self) -> bool:
        return self.verification_status == "completed"


def _frame(rows: list[tuple[int, str, Any, bool]]) -> pd.DataFrame:
    import pandas as pd  # not at start-up: see scoring.score_many

    return pd.DataFrame(rows, columns=["submission_id", "question_code", "value", "has_evidence"])


def round_scores(
    *, session: Session, round_id: int, category_id: int | None = None, body_ids: Iterable[int] | None = None
) -> dict[int, BodyScores]:
    """Every submission of the round (or of one category, or of some bodies) scored both ways, keyed by
    body id. Vectorised with ``scoring.score_many`` (same figures as ``scoring.score`` to the cent) over
    chunks of submissions, so a round of thousands of bodies is scored in seconds; the rule is the one of
    ``self_answers`` and ``verified_answers``."""
    stmt = (
        select(
            Submission.id,
            Submission.body_id,
            Submission.status,
            Submission.template_version_id,
            PublicBody.category_id,
            Verification.id,
            Verification.status,
        )
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(Submission.round_id == round_id)
        .order_by(Submission.id)
    )
    if category_id is not None:
        stmt = stmt.where(PublicBody.category_id == category_id)
    if body_ids is not None:
        stmt = stmt.where(Submission.body_id.in_(list(body_ids)))
    rows = session.execute(stmt).all()
    by_version: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_version[row[3]].append(row)
    scores: dict[int, BodyScores] = {}
    for version_id, group in by_version.items():
        version = session.get(TemplateVersion, version_id)
        assert version is not None
        template = parsed(version)
        for start in range(0, len(group), CHUNK * 4):
            chunk = group[start : start + CHUNK * 4]
            own, checked = _chunk_frames(session, chunk)
            ids = [r[0] for r in chunk]
            own_scores = scoring.score_many(template, own, submission_ids=ids)
            checked_scores = scoring.score_many(template, checked, submission_ids=ids)
            aspect_columns = [c for c in checked_scores.columns if c.startswith("aspect_")]
            for sid, body_id, status, _version, category, _vid, vstatus in chunk:
                verified_row = checked_scores.loc[sid]
                scores[body_id] = BodyScores(
                    submission_id=sid,
                    body_id=body_id,
                    category_id=category,
                    template_version_id=version_id,
                    took_part=status == "submitted" or vstatus == "completed",
                    verification_status=vstatus,
                    self_score=own_scores.loc[sid, "score"],
                    verified_score=verified_row["score"],
                    verified_aspects={
                        c.removeprefix("aspect_"): verified_row[c]
                        for c in aspect_columns
                        if verified_row[c] is not None and not _missing(verified_row[c])
                    },
                )
    return scores


def _missing(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _chunk_frames(session: Session, chunk: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The self-assessed and the verified answers of some submissions, one row per answer."""
    ids = [r[0] for r in chunk]
    verification_of = {r[5]: r[0] for r in chunk if r[5] is not None}
    files = {
        (sid, code)
        for sid, code in session.execute(
            select(EvidenceFile.submission_id, EvidenceFile.question_code).where(
                EvidenceFile.submission_id.in_(ids), EvidenceFile.removed_at.is_(None)
            )
        )
    }
    objection_links = {
        (sid, code)
        for sid, code, links in session.execute(
            select(Objection.submission_id, Objection.question_code, Objection.evidence_links).where(
                Objection.submission_id.in_(ids), Objection.status == "accepted"
            )
        )
        if links
    }
    own_rows: list[tuple[int, str, Any, bool]] = []
    has_own_evidence: set[tuple[int, str]] = set()
    answered: set[tuple[int, str]] = set()
    for sid, code, value, links in session.execute(
        select(Answer.submission_id, Answer.question_code, Answer.value, Answer.evidence_links).where(
            Answer.submission_id.in_(ids)
        )
    ):
        answered.add((sid, code))
        evidence = bool(links) or (sid, code) in files
        if evidence:
            has_own_evidence.add((sid, code))
        own_rows.append((sid, code, value, evidence))
    for sid, code in files - answered:
        # A file uploaded to a question with no answer row: evidence without a value.
        own_rows.append((sid, code, None, True))
        has_own_evidence.add((sid, code))
    checked_rows: list[tuple[int, str, Any, bool]] = []
    if verification_of:
        for vid, code, value, checked in session.execute(
            select(
                VerifiedAnswer.verification_id,
                VerifiedAnswer.question_code,
                VerifiedAnswer.value,
                VerifiedAnswer.evidence_checked,
            ).where(VerifiedAnswer.verification_id.in_(list(verification_of)))
        ):
            sid = verification_of[vid]
            key = (sid, code)
            evidence = bool(checked) and (key in has_own_evidence or key in files or key in objection_links)
            checked_rows.append((sid, code, value, evidence))
    return _frame(own_rows), _frame(checked_rows)
