"""API schemas of evidence files."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from app.commissions.timezones import as_utc
from app.db.models import EvidenceFile

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


class EvidenceFileOut(BaseModel):
    """An uploaded evidence document; download it from ``url``."""

    id: int
    question_code: str
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: UtcDateTime
    url: str
    submission_version: int | None = Field(
        default=None,
        description="In the answer to an upload only: the submission's version (its ETag) after the upload.",
    )


def file_out(row: EvidenceFile) -> EvidenceFileOut:
    return EvidenceFileOut(
        id=row.id,
        question_code=row.question_code,
        name=row.original_name,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_by_id=row.uploaded_by_id,
        uploaded_at=row.created_at,
        url=f"/api/v1/evidence/{row.id}",
    )
