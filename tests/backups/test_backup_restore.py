"""`emonev backup` and `emonev restore` as an operator runs them (issue 14, problem 7), on SQLite and on
PostgreSQL: a season with a published round and an evidence file is backed up, restored into a new, empty
database and evidence directory, and the restored service answers the same rankings, the same recap figures
and the same evidence bytes. An altered archive and a target that holds data are refused with one line and
exit code 2, and leave the target as it was."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from app.demo.world import DEMO_PASSWORD
from app.main import create_app
from app.settings import Settings
from tests.processes import CLI, ROOT, emonev
from tests.web.seed import GATED_ROUND

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n% SK PPID 2025\n"
ADMIN = "admin.dki@demo.emonev.id"
OPERATOR = "ppid.kelurahan-gambir@demo.emonev.id"  # a half-filled draft in the open round
POSTGRES_URL = os.environ.get("EMONEV_TEST_POSTGRES_URL")


@dataclass
class Target:
    """A database and an evidence directory, as the ``EMONEV_`` settings of a command name them."""

    database_url: str
    evidence_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return os.environ | {
            "EMONEV_DATABASE_URL": self.database_url,
            "EMONEV_EVIDENCE_DIR": str(self.evidence_dir),
            "EMONEV_ENVIRONMENT": "test",
            "EMONEV_DEMO_DATA": "false",
        }

    def tables(self) -> list[str]:
        engine = create_engine(self.database_url)
        try:
            return inspect(engine).get_table_names()
        finally:
            engine.dispose()


class Databases:
    """New, empty databases of one kind; PostgreSQL ones are dropped at the end."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.root = root
        self.created: list[str] = []

    def new(self, name: str) -> Target:
        evidence = self.root / f"{name}-evidence"
        if self.kind == "sqlite":
            return Target(f"sqlite:///{self.root / name}.sqlite3", evidence)
        assert POSTGRES_URL
        database = f"emonev_backup_{os.getpid()}_{name}"
        self._admin(f'DROP DATABASE IF EXISTS "{database}"', f'CREATE DATABASE "{database}"')
        self.created.append(database)
        return Target(POSTGRES_URL.rsplit("/", 1)[0] + "/" + database, evidence)

    def _admin(self, *statements: str) -> None:
        assert POSTGRES_URL
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
        admin.dispose()

    def drop(self) -> None:
        for database in self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    if request.param == "postgresql" and not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but EMONEV_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL backups skipped: set EMONEV_TEST_POSTGRES_URL to run them")
    found = Databases(request.param, tmp_path)
    yield found
    found.drop()


@dataclass
class Observed:
    """What a user of the service sees of the published round and of the uploaded evidence."""

    rankings: dict[str, Any]
    recap: dict[str, list[tuple[Any, ...]]]
    evidence: bytes


def _api(target: Target) -> TestClient:
    settings = Settings(
        environment="test",
        database_url=target.database_url,
        evidence_dir=target.evidence_dir,
        demo_data=False,
        questionnaires_dir=ROOT / "questionnaires",
    )
    return TestClient(create_app(settings))


def _login(api: TestClient, email: str) -> dict[str, str]:
    response = api.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _rounds(api: TestClient, headers: dict[str, str]) -> dict[str, int]:
    response = api.get("/api/v1/rounds", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item["title"]: item["id"] for item in items}


def _questions(tree: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in tree:
        if "items" in item:
            yield from _questions(item["items"])
        else:
            yield item


def upload_evidence(api: TestClient, content: bytes = PDF) -> int:
    """The operator attaches a PDF to the first question of its draft that takes evidence; the file's id."""
    operator = _login(api, OPERATOR)
    open_round = next(i for title, i in _rounds(api, operator).items() if title != GATED_ROUND)
    listed = api.get(f"/api/v1/rounds/{open_round}/submissions", headers=operator)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    [draft] = body["items"] if isinstance(body, dict) else body
    template = draft["template"]
    tree = api.get(f"/api/v1/templates/{template['key']}/{template['version']}", headers=operator).json()
    code = next(q["code"] for q in _questions(tree["aspects"]) if q.get("evidence", "none") != "none")
    uploaded = api.post(
        f"/api/v1/submissions/{draft['id']}/answers/{code}/files",
        files={"file": ("sk-ppid-2025.pdf", content, "application/pdf")},
        headers=operator,
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id: int = uploaded.json()["id"]
    return file_id


def observe(api: TestClient, file_id: int) -> Observed:
    admin = _login(api, ADMIN)
    round_id = _rounds(api, admin)[GATED_ROUND]
    rankings = {}
    for category in ("kelurahan", "kecamatan"):
        response = api.get(
            f"/api/v1/rounds/{round_id}/rankings", params={"category": category}, headers=admin
        )
        assert response.status_code == 200, response.text
        rankings[category] = response.json()
    recap = api.get(f"/api/v1/rounds/{round_id}/recap.xlsx", headers=admin)
    assert recap.status_code == 200, recap.text
    book = openpyxl.load_workbook(io.BytesIO(recap.content), read_only=True, data_only=True)
    # Every figure of every sheet; the "Dibuat" (made at) row says when the workbook was written.
    cells = {
        sheet.title: [row for row in sheet.iter_rows(values_only=True) if row[:1] != ("Dibuat",)]
        for sheet in book.worksheets
    }
    book.close()
    operator = _login(api, OPERATOR)
    evidence = api.get(f"/api/v1/evidence/{file_id}", headers=operator)
    assert evidence.status_code == 200, evidence.text
    return Observed(rankings=rankings, recap=cells, evidence=evidence.content)


def run(target: Target, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=target.env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def tampered_copy(archive: Path, out: Path) -> str:
    """The archive with one evidence file's bytes changed (its manifest untouched); the member's name."""
    changed = ""
    with tarfile.open(archive, "r:*") as source, tarfile.open(out, "w:gz") as sink:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("evidence/") and not changed:
                data = data.replace(b"SK PPID", b"SK PALSU")
                member.size = len(data)
                changed = member.name
            sink.addfile(member, io.BytesIO(data))
    assert changed
    return changed


def test_a_published_round_survives_backup_and_restore(databases: Databases, tmp_path: Path) -> None:
    source = databases.new("sumber")
    emonev(source.env, "db", "upgrade")
    subprocess.run(
        [*CLI[:1], "-m", "tests.web.seed"],
        env=source.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    with _api(source) as api:
        file_id = upload_evidence(api)
        before = observe(api, file_id)
    assert before.evidence == PDF
    assert before.rankings["kelurahan"]["items"]
    assert any(rows for rows in before.recap.values())

    archive = tmp_path / "emonev-backup.tar.gz"
    done = emonev(source.env, "backup", "--output", str(archive))
    assert "1 evidence files" in done.stdout

    restored = databases.new("pulih")
    assert restored.tables() == []
    # The evidence directory is often a link to a volume (or a mount point): the files go into it, the link
    # stays a link.
    volume = tmp_path / "volume-data-dukung"
    volume.mkdir()
    restored.evidence_dir.symlink_to(volume)
    done = emonev(restored.env, "restore", "--input", str(archive))
    assert done.stdout.startswith(f"restored the {databases.kind} database")
    with _api(restored) as api:
        after = observe(api, file_id)
        # The restored service writes on: its sequences came along.
        assert upload_evidence(api, PDF + b"% revisi\n") > file_id
    assert after.rankings == before.rankings
    assert after.recap == before.recap
    assert after.evidence == before.evidence
    assert restored.evidence_dir.is_symlink()
    assert sum(1 for path in volume.rglob("*") if path.is_file()) == 2  # the restored file and the new one

    # Restoring again into the database that now holds the season is refused and changes nothing.
    again = Target(restored.database_url, tmp_path / "evidence-lain")
    refused = run(again, "restore", "--input", str(archive))
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: the target database is not empty: restore only into a new, empty database\n"
    )
    assert not again.evidence_dir.exists()

    # An archive whose evidence file was altered is refused before anything is written.
    altered = tmp_path / "altered.tar.gz"
    member = tampered_copy(archive, altered)
    fresh = databases.new("baru")
    refused = run(fresh, "restore", "--input", str(altered))
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: {altered} is damaged or was altered (the checksum of {member} does not match the "
        "manifest); nothing was restored\n"
    )
    assert fresh.tables() == []
    assert not fresh.evidence_dir.exists()


def test_a_non_empty_evidence_directory_is_refused(databases: Databases) -> None:
    target = databases.new("kosong")
    target.evidence_dir.mkdir()
    (target.evidence_dir / "lama.pdf").write_bytes(PDF)
    archive = target.evidence_dir.parent / "tidak-dibaca.tar"
    archive.write_bytes(b"")
    refused = run(target, "restore", "--input", str(archive))
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: the evidence directory {target.evidence_dir} is not empty: restore only into an empty "
        "directory\n"
    )
