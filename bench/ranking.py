"""Benchmark: the published ranking of one category of 10,000 bodies, on PostgreSQL, over loopback.

    .venv/bin/python bench/ranking.py                    # 10,000 bodies, 300 first pages, 5 full walks
    .venv/bin/python bench/ranking.py --bodies 10000 --requests 500 --walks 10

What it does:
1. drops and recreates the database ``emonev_bench_ranking`` on the local PostgreSQL (``--admin-url``),
   migrates it and seeds one commission, one category of N invited bodies (90 % with a PPID operator, 90 %
   submitted and verified), a published round with two revisions of N result rows each (so the latest
   revision is picked among several), synthetic scores with ties, ranks by standard competition ranking;
2. starts ``uvicorn app.main:create_app --factory`` (one worker) on 127.0.0.1;
3. one client (httpx, keep-alive) requests, one after the other:
   - the first page (limit 50; it carries the band counts and the participation) of the public endpoint
     and of the members' endpoint (bearer token), ``--requests`` times each;
   - full walks of the ranking with ``cursor`` (limit 500: 20 pages; limit 50: 200 pages), timing each
     page and each walk, and checking that every body comes exactly once and ranks never go down;
   - in process, the first page with the summary cache emptied before each call (the cost of the first
     request after a publication);
4. reports p50 / p95 / p99 latency per kind of request. Target: p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.accounts.security import digest, hash_password, new_token  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models import (  # noqa: E402
    Account,
    AuthToken,
    BodyCategory,
    Commission,
    Invitation,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    RoundTemplate,
    Submission,
    Verification,
)
from app.questionnaires.service import import_template  # noqa: E402
from app.results import service as results  # noqa: E402
from app.results.publication import absent_snapshot  # noqa: E402
from app.stages.service import competition_ranks  # noqa: E402
from bench.harness import free_port, fresh_database, percentile, start_server, stop_server  # noqa: E402

DB_NAME = "emonev_bench_ranking"
TEMPLATE = ROOT / "questionnaires" / "kip-2025" / "kelurahan.yaml"
BANDS = ((90, "informatif"), (80, "menuju-informatif"), (60, "cukup-informatif"), (40, "kurang-informatif"))


def band(score: int) -> str:
    return next((code for minimum, code in BANDS if score >= minimum * 100), "tidak-informatif")


def _results(
    publication_id: int, category_id: int, bodies: list[int], taking_part: set[int], rng: random.Random
) -> list[dict]:
    # Scores in cents drawn from a narrow range so that ties are common, as in real rankings.
    cents = {b: rng.randint(5500, 9800) // 5 * 5 for b in bodies if b in taking_part}
    ranks = competition_ranks(cents)
    ranked = sorted(cents, key=lambda b: (ranks[b], b))
    absent = [b for b in bodies if b not in taking_part]
    rows = []
    for b in ranked:
        figure = f"{cents[b] / 100:.2f}"
        rows.append(
            {
                "publication_id": publication_id,
                "body_id": b,
                "category_id": category_id,
                "participating": True,
                "self_score": figure,
                "verified_score": figure,
                "stage_scores": {"saq": figure, "presentasi": figure},
                "aspect_scores": {str(i): figure for i in range(1, 7)},
                "final_score": figure,
                "band": band(cents[b]),
                "rank": ranks[b],
            }
        )
    rows += [
        {"publication_id": publication_id} | absent_snapshot(b, category_id, ["saq", "presentasi"])
        for b in absent
    ]
    return rows


def seed(url: str, n: int) -> tuple[int, str]:
    """Returns the round id and an administrator's bearer token."""
    upgrade(url)
    engine = create_engine(url)
    rng = random.Random(20261126)
    now = datetime.now(UTC)
    with Session(engine) as session:
        commission = Commission(code="ki-bench", name="KI Bench", timezone="Asia/Jakarta")
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
            status="published",
            saq_opens_at=now - timedelta(days=90),
            saq_closes_at=now - timedelta(days=60),
            saq_weight=70,
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
                    "active": True,
                }
                for i in range(n)
            ],
        )
        bodies = list(session.scalars(text("SELECT id FROM public_body ORDER BY id")))
        session.execute(insert(Invitation), [{"round_id": round_.id, "body_id": b} for b in bodies])
        password = hash_password("bench-password-1")
        with_operator = [b for b in bodies if rng.random() < 0.9]
        session.execute(
            insert(Account),
            [
                {
                    "email": f"ppid{b}@bench.go.id",
                    "name": f"PPID {b}",
                    "password_hash": password,
                    "role": "operator",
                    "commission_id": commission.id,
                    "body_id": b,
                    "active": True,
                }
                for b in with_operator
            ],
        )
        taking_part = {b for b in bodies if rng.random() < 0.9}
        session.execute(
            insert(Submission),
            [
                {
                    "round_id": round_.id,
                    "body_id": b,
                    "template_version_id": version.id,
                    "status": "submitted",
                    "version": 2,
                    "submitted_at": now - timedelta(days=61),
                }
                for b in sorted(taking_part)
            ],
        )
        submission_ids = list(session.scalars(text("SELECT id FROM submission ORDER BY id")))
        session.execute(
            insert(Verification),
            [
                {
                    "submission_id": s,
                    "status": "completed",
                    "completed_at": now - timedelta(days=30),
                    "version": 3,
                }
                for s in submission_ids
            ],
        )
        admin = Account(
            email="admin@bench.go.id",
            name="Admin",
            password_hash=password,
            role="commission_admin",
            commission_id=commission.id,
        )
        session.add(admin)
        session.flush()
        token = new_token()
        session.add(
            AuthToken(account_id=admin.id, token_hash=digest(token), expires_at=now + timedelta(days=1))
        )
        for revision in (1, 2):
            publication = Publication(
                round_id=round_.id,
                revision=revision,
                reason="bench",
                published_by_id=admin.id,
                stage_weights={"saq": "70", "presentasi": "30"},
            )
            session.add(publication)
            session.flush()
            session.execute(
                insert(PublishedResult), _results(publication.id, category.id, bodies, taking_part, rng)
            )
        session.commit()
        round_id = round_.id
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return round_id, token


def percentiles(samples: list[float]) -> str:
    def at(p: float) -> float:
        return percentile(samples, p) * 1000

    return (
        f"n={len(samples):5d}  p50 {at(50):6.1f} ms  p95 {at(95):6.1f} ms  p99 {at(99):6.1f} ms  "
        f"mean {statistics.fmean(samples) * 1000:6.1f} ms"
    )


def timed_get(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code} {response.text[:300]}")
    return elapsed, response.json()


def walk(client: httpx.Client, url: str, limit: int, expected: int) -> tuple[float, list[float]]:
    pages: list[float] = []
    seen: set[int] = set()
    last_rank = 0
    cursor = ""
    started = time.perf_counter()
    while True:
        elapsed, body = timed_get(client, f"{url}&limit={limit}{cursor}")
        pages.append(elapsed)
        for item in body["items"]:
            if item["body_id"] in seen:
                raise SystemExit(f"body {item['body_id']} came twice")
            seen.add(item["body_id"])
            if item["rank"] is not None:
                if item["rank"] < last_rank:
                    raise SystemExit("ranks went down")
                last_rank = item["rank"]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    if len(seen) != expected:
        raise SystemExit(f"the walk saw {len(seen)} bodies, not {expected}")
    return time.perf_counter() - started, pages


def cold_summaries(url: str, round_id: int, times: int) -> list[float]:
    """The first page computed in process with the per-process summary cache emptied each time: what the
    first request after a publication (or after the cache expires) costs, HTTP excluded."""
    engine = create_engine(url)
    samples = []
    with Session(engine) as session:
        for _ in range(times):
            results._SUMMARIES.clear()
            started = time.perf_counter()
            results.rankings(
                session=session,
                round_id=round_id,
                by=None,
                category="kelurahan",
                revision=None,
                limit=50,
                cursor=None,
            )
            samples.append(time.perf_counter() - started)
            session.rollback()
    engine.dispose()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--walks", type=int, default=5)
    args = parser.parse_args()

    url = fresh_database(args.admin_url, DB_NAME)
    started = time.perf_counter()
    round_id, token = seed(url, args.bodies)
    print(f"seeded {args.bodies} bodies, 2 revisions, in {time.perf_counter() - started:.1f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    port = free_port()
    # The public endpoint is limited per client (EMONEV_PUBLIC_RATE_LIMIT): this measures latency, not limits.
    limits = {"EMONEV_ENVIRONMENT": "test", "EMONEV_PUBLIC_RATE_LIMIT": "1000000/minute"}
    server = start_server(url, port, env=limits)
    base = f"http://127.0.0.1:{port}/api/v1"
    public = f"{base}/public/rounds/{round_id}/rankings?category=kelurahan"
    members = f"{base}/rounds/{round_id}/rankings?category=kelurahan"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(20):  # warm-up: connections, caches, the template parse
                timed_get(client, public)
                timed_get(client, members, headers)
            first_public = [timed_get(client, f"{public}&limit=50")[0] for _ in range(args.requests)]
            first_members = [
                timed_get(client, f"{members}&limit=50", headers)[0] for _ in range(args.requests)
            ]
            first_500 = [
                timed_get(client, f"{public}&limit=500")[0] for _ in range(max(50, args.requests // 5))
            ]
            walks_500: list[float] = []
            pages_500: list[float] = []
            for _ in range(args.walks):
                total, pages = walk(client, public, 500, args.bodies)
                walks_500.append(total)
                pages_500 += pages
            walks_50: list[float] = []
            pages_50: list[float] = []
            for _ in range(max(1, args.walks // 2)):
                total, pages = walk(client, public, 50, args.bodies)
                walks_50.append(total)
                pages_50 += pages
    finally:
        stop_server(server)
    cold = cold_summaries(url, round_id, 50)
    print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"first page, limit 50, public        {percentiles(first_public)}")
    print(f"first page, limit 50, members       {percentiles(first_members)}")
    print(f"first page, summary not cached (in process, no HTTP) {percentiles(cold)}")
    print(f"first page, limit 500, public       {percentiles(first_500)}")
    print(f"walk pages, limit 500 (20 per walk) {percentiles(pages_500)}")
    print(f"walk pages, limit 50 (200 per walk) {percentiles(pages_50)}")
    print(
        f"full walk, limit 500: mean {statistics.fmean(walks_500) * 1000:.0f} ms over {len(walks_500)} walks"
    )
    print(f"full walk, limit 50: mean {statistics.fmean(walks_50) * 1000:.0f} ms over {len(walks_50)} walks")


if __name__ == "__main__":
    main()
