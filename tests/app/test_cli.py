"""The ``emonev`` command line as a commission's staff would use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from app.cli import main
from app.db.session import create_sqlite_engine
from app.settings import get_settings
from tests.factories import MINI_TEMPLATE, ROOT

BUNDLED = sorted((ROOT / "questionnaires").rglob("*.yaml"))
BROKEN = ROOT / "tests" / "templates_broken"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_templates_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(BUNDLED) >= 3
    assert main(["templates", "validate", *map(str, BUNDLED)]) == 0
    out = capsys.readouterr().out
    assert "kip-saq-kelurahan 2025.1" in out


def test_validate_lists_every_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = sorted(BROKEN.glob("*.yaml"))[:3]
    assert len(broken) == 3
    assert main(["templates", "validate", str(MINI_TEMPLATE), *map(str, broken)]) == 1
    err = capsys.readouterr().err
    for path in broken:
        assert str(path) in err


def test_validate_refuses_a_version_reused_with_other_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = write(
        tmp_path, "mini-edited.yaml", MINI_TEMPLATE.read_text().replace("Apakah badan", "Apakah instansi")
    )
    assert main(["templates", "validate", str(MINI_TEMPLATE), str(changed)]) == 1
    assert "test-mini" in capsys.readouterr().err


def test_score_prints_the_published_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = write(
        tmp_path,
        "answers.json",
        json.dumps(
            {
                "answers": {
                    "1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip.pdf"]},
                    "1.1.2": {"value": "b"},
                    "2.1": {"value": ["ig", "fb", "yt"]},
                    "2.2": {"value": 75},
                }
            }
        ),
    )
    assert main(["score", "--template", str(MINI_TEMPLATE), "--answers", str(answers)]) == 0
    result = json.loads(capsys.readouterr().out)
    # Aspect 1: (2 x 1 + 2 x 0.5) / 4 = 75.00. Aspect 2: (1 x 1 capped + 1 x 0.5) / 2 = 75.00.
    # SAQ: 75 x 60 / 100 + 75 x 40 / 100 = 75.00 -> Cukup Informatif.
    assert result["template_key"] == "test-mini"
    assert result["score"] == "75.00"
    assert result["band"] == "cukup-informatif"
    assert [(a["code"], a["score"]) for a in result["aspects"]] == [("1", "75.00"), ("2", "75.00")]
    statuses = {q["code"]: q["status"] for q in result["questions"]}
    assert statuses["2.3"] == "not_scored"


@pytest.mark.parametrize(
    ("answers_text", "message"),
    [
        ("{not json", "malformed JSON"),
        ('{"answers": {"9.9.9": {"value": "yes"}}}', "9.9.9"),
        ('{"answers": {"1.1.2": {"value": "z"}}}', "1.1.2"),
        ("[]", "expected an object"),
    ],
)
def test_score_rejects_bad_answer_files_with_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answers_text: str, message: str
) -> None:
    answers = write(tmp_path, "answers.json", answers_text)
    assert main(["score", "--template", str(MINI_TEMPLATE), "--answers", str(answers)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_score_names_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["score", "--template", str(tmp_path / "nope.yaml"), "--answers", str(tmp_path / "a.json")]) == 2
    )
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_a_setting_that_does_not_fit_is_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMONEV_DATABASE_URL", f"sqlite:///{tmp_path / 'emonev.sqlite3'}")
    monkeypatch.setenv("EMONEV_ENVIRONMENT", "production")
    monkeypatch.delenv("EMONEV_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 2
        assert capsys.readouterr().err == (
            "error: EMONEV_SECRET_KEY must be set to a real secret outside development\n"
        )
        monkeypatch.setenv("EMONEV_SECRET_KEY", "rahasia-yang-panjang-dan-acak")
        monkeypatch.setenv("EMONEV_DB_POOL_SIZE", "tiga puluh")
        get_settings.cache_clear()
        assert main(["db", "upgrade"]) == 2
        assert capsys.readouterr().err.startswith("error: EMONEV_DB_POOL_SIZE: ")
    finally:
        get_settings.cache_clear()
    assert not (tmp_path / "emonev.sqlite3").exists()


def test_db_upgrade_lists_the_rows_that_break_a_new_unique_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'emonev.sqlite3'}"
    engine = create_sqlite_engine(url)
    with engine.begin() as connection:
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(
            text(
                "INSERT INTO commission (code, name, timezone, created_at) "
                "VALUES ('ki', 'KI', 'Asia/Jakarta', '2025-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO body_category (commission_id, code, name, created_at) "
                "VALUES (1, 'k', 'K', '2025-01-01')"
            )
        )
        for name in ("Kelurahan Gambir", "KELURAHAN GAMBIR"):
            connection.execute(
                text(
                    "INSERT INTO public_body (commission_id, category_id, name, active, created_at) "
                    "VALUES (1, 1, :name, 1, '2025-01-01')"
                ),
                {"name": name},
            )
    engine.dispose()
    monkeypatch.setenv("EMONEV_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("error: migration 0006 stopped: existing rows break uniqueness rules")
    assert "public_body id 1 (commission 1): name 'Kelurahan Gambir'" in err
    assert "public_body id 2 (commission 1): name 'KELURAHAN GAMBIR'" in err
    assert "Traceback" not in err
