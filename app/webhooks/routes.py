"""Webhook endpoints of a commission: register, list, read, remove, and see their recent deliveries.

The commission's administrators and system administrators only (404 outside the commission, 403 for its
other roles)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.accounts.deps import CurrentPrincipal
from app.contract.problems import problems
from app.created import location, new_resource
from app.db.models import Webhook, WebhookDelivery
from app.db.session import SessionDep
from app.errors import Conflict
from app.inputs import Id
from app.pagination import Page, PageParamsDep, paginate
from app.settings import SettingsDep
from app.verification.linkcheck import Resolver, system_resolver
from app.webhooks import service
from app.webhooks.schemas import DeliveryOut, DeliveryStatus, WebhookCreated, WebhookIn, WebhookOut

router = APIRouter(tags=["webhooks"])


def get_resolver() -> Resolver:
    """How an endpoint's host name is resolved when it is registered (the fuzz tests resolve without DNS)."""
    return system_resolver


ResolverDep = Annotated[Resolver, Depends(get_resolver)]


@router.post(
    "/commissions/{commission_id}/webhooks",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        **new_resource("The new endpoint with its secret (shown only here); `Location` is its URL"),
        **problems(Conflict),
    },
)
def create_webhook(
    commission_id: Id,
    body: WebhookIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    resolver: ResolverDep,
    request: Request,
    response: Response,
) -> WebhookCreated:
    """Register an endpoint that hears of the commission's events (`round.status_changed`,
    `submission.submitted`, `verification.released`, `results.published`). The URL must resolve to public
    addresses only (422 naming `url` otherwise), unless its host is on EMONEV_WEBHOOK_ALLOWED_HOSTS; https in
    production. The answer holds the endpoint's signing `secret`, shown only here."""
    commission = service.commission_for_webhooks(session=session, commission_id=commission_id, by=principal)
    webhook, secret = service.create_webhook(
        session=session,
        commission=commission,
        url=body.url,
        events=body.events,
        by=principal,
        settings=settings,
        resolver=resolver,
    )
    response.headers["Location"] = location(request, "get_webhook", webhook_id=webhook.id)
    return WebhookCreated.model_validate(webhook, from_attributes=True).model_copy(update={"secret": secret})


@router.get("/commissions/{commission_id}/webhooks", response_model=Page[WebhookOut])
def list_webhooks(
    commission_id: Id, session: SessionDep, principal: CurrentPrincipal, page: PageParamsDep
) -> Page[WebhookOut]:
    """The commission's endpoints, ordered by id, paginated (without their secrets)."""
    commission = service.commission_for_webhooks(session=session, commission_id=commission_id, by=principal)
    stmt = service.webhooks_query(commission=commission)
    return paginate(session=session, stmt=stmt, id_column=Webhook.id, params=page).map(
        WebhookOut.model_validate
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: Id, session: SessionDep, principal: CurrentPrincipal) -> WebhookOut:
    """One endpoint (without its secret)."""
    return WebhookOut.model_validate(
        service.get_webhook(session=session, webhook_id=webhook_id, by=principal)
    )


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_webhook(webhook_id: Id, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Remove an endpoint; its deliveries still pending are dropped."""
    webhook = service.get_webhook(session=session, webhook_id=webhook_id, by=principal)
    service.delete_webhook(session=session, webhook=webhook, by=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    webhook_id: Id,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status")] = None,
) -> Page[DeliveryOut]:
    """The endpoint's deliveries, one per event, ordered by id, paginated: event id and type, status,
    attempts, the last HTTP status or error, the next attempt, when it was delivered."""
    webhook = service.get_webhook(session=session, webhook_id=webhook_id, by=principal)
    stmt = service.deliveries_query(webhook=webhook, status=status)
    return paginate(session=session, stmt=stmt, id_column=WebhookDelivery.id, params=page).map(DeliveryOut.of)
