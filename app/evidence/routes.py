"""Evidence files (data dukung): upload to a question, download, remove."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import CredentialRequired, CurrentPrincipal, authenticate
from app.contract.headers import file_download
from app.contract.problems import problems
from app.created import LOCATION_HEADER, location, new_resource
from app.db.session import SessionDep
from app.downloads import stored_file
from app.errors import Conflict, PreconditionRequired, WindowClosed
from app.evidence import service
from app.evidence.schemas import EvidenceFileOut
from app.evidence.storage import StagedUpload, receive_upload
from app.inputs import Id
from app.settings import Settings, SettingsDep

router = APIRouter(tags=["evidence"])
T = TypeVar("T")


async def receive_evidence(
    request: Request, *, session: Session, settings: Settings, attach: Callable[[StagedUpload], T]
) -> T:
    """Stage the file in ``request`` within the size limit, checked by content, then run ``attach`` with it,
    for the API and the pages alike; the staged copy is discarded whatever happens.

    ``attach`` does all the request's database work and commits, in one thread-pool call: a connection is
    then only ever held by a thread that is working, never by a request waiting for a thread (with as many
    uploads at once as the pool has connections, those waits could otherwise hold every connection while
    every thread waits for one). Whatever transaction the dependencies began (a page's session and CSRF
    checks) is ended before the file is staged."""
    if session.in_transaction():
        await run_in_threadpool(session.rollback)  # read-only so far
    staged = await receive_upload(
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        chunks=request.stream(),
        evidence_dir=settings.evidence_dir,
        max_bytes=settings.evidence_max_bytes,
    )
    try:
        return await run_in_threadpool(attach, staged)
    finally:
        staged.discard()


@router.post(
    "/submissions/{submission_id}/answers/{code}/files",
    status_code=201,
    responses={
        **problems(Conflict, WindowClosed, PreconditionRequired),
        200: {
            "description": "The same file (same SHA-256) is already attached to the question: that file, "
            "nothing stored again, the version unchanged; `Location` is where it is downloaded",
            "model": EvidenceFileOut,
            "headers": LOCATION_HEADER,
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
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(description='Optional: the submission version you read, e.g. "3".')
    ] = None,
    _: None = CredentialRequired,
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

    def attach(staged: StagedUpload) -> service.Attached:
        attached = service.attach(
            session=session,
            submission_id=submission_id,
            question_code=code,
            staged=staged,
            by=authenticate(request, session),
            evidence_dir=settings.evidence_dir,
            if_match=if_match,
        )
        session.commit()
        return attached

    attached = await receive_evidence(request, session=session, settings=settings, attach=attach)
    response.headers["Location"] = location(request, "download_file", file_id=attached.file.id)
    if not attached.created:
        response.status_code = 200
    return attached.file


@router.get(
    "/evidence/{file_id}",
    response_class=FileResponse,
    responses=file_download("The evidence file.", "application/pdf", "image/png", "image/jpeg"),
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
    responses={
        **problems(WindowClosed, PreconditionRequired),
        412: {"description": "If-Match was sent and names another version of the submission"},
    },
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
