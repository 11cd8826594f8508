"""Benchmark: a round's link sweep against the checker alone on the same links.

    .venv/bin/python bench/link_sweep.py                               # 200 submissions x 10 links, 20 ms
    .venv/bin/python bench/link_sweep.py --submissions 500 --links 10 --latency-ms 20

What it does:
1. drops and recreates the database ``emonev_bench_sweep`` on the local PostgreSQL and migrates it; adds a
   round with ``--submissions`` submissions of ``--links`` distinct links each (nine in ten answer 200, one in
   ten 404);
2. serves the links from a threaded web site on the loopback that waits ``--latency-ms`` before each answer
   (the checker's resolver maps the site's name to a public address and its transport connects to the
   loopback, as in the tests);
3. **checker alone**: ``LinkChecker.check_many`` over every link at once (8 in parallel), no database;
4. **sweep**: ``sweep_round`` over the round (read 200 submissions, check 64 links at a time, write each batch
   in a short transaction), every link fetched (``skip_ok_hours`` 0);
5. **sweep again, skipping recent OK links** (the default 12 hours): only the 404s are fetched.

Reports wall time and links per second of each, and the sweep's overhead over the checker alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.accounts.principal import SYSTEM  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models import LinkCheck  # noqa: E402
from app.db.session import get_engine, make_sessionmaker  # noqa: E402
from app.verification.linkcheck import LinkChecker  # noqa: E402
from app.verification.sweeps import sweep_round  # noqa: E402
from bench.harness import fresh_database  # noqa: E402
from tests.factories import (  # noqa: E402
    make_answers,
    make_body,
    make_category,
    make_commission,
    make_round,
    make_submission,
    make_template,
)

ADMIN_URL = os.environ.get(
    "EMONEV_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PUBLIC_IP = "93.184.216.34"


class Site(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    latency = 0.0


class Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        time.sleep(self.server.latency)
        status = 404 if self.path.endswith("/missing") else 200
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class ToLoopback(httpx.HTTPTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(host="127.0.0.1")
        return super().handle_request(request)


def checker() -> LinkChecker:
    return LinkChecker(timeout=10, transport=ToLoopback(retries=0), resolver=lambda host, port: [PUBLIC_IP])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--links", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()

    site = Site(("127.0.0.1", 0), Handler)
    site.latency = args.latency_ms / 1000
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://ppid.example.go.id:{site.server_address[1]}"

    url = fresh_database(ADMIN_URL, "emonev_bench_sweep")
    upgrade(url)
    engine = get_engine(url)
    sessions = make_sessionmaker(engine)
    links: list[str] = []
    with sessions.begin() as session:
        commission = make_commission(session)
        category = make_category(session, commission)
        template = make_template(session)
        round_ = make_round(session, commission, templates={category: template})
        for n in range(args.submissions):
            body = make_body(session, category)
            sub = make_submission(session, round_, body, template)
            own = [f"{base}/{n}/{k}" + ("/missing" if k % 10 == 9 else "") for k in range(args.links)]
            make_answers(session, sub, {"1.1.1": {"value": "yes", "evidence": own}})
            links += own
        round_id = round_.id

    started = time.perf_counter()
    checker().check_many(links)
    alone = time.perf_counter() - started

    started = time.perf_counter()
    counts = sweep_round(
        sessions=sessions,
        round_id=round_id,
        by=SYSTEM,
        checker=checker(),
        skip_ok_hours=0,
        progress=lambda d, t: None,
    )
    swept = time.perf_counter() - started

    started = time.perf_counter()
    again = sweep_round(
        sessions=sessions,
        round_id=round_id,
        by=SYSTEM,
        checker=checker(),
        skip_ok_hours=12,
        progress=lambda d, t: None,
    )
    skipping = time.perf_counter() - started
    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(LinkCheck))

    n = len(links)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{args.submissions} submissions x {args.links} links = {n} links, "
        f"site latency {args.latency_ms:g} ms"
    )
    print(f"checker alone: {alone:.2f} s ({n / alone:.0f} links/s)")
    print(
        f"sweep:         {swept:.2f} s ({n / swept:.0f} links/s), overhead {100 * (swept / alone - 1):+.0f} %"
    )
    print(f"  {counts.as_result()}")
    print(
        f"sweep again (skip OK within 12 h): {skipping:.2f} s, "
        f"{again.checked} fetched, {again.skipped} skipped"
    )
    print(f"link_check rows: {rows}")
    site.shutdown()
    engine.dispose()


if __name__ == "__main__":
    main()
