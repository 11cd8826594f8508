"""Deadline reminders to 10,000 bodies on PostgreSQL (results in bench/README.md, "Deadline reminders").

1. Seeds ``emonev_bench_recap_reminders`` (kept; ``--reseed`` seeds it again): one open round (KIP 2025
   kelurahan template, 78 questions), ``--n`` invited bodies: 20 % not registered (no operator account),
   30 % registered and not started, 40 % drafts (about half the yes/no questions answered, a link on every
   other one), 10 % submitted. Each body has a PPID address; registered ones an operator account too.
2. The duty (``write_reminders``) at a moment the 7-day slot is due: its wall time and queries; then again
   the same day (nothing left to write) without and with the process memo.
3. One ``emonev worker`` process delivers them (``EMONEV_MAIL_PER_MINUTE=0``) to aiosmtpd's ``Sink`` in
   another process: messages per second from the first to the last ``sent_at``, and the worker's peak
   resident set (``VmHWM``).
4. For scale: ``smtplib`` sending the same number of copies of one real reminder over one connection to the
   same server (nothing else: no database, no rendering).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import smtplib
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.models import BodyCategory, Commission, Notice, Round, RoundTemplate  # noqa: E402
from app.db.session import get_engine, make_sessionmaker  # noqa: E402
from app.mail import reminders  # noqa: E402
from app.mail.delivery import build_message  # noqa: E402
from app.mail.outbox import SENT  # noqa: E402
from app.mail.transport import SMTP_POLICY  # noqa: E402
from app.questionnaires.service import import_template, parsed  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench import recap_db  # noqa: E402
from bench.harness import free_port  # noqa: E402

EMONEV = ROOT / ".venv" / "bin" / "emonev"
PYTHON = ROOT / ".venv" / "bin" / "python"
URL = "postgresql+psycopg://postgres@127.0.0.1:5432/emonev_bench_recap_reminders"
TIMEZONE = "Asia/Jakarta"


def seed(url: str, n: int) -> int:
    recap_db.create_database(url)
    recap_db.upgrade(url)
    engine = get_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        commission = Commission(code="ki-bench", name="Komisi Informasi Bench", timezone=TIMEZONE)
        session.add(commission)
        session.flush()
        path = ROOT / "questionnaires" / "kip-2025" / "kelurahan.yaml"
        version = import_template(
            session=session, text=path.read_text(encoding="utf-8"), source_name=str(path)
        ).version
        template = parsed(version)
        category = BodyCategory(commission_id=commission.id, code="kelurahan", name="Kelurahan")
        session.add(category)
        session.flush()
        round_ = Round(
            commission_id=commission.id,
            year=2025,
            title="E-Monev 2025",
            status="open",
            saq_opens_at=now - timedelta(days=20),
            # Closes in a week and a day: the 7-day slot is due from today (with EMONEV_REMINDER_HOUR=0).
            saq_closes_at=now + timedelta(days=7, hours=12),
        )
        session.add(round_)
        session.flush()
        session.add(
            RoundTemplate(round_id=round_.id, category_id=category.id, template_version_id=version.id)
        )
        session.commit()
        ids = (commission.id, category.id, round_.id, version.id)
    commission_id, category_id, round_id, version_id = ids
    yes_no = [e.question.code for e in template.questions() if e.question.type.value == "yes_no"]
    states = ["unregistered"] * 20 + ["idle"] * 30 + ["draft"] * 40 + ["submitted"] * 10
    raw = engine.raw_connection()
    try:
        pg: Any = raw.driver_connection
        with pg.cursor() as cur:
            recap_db._copy(
                cur,
                "public_body",
                ("id", "commission_id", "category_id", "name", "ppid_email", "active", "created_at"),
                (
                    (
                        b,
                        commission_id,
                        category_id,
                        f"Kelurahan Bench {b:05d}",
                        f"ppid{b}@bench.go.id",
                        True,
                        now,
                    )
                    for b in range(1, n + 1)
                ),
            )
            recap_db._copy(
                cur,
                "invitation",
                ("round_id", "body_id", "created_at"),
                ((round_id, b, now) for b in range(1, n + 1)),
            )
            registered = [b for b in range(1, n + 1) if states[b % 100] != "unregistered"]
            recap_db._copy(
                cur,
                "account",
                (
                    "email",
                    "name",
                    "password_hash",
                    "role",
                    "commission_id",
                    "body_id",
                    "active",
                    "created_at",
                ),
                (
                    (
                        f"operator{b}@bench.go.id",
                        f"Operator {b}",
                        "-",
                        "operator",
                        commission_id,
                        b,
                        True,
                        now,
                    )
                    for b in registered
                ),
            )
            started = [b for b in range(1, n + 1) if states[b % 100] in ("draft", "submitted")]
            recap_db._copy(
                cur,
                "submission",
                (
                    "id",
                    "round_id",
                    "body_id",
                    "template_version_id",
                    "status",
                    "version",
                    "updated_at",
                    "submitted_at",
                    "created_at",
                ),
                (
                    (
                        b,
                        round_id,
                        b,
                        version_id,
                        states[b % 100] if states[b % 100] == "submitted" else "draft",
                        1,
                        now,
                        now if states[b % 100] == "submitted" else None,
                        now,
                    )
                    for b in started
                ),
            )
            recap_db._copy(
                cur,
                "answer",
                ("submission_id", "question_code", "value", "evidence_links", "updated_at"),
                (
                    (b, code, '"yes"', '["https://ppid.example.go.id/dip"]' if i % 2 else "[]", now)
                    for b in started
                    for i, code in enumerate(yes_no)
                    if (i + b) % 2 == 0
                ),
            )
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for table in ("public_body", "submission"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
        conn.execute(text("ANALYZE"))
    return round_id


class Queries:
    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *args: Any) -> None:
        self.count += 1


def sink(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(PYTHON), "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            smtplib.SMTP("127.0.0.1", port, timeout=1).quit()
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("aiosmtpd did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--deliver-seconds", type=float, default=3600, help="stop measuring delivery after this long"
    )
    args = parser.parse_args()
    print(
        f"{platform.node()} {platform.python_version()} {os.cpu_count()} CPUs, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )

    if args.reseed or not recap_db.database_exists(URL):
        started = time.perf_counter()
        seed(URL, args.n)
        print(f"seeded {args.n} bodies in {time.perf_counter() - started:.0f} s", flush=True)
    engine = get_engine(URL)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        # A clean outbox and queue (a run stopped half-way leaves a delivery job that would hold the dedup).
        for table in (
            "notice",
            "procrastinate_events",
            "procrastinate_periodic_defers",
            "procrastinate_jobs",
            "job",
        ):
            session.execute(text(f"DELETE FROM {table}"))
    port = free_port()
    settings = Settings(
        environment="test",
        database_url=URL,
        demo_data=False,
        reminder_hour=0,
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_per_minute=0,
        base_url="https://emonev.example",
    )
    queries = Queries(engine)
    now = datetime.now(UTC)

    started, before = time.perf_counter(), queries.count
    counts = reminders.write_reminders(sessions, settings, now)
    print(
        f"duty, writing: {counts.bodies_due} bodies, {counts.written} notices in "
        f"{time.perf_counter() - started:.2f} s, {queries.count - before} queries",
        flush=True,
    )
    started, before = time.perf_counter(), queries.count
    again = reminders.write_reminders(sessions, settings, now + timedelta(minutes=5))
    print(
        f"duty, same day again (no memo): {again.written} written in "
        f"{(time.perf_counter() - started) * 1000:.0f} ms, "
        f"{queries.count - before} queries"
    )
    memo = reminders.Memo()
    reminders.write_reminders(sessions, settings, now + timedelta(minutes=10), memo=memo)
    started, before = time.perf_counter(), queries.count
    reminders.write_reminders(sessions, settings, now + timedelta(minutes=15), memo=memo)
    print(
        f"duty, same day again (memo): {(time.perf_counter() - started) * 1000:.1f} ms, "
        f"{queries.count - before} queries"
    )

    server = sink(port)
    env = os.environ | {
        "EMONEV_DATABASE_URL": URL,
        "EMONEV_DEMO_DATA": "false",
        "EMONEV_ENVIRONMENT": "test",
        "EMONEV_SMTP_URL": settings.smtp_url or "",
        "EMONEV_MAIL_PER_MINUTE": "0",
        "EMONEV_REMINDER_HOUR": "0",
        # The nightly link sweep of the open round would take the worker's one slot for minutes.
        "EMONEV_LINK_SWEEP_NIGHTLY": "false",
        "EMONEV_BASE_URL": "https://emonev.example",
    }
    worker = subprocess.Popen(
        [str(EMONEV), "worker", "--name", "bench-mail"], cwd=ROOT, env=env, start_new_session=True
    )
    total = counts.written
    peak = 0.0
    try:
        deadline = time.monotonic() + args.deliver_seconds
        while time.monotonic() < deadline:
            time.sleep(1)
            peak = max(peak, peak_rss_mb(worker.pid))
            with sessions() as session:
                sent = session.scalar(select(func.count()).where(Notice.status == SENT)) or 0
            if sent >= total:
                break
        peak = max(peak, peak_rss_mb(worker.pid))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    with sessions() as session:
        first, last, sent = session.execute(
            select(func.min(Notice.sent_at), func.max(Notice.sent_at), func.count()).where(
                Notice.status == SENT
            )
        ).one()
        statuses = dict(session.execute(select(Notice.status, func.count()).group_by(Notice.status)).all())
        notice = session.scalars(select(Notice).limit(1)).one()
        message = build_message(session, notice, settings)
    seconds = (last - first).total_seconds()
    rate = sent / seconds if seconds else float("nan")
    print(
        f"worker: {sent} sent in {seconds:.1f} s = {rate:.0f} messages/s; statuses {statuses}; "
        f"peak RSS {peak:.0f} MB"
    )

    data = message.as_bytes(policy=SMTP_POLICY)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for _ in range(sent):
            smtp.sendmail("noreply@emonev.example", [notice.recipient], message.as_bytes(policy=SMTP_POLICY))
    bare = time.perf_counter() - started
    print(
        f"bare smtplib, same message x{sent} on one connection: {bare:.1f} s = {sent / bare:.0f} messages/s "
        f"(the worker: {rate / (sent / bare):.2f}x); message {len(data)} bytes"
    )
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=10)


if __name__ == "__main__":
    main()
