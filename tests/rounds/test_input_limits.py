"""Round input the database or the calendar cannot hold is a 422 naming the field, and nothing changes.

Both were 500s: a stage title longer than the stage's column (PostgreSQL refuses it; the schema allowed a
round's 300 characters), and instants near the calendar's ends, which overflow when converted to UTC or to
the commission's zone.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import DeadlineExtension, Round, Stage
from tests.factories import World, problem

API = "/api/v1"
YEARS = "Value error, must be in the years 2000 to 2100"


def test_a_stage_title_longer_than_its_column_is_422(
    client: TestClient, world: World, session: Session
) -> None:
    response = client.put(
        f"{API}/rounds/{world.round.id}/stages",
        json={
            "saq_weight": 70,
            "stages": [{"code": "presentasi", "kind": "presentation", "title": "P" * 201, "weight": 30}],
        },
        headers=world.token(world.admin),
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "stages.0.title", "message": "String should have at most 200 characters"}
    ]
    assert session.scalar(select(func.count()).select_from(Stage)) == 0


@pytest.mark.parametrize(
    "instant", ["9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"]
)
def test_an_instant_near_the_calendar_s_ends_is_422(
    client: TestClient, world: World, session: Session, instant: str
) -> None:
    admin = world.token(world.admin)
    created = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json={
            "year": 2031,
            "title": "Monev",
            "saq_opens_at": "2031-08-01T00:00:00+07:00",
            "saq_closes_at": instant,
        },
        headers=admin,
    )
    extended = client.post(
        f"{API}/rounds/{world.round.id}/extensions",
        json={"closes_at": instant, "scope": "round", "reason": "Rapat pleno"},
        headers=admin,
    )
    assert created.status_code == extended.status_code == 422
    assert problem(created)["errors"] == [{"field": "saq_closes_at", "message": YEARS}]
    assert problem(extended)["errors"] == [{"field": "closes_at", "message": YEARS}]
    assert session.scalar(select(func.count()).select_from(Round)) == 1
    assert session.scalar(select(func.count()).select_from(DeadlineExtension)) == 0
