"""`emonev export recap` and `emonev export result-sheets` against the test's session: the file, the
progress lines on stderr (not a terminal here, so plain lines), and the exit codes."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from app.cli import main
from app.exports.service import slug
from tests.exports.published import Published, publish_world
from tests.exports.workbooks import open_xlsx
from tests.factories import World

pytestmark = pytest.mark.db

RECAP_SHEETS = [
    "Ringkasan",
    "Peringkat",
    "Kecamatan",
    "Kelurahan",
    "Per Aspek",
    "Partisipasi",
    "Koreksi Verifikasi",
    "Tren",
]


# The seconds a progress line shows since the start (more than 0 on a loaded machine).
_seconds = re.compile(r" \d+ s$")


class _Joined:
    """A session factory whose ``begin()`` hands out the test's session (so the CLI sees its rows)."""

    def __init__(self, published: Published) -> None:
        self.session = published.world.session

    def begin(self) -> Any:
        return self

    def __enter__(self) -> Any:
        return self.session

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def published(world: World, monkeypatch: pytest.MonkeyPatch) -> Published:
    published = publish_world(world)
    monkeypatch.setattr("app.db.session.get_engine", lambda url, **_: None)
    monkeypatch.setattr("app.db.session.make_sessionmaker", lambda engine: _Joined(published))
    return published


def test_the_command_line_writes_the_recap_and_shows_its_progress(
    published: Published, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rekap.xlsx"
    round_id = published.round.id
    assert main(["export", "recap", "--round", str(round_id), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.strip() == f"wrote {out}"
    # Five bodies and the closing step: the first report at once, the last when the file is complete
    # (and one every 5 s between them, none here unless the machine is very slow).
    lines = [_seconds.sub(" N s", line) for line in printed.err.splitlines()]
    assert (lines[0], lines[-1]) == (
        f"recap of round {round_id}: 0/6 (0%), N s",
        f"recap of round {round_id}: 6/6 (100%), N s",
    )
    wb: Workbook = open_xlsx(out.read_bytes())
    assert wb.sheetnames == RECAP_SHEETS
    assert [p.name for p in tmp_path.iterdir()] == ["rekap.xlsx"]


def test_the_command_line_writes_every_result_sheet_in_a_zip(
    published: Published, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = published.world
    out = tmp_path / "lembar-hasil.zip"
    round_id = published.round.id
    assert main(["export", "result-sheets", "--round", str(round_id), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.strip() == f"wrote {out}"
    assert _seconds.sub(" N s", printed.err.splitlines()[-1]) == (
        f"result sheets of round {round_id}: 1/1 (100%), N s"
    )
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == [f"kelurahan/hasil-{slug(world.body.name)}-{published.submission.id}.xlsx"]
        sheet = open_xlsx(archive.read(names[0]))
    assert sheet.active is not None
    assert sheet.active["A1"].value == f"Lembar Hasil Penilaian — {world.body.name}"
    assert [p.name for p in tmp_path.iterdir()] == ["lembar-hasil.zip"]


@pytest.mark.parametrize("export", ["recap", "result-sheets"])
def test_a_refused_export_exits_2_and_leaves_no_file(
    published: Published, tmp_path: Path, capsys: pytest.CaptureFixture[str], export: str
) -> None:
    out = tmp_path / "berkas"
    round_id = str(published.round.id)
    assert main(["export", export, "--round", round_id, "--revision", "9", "--out", str(out)]) == 2
    assert "has no published revision 9" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    missing = tmp_path / "nowhere" / "berkas"
    assert main(["export", export, "--round", round_id, "--out", str(missing)]) == 2
    assert f"--out: the directory {missing.parent} does not exist" in capsys.readouterr().err
