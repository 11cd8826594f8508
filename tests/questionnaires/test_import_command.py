"""`emonev templates import` on a fresh SQLite file: one line per template on stdout, progress on stderr
(plain lines, as it is not a terminal here), exit 2 and nothing imported when a file is missing or invalid."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from app.cli import main
from app.db.models import TemplateVersion
from app.settings import get_settings
from tests.factories import ROOT

BUNDLED = sorted((ROOT / "questionnaires").rglob("*.yaml"))
BROKEN = ROOT / "tests" / "templates_broken" / "duplicate-aspect-code.yaml"


@pytest.fixture
def fresh_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'emonev.sqlite3'}"
    monkeypatch.setenv("EMONEV_DATABASE_URL", url)
    monkeypatch.setenv("EMONEV_QUESTIONNAIRES_DIR", str(ROOT / "questionnaires"))
    get_settings.cache_clear()
    assert main(["db", "upgrade"]) == 0
    yield url
    get_settings.cache_clear()


def _templates(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.scalar(select(func.count()).select_from(TemplateVersion)) or 0)
    engine.dispose()
    return count


def test_the_import_shows_its_progress_per_file(
    fresh_sqlite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["templates", "import"]) == 0
    printed = capsys.readouterr()
    assert [line.split()[0] for line in printed.out.splitlines()] == ["imported"] * len(BUNDLED)
    lines = printed.err.splitlines()
    assert re.fullmatch(rf"template files: 0/{len(BUNDLED)} \(0%\), \d+ s", lines[0])
    assert re.fullmatch(rf"template files: {len(BUNDLED)}/{len(BUNDLED)} \(100%\), \d+ s", lines[-1])
    assert _templates(fresh_sqlite) == len(BUNDLED)

    assert main(["templates", "import"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["unchanged"] * len(BUNDLED)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (ROOT / "nowhere.yaml", "nowhere.yaml: file not found"),
        (BROKEN, f"{BROKEN} is not a valid SAQ template; "),
    ],
    ids=["missing", "invalid"],
)
def test_a_missing_or_invalid_file_exits_2_and_imports_nothing(
    fresh_sqlite: str, capsys: pytest.CaptureFixture[str], extra: Path, message: str
) -> None:
    capsys.readouterr()
    assert main(["templates", "import", *map(str, BUNDLED), str(extra)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert _templates(fresh_sqlite) == 0
