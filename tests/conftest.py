"""Test databases built by the real migrations; every test runs in a transaction that is rolled back.

Database tests run on SQLite always and on PostgreSQL when ``EMONEV_TEST_POSTGRES_URL`` is set (``.ci/run``
sets it). Under ``CI=true`` an unreachable PostgreSQL fails the run instead of being skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import security
from app.db.session import create_sqlite_engine
from app.main import create_app
from app.settings import Settings
from tests.factories import World

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]

pytest_plugins = ["tests.documented_statuses"]

# argon2 is slow on purpose (about 0.1 s a password), and the suite logs in and fails logins thousands of
# times. In-process tests hash and check with the smallest parameters argon2 takes: the same code, a
# hundredth of the work. Processes the tests start (emonev serve) keep the real ones.
security._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def migrate(connection: Connection) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@contextmanager
def migrated_database(backend: str, directory: Path, name: str) -> Iterator[tuple[Engine, str]]:
    """A migrated database of the caller's own and its URL: the SQLite file ``directory/name.sqlite3``, or the
    new PostgreSQL database ``name`` (dropped afterwards; skipped without ``EMONEV_TEST_POSTGRES_URL``, a
    failure under ``CI=true``)."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / (name + '.sqlite3')}"
        engine = create_sqlite_engine(url)
    else:
        if not POSTGRES_URL:
            if os.environ.get("CI") == "true":
                pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
            pytest.skip("PostgreSQL suite skipped: set EMONEV_TEST_POSTGRES_URL to run it")
        url = _own_database(POSTGRES_URL, name)
        engine = create_engine(url)
    try:
        with engine.begin() as conn:
            migrate(conn)
        yield engine, url
    finally:
        engine.dispose()
        if backend != "sqlite" and POSTGRES_URL:
            _drop_database(POSTGRES_URL, name)


class _Databases:
    """Each backend's migrated database of this test process, made the first time a test asks for it and kept
    to the end of the session."""

    def __init__(self, stack: ExitStack, directory: Path) -> None:
        self.stack = stack
        self.directory = directory
        self.engines: dict[str, Engine] = {}

    def engine(self, backend: str) -> Engine:
        if backend not in self.engines:
            name = f"emonev_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
            eng, _url = self.stack.enter_context(migrated_database(backend, self.directory, name))
            self.engines[backend] = eng
        return self.engines[backend]


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    with ExitStack() as stack:
        yield _Databases(stack, tmp_path_factory.mktemp("db"))


# pytest tears a parametrised session fixture down whenever the next test wants the other parameter, and the
# collected tests switch backend 19 times (module fixtures group them, not the backend): the migrated
# databases themselves are kept (``migrated_databases``), so a switch no longer migrates a new database.
@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, migrated_databases: _Databases) -> Engine:
    return migrated_databases.engine(request.param)


def _own_database(base_url: str, name: str) -> str:
    """Every test process gets its own PostgreSQL database: parallel runs never reset each other's schema."""
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name


def _drop_database(base_url: str, name: str) -> None:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Sessions join the test's outer transaction; their commits only release savepoints.
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url="sqlite://",
        evidence_dir=tmp_path / "evidence",
        job_files_dir=tmp_path / "job-files",
        questionnaires_dir=ROOT / "questionnaires",
        demo_data=False,
    )


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(settings, session_factory=session_factory)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


# The test files that take longest (real processes, a second PostgreSQL cluster, a browser), longest first:
# run before the rest, so that with ``-n 2 --dist worksteal`` (the Makefile) the other worker takes the many
# short tests meanwhile and both finish together, instead of one waiting on a minute-long test at the end.
# Measured with ``--durations`` (bench/README.md, "The test suite's time"); a file not listed keeps its place.
SLOW_FIRST = (
    "tests/contract/test_schemathesis.py",
    "tests/web/test_indonesian_pages.py",
    "tests/backups/test_backup_restore.py",
    "tests/faults/test_job_workers.py",
    "tests/faults/test_mail_faults.py",
    "tests/faults/test_kill.py",
    "tests/webhooks/test_webhook_processes.py",
    "tests/app/test_startup_heap.py",
    "tests/web/test_browser.py",
    "tests/faults/test_slow_uploads.py",
    "tests/web/test_browser_password.py",
    "tests/faults/test_letter_workers.py",
    "tests/mail/test_mail_startup.py",
    "tests/faults/test_import_job_processes.py",
    "tests/faults/test_workers.py",
    "tests/test_generated_client.py",
    "tests/faults/",
    "tests/web/test_browser_",
)


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by fixture
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next((i for i, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: each file's tests keep their order
