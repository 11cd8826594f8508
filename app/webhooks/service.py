"""Registering, listing and removing a commission's webhook endpoints, and reading their deliveries.

Who may: the commission's administrators and system administrators. Anyone outside the commission is answered
404, as if the commission (or the endpoint) did not exist; a member of the commission in another role 403.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.db.models import Commission, Webhook, WebhookDelivery
from app.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from app.settings import Settings
from app.verification.linkcheck import Resolver, system_resolver
from app.webhooks.addresses import UrlRefused, destination
from app.webhooks.outbox import EventType

# Endpoints a commission may register: each event is posted to each of them.
MAX_PER_COMMISSION = 20


def new_secret() -> str:
    """``whsec_`` and base64 of 32 random bytes (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _ensure_may_manage(by: Principal, commission_id: int, missing: NotFound) -> None:
    try:
        policy.ensure_member(by, commission_id)
    except Forbidden as exc:
        raise missing from exc
    policy.ensure_admin(by, commission_id)


def commission_for_webhooks(*, session: Session, commission_id: int, by: Principal) -> Commission:
    """The commission whose endpoints are asked for, if ``by`` administers it (404 outside it, 403 inside)."""
    commission = session.get(Commission, commission_id)
    missing = NotFound(
        f"commission {commission_id} does not exist", indonesian="Komisi Informasi ini tidak ada."
    )
    if commission is None:
        raise missing
    _ensure_may_manage(by, commission.id, missing)
    return commission


def get_webhook(*, session: Session, webhook_id: int, by: Principal) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    missing = NotFound(f"webhook {webhook_id} does not exist", indonesian="Webhook ini tidak ada.")
    if webhook is None:
        raise missing
    _ensure_may_manage(by, webhook.commission_id, missing)
    return webhook


def check_url(url: str, settings: Settings, resolver: Resolver = system_resolver) -> None:
    """422 naming ``url`` when the service would not post to it (app/webhooks/addresses.py)."""
    try:
        destination(url, settings, resolver)
    except UrlRefused as exc:
        raise InvalidInput(
            f"the webhook URL is refused: {exc}",
            errors=[
                FieldProblem(
                    "url",
                    str(exc),
                    "Alamat webhook ditolak: harus https (http hanya di luar produksi) dan mengarah ke "
                    "alamat publik, kecuali host yang diizinkan oleh pengelola layanan.",
                )
            ],
            indonesian="Alamat webhook ditolak.",
        ) from exc


def create_webhook(
    *,
    session: Session,
    commission: Commission,
    url: str,
    events: list[EventType],
    by: Principal,
    settings: Settings,
    resolver: Resolver = system_resolver,
) -> tuple[Webhook, str]:
    """Register an endpoint; returns it and its secret (shown once)."""
    policy.ensure_admin(by, commission.id)
    check_url(url, settings, resolver)
    count = session.scalar(select(func.count()).where(Webhook.commission_id == commission.id)) or 0
    if count >= MAX_PER_COMMISSION:
        raise Conflict(
            f"a commission has at most {MAX_PER_COMMISSION} webhook endpoints; remove one first",
            indonesian=f"Satu Komisi Informasi paling banyak memiliki {MAX_PER_COMMISSION} webhook. Hapus "
            "salah satu lebih dahulu.",
        )
    secret = new_secret()
    webhook = Webhook(
        commission_id=commission.id,
        url=url,
        events=[event.value for event in events],
        secret=secret,
        created_by_id=by.account_id,
    )
    session.add(webhook)
    session.flush()
    record(
        session=session,
        actor=by,
        action="webhook.create",
        entity="webhook",
        entity_id=webhook.id,
        after={"url": url, "events": webhook.events},
        commission_id=commission.id,
    )
    return webhook, secret


def webhooks_query(*, commission: Commission) -> Select[Any]:
    return select(Webhook).where(Webhook.commission_id == commission.id)


def delete_webhook(*, session: Session, webhook: Webhook, by: Principal) -> None:
    """Remove the endpoint and its deliveries (those still pending are never sent)."""
    policy.ensure_admin(by, webhook.commission_id)
    pending = session.scalar(
        select(func.count()).where(
            WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.status.in_(("pending", "sending"))
        )
    )
    record(
        session=session,
        actor=by,
        action="webhook.delete",
        entity="webhook",
        entity_id=webhook.id,
        before={"url": webhook.url, "events": webhook.events},
        after={"pending_deliveries_dropped": pending},
        commission_id=webhook.commission_id,
    )
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    session.delete(webhook)
    session.flush()


def deliveries_query(*, webhook: Webhook, status: str | None) -> Select[Any]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt
