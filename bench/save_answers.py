"""Benchmark: concurrent SAQ saves against uvicorn (2 workers) on PostgreSQL, over loopback.

    .venv/bin/python bench/save_answers.py                       # 50 clients, 30 s
    .venv/bin/python bench/save_answers.py --clients 50 --seconds 60 --get-every 1

What it does:
1. drops and recreates the database ``emonev_bench`` on the local PostgreSQL, migrates it and seeds one
   commission, one open round on the bundled kelurahan template (questionnaires/kip-2025/kelurahan.yaml), one
   invited body per client with its operator, a bearer token and a draft submission;
2. starts ``uvicorn app.main:create_app --factory --workers 2`` on 127.0.0.1;
3. runs N concurrent clients (httpx, asyncio) for a bounded time and a bounded number of saves: each client
   GETs its submission for the ETag (every ``--get-every`` saves; otherwise it uses the ETag the previous
   save returned, as the web page does) and PUTs a full SAQ (every question, values drawn at random) with
   ``If-Match``;
4. reports saves per second and PUT latency (p50, p95, p99), then checks in the database that no write was
   lost or duplicated: each submission's version is 1 + its successful saves, and its stored answers equal
   the last answers its client sent.

Targets on the 2-core machine: at least 200 saves/s at 50 clients, p95 under 400 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scoring  # noqa: E402
from app.accounts.security import digest, hash_password, new_token  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models import (  # noqa: E402
    Account,
    Answer,
    AuthToken,
    BodyCategory,
    Commission,
    Invitation,
    PublicBody,
    Round,
    RoundTemplate,
    Submission,
)
from app.questionnaires.service import import_template  # noqa: E402

TEMPLATE = ROOT / "questionnaires" / "kip-2025" / "kelurahan.yaml"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- Database -------------------------------------------------------------------------------------------


def fresh_database(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


@dataclass
class Seeded:
    submission_ids: list[int]
    tokens: list[str]
    template: scoring.Template


def seed(url: str, clients: int) -> Seeded:
    upgrade(url)
    engine = create_engine(url)
    text_ = TEMPLATE.read_text(encoding="utf-8")
    template = scoring.parse_template(text_, source=str(TEMPLATE))
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        commission = Commission(code="ki-bench", name="KI Bench", timezone="Asia/Jakarta")
        session.add(commission)
        session.flush()
        category = BodyCategory(commission_id=commission.id, code="kelurahan", name="Kelurahan")
        session.add(category)
        session.flush()
        version = import_template(session=session, text=text_, source_name=str(TEMPLATE)).version
        round_ = Round(
            commission_id=commission.id,
            year=2025,
            title="Monev 2025 (bench)",
            status="open",
            saq_opens_at=now - timedelta(hours=1),
            saq_closes_at=now + timedelta(days=1),
        )
        session.add(round_)
        session.flush()
        session.add(
            RoundTemplate(round_id=round_.id, category_id=category.id, template_version_id=version.id)
        )
        password = hash_password("bench-password-1")
        tokens: list[str] = []
        submission_ids: list[int] = []
        for index in range(clients):
            body = PublicBody(
                commission_id=commission.id,
                category_id=category.id,
                name=f"Kelurahan Bench {index:03d}",
                region_code=f"31.71.01.{1001 + index}",
            )
            session.add(body)
            session.flush()
            session.add(Invitation(round_id=round_.id, body_id=body.id))
            account = Account(
                email=f"ppid{index:03d}@bench.go.id",
                name=f"PPID {index:03d}",
                role="operator",
                password_hash=password,
                commission_id=commission.id,
                body_id=body.id,
            )
            session.add(account)
            session.flush()
            token = new_token()
            session.add(
                AuthToken(
                    account_id=account.id, token_hash=digest(token), expires_at=now + timedelta(hours=6)
                )
            )
            submission = Submission(round_id=round_.id, body_id=body.id, template_version_id=version.id)
            session.add(submission)
            session.flush()
            tokens.append(token)
            submission_ids.append(submission.id)
    engine.dispose()
    return Seeded(submission_ids, tokens, template)


# --- Answers --------------------------------------------------------------------------------------------


def random_answers(template: scoring.Template, rng: random.Random) -> dict[str, Any]:
    """A full SAQ: every question answered with a value drawn at random, links where evidence is asked."""
    answers: dict[str, Any] = {}
    for entry in template.questions():
        q = entry.question
        kind = q.type.value
        if kind == "yes_no":
            value: Any = rng.choice(["yes", "no"])
        elif kind == "choice":
            value = rng.choice(q.options).value
        elif kind == "multi_choice":
            value = sorted({rng.choice(q.options).value for _ in range(rng.randint(1, len(q.options)))})
        elif kind == "number":
            value = rng.randint(0, 100)
        else:
            value = f"https://ppid-{rng.randint(1, 999)}.example.go.id"
        answer: dict[str, Any] = {"value": value}
        if q.evidence.value != "none":
            answer["evidence"] = [f"https://ppid.example.go.id/bukti/{q.code}/{rng.randint(1, 10**6)}"]
        answer["note"] = None if rng.random() < 0.7 else f"catatan {rng.randint(1, 999)}"
        answers[q.code] = answer
    return answers


# --- Load -----------------------------------------------------------------------------------------------


@dataclass
class ClientResult:
    submission_id: int
    saves: int = 0
    stale: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    put_latencies: list[float] = field(default_factory=list)
    get_latencies: list[float] = field(default_factory=list)
    last_sent: dict[str, Any] | None = None
    last_version: int | None = None
    transport_errors: int = 0


async def landed(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], version: int, answers: dict[str, Any]
) -> bool:
    for _ in range(5):
        try:
            got = await http.get(url, headers=headers)
        except httpx.TransportError:
            await asyncio.sleep(0.5)
            continue
        stored = got.json()
        sent = {code: a["value"] for code, a in answers.items()}
        return bool(
            stored["version"] == version
            and {code: a["value"] for code, a in stored["answers"].items()} == sent
        )
    raise SystemExit("the server stopped answering")


async def run_client(
    http: httpx.AsyncClient,
    base: str,
    submission_id: int,
    token: str,
    pool: list[tuple[bytes, dict[str, Any]]],
    *,
    seed_: int,
    deadline: float,
    max_saves: int,
    get_every: int,
) -> ClientResult:
    rng = random.Random(seed_)
    result = ClientResult(submission_id)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/v1/submissions/{submission_id}"
    etag: str | None = None
    attempts = 0
    while time.perf_counter() < deadline and result.saves < max_saves:
        if etag is None or attempts % get_every == 0:
            started = time.perf_counter()
            try:
                got = await http.get(url, headers=headers)
            except httpx.TransportError:
                result.transport_errors += 1
                continue
            result.get_latencies.append(time.perf_counter() - started)
            if got.status_code != 200:
                result.errors[got.status_code] = result.errors.get(got.status_code, 0) + 1
                continue
            etag = got.headers["ETag"]
        body, answers = pool[rng.randrange(len(pool))]
        attempts += 1
        started = time.perf_counter()
        try:
            put = await http.put(
                url + "/answers",
                content=body,
                headers=headers | {"If-Match": etag, "Content-Type": "application/json"},
            )
        except httpx.TransportError:
            # The outcome is unknown: read the submission back to learn whether this save landed.
            result.transport_errors += 1
            if await landed(http, url, headers, int(etag.strip('"')) + 1, answers):
                result.saves += 1
                result.last_sent = answers
            etag = None
            continue
        result.put_latencies.append(time.perf_counter() - started)
        if put.status_code == 200:
            result.saves += 1
            result.last_sent = answers
            result.last_version = put.json()["version"]
            etag = put.headers["ETag"]
        elif put.status_code == 412:
            result.stale += 1
            etag = None
        else:
            result.errors[put.status_code] = result.errors.get(put.status_code, 0) + 1
            etag = None
    return result


async def load(
    base: str, seeded: Seeded, *, seconds: float, max_saves: int, get_every: int
) -> tuple[list[ClientResult], float]:
    rng = random.Random(2026)
    pools = []
    for _ in seeded.tokens:
        variants = [random_answers(seeded.template, rng) for _ in range(8)]
        pools.append([(json.dumps({"answers": a}).encode(), a) for a in variants])
    limits = httpx.Limits(max_connections=len(seeded.tokens), max_keepalive_connections=len(seeded.tokens))
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as http:
        # Warm up: every worker parses the template and fills its connection pool before timing starts.
        await asyncio.gather(
            *(
                http.get(f"{base}/api/v1/submissions/{sid}", headers={"Authorization": f"Bearer {tok}"})
                for sid, tok in zip(seeded.submission_ids, seeded.tokens, strict=True)
            )
        )
        started = time.perf_counter()
        deadline = started + seconds
        results = await asyncio.gather(
            *(
                run_client(
                    http,
                    base,
                    sid,
                    tok,
                    pools[index],
                    seed_=index,
                    deadline=deadline,
                    max_saves=max_saves,
                    get_every=get_every,
                )
                for index, (sid, tok) in enumerate(zip(seeded.submission_ids, seeded.tokens, strict=True))
            )
        )
        elapsed = time.perf_counter() - started
    return list(results), elapsed


# --- Verification ---------------------------------------------------------------------------------------


def verify(url: str, results: list[ClientResult]) -> list[str]:
    """Every submission's version is 1 + its successful saves and its answers are the last ones sent."""
    problems = []
    engine = create_engine(url)
    with Session(engine) as session:
        for result in results:
            sub = session.get_one(Submission, result.submission_id)
            if sub.version != 1 + result.saves:
                problems.append(f"submission {sub.id}: version {sub.version}, saves {result.saves}")
            stored = {
                code: {"value": value, "evidence": links, "note": note}
                for code, value, links, note in session.execute(
                    select(Answer.question_code, Answer.value, Answer.evidence_links, Answer.note).where(
                        Answer.submission_id == sub.id
                    )
                )
            }
            if result.last_sent is not None:
                expected = {
                    code: {"value": a["value"], "evidence": a.get("evidence", []), "note": a["note"]}
                    for code, a in result.last_sent.items()
                }
                if stored != expected:
                    diff = sorted(
                        c for c in expected.keys() | stored.keys() if expected.get(c) != stored.get(c)
                    )
                    problems.append(
                        f"submission {sub.id}: stored answers differ from the last sent: {diff[:5]}"
                    )
    engine.dispose()
    return problems


# --- Server ---------------------------------------------------------------------------------------------


def start_server(url: str, port: int, workers: int, evidence_dir: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "EMONEV_DATABASE_URL": url,
        "EMONEV_DEMO_DATA": "false",
        "EMONEV_EVIDENCE_DIR": str(evidence_dir),
    }
    command = [
        str(ROOT / ".venv" / "bin" / "uvicorn"),
        "app.main:create_app",
        "--factory",
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-keep-alive",
        "120",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    for _ in range(200):
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise SystemExit("uvicorn did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def free_port() -> int:
    """A loopback port nobody listens on (another server on a fixed port would answer our health check)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the clients save")
    parser.add_argument("--max-saves", type=int, default=2000, help="per client, whatever the time")
    parser.add_argument("--get-every", type=int, default=1, help="GET the ETag before every Nth save")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="default: a free loopback port")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default="emonev_bench")
    args = parser.parse_args()

    url = fresh_database(args.admin_url, args.database)
    seeded = seed(url, args.clients)
    questions = len(seeded.template.questions())
    port = args.port or free_port()
    server = start_server(url, port, args.workers, ROOT / "var" / "bench-evidence")
    try:
        results, elapsed = asyncio.run(
            load(
                f"http://127.0.0.1:{port}",
                seeded,
                seconds=args.seconds,
                max_saves=args.max_saves,
                get_every=args.get_every,
            )
        )
    finally:
        stop_server(server)

    saves = sum(r.saves for r in results)
    puts = [x for r in results for x in r.put_latencies]
    gets = [x for r in results for x in r.get_latencies]
    errors: dict[int, int] = {}
    for r in results:
        for status, count in r.errors.items():
            errors[status] = errors.get(status, 0) + count
    problems = verify(url, results)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"machine: {os.cpu_count()} CPUs, {cpu}; Python {platform.python_version()}")
    print(f"template: {TEMPLATE.relative_to(ROOT)} ({questions} questions, all answered in every save)")
    print(
        f"clients: {args.clients}, uvicorn workers: {args.workers}, GET before every "
        f"{args.get_every} save(s), {elapsed:.1f} s"
    )
    print(
        f"saves: {saves} ({saves / elapsed:.0f} saves/s), "
        f"412: {sum(r.stale for r in results)}, errors: {errors}, "
        f"connection errors: {sum(r.transport_errors for r in results)}"
    )
    print(
        f"PUT latency ms: p50 {percentile(puts, 50) * 1000:.0f}, p95 {percentile(puts, 95) * 1000:.0f}, "
        f"p99 {percentile(puts, 99) * 1000:.0f}, mean {statistics.fmean(puts or [0]) * 1000:.0f}"
    )
    if gets:
        print(
            f"GET latency ms: p50 {percentile(gets, 50) * 1000:.0f}, p95 {percentile(gets, 95) * 1000:.0f} "
            f"({len(gets) / elapsed:.0f} GET/s)"
        )
    if problems:
        print("LOST OR DUPLICATED WRITES:")
        for problem in problems:
            print("  " + problem)
        return 1
    print(f"verified: {len(results)} submissions, versions == saves + 1, stored answers == last sent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
