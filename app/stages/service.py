"""Later stages: panel scores per judge, the stage score, and the gate that decides who reaches them.

- The stage score of a body is the mean of its judges' scores, computed exactly and published (half-up,
  2 dp) once by ``scoring.publish``.
- The gate: with ``gate_min_score`` the verified SAQ score must reach it; with ``gate_top_n`` the body's
  standard competition rank by verified score in its category must be N or better, so all bodies tied at
  the N-th place pass; with both, both must hold; with neither, every body with a completed verification
  passes. Only bodies that took part and whose verification is completed are ranked and can pass.
- Only a body that passes the gate can get panel scores (422 otherwise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.accounts import policy
from app.accounts.principal import Principal, Role
from app.audit.service import record
from app.db.base import utcnow
from app.db.models import Account, BodyCategory, Invitation, PanelScore, PublicBody, Round, Stage
from app.errors import FieldProblem, InvalidInput, NotFound
from app.pagination import PageParams, encode_cursor
from app.results.explain import figure, number
from app.rounds.service import get_round
from app.stages.schemas import BodyStageScores, GateOut, GateRow, JudgeScore, PanelScoreOut
from app.verification.scores import BodyScores, round_scores


def _stage(session: Session, stage_id: int) -> tuple[Stage, Round]:
    stage = session.get(Stage, stage_id)
    if stage is None:
        raise NotFound(f"stage {stage_id} does not exist")
    round_ = session.get(Round, stage.round_id)
    assert round_ is not None
    return stage, round_


def competition_ranks(scores: Mapping[int, Decimal]) -> dict[int, int]:
    """Standard competition ranking (1, 2, 2, 4) of keys by score, highest first."""
    ordered = sorted(scores.values(), reverse=True)
    first: dict[Decimal, int] = {}
    for index, value in enumerate(ordered, start=1):
        first.setdefault(value, index)
    return {key: first[value] for key, value in scores.items()}


# --- The gate ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    body_id: int
    category_id: int | None
    verified_score: Decimal | None
    rank: int | None
    passes: bool
    reason: str | None
    indonesian: str | None = None
    """Why the body does not pass, in the words a page shows."""


def gate_results(
    *, session: Session, round_: Round, cards: Mapping[int, BodyScores], body_ids: Iterable[int]
) -> dict[int, GateResult]:
    """The gate for the given bodies, from the scored submissions of the round (``cards`` must hold every
    submission of each category involved when the round has a top-N gate)."""
    eligible = {b: c for b, c in cards.items() if c.took_part and c.verified}
    by_category: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for body_id, eligible_card in eligible.items():
        by_category[eligible_card.category_id][body_id] = eligible_card.verified_score
    ranks: dict[int, int] = {}
    for scores in by_category.values():
        ranks.update(competition_ranks(scores))
    minimum, top_n = round_.gate_min_score, round_.gate_top_n
    results: dict[int, GateResult] = {}
    for body_id in body_ids:
        card = cards.get(body_id)
        if card is None or not card.took_part:
            results[body_id] = GateResult(
                body_id, None, None, None, False, "did not take part", "tidak mengikuti penilaian SAQ"
            )
            continue
        if not card.verified:
            results[body_id] = GateResult(
                body_id,
                card.category_id,
                None,
                None,
                False,
                "verification not completed",
                "verifikasinya belum selesai",
            )
            continue
        score, rank = card.verified_score, ranks[body_id]
        reasons = []
        texts = []
        if minimum is not None and score < minimum:
            reasons.append(f"verified score {score} is below the minimum {minimum}")
            texts.append(f"nilai SAQ terverifikasi {figure(score)}, batas {number(minimum)}")
        if top_n is not None and rank > top_n:
            reasons.append(f"rank {rank} in the category is below the top {top_n}")
            texts.append(f"peringkat {rank} di kategorinya, yang lolos {top_n} teratas")
        results[body_id] = GateResult(
            body_id,
            card.category_id,
            score,
            rank,
            not reasons,
            "; ".join(reasons) or None,
            "; ".join(texts) or None,
        )
    return results


def passes_gate(*, session: Session, round_: Round, body: PublicBody) -> GateResult:
    cards = round_scores(
        session=session,
        round_id=round_.id,
        category_id=body.category_id if round_.gate_top_n is not None else None,
        body_ids=None if round_.gate_top_n is not None else [body.id],
    )
    return gate_results(session=session, round_=round_, cards=cards, body_ids=[body.id])[body.id]


def gate(
    *, session: Session, round_id: int, by: Principal, passing_only: bool, params: PageParams
) -> GateOut:
    """Every invited body with its gate result, by body id, paginated."""
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_panelist(by, round_.commission_id)
    bodies = session.execute(
        select(PublicBody.id, PublicBody.name, BodyCategory.code)
        .join(Invitation, Invitation.body_id == PublicBody.id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .where(Invitation.round_id == round_.id)
        .order_by(PublicBody.id)
    ).all()
    cards = round_scores(session=session, round_id=round_.id)
    results = gate_results(session=session, round_=round_, cards=cards, body_ids=[b[0] for b in bodies])
    rows = [
        GateRow(
            body_id=body_id,
            body_name=name,
            category=category,
            verified_score=None if r.verified_score is None else str(r.verified_score),
            rank=r.rank,
            passes=r.passes,
            reason=r.reason,
        )
        for body_id, name, category in bodies
        for r in [results[body_id]]
        if r.passes or not passing_only
    ]
    after = params.after_id
    page = [row for row in rows if after is None or row.body_id > after][: params.limit + 1]
    more = len(page) > params.limit
    page = page[: params.limit]
    return GateOut(
        round_id=round_.id,
        gate_min_score=None if round_.gate_min_score is None else str(round_.gate_min_score),
        gate_top_n=round_.gate_top_n,
        passing=sum(r.passes for r in results.values()),
        items=page,
        next_cursor=encode_cursor(page[-1].body_id) if more and page else None,
    )


# --- Panel scores ------------------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    return str(scoring.publish(value))


def _judge(row: PanelScore, name: str) -> JudgeScore:
    return JudgeScore(
        panelist_id=row.panelist_id,
        panelist_name=name,
        score=_plain(row.score),
        criteria=None if row.criteria is None else {k: str(v) for k, v in row.criteria.items()},
        updated_at=row.updated_at,
    )


def put_score(
    *,
    session: Session,
    stage_id: int,
    body_id: int,
    by: Principal,
    score: Decimal,
    criteria: Mapping[str, Decimal] | None,
) -> tuple[PanelScoreOut, bool]:
    """Record (or change) the calling judge's score of a body at a stage; True when it is new. Only for an
    invited body that passed the gate (422 otherwise). Audited with before and after."""
    stage, round_ = _stage(session, stage_id)
    policy.ensure_panelist(by, round_.commission_id)
    if by.account_id is None:
        raise InvalidInput(
            "panel scores are given by a person's account, not an API key",
            indonesian="Nilai juri diberikan oleh akun juri, bukan kunci API.",
        )
    if not score.is_finite() or not 0 <= score <= 100 or score != score.quantize(Decimal("0.01")):
        raise InvalidInput(
            "a panel score is a number from 0 to 100 with at most two decimals",
            errors=[
                FieldProblem(
                    "score",
                    "from 0 to 100, at most two decimals",
                    "Nilai harus 0 sampai 100, paling banyak dua angka di belakang koma.",
                )
            ],
            indonesian="Nilai harus 0 sampai 100, paling banyak dua angka di belakang koma.",
        )
    body = session.get(PublicBody, body_id)
    if body is None or body.commission_id != round_.commission_id:
        raise NotFound(f"public body {body_id} does not exist")
    invited = session.get(Invitation, (round_.id, body.id))
    if invited is None:
        raise InvalidInput(
            f"{body.name} is not invited to this round",
            errors=[
                FieldProblem(
                    "body_id", "not invited", f"{body.name} tidak diundang pada periode {round_.title}."
                )
            ],
            indonesian=f"{body.name} tidak diundang pada periode {round_.title}.",
        )
    result = passes_gate(session=session, round_=round_, body=body)
    if not result.passes:
        why = f"{body.name} tidak lolos ke tahap {stage.title}: {result.indonesian}."
        raise InvalidInput(
            f"{body.name} did not pass the gate to the later stages: {result.reason}",
            errors=[FieldProblem("body_id", f"did not pass the gate: {result.reason}", why)],
            indonesian=why,
        )
    row = session.scalar(
        select(PanelScore).where(
            PanelScore.stage_id == stage.id,
            PanelScore.body_id == body.id,
            PanelScore.panelist_id == by.account_id,
        )
    )
    plain_criteria: dict[str, Any] | None = (
        None if criteria is None else {k: str(v) for k, v in criteria.items()}
    )
    before = None if row is None else {"score": _plain(row.score), "criteria": row.criteria}
    created = row is None
    if row is None:
        row = PanelScore(stage_id=stage.id, body_id=body.id, panelist_id=by.account_id, score=score)
        session.add(row)
    row.score = score
    row.criteria = plain_criteria
    row.updated_at = utcnow()
    session.flush()
    after = {"score": _plain(score), "criteria": plain_criteria}
    if before != after:
        record(
            session=session,
            actor=by,
            action="stage.score",
            entity="panel_score",
            entity_id=f"{stage.id}:{body.id}:{by.account_id}",
            before=before,
            after=after,
            commission_id=round_.commission_id,
        )
    account = session.get(Account, by.account_id)
    return PanelScoreOut(
        stage_id=stage.id, body_id=body.id, judge=_judge(row, account.name if account else "")
    ), created


def list_scores(
    *, session: Session, stage_id: int, by: Principal, params: PageParams
) -> tuple[list[BodyStageScores], str | None]:
    """Per body (by id) the judges' scores and the stage score. A panel member sees only its own scores and
    no stage score; administrators see every judge."""
    stage, round_ = _stage(session, stage_id)
    policy.ensure_panelist(by, round_.commission_id)
    own_only = by.role is Role.panelist
    body_stmt = (
        select(PanelScore.body_id)
        .where(PanelScore.stage_id == stage.id)
        .distinct()
        .order_by(PanelScore.body_id)
    )
    if own_only:
        body_stmt = body_stmt.where(PanelScore.panelist_id == by.account_id)
    if params.after_id is not None:
        body_stmt = body_stmt.where(PanelScore.body_id > params.after_id)
    body_ids = list(session.scalars(body_stmt.limit(params.limit + 1)))
    more = len(body_ids) > params.limit
    body_ids = body_ids[: params.limit]
    stmt = (
        select(PanelScore, Account.name, PublicBody.name, BodyCategory.code)
        .join(Account, Account.id == PanelScore.panelist_id)
        .join(PublicBody, PublicBody.id == PanelScore.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .where(PanelScore.stage_id == stage.id, PanelScore.body_id.in_(body_ids))
        .order_by(PanelScore.body_id, PanelScore.panelist_id)
    )
    if own_only:
        stmt = stmt.where(PanelScore.panelist_id == by.account_id)
    grouped: dict[int, BodyStageScores] = {}
    values: dict[int, list[Decimal]] = defaultdict(list)
    for row, judge_name, body_name, category in session.execute(stmt).all():
        entry = grouped.setdefault(
            row.body_id,
            BodyStageScores(
                body_id=row.body_id, body_name=body_name, category=category, judges=[], stage_score=None
            ),
        )
        entry.judges.append(_judge(row, judge_name))
        values[row.body_id].append(row.score)
    if not own_only:
        for body_id, entry in grouped.items():
            published = scoring.panel_score(values[body_id], stage.aggregation)
            entry.stage_score = None if published is None else str(published)
    items = [grouped[b] for b in body_ids if b in grouped]
    return items, encode_cursor(body_ids[-1]) if more and body_ids else None


def round_stage_scores(
    *, session: Session, round_: Round
) -> tuple[list[Stage], dict[int, dict[str, Decimal]]]:
    """The round's stages (by position) and, per body, each stage's published score (stages without any
    judge's score are absent)."""
    stages = list(
        session.scalars(select(Stage).where(Stage.round_id == round_.id).order_by(Stage.position, Stage.id))
    )
    by_id = {s.id: s for s in stages}
    raw: dict[int, dict[int, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    if stages:
        for stage_id, body_id, score in session.execute(
            select(PanelScore.stage_id, PanelScore.body_id, PanelScore.score).where(
                PanelScore.stage_id.in_(list(by_id))
            )
        ):
            raw[body_id][stage_id].append(score)
    result: dict[int, dict[str, Decimal]] = {}
    for body_id, per_stage in raw.items():
        result[body_id] = {}
        for stage_id, scores in per_stage.items():
            published = scoring.panel_score(scores, by_id[stage_id].aggregation)
            if published is not None:
                result[body_id][by_id[stage_id].code] = published
    return stages, result


# --- The judge's score sheet -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    """A body a judge may score at a stage (it passed the gate), with the judge's own score so far."""

    body_id: int
    body_name: str
    category_name: str
    verified_score: Decimal | None
    score: Decimal | None


@dataclass(frozen=True)
class ScoreSheet:
    round: Round
    stage: Stage
    rows: list[SheetRow]

    @property
    def scored(self) -> int:
        return sum(row.score is not None for row in self.rows)


def score_sheet(*, session: Session, stage_id: int, by: Principal) -> ScoreSheet:
    """Every body that passed the gate to the stage, by category and name, with the calling judge's score."""
    stage, round_ = _stage(session, stage_id)
    policy.ensure_panelist(by, round_.commission_id)
    bodies = session.execute(
        select(PublicBody.id, PublicBody.name, BodyCategory.name)
        .join(Invitation, Invitation.body_id == PublicBody.id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .where(Invitation.round_id == round_.id)
        .order_by(BodyCategory.name, PublicBody.name)
    ).all()
    cards = round_scores(session=session, round_id=round_.id)
    gates = gate_results(session=session, round_=round_, cards=cards, body_ids=[b[0] for b in bodies])
    own = dict(
        session.execute(
            select(PanelScore.body_id, PanelScore.score).where(
                PanelScore.stage_id == stage.id, PanelScore.panelist_id == by.account_id
            )
        ).all()
    )
    rows = [
        SheetRow(body_id, name, category, gates[body_id].verified_score, own.get(body_id))
        for body_id, name, category in bodies
        if gates[body_id].passes
    ]
    return ScoreSheet(round=round_, stage=stage, rows=rows)


def stages_to_score(*, session: Session, by: Principal) -> list[tuple[Round, Stage]]:
    """The stages of the principal's commission (every commission for a system administrator) that judges
    score now: those of rounds at the ``stages`` status, latest round first."""
    stmt = (
        select(Round, Stage)
        .join(Stage, Stage.round_id == Round.id)
        .where(Round.status == "stages")
        .order_by(Round.year.desc(), Round.id.desc(), Stage.position, Stage.id)
    )
    if not by.is_system_admin:
        if by.commission_id is None:
            return []
        policy.ensure_panelist(by, by.commission_id)
        stmt = stmt.where(Round.commission_id == by.commission_id)
    return [(round_, stage) for round_, stage in session.execute(stmt).all()]
