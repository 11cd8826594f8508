from __future__ import annotations

from fastapi import APIRouter

from app.accounts.deps import CurrentPrincipal
from app.db.session import SessionDep
from app.questionnaires import service
from app.questionnaires.schemas import (
    ScoreCardOut,
    ScorePreviewIn,
    TemplateVersionOut,
    answers_payload,
)

router = APIRouter(tags=["templates"])


@router.post("/score-preview", response_model=ScoreCardOut)
def score_preview(body: ScorePreviewIn, session: SessionDep, principal: CurrentPrincipal) -> ScoreCardOut:
    """Score answers against a stored template version without saving anything; explains every point."""
    card = service.preview(
        session=session,
        key=body.template_key,
        version=body.template_version,
        raw_answers=answers_payload(body.answers),
    )
    return ScoreCardOut.model_validate(card.to_json())


@router.get("/templates", response_model=list[TemplateVersionOut])
def list_templates(session: SessionDep, principal: CurrentPrincipal) -> list[TemplateVersionOut]:
    """Every imported template version."""
    return [TemplateVersionOut.model_validate(v) for v in service.list_versions(session=session)]
