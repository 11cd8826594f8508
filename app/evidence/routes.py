"""Evidence files (data dukung): upload to a question, download, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import CurrentPrincipal
from app.accounts.principal import Principal
from app.created import location, new_resource
from app.db.session import SessionDep
from app.downloads import stored_file
from app.evidence import service
from app.evidence.schemas import EvidenceFileOut
from app.evidence.storage import receive_upload
from app.inputs import Id
from app.settings import Settings, SettingsDep

router = APIRouter(tags=["evidence"])


async def receive_evidence(
    request: Request,
    *,
    session: Session,
    settings: Settings,
    submission_id: int,
    code: str,
    by: Principal,
    if_match: str | None = None,
) -> service.Attached:
    """Attach the file in ``request`` to question ``code``, for the API and the pages alike: the upload is
    staged within the size limit and checked by content, then attached (or found attached already), and the
    staged copy is discarded whatever happens. The body is already here in full (``app.request_body``), so
    staging it takes no time from the database."""
    staged = await receive_upload(
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        chunks=request.stream(),
        evidence_dir=settings.evidence_dir,
        max_bytes=settings.evidence_max_bytes,
    )
    try:
        return await run_in_threadpool(
            lambda: service.attach(
                session=session,
                submission_id=submission_id,
                question_code=code,
                staged=staged,
                by=by,
                evidence_dir=settings.evidence_dir,
                if_match=if_match,
            )
        )
    finally:
        staged.discard()


@router.post(
    "/submissions/{submission_id}/answers/{code}/files",
    status_code=201,
    responses={
        200: {
            "description": "The same file (same SHA-256) is already attached to the question: that file, "
            "nothing stored again, the version unchanged; `Location` is where it is downloaded",
            "model": EvidenceFileOut,
        },
        412: {"description": "If-Match was sent and names another version than the submission's current one"},
        **new_resource("The attached file; `Location` is where it is downloaded"),
        413: {"description": "Larger than the evidence size limit (EMONEV_EVIDENCE_MAX_BYTES)"},
        415: {"description": "Not a PDF, PNG or JPEG by content"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_file(
    submission_id: Id,
    code: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(description='Optional: the submission version you read, e.g. "3".')
    ] = None,
) -> EvidenceFileOut:
    """Attach a document as evidence for question ``code`` (multipart/form-data, part ``file``).

    PDF, PNG or JPEG, recognised by content (not by name or declared type), at most
    ``EMONEV_EVIDENCE_MAX_BYTES`` (2 MB by default; larger uploads are cut off with 413 as soon as they pass
    it). For the body's operator while the submission is a draft and the window is open. The file counts as
    evidence for the question in the score until it is removed.

    The upload is a change of the submission: its version (ETag) moves on, so a save sent with the old
    ``If-Match`` gets 412; the answer's ``submission_version`` is the new one. ``If-Match`` is optional here
    and, when sent, must name the current version (412 otherwise, compared strongly).

    The same file (same SHA-256) sent again to the same question, while the first is not removed, is not
    stored twice: the answer is 200 with the file already there, the version does not move and If-Match is
    not compared (a retry after a lost answer gets its file). The file is on the disk (flushed, with its
    directory) before the answer is sent.
    """
    attached = await receive_evidence(
        request,
        session=session,
        settings=settings,
        submission_id=submission_id,
        code=code,
        by=principal,
        if_match=if_match,
    )
    response.headers["Location"] = location(request, "download_file", file_id=attached.file.id)
    if not attached.created:
        response.status_code = 200
    return attached.file


@router.get(
    "/evidence/{file_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
)
def download_file(
    file_id: Id, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> FileResponse:
    """Download an evidence file; allowed to whoever may read the submission it belongs to."""
    found = service.download(
        session=session, file_id=file_id, by=principal, evidence_dir=settings.evidence_dir
    )
    return stored_file(found.path, name=found.name, content_type=found.content_type, disposition="attachment")


@router.delete(
    "/evidence/{file_id}",
    status_code=204,
    response_class=Response,
    responses={412: {"description": "If-Match was sent and names another version of the submission"}},
)
def remove_file(
    file_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: Annotated[
        str | None, Header(description='Optional: the submission version you read, e.g. "3".')
    ] = None,
) -> Response:
    """Remove an evidence file from a draft submission while the window is open (it no longer counts).

    Like an upload, this moves the submission's version (ETag) on: read the submission again before the
    next save. ``If-Match`` is optional and, when sent, must name the submission's current version."""
    service.remove(session=session, file_id=file_id, by=principal, if_match=if_match)
    return Response(status_code=204)
