"""Engine and session factory. The request owns the transaction: commit on success, roll back on error."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


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
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return create_sqlite_engine(url)
    # The JIT costs tens of milliseconds per query on our small, indexed queries and never pays back here.
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args={"options": "-c jit=off"}
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a 200 always means the write is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
