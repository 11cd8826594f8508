"""Deadline reminders (notice 4): written by a periodic duty, checked once more just before sending.

Each invited body that has not submitted gets a reminder ``settings.reminder_days`` days before its own
deadline (the round's close or the latest extension covering it), at ``settings.reminder_hour`` in the
commission's time zone: a reminder *slot*. The duty writes, for each body, the latest slot that has come
and not been served yet, so a service that was down at 08:00 sends that one reminder when it is back (only
the latest, never one after the deadline). A slot counts as served by any reminder written on or after its
local date; each reminder's ``ref`` is ``reminder:<round>:<body>:<local date of writing>``, so the outbox's
key makes a second reminder on the same local day impossible, whichever worker writes it.

Where the body stands, as the message says it:
- ``belum mendaftar``: no active PPID operator account and no SAQ begun (the participation recap's
  "belum terdaftar", ``app/results/service.py``); the reminder goes to the PPID's official address only;
- ``belum mulai``: registered, and no SAQ begun or nothing answered yet;
- ``draf: 54 dari 78 pertanyaan terjawab, 3 data dukung wajib belum ada``: counted by the checklist's rule
  (``open_items``) over the applicable questions.

Just before sending, ``still_wanted`` cancels a reminder whose body has submitted meanwhile, whose window
closed, or whose deadline changed since it was written (an extension: the next slot brings the new date).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

import scoring
from app.commissions.timezones import as_utc, format_words, local
from app.db.base import utcnow
from app.db.models import (
    Answer,
    Commission,
    DeadlineExtension,
    EvidenceFile,
    Invitation,
    Notice,
    Round,
    Submission,
    TemplateVersion,
)
from app.mail.delivery import WANTED_CHECKS
from app.mail.outbox import Event, Letter, body_recipients, notify_each
from app.rounds.service import FILLING_AFTER_CLOSE, BodyDeadline, body_deadlines, window_for
from app.settings import Settings
from app.submissions.service import open_items, parsed_version, scoring_answers

log = logging.getLogger("emonev.mail")

NOT_REGISTERED, NOT_STARTED, DRAFT = "not_registered", "not_started", "draft"
# PostgreSQL advisory lock (class, round id): one worker at a time writes a round's reminders; the others
# skip it for this run (the outbox's key would refuse their duplicates anyway).
LOCK_CLASS = 0x454D52  # "EMR"


def reminder_ref(round_id: int, body_id: int, day: date) -> str:
    return f"reminder:{round_id}:{body_id}:{day.isoformat()}"


def slots(deadline: datetime, *, days: Sequence[int], hour: int, timezone: str) -> list[datetime]:
    """The instants (UTC) a body with this deadline is reminded: ``days`` days before the deadline's local
    date at ``hour`` local time, those before the deadline itself, earliest first."""
    deadline = as_utc(deadline)
    zone = ZoneInfo(timezone)
    last_day = local(deadline, timezone).date()
    found = {as_utc(datetime.combine(last_day - timedelta(days=d), time(hour), tzinfo=zone)) for d in days}
    return sorted(at for at in found if at < deadline)


def due_slot(
    deadline: datetime, *, now: datetime, opens_at: datetime, settings: Settings, timezone: str
) -> datetime | None:
    """The latest slot that has come by ``now`` (none once the deadline has passed, none before the window
    opened)."""
    if now >= as_utc(deadline):
        return None
    came = [
        at
        for at in slots(deadline, days=settings.reminder_days, hour=settings.reminder_hour, timezone=timezone)
        if as_utc(opens_at) <= at <= now
    ]
    return came[-1] if came else None


def days_words(days_left: int) -> str:
    return "hari ini" if days_left <= 0 else f"{days_left} hari lagi"


@dataclass(frozen=True)
class Progress:
    """A draft's answers counted by the checklist's rule."""

    answered: int
    total: int
    evidence_missing: int

    def words(self) -> str:
        said = f"draf: {self.answered} dari {self.total} pertanyaan terjawab"
        if self.evidence_missing:
            said += f", {self.evidence_missing} data dukung wajib belum ada"
        return said


def draft_progress(session: Session, round_id: int, submission_ids: Sequence[int]) -> dict[int, Progress]:
    """The progress of the round's drafts among ``submission_ids``, in three queries whatever their number
    (the round's drafts' answers and files are read by a join, not by lists of ids: a statement with
    thousands of parameters costs more to build and parse than the rows cost to read); the templates are
    parsed once per process."""
    wanted = set(submission_ids)
    if not wanted:
        return {}
    drafts = (Submission.round_id == round_id, Submission.status == "draft")
    versions = {
        submission_id: (version_id, content_hash)
        for submission_id, version_id, content_hash in session.execute(
            select(Submission.id, TemplateVersion.id, TemplateVersion.content_hash)
            .join(TemplateVersion, TemplateVersion.id == Submission.template_version_id)
            .where(*drafts)
        )
        if submission_id in wanted
    }
    stored: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for submission_id, code, value, links, note in session.execute(
        select(Answer.submission_id, Answer.question_code, Answer.value, Answer.evidence_links, Answer.note)
        .join(Submission, Submission.id == Answer.submission_id)
        .where(*drafts)
    ):
        if submission_id in versions:
            stored[submission_id][code] = {"value": value, "evidence": list(links or []), "note": note}
    files: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for submission_id, code, file_id in session.execute(
        select(EvidenceFile.submission_id, EvidenceFile.question_code, EvidenceFile.id)
        .join(Submission, Submission.id == EvidenceFile.submission_id)
        .where(*drafts, EvidenceFile.removed_at.is_(None))
    ):
        if submission_id in versions:
            files[submission_id][code].append(file_id)
    found: dict[int, Progress] = {}
    for submission_id, (version_id, content_hash) in versions.items():
        template = parsed_version(session, version_id, content_hash)
        raw = stored.get(submission_id, {})
        card = scoring.score(template, scoring_answers(template, raw, files.get(submission_id, {})))
        unanswered, missing = open_items(card, raw)
        total = sum(1 for q in card.questions if q.status is not scoring.QuestionStatus.NOT_APPLICABLE)
        found[submission_id] = Progress(
            answered=total - len(unanswered), total=total, evidence_missing=len(missing)
        )
    return found


@dataclass
class RunCounts:
    rounds_looked_at: int = 0
    rounds_worked: int = 0
    bodies_due: int = 0
    written: int = 0
    skipped_locked: int = 0


@dataclass
class Memo:
    """What a process already knows needs nothing (a round whose due slots were all served): the duty
    then costs two small queries a run (the rounds being filled in, their extensions) until a new slot
    comes, a deadline moves or bodies are invited."""

    done: dict[int, tuple[Any, ...]] = field(default_factory=dict)


_PROCESS_MEMO = Memo()

_CANDIDATES = (
    select(
        Round.id,
        Round.status,
        Round.saq_opens_at,
        Round.saq_closes_at,
        Round.saq_closed_at,
        Commission.timezone,
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.round_id == Round.id)
        .correlate(Round)
        .scalar_subquery()
        .label("invited"),
    )
    .join(Commission, Commission.id == Round.commission_id)
    .where(Round.status.in_(("open", *FILLING_AFTER_CLOSE)))
)


def write_reminders(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, *, memo: Memo | None = None
) -> RunCounts:
    """The periodic duty: write the reminders that are due at ``now`` for every round still being filled
    in. Returns what it did."""
    now = as_utc(now)
    counts = RunCounts()
    if not settings.reminder_days:
        return counts
    with sessions() as session:
        rounds = session.execute(_CANDIDATES).all()
        extensions: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        if rounds:
            for round_id, extension_id, closes_at in session.execute(
                select(DeadlineExtension.round_id, DeadlineExtension.id, DeadlineExtension.closes_at).where(
                    DeadlineExtension.round_id.in_([r.id for r in rounds])
                )
            ):
                extensions[round_id].append((extension_id, as_utc(closes_at)))
    for row in rounds:
        counts.rounds_looked_at += 1
        own = _round_close_of(row)
        # Every deadline a body of the round can have: the round's own close while it is open, and each
        # extension's end.
        deadlines = {closes for _, closes in extensions[row.id]}
        if row.status == "open":
            deadlines.add(own)
        due = {
            (d, s)
            for d in deadlines
            if (
                s := due_slot(
                    d, now=now, opens_at=as_utc(row.saq_opens_at), settings=settings, timezone=row.timezone
                )
            )
            is not None
        }
        if not due:
            continue
        fingerprint = (
            frozenset(due),
            row.status,
            row.invited,
            tuple(sorted(e for e, _ in extensions[row.id])),
        )
        if memo is not None and memo.done.get(row.id) == fingerprint:
            continue
        outcome = _write_round(sessions, settings, row.id, now)
        if outcome is None:
            counts.skipped_locked += 1
            continue
        counts.rounds_worked += 1
        counts.bodies_due += outcome[0]
        counts.written += outcome[1]
        if memo is not None:
            memo.done[row.id] = fingerprint
    return counts


def _round_close_of(row: Any) -> datetime:
    closes: datetime = as_utc(row.saq_closes_at)
    return closes if row.saq_closed_at is None else min(closes, as_utc(row.saq_closed_at))


def _locked(session: Session, round_id: int) -> bool:
    """Take the round's advisory lock for this transaction (PostgreSQL); False when another worker holds
    it. SQLite has one writer at a time already."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.scalar(text("SELECT pg_try_advisory_xact_lock(:k, :r)"), {"k": LOCK_CLASS, "r": round_id})
    )


def _last_written(session: Session, round_id: int) -> dict[int, str]:
    """Each body's latest reminder in the round: the local date (ISO) its ref carries."""
    rows = session.execute(
        select(Notice.body_id, func.max(Notice.ref))
        .where(Notice.round_id == round_id, Notice.event == Event.deadline_reminder.value)
        .group_by(Notice.body_id)
    ).all()
    return {body_id: ref.rpartition(":")[2] for body_id, ref in rows if body_id is not None}


def _deadline_of(round_status: str, body: BodyDeadline) -> datetime | None:
    """Until when the body fills in (``Window.open_until``): its deadline while the round is open, else
    only a running extension's end."""
    return body.closes_at if round_status == "open" else body.extended_until


def _write_round(
    sessions: sessionmaker[Session], settings: Settings, round_id: int, now: datetime
) -> tuple[int, int] | None:
    """Write one round's due reminders in one transaction; (bodies due, notices written), or None when
    another worker is at it."""
    with sessions.begin() as session:
        if not _locked(session, round_id):
            return None
        round_ = session.get(Round, round_id)
        if round_ is None or round_.status not in ("open", *FILLING_AFTER_CLOSE):
            return (0, 0)
        commission = session.get(Commission, round_.commission_id)
        assert commission is not None
        timezone = commission.timezone
        today = local(now, timezone).date()
        last = _last_written(session, round_id)
        due: list[tuple[BodyDeadline, datetime]] = []
        for body in body_deadlines(session=session, round_=round_):
            if body.submission_status == "submitted":
                continue
            deadline = _deadline_of(round_.status, body)
            if deadline is None:
                continue
            slot = due_slot(
                deadline, now=now, opens_at=round_.saq_opens_at, settings=settings, timezone=timezone
            )
            if slot is None:
                continue
            served = last.get(body.body_id)
            if served is not None and served >= local(slot, timezone).date().isoformat():
                continue
            due.append((body, deadline))
        if not due:
            return (0, 0)
        recipients = body_recipients(session, [b.body_id for b, _ in due])
        progress = draft_progress(
            session,
            round_id,
            [
                b.submission_id
                for b, _ in due
                if b.submission_id is not None and b.submission_status == "draft"
            ],
        )
        letters: dict[str, list[Letter]] = {}
        for body, deadline in due:
            to = recipients.get(body.body_id)
            if not to:
                continue
            context = _context(
                round_=round_,
                body=body,
                deadline=deadline,
                today=today,
                timezone=timezone,
                registered=any(r.account_id is not None for r in to),
                progress=progress.get(body.submission_id) if body.submission_id is not None else None,
            )
            letters[reminder_ref(round_id, body.body_id, today)] = [Letter(r, context) for r in to]
        written = notify_each(
            session,
            event=Event.deadline_reminder,
            letters_by_ref=letters,
            commission_id=commission.id,
            commission_name=commission.name,
            round_id=round_id,
        )
    if written:
        log.info("round %s: %s deadline reminders written for %s bodies", round_id, written, len(due))
    return (len(due), written)


def _context(
    *,
    round_: Round,
    body: BodyDeadline,
    deadline: datetime,
    today: date,
    timezone: str,
    registered: bool,
    progress: Progress | None,
) -> dict[str, Any]:
    if progress is not None and progress.answered > 0:
        standing, words = DRAFT, progress.words()
        path = f"/pengisian/{body.submission_id}"
    elif body.submission_id is None and not registered:
        standing, words, path = NOT_REGISTERED, "belum mendaftar", "/"
    else:
        standing, words, path = NOT_STARTED, "belum mulai", "/"
    days_left = (local(deadline, timezone).date() - today).days
    return {
        "greeting": f"PPID {body.name}",
        "round_title": round_.title,
        "body_name": body.name,
        "deadline": deadline.isoformat(),
        "deadline_day": format_words(deadline, timezone, with_time=False),
        "days_left": days_left,
        "days_words": days_words(days_left),
        "extended": body.extended_until is not None and body.extended_until == deadline,
        "standing": standing,
        "standing_words": words,
        "paths": {"saq": path},
    }


# --- at sending time ---------------------------------------------------------------------------------------


def still_wanted(session: Session, notice: Notice) -> str | None:
    """Why a reminder about to be sent is no longer wanted (English, kept with the cancelled notice), or
    None: the body has submitted, its window closed, or its deadline is not the one the reminder names."""
    if notice.round_id is None or notice.body_id is None:
        return None
    status = session.scalar(
        select(Submission.status).where(
            Submission.round_id == notice.round_id, Submission.body_id == notice.body_id
        )
    )
    if status == "submitted":
        return "the body has submitted its SAQ since the reminder was written"
    window = window_for(session=session, round_id=notice.round_id, body_id=notice.body_id)
    now = utcnow()
    if not window.is_open(now):
        return "the body's SAQ window is no longer open"
    named = (notice.context or {}).get("deadline")
    if named and datetime.fromisoformat(named) != window.open_until():
        return "the body's deadline changed since the reminder was written"
    return None


def run_duty(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    """The periodic duty as ``app.jobs.worker.PERIODIC`` runs it (with this process's memo)."""
    counts = write_reminders(sessions, settings, now, memo=_PROCESS_MEMO)
    if counts.skipped_locked:
        log.info("%s rounds' reminders were being written by another worker", counts.skipped_locked)


WANTED_CHECKS[Event.deadline_reminder] = still_wanted
