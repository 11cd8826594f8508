"""Liveness and readiness.

``/healthz`` says the process answers (it touches nothing else): a container orchestrator restarts the
process when it does not. ``/readyz`` says the process can serve requests now: the database answers a
``SELECT 1`` within ``READY_TIMEOUT_SECONDS``, its migrations are at the head of this code's, and the evidence
directory takes a file. A load balancer sends traffic only to ready processes; a process that is not ready
(the database is down, say) is left alone to recover by itself.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app.db.session import Timeouts, postgres_options
from app.settings import Settings

router = APIRouter(tags=["meta"])

READY_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def probe_engine(settings: Settings) -> Engine:
    """An engine of its own for the readiness checks: a fresh connection each time (so a pool that is busy
    or full of dead connections does not decide the answer), with short timeouts."""
    timeouts = Timeouts(connect=2, pool=1, statement=2, lock=1, sqlite_busy=1)
    if settings.database_url.startswith("sqlite"):
        # Not the app's SQLite engine: that one begins every transaction IMMEDIATE, taking the write lock.
        return create_engine(settings.database_url, poolclass=NullPool, connect_args={"timeout": 1})
    return create_engine(
        settings.database_url,
        poolclass=NullPool,
        connect_args={"options": postgres_options(timeouts), "connect_timeout": timeouts.connect},
    )


@lru_cache(maxsize=1)
def migrations_head() -> str | None:
    from alembic.script import ScriptDirectory  # only the readiness check needs it

    from app.db.migrate import alembic_config

    head: str | None = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head


def _database_checks(sessions: sessionmaker[Session]) -> dict[str, Check]:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
            try:
                current = list(session.scalars(text("SELECT version_num FROM alembic_version")))
            except SQLAlchemyError:
                current = []  # no alembic_version table: no migration was ever applied
    except SQLAlchemyError as exc:
        # Anybody may ask (a load balancer does not log in): the kind of failure, not its addresses.
        failed = Check(ok=False, detail=f"no answer ({type(getattr(exc, 'orig', None) or exc).__name__})")
        return {"database": failed, "migrations": Check(ok=False, detail="the database did not answer")}
    head = migrations_head()
    at_head = current == [head]
    return {
        "database": Check(ok=True, detail="answers"),
        "migrations": Check(
            ok=at_head,
            detail=f"at head {head}"
            if at_head
            else f"at {', '.join(current) or 'no revision'}, head is {head}: run `emonev db upgrade`",
        ),
    }


def _evidence_check(directory: Path) -> Check:
    try:
        # Into the staging area uploads use (tmp/, on the same file system), which backups leave out: a probe
        # file never lands in an archive nor vanishes under a running backup.
        staging = directory / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=staging, prefix=".ready-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return Check(ok=False, detail=f"not writable ({exc.strerror or type(exc).__name__})")
    return Check(ok=True, detail="writable")


def _all_checks(sessions: sessionmaker[Session], evidence_dir: Path) -> dict[str, Check]:
    return _database_checks(sessions) | {"evidence_dir": _evidence_check(evidence_dir)}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers (nothing else is checked)."""
    return {"status": "ok"}


class CheckOut(BaseModel):
    ok: bool
    detail: str


class ReadinessOut(BaseModel):
    """Each check and its outcome; ``status`` is ``ready`` when all passed."""

    status: Literal["ready", "not ready"]
    checks: dict[str, CheckOut]


@router.get(
    "/readyz",
    response_model=ReadinessOut,
    responses={
        503: {"description": "A check failed: this process should get no traffic now", "model": ReadinessOut}
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers within a few seconds, its migrations are at head and the evidence
    directory is writable. 200 when all pass, else 503; the body lists each check."""
    settings: Settings = request.app.state.settings
    sessions: sessionmaker[Session] = request.app.state.readiness_sessions
    checks: dict[str, Check]
    with anyio.move_on_after(READY_TIMEOUT_SECONDS):
        checks = await anyio.to_thread.run_sync(
            _all_checks, sessions, settings.evidence_dir, abandon_on_cancel=True
        )
        return _answer(checks)
    late = Check(ok=False, detail=f"no answer within {READY_TIMEOUT_SECONDS:g} s")
    return _answer(
        {"database": late, "migrations": late, "evidence_dir": _evidence_check(settings.evidence_dir)}
    )


def _answer(checks: dict[str, Check]) -> JSONResponse:
    ready = all(c.ok for c in checks.values())
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
        },
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
