"""The season's official notices: the letters each event of a round writes to the bodies it concerns.

One function per event, called by the service that makes the event, in its transaction, with the rows it
made; each builds one :class:`Letter` per address of each body (``body_recipients``: the PPID's official
address and the body's active operator accounts) and calls :func:`notify`. The ``ref`` names the occurrence,
so calling again for it (a body invited later to an open round, a retried request) writes only what is new.

Instants go into the context as ISO strings (the templates write them in the commission's zone); the subject
line, rendered from the context alone, gets its dates already in words. Links are page paths of the body's
operator: the dashboard's card of the round (``/#ronde-<id>``, where the SAQ is started) when opening, the
SAQ's objection page after release and answers, its result page after publication.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commissions.timezones import as_utc, format_words
from app.db.models import (
    BodyCategory,
    Commission,
    DeadlineExtension,
    Objection,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    Submission,
)
from app.exports.values import display
from app.mail.outbox import Event, Letter, body_recipients, notify_each
from app.rounds import service as rounds

DECISION_WORDS = {"accepted": "diterima", "rejected": "ditolak"}


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _day(value: datetime, timezone: str) -> str:
    """A date for a subject line: "31 Agustus 2025" (the subject is rendered without the commission)."""
    return format_words(value, timezone, with_time=False)


def _send(
    session: Session,
    round_: Round,
    *,
    event: Event,
    ref: str,
    contexts: dict[int, dict[str, Any]],
) -> int:
    """One letter to each address of each body in ``contexts`` (body id -> what its letter says). Each body's
    letters are an occurrence of their own (``<ref>:body:<id>``): two bodies sharing a PPID address get one
    notice each, not one between them."""
    commission = session.get(Commission, round_.commission_id)
    assert commission is not None
    recipients = body_recipients(session, list(contexts))
    letters_by_ref = {
        f"{ref}:body:{body_id}": [
            Letter(
                recipient,
                {"round_title": round_.title, "greeting": f"PPID {contexts[body_id]['body_name']}"}
                | contexts[body_id],
            )
            for recipient in addresses
        ]
        for body_id, addresses in recipients.items()
    }
    return notify_each(
        session,
        event=event,
        letters_by_ref=letters_by_ref,
        commission_id=commission.id,
        commission_name=commission.name,
        round_id=round_.id,
    )


# --- 3. the round opens ------------------------------------------------------------------------------------


def round_opened(session: Session, *, round_: Round, body_ids: Sequence[int] | None = None) -> int:
    """The invitation to fill in the SAQ, to every invited body (or, for bodies invited while the round is
    open, to ``body_ids``): the window, the body's own deadline when an extension already covers it, and
    the way to its SAQ. One occurrence per round: a body is invited once."""
    timezone = rounds.timezone_of(session=session, round_=round_)
    own = rounds.round_closes_at(round_)
    contexts = {
        body.body_id: {
            "body_name": body.name,
            "opens_at": _iso(round_.saq_opens_at),
            "closes_at": _iso(own),
            "deadline": _iso(body.closes_at),
            "extended": body.closes_at > own,
            "deadline_day": _day(body.closes_at, timezone),
            "paths": {"saq": f"/#ronde-{round_.id}"},
        }
        for body in rounds.body_deadlines(session=session, round_=round_, body_ids=body_ids)
    }
    return _send(
        session, round_, event=Event.round_opened, ref=f"round:{round_.id}:opened", contexts=contexts
    )


# --- 5. a deadline extension -------------------------------------------------------------------------------


def extension_granted(
    session: Session, *, round_: Round, extension: DeadlineExtension, reopened: bool = False
) -> int:
    """The new deadline and the recorded reason, to the invited bodies the extension moves: those it covers
    that have not submitted (a submitted SAQ gains nothing) and whose deadline it now is (an extension
    earlier than one the body already has changes nothing for it). ``reopened``: the extension is the new
    deadline of a submitted SAQ being reopened in this transaction (its one body is told, SAQ and all).

    While the round is a draft nobody is told: the invitation sent when it opens gives each body its
    deadline, extensions included."""
    if round_.status == "draft":
        return 0
    timezone = rounds.timezone_of(session=session, round_=round_)
    named = list(extension.body_ids or []) if extension.scope == "bodies" else None
    closes_at = as_utc(extension.closes_at)
    contexts = {
        body.body_id: {
            "body_name": body.name,
            "deadline": _iso(closes_at),
            "deadline_day": _day(closes_at, timezone),
            "reason": extension.reason,
            "reopened": reopened,
            "paths": {
                "saq": f"/pengisian/{body.submission_id}" if body.submission_id else f"/#ronde-{round_.id}"
            },
        }
        for body in rounds.body_deadlines(session=session, round_=round_, body_ids=named)
        if body.category_id is not None
        and rounds.covers(extension, category_id=body.category_id, body_id=body.body_id)
        and (reopened or body.submission_status != "submitted")
        and body.closes_at == closes_at
    }
    return _send(
        session, round_, event=Event.extension_granted, ref=f"extension:{extension.id}", contexts=contexts
    )


# --- 6. verification results released -------------------------------------------------------------------


def verification_released(session: Session, *, round_: Round) -> int:
    """To each body with a submitted SAQ: its verified result can be read, and until when it may object.
    A round is released once (a second release is refused), so one occurrence per round."""
    timezone = rounds.timezone_of(session=session, round_=round_)
    closes = round_.objection_closes_at
    contexts = {
        body_id: {
            "body_name": name,
            "objection_opens_at": _iso(round_.objection_opens_at),
            "objection_closes_at": _iso(closes),
            "objection_closes_day": _day(closes, timezone) if closes is not None else None,
            "paths": {"verification": f"/pengisian/{submission_id}/sanggahan"},
        }
        for submission_id, body_id, name in session.execute(
            select(Submission.id, Submission.body_id, PublicBody.name)
            .join(PublicBody, PublicBody.id == Submission.body_id)
            .where(Submission.round_id == round_.id, Submission.status == "submitted")
            .order_by(Submission.id)
        )
    }
    return _send(
        session,
        round_,
        event=Event.verification_released,
        ref=f"round:{round_.id}:released",
        contexts=contexts,
    )


# --- 7. an objection answered ------------------------------------------------------------------------------


def objection_answered(session: Session, *, objection: Objection) -> int:
    """The verifier's decision on one objection, to its body. A decision is final (deciding again is
    refused), so the objection's id names the occurrence."""
    submission = session.get(Submission, objection.submission_id)
    assert submission is not None
    round_ = session.get(Round, submission.round_id)
    body = session.get(PublicBody, submission.body_id)
    assert round_ is not None
    assert body is not None
    from app.verification.common import template_of  # (it imports the rounds service, which imports this)

    template = template_of(session, submission.template_version_id)
    question = next(e.question for e in template.questions() if e.question.code == objection.question_code)
    accepted = objection.status == "accepted"
    value = display(question, objection.decided_value) if accepted else None
    context = {
        "body_name": body.name,
        "question_code": question.code,
        "question_text": question.text,
        "accepted": accepted,
        "decision": DECISION_WORDS[objection.status],
        "reason": objection.decision_reason or "",
        "decided_value": None if value is None else str(value),
        "decided_at": _iso(objection.decided_at),
        "paths": {"verification": f"/pengisian/{submission.id}/sanggahan"},
    }
    return _send(
        session,
        round_,
        event=Event.objection_answered,
        ref=f"objection:{objection.id}:decided",
        contexts={body.id: context},
    )


# --- 8. results published ----------------------------------------------------------------------------------


def results_published(session: Session, *, round_: Round, publication: Publication) -> int:
    """To every body in the publication: its final score exactly as published, its band and its rank in
    its category, and its result page; a correction (revision 2 on) says which revision it corrects and why.
    Each revision is an occurrence of its own."""
    from app.results.service import band_labels  # (it imports the rounds service, which imports this)

    labels = band_labels(session=session, round_id=round_.id)
    contexts: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(
            PublishedResult.body_id,
            PublicBody.name,
            BodyCategory.name,
            PublishedResult.participating,
            PublishedResult.final_score,
            PublishedResult.band,
            PublishedResult.rank,
            Submission.id,
        )
        .join(PublicBody, PublicBody.id == PublishedResult.body_id)
        .join(BodyCategory, BodyCategory.id == PublishedResult.category_id)
        .outerjoin(
            Submission, (Submission.round_id == round_.id) & (Submission.body_id == PublishedResult.body_id)
        )
        .where(PublishedResult.publication_id == publication.id)
    )
    for body_id, name, category, participating, score, band, rank, submission_id in rows:
        contexts[body_id] = {
            "body_name": name,
            "category": category,
            "participating": participating,
            "final_score": None if score is None else str(score),
            "band": labels.get(band, band) if band else None,
            "rank": rank,
            "revision": publication.revision,
            "corrects": publication.revision - 1 if publication.revision > 1 else None,
            "reason": publication.reason,
            "published_at": _iso(publication.created_at),
            "paths": {"result": f"/pengisian/{submission_id}/hasil" if submission_id else "/"},
        }
    return _send(
        session,
        round_,
        event=Event.results_published,
        ref=f"publication:{publication.id}",
        contexts=contexts,
    )
