"""Rounds (periode Monev): SAQ window, templates per category, invitations, status, stages, gate and
deadline extensions. Instants are UTC ISO 8601; `_local` fields show them in the commission's zone."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from app.accounts.deps import CurrentPrincipal
from app.accounts.principal import Principal
from app.commissions.service import categories_by_code, find_commission, get_commission
from app.commissions.timezones import as_utc, format_local
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.models import Account, DeadlineExtension, PublicBody, Round
from app.db.session import SessionDep
from app.errors import Conflict
from app.inputs import DbInt, Id
from app.pagination import Page, PageParamsDep, paginate
from app.rounds import service
from app.rounds.schemas import (
    AffectedBodyOut,
    ExtensionIn,
    ExtensionOut,
    InvitationsIn,
    InvitationsResultOut,
    InvitedBodyOut,
    RoundIn,
    RoundOut,
    RoundPatch,
    RoundStatus,
    RoundTemplateOut,
    StageOut,
    StagesIn,
    StatusIn,
    StatusPreviewOut,
    TemplateChoice,
)

router = APIRouter(tags=["rounds"])


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _local(value: datetime | None, timezone: str) -> str | None:
    return format_local(value, timezone) if value is not None else None


def round_out(session: Session, round_: Round, principal: Principal) -> RoundOut:
    timezone = service.timezone_of(session=session, round_=round_)
    yours: datetime | None = None
    if principal.body_id is not None:
        body = session.get(PublicBody, principal.body_id)
        if body is not None and service.is_invited(session=session, round_=round_, body=body):
            yours = service.effective_closes_at(session=session, round_=round_, body=body)
    return RoundOut(
        id=round_.id,
        commission_id=round_.commission_id,
        year=round_.year,
        title=round_.title,
        status=round_.status,
        timezone=timezone,
        saq_opens_at=as_utc(round_.saq_opens_at),
        saq_opens_at_local=format_local(round_.saq_opens_at, timezone),
        saq_closes_at=as_utc(round_.saq_closes_at),
        saq_closes_at_local=format_local(round_.saq_closes_at, timezone),
        objection_opens_at=as_utc(round_.objection_opens_at) if round_.objection_opens_at else None,
        objection_opens_at_local=_local(round_.objection_opens_at, timezone),
        objection_closes_at=as_utc(round_.objection_closes_at) if round_.objection_closes_at else None,
        objection_closes_at_local=_local(round_.objection_closes_at, timezone),
        saq_weight=_plain(round_.saq_weight),
        stages=[
            StageOut(
                id=s.id,
                code=s.code,
                kind=s.kind,
                title=s.title,
                weight=_plain(s.weight),
                aggregation=s.aggregation,
                position=s.position,
            )
            for s in service.stages_of(session=session, round_=round_)
        ],
        gate_min_score=f"{round_.gate_min_score:.2f}" if round_.gate_min_score is not None else None,
        gate_top_n=round_.gate_top_n,
        missing_stage_policy=round_.missing_stage_policy,
        drafts_at_deadline=round_.drafts_at_deadline,
        saq_closed_at=as_utc(round_.saq_closed_at) if round_.saq_closed_at else None,
        saq_closed_at_local=_local(round_.saq_closed_at, timezone),
        templates=[
            RoundTemplateOut(
                category=category.code, template_version_id=v.id, key=v.key, version=v.version, title=v.title
            )
            for category, v in service.round_templates(session=session, round_=round_)
        ],
        your_closes_at=yours,
        your_closes_at_local=_local(yours, timezone),
        created_at=round_.created_at,
    )


@router.post(
    "/commissions/{commission_id}/rounds",
    response_model=RoundOut,
    status_code=status.HTTP_201_CREATED,
    responses={**problems(Conflict), **new_resource("The new round; `Location` is its URL")},
)
def create_round(
    commission_id: Id,
    body: RoundIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> RoundOut:
    """Create a round in status `draft` (commission administrators). Instants need a UTC offset
    (`2025-08-31T23:59:00+07:00`); a time without one is refused. `saq_closes_at` comes after
    `saq_opens_at`; the objection window, if given, after the SAQ window."""
    commission = get_commission(session=session, commission_id=commission_id, by=principal)
    round_ = service.create_round(
        session=session, commission=commission, data=body.model_dump(), by=principal
    )
    response.headers["Location"] = location(request, "get_round", round_id=round_.id)
    return round_out(session, round_, principal)


@router.get("/commissions/{commission_id}/rounds", response_model=Page[RoundOut])
def list_rounds(
    commission_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    year: Annotated[DbInt | None, Query()] = None,
    status: Annotated[RoundStatus | None, Query()] = None,
) -> Page[RoundOut]:
    """The commission's rounds (any member), optionally of one year or status, ordered by id, paginated."""
    commission = get_commission(session=session, commission_id=commission_id, by=principal)
    stmt = service.rounds_query(commission=commission, year=year, status=status, by=principal)
    result = paginate(session=session, stmt=stmt, id_column=Round.id, params=page)
    return result.map(lambda r: round_out(session, r, principal))


@router.get("/rounds", response_model=Page[RoundOut], responses={404: {"description": "No such commission"}})
def list_all_rounds(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    commission: Annotated[
        str | None,
        Query(max_length=64, description="A commission's id or code; a system administrator's filter."),
    ] = None,
    status: Annotated[RoundStatus | None, Query()] = None,
    year: Annotated[DbInt | None, Query()] = None,
) -> Page[RoundOut]:
    """Rounds you may see, of every commission for a system administrator and of your own commission for
    anyone else (another commission's is a 403), optionally of one commission (id or code), status or year,
    ordered by id, paginated."""
    found = find_commission(session=session, ref=commission, by=principal) if commission is not None else None
    stmt = service.rounds_query(commission=found, year=year, status=status, by=principal)
    result = paginate(session=session, stmt=stmt, id_column=Round.id, params=page)
    return result.map(lambda r: round_out(session, r, principal))


@router.get("/rounds/{round_id}", response_model=RoundOut)
def get_round(round_id: Id, session: SessionDep, principal: CurrentPrincipal) -> RoundOut:
    """One round. For a body's operator, `your_closes_at` is that body's deadline with its extensions."""
    return round_out(session, service.get_round(session=session, round_id=round_id, by=principal), principal)


@router.patch("/rounds/{round_id}", response_model=RoundOut, responses=problems(Conflict))
def update_round(
    round_id: Id, body: RoundPatch, session: SessionDep, principal: CurrentPrincipal
) -> RoundOut:
    """Change a round (commission administrators): title, year, the SAQ window (only while a draft; later a
    deadline moves by an extension), the objection window, the gate (`gate_min_score`, `gate_top_n`) and
    `missing_stage_policy` (`zero` or `saq_only`; these until the round is final). `null` clears the gate
    and the objection dates."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    changes = body.model_dump(exclude_unset=True)
    return round_out(
        session,
        service.update_round(session=session, round_=round_, changes=changes, by=principal),
        principal,
    )


@router.post("/rounds/{round_id}/status", response_model=RoundOut, responses=problems(Conflict))
def change_status(round_id: Id, body: StatusIn, session: SessionDep, principal: CurrentPrincipal) -> RoundOut:
    """Move the round one step: draft -> open -> closed -> verification -> objection -> stages -> final
    (commission administrators; audited), with `{"status": "<next>", "confirm": false}`. Any other move is a
    409 naming the legal next status; `published` comes with publishing results. Opening needs invitations
    and a template for every invited category. Closing the SAQ stage, when it affects bodies (drafts,
    running extensions, bodies never started, or a close before the round's own deadline: see
    `GET /rounds/{id}/status-preview`), needs `"confirm": true` (409 with the counts otherwise); it records
    `saq_closed_at`. Leaving `verification` is refused while a body's deadline extension is still running."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    round_ = service.request_status(
        session=session, round_=round_, to=body.status, by=principal, confirm=body.confirm
    )
    return round_out(session, round_, principal)


def _affected(body: service.BodyDeadline, timezone: str) -> AffectedBodyOut:
    return AffectedBodyOut(
        body_id=body.body_id,
        name=body.name,
        category=body.category,
        submission_id=body.submission_id,
        submission_status=body.submission_status,
        closes_at=body.closes_at,
        closes_at_local=format_local(body.closes_at, timezone),
    )


@router.get(
    "/rounds/{round_id}/status-preview", response_model=StatusPreviewOut, responses=problems(Conflict)
)
def status_preview(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    to: Annotated[RoundStatus, Query(description="The status to move to: the round's next one.")],
) -> StatusPreviewOut:
    """Who moving the round to `to` would affect, before confirming it (commission administrators): for
    closing the SAQ stage, the bodies with a draft, with a deadline extension still running (with their
    own deadlines) and that never started; for leaving verification, the bodies whose window is still
    open. `needs_confirmation` says whether `POST .../status` needs `"confirm": true`."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    preview = service.preview_status(session=session, round_=round_, to=to, by=principal)
    tz = preview.timezone
    return StatusPreviewOut(
        round_id=round_.id,
        status=preview.current,
        to=preview.to,
        needs_confirmation=preview.needs_confirmation,
        blocked=preview.blocked,
        closing_early=preview.closing_early,
        saq_closes_at=preview.saq_closes_at,
        saq_closes_at_local=format_local(preview.saq_closes_at, tz),
        drafts_at_deadline=preview.drafts_at_deadline,
        drafts=[_affected(b, tz) for b in preview.drafts],
        extension_running=[_affected(b, tz) for b in preview.extension_running],
        not_started=[_affected(b, tz) for b in preview.not_started],
    )


@router.put(
    "/rounds/{round_id}/templates", response_model=list[RoundTemplateOut], responses=problems(Conflict)
)
def set_templates(
    round_id: Id, body: dict[str, TemplateChoice], session: SessionDep, principal: CurrentPrincipal
) -> list[RoundTemplateOut]:
    """Set which template version each body category answers: `{"kelurahan": {"key": ..., "version": ...}}`
    replaces the whole mapping (commission administrators, while draft or open). The template's
    `body_categories` must include the category; a category whose bodies have started keeps its version."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    result = service.set_templates(
        session=session,
        round_=round_,
        mapping={code: (ref.key, ref.version) for code, ref in body.items()},
        by=principal,
    )
    return [
        RoundTemplateOut(
            category=c.code, template_version_id=v.id, key=v.key, version=v.version, title=v.title
        )
        for c, v in result
    ]


@router.put("/rounds/{round_id}/stages", response_model=RoundOut, responses=problems(Conflict))
def set_stages(round_id: Id, body: StagesIn, session: SessionDep, principal: CurrentPrincipal) -> RoundOut:
    """Set the SAQ weight and the later stages (presentation, site_visit, interview) with their weights, which
    sum to 100: `{"saq_weight": 70, "stages": [{"code": "presentasi", "kind": "presentation", "title":
    "Presentasi", "weight": 30}]}`. Replaces the list (commission administrators, until the stages begin)."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    service.set_stages(
        session=session,
        round_=round_,
        saq_weight=body.saq_weight,
        stages=[s.model_dump() for s in body.stages],
        by=principal,
    )
    return round_out(session, round_, principal)


@router.post(
    "/rounds/{round_id}/invitations",
    response_model=InvitationsResultOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **problems(Conflict),
        **new_resource("Bodies were newly invited; `Location` is the round's invitations"),
        200: {
            "description": "Every body was invited already; nothing changed",
            "model": InvitationsResultOut,
        },
    },
)
def invite(
    round_id: Id,
    body: InvitationsIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> InvitationsResultOut:
    """Invite bodies: `{"body_ids": [...]}` or every active body of some categories: `{"category_codes":
    [...]}` (commission administrators, while draft or open). Already invited bodies are counted apart:
    201 when some body was newly invited, 200 when every one was invited already."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    outcome = service.invite(
        session=session,
        round_=round_,
        body_ids=body.body_ids,
        category_codes=body.category_codes,
        by=principal,
    )
    if outcome.invited:
        response.headers["Location"] = location(request, "list_invitations", round_id=round_.id)
    else:
        response.status_code = status.HTTP_200_OK
    return InvitationsResultOut(
        invited=len(outcome.invited), already_invited=outcome.already_invited, body_ids=outcome.invited
    )


@router.get("/rounds/{round_id}/invitations", response_model=Page[InvitedBodyOut])
def list_invitations(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    category: Annotated[str | None, Query(description="A category code.")] = None,
) -> Page[InvitedBodyOut]:
    """The invited bodies you may see, ordered by body id, paginated."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    stmt = service.invitations_query(round_=round_, category=category, by=principal)
    result = paginate(
        session=session, stmt=stmt, id_column=PublicBody.id, params=page, id_of=lambda row: row[0].id
    )

    def item(row: Any) -> InvitedBodyOut:
        body, invited_at = row
        return InvitedBodyOut(
            body_id=body.id,
            name=body.name,
            category=body.category.code,
            region_code=body.region_code,
            active=body.active,
            invited_at=invited_at,
        )

    return result.map(item)


def extension_out(
    session: Session, extension: DeadlineExtension, *, timezone: str, codes: dict[int, str], by: Principal
) -> ExtensionOut:
    account = session.get(Account, extension.decided_by_id) if extension.decided_by_id else None
    return ExtensionOut(
        id=extension.id,
        closes_at=as_utc(extension.closes_at),
        closes_at_local=format_local(extension.closes_at, timezone),
        scope=extension.scope,
        category_codes=[codes.get(cid, str(cid)) for cid in extension.category_ids or []],
        body_ids=service.extension_body_ids(extension, by=by),
        reason=extension.reason,
        decided_by_id=extension.decided_by_id,
        decided_by=account.email if account else None,
        created_at=extension.created_at,
    )


def _category_codes(session: Session, round_: Round) -> dict[int, str]:
    return {
        c.id: code
        for code, c in categories_by_code(session=session, commission_id=round_.commission_id).items()
    }


@router.post(
    "/rounds/{round_id}/extensions",
    response_model=ExtensionOut,
    status_code=status.HTTP_201_CREATED,
    responses={**problems(Conflict), **new_resource("The extension; `Location` is the round's extensions")},
)
def add_extension(
    round_id: Id,
    body: ExtensionIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> ExtensionOut:
    """Record a deadline extension decided in plenary (commission administrators): the new closing instant
    (with offset) for the whole round (`scope: round`), some categories (`category_codes`) or some invited
    bodies (`body_ids`), and the `reason` (required). It must end after the round's own close. A body's
    deadline is then the latest of the round's close and every extension covering it."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    extension = service.add_extension(
        session=session,
        round_=round_,
        closes_at=body.closes_at,
        scope=body.scope,
        category_codes=body.category_codes,
        body_ids=body.body_ids,
        reason=body.reason,
        by=principal,
    )
    response.headers["Location"] = location(request, "list_extensions", round_id=round_.id)
    return extension_out(
        session,
        extension,
        timezone=service.timezone_of(session=session, round_=round_),
        codes=_category_codes(session, round_),
        by=principal,
    )


@router.get("/rounds/{round_id}/extensions", response_model=Page[ExtensionOut])
def list_extensions(
    round_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[ExtensionOut]:
    """The history of the round's deadline extensions, oldest first, paginated (any member). A PPID operator
    (or a body API key) sees only the extensions that apply to its own body (round-wide, for its category,
    or naming it), and of an extension naming several bodies only its own in `body_ids`."""
    round_ = service.get_round(session=session, round_id=round_id, by=principal)
    timezone = service.timezone_of(session=session, round_=round_)
    result = paginate(
        session=session,
        stmt=service.extensions_query(session=session, round_=round_, by=principal),
        id_column=DeadlineExtension.id,
        params=page,
    )
    codes = _category_codes(session, round_)
    return result.map(lambda e: extension_out(session, e, timezone=timezone, codes=codes, by=principal))
