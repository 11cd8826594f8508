"""Later stages (presentation / uji publik, site visit, interview): panel scores and the gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.accounts.deps import CurrentPrincipal
from app.created import location, new_resource
from app.db.session import SessionDep
from app.inputs import Id
from app.pagination import Page, PageParamsDep
from app.stages import service
from app.stages.schemas import BodyStageScores, GateOut, PanelScoreIn, PanelScoreOut

router = APIRouter(tags=["stages"])


@router.put(
    "/stages/{stage_id}/scores/{body_id}",
    status_code=201,
    responses={
        **new_resource("The judge's first score of this body; `Location` is the stage's scores"),
        200: {"description": "The judge's score of this body, changed", "model": PanelScoreOut},
    },
)
def put_panel_score(
    stage_id: Id,
    body_id: Id,
    payload: PanelScoreIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> PanelScoreOut:
    """Record the calling panel member's score of a body at a stage (0 to 100, at most two decimals,
    optionally per criterion). Each judge's score is kept apart; sending again replaces the judge's own.

    Only for a body that passed the round's gate (422 otherwise, with the reason). Audited."""
    out, created = service.put_score(
        session=session,
        stage_id=stage_id,
        body_id=body_id,
        by=principal,
        score=payload.score,
        criteria=payload.criteria,
    )
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = location(request, "list_panel_scores", stage_id=stage_id)
    return out


@router.get("/stages/{stage_id}/scores")
def list_panel_scores(
    stage_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[BodyStageScores]:
    """The stage's scores per body (by body id, paginated): every judge's score and the stage score, the
    exact mean of the judges' scores rounded half-up to two decimals once. A panel member sees only its
    own scores."""
    items, cursor = service.list_scores(session=session, stage_id=stage_id, by=principal, params=page)
    return Page(items=items, next_cursor=cursor)


@router.get("/rounds/{round_id}/gate")
def get_gate(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    passing: Annotated[bool, Query(description="Only the bodies that pass.")] = False,
) -> GateOut:
    """Who goes on to the later stages (administrators and panel members), by body id, paginated.

    With a minimum the verified SAQ score must reach it; with top N the body's competition rank by
    verified score in its category must be N or better, so bodies tied at the N-th place all pass; with
    both, both must hold. Only bodies that took part with a completed verification can pass."""
    return service.gate(session=session, round_id=round_id, by=principal, passing_only=passing, params=page)
