"""API schemas of results: live final scores, publications, rankings and year-over-year history.

Scores are strings with exactly two decimals, as published; weights are plain numbers as strings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.commissions.timezones import as_utc

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
NOT_PARTICIPATING_LABEL = "Tidak Mengikuti"


class LiveResultOut(BaseModel):
    """A body's result as it stands now (not published). ``incomplete`` says why it has no final score
    yet; ``missing_stages``: stages with no panel score for the body."""

    body_id: int
    body_name: str
    category: str
    participating: bool
    verification_status: str | None
    self_score: str | None
    verified_score: str | None
    passed_gate: bool | None
    stage_scores: dict[str, str]
    missing_stages: list[str]
    final_score: str | None
    band: str | None
    rank: int | None
    incomplete: str | None


class LiveResultsOut(BaseModel):
    round_id: int
    stage_weights: dict[str, str]
    missing_stage_policy: str
    ready_to_publish: bool = Field(description="True when no result is incomplete.")
    incomplete: int
    items: list[LiveResultOut]
    next_cursor: str | None = None


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1,
        max_length=2000,
        description="Why this revision is published (e.g. the plenary decision, or what a correction fixes).",
    )


class PublishedRulesOut(BaseModel):
    """The round's rules as the publication froze them: a later change of the round changes none of it."""

    gate_min_score: str | None = Field(description="Minimum verified SAQ score to go on (two decimals).")
    gate_top_n: int | None = Field(description="Only the top N by verified SAQ score per category go on.")
    missing_stage_policy: str = Field(
        description="What a stage a body did not take part in counts: `zero` (0) or `saq_only` (not "
        "counted: the final score is the verified SAQ score)."
    )
    stage_titles: dict[str, str] = Field(description="The later stages' titles by stage code.")


class PublicationOut(BaseModel):
    id: int
    round_id: int
    revision: int
    reason: str
    published_by_id: int | None
    published_at: UtcDateTime
    stage_weights: dict[str, str]
    rules: PublishedRulesOut


class CategoryRef(BaseModel):
    code: str
    name: str


class BandCount(BaseModel):
    code: str = Field(description="A band code, or tidak-mengikuti for bodies that did not take part.")
    label: str
    count: int


class ParticipationOut(BaseModel):
    """Invited, registered (an active PPID account or a submission), started (a submission exists, draft
    or sent), submitted (took part) and verified bodies, with percentages of the invited (two decimals).
    Each count holds the next; ``started - submitted`` are the drafts, ``registered - started`` the bodies
    that never began."""

    category: str
    invited: int
    registered: int
    started: int = Field(description="Bodies that began filling in their SAQ (a draft or a sent one).")
    submitted: int
    verified: int
    registered_pct: str
    started_pct: str
    submitted_pct: str
    verified_pct: str


class RankingSummary(BaseModel):
    band_counts: list[BandCount]
    participation: ParticipationOut | None


class StageResultOut(BaseModel):
    """One stage of a body's published result, the SAQ (``saq``, the verified score) first."""

    code: str
    title: str
    weight: str = Field(description="The stage's weight in the final score (%).")
    score: str | None = Field(
        description="What the final score counts for the stage: the body's score when it took part; for a "
        "stage it did not take part in, `0.00` under the `zero` policy, null under `saq_only` or when the "
        "body took no part in the round."
    )
    took_part: bool
    reason: str | None = Field(
        description="Why the body did not take part: `not_participating` (not in the round), "
        "`gate_not_passed` (did not pass the gate), `absent` (no score at this stage); null when it did."
    )


class RankingItem(BaseModel):
    rank: int | None = Field(
        description="Competition rank in the category (1, 2, 2, 4); null: did not take part."
    )
    body_id: int
    body_name: str
    region_code: str | None
    participating: bool
    self_score: str | None
    verified_score: str | None
    stage_scores: dict[str, str] = Field(description="Scores of the stages the body took part in.")
    stages: list[StageResultOut] = Field(description="Every stage, taken part or not, with its weight.")
    passed_gate: bool | None = Field(description="Whether the body went on to the later stages.")
    gate_rank: int | None = Field(description="Rank by verified SAQ score in the category (the gate's).")
    missing_stages: list[str] = Field(description="Codes of the stages the body did not take part in.")
    final_score: str | None
    band: str | None
    band_label: str


class RankingOut(BaseModel):
    """A category's published ranking: ranked bodies, then those that did not take part (tidak mengikuti),
    paginated by ``limit``/``cursor``. ``summary`` (band counts with ``tidak-mengikuti``, participation)
    comes with the first page only."""

    round_id: int
    round_title: str
    year: int
    revision: int
    published_at: UtcDateTime
    stage_weights: dict[str, str]
    rules: PublishedRulesOut
    category: CategoryRef
    summary: RankingSummary | None
    items: list[RankingItem]
    next_cursor: str | None


class HistoryEntryOut(BaseModel):
    round_id: int
    year: int
    title: str
    revision: int
    published_at: UtcDateTime
    participating: bool
    final_score: str | None
    band: str | None
    rank: int | None
    score_change: str | None = Field(
        description="Change of the final score from the previous published round."
    )
    band_change: int | None = Field(
        description="Bands moved since the previous published round (+1 up, -2 down)."
    )
    band_change_text: str | None = Field(examples=["-2 bands"])


class HistoryOut(BaseModel):
    """A body's results in the published rounds of its commission, oldest first (one per round, so short)."""

    body_id: int
    body_name: str
    entries: list[HistoryEntryOut]
