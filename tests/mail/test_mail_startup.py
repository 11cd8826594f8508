"""`emonev serve` says where mail goes when it starts, and an EMONEV_SMTP_URL that cannot be read stops
`emonev serve` and `emonev worker` with one line naming it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app.cli import main
from app.settings import get_settings
from tests.processes import CLI, ROOT, serve


@pytest.fixture
def no_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """`emonev serve` up to starting uvicorn (not started), without demo data."""
    monkeypatch.setenv("EMONEV_DATABASE_URL", f"sqlite:///{tmp_path / 'emonev.sqlite3'}")
    monkeypatch.setenv("EMONEV_DEMO_DATA", "false")
    monkeypatch.setenv("EMONEV_ENVIRONMENT", "development")
    monkeypatch.delenv("EMONEV_SMTP_URL", raising=False)
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    get_settings.cache_clear()
    yield started
    get_settings.cache_clear()


def serve_output(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    get_settings.cache_clear()
    assert main(["serve", *args]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_serve_names_the_smtp_server_without_its_password(
    no_server: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMONEV_SMTP_URL", "smtp://ki-dki:rahasia%40123@mail.ki.example.go.id:587")
    monkeypatch.setenv("EMONEV_MAIL_FROM", "E-Monev KI DKI <e-monev@ki.example.go.id>")
    out, _ = serve_output(capsys)
    assert "mail: smtp://ki-dki@mail.ki.example.go.id:587 (STARTTLS), from E-Monev KI DKI " in out
    assert "rahasia" not in out
    monkeypatch.setenv("EMONEV_SMTP_URL", "smtps://ki-dki:rahasia@mail.ki.example.go.id")
    assert "mail: smtps://ki-dki@mail.ki.example.go.id:465 (TLS)" in serve_output(capsys)[0]
    monkeypatch.setenv("EMONEV_SMTP_URL", "smtp://relay.internal:25")
    assert "mail: smtp://relay.internal:25 (STARTTLS when the server offers it)" in serve_output(capsys)[0]
    assert len(no_server) == 3


def test_serve_without_smtp_says_mail_is_not_sent_and_where_to_read_it(
    no_server: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = serve_output(capsys, "--port", "8123")
    assert (
        "mail: NOT sent (EMONEV_SMTP_URL is not set): each message is written to the log\n"
        "      and shown to administrators on http://127.0.0.1:8123/surel/pengembangan\n"
    ) in out

    monkeypatch.setenv("EMONEV_ENVIRONMENT", "production")
    monkeypatch.setenv("EMONEV_SECRET_KEY", "a-real-secret-for-this-test-0123456789")
    out, err = serve_output(capsys)
    assert "surel/pengembangan" not in out + err
    assert (
        "warning: mail: EMONEV_SMTP_URL is not set: no e-mail is sent; notices wait until it is set"
    ) in err


@pytest.mark.parametrize(
    ("command", "url", "problem"),
    [
        (["serve"], "http://mail.example.go.id", "must start with smtp:// or smtps://, not 'http'"),
        (["serve"], "smtp://mail.example.go.id:port", "has a bad port"),
        (["worker", "--once"], "smtp://", "names no host"),
    ],
)
def test_an_smtp_url_that_cannot_be_read_stops_serve_and_worker_with_one_line(
    tmp_path: Path, url: str, problem: str, command: list[str]
) -> None:
    env = os.environ | {
        "EMONEV_DATABASE_URL": f"sqlite:///{tmp_path / 'emonev.sqlite3'}",
        "EMONEV_DEMO_DATA": "false",
        "EMONEV_SMTP_URL": url,
    }
    done = subprocess.run([*CLI, *command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("error: EMONEV_SMTP_URL: ")
    assert problem in line
    assert done.stdout == ""


def test_a_real_serve_process_says_where_mail_goes_and_logs_each_message(tmp_path: Path) -> None:
    # The demo's rounds open with notices: its job thread "sends" them to the log, which the console shows.
    with serve(tmp_path, {"EMONEV_DEMO_DATA": "true"}, prepare=[["db", "upgrade"]]) as server:
        deadline = time.monotonic() + 60
        while "e-mail not sent" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = server.log.read_text()
    assert "mail: NOT sent (EMONEV_SMTP_URL is not set)" in log
    assert f"{server.url}/surel/pengembangan" in log
    assert "e-mail not sent (EMONEV_SMTP_URL is not set): to ppid." in log
    assert "Yth. PPID" in log
