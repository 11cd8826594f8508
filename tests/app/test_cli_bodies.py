"""``emonev bodies import``: the import's rules from the command line, with progress lines in a log, one line
and exit code 2 on bad input, on both backends."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.cli import main
from app.db.models import PublicBody
from app.settings import get_settings
from tests.conftest import BACKENDS, migrated_database
from tests.factories import make_category, make_commission

pytestmark = pytest.mark.db

ROWS = [
    ["Kecamatan Baris", "kelurahan", "31.71.06", None, "ppid.baris@jakarta.go.id"],
    ["Kelurahan Baris Satu", "kelurahan", "31.71.06.1002", "Kecamatan Baris", None],
    ["Kelurahan Baris Dua", "kelurahan", "31.71.06.1003", "Kecamatan Baris", None],
]


def workbook(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "category", "region_code", "parent", "ppid_email"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    # A name of its own: the command line keeps its engine (and pooled connections) by URL.
    name = f"emonev_cli_bodies_{uuid.uuid4().hex[:12]}"
    with migrated_database(request.param, tmp_path, name) as (engine, url):
        with Session(engine) as session, session.begin():
            commission = make_commission(session, code="ki-cli")
            make_category(session, commission, code="kelurahan", name="Kelurahan")
        monkeypatch.setenv("EMONEV_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            yield engine
        finally:
            get_settings.cache_clear()


def bodies(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(PublicBody)) or 0


def test_bodies_import_checks_then_imports_with_progress_lines(
    database: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = workbook(tmp_path / "badan.xlsx", ROWS)
    assert main(["bodies", "import", str(good), "--commission", "ki-cli", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{good}: 3 rows, all valid; nothing written (dry run)"
    assert err.strip().splitlines()[-1].startswith("import badan.xlsx: 3/3 (100%)")
    assert bodies(database) == 0

    assert main(["bodies", "import", str(good), "--commission", "ki-cli"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{good}: imported 3 bodies"
    assert err.strip().splitlines()[-1].startswith("import badan.xlsx: 6/6 (100%)")
    assert bodies(database) == 3

    csv = tmp_path / "lagi.csv"
    csv.write_text("name,category\nKelurahan Baris Tiga,kelurahan\nKelurahan Baris Satu,kelurahan\n")
    assert main(["bodies", "import", str(csv), "--commission", "ki-cli"]) == 2
    out, err = capsys.readouterr()
    assert out.strip() == "row 3, name: a body with this name already exists in the commission"
    assert err.strip().splitlines()[-1] == (
        f"error: {csv}: 1 problem(s) in the file (listed above); nothing was imported"
    )
    assert bodies(database) == 3


def test_bad_input_is_one_line_and_exit_2(
    database: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = workbook(tmp_path / "badan.xlsx", ROWS)
    broken = tmp_path / "rusak.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    for args, message in (
        (["missing.xlsx", "--commission", "ki-cli"], "error: missing.xlsx: file not found"),
        ([str(good), "--commission", "ki-lain"], "error: --commission: no commission with code 'ki-lain'"),
        ([str(broken), "--commission", "ki-cli"], f"error: {broken}: rusak.xlsx: "),
    ):
        assert main(["bodies", "import", *args]) == 2
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, err
        assert lines[0].startswith(message), err
        assert "Traceback" not in err
    assert bodies(database) == 0
