"""The API as an integrator tries it: schemathesis 4 (``st run``) with every check and every phase (examples,
coverage, fuzzing, stateful) against a real ``emonev serve`` on a seeded season, once per role.

The season is the browser tests' (``tests.web.seed``, built by the demo's own services): an open round with a
submitted and a half-filled SAQ, a final round and a published one (verification, a presentation stage,
results). It is seeded once, then every run gets a copy of its own (a copied SQLite file, or a PostgreSQL
database made from the seeded one as a template) and a server of its own, so what one role's run creates,
publishes or deletes never changes what the next one sees, and a failing run can be replayed from the same
start.

Each role is run twice: with the fixed seed ``FIXED_SEED`` (the same cases in every CI run) and with a random
seed printed in the log (new cases each run; replay one with ``EMONEV_CONTRACT_SEED=<seed>``). Each run is
bounded by ``--max-time`` (``EMONEV_CONTRACT_SECONDS``, default 8 s: examples and coverage run whole, fuzzing
and the stateful walk along the document's links share what is left); ``EMONEV_CONTRACT_SECONDS=120`` is a
deeper run by hand, ``EMONEV_CONTRACT_ROLES=operator,verifier`` a subset.

Why the ``st`` command line in a subprocess, not schemathesis's Python API: it is what an integrator (and the
issue) runs, its ``--max-time`` budgets the phases against each other, and its JSON report and "Reproduce
with" lines are what a reader of a CI failure needs. The logins are ``tests/contract/schemathesis_hooks.py``.

Zero failures and zero errors are required for every role. ``tests/test_api_fuzz.py`` stays: it runs in
process on a world where every path parameter names a row, and checks what no schemathesis check does (every
4xx writes nothing; every integer input has a maximum).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app.db.models import Answer
from app.demo.world import (
    ADMIN_EMAIL,
    COMMISSION_ADMIN_EMAIL,
    DEMO_PASSWORD,
    PANELIST_EMAIL,
    VERIFIER_EMAIL,
    operator_email,
)
from tests.processes import ROOT, emonev, serve

POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")
FIXED_SEED = 20251205
SECONDS = int(os.environ.get("EMONEV_CONTRACT_SECONDS", "18"))
ST = Path(sys.executable).parent / "st"
HERE = Path(__file__).parent
# The account each role logs in as (None: no credentials at all).
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "system_admin": ADMIN_EMAIL,
    "commission_admin": COMMISSION_ADMIN_EMAIL,
    "verifier": VERIFIER_EMAIL,
    "panelist": PANELIST_EMAIL,
    "operator": operator_email("Kelurahan Cikini"),
}
CHOSEN = [r for r in os.environ.get("EMONEV_CONTRACT_ROLES", ",".join(ROLES)).split(",") if r]


def seeds() -> tuple[int, int | None]:
    """The fixed seed and a random one (``EMONEV_CONTRACT_SEED`` to replay a run's; ``none``: the fixed
    seed only)."""
    chosen = os.environ.get("EMONEV_CONTRACT_SEED", "")
    if chosen == "none":
        return FIXED_SEED, None
    return FIXED_SEED, int(chosen) if chosen else random.SystemRandom().randrange(1, 2**31)


@dataclass
class Season:
    """The seeded season, and how to give a run a copy of its own."""

    root: Path
    url: str  # the seeded database

    def copy(self, name: str) -> tuple[str, Path]:
        """A database URL and an evidence directory holding what the seeded ones hold."""
        evidence = self.root / name / "evidence"
        shutil.copytree(self.root / "seed" / "evidence", evidence, dirs_exist_ok=True)
        if self.url.startswith("sqlite"):
            target = self.root / name / "season.sqlite3"
            source = self.url.removeprefix("sqlite:///")
            with closing(sqlite3.connect(source)) as seeded, closing(sqlite3.connect(target)) as copy:
                seeded.backup(copy)  # with what the write-ahead log holds
            return f"sqlite:///{target}", evidence
        assert POSTGRES_URL
        seed_name = self.url.rsplit("/", 1)[1]
        database = f"{seed_name}_{name}"
        _admin(f'CREATE DATABASE "{database}" TEMPLATE "{seed_name}"')
        return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database, evidence


def _admin(statement: str) -> None:
    assert POSTGRES_URL
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def links_on_a_documentation_address(url: str) -> None:
    """The seeded evidence links moved to 192.0.2.1 (TEST-NET-1), which the link checker refuses without a
    DNS look-up or a connection: checking the season's links must not depend on the network (or its DNS,
    seconds per name on some machines) of wherever the test runs."""
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        for answer in session.scalars(select(Answer)):
            answer.evidence_links = [
                link.replace("https://ppid.contoh.go.id/", "https://192.0.2.1/")
                for link in answer.evidence_links
            ]
    engine.dispose()


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Season]:
    root = tmp_path_factory.mktemp("contract")
    (root / "seed" / "evidence").mkdir(parents=True)
    databases: list[str] = []
    if POSTGRES_URL:
        name = f"emonev_contract_{os.getpid()}"
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{name}"')
        databases.append(name)
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{root / 'seed' / 'season.sqlite3'}"
    env = os.environ | {
        "EMONEV_DATABASE_URL": url,
        "EMONEV_EVIDENCE_DIR": str(root / "seed" / "evidence"),
        "EMONEV_JOB_FILES_DIR": str(root / "seed" / "job-files"),
    }
    emonev(env, "db", "upgrade")
    seed = [sys.executable, "-m", "tests.web.seed"]
    subprocess.run(seed, env=env, cwd=ROOT, check=True, capture_output=True)
    links_on_a_documentation_address(url)
    season = Season(root=root, url=url)
    yield season
    if POSTGRES_URL:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            names = conn.scalars(
                text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                {"prefix": f"emonev_contract_{os.getpid()}%"},
            ).all()
            for database in sorted(names, key=len, reverse=True):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        engine.dispose()


@dataclass
class Run:
    """One ``st run``: what it was asked, what it printed and its JSON report."""

    seed: int
    phases: tuple[str, ...]
    seconds: int
    report: dict[str, Any] = field(default_factory=dict)
    output: str = ""

    def describe(self) -> str:
        return f"--phases={','.join(self.phases)} --seed={self.seed} --max-time={self.seconds}"


def plan(role_seconds: int) -> list[Run]:
    """The runs of one role, in order, on one server, sharing ``role_seconds``: the fixed seed through every
    phase (half the time; the stateful walk in a run of its own, so that it gets its share whatever the others
    took), then the random seed's fuzzing and stateful walk (examples and coverage are drawn from the document
    alone: a seed changes nothing there)."""
    fixed, other = seeds()
    share = max(1, role_seconds // 6)
    runs = [
        Run(fixed, ("examples", "coverage", "fuzzing"), max(1, role_seconds - 3 * share)),
        Run(fixed, ("stateful",), share),
    ]
    if other is not None:
        runs += [Run(other, ("fuzzing",), share), Run(other, ("stateful",), share)]
    return runs


def run_schemathesis(season: Season, role: str, runs: list[Run]) -> None:
    """The ``runs`` in order against a server of their own on a copy of the season."""
    root = season.root / role
    database_url, evidence = season.copy(role)
    settings = {"EMONEV_EVIDENCE_DIR": str(evidence), "EMONEV_DEMO_DATA": "false"}
    with serve(root, settings, prepare=[], database_url=database_url) as server:
        # The document is built at the first request for it (a second or more on a busy machine): not
        # within schemathesis's 10 s request timeout.
        httpx.get(f"{server.url}/openapi.json", timeout=120).raise_for_status()
        env = os.environ | {
            "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks",
            "EMONEV_CONTRACT_URL": server.url,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("EMONEV_CONTRACT_EMAIL", None)
        email = ROLES[role]
        if email:
            env |= {"EMONEV_CONTRACT_EMAIL": email, "EMONEV_CONTRACT_PASSWORD": DEMO_PASSWORD}
        for n, run in enumerate(runs):
            reports = root / f"report-{n}"
            argv = [
                str(ST),
                f"--config-file={HERE / 'schemathesis.toml'}",
                "run",
                f"{server.url}/openapi.json",
                "--checks=all",
                f"--phases={','.join(run.phases)}",
                f"--max-time={run.seconds}",
                f"--seed={run.seed}",
                "--workers=1",
                "--generation-database=none",
                "--report=json",
                f"--report-dir={reports}",
                "--no-color",
            ]
            print(f"schemathesis as {role}: st run {run.describe()}", flush=True)
            started = time.monotonic()
            done = subprocess.run(
                argv, env=env, cwd=root, capture_output=True, text=True, timeout=run.seconds * 4 + 120
            )
            run.output = done.stdout + done.stderr
            (root / f"st-{n}.log").write_text(run.output)
            (report_file,) = reports.glob("*.json")
            run.report = json.loads(report_file.read_text())
            cases = run.report["test_cases"]
            print(f"  {time.monotonic() - started:.1f} s, {cases['generated']} cases", flush=True)


@pytest.mark.parametrize("role", CHOSEN)
def test_schemathesis_finds_nothing(season: Season, role: str) -> None:
    """Every check of schemathesis passes for every operation the role calls, in every phase, and every
    phase asked for ran."""
    runs = plan(SECONDS)
    run_schemathesis(season, role, runs)
    ran: set[str] = set()
    for run in runs:
        report = run.report
        problem = f"st run {run.describe()} as {role}:\n{run.output}"
        assert not report["failures"], problem
        assert not report["errors"], problem
        ran |= {name for name in run.phases if report["phases"][name]["status"] == "success"}
    # A phase can run out of its share on a slow machine; each must have run in one of the runs.
    assert ran == {"examples", "coverage", "fuzzing", "stateful"}, "\n".join(run.output for run in runs)
