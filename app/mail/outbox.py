"""Writing notices: the outbox side of e-mail.

A service that makes an event (a round opened, results published...) calls :func:`notify` in its own
transaction with one :class:`Letter` per recipient. The rows commit with the event or not at all, and the
delivery job is queued in that same transaction (app/mail/delivery.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from app.accounts.principal import Role
from app.db.base import utcnow
from app.db.models import Account, MailOptOut, Notice, PublicBody
from app.json_text import json_text
from app.mail.render import render_subject


class Event(StrEnum):
    """What a notice tells of (its template is named after it)."""

    account_invitation = "account_invitation"
    password_reset = "password_reset"  # noqa: S105 - an event name
    round_opened = "round_opened"
    deadline_reminder = "deadline_reminder"
    extension_granted = "extension_granted"
    verification_released = "verification_released"
    objection_answered = "objection_answered"
    results_published = "results_published"


# What the secretariat's pages call each kind of notice.
EVENT_WORDS: dict[str, str] = {
    Event.account_invitation: "Undangan akun",
    Event.password_reset: "Atur ulang kata sandi",
    Event.round_opened: "Periode dibuka",
    Event.deadline_reminder: "Pengingat batas waktu",
    Event.extension_granted: "Perpanjangan batas waktu",
    Event.verification_released: "Hasil verifikasi (masa sanggah)",
    Event.objection_answered: "Jawaban sanggahan",
    Event.results_published: "Hasil diumumkan",
}

# Notices sent before any other due one: a person is waiting for their link.
URGENT_EVENTS = frozenset({Event.account_invitation, Event.password_reset})

# The notices a recipient may opt out of (an unsubscribe link and List-Unsubscribe); never the official ones.
OPTIONAL_EVENTS = frozenset({Event.deadline_reminder})

PENDING, SENDING, SENT, FAILED, UNCERTAIN, CANCELLED = (
    "pending",
    "sending",
    "sent",
    "failed",
    "uncertain",
    "cancelled",
)
STATUS_WORDS: dict[str, str] = {
    PENDING: "menunggu",
    SENDING: "sedang dikirim",
    SENT: "terkirim",
    FAILED: "gagal",
    UNCERTAIN: "tidak pasti",
    CANCELLED: "dibatalkan",
}


@dataclass(frozen=True)
class Recipient:
    """An address to write to, and who it is in the service (an account, a body's PPID) if known."""

    email: str
    account_id: int | None = None
    body_id: int | None = None


@dataclass(frozen=True)
class Letter:
    """One notice to write: to whom, and what its template says to them (JSON-able values only; instants
    as ISO strings, decimals as strings)."""

    recipient: Recipient
    context: dict[str, Any] = field(default_factory=dict)


def normalise(email: str) -> str:
    return email.strip().lower()


def notice_key(event: str, ref: str, email: str) -> str:
    """The notice's identity: one event's occurrence to one address, whoever writes it and however often."""
    return hashlib.sha256(f"{event}\n{ref}\n{normalise(email)}".encode()).hexdigest()


def body_recipients(session: Session, body_ids: Sequence[int]) -> dict[int, list[Recipient]]:
    """Who hears for each body: its PPID's official address and its active operators' accounts (an address
    once). A body with none of them is absent from the result."""
    found: dict[int, dict[str, Recipient]] = {}
    ids = list(dict.fromkeys(body_ids))
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for body_id, email in session.execute(
            select(PublicBody.id, PublicBody.ppid_email).where(
                PublicBody.id.in_(chunk), PublicBody.ppid_email.is_not(None)
            )
        ):
            if email and email.strip():
                found.setdefault(body_id, {})[normalise(email)] = Recipient(normalise(email), body_id=body_id)
        for account_id, operator_body, email in session.execute(
            select(Account.id, Account.body_id, Account.email)
            .where(Account.body_id.in_(chunk), Account.active.is_(True), Account.role == Role.operator.value)
            .order_by(Account.id)
        ):
            assert operator_body is not None
            # The account's entry wins over the bare address: it names who reads it.
            found.setdefault(operator_body, {})[normalise(email)] = Recipient(
                normalise(email), account_id=account_id, body_id=operator_body
            )
    return {body_id: list(by_address.values()) for body_id, by_address in found.items()}


def opted_out(session: Session, emails: Iterable[str]) -> set[str]:
    addresses = list({normalise(e) for e in emails})
    out: set[str] = set()
    for start in range(0, len(addresses), 1000):
        out.update(
            session.scalars(
                select(MailOptOut.email).where(MailOptOut.email.in_(addresses[start : start + 1000]))
            )
        )
    return out


def notify(
    session: Session,
    *,
    event: Event,
    ref: str,
    letters: Iterable[Letter],
    commission_id: int | None,
    commission_name: str,
    round_id: int | None = None,
) -> int:
    """Write one notice per letter for this occurrence (``ref``) of ``event``, in the session's transaction,
    and queue their delivery. A notice already written (same event, occurrence and address) is left as it
    is: calling again for the same occurrence writes only what is new. Addresses that opted out are skipped
    for the notices one may opt out of. Returns how many notices were written."""
    return notify_each(
        session,
        event=event,
        letters_by_ref={ref: list(letters)},
        commission_id=commission_id,
        commission_name=commission_name,
        round_id=round_id,
    )


def notify_each(
    session: Session,
    *,
    event: Event,
    letters_by_ref: Mapping[str, Sequence[Letter]],
    commission_id: int | None,
    commission_name: str,
    round_id: int | None = None,
) -> int:
    """:func:`notify` for many occurrences at once (a reminder per body, each its own ``ref``): one look-up
    of the opt-outs, one batched insert and one delivery job, however many occurrences."""
    pairs = [(ref, letter) for ref, letters in letters_by_ref.items() for letter in letters]
    if event in OPTIONAL_EVENTS:
        out = opted_out(session, (letter.recipient.email for _, letter in pairs))
        pairs = [(ref, letter) for ref, letter in pairs if normalise(letter.recipient.email) not in out]
    now = utcnow()
    rows = []
    seen: set[str] = set()
    for ref, letter in pairs:
        email = normalise(letter.recipient.email)
        key = notice_key(event, ref, email)
        if key in seen:
            continue
        seen.add(key)
        context = {"commission_name": commission_name, **letter.context}
        rows.append(
            {
                "key": key,
                "event": event.value,
                "ref": ref,
                "commission_id": commission_id,
                "round_id": round_id,
                "body_id": letter.recipient.body_id,
                "account_id": letter.recipient.account_id,
                "recipient": email,
                "subject": render_subject(event.value, context)[:300],
                "context": context,
                "status": PENDING,
                "priority": 0 if event in URGENT_EVENTS else 1,
                "attempts": 0,
                "next_attempt_at": now,
                "resends": 0,
                "created_at": now,
            }
        )
    written = _insert_new(session, rows)
    if written:
        from app.mail.delivery import queue_delivery  # (delivery imports this module)

        queue_delivery(session)
    return written


# PostgreSQL: the rows as arrays in one statement per chunk. An INSERT of many VALUES rows costs the driver
# most of its time converting thousands of parameters (and such long statements are not cached); six arrays
# are sent as six parameters.
_INSERT_PG = text(
    """
    INSERT INTO notice (
        key, event, ref, commission_id, round_id, body_id, account_id, recipient, subject, context,
        status, priority, attempts, next_attempt_at, resends, created_at
    )
    SELECT k, :event, f, :commission_id, :round_id, b, a, r, s, CAST(c AS json),
        'pending', :priority, 0, :now, 0, :now
    FROM unnest(
        CAST(:keys AS text[]), CAST(:refs AS text[]), CAST(:bodies AS integer[]),
        CAST(:accounts AS integer[]), CAST(:recipients AS text[]), CAST(:subjects AS text[]),
        CAST(:contexts AS text[])
    ) WITH ORDINALITY AS t(k, f, b, a, r, s, c, n)
    ORDER BY n  -- ids in the letters' order, as on SQLite
    ON CONFLICT (key) DO NOTHING
    RETURNING id
    """
)
_PG_CHUNK = 5000


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose key is not there yet; returns how many."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _insert_new_pg(session, rows)
    table = Notice.__table__
    assert isinstance(table, Table)
    written = 0
    for start in range(0, len(rows), 500):
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
        written += len(session.execute(stmt, rows[start : start + 500]).all())
    return written


def _insert_new_pg(session: Session, rows: list[dict[str, Any]]) -> int:
    first = rows[0]  # one event of one commission and round: these are the same in every row
    written = 0
    for start in range(0, len(rows), _PG_CHUNK):
        chunk = rows[start : start + _PG_CHUNK]
        params = {
            "event": first["event"],
            "commission_id": first["commission_id"],
            "round_id": first["round_id"],
            "priority": first["priority"],
            "now": first["created_at"],
            "keys": [row["key"] for row in chunk],
            "refs": [row["ref"] for row in chunk],
            "bodies": [row["body_id"] for row in chunk],
            "accounts": [row["account_id"] for row in chunk],
            "recipients": [row["recipient"] for row in chunk],
            "subjects": [row["subject"] for row in chunk],
            "contexts": [json_text(row["context"]) for row in chunk],
        }
        written += len(session.execute(_INSERT_PG, params).all())
    return written
