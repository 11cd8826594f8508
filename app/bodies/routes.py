"""Public bodies (badan publik) of a commission: registration, bulk CSV import, lookup and edits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.accounts import policy
from app.accounts.deps import CurrentPrincipal
from app.bodies import service
from app.bodies.schemas import BodyIn, BodyOut, BodyPatch, ImportReportOut
from app.commissions.service import get_commission
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.models import PublicBody
from app.db.session import LongWorkSessionDep, SessionDep
from app.errors import Conflict, TooLargeAtOnce
from app.inputs import Id
from app.pagination import Page, PageParamsDep, paginate
from app.settings import SettingsDep
from app.uploads import Upload, read_upload, request_body_doc

router = APIRouter(tags=["bodies"])

CSV_TYPES = ("text/csv", "text/plain", "application/csv")


def body_out(body: PublicBody) -> BodyOut:
    return BodyOut.of(body)


@router.post(
    "/commissions/{commission_id}/bodies",
    response_model=BodyOut,
    status_code=status.HTTP_201_CREATED,
    responses={**problems(Conflict), **new_resource("The new body; `Location` is its URL")},
)
def create_body(
    commission_id: Id,
    body: BodyIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
) -> BodyOut:
    """Register a public body (commission administrators). `category` is a category code of the commission;
    `parent_id` a body of the same commission; `region_code` a Kemendagri code (31.71.01.1001). A name
    already used in the commission (ignoring case) is a 409 naming `name`."""
    commission = get_commission(session=session, commission_id=commission_id, by=principal)
    created = service.create_body(
        session=session, commission=commission, data=body.model_dump(), by=principal
    )
    response.headers["Location"] = location(request, "get_body", body_id=created.id)
    return body_out(created)


@router.get("/commissions/{commission_id}/bodies", response_model=Page[BodyOut])
def list_bodies(
    commission_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    category: Annotated[str | None, Query(description="A category code.")] = None,
    region: Annotated[
        str | None,
        Query(
            max_length=200,
            description="A region code prefix (31.71 gives 31.71 and everything under it), or a region's "
            "name: the bodies whose name or a parent's name (up to three levels up) holds it, so Menteng "
            "gives Kecamatan Menteng and the kelurahan under it.",
        ),
    ] = None,
    parent: Annotated[Id | None, Query(description="Only the direct children of this body.")] = None,
    active: Annotated[
        bool | None, Query(description="Only active (true) or inactive (false) bodies.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive search in the name.")
    ] = None,
    round: Annotated[Id | None, Query(description="Only the bodies invited to this round.")] = None,
) -> Page[BodyOut]:
    """The commission's bodies you may see (an operator its own, a verifier those assigned to it),
    filtered, ordered by id, paginated."""
    commission = get_commission(session=session, commission_id=commission_id, by=principal)
    stmt = service.bodies_query(
        session=session,
        commission=commission,
        filters=service.BodyFilters(
            category=category, region=region, parent_id=parent, active=active, q=q, round_id=round
        ),
        by=principal,
    )
    return paginate(session=session, stmt=stmt, id_column=PublicBody.id, params=page).map(body_out)


@router.get("/bodies/{body_id}", response_model=BodyOut)
def get_body(body_id: Id, session: SessionDep, principal: CurrentPrincipal) -> BodyOut:
    """One public body, if you may see it."""
    return body_out(service.get_body(session=session, body_id=body_id, by=principal))


@router.patch("/bodies/{body_id}", response_model=BodyOut, responses=problems(Conflict))
def update_body(body_id: Id, body: BodyPatch, session: SessionDep, principal: CurrentPrincipal) -> BodyOut:
    """Change a body (commission administrators): send only the fields to change; `null` clears
    `region_code`, `parent_id` or `ppid_email`. The parent must be a body of the same commission and may not
    be the body itself or one of its descendants."""
    row = service.get_body(session=session, body_id=body_id, by=principal)
    changes = body.model_dump(exclude_unset=True)
    return body_out(service.update_body(session=session, body=row, changes=changes, by=principal))


IMPORTED = new_resource(
    "Every row was valid and the bodies were created; `Location` is the list of bodies.", ImportReportOut
)


def import_report_out(
    report: service.ImportReport, request: Request, response: Response, commission_id: int
) -> ImportReportOut:
    """The report of a bulk import (CSV or workbook), answered with 201 when bodies were created."""
    if report.created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = location(request, "list_bodies", commission_id=commission_id)
    return ImportReportOut.of(report)


async def csv_upload(
    commission_id: Id, request: Request, settings: SettingsDep, principal: CurrentPrincipal
) -> Upload:
    # Refuse strangers before reading what they send.
    policy.ensure_admin(principal, commission_id)
    return await read_upload(
        request, raw_types=CSV_TYPES, max_bytes=settings.upload_max_bytes, what="CSV file"
    )


@router.post(
    "/commissions/{commission_id}/bodies/import",
    response_model=ImportReportOut,
    openapi_extra=request_body_doc(
        CSV_TYPES,
        "A CSV with the header name,category,region_code,parent,ppid_email (UTF-8; comma, semicolon or tab).",
    ),
    responses={**problems(Conflict, TooLargeAtOnce), **IMPORTED},
)
def import_bodies(
    commission_id: Id,
    session: LongWorkSessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    upload: Annotated[Upload, Depends(csv_upload)],
    request: Request,
    response: Response,
    dry_run: Annotated[bool, Query(description="Only check the file; write nothing.")] = True,
) -> ImportReportOut:
    """Register many bodies from a CSV (commission administrators), all or nothing.

    Columns: `name`, `category` (a category code), `region_code`, `parent` (the name of a body that exists
    already or comes earlier in the file), `ppid_email`. Every bad row is reported with its row number (the
    header is row 1), column and reason; duplicate names (in the file or against existing bodies) are errors.
    With `dry_run=true` (the default) the answer is a report and nothing is written; with `dry_run=false` a
    file with any problem is a 422 listing them all (and nothing is written), else 201 with the bodies. A
    file of more than `EMONEV_SYNC_IMPORT_MAX_ROWS` rows (5,000) is a 409 (`too-large-at-once`) naming the
    job in `job_request`: send it to `POST /commissions/{id}/bodies/import-jobs` instead."""
    commission = get_commission(session=session, commission_id=commission_id, by=principal)
    rows, numbers = service.read_csv(upload.data)
    service.refuse_in_request(len(rows), settings.sync_import_max_rows, commission.id)
    report = service.import_bodies(
        session=session, commission=commission, rows=rows, dry_run=dry_run, by=principal, row_numbers=numbers
    )
    return import_report_out(report, request, response, commission.id)
