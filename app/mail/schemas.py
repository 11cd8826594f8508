"""API schemas of the secretariat's view of e-mail (the outbox's notices)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NoticeStatus = Literal["pending", "sending", "sent", "failed", "uncertain", "cancelled"]


class NoticeOut(BaseModel):
    """One e-mail to one address about one event, and how its delivery went. The message's links are made
    when it is sent and are never shown here."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event: str = Field(description="What it tells of: account_invitation, round_opened, results_published...")
    status: NoticeStatus = Field(
        description="pending (waiting for next_attempt_at), sending, sent, failed (refused for good or too "
        "often), uncertain (its worker stopped while sending: it may or may not have gone), cancelled (no "
        "longer wanted when its turn came)"
    )
    recipient: str
    subject: str
    commission_id: int | None
    round_id: int | None
    body_id: int | None
    account_id: int | None
    attempts: int = Field(description="Times it was handed to the SMTP server since it was written or resent")
    next_attempt_at: datetime
    last_response: str | None = Field(
        description='The SMTP server\'s last answer ("250 2.0.0 Ok", "550 5.1.1 no such user") or why it '
        "could not be sent"
    )
    sent_at: datetime | None
    transport: str | None = Field(description="smtp, or log (development without SMTP)")
    message_id: str | None = Field(description="The Message-ID it carried when sent")
    resends: int = Field(description="Times a person asked for it to be sent again (each a new Message-ID)")
    created_at: datetime


class NoticeCounts(BaseModel):
    """How many notices are in each status."""

    pending: int
    sending: int
    sent: int
    failed: int
    uncertain: int
    cancelled: int
    total: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> NoticeCounts:
        return cls.model_validate(counts | {"total": sum(counts.values())})
