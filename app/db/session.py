"""Engine and session factory. The request owns the transaction: commit on success, roll back on error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.json_text import json_text, json_value


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily and never for SAVEPOINT, so releasing the first savepoint would
    # commit everything: take transaction control from the driver and BEGIN ourselves (SQLAlchemy's recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads, then writes after another
    # writer committed fails at once with "database is locked" (busy_timeout cannot help it), which would turn
    # two operators saving at the same moment into a 500 instead of one waiting for the other.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


@lru_cache(maxsize=8)
def get_engine(url: str, *, pool_size: int = 30, max_overflow: int = 10) -> Engine:
    if url.startswith("sqlite"):
        return create_sqlite_engine(url)
    # The JIT costs tens of milliseconds per query on our small, indexed queries and never pays back here.
    # No pool_pre_ping: it costs a round trip (and app CPU) on every checkout, i.e. on every request. Pooled
    # connections are instead replaced after an hour (pool_recycle, well under any server or proxy idle
    # timeout), and a connection found dead mid-request is invalidated by SQLAlchemy (disconnect detection
    # drops the whole pool), so that request fails once with a 500 and the next ones get fresh connections.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=3600,
        connect_args={"options": "-c jit=off"},
        json_serializer=json_text,
        json_deserializer=json_value,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
    finally:
        session.close()  # rolls back whatever was not committed and returns the connection to the pool


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
