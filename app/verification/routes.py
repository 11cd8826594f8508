"""Verification: verifier assignments, verified values, bulk actions, the evidence link checker, the release
of results to bodies, and objections (masa sanggah)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from app.accounts.deps import CurrentPrincipal
from app.contract.headers import ETAG, with_etag
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.session import SessionDep
from app.errors import Conflict, StaleVersion, WindowClosed
from app.inputs import Id
from app.jobs.routes import ACCEPTED, accepted
from app.jobs.schemas import JobOut
from app.pagination import Page, PageParamsDep
from app.settings import SettingsDep
from app.submissions.service import etag
from app.verification import answers, assignments, bulk, links, objections, sweeps
from app.verification.linkcheck import LinkChecker
from app.verification.schemas import (
    ApprovedUnreviewed,
    ApproveUnreviewedIn,
    AssignmentOut,
    AssignmentsPut,
    AssignmentsResult,
    BulkIn,
    BulkResult,
    DecisionIn,
    LinkCheckOut,
    LinkCheckRun,
    LinkSweepRequest,
    MyAssignment,
    ObjectionIn,
    ObjectionOut,
    ReleaseOut,
    SpreadIn,
    SpreadResult,
    VerificationOut,
    VerifiedAnswersPut,
)

router = APIRouter(tags=["verification"])


def get_link_checker(settings: SettingsDep) -> LinkChecker:
    """The link checker with the configured timeout (tests override this dependency)."""
    return LinkChecker(timeout=settings.link_check_timeout_seconds)


LinkCheckerDep = Annotated[LinkChecker, Depends(get_link_checker)]


# --- Assignments -------------------------------------------------------------------------------------------


@router.put("/rounds/{round_id}/assignments")
def put_assignments(
    round_id: Id, payload: AssignmentsPut, session: SessionDep, principal: CurrentPrincipal
) -> AssignmentsResult:
    """Assign verifiers to bodies by hand, ``{"assignments": {body_id: verifier_id}}`` (administrators).

    Every body must be invited to the round and every verifier an active verifier of the commission;
    otherwise 422 naming each bad entry and nothing changes. Reassigning moves an in-progress verification
    to the new verifier. Every change is audited."""
    return assignments.set_assignments(
        session=session, round_id=round_id, assignments=payload.assignments, by=principal
    )


@router.post(
    "/rounds/{round_id}/assignments/spread",
    status_code=201,
    responses={
        **new_resource("Bodies were assigned; `Location` is the round's assignments"),
        200: {
            "description": "Every body of the category had a verifier already; nothing changed",
            "model": SpreadResult,
        },
    },
)
def spread_assignments(
    round_id: Id,
    payload: SpreadIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> SpreadResult:
    """Spread a category's unassigned invited bodies evenly over the given verifiers (administrators).

    Bodies are taken in id order; each goes to the verifier with the fewest bodies in this round so far
    (ties: the first listed). Bodies already assigned keep their verifier. 201 when some body was
    assigned, 200 when none was left to assign."""
    spread = assignments.spread_assignments(
        session=session,
        round_id=round_id,
        category_code=payload.category_code,
        verifier_ids=payload.verifier_ids,
        by=principal,
    )
    if spread.assigned:
        response.headers["Location"] = location(request, "list_assignments", round_id=round_id)
    else:
        response.status_code = 200
    return spread


@router.get("/rounds/{round_id}/assignments")
def list_assignments(
    round_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[AssignmentOut]:
    """The round's verifier assignments by body id, paginated (administrators)."""
    return assignments.list_assignments(session=session, round_id=round_id, by=principal, params=page)


@router.get("/verifier/assignments")
def my_assignments(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    round_id: Annotated[Id | None, Query(description="Only this round.")] = None,
) -> Page[MyAssignment]:
    """The calling verifier's bodies, by round and body, with the category (code and name), the SAQ status,
    the verification status and the review progress: ``reviewed`` of ``total``, where ``total`` counts the
    questions applicable under the verified values (as completion does), not every question of the SAQ."""
    return assignments.my_assignments(session=session, by=principal, round_id=round_id, params=page)


# --- Verifying ---------------------------------------------------------------------------------------------


@router.post(
    "/submissions/{submission_id}/verification",
    status_code=201,
    responses={
        **problems(Conflict),
        **new_resource("The verification started; `Location` is its URL", headers=ETAG),
        **with_etag("The verification had already started", model=VerificationOut),
    },
)
def start_verification(
    submission_id: Id, session: SessionDep, principal: CurrentPrincipal, request: Request, response: Response
) -> VerificationOut:
    """Start verifying a submission (its assigned verifier or an administrator): 201, or 200 when it had
    already started. Allowed once the body submitted or its SAQ window (extensions included) closed (409
    before, with ``closes_at``)."""
    created = answers.start(session=session, submission_id=submission_id, by=principal)
    out = answers.view(session=session, submission_id=submission_id, by=principal)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = location(request, "get_verification", submission_id=submission_id)
    if out.version is not None:
        response.headers["ETag"] = etag(out.version)
    return out


@router.get(
    "/submissions/{submission_id}/verification",
    responses=with_etag("The verification; `ETag` is its version (none before it started)"),
)
def get_verification(
    submission_id: Id, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> VerificationOut:
    """The body's values and the verified values side by side, with the self-assessed and verified scores.

    The verified score counts only reviewed questions (an unreviewed one is unanswered), and a reviewed
    answer's evidence only when the verifier checked it; it is ``provisional`` until the verification is
    completed. ``reviewed`` of ``total``: the questions applicable under the verified values that have a
    verified value. The body's operator sees this only after the results were released (403 before); the
    body's verifier only once the body submitted or its SAQ window closed (403 with ``closes_at`` while the
    body may still fill it in). The ``ETag`` header is the verification's version."""
    out = answers.view(session=session, submission_id=submission_id, by=principal)
    if out.version is not None:
        response.headers["ETag"] = etag(out.version)
    return out


@router.put(
    "/submissions/{submission_id}/verification/answers",
    responses={
        **with_etag("Saved; `ETag` is the verification's new version"),
        409: {"description": "The verification is not started or already completed"},
        412: {"description": "If-Match names an older version"},
        428: {"description": "If-Match is missing"},
    },
)
def put_verified_answers(
    submission_id: Id,
    payload: VerifiedAnswersPut,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: Annotated[
        str | None, Header(description='The verification version you read, e.g. "3".')
    ] = None,
) -> VerificationOut:
    """Record verified values ``{value, evidence_checked, note}`` per question (partial).

    Values are validated against the template like answers (422 naming each bad field, nothing written).
    The body's own answers are never changed. Each change is audited with before and after."""
    out = answers.save_answers(
        session=session,
        submission_id=submission_id,
        by=principal,
        if_match=if_match,
        patches=payload.answers,
    )
    if out.version is not None:
        response.headers["ETag"] = etag(out.version)
    return out


@router.post("/submissions/{submission_id}/verification/complete", responses=problems(Conflict))
def complete_verification(
    submission_id: Id, session: SessionDep, principal: CurrentPrincipal
) -> VerificationOut:
    """Complete the verification. Every question applicable under the verified values must have been
    reviewed: otherwise 422 whose ``missing`` lists the question codes."""
    return answers.complete(session=session, submission_id=submission_id, by=principal)


@router.post(
    "/submissions/{submission_id}/verification/approve-unreviewed",
    responses={
        **with_etag("Approved; `ETag` is the verification's new version"),
        409: {"description": "Not started, already completed, or nothing left unreviewed"},
        412: {"description": "If-Match names an older version"},
        428: {"description": "If-Match is missing"},
    },
)
def approve_unreviewed(
    submission_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    payload: Annotated[ApproveUnreviewedIn, Body(default_factory=ApproveUnreviewedIn)],
    if_match: Annotated[
        str | None, Header(description='The verification version you read, e.g. "3".')
    ] = None,
) -> ApprovedUnreviewed:
    """Approve every answer not reviewed yet: each question without a verified value gets the body's own
    value, in one step recorded in the audit log with its count and codes.

    ``If-Match`` names the version you read, so exactly the questions you saw as unreviewed change (412
    otherwise). Their evidence counts as checked only with ``evidence_checked: true``. Undo it like a bulk
    action with the ``batch_id``."""
    out = bulk.approve_unreviewed(
        session=session,
        submission_id=submission_id,
        by=principal,
        if_match=if_match,
        evidence_checked=payload.evidence_checked,
    )
    response.headers["ETag"] = etag(out.version)
    return out


@router.post("/rounds/{round_id}/verification/bulk", responses=problems(StaleVersion))
def bulk_verification(
    round_id: Id, payload: BulkIn, session: SessionDep, principal: CurrentPrincipal
) -> BulkResult:
    """Apply a bulk action over the round's verifications matching the filter (category code and/or body
    ids). ``confirm_checked`` sets the verified value to the body's value for every reviewed question whose
    evidence was checked and whose verified value is still empty. Reports how many answers changed and
    which submissions failed, with a ``batch_id`` to undo it."""
    return bulk.bulk(
        session=session,
        round_id=round_id,
        by=principal,
        action=payload.action,
        category=payload.filter.category,
        body_ids=payload.filter.body_ids,
    )


@router.post("/verification/bulk/{batch_id}/undo", responses=problems(Conflict, StaleVersion))
def undo_bulk(batch_id: str, session: SessionDep, principal: CurrentPrincipal) -> BulkResult:
    """Undo a bulk action from the audit trail: each value it set goes back to what it was, unless it
    changed since (reported in ``failed``). A batch is undone once (409 after)."""
    return bulk.undo_bulk(session=session, batch_id=batch_id, by=principal)


# --- Link checks -------------------------------------------------------------------------------------------


@router.post("/submissions/{submission_id}/link-check")
def run_link_check(
    submission_id: Id, session: SessionDep, principal: CurrentPrincipal, checker: LinkCheckerDep
) -> LinkCheckRun:
    """Check every evidence link of the submission now and record status, content type and time.

    Links to private, loopback, link-local and other non-public addresses, non-http(s) links and links with
    credentials are recorded as ``blocked`` and never fetched. Redirects are followed (at most 5), each hop
    checked again; at most 64 KB of a body is read; the timeout is configured."""
    return links.run_link_check(session=session, submission_id=submission_id, by=principal, checker=checker)


@router.get("/submissions/{submission_id}/link-checks")
def list_link_checks(
    submission_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[LinkCheckOut]:
    """The latest check of each evidence link (outcome ok, broken, blocked or error), paginated."""
    return links.latest_link_checks(session=session, submission_id=submission_id, by=principal, params=page)


@router.post(
    "/rounds/{round_id}/link-sweeps",
    status_code=202,
    response_model=JobOut,
    responses={**problems(Conflict), **ACCEPTED},
)
def request_link_sweep(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    body: Annotated[LinkSweepRequest, Body(default_factory=LinkSweepRequest)],
) -> JobOut:
    """Check every evidence link of every submission of the round in the background, recording each result
    as a submission's link check does. Answers 202 with `Location: /api/v1/jobs/{id}`; the job's progress
    counts links and, when done, its `result` gives the counts (submissions, links, checked, ok, broken,
    blocked, error, skipped, unchecked). Asking again while the identical sweep is queued or running gives
    that job. The commission's administrators ask; its readers (administrators, panel members, read-only
    keys) see the job."""
    job, _new = sweeps.request_sweep(
        session=session,
        round_id=round_id,
        by=principal,
        skip_ok_hours=body.skip_ok_hours,
    )
    return accepted(request, response, job)


# --- Release and objections --------------------------------------------------------------------------------


@router.post("/rounds/{round_id}/release-verification", responses=problems(Conflict))
def release_verification(round_id: Id, session: SessionDep, principal: CurrentPrincipal) -> ReleaseOut:
    """Release the verification results to the bodies (administrators). Every verification of a body that
    took part must be completed (409 listing ``pending_submission_ids``). Objections are then accepted
    within the round's objection window."""
    round_ = objections.release(session=session, round_id=round_id, by=principal)
    assert round_.results_released_at is not None
    return ReleaseOut(
        round_id=round_.id,
        results_released_at=round_.results_released_at,
        objection_opens_at=round_.objection_opens_at,
        objection_closes_at=round_.objection_closes_at,
    )


@router.post(
    "/submissions/{submission_id}/objections",
    status_code=201,
    responses={
        **problems(Conflict, WindowClosed),
        **new_resource("The objection; `Location` is the submission's objections"),
    },
)
def create_objection(
    submission_id: Id,
    payload: ObjectionIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> ObjectionOut:
    """Object (sanggah) to the verified value of one question, with an explanation and new evidence links.

    For the body's operator, after the results were released and inside the round's objection window
    (409 otherwise); one objection per question."""
    objection = objections.create_objection(
        session=session,
        submission_id=submission_id,
        by=principal,
        question_code=payload.question_code,
        explanation=payload.explanation,
        evidence=payload.evidence,
    )
    response.headers["Location"] = location(request, "list_objections", submission_id=submission_id)
    return objection


@router.get("/submissions/{submission_id}/objections")
def list_objections(
    submission_id: Id, session: SessionDep, principal: CurrentPrincipal
) -> list[ObjectionOut]:
    """A submission's objections and their decisions (at most one per question, so never long)."""
    return objections.list_objections(session=session, submission_id=submission_id, by=principal)


@router.get("/rounds/{round_id}/objections")
def list_round_objections(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    status: Annotated[Literal["open", "accepted", "rejected"] | None, Query()] = None,
) -> Page[ObjectionOut]:
    """The round's objections (a verifier sees those of its bodies), by id, paginated."""
    return objections.list_round_objections(
        session=session, round_id=round_id, by=principal, status=status, params=page
    )


@router.post("/objections/{objection_id}/decision", responses=problems(Conflict, StaleVersion))
def decide_objection(
    objection_id: Id, payload: DecisionIn, session: SessionDep, principal: CurrentPrincipal
) -> ObjectionOut:
    """Decide an objection (the body's verifier or an administrator), with a reason. Accepting sets the
    verified value to ``value`` (validated against the question; usually the body's own answer, the
    objection's ``body_value``) with the evidence checked. A missing or empty ``value`` is refused (422)
    unless ``no_valid_answer`` is true, which leaves the question without a valid answer. Rejecting leaves
    the verified value and takes neither. Both are audited; a decided objection is final (409)."""
    return objections.decide_objection(
        session=session,
        objection_id=objection_id,
        by=principal,
        accept=payload.accept,
        reason=payload.reason,
        value=payload.value,
        no_valid_answer=payload.no_valid_answer,
    )
