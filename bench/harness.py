"""What the HTTP benchmarks share: a fresh PostgreSQL database, the app under uvicorn on a free loopback port,
and percentiles of latencies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
UVICORN = ROOT / ".venv" / "bin" / "uvicorn"


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``admin_url``; returns the new database's URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def free_port() -> int:
    """A loopback port nobody listens on (another server on a fixed port would answer our health check)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(server: subprocess.Popen[bytes], port: int, *, seconds: float = 20.0) -> None:
    """Poll ``/healthz`` until the server answers 200; SystemExit when it exits or does not answer in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def start_server(
    url: str,
    port: int,
    *,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
    app: str = "app.main:create_app",
) -> subprocess.Popen[bytes]:
    """``uvicorn <app> --factory`` (the service by default) on 127.0.0.1:``port`` against database ``url``
    (no demo data, no access log), in its own process group; returns once it answers its health check."""
    environment = os.environ | {"EMONEV_DATABASE_URL": url, "EMONEV_DEMO_DATA": "false"} | dict(env or {})
    command = [str(UVICORN), app, "--factory"]
    if workers is not None:
        command += ["--workers", str(workers)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", *options]
    command += ["--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
    try:
        wait_until_healthy(server, port)
    except SystemExit:
        stop_server(server)
        raise
    return server


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (its workers too), SIGKILL it after 15 s."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0 to 100): the sorted value at position ``p / 100 x (n - 1)``, rounded; NaN
    when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
