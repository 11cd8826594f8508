"""The bare equivalent of saving a SAQ, for bench/save_answers.py to measure the service against.

    .venv/bin/uvicorn bench.bare_save:create_app --factory --workers 2   # with BARE_DATABASE_URL set

The simplest FastAPI app that does the same visible work as ``GET /api/v1/submissions/{id}`` and
``PUT /api/v1/submissions/{id}/answers`` (same paths, so the same client drives both): the GET reads one row
and returns it as JSON with its version as the ETag; the PUT writes the request's answers into a ``jsonb``
column and moves the version on, refusing a stale ``If-Match`` with 412. An async psycopg pool per process, no
ORM, no authentication, no validation, no scoring, no audit: the floor the service is measured against.

The table ``bare_submission`` (id, version, answers) is created and filled by :func:`seed`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

TABLE = "bare_submission"


def seed(dsn: str, ids: list[int]) -> None:
    """(Re)create ``bare_submission`` with one empty row per id, at version 1 like a new submission."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(
            f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, version integer NOT NULL, answers jsonb NOT NULL)"
        )
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {TABLE} VALUES (%s, 1, '{{}}')", [(i,) for i in ids])


def stored(dsn: str, ids: list[int]) -> dict[int, tuple[int, dict[str, object]]]:
    """Each row's version and answers, to check that no write was lost or doubled."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(f"SELECT id, version, answers FROM {TABLE} WHERE id = ANY(%s)", [ids]).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def create_app() -> FastAPI:
    dsn = os.environ["BARE_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    pool = AsyncConnectionPool(dsn, min_size=10, max_size=30, open=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/submissions/{submission_id}")
    async def read(submission_id: int) -> Response:
        async with pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT version, answers::text FROM {TABLE} WHERE id = %s", (submission_id,)
            )
            row = await cur.fetchone()
        if row is None:
            return Response(status_code=404)
        version, answers = row
        body = f'{{"id":{submission_id},"version":{version},"answers":{answers}}}'
        return Response(body, media_type="application/json", headers={"ETag": f'"{version}"'})

    @app.put("/api/v1/submissions/{submission_id}/answers")
    async def save(submission_id: int, request: Request) -> Response:
        answers = json.loads(await request.body())["answers"]
        expected = int(request.headers.get("if-match", "0").strip('"'))
        async with pool.connection() as conn:
            cur = await conn.execute(
                f"UPDATE {TABLE} SET answers = %s, version = version + 1 "
                "WHERE id = %s AND version = %s RETURNING version",
                (Jsonb(answers), submission_id, expected),
            )
            row = await cur.fetchone()
        if row is None:
            return Response(status_code=412)
        body = json.dumps({"submission_id": submission_id, "version": row[0]})
        return Response(body, media_type="application/json", headers={"ETag": f'"{row[0]}"'})

    return app
