"""What writing the season's notices costs inside the event's transaction, for a round of many bodies.

Seeds a round of N bodies (each with its PPID address and one operator account: 2 notices a body) and a
publication of their results, then times, each in its own transaction, the notices of the round opening
(``season.round_opened``) and of the publication (``season.results_published``): the recipients' lookup
(``body_recipients``, 1,000 bodies a query), the subject lines and the inserts (500 rows a statement).

    .venv/bin/python bench/season_notices.py --url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/season_notices.py --url sqlite:////tmp/season-notices.db
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.migrate import upgrade  # noqa: E402
from app.db.models import (  # noqa: E402
    Account,
    BodyCategory,
    Commission,
    Invitation,
    Notice,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    RoundTemplate,
)
from app.mail import season  # noqa: E402
from app.questionnaires.service import import_template  # noqa: E402
from bench.harness import fresh_database  # noqa: E402

TEMPLATE = ROOT / "questionnaires" / "kip-2025" / "kelurahan.yaml"


def seed(url: str, n: int) -> tuple[int, int]:
    """The round's id and its publication's id."""
    upgrade(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        commission = Commission(code="ki-bench", name="KI Bench", timezone="Asia/Makassar")
        session.add(commission)
        session.flush()
        category = BodyCategory(commission_id=commission.id, code="kelurahan", name="Kelurahan")
        session.add(category)
        session.flush()
        version = import_template(
            session=session, text=TEMPLATE.read_text(encoding="utf-8"), source_name=str(TEMPLATE)
        ).version
        round_ = Round(
            commission_id=commission.id,
            year=2025,
            title="Monev Bench 2025",
            status="open",
            saq_opens_at=now - timedelta(days=1),
            saq_closes_at=now + timedelta(days=30),
        )
        session.add(round_)
        session.flush()
        session.add(
            RoundTemplate(round_id=round_.id, category_id=category.id, template_version_id=version.id)
        )
        session.execute(
            insert(PublicBody),
            [
                {
                    "commission_id": commission.id,
                    "category_id": category.id,
                    "name": f"Kelurahan Bench {i:05d}",
                    "ppid_email": f"ppid{i}@bench.go.id",
                    "active": True,
                }
                for i in range(n)
            ],
        )
        bodies = list(session.scalars(select(PublicBody.id).order_by(PublicBody.id)))
        session.execute(insert(Invitation), [{"round_id": round_.id, "body_id": b} for b in bodies])
        session.execute(
            insert(Account),
            [
                {
                    "email": f"operator{b}@bench.go.id",
                    "name": f"Operator {b}",
                    "password_hash": "x",
                    "role": "operator",
                    "commission_id": commission.id,
                    "body_id": b,
                    "active": True,
                }
                for b in bodies
            ],
        )
        publication = Publication(
            round_id=round_.id, revision=1, reason="bench", stage_weights={"saq": "100"}
        )
        session.add(publication)
        session.flush()
        session.execute(
            insert(PublishedResult),
            [
                {
                    "publication_id": publication.id,
                    "body_id": b,
                    "category_id": category.id,
                    "participating": True,
                    "final_score": f"{60 + (i % 4000) / 100:.2f}",
                    "band": "cukup-informatif",
                    "rank": i + 1,
                }
                for i, b in enumerate(bodies)
            ],
        )
        session.commit()
        ids = (round_.id, publication.id)
    engine.dispose()
    return ids


def timed(url: str, label: str, write: object) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        started = time.perf_counter()
        written = write(session)  # type: ignore[operator]
        session.flush()
        elapsed = time.perf_counter() - started
        assert session.scalar(select(func.count()).select_from(Notice)) == written
        session.rollback()
    engine.dispose()
    print(f"{label}: {written} notices in {elapsed:.2f} s ({written / elapsed:.0f} notices/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", required=True, help="a PostgreSQL server's URL (a fresh database is made) or sqlite:////path"
    )
    parser.add_argument("--bodies", type=int, default=10_000)
    args = parser.parse_args()
    if args.url.startswith("sqlite"):
        Path(args.url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        url = args.url
    else:
        url = fresh_database(args.url, "emonev_bench_season_notices")
    round_id, publication_id = seed(url, args.bodies)
    print(f"{platform.python_version()} {url.split(':')[0]}, {args.bodies} bodies, 2 addresses each")

    def opened(session: Session) -> int:
        round_ = session.get(Round, round_id)
        assert round_ is not None
        return season.round_opened(session, round_=round_)

    def published(session: Session) -> int:
        round_ = session.get(Round, round_id)
        publication = session.get(Publication, publication_id)
        assert round_ is not None
        assert publication is not None
        return season.results_published(session, round_=round_, publication=publication)

    timed(url, "round opened", opened)
    timed(url, "results published", published)


if __name__ == "__main__":
    main()
