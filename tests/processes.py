"""Real processes for tests that need them: ``emonev serve`` on a free loopback port, ``emonev worker``
processes beside it, and a PostgreSQL cluster of the test's own (in a temporary directory, on its own port)
that the test may stop and start.

Shared by the browser tests (``tests/web``) and the fault tests (``tests/faults``)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "app.cli"]
STARTUP_SECONDS = 60
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A running ``emonev serve``: its URL, its log file and its process (tests may kill it)."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]
    env: Mapping[str, str]


def emonev(env: Mapping[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one ``emonev`` sub-command with ``env``; fails the test with its output when it fails."""
    done = subprocess.run(
        [*CLI, *args], env=dict(env), cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        pytest.fail(f"emonev {' '.join(args)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@contextmanager
def serve(
    root: Path,
    settings: Mapping[str, str],
    *,
    prepare: list[list[str]],
    database_url: str | None = None,
    serve_args: tuple[str, ...] = (),
) -> Iterator[LiveServer]:
    """``emonev serve`` on a free loopback port over ``database_url`` (default ``root/web.sqlite3``) and
    ``root/evidence``, with the ``EMONEV_`` settings given, after the ``prepare`` commands (``emonev``
    sub-commands, or ``["seed"]`` for ``tests.web.seed``) ran against the same database. Stopped (SIGTERM,
    then SIGKILL) at the end unless the test already killed it."""
    env = os.environ | {
        "EMONEV_DATABASE_URL": database_url or f"sqlite:///{root / 'web.sqlite3'}",
        "EMONEV_EVIDENCE_DIR": str(root / "evidence"),
        "EMONEV_JOB_FILES_DIR": str(root / "job-files"),
        # Otherwise the server's job thread would at once queue a link sweep of every open round (02:00 has
        # passed in Jakarta 22 hours a day) and fetch the seeded links, changing what the pages show.
        "EMONEV_LINK_SWEEP_NIGHTLY": "false",
        **settings,
    }
    for command in prepare:
        if command == ["seed"]:
            subprocess.run(
                [sys.executable, "-m", "tests.web.seed"], env=env, cwd=ROOT, check=True, capture_output=True
            )
        else:
            emonev(env, *command)
    port = free_port()
    log = root / f"server-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
            env=env,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", log=log, process=process, env=env)
    try:
        wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@dataclass
class LiveWorker:
    """A running ``emonev worker``: its name, its log file and its process (tests may kill it)."""

    name: str
    log: Path
    process: subprocess.Popen[bytes]


def launch_worker(root: Path, env: Mapping[str, str], name: str) -> LiveWorker:
    """Start ``emonev worker --name <name>`` with a server's environment (``LiveServer.env``: the same
    database and settings), without waiting for it (see :func:`wait_until_listening`)."""
    log = root / f"worker-{name}-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*CLI, "worker", "--name", name],
            env=dict(env),
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return LiveWorker(name=name, log=log, process=process)


def wait_until_listening(worker: LiveWorker, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while "Starting worker" not in worker.log.read_text():
        if worker.process.poll() is not None:
            pytest.fail(
                f"worker {worker.name} exited with {worker.process.returncode}:\n{worker.log.read_text()}"
            )
        if time.monotonic() > deadline:
            stop_worker(worker)
            pytest.fail(f"worker {worker.name} did not start within {seconds} s:\n{worker.log.read_text()}")
        time.sleep(0.05)


def stop_worker(worker: LiveWorker) -> None:
    """SIGTERM (procrastinate finishes the job in hand), then SIGKILL; nothing if it is gone already."""
    if worker.process.poll() is None:
        worker.process.terminate()
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=5)


@contextmanager
def workers(root: Path, env: Mapping[str, str], *names: str) -> Iterator[list[LiveWorker]]:
    """Workers named ``names``, started together, stopped at the end unless the test already killed them."""
    started = [launch_worker(root, env, name) for name in names]
    try:
        for one in started:
            wait_until_listening(one)
        yield started
    finally:
        for one in started:
            stop_worker(one)


def wait_until_up(server: LiveServer, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the server did not answer within {seconds} s:\n{server.log.read_text()}")


# --- A PostgreSQL cluster of the test's own ---------------------------------------------------------------


class TemporaryPostgres:
    """A PostgreSQL 15 cluster in a temporary directory on a free loopback port (trust auth, database
    ``emonev``), run as the ``postgres`` system user when the tests run as root (initdb refuses root).
    ``stop()`` makes the database unreachable the way an outage does; ``start()`` brings it back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="emonev-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "emonev")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/emonev"

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(PG_BIN / tool), *args]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def temporary_postgres() -> Iterator[TemporaryPostgres]:
    """A :class:`TemporaryPostgres`, removed afterwards; skipped (a failure under CI=true) without
    PostgreSQL 15's server binaries."""
    if not (PG_BIN / "initdb").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {PG_BIN}/initdb is missing")
        pytest.skip(f"needs PostgreSQL 15's server binaries in {PG_BIN}")
    cluster = TemporaryPostgres()
    try:
        yield cluster
    finally:
        cluster.close()
