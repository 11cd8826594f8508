"""Saves of answers take turns: at most ``EMONEV_SAVE_CONCURRENCY`` run at once in a process, the rest wait
first come, first served.

A save is mostly CPU (validating and scoring a full SAQ) with a few short database round trips. Run all at
once in the thread pool, fifty saves fight over the GIL and PostgreSQL: each costs more CPU and the unlucky
ones wait far longer than the rest. Two at a time keep the CPU busy while one waits on the database, and the
queue keeps the wait fair (bench/README.md, "Saving answers": about 25 % more saves per second and a p95 a
quarter lower at 50 clients).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio
from anyio import CapacityLimiter
from fastapi import FastAPI, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


def install(app: FastAPI, concurrency: int) -> None:
    app.state.save_queue = CapacityLimiter(concurrency)


async def run_save(request: Request, save: Callable[[], T], *, session: Session | None = None) -> T:
    """Run ``save`` in a worker thread when its turn in the process's queue comes.

    A save must not wait holding a database connection: the read-only transaction of whatever ran before it
    in ``session`` (the pages' session and CSRF checks) is ended first. On SQLite it would hold the write lock
    (every transaction begins IMMEDIATE) and stall the saves ahead of it; on PostgreSQL a long queue would
    drain the connection pool. (The API's save opens its session inside ``save``: it holds nothing.)
    """
    if session is not None and session.in_transaction():
        await run_in_threadpool(session.rollback)
    limiter: CapacityLimiter = request.app.state.save_queue
    async with limiter:
        # asyncio's own executor hands over for less CPU than anyio's thread pool; shielded, so a cancelled
        # request keeps its turn until its save has finished (never more saves at once than the setting).
        with anyio.CancelScope(shield=True):
            done = asyncio.get_running_loop().run_in_executor(None, save)
            result = await done
    return result
