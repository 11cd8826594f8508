from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str | list[str] | StrictFloat | StrictInt | None = None
    evidence: list[str] = Field(default_factory=list)
    note: str | None = None


class ScorePreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_key: str
    template_version: str
    answers: dict[str, AnswerIn] = Field(default_factory=dict)


class AspectScoreOut(BaseModel):
    code: str
    title: str
    score: str
    weight: str


class QuestionScoreOut(BaseModel):
    code: str
    earned: str
    max: str
    status: str


class ScoreCardOut(BaseModel):
    """A score with its explanation. Figures are strings with exactly two decimals, as published."""

    template_key: str
    template_version: str
    score: str = Field(examples=["87.50"])
    band: str = Field(examples=["menuju-informatif"])
    aspects: list[AspectScoreOut]
    questions: list[QuestionScoreOut]


class TemplateVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    version: str
    title: str
    content_hash: str
    body_categories: list[str]
    question_count: int
    created_at: datetime


def answers_payload(answers: dict[str, AnswerIn]) -> dict[str, Any]:
    return {code: a.model_dump(exclude_none=True) for code, a in answers.items()}


class TemplateDetailOut(TemplateVersionOut):
    """A template version with its parsed tree (aspects > groups > questions, defaults filled in), for
    rendering forms. Weights and scores are strings, exact as written."""

    description: str | None
    bands: list[dict[str, Any]]
    aspects: list[dict[str, Any]]
