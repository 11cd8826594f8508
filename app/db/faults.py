"""Database faults as users see them: a 503 with ``Retry-After`` instead of a 500, and one log line per
incident instead of a traceback per request.

An *incident* is a run of failures of one kind (the database unreachable, statements or locks timing out,
every pooled connection busy). Its first failure is logged with the reason; the rest are only counted. It
ends at the first commit that succeeds at least ``QUIET_SECONDS`` after its last failure, which is logged
with how long it lasted and how many requests were refused. Nothing needs restarting: a connection found
dead is invalidated by SQLAlchemy (with the rest of the pool), and the next request connects afresh.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import ServiceUnavailable

log = logging.getLogger("emonev.database")

# What a request can meet when the database is not there, too slow or too busy.
DATABASE_FAULTS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
)
QUIET_SECONDS = 5.0
# PostgreSQL: query_canceled (statement_timeout), lock_not_available (lock_timeout), deadlock_detected,
# serialization_failure. Each is worth retrying as it is.
TIMEOUT_STATES = frozenset({"57014", "55P03", "40P01", "40001"})


class Kind(Enum):
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    POOL_EXHAUSTED = "pool exhausted"


ANSWERS: dict[Kind, ServiceUnavailable] = {
    Kind.UNREACHABLE: ServiceUnavailable(
        "The database cannot be reached; the service is unavailable for a moment. Try again later.",
        retry_after=30,
        indonesian="Basis data layanan tidak dapat dihubungi. Silakan coba lagi beberapa saat lagi.",
    ),
    Kind.TIMEOUT: ServiceUnavailable(
        "The database did not answer in time (it is busy or the data is locked by other work). "
        "Try again shortly; nothing was changed.",
        retry_after=5,
        indonesian="Basis data sedang sibuk dan tidak menjawab tepat waktu. Tidak ada yang diubah; "
        "silakan coba lagi sebentar lagi.",
    ),
    Kind.POOL_EXHAUSTED: ServiceUnavailable(
        "Every database connection of the service is busy. Try again shortly; nothing was changed.",
        retry_after=5,
        indonesian="Layanan sedang menangani terlalu banyak permintaan. Tidak ada yang diubah; silakan "
        "coba lagi sebentar lagi.",
    ),
}


# PostgreSQL classes that say the server cannot serve now: connection exceptions, insufficient resources
# (too many connections, disk full), operator intervention (shutdown, crash recovery, cannot connect now).
UNREACHABLE_STATE_PREFIXES = ("08", "53", "57P")
SQLITE_BUSY = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
SQLITE_UNREACHABLE_PREFIXES = (
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
)


def kind_of(exc: BaseException) -> Kind | None:
    """The kind of fault ``exc`` is, or None when it is no fault of the database but a bug (a syntax error,
    a missing table or column): that is a 500 with its traceback, never a 503 that clients would retry."""
    if isinstance(exc, PoolTimeout):
        return Kind.POOL_EXHAUSTED
    if isinstance(exc, DisconnectionError):
        return Kind.UNREACHABLE
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return Kind.UNREACHABLE
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in TIMEOUT_STATES:
        return Kind.TIMEOUT
    if sqlstate is not None:
        return Kind.UNREACHABLE if sqlstate.startswith(UNREACHABLE_STATE_PREFIXES) else None
    sqlite_name = getattr(exc.orig, "sqlite_errorname", None)
    if sqlite_name is not None:
        if sqlite_name in SQLITE_BUSY:  # busy_timeout ran out
            return Kind.TIMEOUT
        return Kind.UNREACHABLE if sqlite_name.startswith(SQLITE_UNREACHABLE_PREFIXES) else None
    # psycopg gives no SQLSTATE to what never reached the server: refused or broken connections.
    return Kind.UNREACHABLE


@dataclass
class Incident:
    started: float
    last: float
    refused: int


class Incidents:
    """The open incidents of this process, by kind (thread-safe: failures come from worker threads)."""

    def __init__(self) -> None:
        self._open: dict[Kind, Incident] = {}
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> ServiceUnavailable | None:
        """Count ``exc`` in its incident (logging the start of a new one); the answer for the user, or None
        when ``exc`` is a bug rather than a fault of the database (see :func:`kind_of`)."""
        kind = kind_of(exc)
        if kind is None:
            return None
        now = time.monotonic()
        with self._lock:
            incident = self._open.get(kind)
            if incident is None:
                self._open[kind] = Incident(started=now, last=now, refused=1)
            else:
                incident.last = now
                incident.refused += 1
        if incident is None:
            log.error("database %s: %s; answering 503 until it recovers", kind.value, _reason(exc))
        return ANSWERS[kind]

    def succeeded(self) -> None:
        """A transaction committed: end the incidents that have been quiet long enough."""
        if not self._open:
            return
        now = time.monotonic()
        with self._lock:
            ended = [(k, i) for k, i in self._open.items() if now - i.last >= QUIET_SECONDS]
            for kind, _ in ended:
                del self._open[kind]
        for kind, incident in ended:
            log.warning(
                "database %s is over: %.1f s, %d request(s) answered 503",
                kind.value,
                now - incident.started,
                incident.refused,
            )


INCIDENTS = Incidents()


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}"


def _committed(_connection: Any) -> None:
    INCIDENTS.succeeded()


def watch(engine: Engine) -> None:
    """End incidents when this engine's transactions commit again."""
    event.listen(engine, "commit", _committed)
