"""The judges' pages (juri, panelis): the stages to score now, and per stage a score sheet of the bodies that
passed the gate, each with the judge's own score and a form to give or change it.

Every score goes through the stages service (``put_score``), which checks the policy, the gate and the
value, and audits it; each judge sees only its own scores.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from app.db.session import SessionDep
from app.inputs import Id
from app.stages import service as stages
from app.web.admin import FormReader
from app.web.forms import read_form
from app.web.render import redirect, render
from app.web.session import CurrentUser, PageUser

router = APIRouter()


def judge_sheets(session: Session, user: PageUser) -> list[stages.ScoreSheet]:
    """The score sheets of the stages the judge scores now."""
    return [
        stages.score_sheet(session=session, stage_id=stage.id, by=user.principal)
        for _round, stage in stages.stages_to_score(session=session, by=user.principal)
    ]


@router.get("/penjurian")
def stages_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The stages the judge scores now, each with how many of its bodies the judge has scored."""
    return render(request, "panel/stages.html", {"sheets": judge_sheets(session, user)})


@router.get("/penjurian/{stage_id}")
def sheet_page(stage_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The bodies that passed the gate to the stage, with the judge's own score of each."""
    sheet = stages.score_sheet(session=session, stage_id=stage_id, by=user.principal)
    return render(request, "panel/sheet.html", {"sheet": sheet})


@router.post("/penjurian/{stage_id}/{body_id}")
async def give_score(
    stage_id: Id, body_id: Id, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """Give or change the judge's score (0 to 100, at most two decimals) of one body at the stage."""
    reader = FormReader(await read_form(request), "Asia/Jakarta")
    score = reader.decimal("score", "Nilai")
    reader.check()
    assert score is not None
    stages.put_score(
        session=session, stage_id=stage_id, body_id=body_id, by=user.principal, score=score, criteria=None
    )
    return redirect(f"/penjurian/{stage_id}#b-{body_id}", message="nilai-juri")
