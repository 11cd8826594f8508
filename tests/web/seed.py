"""Seed data for the browser tests and the pages benchmark: the demo's world and its open round (``app.demo``:
Kelurahan Cikini has submitted its SAQ, Kelurahan Gambir has a half-filled draft), and the demo's past round
``Monev KIP 2024`` carried to ``final`` but not published, so the tests can publish it. Everything is made
through the domain services (``app.demo.season``), so it is the data the service itself would hold.

Run as ``python -m tests.web.seed`` with ``EMONEV_DATABASE_URL`` pointing at a migrated database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.session import get_engine, make_sessionmaker
from app.demo.season import SEASON_2024, open_round_activity, past_season
from app.demo.world import seed_world
from app.settings import Settings, get_settings

PAST_SEASON = SEASON_2024
PAST_ROUND = PAST_SEASON.title


@dataclass(frozen=True)
class Seeded:
    open_round_id: int
    past_round_id: int


def seed(*, session: Session, settings: Settings, now: datetime) -> Seeded:
    """The demo's world and open round, and its last past round up to ``final`` (flushes only; the caller
    commits)."""
    world = seed_world(session=session, settings=settings, now=now)
    open_round_activity(session, world, now)
    past = past_season(session, world, PAST_SEASON, publish=False)
    return Seeded(open_round_id=world.open_round.id, past_round_id=past.id)


def main() -> None:
    settings = get_settings()
    with make_sessionmaker(get_engine(settings.database_url)).begin() as session:
        seeded = seed(session=session, settings=settings, now=utcnow())
    print(f"seeded: open round {seeded.open_round_id}, past round {seeded.past_round_id}")


if __name__ == "__main__":
    main()
