"""Commissions (Komisi Informasi) and the categories their public bodies are ranked in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.accounts.deps import CurrentPrincipal
from app.commissions import service
from app.commissions.schemas import (
    CategoryIn,
    CategoryOut,
    CommissionIn,
    CommissionOut,
    CommissionPatch,
)
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.models import BodyCategory, Commission
from app.db.session import SessionDep
from app.errors import Conflict
from app.inputs import Id
from app.pagination import Page, PageParamsDep, paginate

router = APIRouter(tags=["commissions"])
# Fields a PATCH may clear with null.
CLEARABLE = frozenset({"mail_reply_to", "mail_signature", *service.LETTER_FIELDS})


@router.post(
    "/commissions",
    response_model=CommissionOut,
    status_code=status.HTTP_201_CREATED,
    responses={**problems(Conflict), **new_resource("The new commission; `Location` is its URL")},
)
def create_commission(
    body: CommissionIn, session: SessionDep, principal: CurrentPrincipal, request: Request, response: Response
) -> CommissionOut:
    """Create a commission (system administrators only). `code` is unique (409 naming `code` otherwise);
    `timezone` is one of Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)."""
    commission = service.create_commission(
        session=session, code=body.code, name=body.name, timezone=body.timezone, by=principal
    )
    response.headers["Location"] = location(request, "get_commission", commission_id=commission.id)
    return CommissionOut.model_validate(commission)


@router.get("/commissions", response_model=Page[CommissionOut])
def list_commissions(
    session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[CommissionOut]:
    """Commissions you belong to (a system administrator sees all), ordered by id, paginated."""
    result = paginate(
        session=session, stmt=service.commissions_query(by=principal), id_column=Commission.id, params=page
    )
    return result.map(CommissionOut.model_validate)


@router.get("/commissions/{commission_id}", response_model=CommissionOut)
def get_commission(commission_id: Id, session: SessionDep, principal: CurrentPrincipal) -> CommissionOut:
    """One commission; any member of it may read it."""
    return CommissionOut.model_validate(
        service.get_commission(session=session, commission_id=commission_id, by=principal)
    )


@router.patch("/commissions/{commission_id}", response_model=CommissionOut)
def update_commission(
    commission_id: Id, body: CommissionPatch, session: SessionDep, principal: CurrentPrincipal
) -> CommissionOut:
    """Rename a commission, change its time zone (stored instants do not move; only how they are shown
    changes) or its e-mail settings: `mail_reply_to`, where replies go, and `mail_signature`, the lines that
    sign its messages (null or empty clears either); `data_license`, the license of its open data; the
    letterhead of its letters (`letter_heading`, `letter_address`, `letter_city`, `letter_chair_name`,
    `letter_chair_title`, `letter_number_format`; null or empty gives the default). Its administrators
    only."""
    commission = service.get_commission(session=session, commission_id=commission_id, by=principal)
    changes = {
        key: value
        for key, value in body.model_dump(exclude_unset=True).items()
        if value is not None or key in CLEARABLE
    }
    return CommissionOut.model_validate(
        service.update_commission(session=session, commission=commission, changes=changes, by=principal)
    )


@router.post(
    "/commissions/{commission_id}/categories",
    response_model=CategoryOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **problems(Conflict),
        **new_resource("The new category; `Location` is the list of the commission's categories"),
    },
)
def create_category(
    commission_id: Id,
    body: CategoryIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> CategoryOut:
    """Add a body category (kategori). `code` is lower case letters, digits and '-', unique in the
    commission (409 naming `code` otherwise); templates list the codes they are meant for."""
    commission = service.get_commission(session=session, commission_id=commission_id, by=principal)
    category = service.create_category(
        session=session, commission=commission, code=body.code, name=body.name, by=principal
    )
    response.headers["Location"] = location(request, "list_categories", commission_id=commission.id)
    return CategoryOut.model_validate(category)


@router.get("/commissions/{commission_id}/categories", response_model=Page[CategoryOut])
def list_categories(
    commission_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[CategoryOut]:
    """The commission's body categories, ordered by id, paginated; any member may read them."""
    commission = service.get_commission(session=session, commission_id=commission_id, by=principal)
    result = paginate(
        session=session,
        stmt=service.categories_query(commission=commission),
        id_column=BodyCategory.id,
        params=page,
    )
    return result.map(CategoryOut.model_validate)
