"""API schemas of rounds: window, templates per category, invitations, status, stages, gate, extensions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.inputs import (
    JSON_INTEGER,
    MAX_INT,
    NOT_BLANK,
    PERCENT_TEXT,
    WEIGHT_TEXT,
    StrictId,
    decimal_input,
    not_null_in_schema,
)

RoundStatus = Literal["draft", "open", "closed", "verification", "objection", "stages", "final", "published"]
StageKind = Literal["presentation", "site_visit", "interview"]
MissingStagePolicy = Literal["zero", "saq_only"]
DraftsAtDeadline = Literal["not_participating", "submit"]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=64)]
Year = Annotated[int, Field(ge=2000, le=2100), JSON_INTEGER]
TopN = Annotated[int, Field(ge=1, le=MAX_INT), JSON_INTEGER]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NOT_BLANK, max_length=300)
]
StageTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NOT_BLANK, max_length=200)
]


# The years a round may have. Beyond them an instant is a typo, and near the calendar's ends converting it
# to UTC or to WIB overflows (9999-12-31T23:59-12:00 is in the year 10000 in UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "a time without a UTC offset is ambiguous: give one, e.g. 2025-08-31T23:59:00+07:00 for 23:59 WIB"
        )
    # The year as written, so that the document can say the rule (INSTANT_PATTERN); 2100-12-31T23:00-05:00
    # is stored as 2101-01-01T04:00Z, far from where a datetime overflows.
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError("must be in the years 2000 to 2100")
    return value


# What the validation above takes, as the document says it (besides ``format: date-time``).
INSTANT_PATTERN = r"^(20[0-9]{2}|2100)-"
Instant = Annotated[datetime, AfterValidator(_aware), Field(json_schema_extra={"pattern": INSTANT_PATTERN})]
Weight = Annotated[
    Decimal,
    Field(gt=0, le=100, max_digits=7, decimal_places=3),
    *decimal_input(WEIGHT_TEXT, places=3, positive=True),
]
GateScore = Annotated[
    Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2), *decimal_input(PERCENT_TEXT, places=2)
]


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: Year = Field(examples=[2025])
    title: Title = Field(examples=["Monev KIP 2025"])
    saq_opens_at: Instant = Field(description="ISO 8601 with offset.", examples=["2025-08-01T00:00:00+07:00"])
    saq_closes_at: Instant = Field(
        description="ISO 8601 with offset.", examples=["2025-08-31T23:59:00+07:00"]
    )
    objection_opens_at: Instant | None = None
    objection_closes_at: Instant | None = None
    gate_min_score: GateScore | None = Field(default=None, description="Minimum verified SAQ score to go on.")
    gate_top_n: TopN | None = Field(default=None, description="Only the top N per category go on.")
    missing_stage_policy: MissingStagePolicy = Field(
        default="zero",
        description="A body that did not reach a stage: 0 for it (zero) or its SAQ score only.",
    )
    drafts_at_deadline: DraftsAtDeadline = Field(
        default="not_participating",
        description="What a draft still unsubmitted at its body's deadline becomes: not taking part "
        "(not_participating, tidak mengikuti) or submitted as it stands (submit).",
    )


# What a change may leave out but not clear.
NOT_NULL = (
    "year",
    "title",
    "saq_opens_at",
    "saq_closes_at",
    "missing_stage_policy",
    "drafts_at_deadline",
)


class RoundPatch(BaseModel):
    """Only the fields sent change. `null` clears the objection dates and the gate."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null_in_schema(*NOT_NULL))

    year: Year | None = None
    title: Title | None = None
    saq_opens_at: Instant | None = None
    saq_closes_at: Instant | None = None
    objection_opens_at: Instant | None = None
    objection_closes_at: Instant | None = None
    gate_min_score: GateScore | None = None
    gate_top_n: TopN | None = None
    missing_stage_policy: MissingStagePolicy | None = None
    drafts_at_deadline: DraftsAtDeadline | None = Field(
        default=None, description="Changes until the SAQ stage closes."
    )


class TemplateChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(examples=["kip-saq-kelurahan"])
    version: str = Field(examples=["2025.1"])


class RoundTemplateOut(BaseModel):
    category: str
    template_version_id: int
    key: str
    version: str
    title: str


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(examples=["presentasi"])
    kind: StageKind
    title: StageTitle = Field(examples=["Presentasi / Uji Publik"])
    weight: Weight = Field(examples=[30])
    aggregation: Literal["mean"] = Field(default="mean", description="How the panel's scores combine.")


class StagesIn(BaseModel):
    """The weights of the SAQ and of every later stage; together they sum to exactly 100."""

    model_config = ConfigDict(extra="forbid")

    saq_weight: Weight = Field(examples=[70])
    stages: list[StageIn] = Field(default_factory=list, max_length=20)


class StageOut(BaseModel):
    id: int
    code: str
    kind: str
    title: str
    weight: str = Field(examples=["30"])
    aggregation: str
    position: int


class RoundOut(BaseModel):
    """A round. Instants are UTC ISO 8601; each has a `_local` rendering in the commission's time zone."""

    id: int
    commission_id: int
    year: int
    title: str
    status: str
    timezone: str = Field(examples=["Asia/Jakarta"])
    saq_opens_at: datetime
    saq_opens_at_local: str = Field(examples=["2025-08-01 00:00 WIB"])
    saq_closes_at: datetime
    saq_closes_at_local: str = Field(examples=["2025-08-31 23:59 WIB"])
    objection_opens_at: datetime | None
    objection_opens_at_local: str | None
    objection_closes_at: datetime | None
    objection_closes_at_local: str | None
    saq_weight: str = Field(examples=["70"])
    stages: list[StageOut]
    gate_min_score: str | None = Field(examples=["65.00"])
    gate_top_n: int | None
    missing_stage_policy: str
    drafts_at_deadline: str = Field(examples=["not_participating"])
    saq_closed_at: datetime | None = Field(
        description="When the SAQ stage actually closed (the move to closed); earlier than saq_closes_at "
        "when it closed early."
    )
    saq_closed_at_local: str | None
    templates: list[RoundTemplateOut]
    your_closes_at: datetime | None = Field(
        default=None, description="For a body's operator: the deadline for that body, with its extensions."
    )
    your_closes_at_local: str | None = None
    created_at: datetime


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RoundStatus
    confirm: StrictBool = Field(
        default=False,
        description="Confirms a move that affects bodies (see GET /rounds/{id}/status-preview); without it "
        "such a move is a 409 naming how many bodies of each kind it affects.",
    )


class AffectedBodyOut(BaseModel):
    body_id: int
    name: str
    category: str = Field(description="The category's name.")
    submission_id: int | None
    submission_status: str | None = Field(description="draft, or null: never started.")
    closes_at: datetime = Field(description="The body's own deadline, extensions included.")
    closes_at_local: str


class StatusPreviewOut(BaseModel):
    """Who moving the round to `to` affects. Closing the SAQ stage (`open` to `closed`): bodies with a draft
    and no running extension (`drafts`: what becomes of them is `drafts_at_deadline`), bodies that have not
    submitted and whose deadline extension is still running (`extension_running`: they keep filling in
    until their own deadline), bodies that never started and have no running extension (`not_started`: they
    do not take part), and `closing_early` when the round's own deadline has not come. Leaving
    `verification`: `extension_running` are bodies whose SAQ window is still open, and the move is refused
    (`blocked`) until each has submitted or its deadline has passed."""

    round_id: int
    status: str = Field(description="The round's status now.")
    to: str
    needs_confirmation: bool
    blocked: bool
    closing_early: bool
    saq_closes_at: datetime
    saq_closes_at_local: str
    drafts_at_deadline: str
    drafts: list[AffectedBodyOut]
    extension_running: list[AffectedBodyOut]
    not_started: list[AffectedBodyOut]


class InvitationsIn(BaseModel):
    """Either `body_ids` or `category_codes` (every active body of those categories)."""

    model_config = ConfigDict(extra="forbid")

    body_ids: list[StrictId] | None = Field(default=None, min_length=1, max_length=100_000)
    category_codes: list[str] | None = Field(default=None, min_length=1, max_length=200)


class InvitationsResultOut(BaseModel):
    invited: int = Field(description="Bodies newly invited by this request.")
    already_invited: int
    body_ids: list[int] = Field(description="The bodies newly invited.")


class InvitedBodyOut(BaseModel):
    body_id: int
    name: str
    category: str
    region_code: str | None
    active: bool
    invited_at: datetime


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closes_at: Instant = Field(examples=["2025-09-07T23:59:00+07:00"])
    scope: Literal["round", "categories", "bodies"]
    category_codes: list[str] = Field(default_factory=list, max_length=200)
    body_ids: list[StrictId] = Field(default_factory=list, max_length=100_000)
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NOT_BLANK, max_length=5000)
    ] = Field(examples=["Keputusan Rapat Pleno KI DKI Jakarta tanggal 29 Agustus 2025"])


class ExtensionOut(BaseModel):
    id: int
    closes_at: datetime
    closes_at_local: str
    scope: str
    category_codes: list[str]
    body_ids: list[int]
    reason: str
    decided_by_id: int | None
    decided_by: str | None
    created_at: datetime
