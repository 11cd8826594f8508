"""The kinds of job there are, each named once: what it is called, who may ask for it and read it, and the
function that does the work. Each domain registers its own kinds (``app/exports/jobs.py``...);
``registry()`` imports them all."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import policy
from app.accounts.principal import Principal
from app.db.base import utcnow
from app.db.models import Job, Round
from app.db.session import read_only
from app.errors import Conflict, Forbidden
from app.settings import Settings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Modules that register job kinds when imported.
KIND_MODULES = (
    "app.exports.jobs",
    "app.letters.jobs",
    "app.bodies.jobs",
    "app.results.jobs",
    "app.verification.sweeps",
    "app.mail.delivery",
    "app.webhooks.delivery",
)


class JobCancelled(Exception):
    """Raised inside a running job when someone cancelled it: the work stops at the next progress report."""


@dataclass(frozen=True)
class JobOutcome:
    """What a job produced: the name to offer its file under (the file is the run's ``target``), and/or a
    small JSON summary (a link sweep's counts, an import's report); or that it waits for its parts."""

    file_name: str | None = None
    media_type: str | None = None
    result: dict[str, Any] | None = None
    # The job queued parts and waits for them (app/jobs/parts.py): it stays running, and is run again to
    # finish once its last part is done.
    waiting: bool = False


@dataclass
class JobRun:
    """What a job's function gets: its parameters, who asked (with their rights as they are now), sessions
    on the long-work engine, where to write its file, and a way to report progress."""

    job_id: int
    kind: str
    params: dict[str, Any]
    round_id: int | None
    commission_id: int | None
    principal: Principal
    settings: Settings
    sessions: sessionmaker[Session]
    target: Path
    report: Callable[[int, int | None], None]

    @property
    def progress_inside_transactions(self) -> bool:
        """Whether ``progress`` may be called while the work holds a writing transaction open (``sessions``,
        not ``reading()``). Not on SQLite: a writing transaction there holds the one write lock (BEGIN
        IMMEDIATE), so a report written beside it would wait for the work's own commit."""
        bind = self.sessions.kw.get("bind")
        return bind is None or bind.dialect.name != "sqlite"

    def reading(self) -> sessionmaker[Session]:
        """Sessions for the job's long reads: no write lock held on SQLite while it works."""
        return read_only(self.sessions)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record ``done`` of ``total`` units of work. Cheap to call often (it writes at most about once a
        second); raises ``JobCancelled`` when the job was cancelled meanwhile."""
        self.report(done, total)


def ensure_still_admin(principal: Principal, commission_id: int) -> None:
    """For a job that writes or shows what only a commission's administrators may: its requester (with their
    rights as they are now) must still be one, or the job fails saying so in Bahasa Indonesia."""
    try:
        policy.ensure_admin(principal, commission_id)
    except Forbidden as exc:
        raise Forbidden(
            f"{principal.label} is no longer an administrator of this commission; the job did nothing",
            indonesian=f"{principal.label} bukan lagi administrator Komisi Informasi ini; pekerjaan ini "
            "tidak dijalankan.",
        ) from exc


@dataclass(frozen=True)
class JobScope:
    """What a job is about: a commission, and within it a round (None for commission-wide work such as an
    import of bodies)."""

    commission_id: int
    round: Round | None = None


@dataclass(frozen=True)
class JobKind:
    name: str
    # What the pages call it (Bahasa Indonesia): "Rekapitulasi (Excel)".
    title: str
    run: Callable[[JobRun], JobOutcome]
    # Raises (Forbidden, Conflict...) when ``principal`` may not ask for this job in this scope (a round, or
    # a whole commission) with these params; may fill in defaults, e.g. the latest revision. Returns the
    # params as the job keeps them.
    prepare: Callable[[Session, Principal, JobScope, dict[str, Any]], dict[str, Any]]
    # Raises when ``principal`` may not see the job or its file.
    ensure_may_read: Callable[[Session, Principal, Job], None]
    # Offered by POST /rounds/{id}/exports (else only by its own route or the command line).
    export: bool = False
    options: tuple[str, ...] = field(default=())
    # Params that describe a job but do not make it another one (an upload's file name): left out when
    # looking for the identical job still pending.
    dedup_ignores: tuple[str, ...] = field(default=())


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def registry() -> dict[str, JobKind]:
    """Every kind of job, by name."""
    for module in KIND_MODULES:
        importlib.import_module(module)
    return _KINDS


class DutyWork(Protocol):
    """The work of a duty's job (``deliver_due``): it calls ``progress(n)`` after each item, ends early when
    ``give_way()`` says a job someone asked for is waiting, and returns its counts as a dataclass."""

    def __call__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        progress: Callable[[int], None],
        give_way: Callable[[], bool],
    ) -> DataclassInstance: ...


# How long a job someone asked for may wait for a runner before a duty's job ends its slice for it. On SQLite
# one runner does every job, and a paced mailing would hold it for a minute while an administrator waits for
# a recap; the duty is queued again, behind that job, once it is due. (With several PostgreSQL workers, a
# job is taken at once while any is free, so this only happens when all are busy.)
GIVE_WAY_AFTER = timedelta(seconds=2)


def someone_is_waiting(sessions: sessionmaker[Session], now: datetime, stalled_after: timedelta) -> bool:
    """Whether a job someone asked for (it has a commission; the duties' have none) has been queued longer
    than ``GIVE_WAY_AFTER``, or was left running by a runner that stopped (its heartbeat older than
    ``stalled_after``: it waits to be taken again, e.g. after the SQLite server was killed)."""
    with sessions() as session:
        return bool(
            session.scalar(
                select(
                    exists().where(
                        Job.commission_id.is_not(None),
                        or_(
                            and_(Job.status == "queued", Job.created_at < now - GIVE_WAY_AFTER),
                            and_(Job.status == "running", Job.heartbeat_at < now - stalled_after),
                        ),
                    )
                )
            )
        )


def duty_kind(name: str, title: str, deliver: DutyWork, *, english: str) -> JobKind:
    """Register the job of a duty of the service (delivering e-mail, webhooks): queued by the service itself
    without a commission, never asked for (409, saying ``english``/``title``), read by the system
    administrator only; its run is ``deliver`` and its result the counts it returns."""

    def prepare(session: Session, by: Principal, scope: JobScope, params: dict[str, Any]) -> dict[str, Any]:
        raise Conflict(
            f"{english} is a duty of the service itself, not asked for",
            indonesian=f"{title} dijalankan oleh layanan sendiri dan tidak dapat diminta.",
        )

    def may_read(session: Session, by: Principal, job: Job) -> None:
        policy.ensure_system_admin(by)

    def run(job: JobRun) -> JobOutcome:
        stalled_after = timedelta(seconds=job.settings.worker_stalled_after_seconds)

        def give_way() -> bool:
            return someone_is_waiting(job.sessions, utcnow(), stalled_after)

        counts = deliver(job.sessions, job.settings, progress=job.progress, give_way=give_way)
        return JobOutcome(result=asdict(counts))

    return register(JobKind(name=name, title=title, run=run, prepare=prepare, ensure_may_read=may_read))
