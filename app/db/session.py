"""Engine and session factory. The request owns the transaction: commit on success, roll back on error."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.db import faults
from app.json_text import json_text, json_value
from app.settings import Settings, SettingsDep


@dataclass(frozen=True)
class Timeouts:
    """How long one piece of database work may wait (README, "Timeouts"), in seconds."""

    connect: int = 5
    pool: float = 5
    statement: float = 15
    lock: float = 5
    sqlite_busy: float = 10

    @classmethod
    def for_requests(cls, settings: Settings) -> Timeouts:
        return cls(
            connect=settings.db_connect_timeout_seconds,
            pool=settings.db_pool_timeout_seconds,
            statement=settings.db_statement_timeout_seconds,
            lock=settings.db_lock_timeout_seconds,
            sqlite_busy=settings.db_sqlite_busy_timeout_seconds,
        )

    @classmethod
    def for_long_work(cls, settings: Settings) -> Timeouts:
        """Exports, imports and the command line: the long statement and lock timeouts."""
        return replace(
            cls.for_requests(settings),
            statement=settings.db_long_statement_timeout_seconds,
            lock=settings.db_long_lock_timeout_seconds,
        )


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _sqlite_connect(busy_ms: int) -> Callable[[Any, Any], None]:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite opens transactions lazily and never for SAVEPOINT, so releasing the first savepoint would
        # commit everything: take transaction control from the driver and BEGIN ourselves (SQLAlchemy's
        # recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    return connect


READ_ONLY = "emonev_read_only"


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads, then writes after another
    # writer committed fails at once with "database is locked" (busy_timeout cannot help it), which would turn
    # two operators saving at the same moment into a 500 instead of one waiting for the other. A session
    # that only reads (``read_only``) begins deferred: in WAL mode it then holds no write lock at all.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sqlite_engine(url: str, *, timeouts: Timeouts = Timeouts()) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect(_milliseconds(timeouts.sqlite_busy)))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def postgres_options(timeouts: Timeouts) -> str:
    """The session settings every PostgreSQL connection starts with. The JIT costs tens of milliseconds per
    query on our small, indexed queries and never pays back here."""
    return (
        f"-c jit=off -c statement_timeout={_milliseconds(timeouts.statement)} "
        f"-c lock_timeout={_milliseconds(timeouts.lock)}"
    )


# Every engine this process made, by its arguments. Kept (not an LRU cache): an engine dropped from a cache
# takes its open connections to the garbage collector, which then complains of them.
_ENGINES: dict[tuple[str, int, int, Timeouts, bool], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(
    url: str,
    *,
    pool_size: int = 30,
    max_overflow: int = 10,
    timeouts: Timeouts = Timeouts(),
    pre_ping: bool = False,
) -> Engine:
    """The process's engine for these arguments (made once, see :func:`create_app_engine`)."""
    key = (url, pool_size, max_overflow, timeouts, pre_ping)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = create_app_engine(
                url, pool_size=pool_size, max_overflow=max_overflow, timeouts=timeouts, pre_ping=pre_ping
            )
    return engine


def dispose_engines() -> None:
    """Close the connections of every engine this process made (the end of a command), so that none is left
    open for the garbage collector to find."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


def create_app_engine(
    url: str,
    *,
    pool_size: int = 30,
    max_overflow: int = 10,
    timeouts: Timeouts = Timeouts(),
    pre_ping: bool = False,
) -> Engine:
    if url.startswith("sqlite"):
        engine = create_sqlite_engine(url, timeouts=timeouts)
    else:
        # No pool_pre_ping: it costs a round trip (and app CPU) on every checkout, i.e. on every request.
        # Pooled connections are instead replaced after an hour (pool_recycle, well under any server or proxy
        # idle timeout), and a connection found dead mid-request is invalidated by SQLAlchemy (disconnect
        # detection drops the whole pool): that request answers 503 (app/db/faults.py) and the next ones get
        # fresh connections, so the service recovers by itself when the database is back.
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=timeouts.pool,
            pool_recycle=3600,
            pool_pre_ping=pre_ping,
            connect_args={"options": postgres_options(timeouts), "connect_timeout": timeouts.connect},
            json_serializer=json_text,
            json_deserializer=json_value,
        )
    faults.watch(engine)
    return engine


def engine_for_long_work(settings: Settings) -> Engine:
    """The engine of the command line and the jobs (imports, exports, migrations): the long timeouts. It
    pings a pooled connection before using it: a round trip is nothing against a job, and a worker whose
    database restarted would otherwise spend one attempt of its next job on a dead connection."""
    return get_engine(settings.database_url, timeouts=Timeouts.for_long_work(settings), pre_ping=True)


LONG_WORK = "long_work_timeouts"


def allow_long_work(session: Session, settings: Settings) -> None:
    """Let this session's transaction run an export or an import: PostgreSQL's long statement and lock
    timeouts for this transaction only (SET LOCAL, set when the transaction begins, so nothing is opened
    here)."""
    timeouts = Timeouts.for_long_work(settings)
    session.info[LONG_WORK] = timeouts
    if session.in_transaction():
        _set_local_timeouts(session.connection(), timeouts)


def _set_local_timeouts(connection: Connection, timeouts: Timeouts) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {_milliseconds(timeouts.statement)}")
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {_milliseconds(timeouts.lock)}")


@event.listens_for(Session, "after_begin")
def _long_work_begins(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    timeouts = session.info.get(LONG_WORK)
    if timeouts is not None:
        _set_local_timeouts(connection, timeouts)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def read_only(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for long work that only reads (an export running for minutes): on SQLite they take no write
    lock, so saves, progress reports and heartbeats go on meanwhile (PostgreSQL readers never block
    writers). Sessions bound to one connection (the tests') are returned as they are."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        return sessions
    return make_sessionmaker(bind.execution_options(**{READ_ONLY: True}))


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
    finally:
        session.close()  # rolls back whatever was not committed and returns the connection to the pool


def request_session(request: Request) -> Session:
    """A new session for a route that does all its database work in one thread-pool call and ends the
    session itself (``with request_session(request) as session: ...``), instead of taking ``SessionDep``: the
    busiest routes save the dependency's set-up and clean-up on every request."""
    session: Session = request.app.state.sessionmaker()
    return session


def reading_only(session: Session) -> None:
    """On PostgreSQL, run the session's next statements without a transaction (no ``BEGIN``/``COMMIT`` round
    trips): for a request that only reads, where each statement seeing the latest committed data is enough.
    Call it before the session's first statement; a request that turns out to need a transaction commits
    (which ends the autocommit connection) and carries on with a transactional one. On SQLite, and for a
    session bound to one connection (the tests'), a no-op."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    # async, with the commit (or roll-back) and close in one thread-pool call: a sync generator dependency
    # costs a thread-pool hop to enter and another to exit on every request, and opening a session does no
    # I/O (it connects on first use). The clean-up is shielded so a cancelled request still releases its
    # connection.
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_end, session, commit=False)
        raise
    if not session.in_transaction():
        # Nothing to commit (never used, or committed by the route in its own thread-pool call): closing
        # does no I/O, so it needs no thread.
        session.close()
        return
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_end, session, commit=True)


def release_connection(session: Session) -> None:
    """End the request's transaction so far (committing what it did) and give its connection back to the
    pool, before the request waits on something outside the database (the link checker's HTTP requests), so
    that the wait holds no connection (and, on SQLite, not the write lock). The session begins a new
    transaction on its next use, which the request's dependency commits or rolls back as usual."""
    session.commit()


# scope="function": commit before the response is sent, so a 200 always means the write is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def _long_work_session(session: SessionDep, settings: SettingsDep) -> Session:
    allow_long_work(session, settings)
    return session


# The session of an export or an import: the long statement and lock timeouts.
LongWorkSessionDep = Annotated[Session, Depends(_long_work_session)]
