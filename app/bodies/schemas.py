"""API schemas of public bodies and the bulk import report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.bodies.validation import check_email, check_region_code
from app.inputs import Id

BodyName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(lambda v: " ".join(v.split())),
]
RegionCode = Annotated[str, AfterValidator(check_region_code)]
Email = Annotated[str, AfterValidator(check_email)]


class BodyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: BodyName = Field(examples=["Kelurahan Gondangdia"])
    category: str = Field(
        description="The code of one of the commission's categories.", examples=["kelurahan"]
    )
    region_code: RegionCode | None = Field(
        default=None, description="Kemendagri kode wilayah, e.g. 31.71.01.1001.", examples=["31.71.01.1001"]
    )
    parent_id: Id | None = Field(
        default=None, description="A body of the same commission, e.g. its kecamatan."
    )
    ppid_email: Email | None = Field(default=None, examples=["ppid.gondangdia@jakarta.go.id"])
    active: bool = True


class BodyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: BodyName | None = None
    category: str | None = None
    region_code: RegionCode | None = None
    parent_id: Id | None = None
    ppid_email: Email | None = None
    active: bool | None = None


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
