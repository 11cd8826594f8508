"""Firing requests at the same moment, for the tests of races (in-process and against a real server)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from tests.factories import problem

Item = TypeVar("Item")
TIMEOUT_SECONDS = 60


def all_at_once(send: Callable[[Item], httpx.Response], items: Sequence[Item]) -> list[httpx.Response]:
    """``send(item)`` for every item, each in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(items))

    def one(item: Item) -> httpx.Response:
        barrier.wait(TIMEOUT_SECONDS)
        return send(item)

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(one, item) for item in items]
        return [future.result(timeout=TIMEOUT_SECONDS) for future in futures]


def assert_one_created(responses: Sequence[httpx.Response], field: str) -> dict[str, Any]:
    """Exactly one 201; every other answer a 409 problem+json naming ``field``. Returns the created body."""
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (len(responses) - 1), [
        (r.status_code, r.text[:300]) for r in responses if r.status_code != 409
    ]
    for response in responses:
        if response.status_code == 409:
            body = problem(response)
            assert body["type"].endswith("/conflict"), body
            assert [e["field"] for e in body["errors"]] == [field], body
    created: dict[str, Any] = next(r for r in responses if r.status_code == 201).json()
    return created
