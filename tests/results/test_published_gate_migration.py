"""The migration that makes publications freeze the gate fills in what publications made before it hold: the
round's rules, and per body the gate's decision and the stages it missed, derived from the stage weights
against the published stage scores. It gives what publishing gives now, and not a cent changes."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select

from app.db.models import Publication, PublishedResult
from tests.factories import World
from tests.results.gated import gated_season
from tests.test_migrations import config_on

pytestmark = pytest.mark.db

FROZEN = (
    PublishedResult.body_id,
    PublishedResult.self_score,
    PublishedResult.verified_score,
    PublishedResult.stage_scores,
    PublishedResult.final_score,
    PublishedResult.band,
    PublishedResult.rank,
    PublishedResult.passed_gate,
    PublishedResult.gate_rank,
    PublishedResult.missing_stages,
)
RULES = (
    Publication.stage_weights,
    Publication.gate_min_score,
    Publication.gate_top_n,
    Publication.missing_stage_policy,
    Publication.stage_titles,
)


def snapshot(connection: Connection) -> tuple[list[Any], list[Any]]:
    rows = connection.execute(select(*FROZEN).order_by(PublishedResult.body_id)).all()
    rules = connection.execute(select(*RULES)).all()
    return [tuple(r) for r in rows], [tuple(r) for r in rules]


def test_existing_publications_get_the_gate_they_were_published_with(
    client: TestClient, connection: Connection, world: World
) -> None:
    gated_season(world)
    world.round.gate_top_n = 3
    world.session.flush()
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": "pleno"}, headers=world.token(world.admin)
    )
    assert response.status_code == 201, response.text
    published = snapshot(connection)
    assert {row[7] for row in published[0]} == {True, False, None}

    config = config_on(connection)
    command.downgrade(config, "0005-1")
    command.upgrade(config, "0005")

    assert snapshot(connection) == published
    command.upgrade(config, "head")
