"""API schemas of public bodies and the bulk import report."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.bodies.validation import EMAIL_PATTERN, REGION_CODE_PATTERN, check_email, check_region_code
from app.errors import MAX_LISTED_PROBLEMS
from app.inputs import NOT_BLANK, StrictId, not_null_in_schema

if TYPE_CHECKING:
    from app.bodies.service import ImportReport
    from app.db.models import PublicBody

BodyName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, pattern=NOT_BLANK, max_length=300),
    AfterValidator(lambda v: " ".join(v.split())),
]
RegionCode = Annotated[
    str, AfterValidator(check_region_code), Field(json_schema_extra={"pattern": REGION_CODE_PATTERN})
]
Email = Annotated[
    str, AfterValidator(check_email), Field(json_schema_extra={"pattern": EMAIL_PATTERN, "maxLength": 320})
]


class BodyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: BodyName = Field(examples=["Kelurahan Gondangdia"])
    category: str = Field(
        description="The code of one of the commission's categories.", examples=["kelurahan"]
    )
    region_code: RegionCode | None = Field(
        default=None, description="Kemendagri kode wilayah, e.g. 31.71.01.1001.", examples=["31.71.01.1001"]
    )
    parent_id: StrictId | None = Field(
        default=None, description="A body of the same commission, e.g. its kecamatan."
    )
    ppid_email: Email | None = Field(default=None, examples=["ppid.gondangdia@jakarta.go.id"])
    active: StrictBool = True


# What a change may leave out but not clear.
NOT_NULL = ("name", "category", "active")


class BodyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null_in_schema(*NOT_NULL))

    name: BodyName | None = None
    category: str | None = None
    region_code: RegionCode | None = None
    parent_id: StrictId | None = None
    ppid_email: Email | None = None
    active: StrictBool | None = None


class BodyOut(BaseModel):
    id: int
    commission_id: int
    name: str
    category: str = Field(description="The category's code.")
    category_id: int
    region_code: str | None
    parent_id: int | None
    ppid_email: str | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, body: PublicBody) -> BodyOut:
        return cls(
            id=body.id,
            commission_id=body.commission_id,
            name=body.name,
            category=body.category.code,
            category_id=body.category_id,
            region_code=body.region_code,
            parent_id=body.parent_id,
            ppid_email=body.ppid_email,
            active=body.active,
            created_at=body.created_at,
        )


class ImportProblemOut(BaseModel):
    row: int = Field(description="The row number as a spreadsheet shows it (the header is row 1).")
    column: str
    message: str


class ImportReportOut(BaseModel):
    """What a bulk import found and did. Nothing is written unless every row is valid and dry_run is false."""

    dry_run: bool
    valid: bool
    rows: int
    created: int
    problems: list[ImportProblemOut] = Field(description="The first 100 problems found, row by row.")
    problems_omitted: int = Field(0, description="How many more problems there were than `problems` lists.")
    bodies: list[BodyOut] = Field(description="The bodies created (empty on a dry run).")

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        return cls(
            dry_run=report.dry_run,
            valid=report.valid,
            rows=report.rows,
            created=len(report.created),
            problems=[
                ImportProblemOut(row=p.row, column=p.column, message=p.message)
                for p in report.problems[:MAX_LISTED_PROBLEMS]
            ],
            problems_omitted=max(len(report.problems) - MAX_LISTED_PROBLEMS, 0),
            bodies=[BodyOut.of(b) for b in report.created],
        )
