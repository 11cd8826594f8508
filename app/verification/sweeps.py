"""Round-wide link sweeps: check the evidence links of every submission of a round, as a job (asked for
through the API, or queued every night for the rounds whose evidence is being looked at) or from the
command line.

A sweep never holds a database transaction while it waits on a web site: it reads the links of a batch of
submissions in a short transaction, checks them with no connection held, and records the results (one
``LinkCheck`` row a link, as the check of one submission does) in another short transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import policy
from app.accounts.principal import Principal, Role
from app.commissions.timezones import local
from app.db.base import utcnow
from app.db.models import Commission, Job, LinkCheck, Round, Submission
from app.db.session import read_only
from app.errors import FieldProblem, InvalidInput, NotFound
from app.jobs.kinds import JobKind, JobOutcome, JobRun, JobScope, register
from app.jobs.service import request_job
from app.settings import Settings
from app.verification.linkcheck import MAX_LINKS, LinkChecker, outcome
from app.verification.links import evidence_links_of, link_check_row

KIND = "link_sweep"
# The rounds swept every night: from the SAQ window until the objections are decided, while verifiers and
# bodies still look at the evidence. Later statuses (stages, final, published) judge no evidence any more.
NIGHTLY_STATUSES = ("open", "closed", "verification", "objection")
# The hour (in the commission's own time zone) from which a round's nightly sweep is queued.
NIGHTLY_HOUR = 2
# Who asks for the nightly sweeps (what the job shows as "requested by").
NIGHTLY = Principal(role=Role.system_admin, label="jadwal malam")
# Submissions whose links are read in one short transaction, and links checked between two writes.
SUBMISSIONS_PER_READ = 200
LINKS_PER_BATCH = 64
MAX_SKIP_OK_HOURS = 24 * 30

Progress = Callable[[int, int | None], None]


@dataclass
class SweepCounts:
    """What a sweep found. ``links`` counts the distinct links of every submission (up to ``MAX_LINKS``
    each; past that ``unchecked``); ``skipped`` were checked OK within the last ``skip_ok_hours`` and not
    fetched again; ``checked`` = ok + broken + blocked + error."""

    submissions: int = 0
    links: int = 0
    checked: int = 0
    ok: int = 0
    broken: int = 0
    blocked: int = 0
    error: int = 0
    skipped: int = 0
    unchecked: int = 0
    skip_ok_hours: float = 0

    def as_result(self) -> dict[str, Any]:
        return asdict(self)


def make_checker(settings: Settings) -> LinkChecker:
    """The checker a sweep uses (the same rules as a submission's check; tests swap in one whose resolver
    and transport reach a site on the loopback)."""
    return LinkChecker(timeout=settings.link_check_timeout_seconds)


def _round_for_sweep(session: Session, round_id: int, by: Principal) -> Round:
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound(f"round {round_id} does not exist", indonesian="Putaran ini tidak ada.")
    policy.ensure_admin(by, round_.commission_id)
    return round_


def _to_check(
    session: Session, submission_ids: Sequence[int], ok_since: datetime | None, counts: SweepCounts
) -> list[tuple[int, str]]:
    """The (submission, link) pairs of these submissions to fetch now; counts links, skipped, unchecked."""
    links = evidence_links_of(session, submission_ids)
    fresh: set[tuple[int, str]] = set()
    if ok_since is not None and links:
        latest: dict[tuple[int, str], bool] = {}
        for submission_id, url, ok in session.execute(
            select(LinkCheck.submission_id, LinkCheck.url, LinkCheck.ok)
            .where(LinkCheck.submission_id.in_(list(links)), LinkCheck.checked_at >= ok_since)
            .order_by(LinkCheck.id)
        ):
            latest[(submission_id, url)] = ok
        fresh = {pair for pair, ok in latest.items() if ok}
    pairs: list[tuple[int, str]] = []
    for submission_id in submission_ids:
        urls = links.get(submission_id, [])
        counts.links += min(len(urls), MAX_LINKS)
        counts.unchecked += max(0, len(urls) - MAX_LINKS)
        for url in urls[:MAX_LINKS]:
            if (submission_id, url) in fresh:
                counts.skipped += 1
            else:
                pairs.append((submission_id, url))
    return pairs


def sweep_round(
    *,
    sessions: sessionmaker[Session],
    round_id: int,
    by: Principal,
    checker: LinkChecker,
    skip_ok_hours: float,
    progress: Progress,
) -> SweepCounts:
    """Check every evidence link of every submission of the round and record each result; the commission's
    administrators (and system administrators) only. Links whose latest check within ``skip_ok_hours`` was
    OK are not fetched again. ``progress(done, total)`` counts links to fetch.

    Two passes: the first counts the links to fetch (for the progress total), the second reads them again
    batch by batch, so memory holds one batch, not the whole round."""
    started = utcnow()
    reading = read_only(sessions)  # on SQLite the reads take no write lock
    ok_since = started - timedelta(hours=skip_ok_hours) if skip_ok_hours > 0 else None
    with reading() as session:
        _round_for_sweep(session, round_id, by)
        submission_ids = list(
            session.scalars(
                select(Submission.id).where(Submission.round_id == round_id).order_by(Submission.id)
            )
        )
    step = SUBMISSIONS_PER_READ
    chunks = [submission_ids[i : i + step] for i in range(0, len(submission_ids), step)]
    total = 0
    for chunk in chunks:
        with reading() as session:
            total += len(_to_check(session, chunk, ok_since, SweepCounts()))
    progress(0, total)
    counts = SweepCounts(submissions=len(submission_ids), skip_ok_hours=skip_ok_hours)
    for chunk in chunks:
        with reading() as session:
            pairs = _to_check(session, chunk, ok_since, counts)
        for start in range(0, len(pairs), LINKS_PER_BATCH):
            batch = pairs[start : start + LINKS_PER_BATCH]
            results = checker.check_many([url for _submission, url in batch])
            now = utcnow()
            with sessions.begin() as session:
                session.add_all(
                    link_check_row(submission_id, result, now)
                    for (submission_id, _url), result in zip(batch, results, strict=True)
                )
            found = Counter(outcome(r.ok, r.status_code, r.error) for r in results)
            counts.ok += found["ok"]
            counts.broken += found["broken"]
            counts.blocked += found["blocked"]
            counts.error += found["error"]
            counts.checked += len(results)
            # The links may have changed since they were counted: the total grows rather than be passed.
            total = max(total, counts.checked)
            progress(counts.checked, total)
    return counts


# --- The job ----------------------------------------------------------------------------------------------


def _skip_ok_hours(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SKIP_OK_HOURS:
        raise InvalidInput(
            "skip_ok_hours must be a number of hours from 0 to 720",
            errors=[
                FieldProblem(
                    "skip_ok_hours",
                    "must be a number of hours from 0 to 720",
                    "Harus berupa jumlah jam dari 0 sampai 720.",
                )
            ],
            indonesian="Jumlah jam untuk melewati tautan yang baru diperiksa tidak valid.",
        )
    return float(value)


def _prepare(session: Session, by: Principal, scope: JobScope, params: dict[str, Any]) -> dict[str, Any]:
    """The commission's administrators, on any round of it. ``skip_ok_hours`` None means the setting's
    value when the sweep runs; ``night`` marks the nightly sweep of that date."""
    policy.ensure_admin(by, scope.commission_id)
    prepared: dict[str, Any] = {"skip_ok_hours": _skip_ok_hours(params.get("skip_ok_hours"))}
    if params.get("night") is not None:
        prepared["night"] = str(params["night"])
    return prepared


def _may_read(session: Session, by: Principal, job: Job) -> None:
    """The commission's readers (administrators, panel members, read-only keys), who may read every body's
    link checks; not verifiers, whose view is limited to their assigned bodies, nor bodies."""
    assert job.commission_id is not None
    policy.ensure_commission_reader(by, job.commission_id)


def _run(run: JobRun) -> JobOutcome:
    assert run.round_id is not None
    skip = run.params.get("skip_ok_hours")
    counts = sweep_round(
        sessions=run.sessions,
        round_id=run.round_id,
        by=run.principal,
        checker=make_checker(run.settings),
        skip_ok_hours=run.settings.link_sweep_skip_ok_hours if skip is None else float(skip),
        progress=run.progress,
    )
    return JobOutcome(result=counts.as_result())


LINK_SWEEP = register(
    JobKind(
        name=KIND,
        title="Pemeriksaan tautan bukti seluruh putaran",
        run=_run,
        prepare=_prepare,
        ensure_may_read=_may_read,
    )
)


def request_sweep(
    *, session: Session, round_id: int, by: Principal, skip_ok_hours: float | None = None
) -> tuple[Job, bool]:
    """Queue a sweep of the round (or find the identical one still queued or running)."""
    return request_job(
        session=session,
        kind_name=KIND,
        round_id=round_id,
        params={"skip_ok_hours": skip_ok_hours},
        by=by,
    )


# --- Every night ------------------------------------------------------------------------------------------


def night_of(now: datetime, timezone: str) -> date | None:
    """The date whose nightly sweep is due at ``now`` in the zone (from 02:00 local until midnight), or None
    before 02:00 (the previous night's sweep is then already queued)."""
    moment = local(now, timezone)
    return moment.date() if moment.hour >= NIGHTLY_HOUR else None


def _nights_swept(session: Session, round_ids: Sequence[int], since: datetime) -> set[tuple[int, str]]:
    """(round, night) of the nightly sweeps asked for since ``since``, whatever became of them."""
    rows = session.execute(
        select(Job.round_id, Job.params).where(
            Job.kind == KIND, Job.round_id.in_(round_ids), Job.created_at >= since
        )
    )
    return {
        (round_id, params["night"]) for round_id, params in rows if round_id and (params or {}).get("night")
    }


def queue_nightly_sweeps(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """A periodic duty: queue tonight's sweep of every round in ``NIGHTLY_STATUSES`` whose commission's
    clock has passed 02:00 and that has no sweep for that date yet (queued, running or ended). Every worker
    runs it; the round's row is locked (PostgreSQL; SQLite writes one at a time) while the job table is
    checked again, so however many run it at once, each round gets one sweep a night. Returns how many it
    queued. Does nothing with ``EMONEV_LINK_SWEEP_NIGHTLY=false``."""
    if not settings.link_sweep_nightly:
        return 0
    since = now - timedelta(days=2)
    with sessions() as session:
        due = [
            (round_id, tonight.isoformat())
            for round_id, timezone in session.execute(
                select(Round.id, Commission.timezone)
                .join(Commission, Commission.id == Round.commission_id)
                .where(Round.status.in_(NIGHTLY_STATUSES))
                .order_by(Round.id)
            )
            if (tonight := night_of(now, timezone)) is not None
        ]
        swept = _nights_swept(session, [round_id for round_id, _night in due], since) if due else set()
    queued = 0
    for round_id, night in due:
        if (round_id, night) in swept:
            continue
        with sessions.begin() as session:
            round_ = session.scalar(select(Round).where(Round.id == round_id).with_for_update())
            if round_ is None or round_.status not in NIGHTLY_STATUSES:
                continue
            if (round_id, night) in _nights_swept(session, [round_id], since):
                continue
            _job, new = request_job(
                session=session,
                kind_name=KIND,
                round_id=round_id,
                params={"skip_ok_hours": None, "night": night},
                by=NIGHTLY,
            )
            queued += new
    return queued
