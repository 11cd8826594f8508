"""API schemas of verification: assignments, verified answers, bulk actions, link checks and objections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat

from app.commissions.timezones import as_utc
from app.contract import deprecation
from app.evidence.schemas import EvidenceFileOut
from app.inputs import ID_KEY, Id, StrictId

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]

MAX_NOTE_LENGTH = 4000
FILE_IDS = deprecation.Notice(
    since=datetime(2026, 12, 4, tzinfo=UTC),
    replacement="Read `files` (name, size, type and upload time of each file); `file_ids` goes in 0.2.0.",
)
MAX_ASSIGNMENTS = 10_000


class AssignmentsPut(BaseModel):
    """Assign verifiers by hand: ``{"assignments": {"<body id>": <verifier account id>}}``. A body already
    assigned is reassigned; bodies left out keep their verifier."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"assignments": {"12": 5, "13": 5, "14": 6}}]}
    )

    assignments: dict[Id, StrictId] = Field(
        min_length=1,
        max_length=MAX_ASSIGNMENTS,
        json_schema_extra={"propertyNames": {"pattern": ID_KEY}},
    )


class SpreadIn(BaseModel):
    """Spread the category's unassigned invited bodies evenly over these verifiers."""

    model_config = ConfigDict(extra="forbid")

    category_code: str = Field(min_length=1, max_length=64)
    verifier_ids: list[StrictId] = Field(min_length=1, max_length=500)


class AssignmentOut(BaseModel):
    round_id: int
    body_id: int
    body_name: str
    category: str = Field(description="The body category's code.")
    category_name: str
    verifier_id: int
    verifier_name: str


class AssignmentsResult(BaseModel):
    """``changed``: how many bodies got a new verifier; ``assignments``: the bodies named in the request."""

    changed: int
    assignments: list[AssignmentOut]


class SpreadResult(BaseModel):
    """``assigned``: bodies newly assigned; ``per_verifier``: each verifier's bodies in the round now."""

    assigned: int
    per_verifier: dict[int, int]


class MyAssignment(BaseModel):
    """A body assigned to the calling verifier, with where its SAQ and its verification stand."""

    round_id: int
    round_title: str
    body_id: int
    body_name: str
    category: str = Field(description="The body category's code.")
    category_name: str
    submission_id: int | None
    submission_status: str | None = Field(description="draft | submitted; null when the body never started.")
    verification_status: str = Field(description="not_started | in_progress | completed")
    reviewed: int = Field(
        description="Of the questions counted in ``total``, how many have a verified value (0 before the "
        "verification starts)."
    )
    total: int | None = Field(
        description="The questions that need a verified value: those applicable under the verified values "
        "(a question whose condition is not met, for instance because its parent is not reviewed yet, is not "
        "counted), as completion counts them; null when the body has no submission."
    )


class VerifiedAnswerIn(BaseModel):
    """The verifier's review of one question. Fields sent replace the stored ones; fields left out keep
    their stored value (or null / false on a first review). ``value`` follows the template like an answer;
    null means no valid answer (it earns 0)."""

    model_config = ConfigDict(extra="forbid")

    value: Any = None
    evidence_checked: StrictBool | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)


class VerifiedAnswersPut(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "answers": {
                        "1.1.1": {"value": "yes", "evidence_checked": True},
                        "1.1.2": {"value": "b", "evidence_checked": True, "note": "DIP belum memuat 2024"},
                    }
                }
            ]
        },
    )

    answers: dict[str, VerifiedAnswerIn] = Field(min_length=1, max_length=1000)


class VerificationScore(BaseModel):
    score: str = Field(description="Published score, two decimals.")
    band: str
    band_label: str
    provisional: bool = Field(
        default=False,
        description="True while the verification is not completed: the score and its band may still change "
        "(unreviewed questions count as unanswered).",
    )


class AspectSide(BaseModel):
    code: str
    title: str
    self_score: str | None
    verified_score: str | None


class SelfSide(BaseModel):
    value: Any = None
    evidence: list[str] = Field(default_factory=list)
    file_ids: list[int] = deprecation.field(
        FILE_IDS, description="Ids of the uploaded files.", default_factory=list
    )
    files: list[EvidenceFileOut] = Field(
        default_factory=list, description="The uploaded evidence files: name, size, type, upload time."
    )
    note: str | None = None
    status: str = Field(description="How the question counted in the self-assessed score.")


class VerifiedSide(BaseModel):
    value: Any = None
    evidence_checked: bool
    note: str | None
    updated_at: UtcDateTime
    updated_by_id: int | None
    status: str = Field(description="How the question counted in the verified score.")


class QuestionSide(BaseModel):
    code: str
    aspect_code: str
    text: str
    type: str
    evidence_rule: str
    self: SelfSide
    verified: VerifiedSide | None = Field(description="Null until the verifier reviews the question.")
    applicable: bool = Field(
        description="Whether the question applies under the verified values (its condition holds, judged on "
        "the verified value of the question it depends on). Only applicable questions need a verified value "
        "before completion and count in ``reviewed`` and ``total``."
    )
    differs: bool = Field(description="The verified value differs from the body's value.")
    objection: str | None = Field(description="open | accepted | rejected, when the body objected.")


class VerificationOut(BaseModel):
    """Self-assessed and verified values side by side. ``version`` is also the ``ETag`` header.

    The verified score counts only reviewed questions (an unreviewed question is unanswered), and a
    reviewed answer's evidence only when ``evidence_checked`` is true."""

    submission_id: int
    verification_id: int | None
    status: str = Field(description="not_started | in_progress | completed")
    version: int | None
    verifier_id: int | None
    completed_at: UtcDateTime | None
    self_score: VerificationScore
    verified_score: VerificationScore
    aspects: list[AspectSide]
    reviewed: int = Field(
        description="Of the questions counted in ``total``, how many have a verified value."
    )
    total: int = Field(
        description="The questions that need a verified value before completion: those applicable under the "
        "verified values (a conditional question counts once its parent's verified value makes it "
        "applicable). ``total - reviewed`` is what completion would list as missing."
    )
    questions: list[QuestionSide]


class CompleteProblem(BaseModel):
    missing: list[str]


BulkAction = Literal["confirm_checked"]


class BulkFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=64, description="A body category code.")
    body_ids: list[StrictId] | None = Field(default=None, max_length=MAX_ASSIGNMENTS)


class BulkIn(BaseModel):
    """``confirm_checked``: for every reviewed question whose evidence the verifier checked and whose
    verified value is still empty, set the verified value to the body's own value. A value the verifier set
    is never overwritten. Only verifications in progress change; a verifier reaches only its bodies."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "confirm_checked", "filter": {"category": "kelurahan"}}]},
    )

    action: BulkAction
    filter: BulkFilter = Field(default_factory=BulkFilter)


class BulkFailure(BaseModel):
    submission_id: int
    reason: str


class BulkResult(BaseModel):
    """``changed``: verified answers changed; ``failed``: submissions left alone and why; ``batch_id``:
    pass it to ``POST /verification/bulk/{batch_id}/undo``."""

    batch_id: str
    changed: int
    failed: list[BulkFailure]


class ApproveUnreviewedIn(BaseModel):
    """``evidence_checked``: whether the verifier also checked the evidence of the answers it approves
    (default false: an approved "yes" that needs evidence earns nothing until its evidence is checked)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"evidence_checked": False}]})

    evidence_checked: StrictBool = False


class ApprovedUnreviewed(BulkResult):
    """``codes``: the questions that were not reviewed and now carry the body's value (``changed`` of
    them); ``version``: the verification's new version (also the ``ETag`` header). Undo with
    ``POST /verification/bulk/{batch_id}/undo``: the questions become unreviewed again."""

    codes: list[str]
    version: int


class LinkCheckOut(BaseModel):
    url: str
    outcome: str = Field(description="ok | broken | blocked | error")
    ok: bool
    status_code: int | None
    content_type: str | None
    error: str | None
    checked_at: UtcDateTime


class LinkCheckRun(BaseModel):
    submission_id: int
    checked: int
    ok: int
    unchecked: int = Field(
        description="Links left out because the submission has more than the checker's limit."
    )
    results: list[LinkCheckOut]


class LinkSweepRequest(BaseModel):
    """A sweep of every evidence link of a round (the body may be left out)."""

    model_config = ConfigDict(extra="forbid")

    skip_ok_hours: StrictFloat | None = Field(
        default=None,
        ge=0,
        le=720,
        description="Links whose latest check within this many hours was OK are not fetched again (0: fetch "
        "every link); EMONEV_LINK_SWEEP_SKIP_OK_HOURS (12) when left out.",
    )


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_code: str = Field(min_length=1, max_length=64)
    explanation: str = Field(min_length=1, max_length=MAX_NOTE_LENGTH)
    evidence: list[str] = Field(default_factory=list, max_length=20, description="New evidence links.")


class DecisionIn(BaseModel):
    """Accept or reject, with a reason either way. Accepting needs the new verified value in ``value``
    (usually the body's own answer, ``body_value`` of the objection); an empty value is refused unless
    ``no_valid_answer`` is true, which sets the question to no valid answer (it earns 0). Rejecting takes
    neither."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"accept": True, "reason": "SK DIP 2024 terlampir pada tautan baru", "value": "yes"},
                {"accept": False, "reason": "Laporan tidak memuat data 2024"},
            ]
        },
    )

    accept: StrictBool
    reason: str = Field(min_length=1, max_length=MAX_NOTE_LENGTH)
    value: Any = None
    no_valid_answer: StrictBool = False


class ObjectionOut(BaseModel):
    id: int
    submission_id: int
    question_code: str
    explanation: str
    evidence: list[str]
    created_by_id: int | None
    created_at: UtcDateTime
    body_value: Any = Field(
        default=None, description="The body's own answer to the question: what accepting usually restores."
    )
    verified_value: Any = Field(
        default=None,
        description="The question's verified value now (after an accepted decision, the new one).",
    )
    status: str = Field(description="open | accepted | rejected")
    decision_reason: str | None
    decided_value: Any = None
    decided_by_id: int | None
    decided_at: UtcDateTime | None


class ReleaseOut(BaseModel):
    round_id: int
    results_released_at: UtcDateTime
    objection_opens_at: UtcDateTime | None
    objection_closes_at: UtcDateTime | None
