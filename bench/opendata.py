"""Benchmark: the open-data files of a published revision of 10,000 bodies, on PostgreSQL, over loopback.

    .venv/bin/python bench/opendata.py                   # 10,000 bodies, 10 downloads per file
    .venv/bin/python bench/opendata.py --bodies 10000 --downloads 20

What it does:
1. seeds the database ``emonev_bench_opendata`` as ``bench/ranking.py`` does (one category of N bodies, a
   published round with two revisions of N rows each; 90 % took part);
2. in process, for each file of revision 2: the time to write it and the peak of Python memory while
   writing (``tracemalloc``, a separate run), against the simplest equivalent, every row loaded in a list
   first and then written;
3. starts ``uvicorn app.main:create_app --factory`` (one worker), downloads each file ``--downloads``
   times, then a conditional GET with the ETag (304) and, for comparison, the same rows through the
   public ranking API (a full walk with ``limit=500``).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.models import Publication  # noqa: E402
from app.opendata import service  # noqa: E402
from app.results.service import iter_published_results  # noqa: E402
from bench.harness import free_port, fresh_database, percentile, start_server, stop_server  # noqa: E402
from bench.ranking import seed  # noqa: E402

DB_NAME = "emonev_bench_opendata"


def measure(work: Callable[[], object], *, memory: bool) -> tuple[float, int]:
    """Seconds taken, or with ``memory`` the peak of Python allocations in bytes (tracemalloc)."""
    if memory:
        tracemalloc.start()
        work()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return 0.0, peak
    started = time.perf_counter()
    work()
    return time.perf_counter() - started, 0


def in_process(url: str, round_id: int) -> None:
    engine = create_engine(url)
    folder = Path(tempfile.mkdtemp(prefix="emonev-bench-"))
    with Session(engine) as session:
        for name in service.FILES:
            path = folder / name

            def streamed(name: str = name, path: Path = path) -> object:
                found = service.download(
                    session=session,
                    commission_code="ki-bench",
                    round_id=round_id,
                    revision=2,
                    name=name,
                    pemisah=None,
                    base_url="http://127.0.0.1/",
                )
                return found.write(path)

            streamed()  # warm-up: the template parse, the query plans
            seconds, _ = measure(streamed, memory=False)
            _, peak = measure(streamed, memory=True)
            print(
                f"{name:18s} write {seconds * 1000:7.1f} ms  peak {peak / 2**20:6.1f} MiB  "
                f"size {path.stat().st_size / 2**20:5.2f} MiB"
            )

        def all_at_once() -> object:
            publication = session.scalars(
                select(Publication).where(Publication.round_id == round_id, Publication.revision == 2)
            ).one()
            release = service.find_release(
                session=session, commission_code="ki-bench", round_id=round_id, revision=2
            )
            rows = list(iter_published_results(session=session, publication=publication))
            with (folder / "semua.csv").open("w", encoding="utf-8-sig", newline="") as file:
                service.write_results_csv(file, release, rows)
            return rows

        seconds, _ = measure(all_at_once, memory=False)
        _, peak = measure(all_at_once, memory=True)
        print(f"{'hasil.csv, list':18s} write {seconds * 1000:7.1f} ms  peak {peak / 2**20:6.1f} MiB")
    engine.dispose()


def over_http(url: str, round_id: int, downloads: int) -> None:
    port = free_port()
    env = {"EMONEV_ENVIRONMENT": "test", "EMONEV_PUBLIC_RATE_LIMIT": "1000000/minute"}
    server = start_server(url, port, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            for name in service.FILES:
                address = f"{base}/data/ki-bench/{round_id}/revisi-2/{name}"
                client.get(address).raise_for_status()
                samples = []
                for _ in range(downloads):
                    started = time.perf_counter()
                    response = client.get(address)
                    samples.append(time.perf_counter() - started)
                    response.raise_for_status()
                print(f"GET {name:18s} {summary(samples)}")
            address = f"{base}/data/ki-bench/{round_id}/revisi-2/hasil.csv"
            etag = client.get(address).headers["etag"]
            samples = []
            for _ in range(downloads * 5):
                started = time.perf_counter()
                response = client.get(address, headers={"If-None-Match": etag})
                samples.append(time.perf_counter() - started)
                assert response.status_code == 304
            print(f"GET hasil.csv, 304      {summary(samples)}")
            walks = []
            for _ in range(max(2, downloads // 5)):
                started = time.perf_counter()
                cursor = ""
                seen = 0
                while True:
                    page = client.get(
                        f"{base}/api/v1/public/rounds/{round_id}/rankings?category=kelurahan&revision=2"
                        f"&limit=500{cursor}"
                    ).json()
                    seen += len(page["items"])
                    if page["next_cursor"] is None:
                        break
                    cursor = f"&cursor={page['next_cursor']}"
                walks.append(time.perf_counter() - started)
            print(f"API walk, limit 500     {summary(walks)}  ({seen} bodies)")
            rows = list(csv.reader(client.get(address).content.decode("utf-8-sig").splitlines()))
            print(f"hasil.csv rows: {len(rows) - 1}")
    finally:
        stop_server(server)


def summary(samples: list[float]) -> str:
    return (
        f"n={len(samples):3d}  p50 {percentile(samples, 50) * 1000:7.1f} ms  "
        f"p95 {percentile(samples, 95) * 1000:7.1f} ms  mean {statistics.fmean(samples) * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--downloads", type=int, default=10)
    args = parser.parse_args()
    url = fresh_database(args.admin_url, DB_NAME)
    started = time.perf_counter()
    round_id, _token = seed(url, args.bodies)
    print(f"seeded {args.bodies} bodies, 2 revisions, in {time.perf_counter() - started:.1f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    in_process(url, round_id)
    over_http(url, round_id, args.downloads)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
