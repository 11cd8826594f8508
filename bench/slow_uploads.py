"""Benchmark: ordinary requests while many clients upload evidence slowly, against uvicorn on PostgreSQL.

    .venv/bin/python bench/slow_uploads.py                      # 45 slow uploads, 20 clients, 20 s
    .venv/bin/python bench/slow_uploads.py --uploads 45 --clients 20 --seconds 20 --rate 1024

What it does:
1. drops and recreates the database ``emonev_bench_slow`` on the local PostgreSQL, migrates it and seeds the
   demo data (``app.demo``: the open round ``Monev KIP 2025``, the operator of Kelurahan Gambir with a draft);
2. starts ``uvicorn app.main:create_app --factory`` (one worker, the default pool: 30 connections plus 10
   overflow) on 127.0.0.1;
3. **bare**: ``--clients`` clients (httpx, asyncio, keep-alive) make ordinary requests one after another for
   ``--seconds`` / 2 (alternately ``GET /api/v1/submissions/{id}`` and ``GET /api/v1/auth/me``, both
   authenticated, both reading the database) with nothing else going on;
4. **slow uploads**: ``--uploads`` clients each open an evidence upload (``POST .../answers/{code}/files``,
   a 24 KB PDF, each to its own question) over a raw socket and send it at ``--rate`` bytes per second,
   while the same ordinary clients run for ``--seconds``; then every upload is finished at full speed;
5. reports the ordinary requests' p50, p95, p99 and failures in both phases, the ratio of the p95s (slow
   uploads over bare), and how the uploads were answered.

Target (issue 14): with 45 uploads at 1 KB/s and 20 ordinary clients, the ordinary requests' p95 stays under
300 ms and none fails. Before bodies were read ahead of the request, the 45 uploads held the pool's 40
connections and every ordinary request waited 30 s for one, then failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.base import utcnow  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.session import get_engine  # noqa: E402
from app.demo import seed_demo  # noqa: E402
from app.demo.world import DEMO_PASSWORD, operator_email  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.harness import free_port, fresh_database, percentile, start_server, stop_server  # noqa: E402

ADMIN_URL = os.environ.get(
    "EMONEV_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BOUNDARY = "batas-bench"
FILE_BYTES = 24 * 1024
REQUEST_TIMEOUT = (
    40.0  # longer than the pool's 30 s wait, so a starved request shows as a failure, not a hang
)


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, why: str) -> None:
        self.failures[why] = self.failures.get(why, 0) + 1

    def line(self, name: str) -> str:
        ms = [v * 1000 for v in self.latencies]
        return (
            f"{name:14} n={len(ms):5}  p50={percentile(ms, 50):7.1f} ms  p95={percentile(ms, 95):7.1f} ms  "
            f"p99={percentile(ms, 99):7.1f} ms  max={max(ms, default=float('nan')):7.1f} ms  "
            f"failures={sum(self.failures.values())} {self.failures or ''}"
        )


def seed(url: str, evidence_dir: Path) -> None:
    upgrade(url)
    settings = Settings(database_url=url, evidence_dir=evidence_dir, demo_data=True)
    with Session(get_engine(url)) as session:
        seed_demo(session=session, settings=settings, now=utcnow())
        session.commit()
    get_engine(url).dispose()


def multipart(index: int) -> bytes:
    pdf = f"%PDF-1.4\n% bukti lambat {index}\n".encode()
    pdf += b"%" + b"x" * (FILE_BYTES - len(pdf) - 1)
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bukti-{index}.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def ordinary_client(
    base: str, headers: dict[str, str], paths: list[str], until: float, phase: Phase
) -> None:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        i = 0
        while time.monotonic() < until:
            path = paths[i % len(paths)]
            i += 1
            started = time.monotonic()
            try:
                response = await client.get(path)
            except httpx.HTTPError as exc:
                phase.fail(type(exc).__name__)
                continue
            if response.status_code != 200:
                phase.fail(str(response.status_code))
                continue
            phase.latencies.append(time.monotonic() - started)


async def slow_upload(port: int, path: str, token: str, body: bytes, rate: int, until: float) -> str:
    """Send the upload at ``rate`` bytes a second until ``until``, then the rest at once; its answer."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        return f"connect: {type(exc).__name__}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    step = max(1, rate // 8)
    sent = 0
    try:
        writer.write(head.encode())
        while time.monotonic() < until and sent < len(body) - step:
            writer.write(body[sent : sent + step])
            sent += step
            await writer.drain()
            await asyncio.sleep(step / rate)
        writer.write(body[sent:])
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout=REQUEST_TIMEOUT)
        return line.decode().split(" ", 2)[1] if line else "closed"
    except (TimeoutError, OSError) as exc:
        return type(exc).__name__
    finally:
        writer.close()


async def run(base: str, port: int, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": operator_email("Kelurahan Gambir"), "password": DEMO_PASSWORD},
        )
        login.raise_for_status()
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        round_id = (await client.get("/api/v1/rounds", headers=headers)).json()["items"][0]["id"]
        sub_id = (await client.post(f"/api/v1/rounds/{round_id}/submissions", headers=headers)).json()["id"]
        answers = (await client.get(f"/api/v1/submissions/{sub_id}", headers=headers)).json()["answers"]
    codes = [code for code, answer in sorted(answers.items()) if not answer["files"]]
    if len(codes) < args.uploads:
        raise SystemExit(f"only {len(codes)} questions without files for {args.uploads} uploads")
    paths = [f"/api/v1/submissions/{sub_id}", "/api/v1/auth/me"]

    bare = Phase()
    until = time.monotonic() + args.seconds / 2
    await asyncio.gather(*(ordinary_client(base, headers, paths, until, bare) for _ in range(args.clients)))

    loaded = Phase()
    until = time.monotonic() + args.seconds
    uploads = [
        slow_upload(
            port,
            f"/api/v1/submissions/{sub_id}/answers/{codes[i]}/files",
            token,
            multipart(i),
            args.rate,
            until,
        )
        for i in range(args.uploads)
    ]
    upload_task = asyncio.gather(*uploads)
    await asyncio.sleep(1.0)  # every upload under way before the ordinary requests are measured
    await asyncio.gather(*(ordinary_client(base, headers, paths, until, loaded) for _ in range(args.clients)))
    answered = await upload_task

    print(bare.line("bare"))
    print(loaded.line("slow uploads"))
    ratio = percentile(loaded.latencies, 95) / percentile(bare.latencies, 95)
    print(f"p95 ratio (slow uploads / bare): {ratio:.2f}")
    counts: dict[str, int] = {}
    for status in answered:
        counts[status] = counts.get(status, 0) + 1
    print(f"uploads answered: {counts}")
    verdict = "PASS" if percentile(loaded.latencies, 95) < 300 and not loaded.failures else "FAIL"
    print(f"target p95 < 300 ms and no failure under slow uploads: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=45)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=1024, help="bytes per second each upload sends")
    args = parser.parse_args()
    print(
        f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()}"
    )
    url = fresh_database(ADMIN_URL, "emonev_bench_slow")
    with tempfile.TemporaryDirectory(prefix="emonev-bench-") as tmp:
        evidence = Path(tmp) / "evidence"
        seed(url, evidence)
        port = free_port()
        server = start_server(url, port, env={"EMONEV_EVIDENCE_DIR": str(evidence)})
        try:
            asyncio.run(run(f"http://127.0.0.1:{port}", port, args))
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
