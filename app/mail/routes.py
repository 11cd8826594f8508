"""The secretariat's view of e-mail: the notices of a round or a commission, one notice, sending one again.

Commission administrators (of the notice's commission) and system administrators only; everyone else gets
404. Read-only API keys do not read notices (people's addresses, mail servers' answers), as they do not read
the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.accounts.deps import CurrentPrincipal
from app.contract.problems import problems
from app.db.models import Notice
from app.db.session import SessionDep
from app.errors import Conflict
from app.inputs import MAX_INT, Id
from app.mail import service
from app.mail.outbox import Event
from app.mail.schemas import NoticeCounts, NoticeOut, NoticeStatus
from app.pagination import Page, PageParamsDep, paginate

router = APIRouter(tags=["mail"])

StatusQuery = Annotated[NoticeStatus | None, Query(description="Only notices in this status")]
EventQuery = Annotated[Event | None, Query(description="Only notices of this event")]
BodyQuery = Annotated[int | None, Query(ge=1, le=MAX_INT, description="Only notices to this body")]
RecipientQuery = Annotated[
    str | None, Query(max_length=320, description="Only recipients whose address contains this")
]


def _filters(
    status_: str | None, event: Event | None, body_id: int | None, recipient: str | None
) -> service.NoticeFilters:
    return service.NoticeFilters(
        status=status_, event=event.value if event else None, body_id=body_id, recipient=recipient
    )


@router.get("/rounds/{round_id}/notices", response_model=Page[NoticeOut])
def list_round_notices(
    round_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    status: StatusQuery = None,
    event: EventQuery = None,
    body_id: BodyQuery = None,
    recipient: RecipientQuery = None,
) -> Page[NoticeOut]:
    """The round's notices, ordered by id, paginated; narrowed by status, event, body and a part of the
    recipient's address."""
    round_ = service.round_for_notices(session=session, round_id=round_id, by=principal)
    stmt = service.round_notices_query(round_=round_, filters=_filters(status, event, body_id, recipient))
    return paginate(session=session, stmt=stmt, id_column=Notice.id, params=page).map(
        NoticeOut.model_validate
    )


@router.get("/rounds/{round_id}/notices/counts", response_model=NoticeCounts)
def count_round_notices(round_id: Id, session: SessionDep, principal: CurrentPrincipal) -> NoticeCounts:
    """How many of the round's notices are in each status."""
    round_ = service.round_for_notices(session=session, round_id=round_id, by=principal)
    return NoticeCounts.of(service.status_counts(session=session, round_id=round_.id, without_round=False))


@router.get("/commissions/{commission_id}/notices", response_model=Page[NoticeOut])
def list_commission_notices(
    commission_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    status: StatusQuery = None,
    event: EventQuery = None,
    body_id: BodyQuery = None,
    recipient: RecipientQuery = None,
    without_round: Annotated[
        bool, Query(description="Only notices tied to no round (invitations, password resets)")
    ] = False,
) -> Page[NoticeOut]:
    """The commission's notices, of its rounds and of none (account invitations, password resets), ordered
    by id, paginated."""
    commission = service.commission_for_notices(session=session, commission_id=commission_id, by=principal)
    stmt = service.commission_notices_query(
        commission=commission,
        filters=_filters(status, event, body_id, recipient),
        without_round=without_round,
    )
    return paginate(session=session, stmt=stmt, id_column=Notice.id, params=page).map(
        NoticeOut.model_validate
    )


@router.get("/notices/{notice_id}", response_model=NoticeOut)
def get_notice(notice_id: Id, session: SessionDep, principal: CurrentPrincipal) -> NoticeOut:
    """One notice: its subject, recipient, event, status, attempts, the server's last answer, when it was
    sent with which Message-ID, and how often it was resent."""
    return NoticeOut.model_validate(service.get_notice(session=session, notice_id=notice_id, by=principal))


@router.post(
    "/notices/{notice_id}/resend", response_model=NoticeOut, status_code=202, responses=problems(Conflict)
)
def resend_notice(notice_id: Id, session: SessionDep, principal: CurrentPrincipal) -> NoticeOut:
    """Send a sent, failed, uncertain or cancelled notice again (202: it is pending, with a new Message-ID
    once sent). 409 while it is pending or sending, and for account invitations and password resets, whose
    single-use link may be used or dead: send a new invitation or reset instead."""
    return NoticeOut.model_validate(service.resend(session=session, notice_id=notice_id, by=principal))
