"""A CSV holding the NUL character is refused naming its line, and nothing is written (it was a 500 on
PostgreSQL, which cannot store U+0000; a UTF-16 file without a byte-order mark reads that way)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import PublicBody
from tests.factories import World, problem


def test_a_csv_with_a_nul_character_is_422_naming_the_line(
    client: TestClient, world: World, session: Session
) -> None:
    before = session.scalar(select(func.count()).select_from(PublicBody))
    response = client.post(
        f"/api/v1/commissions/{world.commission.id}/bodies/import?dry_run=false",
        content=b"name,category\nKelurahan Kebon Kacang,kelurahan\nKelurahan\x00Gambir,kelurahan\n",
        headers=world.token(world.admin) | {"Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [{"field": "file", "message": "NUL character (U+0000) on line 3"}]
    assert session.scalar(select(func.count()).select_from(PublicBody)) == before
