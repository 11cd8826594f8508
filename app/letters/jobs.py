"""All letters of a round's publication as a job: a ZIP with one folder per category, made in parts that
several workers share when the round is large (as the result sheets are: app/exports/jobs.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.errors import Forbidden
from app.exports.jobs import may_read_export, prepare_export, zip_in_parts
from app.exports.service import ZIP_MEDIA_TYPE
from app.jobs.kinds import JobKind, JobOutcome, JobRun, JobScope, register
from app.letters import service


def _letters(run: JobRun) -> JobOutcome:
    """One job for a round of up to ``letters_bodies_per_part`` bodies; for a larger one, parts."""
    assert run.round_id is not None
    round_id = run.round_id
    revision = run.params["revision"]
    return zip_in_parts(
        run,
        cut=lambda session: service.letter_parts(
            session=session,
            round_id=round_id,
            revision=revision,
            by=run.principal,
            bodies_per_part=run.settings.letters_bodies_per_part,
        ),
        part_kind=LETTERS_PART.name,
        ids_key="body_ids",
        whole=lambda session: service.letters_zip(
            session=session,
            round_id=round_id,
            revision=revision,
            by=run.principal,
            target=run.target,
            progress=run.progress,
        ),
        what="letters",
    )


def _letters_part(run: JobRun) -> JobOutcome:
    assert run.round_id is not None
    with run.reading().begin() as session:
        name = service.letters_part_zip(
            session=session,
            round_id=run.round_id,
            revision=run.params["revision"],
            by=run.principal,
            body_ids=run.params["body_ids"],
            target=run.target,
            progress=run.progress,
        )
    return JobOutcome(file_name=name, media_type=ZIP_MEDIA_TYPE)


def _only_as_a_part(
    session: Session, by: Principal, scope: JobScope, params: dict[str, Any]
) -> dict[str, Any]:
    raise Forbidden(
        "a part of the letters is queued by its letters job, not asked for",
        indonesian="Bagian surat hasil dibuat oleh pekerjaan surat hasilnya, tidak dapat diminta sendiri.",
    )


LETTERS = register(
    JobKind(
        name="letters",
        title="Surat hasil dan rekomendasi semua badan publik (ZIP berisi PDF)",
        run=_letters,
        prepare=prepare_export,
        ensure_may_read=may_read_export,
        export=True,
    )
)
LETTERS_PART = register(
    JobKind(
        name="letters_part",
        title="Bagian surat hasil (ZIP)",
        run=_letters_part,
        prepare=_only_as_a_part,
        ensure_may_read=may_read_export,
    )
)
