"""Results: live final scores (administrators), publication revisions, rankings (members and public) and
each body's year-over-year history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from app.accounts.deps import CurrentPrincipal
from app.contract import deprecation
from app.contract.headers import CACHE_VALIDATORS
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.session import SessionDep
from app.errors import Conflict, TooLargeAtOnce
from app.inputs import Id
from app.jobs.routes import ACCEPTED, job_out
from app.jobs.schemas import JobOut
from app.jobs.service import request_job
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, PageParamsDep
from app.portal.caching import cacheable, not_modified
from app.portal.limits import PublicRateLimit
from app.results import publication as publishing
from app.results import service
from app.results.schemas import HistoryOut, LiveResultsOut, PublicationOut, PublishIn, RankingOut
from app.settings import SettingsDep

router = APIRouter(tags=["results"])

Category = Annotated[
    str, Query(min_length=1, max_length=64, description="Body category code, e.g. kelurahan.")
]
Revision = Annotated[Id | None, Query(description="A published revision; the latest by default.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1 to 500).")]
Cursor = Annotated[str | None, Query(description="The next_cursor of the previous page.")]
BAND_SPELLING = deprecation.Notice(
    since=datetime(2026, 12, 4, tzinfo=UTC),
    replacement="Write `tidak-mengikuti`: the old spelling `tidak_mengikuti` is read until release 0.2.0.",
)


def band_filter(
    response: Response,
    band: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="Only this band code, or `tidak-mengikuti` for the bodies that did not take part "
            "(`tidak_mengikuti`, the old spelling, is still read until 0.2.0, and the answer then carries a "
            "`Deprecation` header).",
        ),
    ] = None,
) -> str | None:
    """The band filter; a request that still uses the old spelling is told so in the answer's headers."""
    if band == service.LEGACY_NOT_PARTICIPATING:
        deprecation.announce(response, BAND_SPELLING)
    return band


Band = Annotated[str | None, Depends(band_filter)]
RANKING: dict[int | str, dict[str, Any]] = {
    200: {"description": "The ranking", "headers": deprecation.HEADERS}
}


@router.get("/rounds/{round_id}/results", responses=problems(TooLargeAtOnce))
def live_results(
    round_id: Id,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    category: Annotated[str | None, Query(max_length=64, description="Only this body category.")] = None,
) -> LiveResultsOut:
    """The round's final scores computed now, unpublished (commission administrators only).

    Per body: the verified SAQ score, each stage score (the mean of its judges), whether it passed the gate,
    the final score (published stage scores x the round's weights, half-up to 2 decimals once), the band
    and the rank in its category. A body that did not pass the gate gets the round's missing-stage policy:
    ``zero`` (the stages it missed count 0) or ``saq_only`` (its final score is its verified SAQ score).
    ``incomplete`` names what still blocks publication. A round of more than `EMONEV_SYNC_RESULTS_MAX_BODIES`
    invited bodies (1,000) is a 409 (`too-large-at-once`) naming the job in `job_request`: ask for `POST
    /rounds/{id}/results/preview-jobs`."""
    return publishing.live_results_view(
        session=session,
        round_id=round_id,
        by=principal,
        category=category,
        params=page,
        max_bodies=settings.sync_results_max_bodies,
    )


@router.post(
    "/rounds/{round_id}/publish",
    status_code=201,
    responses={
        **problems(Conflict, TooLargeAtOnce),
        **new_resource("The new revision; `Location` is the round's publications"),
    },
)
def publish(
    round_id: Id,
    payload: PublishIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> PublicationOut:
    """Publish the round's results (commission administrators): freeze scores, bands and ranks as a new
    revision with a reason. The first publication needs the round to be ``final`` and moves it to
    ``published``; publishing again records a correction as the next revision, and is refused (409) when
    nothing changed. Refused (409, listing ``incomplete``) while a result is incomplete. A round of more
    than `EMONEV_SYNC_RESULTS_MAX_BODIES` invited bodies is a 409 (`too-large-at-once`) naming the job in
    `job_request`: `POST /rounds/{id}/publish-jobs`."""
    row = publishing.publish(
        session=session,
        round_id=round_id,
        by=principal,
        reason=payload.reason,
        max_bodies=settings.sync_results_max_bodies,
    )
    response.headers["Location"] = location(request, "list_publications", round_id=round_id)
    return service.publication_out(row)


@router.post(
    "/rounds/{round_id}/results/preview-jobs",
    status_code=202,
    response_model=JobOut,
    responses={**problems(Conflict), **ACCEPTED},
)
def request_results_preview(
    round_id: Id, session: SessionDep, principal: CurrentPrincipal, request: Request, response: Response
) -> JobOut:
    """Compute the round's final scores now as a job (commission administrators): the same figures as
    `GET /rounds/{id}/results`, every body in one JSON file (`download_url` when done; `result` gives
    the counts and `ready_to_publish`). For large rounds, whose preview takes too long for a request.
    Answers 202 with `Location: /api/v1/jobs/{id}`; asking again while it is pending gives the same job."""
    job, _new = request_job(
        session=session, kind_name="results_preview", round_id=round_id, params={}, by=principal
    )
    response.headers["Location"] = request.url_for("get_job", job_id=str(job.id)).path
    return job_out(request, job)


@router.post(
    "/rounds/{round_id}/publish-jobs",
    status_code=202,
    response_model=JobOut,
    responses={**problems(Conflict), **ACCEPTED},
)
def request_publish(
    round_id: Id,
    payload: PublishIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> JobOut:
    """Publish the round's results as a job (commission administrators), for rounds too large to publish
    within a request: the same rules and audit as `POST /rounds/{id}/publish`, the revision written in
    one transaction. The job's `result` names the new revision; a refusal (a result incomplete, nothing
    changed, the round not final) fails the job with the reason. Answers 202 with its `Location`."""
    job, _new = request_job(
        session=session,
        kind_name="publish",
        round_id=round_id,
        params={"reason": payload.reason},
        by=principal,
    )
    response.headers["Location"] = request.url_for("get_job", job_id=str(job.id)).path
    return job_out(request, job)


@router.get("/rounds/{round_id}/publications")
def list_publications(
    round_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[PublicationOut]:
    """The round's published revisions, oldest first: when, by whom, why, with which weights."""
    return service.publications(session=session, round_id=round_id, by=principal, params=page)


@router.get("/rounds/{round_id}/rankings", responses=RANKING)
def rankings(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    category: Category,
    band: Band,
    revision: Revision = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> RankingOut:
    """A category's published ranking (members of the commission): standard competition ranks by final
    score (1, 2, 2, 4), then the bodies that did not take part. The first page carries the band counts
    (with ``tidak-mengikuti``) and the category's participation. Each body lists every stage (`stages`):
    its weight, the score the final score counts, and whether the body took part (a body that did not pass
    the gate did not take part in the later stages; `reason` says why). `rules` holds the gate and the
    missing-stage policy as the publication froze them. 404 until the round is published."""
    return service.rankings(
        session=session,
        round_id=round_id,
        by=principal,
        category=category,
        revision=revision,
        limit=limit,
        cursor=cursor,
        band=band,
    )


PUBLIC_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The ranking", "headers": {**CACHE_VALIDATORS, **deprecation.HEADERS}},
    304: {
        "description": "Not modified: the request's `If-None-Match` names the current `ETag`; "
        "no body. Carries the same `ETag`, `Last-Modified` and `Cache-Control`.",
        "headers": CACHE_VALIDATORS,
    },
    429: {
        "description": "Too many requests from this client address (`EMONEV_PUBLIC_RATE_LIMIT`): try again "
        "after `Retry-After` seconds (problem+json).",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    },
}


@router.get("/public/rounds/{round_id}/rankings", response_model=RankingOut, responses=PUBLIC_RESPONSES)
def public_rankings(
    round_id: Id,
    session: SessionDep,
    request: Request,
    response: Response,
    _limit: PublicRateLimit,
    category: Category,
    band: Band,
    revision: Revision = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> RankingOut | Response:
    """PUBLIC, no login: a category's published ranking, read-only, for integrators and the press. The same
    figures as the members' endpoint; 404 until the round is published.

    Cacheable: `ETag` and `Last-Modified` change when the commission publishes or a body's name, region or
    category changes; send `If-None-Match` to get `304 Not Modified` without the body. Requests are limited
    per client address (429 with `Retry-After`)."""
    stamp, key = service.public_rankings_stamp(
        session=session, round_id=round_id, query=str(request.query_params)
    )
    unchanged = not_modified(request, stamp, key)
    if unchanged is not None:
        return unchanged
    cacheable(response, stamp, key)
    return service.rankings(
        session=session,
        round_id=round_id,
        by=None,
        category=category,
        revision=revision,
        limit=limit,
        cursor=cursor,
        band=band,
    )


@router.get("/bodies/{body_id}/history")
def body_history(body_id: Id, session: SessionDep, principal: CurrentPrincipal) -> HistoryOut:
    """A body's published final scores and bands in its commission's rounds, oldest first, each with the
    change from the previous one (score difference and bands moved, e.g. "-2 bands")."""
    return service.history(session=session, body_id=body_id, by=principal)
