"""API schemas of submissions: a body's SAQ in a round, its answers, saves, submit, score and checklist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from app.commissions.timezones import as_utc
from app.evidence.schemas import EvidenceFileOut
from app.inputs import JSON_INTEGER, NOT_BLANK
from app.rounds.schemas import Instant

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]

MAX_ANSWERS_PER_SAVE = 1000
MAX_LINKS_PER_ANSWER = 20
MAX_LINK_LENGTH = 2000
MAX_NOTE_LENGTH = 4000


class BodyRef(BaseModel):
    id: int
    name: str
    category: str
    region_code: str | None


class TemplateRef(BaseModel):
    key: str
    version: str
    title: str


class AnswerOut(BaseModel):
    value: Any = None
    evidence: list[str] = Field(default_factory=list, description="Evidence links (http or https).")
    files: list[EvidenceFileOut] = Field(default_factory=list, description="Uploaded evidence documents.")
    note: str | None = None
    updated_at: UtcDateTime | None = None
    updated_by_id: int | None = None


class SubmissionSummary(BaseModel):
    id: int
    round_id: int
    body: BodyRef
    status: str
    version: int
    template: TemplateRef
    updated_at: UtcDateTime
    submitted_at: UtcDateTime | None


class SubmissionOut(SubmissionSummary):
    """A submission with all its answers. ``version`` is also sent as the ``ETag`` header."""

    created_at: UtcDateTime
    submitted_by_id: int | None
    closes_at: UtcDateTime = Field(
        description="When the SAQ window closes for this body, extensions included."
    )
    reopened_at: UtcDateTime | None = Field(
        default=None, description="When the commission last reopened it after it was submitted."
    )
    reopen_reason: str | None = Field(default=None, description="Why the commission last reopened it.")
    answers: dict[str, AnswerOut]


_ANSWERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_ANSWERS_PER_SAVE,
    "additionalProperties": {
        "anyOf": [
            {
                "title": "AnswerChange",
                "type": "object",
                "properties": {
                    "value": {},
                    "evidence": {"type": "array", "items": {"type": "string"}},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
            },
            {"type": "null"},
        ]
    },
}


class AnswersPut(BaseModel):
    """Answers to change, by question code; questions left out keep their answer.

    Each answer may hold ``value``, ``evidence`` (a list of http(s) links) and ``note``. Fields sent replace
    the stored ones, fields left out keep their stored value, and ``"value": null`` clears the value (links
    and note stay). ``null`` instead of an object removes the whole answer. Every problem in the request is
    reported at once (422) and nothing is written.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "answers": {
                        "1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip"]},
                        "1.1.2": {"value": "a", "note": "DIP 2024 lengkap"},
                        "2.3": None,
                    }
                }
            ]
        },
    )

    # Each answer's shape (an object or null) is checked by the save itself, with every other problem at once;
    # validating a hundred nested objects here cost about 1 ms of every save.
    answers: Annotated[dict[str, Any], WithJsonSchema(_ANSWERS_SCHEMA)] = Field(
        max_length=MAX_ANSWERS_PER_SAVE
    )


class ScoreSummary(BaseModel):
    score: str = Field(description="The published self-assessed score, two decimals.")
    band: str = Field(description="The qualification (kualifikasi) code of that score.")
    band_label: str


class SaveResult(BaseModel):
    """The outcome of a save: the new version (also the ``ETag`` header) and the fresh self-assessed score."""

    submission_id: int
    version: int
    changed: list[str] = Field(description="Question codes whose stored answer changed.")
    score: ScoreSummary


# How many questions, as a JSON integer (app/inputs.py JSON_INTEGER).
Count = Annotated[int, Field(ge=0, le=MAX_ANSWERS_PER_SAVE * 100), JSON_INTEGER]


class IncompleteCounts(BaseModel):
    """How much of an SAQ is left open: questions without an answer, and answers that lack the evidence their
    question requires (as ``GET .../checklist`` lists them)."""

    model_config = ConfigDict(extra="forbid")

    unanswered: Count
    evidence_missing: Count


class SubmitIn(BaseModel):
    """Optional body of a submit. An SAQ with unanswered questions or missing required evidence is submitted
    only when ``acknowledge_incomplete`` names exactly the counts it has now (those of ``GET .../checklist``);
    a complete SAQ needs no body."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"acknowledge_incomplete": {"unanswered": 61, "evidence_missing": 4}}]
        },
    )

    acknowledge_incomplete: IncompleteCounts | None = None


class SubmitResult(BaseModel):
    submission_id: int
    status: str
    version: int
    submitted_at: UtcDateTime
    submitted_by_id: int | None
    score: ScoreSummary
    acknowledged_incomplete: IncompleteCounts | None = Field(
        default=None,
        description="What was left open when it was submitted, as acknowledged; null if complete.",
    )


class ChecklistItem(BaseModel):
    code: str
    text: str


class Checklist(BaseModel):
    """What is left before submitting: questions without an answer and answers lacking required evidence."""

    submission_id: int
    complete: bool
    unanswered: list[ChecklistItem]
    evidence_missing: list[ChecklistItem]


class ReopenIn(BaseModel):
    """Reopen a submitted SAQ (the commission's secretariat, before its verification starts)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NOT_BLANK, max_length=5000)
    ] = Field(
        description="Why; recorded in the audit log and shown to the body until it submits again.",
        examples=["Data dukung 2.1 salah unggah; permintaan PPID tanggal 2 September 2025"],
    )
    closes_at: Instant | None = Field(
        default=None,
        description="A new deadline for this body (ISO 8601 with offset), recorded as a deadline extension "
        "for the body with the same reason. Required when the body's own deadline has passed; otherwise "
        "optional and, if given, later than that deadline.",
        examples=["2025-09-05T23:59:00+07:00"],
    )
