"""Results of a round: participation, publication snapshots, rankings and year-over-year history.

This module is the read API other domains (Excel recaps, pages) build on; the figures it returns are the
published ones, never recomputed.

The publication snapshot
------------------------
``POST /api/v1/rounds/{id}/publish`` freezes the round's results as a new revision:

- one ``Publication`` row: ``round_id``, ``revision`` (1, 2, ... per round), ``reason`` (why it was
  published or corrected), ``published_by_id``, ``created_at`` and ``stage_weights``, the weights used, as
  strings keyed by stage code with ``"saq"`` for the verified SAQ: ``{"saq": "70", "presentasi": "30"}``;
- one ``PublishedResult`` row per body invited to the round:

  - ``participating``: False means *tidak mengikuti* (invited but never submitted). Such a row has every
    score, the band and the rank set to None and is reported apart, never as a zero score;
  - ``self_score``: the self-assessed SAQ score (published, 2 dp);
  - ``verified_score``: the verified SAQ score (published, 2 dp);
  - ``stage_scores``: ``{"saq": "<verified score>", "<stage code>": "<stage score>"}``, 2-dp strings. A later
    stage the body did not reach (it did not pass the gate) is absent from the mapping;
  - ``aspect_scores``: ``{aspect code: verified aspect score}``, 2-dp strings;
  - ``final_score``: ``scoring.final_score`` of the published stage scores with the round's weights (a stage
    the body did not reach counts by the round's ``missing_stage_policy``: ``zero`` or ``saq_only``);
  - ``band``: the band code decided on the published final score (``scoring.band_for``);
  - ``rank``: standard competition rank within the body's category by final score (1, 2, 2, 4); None for a
    body that did not take part;
  - ``category_id``: the body's category when the revision was published;
  - ``passed_gate``: whether the body went on to the later stages (None: it took no part); ``gate_rank``:
    its rank by verified SAQ score in its category, the rank a top-N gate reads;
  - ``missing_stages``: the stage codes the body did not take part in (the later stages of a body that did
    not pass the gate; every stage, ``"saq"`` first, of a body that took no part).

The publication also freezes the round's rules besides the weights (``gate_min_score``, ``gate_top_n``,
``missing_stage_policy``, ``stage_titles``), so the explanation of a published figure
(``app.results.explain``) never reads the round as it is now.

A correction is a new revision; earlier revisions stay as they were published. Readers take the latest
revision unless a revision is asked for.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, defer

import scoring
from app.accounts import policy
from app.accounts.principal import Principal
from app.db.models import (
    Account,
    BodyCategory,
    Invitation,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    RoundTemplate,
    Submission,
    TemplateVersion,
    Verification,
)
from app.errors import FieldProblem, InvalidInput, NotFound
from app.inputs import parse_digits
from app.pagination import Page, PageParams, paginate
from app.portal.caching import Stamp, commission_stamp
from app.results import explain
from app.results.explain import Outcome, PublishedRules, StageOutcome
from app.results.schemas import (
    NOT_PARTICIPATING_LABEL,
    BandCount,
    CategoryRef,
    HistoryEntryOut,
    HistoryOut,
    ParticipationOut,
    PublicationOut,
    PublishedRulesOut,
    RankingItem,
    RankingOut,
    RankingSummary,
    StageResultOut,
)
from app.rounds.service import get_round, settle_due_drafts
from app.submissions.service import template_of

SAQ = "saq"
NOT_PARTICIPATING = "tidak-mengikuti"
LEGACY_NOT_PARTICIPATING = "tidak_mengikuti"
"""The old spelling: still read by filters in the 0.1 release, never written; it goes away in 0.2.0."""
_CENT = Decimal("0.01")


def band_code(code: str) -> str:
    """A band code as filters read it: the old spelling ``tidak_mengikuti`` means ``tidak-mengikuti``."""
    return NOT_PARTICIPATING if code == LEGACY_NOT_PARTICIPATING else code


def percent(part: int, whole: int) -> Decimal:
    """``part`` as a percentage of ``whole``, half-up to 2 decimals (0.00 when ``whole`` is 0)."""
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(100) * part / whole).quantize(_CENT, rounding=ROUND_HALF_UP)


# --- Participation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipationRow:
    """Participation of one body category in a round (or the round's total, ``category_id`` None).

    Each count holds the next: invited >= registered >= started >= submitted >= verified.

    - ``invited``: bodies invited to the round;
    - ``registered``: invited bodies with at least one active PPID operator account, or a submission;
    - ``started``: invited bodies that began filling in their SAQ (it exists, as a draft or sent);
    - ``submitted``: invited bodies that took part: their submission is ``submitted``, or (a draft after the
      window closed) its verification was completed;
    - ``verified``: invited bodies whose verification is completed;
    - ``*_pct``: each as a percentage of ``invited``, half-up to 2 decimals.

    The differences are the bodies in each state of ``PARTICIPATION_STATES``: not registered, registered
    but not started, drafting, submitted but not verified yet.
    """

    category_id: int | None
    category_code: str
    category_name: str
    invited: int
    registered: int
    started: int
    submitted: int
    verified: int
    registered_pct: Decimal
    started_pct: Decimal
    submitted_pct: Decimal
    verified_pct: Decimal

    @classmethod
    def of(
        cls,
        *,
        category_id: int | None,
        code: str,
        name: str,
        invited: int,
        registered: int,
        started: int,
        submitted: int,
        verified: int,
    ) -> ParticipationRow:
        return cls(
            category_id=category_id,
            category_code=code,
            category_name=name,
            invited=invited,
            registered=registered,
            started=started,
            submitted=submitted,
            verified=verified,
            registered_pct=percent(registered, invited),
            started_pct=percent(started, invited),
            submitted_pct=percent(submitted, invited),
            verified_pct=percent(verified, invited),
        )

    def in_state(self, state: str) -> int:
        """How many of the category's bodies are in ``state`` (a key of ``PARTICIPATION_STATES``)."""
        return {
            NOT_REGISTERED: self.invited - self.registered,
            NOT_STARTED: self.registered - self.started,
            DRAFTING: self.started - self.submitted,
            SUBMITTED: self.submitted - self.verified,
            VERIFIED: self.verified,
        }[state]


NOT_REGISTERED = "belum-terdaftar"
NOT_STARTED = "belum-mulai"
DRAFTING = "sedang-mengisi"
SUBMITTED = "sudah-mengirim"
VERIFIED = "terverifikasi"
# The states an invited body moves through, in order, with the words the pages use for them.
PARTICIPATION_STATES = {
    NOT_REGISTERED: "Belum terdaftar",
    NOT_STARTED: "Terdaftar, belum mulai mengisi",
    DRAFTING: "Sedang mengisi",
    SUBMITTED: "Sudah mengirim, belum diverifikasi",
    VERIFIED: "Sudah diverifikasi",
}


def participation(
    *, session: Session, round_: Round, category_id: int | None = None
) -> list[ParticipationRow]:
    """Participation per body category of the round (or of one category), ordered by category code.
    Categories with no invited body are left out. Live figures (not a publication): invitations, accounts
    and submissions as they are now, after the drafts due under the round's ``drafts_at_deadline = "submit"``
    were submitted (:func:`app.rounds.service.settle_due_drafts`)."""
    settle_due_drafts(session=session, round_=round_)
    has_operator = exists().where(
        Account.body_id == Invitation.body_id, Account.role == "operator", Account.active.is_(True)
    )
    completed = Verification.status == "completed"
    started = Submission.id.is_not(None)
    registered = or_(has_operator, started)
    submitted = or_(Submission.status == "submitted", completed)
    stmt = (
        select(
            BodyCategory.id,
            BodyCategory.code,
            BodyCategory.name,
            func.count(Invitation.body_id),
            func.sum(case((registered, 1), else_=0)),
            func.sum(case((started, 1), else_=0)),
            func.sum(case((submitted, 1), else_=0)),
            func.sum(case((completed, 1), else_=0)),
        )
        .select_from(Invitation)
        .join(PublicBody, PublicBody.id == Invitation.body_id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .outerjoin(
            Submission,
            and_(Submission.round_id == Invitation.round_id, Submission.body_id == Invitation.body_id),
        )
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(Invitation.round_id == round_.id)
        .group_by(BodyCategory.id, BodyCategory.code, BodyCategory.name)
        .order_by(BodyCategory.code)
    )
    if category_id is not None:
        stmt = stmt.where(PublicBody.category_id == category_id)
    return [
        ParticipationRow.of(
            category_id=cid,
            code=code,
            name=name,
            invited=int(invited),
            registered=int(reg or 0),
            started=int(began or 0),
            submitted=int(sub or 0),
            verified=int(ver or 0),
        )
        for cid, code, name, invited, reg, began, sub, ver in session.execute(stmt).all()
    ]


def participation_total(rows: list[ParticipationRow]) -> ParticipationRow:
    """The round's total over the category rows (``category_id`` None, code ``""``, name ``"Total"``)."""
    return ParticipationRow.of(
        category_id=None,
        code="",
        name="Total",
        invited=sum(r.invited for r in rows),
        registered=sum(r.registered for r in rows),
        started=sum(r.started for r in rows),
        submitted=sum(r.submitted for r in rows),
        verified=sum(r.verified for r in rows),
    )


# Older links to the participation list used these state codes.
PARTICIPATION_STATE_ALIASES = {"belum-mengirim": (NOT_STARTED, DRAFTING), "belum-diverifikasi": (SUBMITTED,)}


@dataclass(frozen=True)
class ParticipationBody:
    """One invited body, the state of ``PARTICIPATION_STATES`` it is in (counted the way ``participation``
    counts) and its submission, if any."""

    body: PublicBody
    category: BodyCategory
    state: str
    submission: Submission | None

    @property
    def state_label(self) -> str:
        return PARTICIPATION_STATES[self.state]


def participation_bodies(
    *,
    session: Session,
    round_: Round,
    states: Collection[str] = (),
    category: str | None = None,
    limit: int = 1000,
) -> list[ParticipationBody]:
    """The round's invited bodies with their participation state, by category code and name, optionally
    only those in some ``states`` (keys of ``PARTICIPATION_STATES``) or of one category code."""
    has_operator = (
        select(Account.id)
        .where(Account.body_id == PublicBody.id, Account.role == "operator", Account.active.is_(True))
        .exists()
    )
    state = case(
        (Verification.status == "completed", VERIFIED),
        (Submission.status == "submitted", SUBMITTED),
        (Submission.id.is_not(None), DRAFTING),
        (has_operator, NOT_STARTED),
        else_=NOT_REGISTERED,
    )
    stmt = (
        select(PublicBody, BodyCategory, state, Submission)
        .join(Invitation, Invitation.body_id == PublicBody.id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .outerjoin(Submission, and_(Submission.round_id == round_.id, Submission.body_id == PublicBody.id))
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(Invitation.round_id == round_.id)
        .order_by(BodyCategory.code, PublicBody.name, PublicBody.id)
        .limit(limit)
    )
    if states:
        stmt = stmt.where(state.in_(list(states)))
    if category:
        stmt = stmt.where(BodyCategory.code == category)
    return [ParticipationBody(*row) for row in session.execute(stmt).all()]


# --- Publications -----------------------------------------------------------------------------------------


def latest_publication(*, session: Session, round_: Round) -> Publication | None:
    """The round's latest published revision, or None while the round is unpublished."""
    return session.scalar(
        select(Publication)
        .where(Publication.round_id == round_.id)
        .order_by(Publication.revision.desc())
        .limit(1)
    )


def publication_revision(*, session: Session, round_: Round, revision: int | None) -> Publication:
    """A given revision (the latest when ``revision`` is None); NotFound when the round has none (yet)."""
    if revision is None:
        latest = latest_publication(session=session, round_=round_)
        if latest is None:
            raise NotFound(f"the results of round {round_.title} are not published")
        return latest
    row = session.scalar(
        select(Publication).where(Publication.round_id == round_.id, Publication.revision == revision)
    )
    if row is None:
        raise NotFound(f"round {round_.title} has no published revision {revision}")
    return row


def stage_weights(publication: Publication) -> dict[str, Decimal]:
    """The weights a publication used, ``"saq"`` first, in the order they were published."""
    return {code: Decimal(w) for code, w in dict(publication.stage_weights).items()}


def outcome(row: ResultRow) -> Outcome:
    """What an explanation reads of a published row."""
    return Outcome(
        participating=row.participating,
        verified_score=row.verified_score,
        stage_scores=row.stage_scores,
        final_score=row.final_score,
        passed_gate=row.passed_gate,
        gate_rank=row.gate_rank,
        missing_stages=row.missing_stages,
    )


def published_outcome(row: PublishedResult) -> Outcome:
    """What an explanation reads of a published row loaded as an ORM object."""
    return Outcome(
        participating=row.participating,
        verified_score=row.verified_score,
        stage_scores=_decimals(row.stage_scores),
        final_score=row.final_score,
        passed_gate=row.passed_gate,
        gate_rank=row.gate_rank,
        missing_stages=tuple(row.missing_stages or ()),
    )


def rules_of(publication: Publication) -> PublishedRules:
    """The round's rules as the publication froze them."""
    return PublishedRules(
        stage_weights=stage_weights(publication),
        stage_titles=dict(publication.stage_titles or {}),
        gate_min_score=publication.gate_min_score,
        gate_top_n=publication.gate_top_n,
        missing_stage_policy=publication.missing_stage_policy,
    )


@dataclass(frozen=True)
class ResultRow:
    """One body's published row, with the names a report prints. Scores are the published 2-dp Decimals."""

    publication_id: int
    revision: int
    body_id: int
    body_name: str
    region_code: str | None
    category_id: int
    category_code: str
    category_name: str
    participating: bool
    self_score: Decimal | None
    verified_score: Decimal | None
    stage_scores: Mapping[str, Decimal] = field(default_factory=dict)
    aspect_scores: Mapping[str, Decimal] = field(default_factory=dict)
    final_score: Decimal | None = None
    band: str | None = None
    rank: int | None = None
    result_id: int = 0
    passed_gate: bool | None = None
    gate_rank: int | None = None
    missing_stages: Sequence[str] = ()


def _decimals(raw: Mapping[str, str] | None) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in (raw or {}).items()}


_RESULT_COLUMNS = (
    PublishedResult.id,
    PublishedResult.body_id,
    PublicBody.name,
    PublicBody.region_code,
    BodyCategory.id,
    BodyCategory.code,
    BodyCategory.name,
    PublishedResult.participating,
    PublishedResult.self_score,
    PublishedResult.verified_score,
    PublishedResult.stage_scores,
    PublishedResult.final_score,
    PublishedResult.band,
    PublishedResult.rank,
    PublishedResult.passed_gate,
    PublishedResult.gate_rank,
    PublishedResult.missing_stages,
)


def _result_row(pub: Publication, row: Any, aspects: Mapping[str, str] | None) -> ResultRow:
    # Plain columns, not ORM entities: a ranking page or a 100,000-row recap builds no mapped objects.
    rid, body_id, name, region, cat_id, cat_code, cat_name, participating, own, verified, stages, final = row[
        :12
    ]
    band, rank, passed, gate_rank, missing = row[12:17]
    return ResultRow(
        publication_id=pub.id,
        revision=pub.revision,
        body_id=body_id,
        body_name=name,
        region_code=region,
        category_id=cat_id,
        category_code=cat_code,
        category_name=cat_name,
        participating=participating,
        self_score=own,
        verified_score=verified,
        stage_scores=_decimals(stages),
        aspect_scores=_decimals(aspects),
        final_score=final,
        band=band,
        rank=rank,
        result_id=rid,
        passed_gate=passed,
        gate_rank=gate_rank,
        missing_stages=tuple(missing or ()),
    )


def _result_select(publication: Publication, *, with_aspects: bool) -> Select[Any]:
    columns: tuple[Any, ...] = _RESULT_COLUMNS + ((PublishedResult.aspect_scores,) if with_aspects else ())
    return (
        select(*columns)
        .select_from(PublishedResult)
        .join(PublicBody, PublicBody.id == PublishedResult.body_id)
        .join(BodyCategory, BodyCategory.id == PublishedResult.category_id)
        .where(PublishedResult.publication_id == publication.id)
    )


def iter_published_results(
    *, session: Session, publication: Publication, category_id: int | None = None, batch: int = 2000
) -> Iterator[ResultRow]:
    """Every row of a publication (optionally one category), ordered by category code, then rank (bodies
    that did not take part last), then body name. Streams in batches, so memory stays flat on big rounds."""
    stmt = (
        _result_select(publication, with_aspects=True)
        .order_by(
            BodyCategory.code,
            PublishedResult.rank.is_(None),
            PublishedResult.rank,
            PublicBody.name,
            PublicBody.id,
        )
        .execution_options(yield_per=batch)
    )
    if category_id is not None:
        stmt = stmt.where(PublishedResult.category_id == category_id)
    for row in session.execute(stmt):
        yield _result_row(publication, row[:-1], row[-1])


def body_result(*, session: Session, publication: Publication, body_id: int) -> ResultRow | None:
    """A body's row in a publication, exactly as published (None when the body is not in it)."""
    row = session.execute(
        _result_select(publication, with_aspects=True).where(PublishedResult.body_id == body_id)
    ).first()
    return None if row is None else _result_row(publication, row[:-1], row[-1])


@dataclass(frozen=True)
class Explained:
    """A published row with the sentences that say why its figures are what they are (Bahasa Indonesia)."""

    stages: list[StageOutcome]
    gate: str | None
    final: str
    band: str | None


def explained(
    *,
    publication: Publication,
    row: ResultRow,
    bands: Sequence[scoring.Band] = (),
    rules: PublishedRules | None = None,
) -> Explained:
    """Each stage of the row, the gate's decision and how the final score (and, given the template's
    ``bands``, the band) follow, from the rules the publication froze (pass ``rules_of(publication)`` as
    ``rules`` when explaining many rows)."""
    rules = rules or rules_of(publication)
    found = outcome(row)
    return Explained(
        stages=explain.stages(rules, found),
        gate=explain.gate_sentence(rules, found, row.category_name),
        final=explain.final_sentence(rules, found),
        band=explain.band_sentence(bands, row.band, row.final_score),
    )


@dataclass(frozen=True)
class RankingPage:
    rows: list[ResultRow]
    next_cursor: str | None


def _encode(rank: int | None, result_id: int) -> str:
    text = f"n:{result_id}" if rank is None else f"r:{rank}:{result_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int | None, int]:
    bad = InvalidInput(
        "The cursor is not valid.",
        errors=[
            FieldProblem(
                "cursor",
                "not a cursor from this API",
                "Penanda halaman tidak sah; mulai lagi dari halaman pertama.",
            )
        ],
        indonesian="Penanda halaman tidak sah; mulai lagi dari halaman pertama.",
    )
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError) as exc:
        raise bad from exc
    kind, *rest = text.split(":")
    numbers = [number for number in map(parse_digits, rest) if number is not None]
    if len(numbers) != len(rest):
        raise bad
    if kind == "n" and len(numbers) == 1:
        return None, numbers[0]
    if kind == "r" and len(numbers) == 2:
        return numbers[0], numbers[1]
    raise bad


def ranking_page(
    *,
    session: Session,
    publication: Publication,
    category_id: int,
    limit: int,
    cursor: str | None,
    band: str | None = None,
) -> RankingPage:
    """One page of a category's ranking in a publication: ranked bodies by rank (ties in published order,
    which is by body name), then the bodies that did not take part. Keyset pagination on (rank, row id),
    served by the index on (publication_id, category_id, rank). Rows carry no aspect scores (use
    ``iter_published_results`` for those). ``band``: only that band, or with ``tidak-mengikuti`` only the
    bodies that did not take part."""
    base = _result_select(publication, with_aspects=False).where(PublishedResult.category_id == category_id)
    absent_only = band is not None and band_code(band) == NOT_PARTICIPATING
    if band is not None and not absent_only:
        base = base.where(PublishedResult.band == band)
    after = _decode(cursor) if cursor else None
    want = limit + 1
    rows: list[Any] = []
    if not absent_only and (after is None or after[0] is not None):
        ranked = base.where(PublishedResult.rank.is_not(None))
        if after is not None:
            rank, last_id = after
            ranked = ranked.where(
                PublishedResult.rank >= rank,
                or_(PublishedResult.rank > rank, PublishedResult.id > last_id),
            )
        rows = list(
            session.execute(ranked.order_by(PublishedResult.rank, PublishedResult.id).limit(want)).all()
        )
    if len(rows) < want:
        unranked = base.where(PublishedResult.rank.is_(None))
        if after is not None and after[0] is None:
            unranked = unranked.where(PublishedResult.id > after[1])
        rows += session.execute(unranked.order_by(PublishedResult.id).limit(want - len(rows))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_result_row(publication, row, None) for row in rows]
    last = items[-1] if items else None
    return RankingPage(
        rows=items, next_cursor=_encode(last.rank, last.result_id) if more and last is not None else None
    )


@dataclass(frozen=True)
class BandCountRow:
    """How many bodies of a category fell in each band of a publication; ``not_participating`` apart."""

    category_id: int
    category_code: str
    category_name: str
    counts: Mapping[str, int]
    not_participating: int
    total: int


def band_counts(
    *, session: Session, publication: Publication, category_id: int | None = None
) -> list[BandCountRow]:
    """Counts per category x band of a publication, ordered by category code. ``counts`` holds only bands
    that occur; callers lay out the template's bands (and ``tidak-mengikuti``) as columns."""
    stmt = (
        select(
            BodyCategory.id,
            BodyCategory.code,
            BodyCategory.name,
            PublishedResult.participating,
            PublishedResult.band,
            func.count(),
        )
        .select_from(PublishedResult)
        .join(BodyCategory, BodyCategory.id == PublishedResult.category_id)
        .where(PublishedResult.publication_id == publication.id)
        .group_by(
            BodyCategory.id,
            BodyCategory.code,
            BodyCategory.name,
            PublishedResult.participating,
            PublishedResult.band,
        )
        .order_by(BodyCategory.code)
    )
    if category_id is not None:
        stmt = stmt.where(PublishedResult.category_id == category_id)
    grouped: dict[int, tuple[str, str, dict[str, int], list[int]]] = {}
    for cid, code, name, participating, band, n in session.execute(stmt).all():
        _, _, counts, absent = grouped.setdefault(cid, (code, name, {}, [0]))
        if participating and band is not None:
            counts[band] = counts.get(band, 0) + int(n)
        else:
            absent[0] += int(n)
    return [
        BandCountRow(
            category_id=cid,
            category_code=code,
            category_name=name,
            counts=counts,
            not_participating=absent[0],
            total=sum(counts.values()) + absent[0],
        )
        for cid, (code, name, counts, absent) in grouped.items()
    ]


def published_participation(
    *, session: Session, publication: Publication, category_id: int, counts: BandCountRow | None = None
) -> ParticipationRow:
    """A category's participation as a publication froze it: invited = its rows; submitted = verified = the
    bodies that took part (a round is published only once every participating body is verified); registered
    adds the bodies that did not take part but have an active PPID account or a (draft) submission now, and
    started those with a draft.
    Pass the category's ``band_counts`` row when you have it, to spare a query."""
    if counts is None:
        found = band_counts(session=session, publication=publication, category_id=category_id)
        counts = found[0] if found else None
    participating = sum(counts.counts.values()) if counts else 0
    absent = counts.not_participating if counts else 0
    absent_registered = absent_started = 0
    if absent:
        operator = aliased(Account)
        draft = aliased(Submission)
        has_draft = func.max(case((draft.id.is_not(None), 1), else_=0))
        absent_rows = session.execute(
            select(PublishedResult.body_id, has_draft)
            .select_from(PublishedResult)
            .outerjoin(
                operator,
                and_(
                    operator.body_id == PublishedResult.body_id,
                    operator.role == "operator",
                    operator.active.is_(True),
                ),
            )
            .outerjoin(
                draft,
                and_(draft.round_id == publication.round_id, draft.body_id == PublishedResult.body_id),
            )
            .where(
                PublishedResult.publication_id == publication.id,
                PublishedResult.category_id == category_id,
                PublishedResult.participating.is_(False),
                or_(operator.id.is_not(None), draft.id.is_not(None)),
            )
            .group_by(PublishedResult.body_id)
        ).all()
        absent_registered = len(absent_rows)
        absent_started = sum(1 for _, began in absent_rows if began)
    category = session.get(BodyCategory, category_id)
    assert category is not None
    return ParticipationRow.of(
        category_id=category_id,
        code=category.code,
        name=category.name,
        invited=participating + absent,
        registered=participating + absent_registered,
        started=participating + absent_started,
        submitted=participating,
        verified=participating,
    )


# --- Year over year ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """A body's published result in one round (latest revision), and the change from the round before it.

    ``band_change`` counts bands moved (+1 up, -2 down two bands) on the band order of the current round's
    template; None when either round has no band for the body or a band is unknown to the order.
    """

    round_id: int
    year: int
    title: str
    revision: int
    published_at: datetime
    participating: bool
    final_score: Decimal | None
    band: str | None
    rank: int | None
    score_change: Decimal | None
    band_change: int | None


def band_labels(*, session: Session, round_id: int) -> dict[str, str]:
    """Band code -> label, highest band first, from the templates the round uses (the first template to name
    a code gives its label)."""
    versions = session.scalars(
        select(TemplateVersion)
        .join(RoundTemplate, RoundTemplate.template_version_id == TemplateVersion.id)
        .where(RoundTemplate.round_id == round_id)
        .order_by(TemplateVersion.id)
        .options(defer(TemplateVersion.source_text))
    ).all()
    labels: dict[str, str] = {}
    for version in versions:
        for band in template_of(session, version).bands:
            labels.setdefault(band.code, band.label)
    return labels


def _band_order(session: Session, round_id: int) -> list[str]:
    return list(band_labels(session=session, round_id=round_id))


def body_history(*, session: Session, body: PublicBody) -> list[HistoryEntry]:
    """The body's results in every published round of its commission, oldest first, each from the round's
    latest revision, with the change from the previous published round the body was in."""
    latest = (
        select(Publication.round_id, func.max(Publication.revision).label("revision"))
        .group_by(Publication.round_id)
        .subquery()
    )
    stmt = (
        select(Round, Publication, PublishedResult)
        .join(Publication, Publication.round_id == Round.id)
        .join(
            latest, and_(latest.c.round_id == Publication.round_id, latest.c.revision == Publication.revision)
        )
        .join(PublishedResult, PublishedResult.publication_id == Publication.id)
        .where(Round.commission_id == body.commission_id, PublishedResult.body_id == body.id)
        .order_by(Round.year, Round.saq_opens_at, Round.id)
    )
    entries: list[HistoryEntry] = []
    previous: PublishedResult | None = None
    for round_, pub, res in session.execute(stmt).all():
        score_change: Decimal | None = None
        band_change: int | None = None
        if previous is not None and previous.final_score is not None and res.final_score is not None:
            score_change = res.final_score - previous.final_score
        if previous is not None and previous.band and res.band:
            order = _band_order(session, round_.id)
            if previous.band in order and res.band in order:
                # Bands are listed highest first: moving to a lower index is moving up.
                band_change = order.index(previous.band) - order.index(res.band)
        entries.append(
            HistoryEntry(
                round_id=round_.id,
                year=round_.year,
                title=round_.title,
                revision=pub.revision,
                published_at=pub.created_at,
                participating=res.participating,
                final_score=res.final_score,
                band=res.band,
                rank=res.rank,
                score_change=score_change,
                band_change=band_change,
            )
        )
        previous = res
    return entries


def took_part(submission: Submission | None, verification: Verification | None) -> bool:
    """A body took part when its submission was submitted, or verified after the window closed."""
    if submission is None:
        return False
    return submission.status == "submitted" or (
        verification is not None and verification.status == "completed"
    )


# --- API views ---------------------------------------------------------------------------------------------


def _category(session: Session, round_: Round, code: str) -> BodyCategory:
    category = session.scalar(
        select(BodyCategory).where(
            BodyCategory.commission_id == round_.commission_id, BodyCategory.code == code
        )
    )
    if category is None:
        raise NotFound(f"no body category {code!r} in this commission")
    return category


def score_text(value: Decimal | None) -> str | None:
    """A score as the API writes it: the Decimal's digits (``"87.50"``), or None."""
    return None if value is None else str(value)


def scores_text(values: Mapping[str, Decimal]) -> dict[str, str]:
    """Scores by stage or aspect code, as the API writes them."""
    return {k: str(v) for k, v in values.items()}


SUMMARY_TTL_SECONDS = 300.0
_SUMMARIES: dict[tuple[int, str, int], tuple[float, dict[str, str], RankingSummary]] = {}


def _ranking_summary(
    session: Session, publication: Publication, category: BodyCategory
) -> tuple[dict[str, str], RankingSummary]:
    """Band labels and the first page's summary (band counts, participation) of a publication's category.

    A publication never changes and neither do a published round's templates, so both are kept per process
    for ``SUMMARY_TTL_SECONDS``; only the registered count of bodies that did not take part is live, and may
    lag that long."""
    key = (publication.id, publication.created_at.isoformat(), category.id)
    now = time.monotonic()
    cached = _SUMMARIES.get(key)
    if cached is not None and now - cached[0] < SUMMARY_TTL_SECONDS:
        return cached[1], cached[2]
    labels = band_labels(session=session, round_id=publication.round_id)
    counts = band_counts(session=session, publication=publication, category_id=category.id)
    row = counts[0] if counts else None
    band_list = [
        BandCount(code=code, label=label, count=row.counts.get(code, 0) if row else 0)
        for code, label in labels.items()
    ]
    band_list.append(
        BandCount(
            code=NOT_PARTICIPATING, label=NOT_PARTICIPATING_LABEL, count=row.not_participating if row else 0
        )
    )
    share = published_participation(
        session=session, publication=publication, category_id=category.id, counts=row
    )
    summary = RankingSummary(
        band_counts=band_list,
        participation=ParticipationOut(
            category=category.code,
            invited=share.invited,
            registered=share.registered,
            started=share.started,
            submitted=share.submitted,
            verified=share.verified,
            registered_pct=str(share.registered_pct),
            started_pct=str(share.started_pct),
            submitted_pct=str(share.submitted_pct),
            verified_pct=str(share.verified_pct),
        ),
    )
    if len(_SUMMARIES) >= 512:
        _SUMMARIES.pop(next(iter(_SUMMARIES)))
    _SUMMARIES[key] = (now, labels, summary)
    return labels, summary


def stage_out(stage: StageOutcome) -> StageResultOut:
    return StageResultOut(
        code=stage.code,
        title=stage.title,
        weight=plain_number(stage.weight),
        score=score_text(stage.score),
        took_part=stage.took_part,
        reason=stage.reason,
    )


def plain_number(value: Decimal) -> str:
    """A weight or threshold as the API writes it: ``70``, ``12.5``."""
    return format(value.normalize(), "f")


def rules_out(rules: PublishedRules) -> PublishedRulesOut:
    return PublishedRulesOut(
        gate_min_score=None if rules.gate_min_score is None else f"{rules.gate_min_score:.2f}",
        gate_top_n=rules.gate_top_n,
        missing_stage_policy=rules.missing_stage_policy,
        stage_titles=dict(rules.stage_titles),
    )


def rankings(
    *,
    session: Session,
    round_id: int,
    by: Principal | None,
    category: str,
    revision: int | None,
    limit: int,
    cursor: str | None,
    band: str | None = None,
) -> RankingOut:
    """A category's published ranking (``by`` None: the public endpoint), optionally of one band (or the
    bodies that did not take part: ``tidak-mengikuti``; the old spelling ``tidak_mengikuti`` is read too).
    404 while the round is unpublished, for everybody."""
    round_ = get_round(session=session, round_id=round_id)
    if by is not None:
        policy.ensure_member(by, round_.commission_id)
    publication = publication_revision(session=session, round_=round_, revision=revision)
    cat = _category(session, round_, category)
    labels, first_page_summary = _ranking_summary(session, publication, cat)
    if band is not None and band_code(band) != NOT_PARTICIPATING and band not in labels:
        known = ", ".join([*labels, NOT_PARTICIPATING])
        raise InvalidInput(
            f"{band!r} is not a band of this round",
            errors=[
                FieldProblem(
                    "band",
                    f"not a band of this round; one of: {known}",
                    indonesian=f"Kualifikasi {band!r} tidak ada pada periode ini. Pilih salah satu: {known}.",
                )
            ],
            indonesian=f"Kualifikasi {band!r} tidak ada pada periode ini.",
        )
    page = ranking_page(
        session=session, publication=publication, category_id=cat.id, limit=limit, cursor=cursor, band=band
    )
    summary = first_page_summary if cursor is None else None
    rules = rules_of(publication)
    return RankingOut(
        round_id=round_.id,
        round_title=round_.title,
        year=round_.year,
        revision=publication.revision,
        published_at=publication.created_at,
        stage_weights=dict(publication.stage_weights),
        rules=rules_out(rules),
        category=CategoryRef(code=cat.code, name=cat.name),
        summary=summary,
        items=[
            RankingItem(
                rank=r.rank,
                body_id=r.body_id,
                body_name=r.body_name,
                region_code=r.region_code,
                participating=r.participating,
                self_score=score_text(r.self_score),
                verified_score=score_text(r.verified_score),
                stage_scores=scores_text(r.stage_scores),
                stages=[stage_out(stage) for stage in explain.stages(rules, outcome(r))],
                passed_gate=r.passed_gate,
                gate_rank=r.gate_rank,
                missing_stages=list(r.missing_stages),
                final_score=score_text(r.final_score),
                band=r.band,
                band_label=labels.get(r.band, r.band) if r.band else NOT_PARTICIPATING_LABEL,
            )
            for r in page.rows
        ],
        next_cursor=page.next_cursor,
    )


def public_rankings_stamp(*, session: Session, round_id: int, query: str) -> tuple[Stamp, str]:
    """The validators of a public ranking answer: the commission's public stamp (a new publication, a body
    renamed or moved) and a key naming the round (its title and year are in the answer and may be edited
    after publication) and the request's query."""
    round_ = get_round(session=session, round_id=round_id)
    return commission_stamp(
        session, round_.commission_id
    ), f"rankings:{round_.id}:{round_.year}:{round_.title}:{query}"


def publications(
    *, session: Session, round_id: int, by: Principal, params: PageParams
) -> Page[PublicationOut]:
    """The round's published revisions, oldest first."""
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_member(by, round_.commission_id)
    stmt = select(Publication).where(Publication.round_id == round_.id)
    return paginate(session=session, stmt=stmt, id_column=Publication.id, params=params).map(publication_out)


def publication_out(row: Publication) -> PublicationOut:
    return PublicationOut(
        id=row.id,
        round_id=row.round_id,
        revision=row.revision,
        reason=row.reason,
        published_by_id=row.published_by_id,
        published_at=row.created_at,
        stage_weights=dict(row.stage_weights),
        rules=rules_out(rules_of(row)),
    )


def _bands_text(change: int | None) -> str | None:
    if change is None:
        return None
    if change == 0:
        return "same band"
    unit = "band" if abs(change) == 1 else "bands"
    return f"{change:+d} {unit}"


def history(*, session: Session, body_id: int, by: Principal) -> HistoryOut:
    """The body's published results over the years, with the change from one published round to the next."""
    body = session.get(PublicBody, body_id)
    if body is None:
        raise NotFound(f"public body {body_id} does not exist")
    policy.ensure_read_body(session, by, commission_id=body.commission_id, body_id=body.id, round_id=None)
    return HistoryOut(
        body_id=body.id,
        body_name=body.name,
        entries=[
            HistoryEntryOut(
                round_id=e.round_id,
                year=e.year,
                title=e.title,
                revision=e.revision,
                published_at=e.published_at,
                participating=e.participating,
                final_score=score_text(e.final_score),
                band=e.band,
                rank=e.rank,
                score_change=score_text(e.score_change),
                band_change=e.band_change,
                band_change_text=_bands_text(e.band_change),
            )
            for e in body_history(session=session, body=body)
        ],
    )
