"""Demo data for a first look: a whole season at once.

``emonev serve`` (and so ``make run``) calls :func:`seed_on_startup`: on an empty database, or one holding
only the demo commission, it creates whatever of the demo data is missing (running it again adds nothing)
and returns the logins to print:

- the world (``world.py``): the commission "Komisi Informasi Provinsi DKI Jakarta (demo)", kecamatan,
  kelurahan and dinas bodies of Jakarta Pusat, the open round "Monev KIP 2025" on the bundled templates, and
  an account per role and body;
- what people did (``season.py``, through the domain services): in the open round a submitted SAQ and a
  draft; the past rounds "Monev KIP 2023" and "Monev KIP 2024" answered, verified, scored at the presentation
  and published, so rankings, the band chart, recaps, result pages and year-over-year history are there;
- the banner (``banner.py``): the logins per role with what each can try first.

``EMONEV_DEMO_DATA=false`` turns it off; it never runs in production.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Commission
from app.demo.banner import DemoLogin, DemoReport, describe, format_logins
from app.demo.season import PAST_SEASONS, open_round_activity, past_season
from app.demo.world import COMMISSION_CODE, DEMO_PASSWORD, MAIL_DOMAIN, seed_world
from app.settings import Settings

__all__ = [
    "COMMISSION_CODE",
    "DEMO_PASSWORD",
    "MAIL_DOMAIN",
    "DemoDataRefused",
    "DemoLogin",
    "DemoReport",
    "format_logins",
    "seed_demo",
    "seed_on_startup",
]


class DemoDataRefused(Exception):
    """Demo data was asked for where it must never be: a production deployment."""


def seed_demo(*, session: Session, settings: Settings, now: datetime) -> DemoReport:
    """Create whatever of the demo data is missing and return the demo logins. Idempotent; flushes only."""
    if settings.environment == "production":
        raise DemoDataRefused("demo data is never seeded in production (EMONEV_ENVIRONMENT=production)")
    world = seed_world(session=session, settings=settings, now=now)
    open_round_activity(session, world, now)
    for season in PAST_SEASONS:
        past_season(session, world, season)
    session.flush()
    return describe(session, world)


def seed_on_startup(*, session: Session, settings: Settings, now: datetime) -> DemoReport | None:
    """Seed the demo data if it is wanted and the database holds no commission but (maybe) the demo one."""
    if not settings.demo_data:
        return None
    others = session.scalar(select(Commission.id).where(Commission.code != COMMISSION_CODE).limit(1))
    if others is not None:
        return None
    return seed_demo(session=session, settings=settings, now=now)
