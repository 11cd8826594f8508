"""API schemas of webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.webhooks.addresses import MAX_URL
from app.webhooks.outbox import EventType

DeliveryStatus = Literal["pending", "sending", "delivered", "failed"]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=MAX_URL,
        pattern=r"^https?://[^\x00-\x20]+$",
        description="Where events are posted: https (http outside production, or for a host on "
        "EMONEV_WEBHOOK_ALLOWED_HOSTS); it must resolve to public addresses only, unless its host is on that "
        "list",
        examples=["https://satudata.example.go.id/hooks/emonev"],
    )
    events: list[EventType] = Field(
        min_length=1, max_length=len(EventType), description="The event types this endpoint hears of"
    )

    @field_validator("events")
    @classmethod
    def _once_each(cls, value: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(value))


class WebhookOut(BaseModel):
    """A registered endpoint (its secret is shown only once, when it is registered)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    commission_id: int
    url: str
    events: list[EventType]
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (Standard Webhooks: `whsec_` and base64 of the key's bytes). Shown "
        "only in this answer: keep it; it cannot be read again."
    )


class DeliveryOut(BaseModel):
    """One event to this endpoint, and how its delivery went."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str = Field(description="The event's id, sent as `webhook-id`; the same in every attempt")
    event_type: EventType
    occurred_at: datetime
    status: DeliveryStatus = Field(
        description="pending (waiting for next_attempt_at), sending, delivered (a 2xx answer), failed (no "
        "2xx answer by 24 hours after the event)"
    )
    attempts: int
    last_status_code: int | None = Field(description="The endpoint's last HTTP status; null without answer")
    last_error: str | None = Field(
        description='Why the last attempt did not deliver: "HTTP 500: <start of the answer>", "timed out", '
        '"could not connect to the server", "blocked: ..."'
    )
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When it is tried next (pending only)")
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: object) -> DeliveryOut:
        out = cls.model_validate(delivery)
        if out.status != "pending":
            out.next_attempt_at = None
        return out
