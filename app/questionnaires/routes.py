from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from app.accounts import policy
from app.accounts.deps import CurrentPrincipal
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.session import LongWorkSessionDep, SessionDep
from app.errors import Conflict
from app.questionnaires import service
from app.questionnaires.schemas import (
    ScoreCardOut,
    ScorePreviewIn,
    TemplateDetailOut,
    TemplateVersionOut,
    answers_payload,
)
from app.settings import SettingsDep
from app.uploads import Upload, read_upload, request_body_doc, upload_text

router = APIRouter(tags=["templates"])


@router.post(
    "/score-preview",
    response_model=ScoreCardOut,
    responses={404: {"description": "No such template version"}},
)
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


YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml")


async def yaml_upload(request: Request, settings: SettingsDep, principal: CurrentPrincipal) -> Upload:
    # Refuse non-administrators before reading what they send.
    policy.ensure_template_admin(principal)
    return await read_upload(
        request, raw_types=YAML_TYPES, max_bytes=settings.template_max_bytes, what="template YAML"
    )


@router.post(
    "/templates",
    response_model=TemplateVersionOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=request_body_doc(YAML_TYPES, "One SAQ template version in the format of questionnaires/."),
    responses={
        **problems(Conflict),
        **new_resource("The new template version; `Location` is its URL"),
        200: {"model": TemplateVersionOut, "description": "The same content was already imported."},
    },
)
def upload_template(
    upload: Annotated[Upload, Depends(yaml_upload)],
    session: LongWorkSessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> TemplateVersionOut:
    """Upload a template version (system or commission administrators) as `text/yaml` or as the multipart
    field `file`. It is validated like the bundled files: a 422 lists every problem with its path in the
    document. The same (key, version) with the same content again answers 200 and changes nothing; with other
    content it is a 409: a version never changes, publish the change as a new version."""
    policy.ensure_template_admin(principal)
    text = upload_text(upload, what="template")
    outcome = service.import_template(
        session=session, text=text, source_name=upload.filename or "upload.yaml", by=principal
    )
    if outcome.created:
        version = outcome.version
        response.headers["Location"] = location(
            request, "get_template", key=version.key, version=version.version
        )
    else:
        response.status_code = status.HTTP_200_OK
    return TemplateVersionOut.model_validate(outcome.version)


@router.get("/templates/{key}/{version}", response_model=TemplateDetailOut)
def get_template(
    key: str, version: str, session: SessionDep, principal: CurrentPrincipal
) -> TemplateDetailOut:
    """One template version: its metadata and its parsed tree (aspects, groups, questions with types,
    weights, options, evidence rules and conditions), for rendering forms."""
    row = service.get_version(session=session, key=key, version=version)
    tree = service.parsed(row).model_dump(mode="json")
    return TemplateDetailOut.model_validate(
        TemplateVersionOut.model_validate(row).model_dump()
        | {"description": tree["description"], "bands": tree["bands"], "aspects": tree["aspects"]}
    )
