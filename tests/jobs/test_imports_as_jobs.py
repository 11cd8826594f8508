"""Imports of bodies as jobs through the API: 202 and Location, the report with row numbers as the job's
result, all or nothing, the same file giving the same job, who may ask, the uploaded file kept only while the
job is pending; and the synchronous imports' row limit. Jobs run here by ``run_queued`` (what the SQLite
server thread does), on both backends."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.models import Account, PublicBody
from app.exports.workbook_safety import XLSX_MEDIA_TYPE
from app.jobs import files
from app.jobs.worker import run_queued
from app.main import create_app
from app.settings import Settings
from tests.factories import World, problem

pytestmark = pytest.mark.db

HEADER = ["Nama Badan Publik", "Kategori", "Kode Wilayah", "Induk", "Email PPID"]
GOOD = [
    ["Kecamatan Impor", "kelurahan", "31.71.06", None, "ppid.impor@jakarta.go.id"],
    ["Kelurahan Impor Satu", "kelurahan", "31.71.06.1002", "Kecamatan Impor", None],
    ["Kelurahan Impor Dua", "kelurahan", "31.71.06.1003", "Kecamatan Impor", "ppid.dua@jakarta.go.id"],
]


def workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ask(
    client: TestClient,
    world: World,
    data: bytes,
    *,
    dry_run: bool = False,
    who: Account | None = None,
    name: str = "badan-publik.xlsx",
    media_type: str = XLSX_MEDIA_TYPE,
) -> Any:
    return client.post(
        f"/api/v1/commissions/{world.commission.id}/bodies/import-jobs",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (name, data, media_type)},
        headers=world.token(who or world.admin),
    )


def poll(client: TestClient, world: World, job_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/jobs/{job_id}", headers=world.token(world.admin))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def imported(session: Session, world: World) -> list[str]:
    names = select(PublicBody.name).where(
        PublicBody.commission_id == world.commission.id, PublicBody.name.like("%Impor%")
    )
    return sorted(session.scalars(names).all())


def inputs(settings: Settings) -> list[str]:
    directory = settings.job_files_dir / files.INPUTS
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def test_a_workbook_with_bad_rows_ends_with_the_report_and_nothing_written(
    client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    rows = [*GOOD, ["", "kelurahan"], ["Kelurahan Impor Tiga", "kabupaten", "31.71"]]
    asked = ask(client, world, workbook(rows))
    assert asked.status_code == 202, asked.text
    job = asked.json()
    assert asked.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["kind"] == "bodies_import"
    assert job["params"]["file_name"] == "badan-publik.xlsx"
    assert inputs(settings) == [f"{job['id']}.xlsx"]

    assert run_queued(session_factory, settings) == 1

    done = poll(client, world, job["id"])
    assert done["status"] == "done", done
    report = done["result"]
    assert report["valid"] is False
    assert report["dry_run"] is False
    assert report["rows"] == 5
    assert report["created"] == 0
    assert [(p["row"], p["column"]) for p in report["problems"]] == [(5, "name"), (6, "category")]
    assert imported(session, world) == []
    assert inputs(settings) == []


def test_a_good_workbook_creates_every_body_and_counts_its_rows(
    client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    data = workbook(GOOD)
    dry = ask(client, world, data, dry_run=True).json()
    run_queued(session_factory, settings)
    checked = poll(client, world, dry["id"])["result"]
    assert checked == checked | {"dry_run": True, "valid": True, "rows": 3, "created": 0}
    assert imported(session, world) == []

    job = ask(client, world, data).json()
    assert job["id"] != dry["id"]
    run_queued(session_factory, settings)
    done = poll(client, world, job["id"])
    assert done["progress"] | {"seconds_left": None} == {
        "done": 6,
        "total": 6,  # three rows checked, then written
        "percent": 100.0,
        "seconds_left": None,
    }
    bodies = {b["name"]: b for b in done["result"]["bodies"]}
    assert done["result"]["created"] == 3
    assert bodies["Kelurahan Impor Dua"]["parent_id"] == bodies["Kecamatan Impor"]["id"]
    assert imported(session, world) == ["Kecamatan Impor", "Kelurahan Impor Dua", "Kelurahan Impor Satu"]
    assert inputs(settings) == []


def test_a_large_imports_result_lists_the_first_bodies_and_counts_the_rest(
    client: TestClient,
    world: World,
    session_factory: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every poll of the job carries its result: it must not grow with the file.
    monkeypatch.setattr("app.bodies.jobs.RESULT_BODIES", 2)
    job = ask(client, world, workbook(GOOD)).json()
    run_queued(session_factory, settings)
    result = poll(client, world, job["id"])["result"]
    assert result["created"] == 3
    assert len(result["bodies"]) == 2
    assert result["bodies_omitted"] == 1


def test_a_csv_goes_through_the_same_job(
    client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    csv = b"name,category,region_code\nKelurahan Impor Csv,kelurahan,31.71.06.1004\n"
    job = ask(client, world, csv, name="badan.csv", media_type="text/csv").json()
    assert job["params"]["format"] == "csv"
    run_queued(session_factory, settings)
    assert poll(client, world, job["id"])["result"]["created"] == 1
    assert imported(session, world) == ["Kelurahan Impor Csv"]


def test_the_same_file_with_the_same_options_while_pending_is_the_same_job(
    client: TestClient, world: World, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    data = workbook(GOOD)
    first = ask(client, world, data).json()
    assert ask(client, world, data).json()["id"] == first["id"]
    assert ask(client, world, data, name="salinan.xlsx").json()["id"] == first["id"]
    dry = ask(client, world, data, dry_run=True).json()
    other = ask(client, world, workbook(GOOD[:1])).json()
    assert len({first["id"], dry["id"], other["id"]}) == 3
    assert inputs(settings) == sorted(f"{j['id']}.xlsx" for j in (first, dry, other))
    assert run_queued(session_factory, settings) == 3
    assert inputs(settings) == []
    # Once it has ended, the same file is a new job.
    assert ask(client, world, data).json()["id"] not in {first["id"], dry["id"], other["id"]}


def test_only_the_commissions_administrators_import_and_see_the_job(
    client: TestClient, world: World, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    data = workbook(GOOD)
    for outsider in (world.operator, world.verifier, world.panelist):
        refused = ask(client, world, data, who=outsider)
        assert refused.status_code == 403, refused.text
    assert inputs(settings) == []
    job = ask(client, world, data, dry_run=True).json()
    for outsider in (world.operator, world.verifier):
        assert client.get(f"/api/v1/jobs/{job['id']}", headers=world.token(outsider)).status_code == 404


def test_a_requester_who_lost_the_administrator_role_meanwhile_imports_nothing(
    client: TestClient,
    world: World,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    job = ask(client, world, workbook(GOOD)).json()
    world.admin.role = "verifier"
    session.flush()
    run_queued(session_factory, settings)
    world.admin.role = "commission_admin"
    session.flush()
    failed = poll(client, world, job["id"])
    assert failed["status"] == "failed"
    assert "bukan lagi administrator" in failed["error_indonesian"]
    assert imported(session, world) == []
    assert inputs(settings) == []


def test_a_file_that_is_not_a_workbook_is_refused_at_once(client: TestClient, world: World) -> None:
    refused = ask(client, world, b"PK\x03\x04 not really a zip")
    assert refused.status_code == 422
    assert problem(refused)["errors"][0]["field"] == "file"


def test_a_retried_import_whose_file_is_gone_fails_asking_for_it_again(
    client: TestClient, world: World, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    job = ask(client, world, workbook(GOOD), dry_run=True).json()
    run_queued(session_factory, settings)
    again = client.post(f"/api/v1/jobs/{job['id']}/retry", headers=world.token(world.admin)).json()
    run_queued(session_factory, settings)
    failed = poll(client, world, again["id"])
    assert failed["status"] == "failed"
    assert "Unggah berkas itu sekali lagi" in failed["error_indonesian"]


def test_the_input_of_a_job_cancelled_while_queued_is_swept(
    client: TestClient, world: World, session: Session, settings: Settings
) -> None:
    job = ask(client, world, workbook(GOOD)).json()
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=world.token(world.admin)).status_code == 200
    files.remove_expired(session, settings.job_files_dir, utcnow())
    assert inputs(settings) == []


def test_the_input_of_a_request_not_yet_committed_is_left_alone(session: Session, settings: Settings) -> None:
    files.store_input(settings.job_files_dir, 987654, b"data", ".csv")
    files.remove_expired(session, settings.job_files_dir, utcnow())
    assert inputs(settings) == ["987654.csv"]
    files.remove_expired(session, settings.job_files_dir, utcnow() + timedelta(hours=2))
    assert inputs(settings) == []


def test_a_synchronous_import_past_the_row_limit_points_at_the_job_form(
    settings: Settings, session_factory: sessionmaker[Session], world: World, tmp_path: Path
) -> None:
    small = settings.model_copy(update={"sync_import_max_rows": 2})
    with TestClient(create_app(small, session_factory=session_factory)) as client:
        for path, data, media_type in (
            ("import.xlsx", workbook(GOOD), XLSX_MEDIA_TYPE),
            ("import", b"name,category\nA,kelurahan\nB,kelurahan\nC,kelurahan\n", "text/csv"),
        ):
            refused = client.post(
                f"/api/v1/commissions/{world.commission.id}/bodies/{path}",
                files={"file": ("f", data, media_type)},
                headers=world.token(world.admin),
            )
            assert refused.status_code == 409, refused.text
            form = f"/api/v1/commissions/{world.commission.id}/bodies/import-jobs"
            assert problem(refused)["job_request"] == {"method": "POST", "href": form}
        within = client.post(
            f"/api/v1/commissions/{world.commission.id}/bodies/import.xlsx",
            files={"file": ("f", workbook(GOOD[:2]), XLSX_MEDIA_TYPE)},
            headers=world.token(world.admin),
        )
        assert within.status_code == 200, within.text
