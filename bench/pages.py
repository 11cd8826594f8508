"""Benchmark: how fast each main web page answers on the demo data, against a real uvicorn server.

    .venv/bin/python bench/pages.py                      # 50 requests per page
    .venv/bin/python bench/pages.py --requests 200

What it does:
1. migrates a fresh SQLite file (``emonev db upgrade``) and seeds it with ``tests.web.seed``: the demo data
   (KI DKI demo, 11 bodies, the open round Monev KIP 2025 on the bundled 2025 templates, one account per
   role) plus a draft and a submitted SAQ in that round and a past round Monev KIP 2024, verified and
   then published here through its page;
2. starts ``emonev serve`` (uvicorn, one worker) on a free loopback port;
3. logs in through the login form as the PPID of Kelurahan Gambir, the verifier and the commission
   administrator, and requests each page ``--requests`` times one after another (after 3 warm-up
   requests), timing each full response on the client;
4. prints p50, p95 and max per page as a Markdown table.

The autosave row POSTs a one-answer change with the page's version each time (the version moves on).
Target: every page under 200 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.models import PublicBody, Round, Submission  # noqa: E402
from bench.harness import free_port, wait_until_healthy  # noqa: E402

PASSWORD = "demo-emonev-2025"
OPERATOR = "ppid.kelurahan-gambir@demo.emonev.id"
VERIFIER = "verifikator@demo.emonev.id"
ADMIN = "admin.dki@demo.emonev.id"
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def log_in(base: str, email: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    page = client.get("/login")
    token = CSRF.search(page.text)
    assert token, "no CSRF token on the login page"
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 200, f"login failed for {email}"
    assert "Keluar" in response.text, f"login failed for {email}"
    csrf = CSRF.search(response.text)
    assert csrf
    return client, csrf.group(1)


def time_it(request: Callable[[], httpx.Response], count: int) -> list[float]:
    for _ in range(3):
        request().raise_for_status()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = request()
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="emonev-bench-pages-"))
    db = workdir / "pages.sqlite3"
    env = os.environ | {
        "EMONEV_DATABASE_URL": f"sqlite:///{db}",
        "EMONEV_EVIDENCE_DIR": str(workdir / "evidence"),
        "EMONEV_ENVIRONMENT": "development",
        "EMONEV_DEMO_DATA": "false",
    }
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "-m", "tests.web.seed"], env=env, cwd=ROOT, check=True, capture_output=True
    )

    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        rounds = {r.title: r.id for r in session.scalars(select(Round))}
        bodies = {b.name: b.id for b in session.scalars(select(PublicBody))}
        subs = {(s.round_id, s.body_id): s.id for s in session.scalars(select(Submission))}
    engine.dispose()
    open_round, past_round = rounds["Monev KIP 2025"], rounds["Monev KIP 2024"]
    draft = subs[(open_round, bodies["Kelurahan Gambir"])]
    submitted = subs[(open_round, bodies["Kelurahan Cikini"])]
    past_gambir = subs[(past_round, bodies["Kelurahan Gambir"])]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    try:
        wait_until_healthy(server, port, seconds=60)
        admin, admin_csrf = log_in(base, ADMIN)
        published = admin.post(
            f"/ronde/{past_round}/publikasi",
            data={"csrf_token": admin_csrf, "reason": "Keputusan pleno (bench)"},
        )
        assert "Diumumkan" in published.text, "publication failed"
        operator, operator_csrf = log_in(base, OPERATOR)
        verifier, _ = log_in(base, VERIFIER)
        anonymous = httpx.Client(base_url=base, timeout=30)

        version = {
            "n": int(re.search(r'data-version="(\d+)"', operator.get(f"/pengisian/{draft}").text).group(1))
        }
        notes = iter(range(10**9))

        def autosave() -> httpx.Response:
            response = operator.post(
                f"/web/pengisian/{draft}/jawaban",
                json={"version": version["n"], "answers": {"1.1.1": {"note": f"catatan {next(notes)}"}}},
                headers={"X-CSRF-Token": operator_csrf},
            )
            if response.status_code == 200:
                version["n"] = response.json()["version"]
            return response

        pages: list[tuple[str, Callable[[], httpx.Response]]] = [
            ("GET /login (anonymous)", lambda: anonymous.get("/login")),
            ("GET / (PPID: rounds, deadline, countdown)", lambda: operator.get("/")),
            ("GET /pengisian/{id} (SAQ form, 78 questions)", lambda: operator.get(f"/pengisian/{draft}")),
            ("POST /web/pengisian/{id}/jawaban (autosave + live score)", autosave),
            (
                "GET /pengisian/{id}/kirim (submit checklist)",
                lambda: operator.get(f"/pengisian/{draft}/kirim"),
            ),
            (
                "GET /pengisian/{id}/hasil (published result)",
                lambda: operator.get(f"/pengisian/{past_gambir}/hasil"),
            ),
            ("GET / (verifier: assigned bodies)", lambda: verifier.get("/")),
            ("GET /verifikasi/{id} (side by side)", lambda: verifier.get(f"/verifikasi/{submitted}")),
            ("GET /sanggahan (objections)", lambda: verifier.get("/sanggahan")),
            ("GET / (commission: rounds)", lambda: admin.get("/")),
            ("GET /ronde/{id} (round set-up)", lambda: admin.get(f"/ronde/{past_round}")),
            ("GET /ronde/{id}/partisipasi", lambda: admin.get(f"/ronde/{past_round}/partisipasi")),
            (
                "GET /ronde/{id}/peringkat (ranking + SVG chart)",
                lambda: admin.get(f"/ronde/{past_round}/peringkat"),
            ),
            ("GET /ronde/{id}/publikasi (live results)", lambda: admin.get(f"/ronde/{past_round}/publikasi")),
        ]
        print(
            f"# {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite, "
            "1 uvicorn worker"
        )
        print(f"{args.requests} requests per page, one at a time\n")
        print("| page | p50 ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|")
        for name, request in pages:
            timings = sorted(time_it(request, args.requests))
            p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
            print(f"| {name} | {statistics.median(timings):.1f} | {p95:.1f} | {timings[-1]:.1f} |")
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


if __name__ == "__main__":
    main()
