"""Where jobs run.

- PostgreSQL: ``emonev worker`` runs procrastinate's worker on the service's own database (LISTEN/NOTIFY to
  hear of new jobs at once, ``FOR UPDATE SKIP LOCKED`` so each job goes to one worker, heartbeats); any number
  of them on any number of machines share the queue. Each worker also hands on the jobs of workers that fell
  silent (killed, their machine gone) and, when it loses the database, waits and starts again (backoff).
- SQLite (one machine): ``emonev serve`` runs jobs in a thread of its own process (``LocalJobThread``),
  through the same ``run_job``.

Both also run the periodic duties (``PERIODIC``), e.g. removing expired job files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Job
from app.db.pruning import delete_in_batches
from app.db.session import engine_for_long_work, make_sessionmaker
from app.jobs import files, parts, queue
from app.jobs.runner import run_job
from app.jobs.service import ENDED, QUEUED, RUNNING
from app.mail.delivery import queue_due_delivery, settle_interrupted
from app.mail.reminders import run_duty as _write_deadline_reminders
from app.settings import Settings
from app.verification.sweeps import queue_nightly_sweeps
from app.webhooks import delivery as webhooks

if TYPE_CHECKING:
    from procrastinate.worker import Worker

log = logging.getLogger("emonev.jobs")

BACKOFF_MAX_SECONDS = 30.0


@dataclass(frozen=True)
class Duty:
    """A periodic duty: ``run(sessions, settings, now)`` every ``every`` (at the earliest)."""

    name: str
    every: timedelta
    run: Callable[[sessionmaker[Session], Settings, datetime], None]


def _remove_expired_files(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    with sessions.begin() as session:
        removed = files.remove_expired(session, settings.job_files_dir, now)
    if removed:
        log.info("removed %s expired job files", removed)


def _queue_nightly_sweeps(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    queued = queue_nightly_sweeps(sessions, settings, now)
    if queued:
        log.info("queued %s nightly link sweeps", queued)


def _settle_jobs_the_queue_dropped(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> None:
    settled = settle_dropped_jobs(sessions, now)
    if settled:
        log.warning("marked %s jobs failed: the queue had given up on them", settled)


# PostgreSQL: our job row and procrastinate's row count attempts apart. When procrastinate has finished with
# its row (it gave up after its retries, or someone cancelled it there) while ours still says queued or
# running, nobody will run the job again: it is failed with that reason, and its dedup key freed, instead of
# answering identical requests with a job that never moves.
_DROPPED = text(
    """
    UPDATE job SET status = 'failed', finished_at = :now, dedup_key = NULL,
        error = 'the queue gave up on it: ' || coalesce(error, 'it stopped before finishing'),
        error_indonesian = :indonesian
    WHERE status IN ('queued', 'running')
      -- a job waiting for its parts (app/jobs/parts.py) has ended its queue row on purpose
      AND (parts_total IS NULL OR parts_done >= parts_total)
      AND queue_job_id IN (
          SELECT id FROM procrastinate_jobs
          WHERE status IN ('succeeded', 'failed', 'cancelled', 'aborted') AND task_name = :task
      )
    RETURNING id, parent_id, error
    """
)


DROPPED_INDONESIAN = "Pekerjaan ini berhenti sebelum selesai dan tidak dicoba lagi. Silakan minta ulang."


def settle_dropped_jobs(sessions: sessionmaker[Session], now: datetime) -> int:
    """Fail the pending jobs whose queue row has ended (PostgreSQL); returns how many. A part failed so
    fails its parent and cancels the other parts, as a part failing in its run does."""
    with sessions.begin() as session:
        if not queue.on_postgres(session):
            return 0
        params = {"now": now, "task": queue.TASK, "indonesian": DROPPED_INDONESIAN}
        settled = session.execute(_DROPPED, params).all()
        for row in settled:
            if row.parent_id is not None:
                part = session.get(Job, row.id)
                assert part is not None
                parts.part_failed(session, part, row.error, DROPPED_INDONESIAN)
    return len(settled)


# procrastinate keeps a row (and its events) for every job it ran; ours keep what people see. Its finished
# rows go after this long, so a national deployment's queue table does not grow for ever.
QUEUE_ROWS_KEPT = timedelta(days=30)

_PRUNE_QUEUE = text(
    """
    DELETE FROM procrastinate_jobs j
    WHERE j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
      AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.at > :cutoff)
      AND NOT EXISTS (SELECT 1 FROM procrastinate_periodic_defers d WHERE d.job_id = j.id)
    """
)


def prune_queue(sessions: sessionmaker[Session], now: datetime) -> int:
    """Delete procrastinate's rows of jobs finished more than ``QUEUE_ROWS_KEPT`` ago (PostgreSQL); returns
    how many."""
    with sessions.begin() as session:
        if not queue.on_postgres(session):
            return 0
        pruned: int = session.execute(_PRUNE_QUEUE, {"cutoff": now - QUEUE_ROWS_KEPT}).rowcount  # type: ignore[attr-defined]
    return pruned


# The duties' own jobs (delivering e-mail and webhooks) are queued by the service whenever such work is due:
# a row each time, that nobody asked for and only the system administrator reads. Those ended go after the
# same time; every job someone asked for is kept with its state.
DUTY_JOBS_BATCH = 500


def prune_duty_jobs(sessions: sessionmaker[Session], now: datetime, *, batch: int = DUTY_JOBS_BATCH) -> int:
    """Delete the jobs of the service's duties (they have no commission) that ended more than
    ``QUEUE_ROWS_KEPT`` before ``now``, a batch at a time (app/db/pruning.py); returns how many."""
    ended = select(Job.id).where(
        Job.commission_id.is_(None), Job.status.in_(ENDED), Job.finished_at < now - QUEUE_ROWS_KEPT
    )
    return delete_in_batches(sessions, Job, ended, batch)


def _prune_queue(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    pruned = prune_queue(sessions, now)
    if pruned:
        log.info("removed %s finished jobs from the queue's own table", pruned)


def _prune_duty_jobs(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    pruned = prune_duty_jobs(sessions, now)
    if pruned:
        log.info("removed %s ended delivery jobs of the service's duties", pruned)


def _queue_due_mail(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    queue_due_delivery(sessions, settings, now)


def _settle_interrupted_mail(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    settled = settle_interrupted(sessions, settings, now)
    if settled:
        log.warning("%s e-mails marked uncertain: their worker stopped while sending them", settled)


def _queue_due_webhooks(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    webhooks.queue_due_delivery(sessions, settings, now)


def _prune_webhook_deliveries(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    pruned = webhooks.prune_ended(sessions, settings, now)
    if pruned:
        log.info("removed %s webhook deliveries ended over %s days ago", pruned, settings.webhook_keep_days)


PERIODIC: list[Duty] = [
    # Cheap (one indexed look): a retry whose time came, or the next slice of a long mailing, waits seconds.
    Duty("queue e-mail delivery", timedelta(seconds=10), _queue_due_mail),
    Duty("settle e-mails interrupted while sending", timedelta(minutes=1), _settle_interrupted_mail),
    # Likewise a webhook delivery whose retry is due, or whose worker stopped while posting it (the job
    # hands those back to the queue as it starts).
    Duty("queue webhook delivery", timedelta(seconds=10), _queue_due_webhooks),
    Duty("remove ended webhook deliveries", timedelta(hours=6), _prune_webhook_deliveries),
    Duty("prune the queue's finished rows", timedelta(hours=6), _prune_queue),
    Duty("remove ended duty jobs", timedelta(hours=6), _prune_duty_jobs),
    Duty("remove expired job files", timedelta(hours=1), _remove_expired_files),
    Duty("settle jobs the queue dropped", timedelta(minutes=5), _settle_jobs_the_queue_dropped),
    # Looked at every few minutes; each round's sweep is queued once a night, from 02:00 its local time.
    Duty("queue nightly link sweeps", timedelta(minutes=10), _queue_nightly_sweeps),
    # One query a run unless a reminder slot (08:00 local, N days before a deadline) has come and is not
    # served yet; then the round's reminders are written once (app/mail/reminders.py).
    Duty("write deadline reminders", timedelta(minutes=5), _write_deadline_reminders),
]


def jobs_in_server(settings: Settings) -> bool:
    """Whether ``emonev serve`` runs jobs itself: on SQLite always (there are no separate workers)."""
    if settings.database_url.startswith("sqlite"):
        return True
    return bool(settings.jobs_in_server)


def run_queued(sessions: sessionmaker[Session], settings: Settings, *, limit: int = 1000) -> int:
    """Run queued jobs one after another until none is left (or ``limit``); returns how many ran. The
    SQLite job thread uses it, and so do tests and ``emonev worker --once`` on SQLite."""
    ran = 0
    while ran < limit:
        job_id = _claim_next(sessions)
        if job_id is None:
            return ran
        ran += 1
        _run_with_backoff(job_id, sessions, settings)
    return ran


def _claim_next(sessions: sessionmaker[Session]) -> int | None:
    """The oldest queued job, taken by one thread only (the conditional UPDATE is atomic on SQLite, and
    several server processes may share the file)."""
    with sessions.begin() as session:
        candidates = session.scalars(select(Job.id).where(Job.status == QUEUED).order_by(Job.id).limit(5))
        for job_id in candidates.all():
            taken = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == QUEUED)
                .values(status=RUNNING, heartbeat_at=utcnow())
            ).rowcount  # type: ignore[attr-defined]
            if taken:
                return job_id
    return None


def _run_with_backoff(job_id: int, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Run a job, trying again after 1, 2, 4... seconds while it raises (run_job itself marks it failed
    once its attempts are used up)."""
    delay = 1.0
    for _ in range(settings.job_max_attempts + 1):
        try:
            run_job(job_id, sessions=sessions, settings=settings)
            return
        except Exception:  # run_job logged it and kept the reason with the job
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)


def requeue_stalled(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """SQLite: jobs marked running whose heartbeat stopped (the server was killed) go back to the queue."""
    cutoff = now - timedelta(seconds=settings.worker_stalled_after_seconds)
    with sessions.begin() as session:
        moved: int = session.execute(
            update(Job)
            # Not a job waiting for its parts: it runs nowhere until the last part queues it again.
            .where(
                Job.status == RUNNING,
                Job.heartbeat_at < cutoff,
                or_(Job.parts_total.is_(None), Job.parts_done >= Job.parts_total),
            )
            .values(status=QUEUED)
        ).rowcount  # type: ignore[attr-defined]
    return moved


class LocalJobThread:
    """The SQLite job runner: one daemon thread in the server process, woken when a job is queued."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session] | None = None) -> None:
        self.settings = settings
        self.sessions = sessions or make_sessionmaker(engine_for_long_work(settings))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="emonev-jobs", daemon=True)
        self.last_duty: dict[str, float] = {}

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        queue.LOCAL_WAKE.set()
        self.thread.join(timeout)

    def _duties(self) -> None:
        now = utcnow()
        requeue_stalled(self.sessions, self.settings, now)
        for duty in PERIODIC:
            last = self.last_duty.get(duty.name)
            if last is None or time.monotonic() - last >= duty.every.total_seconds():
                self.last_duty[duty.name] = time.monotonic()
                duty.run(self.sessions, self.settings, now)

    def _loop(self) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            try:
                self._duties()
                run_queued(self.sessions, self.settings)
                delay = 1.0
            except Exception:
                log.exception("the job thread could not reach the database; trying again in %.0f s", delay)
                delay = min(delay * 2, BACKOFF_MAX_SECONDS)
            queue.LOCAL_WAKE.wait(timeout=max(delay, 2.0))
            queue.LOCAL_WAKE.clear()


# --- PostgreSQL: procrastinate ------------------------------------------------------------------------------


def libpq_dsn(database_url: str) -> str:
    """The service's SQLAlchemy URL as a libpq connection string for procrastinate's psycopg pool."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def procrastinate_app(settings: Settings, sessions: sessionmaker[Session]) -> object:
    """procrastinate's App on the service's database, with the one task that runs our jobs."""
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=libpq_dsn(settings.database_url),
            min_size=1,
            max_size=settings.worker_concurrency + 2,
            # A worker that cannot get a connection in this time (the database is gone) stops, and
            # run_worker_async starts it again with backoff; psycopg's default would wait 30 s per call.
            timeout=settings.db_pool_timeout_seconds,
            kwargs={"connect_timeout": settings.db_connect_timeout_seconds},
        )
    )

    @app.task(
        name=queue.TASK,
        queue=queue.QUEUE,
        # Our run_job counts attempts itself and fails the job after the last: procrastinate only has to
        # bring it back, with backoff (2, 4, 8... s).
        retry=procrastinate.RetryStrategy(max_attempts=settings.job_max_attempts, exponential_wait=2),
    )
    def run(job_id: int) -> None:
        run_job(job_id, sessions=sessions, settings=settings)

    return app


async def _pause(done: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=seconds)


# The jobs of silent workers back to the queue, in one statement: the row lock and the conditions checked
# again under it mean that a job another worker has handed on (and maybe a live worker taken) meanwhile is
# left alone, and two workers looking at once hand each job on once (SKIP LOCKED).
_HAND_ON = """
WITH stalled AS (
    SELECT job.id, job.args->>'job_id' AS job_id FROM procrastinate_jobs job
     WHERE job.status = 'doing' AND job.queue_name = %(queue)s
       AND job.worker_id IS DISTINCT FROM %(own)s
       AND (job.worker_id IS NULL OR job.worker_id IN (
            SELECT id FROM procrastinate_workers
             WHERE last_heartbeat < now() - make_interval(secs => %(seconds)s)))
       FOR UPDATE OF job SKIP LOCKED
)
SELECT job_id, procrastinate_retry_job_v2(id, now(), NULL, NULL, NULL) FROM stalled
"""


async def _hand_on_stalled(app: object, settings: Settings, worker: Worker, done: asyncio.Event) -> None:
    """Every few seconds until ``done``: the jobs of workers whose heartbeat stopped go back on the queue.

    Not this worker's own jobs (it is alive: it runs this), and nobody's until the database has answered
    for ``stalled_after`` seconds in a row: after an outage every worker's heartbeat is old, and the live
    ones need that long to beat again before they can be told from the dead."""
    import procrastinate

    assert isinstance(app, procrastinate.App)
    stalled_after = settings.worker_stalled_after_seconds
    every = max(1.0, min(stalled_after / 2, 30.0))
    answering_since = time.monotonic()
    while not done.is_set():
        await _pause(done, every)
        try:
            if time.monotonic() - answering_since < stalled_after:
                await app.connector.execute_query_async("SELECT 1")
                continue
            handed_on = await app.connector.execute_query_all_async(
                _HAND_ON, queue=queue.QUEUE, own=worker.worker_id, seconds=float(stalled_after)
            )
            for row in handed_on:
                log.warning(
                    "job %s: its worker stopped answering; handing it to another worker", row["job_id"]
                )
        except Exception:  # (the pool may turn a cancellation into one: hence ``done``)
            answering_since = time.monotonic() + every  # from the next look that succeeds
            if not done.is_set():
                log.warning("could not look for stalled jobs (the database?); trying again later")


async def _duties_loop(sessions: sessionmaker[Session], settings: Settings, done: asyncio.Event) -> None:
    last: dict[str, float] = {}
    while not done.is_set():
        for duty in PERIODIC:
            seen = last.get(duty.name)
            if seen is None or time.monotonic() - seen >= duty.every.total_seconds():
                try:
                    await asyncio.to_thread(duty.run, sessions, settings, utcnow())
                    last[duty.name] = time.monotonic()
                except Exception:
                    log.warning("periodic duty %r failed; trying again later", duty.name)
        # Each duty keeps its own pace (``every``); this is how often they are looked at.
        await _pause(done, 5)


async def _database_answers(settings: Settings) -> None:
    """Raises at once (within the connect timeout) when the database does not answer: procrastinate's pool
    would wait 30 s before saying so."""
    import psycopg

    connection = await psycopg.AsyncConnection.connect(
        libpq_dsn(settings.database_url), connect_timeout=settings.db_connect_timeout_seconds
    )
    await connection.close()


async def run_worker_async(settings: Settings, *, once: bool = False, name: str | None = None) -> None:
    """Run a procrastinate worker until stopped (SIGINT/SIGTERM, the task cancelled, or with ``once`` the
    queue empty). When it stops by itself (it lost the database: procrastinate stops a worker whose
    heartbeat or listener fails) or cannot start, wait 1, 2, 4... up to 30 s and start it again."""
    import procrastinate
    from procrastinate.worker import Worker

    sessions = make_sessionmaker(engine_for_long_work(settings))
    stop_requested = asyncio.Event()
    running: list[Worker] = []

    def request_stop() -> None:
        stop_requested.set()
        for worker in running:
            worker.stop()  # type: ignore[no-untyped-call]

    if not once and threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, request_stop)
    delay = 1.0
    while not stop_requested.is_set():
        app = procrastinate_app(settings, sessions)
        assert isinstance(app, procrastinate.App)
        worker = Worker(
            app=app,
            queues=[queue.QUEUE],
            wait=not once,
            concurrency=settings.worker_concurrency,
            name=name or "worker",
            update_heartbeat_interval=settings.worker_heartbeat_seconds,
            # A job handed back to the queue (a stalled worker's, a retry) comes with no NOTIFY: it waits
            # for this poll, so a recovered job waits no longer than a heartbeat (at most 5 s).
            fetch_job_polling_interval=min(5.0, settings.worker_heartbeat_seconds),
            stalled_worker_timeout=settings.worker_stalled_after_seconds,
            install_signal_handlers=False,
        )
        helpers: list[asyncio.Task[None]] = []
        helpers_done = asyncio.Event()
        working_since = None
        try:
            await _database_answers(settings)
            async with app.open_async():
                running[:] = [worker]
                if not once:
                    helpers = [
                        asyncio.create_task(_hand_on_stalled(app, settings, worker, helpers_done)),
                        asyncio.create_task(_duties_loop(sessions, settings, helpers_done)),
                    ]
                working_since = time.monotonic()
                await worker.run()  # type: ignore[no-untyped-call]
            if once or stop_requested.is_set():
                return
            reason = "it stopped by itself: its database connections failed"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        finally:
            running.clear()
            helpers_done.set()
            for task in helpers:
                task.cancel()
            if helpers:
                await asyncio.wait(helpers, timeout=10)
        if working_since is not None and time.monotonic() - working_since > BACKOFF_MAX_SECONDS:
            delay = 1.0  # it had been working for a while: the backoff starts over
        log.warning("worker stopped (%s); starting again in %.0f s", reason, delay)
        await _pause(stop_requested, delay)
        delay = min(delay * 2, BACKOFF_MAX_SECONDS)


class ServerWorkerThread:
    """A procrastinate worker in a thread of the server process (PostgreSQL with EMONEV_JOBS_IN_SERVER)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, name="emonev-worker", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(run_worker_async(self.settings, name="server"))
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self.task)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(timeout)


def start_in_server(settings: Settings) -> LocalJobThread | ServerWorkerThread | None:
    """The job runner ``emonev serve`` starts in its process, if it runs jobs itself."""
    if not jobs_in_server(settings):
        return None
    runner: LocalJobThread | ServerWorkerThread
    if settings.database_url.startswith("sqlite"):
        runner = LocalJobThread(settings)
    else:
        runner = ServerWorkerThread(settings)
    runner.start()
    return runner
