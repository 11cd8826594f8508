"""Saves of answers take turns in a per-process queue: at most ``save_concurrency`` at once, first come first
served, and a save waits (it is not refused) while the queue is full."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio
import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.submissions import queue
from tests.factories import World
from tests.submissions.helpers import finishes_after_release, open_submission, put_answers


def _queued_app(concurrency: int, work: Callable[[int], None]) -> FastAPI:
    app = FastAPI()
    queue.install(app, concurrency)

    @app.post("/save/{n}")
    async def save(n: int, request: Request) -> dict[str, int]:
        await queue.run_save(request, lambda: work(n), session=Session())
        return {"n": n}

    return app


async def _fire(app: FastAPI, count: int, *, spacing: float = 0.0) -> list[int]:
    statuses: list[int] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def one(n: int) -> None:
            statuses.append((await client.post(f"/save/{n}")).status_code)

        async with anyio.create_task_group() as tasks:
            for n in range(count):
                tasks.start_soon(one, n)
                await anyio.sleep(spacing)
    return statuses


@pytest.mark.anyio
@pytest.mark.parametrize("concurrency", [1, 2, 3])
async def test_no_more_saves_run_at_once_than_the_setting_allows(concurrency: int) -> None:
    lock = threading.Lock()
    running, most = 0, 0

    def work(_: int) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.03)
        with lock:
            running -= 1

    statuses = await _fire(_queued_app(concurrency, work), 12)
    assert statuses == [200] * 12  # every save waited for its turn; none was refused
    assert most == concurrency


@pytest.mark.anyio
async def test_saves_run_in_the_order_they_arrived() -> None:
    started: list[int] = []

    def work(n: int) -> None:
        started.append(n)
        time.sleep(0.02)

    await _fire(_queued_app(1, work), 8, spacing=0.005)
    assert started == list(range(8))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.db
def test_an_api_save_waits_for_its_turn_in_the_queue(client: TestClient, world: World) -> None:
    headers = world.token(world.operator)
    sub = open_submission(client, world, headers)
    response = finishes_after_release(
        client, lambda: put_answers(client, sub["id"], headers, {"2.3": {"value": "a"}}, sub["version"])
    )
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == ["2.3"]
