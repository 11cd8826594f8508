"""Submissions: a body's SAQ in a round, its answers, its live score, and submitting it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from app.accounts.deps import CredentialRequired, CurrentPrincipal, authenticate
from app.contract.headers import ETAG, IDEMPOTENT_REPLAYED, with_etag
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.session import SessionDep, reading_only, request_session
from app.errors import Conflict, WindowClosed
from app.inputs import Id, OrjsonBodyRoute
from app.pagination import Page, PageParamsDep
from app.submissions import reopen as reopening
from app.submissions import service
from app.submissions.queue import run_save
from app.submissions.schemas import (
    AnswersPut,
    Checklist,
    ReopenIn,
    SaveResult,
    SubmissionOut,
    SubmissionSummary,
    SubmitIn,
    SubmitResult,
)

router = APIRouter(tags=["submissions"], route_class=OrjsonBodyRoute)


@router.post(
    "/rounds/{round_id}/submissions",
    response_model=SubmissionOut,
    responses={
        **problems(Conflict, WindowClosed),
        **new_resource("The new submission; `Location` is its URL", headers=ETAG),
        **with_etag("The body already had a submission in this round", model=SubmissionOut),
    },
    status_code=201,
)
def open_submission(
    round_id: Id, session: SessionDep, principal: CurrentPrincipal, request: Request, response: Response
) -> SubmissionOut:
    """Create the caller's body's submission in the round (201), or return it if it exists (200).

    For the PPID operator of an invited body (or a body API key), while the SAQ window is open for the
    body. The submission is pinned to the template version of the body's category in this round. The
    ``ETag`` header carries its version.
    """
    out, created = service.open_submission(session=session, round_id=round_id, by=principal)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = location(request, "get_submission", submission_id=out.id)
    response.headers["ETag"] = service.etag(out.version)
    return out


@router.get("/rounds/{round_id}/submissions")
def list_submissions(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    category: Annotated[str | None, Query(description="Body category code, e.g. kelurahan.")] = None,
    status: Annotated[Literal["draft", "submitted"] | None, Query()] = None,
    region: Annotated[
        str | None, Query(max_length=32, description="Region code prefix, e.g. 31.71 for Jakarta Pusat.")
    ] = None,
) -> Page[SubmissionSummary]:
    """The submissions of a round the caller may see, in id order, paginated (``limit``, ``cursor``).

    Commission administrators, panel members and read-only keys see all; a verifier sees its assigned
    bodies; an operator its own body.
    """
    return service.list_for_round(
        session=session,
        round_id=round_id,
        by=principal,
        params=page,
        category=category,
        status=status,
        region=region,
    )


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionOut,
    responses={**problems(WindowClosed), **with_etag("The submission; `ETag` is its version")},
)
async def get_submission(submission_id: Id, request: Request, _: None = CredentialRequired) -> Response:
    """A submission with every answer, its evidence links and files, status and version.

    The ``ETag`` header is the version: send it back as ``If-Match`` when saving answers.
    """

    # Read most of all: authentication, the reading and the end of the transaction in one thread-pool call
    # with a session of its own, and the document written once (service.read_json) instead of validated and
    # encoded by the response model.
    def read() -> tuple[int, bytes]:
        with request_session(request) as session:
            reading_only(session)
            found = service.read_json(
                session=session, submission_id=submission_id, by=authenticate(request, session)
            )
            session.commit()  # a draft settled at its deadline is stored before it is shown
            return found

    # asyncio's own executor: the hand-over costs about 0.2 ms less CPU than anyio's thread pool (no cancel
    # scope, no capacity limiter). The call owns its session, so a cancelled request leaves it to finish and
    # close it; the executor's few threads (CPUs + 4) also bound how many reads run at once.
    version, body = await asyncio.get_running_loop().run_in_executor(None, read)
    return Response(body, media_type="application/json", headers={"ETag": service.etag(version)})


@router.get("/submissions/{submission_id}/score")
def get_score(submission_id: Id, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The self-assessed score computed now by the scoring engine from the stored answers and evidence.

    Returns the published score (two decimals, as a string), the band (kualifikasi), every aspect and every
    question with its earned and maximum weight, status (scored, unanswered, evidence_missing,
    not_applicable, not_scored) and an explanation.
    """
    return service.score(session=session, submission_id=submission_id, by=principal)


@router.get("/submissions/{submission_id}/checklist")
def get_checklist(submission_id: Id, session: SessionDep, principal: CurrentPrincipal) -> Checklist:
    """What is left before submitting: questions not answered and answers lacking required evidence."""
    return service.checklist(session=session, submission_id=submission_id, by=principal)


@router.put(
    "/submissions/{submission_id}/answers",
    responses={
        **with_etag("Saved; `ETag` is the new version"),
        409: {"description": "The window is closed or the submission was submitted"},
        412: {"description": "If-Match names an older version; the problem carries current_version"},
        428: {"description": "If-Match is missing"},
    },
)
async def save_answers(
    submission_id: Id,
    payload: AnswersPut,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(description='The version you read, e.g. "3".')] = None,
    _: None = CredentialRequired,
) -> SaveResult:
    """Save some answers (partial: questions left out keep their answers) of a draft submission.

    Requires ``If-Match`` with the version you read (``ETag`` of GET): without it 428; if someone saved in
    the meantime 412, whose body carries ``current_version`` so you can reload and merge. Every invalid
    field (unknown question, wrong type, value outside the options, link that is not http(s)) is reported
    at once as a 422 and nothing is saved. Returns the new version (also as ``ETag``) and the fresh score.
    """

    # The busiest route: authentication, the save and the commit run in one thread-pool call instead of
    # three (each call costs the event loop and the threads a hand-over; about 1 ms of CPU per save in all),
    # in its turn in the process's save queue.
    def save() -> SaveResult:
        with request_session(request) as session:
            result = service.save_answers(
                session=session,
                submission_id=submission_id,
                if_match=if_match,
                answers=payload.answers,
                by=authenticate(request, session),
            )
            session.commit()
            return result

    result = await run_save(request, save)
    response.headers["ETag"] = service.etag(result.version)
    return result


@router.post(
    "/submissions/{submission_id}/submit",
    response_model=SubmitResult,
    responses={
        **with_etag("Submitted; `ETag` is the new version", headers=IDEMPOTENT_REPLAYED),
        409: {
            "description": "Already submitted, the window is closed, or (type ``submission-incomplete``) "
            "the SAQ is incomplete and ``acknowledge_incomplete`` is missing or names other counts than "
            "the current ``unanswered`` and ``evidence_missing`` the problem carries"
        },
    },
)
def submit(
    submission_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    payload: Annotated[SubmitIn, Body(default_factory=SubmitIn)],
    idempotency_key: Annotated[
        str | None,
        Header(description="Any unique string; a retry with the same key returns the first response."),
    ] = None,
) -> JSONResponse:
    """Submit the SAQ: its answers are locked and it counts for verification.

    Allowed to the body's operator while the window is open. A complete SAQ needs no body. An SAQ with
    unanswered questions or answers lacking required evidence (see ``GET .../checklist``) is submitted only
    with ``{"acknowledge_incomplete": {"unanswered": 61, "evidence_missing": 4}}`` naming exactly the counts
    it has now: without it, or when the answers changed since the counts were read, the answer is a 409
    problem of type ``submission-incomplete`` whose ``unanswered`` and ``evidence_missing`` are the current
    counts (and ``acknowledged`` what was sent), and nothing is locked. Send an ``Idempotency-Key`` so that a
    retried request (e.g. after a network error) returns the first response instead of failing; reusing a
    key for another request (another submission or other acknowledged counts) is a 422.
    """
    outcome = service.submit(
        session=session,
        submission_id=submission_id,
        by=principal,
        acknowledge_incomplete=payload.acknowledge_incomplete,
        idempotency_key=idempotency_key,
    )
    headers = {"ETag": service.etag(outcome.body["version"])}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.post(
    "/submissions/{submission_id}/reopen",
    response_model=SubmissionOut,
    responses={
        **with_etag("Reopened; `ETag` is the new version"),
        409: {
            "description": "Not submitted, its verification has started, or the round is past verification"
        },
        422: {"description": "No reason, or a new deadline is needed or does not fit"},
    },
)
def reopen(
    submission_id: Id, payload: ReopenIn, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> SubmissionOut:
    """Reopen a submitted SAQ (the commission's secretariat: its administrators), before its verification
    starts: back to `draft` with the `reason`, which the audit log keeps (`submission.reopen`) and the body
    sees until it submits again. The version (ETag) moves on. When the body's own deadline has passed (or
    the SAQ stage has closed and no extension of its own runs), `closes_at` is required: a new deadline for
    this body, after now, recorded as a deadline extension for it with the same reason; otherwise it is
    optional and, if given, later than the current deadline. Refused with 409 once verification started."""
    out = reopening.reopen(
        session=session,
        submission_id=submission_id,
        reason=payload.reason,
        closes_at=payload.closes_at,
        by=principal,
    )
    response.headers["ETag"] = service.etag(out.version)
    return out
