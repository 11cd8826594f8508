"""`make run`'s path without the server: db upgrade, templates import, then serve seeds and prints logins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import create_engine, func, select, text

from app.cli import main
from app.db.models import Account, Commission, Publication, Round
from app.demo.banner import WIDTH
from app.settings import get_settings
from tests.factories import ROOT


@pytest.fixture
def fresh_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'emonev.sqlite3'}"
    monkeypatch.setenv("EMONEV_DATABASE_URL", url)
    monkeypatch.setenv("EMONEV_QUESTIONNAIRES_DIR", str(ROOT / "questionnaires"))
    monkeypatch.setenv("EMONEV_DEMO_DATA", "true")
    monkeypatch.setenv("EMONEV_ENVIRONMENT", "development")
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _count(url: str, table: type[Any]) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.scalar(select(func.count()).select_from(table)) or 0)
    engine.dispose()
    return count


def test_serve_seeds_once_and_prints_the_banner(
    fresh_sqlite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["templates", "import"]) == 0
    capsys.readouterr()
    assert main(["serve", "--port", "8123"]) == 0
    banner = capsys.readouterr().out
    lines = banner.splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    assert "  Buka http://127.0.0.1:8123/login dan masuk dengan salah satu akun di bawah ini." in lines
    assert "  Kata sandi semua akun demo: demo-emonev-2025" in lines
    for heading in (
        "Administrator Sistem",
        "Administrator Komisi",
        "Verifikator",
        "Juri",
        "PPID",
    ):
        assert f"  {heading}" in lines
    # One line per login, what to try first beside it (wrapped under itself when long).
    flat = " ".join(banner.split())
    assert (
        "ppid.kelurahan-menteng@demo.emonev.id Kelurahan Menteng: isi SAQ Monev KIP 2025, "
        "lihat hasil Monev KIP 2024 (Informatif)"
    ) in flat
    assert "verifikator@demo.emonev.id verifikasi SAQ Kelurahan Cikini (Monev KIP 2025)" in flat
    assert "admin.dki@demo.emonev.id peringkat, grafik kualifikasi dan rekapitulasi Monev KIP 2024" in flat

    counts = {table: _count(fresh_sqlite, table) for table in (Account, Commission, Round, Publication)}
    assert counts[Round] == 3
    assert main(["serve", "--host", "0.0.0.0", "--port", "8124"]) == 0
    again = capsys.readouterr().out
    assert {table: _count(fresh_sqlite, table) for table in counts} == counts
    assert "http://127.0.0.1:8124/login" in again
    assert "0.0.0.0" not in again


def test_serve_without_demo_data_seeds_nothing(
    fresh_sqlite: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMONEV_DEMO_DATA", "false")
    get_settings.cache_clear()
    assert main(["db", "upgrade"]) == 0
    assert main(["serve"]) == 0
    assert "demo" not in capsys.readouterr().out
    assert _count(fresh_sqlite, Commission) == 0


def test_serve_on_an_unmigrated_database_says_what_to_do(
    fresh_sqlite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2
    assert "emonev db upgrade" in capsys.readouterr().err
    engine = create_engine(fresh_sqlite)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).all() == []
    engine.dispose()
