"""``emonev serve`` killed with SIGKILL in the middle of work loses nothing it acknowledged and leaves nothing
half-written: concurrent answer saves (every 2xx save is there after a restart, each save whole), and a
bodies import from a workbook of thousands of rows (all rows or none)."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from openpyxl import Workbook

from tests.faults.live import ADMIN, OPEN_ROUND, OPERATORS, SETTINGS, log_in, postgres_database, psycopg_url
from tests.processes import LiveServer, serve

CODES = ("1.1.1", "1.2.1", "1.2.2", "1.3.1", "1.3.2")  # questions every demo SAQ has
SAVES_BEFORE_KILL = 40
IMPORT_ROWS = 3000


@dataclass
class Saver:
    """One operator saving its submission over and over, every save writing one marker into all ``CODES``."""

    url: str
    email: str
    submission_id: int = 0
    acknowledged: dict[int, str] = field(default_factory=dict)  # version -> marker
    in_flight: str | None = None

    def run(self, stop: threading.Event, saved: threading.Semaphore) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            auth = log_in(client, self.email)
            opened = client.post(f"/api/v1/rounds/{OPEN_ROUND}/submissions", headers=auth)
            self.submission_id = opened.json()["id"]
            version = opened.headers["etag"]
            n = 0
            while not stop.is_set():
                n += 1
                marker = f"{self.email} save {n}"
                self.in_flight = marker
                try:
                    answer = client.put(
                        f"/api/v1/submissions/{self.submission_id}/answers",
                        headers=auth | {"If-Match": version},
                        json={"answers": {code: {"note": marker} for code in CODES}},
                    )
                except httpx.TransportError:
                    return  # the server is gone: this save may or may not have been stored
                assert answer.status_code == 200, answer.text
                self.in_flight = None
                version = answer.headers["etag"]
                self.acknowledged[int(version.strip('"'))] = marker
                saved.release()


def test_kill_during_concurrent_saves_loses_no_acknowledged_save(tmp_path: Path) -> None:
    with postgres_database() as url:
        with serve(tmp_path, SETTINGS, prepare=[], database_url=url) as server:
            savers = [Saver(server.url, email) for email in OPERATORS]
            stop, saved = threading.Event(), threading.Semaphore(0)
            threads = [threading.Thread(target=s.run, args=(stop, saved)) for s in savers]
            for thread in threads:
                thread.start()
            for _ in range(SAVES_BEFORE_KILL):
                assert saved.acquire(timeout=60), "the saves did not get going"
            server.process.kill()
            server.process.wait(timeout=10)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

        with (
            serve(tmp_path, SETTINGS, prepare=[], database_url=url) as restarted,
            httpx.Client(base_url=restarted.url, timeout=30) as client,
        ):
            for saver in savers:
                stored = client.get(
                    f"/api/v1/submissions/{saver.submission_id}", headers=log_in(client, saver.email)
                ).json()
                notes = {stored["answers"].get(code, {}).get("note") for code in CODES}
                assert len(notes) == 1, f"half-written save: {notes}"
                (note,) = notes
                last = max(saver.acknowledged, default=1)
                assert stored["version"] in {last, last + 1}, (stored["version"], last)
                if stored["version"] == last:
                    assert note == saver.acknowledged.get(last), (note, saver.acknowledged.get(last))
                else:  # the save in flight at the kill was committed, its answer never sent
                    assert note == saver.in_flight


def bodies_workbook(rows: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "category", "region_code", "parent", "ppid_email"])
    for i in range(rows):
        sheet.append([f"Kelurahan Uji {i:05d}", "kelurahan", "31.71.06.1001", None, f"ppid{i}@uji.go.id"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def count_bodies(url: str) -> int:
    with psycopg.connect(psycopg_url(url)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM public_body WHERE name LIKE 'Kelurahan Uji %'"
        ).fetchone()
        assert row is not None
        return int(row[0])


def wait_for_inserts(url: str, server: LiveServer, seconds: float = 60) -> None:
    """Until another session holds the lock that inserting into ``public_body`` takes (the import's)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(psycopg_url(url), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            assert server.process.poll() is None
            inserting = watcher.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = "
                "'public_body' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
            ).fetchone()
            if inserting and inserting[0]:
                return
            time.sleep(0.005)
    raise AssertionError("the import never started inserting")


def test_kill_during_an_import_leaves_all_rows_or_none(tmp_path: Path) -> None:
    workbook = bodies_workbook(IMPORT_ROWS)
    with postgres_database() as url:
        with serve(tmp_path, SETTINGS, prepare=[], database_url=url) as server:
            client = httpx.Client(base_url=server.url, timeout=120)
            auth = log_in(client, ADMIN)
            outcome: list[object] = []

            def send() -> None:
                try:
                    outcome.append(
                        client.post(
                            "/api/v1/commissions/1/bodies/import.xlsx?dry_run=false",
                            headers=auth | {"Content-Type": "application/octet-stream"},
                            content=workbook,
                        )
                    )
                except httpx.TransportError as exc:
                    outcome.append(exc)

            importer = threading.Thread(target=send)
            importer.start()
            wait_for_inserts(url, server)
            server.process.kill()
            server.process.wait(timeout=10)
            importer.join(timeout=60)
            client.close()

        stored = count_bodies(url)
        (answer,) = outcome
        if isinstance(answer, httpx.Response):  # finished before the kill: then everything is there
            assert answer.status_code == 201, answer.text
            assert stored == IMPORT_ROWS
        else:
            assert stored in {0, IMPORT_ROWS}, stored
