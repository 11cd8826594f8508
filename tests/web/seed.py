"""Seed data for the browser tests and the pages benchmark, made by the demo's own builders (``app.demo``)
through the domain services, so it is the data the service itself would hold:

- the demo's open round ``Monev KIP 2025``: Kelurahan Cikini has submitted its SAQ, Kelurahan Gambir has a
  half-filled draft;
- the demo's round ``Monev KIP 2024`` carried to ``final`` but not published, so the tests can publish it;
- the demo's round ``Monev KIP 2023``, published: SAQ 70 + presentation 30 behind a gate of a verified SAQ
  score of 60; Kelurahan Gambir did not pass it and Kelurahan Kebon Kacang never took part.

Run as ``python -m tests.web.seed`` with ``EMONEV_DATABASE_URL`` pointing at a migrated database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.session import get_engine, make_sessionmaker
from app.demo.season import SEASON_2023, SEASON_2024, open_round_activity, past_season
from app.demo.world import PRESENTATION, seed_world
from app.settings import Settings, get_settings

PAST_SEASON = SEASON_2024
PAST_ROUND = PAST_SEASON.title
GATED_ROUND = SEASON_2023.title
GATED_STAGE = PRESENTATION[2]
GATE_FAILED = "Kelurahan Gambir"


@dataclass(frozen=True)
class Seeded:
    open_round_id: int
    past_round_id: int
    gated_round_id: int


def seed(*, session: Session, settings: Settings, now: datetime) -> Seeded:
    """The rounds above (flushes only; the caller commits)."""
    world = seed_world(session=session, settings=settings, now=now)
    open_round_activity(session, world, now)
    past = past_season(session, world, PAST_SEASON, publish=False)
    gated = past_season(session, world, SEASON_2023)
    return Seeded(open_round_id=world.open_round.id, past_round_id=past.id, gated_round_id=gated.id)


def main() -> None:
    settings = get_settings()
    with make_sessionmaker(get_engine(settings.database_url)).begin() as session:
        seeded = seed(session=session, settings=settings, now=utcnow())
    print(f"seeded: open round {seeded.open_round_id}, past round {seeded.past_round_id}")


if __name__ == "__main__":
    main()
