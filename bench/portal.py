"""Benchmark: the public portal's pages and open data on a published round of 10,000 bodies (PostgreSQL).

    .venv/bin/python bench/portal.py                 # 10,000 bodies, 200 requests per page
    .venv/bin/python bench/portal.py --bodies 10000 --requests 300

What it does:
1. seeds what bench/ranking.py seeds (one commission, one category of N invited bodies, a round published
   in two revisions) in the database ``emonev_bench_portal``, and gives every body a Kemendagri region code
   (spread over DKI Jakarta's and Jawa Barat's kabupaten/kota, down to the kelurahan);
2. starts ``uvicorn app.main:create_app --factory`` (one worker) with the public request limit lifted;
3. one client (httpx, keep-alive, in this process) asks each page ``--requests`` times, alternating with a
   bare equivalent in the same run: ``GET /healthz`` (the service's cheapest answer, no database);
4. reports p50/p95/p99 per page, and the ratio of each page's p50 to the bare answer's p50. Target: every
   page's p95 under 100 ms. Also a conditional GET (If-None-Match: 304) of the heaviest page and one download
   of the open data CSV (a file of N rows, not a page: its time and size are shown, not held to the target).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import free_port, fresh_database, percentile, start_server, stop_server  # noqa: E402
from bench.ranking import seed  # noqa: E402

DB_NAME = "emonev_bench_portal"
# Kabupaten/kota of DKI Jakarta and Jawa Barat: bodies are spread over them, with a kecamatan and kelurahan.
REGENCIES = ["31.71", "31.72", "31.73", "31.74", "31.75", "32.01", "32.04", "32.73"]


def give_regions(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for index, regency in enumerate(REGENCIES):
            conn.execute(
                text(
                    "UPDATE public_body SET region_code = :regency || '.' "
                    "|| lpad(((id / 40) % 10 + 1)::text, 2, '0') || '.' || (1000 + id % 40)::text "
                    "WHERE id % :n = :index"
                ),
                {"regency": regency, "n": len(REGENCIES), "index": index},
            )
        conn.execute(text("ANALYZE"))
    engine.dispose()


def timed(client: httpx.Client, url: str, headers: dict[str, str] | None = None, expect: int = 200) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != expect:
        raise SystemExit(f"GET {url}: {response.status_code} {response.text[:300]}")
    return elapsed


def line(name: str, samples: list[float], bare: list[float]) -> str:
    def at(values: list[float], p: float) -> float:
        return percentile(values, p) * 1000

    ratio = statistics.median(samples) / statistics.median(bare)
    return (
        f"{name:44s} p50 {at(samples, 50):6.1f} ms  p95 {at(samples, 95):6.1f} ms  "
        f"p99 {at(samples, 99):6.1f} ms  ({ratio:5.1f}x the bare p50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    url = fresh_database(args.admin_url, DB_NAME)
    started = time.perf_counter()
    round_id, _ = seed(url, args.bodies)
    give_regions(url)
    print(f"seeded {args.bodies} bodies, 2 revisions, in {time.perf_counter() - started:.1f} s")
    engine = create_engine(url)
    with engine.connect() as conn:
        body_id = conn.execute(text("SELECT min(body_id) FROM published_result")).scalar_one()
        middle = conn.execute(
            text("SELECT name FROM public_body ORDER BY id OFFSET :n LIMIT 1"), {"n": args.bodies // 2}
        ).scalar_one()
    engine.dispose()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    port = free_port()
    env = {"EMONEV_ENVIRONMENT": "test", "EMONEV_PUBLIC_RATE_LIMIT": "100000000/minute"}
    server = start_server(url, port, env=env)
    base = f"http://127.0.0.1:{port}"
    portal = f"{base}/hasil/ki-bench"
    ranking = f"{portal}/{round_id}/kelurahan"
    pages = {
        "home /": f"{base}/",
        "commission /hasil/ki-bench": portal,
        "round (chart, categories)": f"{portal}/{round_id}",
        "ranking, first page": ranking,
        "ranking, page 100": f"{ranking}?halaman=100",
        "ranking, search by name": f"{ranking}?q={middle.split()[-1]}",
        "ranking, province 32": f"{ranking}?provinsi=32",
        "ranking, kab/kota 31.71 + band": f"{ranking}?kabkota=31.71&kualifikasi=menuju-informatif",
        "body profile": f"{portal}/badan/{body_id}",
        "datapackage.json": f"{base}/data/ki-bench/{round_id}/revisi-2/datapackage.json",
    }
    samples: dict[str, list[float]] = {name: [] for name in pages}
    bare: list[float] = []
    try:
        with httpx.Client(timeout=60) as client:
            for page_url in pages.values():  # warm-up
                for _ in range(5):
                    timed(client, page_url)
            for _ in range(args.requests):
                for name, page_url in pages.items():
                    bare.append(timed(client, f"{base}/healthz"))
                    samples[name].append(timed(client, page_url))
            etag = client.get(pages["ranking, search by name"]).headers["etag"]
            not_modified = [
                timed(client, pages["ranking, search by name"], {"If-None-Match": etag}, expect=304)
                for _ in range(args.requests)
            ]
            started = time.perf_counter()
            csv = client.get(f"{base}/data/ki-bench/{round_id}/revisi-2/hasil.csv")
            csv_seconds = time.perf_counter() - started
    finally:
        stop_server(server)
    print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(line("bare GET /healthz", bare, bare))
    for name, values in samples.items():
        print(line(name, values, bare))
    print(line("ranking search, If-None-Match -> 304", not_modified, bare))
    print(
        f"open data hasil.csv: {csv.status_code}, {len(csv.content) / 1e6:.2f} MB "
        f"in {csv_seconds * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
