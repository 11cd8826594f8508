"""API schemas of later stages: panel scores and the gate."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.commissions.timezones import as_utc
from app.inputs import PERCENT_TEXT, decimal_input

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
PanelValue = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False),
    *decimal_input(PERCENT_TEXT, places=2),
]


class PanelScoreIn(BaseModel):
    """One judge's score of one body at a stage: 0 to 100 with at most two decimals, optionally with the
    scores per criterion the judge used (each 0 to 100, two decimals at most)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"score": "84.50", "criteria": {"materi": "85", "tanya_jawab": "84"}}]
        },
    )

    score: PanelValue
    criteria: dict[Annotated[str, Field(min_length=1, max_length=64)], PanelValue] | None = Field(
        default=None, max_length=50
    )


class JudgeScore(BaseModel):
    panelist_id: int
    panelist_name: str
    score: str = Field(description="Two decimals.")
    criteria: dict[str, str] | None
    updated_at: UtcDateTime


class PanelScoreOut(BaseModel):
    stage_id: int
    body_id: int
    judge: JudgeScore


class BodyStageScores(BaseModel):
    """A body's panel scores at a stage. ``stage_score`` is the mean of the judges' scores (exact, then
    rounded half-up to two decimals once); it is shown to administrators, and a panel member sees only
    its own score."""

    body_id: int
    body_name: str
    category: str
    judges: list[JudgeScore]
    stage_score: str | None


class GateRow(BaseModel):
    body_id: int
    body_name: str
    category: str
    verified_score: str | None
    rank: int | None = Field(
        description="Competition rank by verified score within the category (1, 2, 2, 4)."
    )
    passes: bool
    reason: str | None = Field(description="Why the body does not pass.")


class GateOut(BaseModel):
    """Who goes on to the later stages. With a minimum score, the verified SAQ score must reach it; with top
    N, the body's rank in its category must be N or better, so every body tied at the N-th place passes;
    with both, both must hold. Without either every body with a completed verification passes."""

    round_id: int
    gate_min_score: str | None
    gate_top_n: int | None
    passing: int
    items: list[GateRow]
    next_cursor: str | None = None
