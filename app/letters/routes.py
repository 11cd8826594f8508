"""The commission's letters as PDF (Lembar Hasil dan Rekomendasi) and its letterhead logo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.accounts import policy
from app.accounts.deps import CurrentPrincipal
from app.commissions.schemas import CommissionOut
from app.commissions.service import get_commission
from app.contract.problems import problems
from app.db.session import LongWorkSessionDep, SessionDep
from app.errors import Conflict
from app.inputs import Id
from app.jobs import service as jobs
from app.jobs.routes import ACCEPTED, accepted
from app.jobs.schemas import JobOut
from app.letters import service
from app.letters.jobs import LETTERS
from app.letters.render import JPEG, PNG
from app.uploads import Upload, read_upload, request_body_doc

router = APIRouter(tags=["letters"])

Revision = Annotated[
    Id | None, Query(description="A published revision of the round; the latest when left out.")
]
LOGO_TYPES = (PNG, JPEG)


@router.get(
    "/rounds/{round_id}/bodies/{body_id}/letter.pdf",
    response_class=Response,
    responses={200: {"content": {service.PDF_MEDIA_TYPE: {}}, "description": "The body's letter (PDF)."}},
)
def body_letter(
    round_id: Id,
    body_id: Id,
    session: LongWorkSessionDep,
    principal: CurrentPrincipal,
    revision: Revision = None,
) -> Response:
    """The commission's letter to a body (Lembar Hasil dan Rekomendasi), A4 PDF with the commission's
    letterhead: letter number and date (the publication's, in the commission's time zone), the body's
    scores per stage and aspect, final score, band, rank in its category and the recommendations ordered by
    points lost (the result sheet's list), signed by the chair. From the latest publication, or `revision`.
    The body's operator (once published) and the commission's administrators and panel members; 404 while
    the round is unpublished or when the body is not in the revision."""
    name, pdf = service.body_letter(
        session=session, round_id=round_id, body_id=body_id, revision=revision, by=principal
    )
    return Response(
        pdf,
        media_type=service.PDF_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/rounds/{round_id}/letter-jobs",
    status_code=202,
    response_model=JobOut,
    responses={**problems(Conflict), **ACCEPTED},
)
def request_letters(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    revision: Revision = None,
) -> JobOut:
    """Make the letters of every body of the round's publication (the latest, or `revision`) as a job: a
    ZIP with one folder per category, one PDF per body. Answers 202 with `Location: /api/v1/jobs/{id}`;
    poll it for progress and its `download_url`. A large round is made in parts that the workers share
    (`EMONEV_LETTERS_BODIES_PER_PART`). The same as `POST /rounds/{id}/exports` with `{"kind":
    "letters"}`. The commission's readers only; 409 while the round is unpublished."""
    job, _new = jobs.request_job(
        session=session,
        kind_name=LETTERS.name,
        round_id=round_id,
        params={"revision": revision},
        by=principal,
        export_only=True,
    )
    return accepted(request, response, job)


async def logo_upload(commission_id: Id, request: Request, principal: CurrentPrincipal) -> Upload:
    policy.ensure_admin(principal, commission_id)  # strangers are refused before their upload is read
    return await read_upload(
        request, raw_types=LOGO_TYPES, max_bytes=service.MAX_LOGO_BYTES, what="logo (PNG or JPEG)"
    )


@router.put(
    "/commissions/{commission_id}/letter-logo",
    response_model=CommissionOut,
    openapi_extra=request_body_doc(LOGO_TYPES, "The logo, PNG or JPEG, at most 512 KB."),
)
def put_logo(
    commission_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    upload: Annotated[Upload, Depends(logo_upload)],
) -> CommissionOut:
    """Set the logo of the commission's letterhead (its administrators): a PNG or JPEG image (recognised by
    its content: 415 otherwise) of at most 512 KB (413), that can be drawn (422)."""
    commission = get_commission(session=session, commission_id=commission_id, by=principal)
    return CommissionOut.model_validate(
        service.set_logo(session=session, commission=commission, data=upload.data, by=principal)
    )


@router.delete("/commissions/{commission_id}/letter-logo", response_model=CommissionOut)
def delete_logo(commission_id: Id, session: SessionDep, principal: CurrentPrincipal) -> CommissionOut:
    """Remove the logo of the commission's letterhead (its administrators)."""
    commission = get_commission(session=session, commission_id=commission_id, by=principal)
    return CommissionOut.model_validate(
        service.remove_logo(session=session, commission=commission, by=principal)
    )
