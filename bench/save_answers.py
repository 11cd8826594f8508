"""Benchmark: concurrent SAQ saves against uvicorn (2 workers) on PostgreSQL, over loopback.

    .venv/bin/python bench/save_answers.py                       # 50 clients, 30 s
    .venv/bin/python bench/save_answers.py --clients 50 --seconds 60 --get-every 1

What it does:
1. drops and recreates the database ``emonev_bench`` on the local PostgreSQL, migrates it and seeds one
   commission, one open round on the bundled kelurahan SAQ grown to 100 questions (hundred_question_saq), one
   invited body per client with its operator, a bearer token and a draft submission;
2. starts ``uvicorn app.main:create_app --factory --workers 2`` on 127.0.0.1;
3. runs N concurrent clients (httpx, asyncio) for a bounded time and a bounded number of saves: each client
   GETs its submission for the ETag (every ``--get-every`` saves; otherwise it uses the ETag the previous
   save returned, as the web page does) and PUTs a full 100-answer SAQ (values drawn at random) with
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
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from sqlalchemy import create_engine, select
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
from app.db.session import dispose_engines  # noqa: E402
from app.questionnaires.service import import_template  # noqa: E402
from bench import bare_save  # noqa: E402
from bench.harness import free_port, fresh_database, percentile, start_server, stop_server  # noqa: E402

TEMPLATE = ROOT / "questionnaires" / "kip-2025" / "kelurahan.yaml"
QUESTIONS = 100  # the "full 100-answer SAQ"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- Database -------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    submission_ids: list[int]
    tokens: list[str]
    template: scoring.Template


def hundred_question_saq() -> str:
    """The bundled kelurahan SAQ (78 questions) grown to 100: yes/no questions asking for evidence (the most
    common kind) are added to its last aspect, so every save carries a full 100-answer SAQ."""
    document = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    document["key"] = "bench-saq-100"
    count = len(
        scoring.parse_template(TEMPLATE.read_text(encoding="utf-8"), source=str(TEMPLATE)).questions()
    )
    document["aspects"][-1]["items"].append(
        {
            "code": "bench",
            "title": "Pertanyaan tambahan (benchmark)",
            "items": [
                {
                    "code": f"bench.{n}",
                    "text": f"Pertanyaan tambahan {n}?",
                    "type": "yes_no",
                    "weight": 1,
                    "evidence": "required",
                }
                for n in range(1, QUESTIONS - count + 1)
            ],
        }
    )
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def seed(url: str, clients: int) -> Seeded:
    upgrade(url)
    engine = create_engine(url)
    text_ = hundred_question_saq()
    template = scoring.parse_template(text_, source="bench-saq-100")
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        commission = Commission(code="ki-bench", name="KI Bench", timezone="Asia/Jakarta")
        session.add(commission)
        session.flush()
        category = BodyCategory(commission_id=commission.id, code="kelurahan", name="Kelurahan")
        session.add(category)
        session.flush()
        version = import_template(session=session, text=text_, source_name="bench-saq-100.yaml").version
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


class RawResponse:
    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content)


class RawClient:
    """A minimal keep-alive HTTP/1.1 client (one connection), so the load generator spends little of the
    shared CPU: httpx costs several milliseconds of CPU per request on this machine."""

    def __init__(self, base: str, *, requests_per_connection: int = 0) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.requests_per_connection = requests_per_connection
        self.sent = 0

    async def request(
        self, method: str, url: str, headers: dict[str, str], content: bytes = b""
    ) -> RawResponse:
        if self.requests_per_connection and self.sent and self.sent % self.requests_per_connection == 0:
            await self.close()  # as a browser whose idle connection timed out, or a proxy rotating them
        self.sent += 1
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            lines = [f"{method} {urlsplit(url).path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            lines.append(f"Content-Length: {len(content)}")
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + content)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            received = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    received[name.strip().lower()] = value.strip()
            body = await self.reader.readexactly(int(received.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError) as exc:
            await self.close()
            raise httpx.ReadError(str(exc)) from exc
        received["ETag"] = received.get("etag", "")
        return RawResponse(int(status_line.split()[1]), received, body)

    async def get(self, url: str, *, headers: dict[str, str]) -> RawResponse:
        return await self.request("GET", url, headers)

    async def put(self, url: str, *, content: bytes, headers: dict[str, str]) -> RawResponse:
        return await self.request("PUT", url, headers, content)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


@dataclass
class ClientResult:
    submission_id: int
    saves: int = 0
    stale: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    window_saves: int = 0  # saves started inside the measured window
    put_latencies: list[float] = field(default_factory=list)  # of requests started inside the window
    get_latencies: list[float] = field(default_factory=list)
    last_sent: dict[str, Any] | None = None
    last_version: int | None = None
    transport_errors: int = 0


async def landed(http: Any, url: str, headers: dict[str, str], version: int, answers: dict[str, Any]) -> bool:
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


async def timed_get(
    http: Any, url: str, headers: dict[str, str], result: ClientResult, window_from: float
) -> Any | None:
    """GET the submission, timed when started inside the measured window; the response if it was a 200."""
    started = time.perf_counter()
    try:
        got = await http.get(url, headers=headers)
    except httpx.TransportError:
        result.transport_errors += 1
        return None
    if started >= window_from:
        result.get_latencies.append(time.perf_counter() - started)
    if got.status_code != 200:
        result.errors[got.status_code] = result.errors.get(got.status_code, 0) + 1
        return None
    return got


async def run_client(
    http: Any,
    base: str,
    submission_id: int,
    token: str,
    pool: list[tuple[bytes, dict[str, Any]]],
    *,
    seed_: int,
    start_at: float,
    window_from: float,
    deadline: float,
    max_saves: int,
    get_every: int,
    reads_only: bool = False,
) -> ClientResult:
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    rng = random.Random(seed_)
    result = ClientResult(submission_id)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/v1/submissions/{submission_id}"
    if reads_only:  # what the page (after a reload) and integrators do most
        while time.perf_counter() < deadline:
            await timed_get(http, url, headers, result, window_from)
        return result
    etag: str | None = None
    attempts = 0
    while time.perf_counter() < deadline and result.saves < max_saves:
        if etag is None or attempts % get_every == 0:
            got = await timed_get(http, url, headers, result, window_from)
            if got is None:
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
        counted = started >= window_from
        if counted:
            result.put_latencies.append(time.perf_counter() - started)
        if put.status_code == 200:
            result.saves += 1
            result.window_saves += counted
            result.last_sent = answers
            etag = put.headers["ETag"]
            result.last_version = int(etag.strip('"'))
        elif put.status_code == 412:
            result.stale += 1
            etag = None
        else:
            result.errors[put.status_code] = result.errors.get(put.status_code, 0) + 1
            etag = None
    return result


async def load(
    base: str,
    seeded: Seeded,
    *,
    seconds: float,
    max_saves: int,
    get_every: int,
    meter: CpuMeter,
    raw: bool,
    requests_per_connection: int,
    ramp: float,
    settle: float,
    reads_only: bool = False,
) -> tuple[list[ClientResult], float, dict[str, Any]]:
    rng = random.Random(2026)
    pools = []
    for _ in seeded.tokens:
        variants = [random_answers(seeded.template, rng) for _ in range(8)]
        pools.append([(json.dumps({"answers": a}).encode(), a) for a in variants])
    limits = httpx.Limits(max_connections=len(seeded.tokens), max_keepalive_connections=len(seeded.tokens))
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as shared:
        clients: list[Any] = [
            RawClient(base, requests_per_connection=requests_per_connection) if raw else shared
            for _ in seeded.tokens
        ]
        # Clients arrive one by one over the ramp (as people do, and as load tools ramp up), each saving at
        # once: a worker busy with the clients it has is slower to accept the next connection, so the
        # connections spread over the workers. Opened in the same millisecond, or one by one into an idle
        # server, they pile onto whichever worker wakes first (46 of 50 were seen on one worker) and stay.
        # Only requests started after the ramp and a settling time are measured; the first saves of each
        # worker also parse the template.
        begin = time.perf_counter()
        window_from = begin + ramp + settle
        deadline = window_from + seconds
        tasks = [
            asyncio.ensure_future(
                run_client(
                    clients[index],
                    base,
                    sid,
                    tok,
                    pools[index],
                    seed_=index,
                    start_at=begin + ramp * index / len(seeded.tokens),
                    window_from=window_from,
                    deadline=deadline,
                    max_saves=max_saves,
                    get_every=get_every,
                    reads_only=reads_only,
                )
            )
            for index, (sid, tok) in enumerate(zip(seeded.submission_ids, seeded.tokens, strict=True))
        ]
        await asyncio.sleep(max(0.0, window_from - time.perf_counter()))
        before = meter.snapshot()
        results = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - window_from
        used = meter.since(before)
        for client in clients:
            if isinstance(client, RawClient):
                await client.close()
    return list(results), elapsed, used


# --- CPU accounting -------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by the app server (its process group), PostgreSQL, this client, and the whole
    machine, so the cost of a save can be stated even when other work shares the machine.

    PostgreSQL is the whole server: every postgres process (backends, WAL writer, checkpointer, autovacuum)
    plus the time of the processes that exited meanwhile (reaped by the postmaster, so counted in its
    children's time): backends that come and go would otherwise be missed. Work of other databases on the
    same server counts too, so measure on an otherwise quiet machine."""

    def __init__(self, server_pgid: int) -> None:
        self.server_pgid = server_pgid
        self.tick = os.sysconf("SC_CLK_TCK")

    def _processes(self) -> tuple[dict[int, float], float]:
        server: dict[int, float] = {}
        postgres = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            own = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
            reaped = (int(fields[13]) + int(fields[14])) / self.tick  # cutime + cstime
            if int(fields[2]) == self.server_pgid:
                server[int(entry.name)] = own
            elif name == "postgres":
                postgres += own + reaped
        return server, postgres

    @staticmethod
    def _machine() -> tuple[float, float]:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
        idle = (values[3] + values[4]) / tick
        return sum(values) / tick - idle, idle

    def snapshot(self) -> dict[str, Any]:
        busy, idle = self._machine()
        server, postgres = self._processes()
        return {
            "server": server,
            "postgres": postgres,
            "client": time.process_time(),
            "busy": busy,
            "idle": idle,
        }

    def since(self, before: dict[str, Any]) -> dict[str, Any]:
        now = self.snapshot()
        workers = {pid: cpu - before["server"].get(pid, 0.0) for pid, cpu in now["server"].items()}
        used: dict[str, Any] = {key: now[key] - before[key] for key in now if key != "server"}
        used["server"] = sum(workers.values())
        used["workers"] = sorted((cpu for cpu in workers.values() if cpu > 0.05), reverse=True)
        used["others"] = max(0.0, used["busy"] - used["server"] - used["postgres"] - used["client"])
        return used


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


def profile_workers(server_pid: int, directory: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    """py-spy recorders, one per uvicorn worker, sampling for the length of the load."""
    directory.mkdir(parents=True, exist_ok=True)
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return [
        subprocess.Popen(
            [
                *("py-spy", "record", "--pid", pid, "--format", "raw", "--rate", "250", "--nonblocking"),
                *("--gil", "--duration", str(int(seconds)), "--output", str(directory / f"worker-{pid}.txt")),
            ],
            stdout=subprocess.DEVNULL,
        )
        for pid in children
        if "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_text()
    ]


def machine_speed() -> float:
    """Seconds of CPU a fixed pure-Python loop takes: this virtual machine's speed drifts by half over a day,
    so each result is stated with it."""
    started = time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.process_time() - started


def verify_bare(url: str, results: list[ClientResult]) -> list[str]:
    """The same check for the bare app's table: version is 1 + saves, answers are the last ones sent."""
    rows = bare_save.stored(
        url.replace("postgresql+psycopg://", "postgresql://"), [r.submission_id for r in results]
    )
    problems = []
    for result in results:
        version, answers = rows[result.submission_id]
        if version != 1 + result.saves:
            problems.append(f"bare row {result.submission_id}: version {version}, saves {result.saves}")
        if result.last_sent is not None and answers != result.last_sent:
            problems.append(f"bare row {result.submission_id}: stored answers differ from the last sent")
    return problems


@dataclass
class Figures:
    """One measured run of one target (the service or the bare app)."""

    target: str
    saves_per_s: float
    put_p50: float
    put_p95: float
    put_p99: float
    save_gets: int
    gets_per_s: float  # of the read-only window
    get_p50: float
    get_p95: float
    cpu_per_save: dict[str, float]
    workers: list[float]
    errors: dict[int, int]
    problems: list[str]


def measure(target: str, args: argparse.Namespace, url: str, seeded: Seeded) -> Figures:
    """Start the target's two workers, run the save window then the read-only window, stop them, verify."""
    port = args.port or free_port()
    env = {"EMONEV_EVIDENCE_DIR": str(ROOT / "var" / "bench-evidence"), "BARE_DATABASE_URL": url}
    server = start_server(
        url,
        port,
        workers=args.workers,
        env=env,
        options=["--timeout-keep-alive", "120"],
        app="bench.bare_save:create_app" if target == "bare" else "app.main:create_app",
    )
    meter = CpuMeter(server.pid)
    profile = args.profile / target if args.profile else None
    profilers = profile_workers(server.pid, profile, args.seconds) if profile else []
    base = f"http://127.0.0.1:{port}"
    common = {
        "meter": meter,
        "raw": args.raw_client,
        "requests_per_connection": args.requests_per_connection,
        "ramp": args.ramp,
        "settle": args.settle,
    }
    try:
        results, elapsed, used = asyncio.run(
            load(
                base,
                seeded,
                seconds=args.seconds,
                max_saves=args.max_saves,
                get_every=args.get_every,
                **common,
            )
        )
        for profiler in profilers:
            profiler.wait()
        reads: list[ClientResult] = []
        read_elapsed = 1.0
        if args.reads:
            reads, read_elapsed, _ = asyncio.run(
                load(base, seeded, seconds=args.reads, max_saves=0, get_every=1, reads_only=True, **common)
            )
    finally:
        stop_server(server)
    saves = sum(r.window_saves for r in results)
    puts = [x for r in results for x in r.put_latencies]
    gets = [x for r in reads for x in r.get_latencies]
    errors: dict[int, int] = {}
    for r in [*results, *reads]:
        for status, count in r.errors.items():
            errors[status] = errors.get(status, 0) + count
    return Figures(
        target=target,
        saves_per_s=saves / elapsed,
        put_p50=percentile(puts, 50) * 1000,
        put_p95=percentile(puts, 95) * 1000,
        put_p99=percentile(puts, 99) * 1000,
        save_gets=sum(len(r.get_latencies) for r in results),
        gets_per_s=len(gets) / read_elapsed,
        get_p50=percentile(gets, 50) * 1000,
        get_p95=percentile(gets, 95) * 1000,
        cpu_per_save={k: used[k] / max(saves, 1) * 1000 for k in ("server", "postgres", "client")},
        workers=used["workers"],
        errors=errors,
        problems=verify_bare(url, results) if target == "bare" else verify(url, results),
    )


def report(f: Figures, args: argparse.Namespace) -> None:
    print(
        f"  {f.target:7} saves {f.saves_per_s:6.0f}/s  PUT p50/p95/p99 ms {f.put_p50:4.0f} / "
        f"{f.put_p95:4.0f} / {f.put_p99:4.0f}  CPU/save ms app {f.cpu_per_save['server']:.1f} + PostgreSQL "
        f"{f.cpu_per_save['postgres']:.1f} (client {f.cpu_per_save['client']:.1f}); workers' CPU s "
        f"{', '.join(f'{c:.1f}' for c in f.workers)}"
        + (
            f"  | reads {f.gets_per_s:6.0f}/s  GET p50/p95 ms {f.get_p50:.1f} / {f.get_p95:.1f}"
            if args.reads
            else ""
        )
        + (f"  errors {f.errors}" if f.errors else "")
    )
    for problem in f.problems[:10]:
        print(f"    LOST OR DUPLICATED WRITE: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the measured save window lasts")
    parser.add_argument(
        "--reads", type=float, default=0.0, help="then a read-only window (GET only) of this many seconds"
    )
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which the clients arrive")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the ramp before measuring")
    parser.add_argument("--max-saves", type=int, default=2000, help="per client, whatever the time")
    parser.add_argument("--get-every", type=int, default=1, help="GET the ETag before every Nth save")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--compare-bare",
        type=int,
        default=0,
        metavar="PAIRS",
        help="measure the bare app (bench/bare_save.py) and the service alternately, PAIRS times each, and "
        "print the ratios",
    )
    parser.add_argument(
        "--raw-client",
        action="store_true",
        help="a minimal HTTP/1.1 client instead of httpx, leaving more of the CPU to the service",
    )
    parser.add_argument(
        "--requests-per-connection",
        type=int,
        default=0,
        help="with --raw-client, reconnect after this many requests (0: never). Connections that all open in "
        "the same millisecond and stay for the whole run land mostly on one worker (the one that wakes first "
        "accepts them all); clients that come and go, as browsers and proxies do, spread over the workers",
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free loopback port")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default="emonev_bench")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record each worker with py-spy (must be installed) into DIR/<target> as collapsed stacks",
    )
    args = parser.parse_args()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} CPUs, {cpu}; Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"clients: {args.clients} ({'raw HTTP/1.1' if args.raw_client else 'httpx'}), uvicorn workers: "
        f"{args.workers}, GET before every {args.get_every} save(s), {args.seconds:.0f} s of saves"
        + (f", then {args.reads:.0f} s of GETs only" if args.reads else "")
        + f"; {QUESTIONS} answers per save"
    )
    targets = ["bare", "service"] * args.compare_bare if args.compare_bare else ["service"]
    runs: list[Figures] = []
    for index, target in enumerate(targets):
        dispose_engines()  # the cached engine of the last run holds a connection to the dropped database
        url = fresh_database(args.admin_url, args.database)
        seeded = seed(url, args.clients)
        if target == "bare":
            bare_save.seed(url.replace("postgresql+psycopg://", "postgresql://"), seeded.submission_ids)
        if index % 2 == 0:
            print(f"speed probe {machine_speed():.3f} s (a fixed loop; lower is faster)")
        runs.append(measure(target, args, url, seeded))
        report(runs[-1], args)
    if args.compare_bare:
        print("ratios, service / bare, per pair:")
        for bare, service in zip(runs[0::2], runs[1::2], strict=True):
            line = (
                f"  saves/s {service.saves_per_s / bare.saves_per_s:.2f} (goal >= 0.8), PUT p95 "
                f"{service.put_p95 / bare.put_p95:.2f}x the bare (goal <= 2)"
            )
            if args.reads:
                line += f", reads/s {service.gets_per_s / bare.gets_per_s:.2f} (goal >= 0.8)"
            print(line)
    return 1 if any(f.problems or f.errors for f in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
