"""The database-backed mode of ``bench/recap.py``: seed a published round on PostgreSQL with bulk inserts,
then write its recap through ``app.exports.service.recap`` (the code path of ``GET .../recap.xlsx`` and
``emonev export recap``).

The seeded round, for N bodies (every row written with ``COPY`` or multi-row inserts, never the API):

- one commission, the categories of the synthetic mode (``min(30, max(5, N // 400))``), each answering one of
  the three bundled 2025 templates (kelurahan, kecamatan, dinas: 78 to 93 questions) in turn;
- N bodies, all invited; every fifth name starts with ``=`` (written as guarded text); 90 % have a PPID
  operator account; 90 % took part: a submitted SAQ answering every question (links on every required
  evidence), and a completed verification with a verified value for every question, of which 0, 0, 1 or 2
  per body (0.75 on average) differ from the body's own (the ``Koreksi Verifikasi`` rows), 40 verifiers;
- a published revision with one row per body: synthetic scores (the recap reads the snapshot, it never
  rescores), final score and band from ``scoring.final_score`` / ``scoring.band_for``, competition ranks;
- two earlier published rounds with a row for 80 % of the bodies (the ``Tren`` sheet).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, make_url, select, text
from sqlalchemy.orm import Session

import scoring
from app.accounts.principal import SYSTEM
from app.db.migrate import upgrade
from app.db.models import (
    Account,
    BodyCategory,
    Commission,
    Publication,
    PublishedResult,
    Round,
    RoundTemplate,
    Stage,
)
from app.db.session import get_engine, make_sessionmaker
from app.questionnaires.service import import_template, parsed
from app.results.publication import absent_snapshot
from app.stages.service import competition_ranks

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ("kelurahan", "kecamatan", "dinas")
KINDS = ("Kelurahan", "Kecamatan", "Dinas", "Puskesmas", "Suku Dinas", "UPT", "Kota/Kabupaten Adm.")
WEIGHTS = {"saq": Decimal(70), "presentasi": Decimal(30)}
VERIFIERS = 40
DB_PREFIX = "emonev_bench_recap"


def _admin_url(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    name = parsed.database or ""
    if not name.startswith(DB_PREFIX):
        raise SystemExit(f"refusing to (re)create database {name!r}: its name must start with {DB_PREFIX!r}")
    return parsed.set(database="postgres").render_as_string(hide_password=False), name


def database_exists(url: str) -> bool:
    admin_url, name = _admin_url(url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    admin.dispose()
    return found is not None


def create_database(url: str) -> None:
    admin_url, name = _admin_url(url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    # seed() migrates and writes through the process's cached engine for this URL: close its connections
    # first (else they linger until the cache drops the engine and then warn as unclosed).
    get_engine(url).dispose()
    admin_url, name = _admin_url(url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass(frozen=True)
class _Category:
    id: int
    code: str
    name: str
    version_id: int
    template: scoring.Template


def _cents(rng: random.Random, low: int = 0, high: int = 10000) -> Decimal:
    return Decimal(rng.randint(low, high)).scaleb(-2)


def _value(rng: random.Random, question: scoring.Question) -> Any:
    kind = question.type
    if kind is scoring.QuestionType.YES_NO:
        return "yes" if rng.random() < 0.8 else "no"
    if kind is scoring.QuestionType.CHOICE:
        return rng.choice(question.options).value
    if kind is scoring.QuestionType.MULTI_CHOICE:
        return sorted({rng.choice(question.options).value for _ in range(2)})
    if kind is scoring.QuestionType.NUMBER:
        return rng.randint(0, 60)
    return "Dilaksanakan sesuai SOP PPID"


def _overruled(rng: random.Random, question: scoring.Question, own: Any) -> Any:
    if question.type is scoring.QuestionType.YES_NO:
        return "no" if own == "yes" else "yes"
    others = [o.value for o in question.options if o.value != own]
    return rng.choice(others)


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _sizes(n: int, count: int) -> list[int]:
    base, extra = divmod(n, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def seed(url: str, n: int, seed_value: int) -> int:
    """Create, migrate and seed the database; returns the published round's id."""
    started = time.perf_counter()
    create_database(url)
    upgrade(url)
    engine = get_engine(url)
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    with Session(engine) as session:
        commission = Commission(code="ki-bench", name="Komisi Informasi Bench", timezone="Asia/Jakarta")
        session.add(commission)
        session.flush()
        versions = {}
        for name in TEMPLATES:
            path = ROOT / "questionnaires" / "kip-2025" / f"{name}.yaml"
            outcome = import_template(
                session=session, text=path.read_text(encoding="utf-8"), source_name=str(path)
            )
            versions[name] = outcome.version
        count = min(30, max(5, n // 400))
        categories: list[_Category] = []
        for i in range(count):
            row = BodyCategory(
                commission_id=commission.id,
                code=f"k{i + 1:02d}",
                name=f"{KINDS[i % len(KINDS)]} Wilayah {i + 1}",
            )
            session.add(row)
            session.flush()
            version = versions[TEMPLATES[i % len(TEMPLATES)]]
            categories.append(_Category(row.id, row.code, row.name, version.id, parsed(version)))
        rounds = []
        for year, status in ((2023, "published"), (2024, "published"), (2025, "published")):
            round_ = Round(
                commission_id=commission.id,
                year=year,
                title=f"Monev {year}",
                status=status,
                saq_opens_at=datetime(year, 5, 1, tzinfo=UTC),
                saq_closes_at=datetime(year, 6, 1, tzinfo=UTC),
                saq_weight=WEIGHTS["saq"],
            )
            session.add(round_)
            session.flush()
            rounds.append(round_)
            session.add_all(
                RoundTemplate(round_id=round_.id, category_id=c.id, template_version_id=c.version_id)
                for c in categories
            )
        current = rounds[-1]
        session.add(
            Stage(
                round_id=current.id,
                code="presentasi",
                kind="presentation",
                title="Presentasi",
                weight=WEIGHTS["presentasi"],
            )
        )
        session.execute(
            insert(Account),
            [
                {
                    "email": f"verifikator{v}@bench.go.id",
                    "name": f"Verifikator {v}",
                    "password_hash": "-",
                    "role": "verifier",
                    "commission_id": commission.id,
                    "active": True,
                }
                for v in range(VERIFIERS)
            ],
        )
        verifier_ids = list(session.scalars(select(Account.id).where(Account.role == "verifier")))
        session.commit()
        commission_id, current_id = commission.id, current.id
        earlier_ids = [r.id for r in rounds[:-1]]

    body_category: list[_Category] = []
    for category, size in zip(categories, _sizes(n, len(categories)), strict=True):
        body_category += [category] * size
    taking_part = [rng.random() < 0.9 for _ in range(n)]
    raw = engine.raw_connection()
    try:
        pg: Any = raw.driver_connection
        with pg.cursor() as cur:
            _copy(
                cur,
                "public_body",
                ("id", "commission_id", "category_id", "name", "region_code", "active", "created_at"),
                (
                    (
                        b + 1,
                        commission_id,
                        c.id,
                        ("=" if b % 5 == 0 else "") + f"{c.name.split(' Wilayah')[0]} Bench {b:06d}",
                        f"31.{71 + b % 5:02d}.{b % 99:02d}.{1000 + b % 9000}",
                        True,
                        now,
                    )
                    for b, c in enumerate(body_category)
                ),
            )
            _copy(
                cur,
                "invitation",
                ("round_id", "body_id", "created_at"),
                ((current_id, b + 1, now) for b in range(n)),
            )
            _copy(
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
                        f"ppid{b + 1}@bench.go.id",
                        f"PPID {b + 1}",
                        "-",
                        "operator",
                        commission_id,
                        b + 1,
                        True,
                        now,
                    )
                    for b in range(n)
                    if rng.random() < 0.9
                ),
            )
            participants = [b for b in range(n) if taking_part[b]]
            submission_of = {b: i + 1 for i, b in enumerate(participants)}
            _copy(
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
                    (sid, current_id, b + 1, body_category[b].version_id, "submitted", 2, now, now, now)
                    for b, sid in submission_of.items()
                ),
            )
            _copy(
                cur,
                "verification",
                ("id", "submission_id", "verifier_id", "status", "completed_at", "version", "created_at"),
                (
                    (sid, sid, verifier_ids[sid % VERIFIERS], "completed", now, 3, now)
                    for sid in submission_of.values()
                ),
            )
            answers: list[tuple[Any, ...]] = []
            checked: list[tuple[Any, ...]] = []
            corrections = 0
            answer_columns = ("submission_id", "question_code", "value", "evidence_links", "updated_at")
            checked_columns = (
                "verification_id",
                "question_code",
                "value",
                "evidence_checked",
                "note",
                "updated_at",
            )
            for b, sid in submission_of.items():
                template = body_category[b].template
                questions = [e.question for e in template.questions()]
                changeable = [
                    q
                    for q in questions
                    if q.type in (scoring.QuestionType.YES_NO, scoring.QuestionType.CHOICE)
                ]
                overrule = {q.code for q in rng.sample(changeable, rng.choice((0, 0, 1, 2)))}
                corrections += len(overrule)
                for q in questions:
                    own = _value(rng, q)
                    links = (
                        [f"https://ppid.bench.go.id/{sid}/{q.code}"]
                        if q.evidence is scoring.EvidenceRule.REQUIRED
                        else []
                    )
                    answers.append((sid, q.code, json.dumps(own), json.dumps(links), now))
                    if q.code in overrule:
                        note = "-Tautan tidak dapat dibuka" if len(overrule) > 1 else "Bukti tidak sesuai"
                        checked.append((sid, q.code, json.dumps(_overruled(rng, q, own)), True, note, now))
                    else:
                        checked.append((sid, q.code, json.dumps(own), True, None, now))
                if len(answers) >= 200_000:
                    _copy(cur, "answer", answer_columns, iter(answers))
                    _copy(cur, "verified_answer", checked_columns, iter(checked))
                    answers, checked = [], []
            _copy(cur, "answer", answer_columns, iter(answers))
            _copy(cur, "verified_answer", checked_columns, iter(checked))
            for table in ("public_body", "submission", "verification"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        pg.commit()
    finally:
        raw.close()

    with Session(engine) as session:
        for round_id in [*earlier_ids, current_id]:
            publication = Publication(
                round_id=round_id,
                revision=1,
                reason="bench",
                stage_weights={code: str(w) for code, w in WEIGHTS.items()},
            )
            session.add(publication)
            session.flush()
            present = taking_part if round_id == current_id else [rng.random() < 0.8 for _ in range(n)]
            session.execute(
                insert(PublishedResult),
                _published_rows(publication.id, body_category, present, rng),
            )
        session.commit()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    print(
        f"seeded {n} bodies, {sum(taking_part)} submissions, {corrections} corrections "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return current_id


def _published_rows(
    publication_id: int, body_category: list[_Category], present: list[bool], rng: random.Random
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    finals: dict[int, dict[int, Decimal]] = {}
    for b, category in enumerate(body_category):
        body_id = b + 1
        if not present[b]:
            rows.append(
                {"publication_id": publication_id} | absent_snapshot(body_id, category.id, list(WEIGHTS))
            )
            continue
        own = _cents(rng, 3000)
        verified = min(own, _cents(rng, 2000))
        stages = {"saq": verified, "presentasi": _cents(rng, 4000)}
        final = scoring.final_score(stages, WEIGHTS)
        finals.setdefault(category.id, {})[body_id] = final
        rows.append(
            {
                "publication_id": publication_id,
                "body_id": body_id,
                "category_id": category.id,
                "participating": True,
                "self_score": own,
                "verified_score": verified,
                "stage_scores": {code: str(v) for code, v in stages.items()},
                "aspect_scores": {a.code: str(_cents(rng)) for a in category.template.aspects},
                "final_score": final,
                "band": scoring.band_for(category.template.bands, final).code,
                "rank": None,
            }
        )
    ranks = {body: rank for scores in finals.values() for body, rank in competition_ranks(scores).items()}
    for row in rows:
        if row["participating"]:
            row["rank"] = ranks[row["body_id"]]
    return rows


def published_round(url: str) -> int | None:
    """The seeded round of an existing bench database, or None."""
    engine = get_engine(url)
    with Session(engine) as session:
        found = session.scalar(select(Round.id).where(Round.year == 2025, Round.status == "published"))
    engine.dispose()
    return found


def _backend_pid(session: Session) -> int:
    return int(session.scalar(text("SELECT pg_backend_pid()")) or 0)


def _backend_cpu(pid: int) -> float:
    """CPU seconds used so far by a PostgreSQL backend on this machine (0 when it cannot be read)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_recap(url: str, round_id: int, out: Path) -> None:
    """The recap exactly as ``emonev export recap`` writes it; also prints the CPU time its PostgreSQL
    backend spent (the database's share, which the child's own CPU time leaves out)."""
    from app.exports.service import recap

    engine = get_engine(url)
    with make_sessionmaker(engine)() as session:
        pid = _backend_pid(session)
        before = _backend_cpu(pid)
        recap(session=session, round_id=round_id, revision=None, by=SYSTEM, target=out)
        print("DB_CPU_S", _backend_cpu(pid) - before)


def child_corrections(url: str, round_id: int) -> None:
    """Only the ``Koreksi Verifikasi`` rows (``verification.corrections.iter_corrections``), counted."""
    from app.rounds.service import get_round
    from app.verification.corrections import iter_corrections

    engine = get_engine(url)
    with make_sessionmaker(engine)() as session:
        pid = _backend_pid(session)
        before = _backend_cpu(pid)
        round_ = get_round(session=session, round_id=round_id, by=SYSTEM)
        start = time.perf_counter()
        count = sum(1 for _ in iter_corrections(session=session, round_=round_))
        print("WRITE_S", time.perf_counter() - start)
        print("DB_CPU_S", _backend_cpu(pid) - before)
        print("ROWS", count)
