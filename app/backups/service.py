"""Backups: one archive holding the database and the evidence files, and its restore into an empty service.

The archive is a tar file (gzip-compressed when its name ends in ``.gz`` or ``.tgz``) with these members:

- ``database.pgdump`` (PostgreSQL: ``pg_dump --format=custom``, a consistent snapshot) or ``database.sqlite3``
  (SQLite: a copy made with SQLite's online backup API, consistent while the service keeps writing);
- ``evidence/<sha[:2]>/<sha>``: every evidence file (the staging directory ``tmp/`` left out);
- ``manifest.json``, last: the SHA-256 and size of every other member, the schema revision of the database
  (its Alembic revision), the service's version and the time the backup was made.

The database is copied first and the evidence files after it: files are only ever added (never changed or
deleted), so every file the copied database names is in the archive (a file uploaded meanwhile may be too).

A restore refuses a target that holds anything (a database with tables, a non-empty evidence directory),
then reads the whole archive into a staging directory, checking every member against the manifest, before it
touches the target at all: a damaged or altered archive changes nothing. Only then is the database restored
(``pg_restore`` in one transaction; SQLite's backup API into the new file) and the evidence files moved
into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version as package_version
from pathlib import Path, PurePosixPath
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

from app.db.migrate import alembic_config
from app.errors import Conflict, InvalidInput

FORMAT = 1
MANIFEST = "manifest.json"
PG_MEMBER = "database.pgdump"
SQLITE_MEMBER = "database.sqlite3"
EVIDENCE_PREFIX = "evidence"
STAGING_DIR = "tmp"  # the evidence directory's staging area for uploads under way (app/evidence/storage.py)
PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BackupReport:
    path: Path
    database: str
    evidence_files: int
    size: int
    schema_revision: str | None


@dataclass(frozen=True)
class RestoreReport:
    database: str
    evidence_files: int
    schema_revision: str | None
    created_at: str
    at_head: bool


def _refused(detail: str, indonesian: str) -> InvalidInput:
    return InvalidInput(detail, indonesian=indonesian)


# --- The database -------------------------------------------------------------------------------------------


def _kind(database_url: str) -> str:
    name = make_url(database_url).get_backend_name()
    if name not in {"sqlite", "postgresql"}:
        raise _refused(
            f"cannot back up a {name} database: only PostgreSQL and SQLite",
            "Hanya basis data PostgreSQL dan SQLite yang dapat dicadangkan.",
        )
    return name


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise _refused(
            "an in-memory SQLite database cannot be backed up or restored",
            "Basis data SQLite di memori tidak dapat dicadangkan atau dipulihkan.",
        )
    return Path(database)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    raise _refused(
        f"{name} was not found on PATH nor in {', '.join(map(str, PG_BIN_DIRS))}: install the PostgreSQL "
        "client tools",
        f"Program {name} tidak ditemukan: pasang perangkat klien PostgreSQL.",
    )


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq reads it (no SQLAlchemy driver name) and the environment carrying its password, so
    the password never shows in a process list."""
    url: URL = make_url(database_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit code {done.returncode}"
        raise _refused(f"{what} failed: {reason}", f"{what} gagal.")


def _schema_revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            revision: str | None = MigrationContext.configure(connection).get_current_revision()
            return revision
    finally:
        engine.dispose()


def _dump_database(database_url: str, kind: str, target: Path) -> None:
    if kind == "postgresql":
        url, env = _libpq(database_url)
        _run(
            [_pg_tool("pg_dump"), "--format=custom", f"--file={target}", f"--dbname={url}"],
            env,
            "pg_dump",
        )
        return
    with closing(sqlite3.connect(_sqlite_path(database_url))) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _is_empty_database(database_url: str, kind: str) -> bool:
    if kind == "sqlite":
        path = _sqlite_path(database_url)
        if not path.exists() or path.stat().st_size == 0:
            return True
    engine = create_engine(database_url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _restore_database(database_url: str, kind: str, staged: Path) -> None:
    if kind == "postgresql":
        url, env = _libpq(database_url)
        _run(
            [
                _pg_tool("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                f"--dbname={url}",
                str(staged),
            ],
            env,
            "pg_restore",
        )
        return
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(staged)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


# --- Files --------------------------------------------------------------------------------------------------


def _evidence_files(evidence_dir: Path) -> Iterator[tuple[str, Path]]:
    """(member name, path) of every evidence file, in a stable order."""
    if not evidence_dir.is_dir():
        return
    for path in sorted(evidence_dir.rglob("*")):
        relative = path.relative_to(evidence_dir)
        if relative.parts[0] == STAGING_DIR or not path.is_file() or path.is_symlink():
            continue
        yield str(PurePosixPath(EVIDENCE_PREFIX, *relative.parts)), path


class _Hashing:
    """A file object that hashes what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _add(archive: tarfile.TarFile, name: str, path: Path) -> dict[str, Any]:
    info = archive.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as raw:
        hashing = _Hashing(raw)
        archive.addfile(info, hashing)
    return {"sha256": hashing.sha256.hexdigest(), "size": info.size}


def _place_files(staged: Path, evidence_dir: Path) -> list[Path]:
    """Move the staged evidence into ``evidence_dir``, flushed to disk. Its contents move, never the directory
    itself, so a symlink or a mount point at ``evidence_dir`` stays as it is (``shutil.move`` copies across
    file systems). Returns the top-level paths placed."""
    evidence_dir.mkdir(parents=True, exist_ok=True)
    placed: list[Path] = []
    if not staged.is_dir():
        return placed
    for child in sorted(staged.iterdir()):
        destination = evidence_dir / child.name
        shutil.move(child, destination)
        placed.append(destination)
    for path in placed:
        for inner in [path, *path.rglob("*")] if path.is_dir() else [path]:
            _fsync(inner)
    _fsync(evidence_dir)
    return placed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mode(path: Path, writing: bool) -> str:
    compressed = path.name.endswith((".gz", ".tgz"))
    if writing:
        return "w:gz" if compressed else "w"
    return "r:*"


# --- Backup -------------------------------------------------------------------------------------------------


def backup(*, database_url: str, evidence_dir: Path, output: Path, now: datetime) -> BackupReport:
    """Write the archive to ``output`` (refused when it exists; written to a temporary file beside it and
    renamed into place, so ``output`` is either complete or absent)."""
    kind = _kind(database_url)
    if output.exists():
        raise _refused(
            f"{output} exists already: choose a new file name", f"Berkas {output} sudah ada: pilih nama lain."
        )
    if not output.parent.is_dir():
        raise _refused(
            f"the directory {output.parent} does not exist", f"Direktori {output.parent} tidak ada."
        )
    if kind == "sqlite" and not _sqlite_path(database_url).is_file():
        source = _sqlite_path(database_url)
        raise _refused(f"the SQLite database {source} does not exist", f"Basis data {source} tidak ada.")
    revision = _schema_revision(database_url)
    members: dict[str, dict[str, Any]] = {}
    handle, partial_name = tempfile.mkstemp(prefix=".emonev-backup-", dir=output.parent)
    os.close(handle)
    partial = Path(partial_name)
    try:
        with tempfile.TemporaryDirectory(prefix="emonev-backup-", dir=output.parent) as work:
            database_member = PG_MEMBER if kind == "postgresql" else SQLITE_MEMBER
            dumped = Path(work) / database_member
            _dump_database(database_url, kind, dumped)
            with tarfile.open(partial, _mode(output, writing=True)) as archive:  # type: ignore[call-overload]
                members[database_member] = _add(archive, database_member, dumped)
                dumped.unlink()
                evidence = 0
                for name, path in _evidence_files(evidence_dir):
                    members[name] = _add(archive, name, path)
                    evidence += 1
                manifest = {
                    "format": FORMAT,
                    "service_version": package_version("emonev"),
                    "created_at": now.isoformat(),
                    "schema_revision": revision,
                    "database": {"kind": kind, "member": database_member},
                    "members": members,
                }
                encoded = json.dumps(manifest, indent=2, sort_keys=True).encode()
                staged_manifest = Path(work) / MANIFEST
                staged_manifest.write_bytes(encoded)
                info = archive.gettarinfo(str(staged_manifest), arcname=MANIFEST)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with staged_manifest.open("rb") as raw:
                    archive.addfile(info, raw)
        _fsync(partial)
        partial.replace(output)
        _fsync(output.parent)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(
        path=output,
        database=kind,
        evidence_files=evidence,
        size=output.stat().st_size,
        schema_revision=revision,
    )


# --- Restore ------------------------------------------------------------------------------------------------


def _tampered(archive: Path, reason: str) -> InvalidInput:
    return _refused(
        f"{archive} is damaged or was altered ({reason}); nothing was restored",
        f"Berkas cadangan {archive} rusak atau telah diubah; tidak ada yang dipulihkan.",
    )


def _safe_name(name: str) -> PurePosixPath | None:
    """The member's path when it may be extracted: relative, without ``..``."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


@contextmanager
def _staged(archive_path: Path, staging: Path) -> Iterator[dict[str, Any]]:
    """Extract every member into ``staging`` (hashing as it goes) and check it against the manifest; yield
    the manifest."""
    found: dict[str, dict[str, Any]] = {}
    manifest_bytes: bytes | None = None
    try:
        archive = tarfile.open(archive_path, "r:*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError) as exc:
        raise _tampered(archive_path, f"not a readable tar archive: {exc}") from exc
    with archive:
        try:
            for member in archive:
                if member.isdir():
                    continue
                path = _safe_name(member.name)
                if path is None or not member.isfile():
                    raise _tampered(archive_path, f"unexpected member {member.name!r}")
                if member.name in found or (member.name == MANIFEST and manifest_bytes is not None):
                    raise _tampered(archive_path, f"the member {member.name} appears twice")
                source = archive.extractfile(member)
                assert source is not None  # a regular file
                if member.name == MANIFEST:
                    manifest_bytes = source.read()
                    continue
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                sha256 = hashlib.sha256()
                with target.open("wb") as sink:
                    while chunk := source.read(CHUNK):
                        sha256.update(chunk)
                        sink.write(chunk)
                found[member.name] = {"sha256": sha256.hexdigest(), "size": member.size}
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise _tampered(archive_path, f"cannot be read to its end: {exc}") from exc
    if manifest_bytes is None:
        raise _tampered(archive_path, f"it has no {MANIFEST}")
    try:
        manifest = json.loads(manifest_bytes)
        listed: dict[str, dict[str, Any]] = manifest["members"]
        database = manifest["database"]
        if manifest["format"] != FORMAT or database["member"] not in listed:
            raise ValueError("unknown format")
    except (ValueError, KeyError, TypeError) as exc:
        raise _tampered(archive_path, f"its {MANIFEST} cannot be read") from exc
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            raise _tampered(archive_path, f"{name} is missing")
        if name not in listed:
            raise _tampered(archive_path, f"{name} is not in the manifest")
        if found[name] != {"sha256": listed[name].get("sha256"), "size": listed[name].get("size")}:
            raise _tampered(archive_path, f"the checksum of {name} does not match the manifest")
    yield manifest


def restore(*, database_url: str, evidence_dir: Path, archive: Path) -> RestoreReport:
    """Restore ``archive`` into an empty database and an empty (or absent) evidence directory."""
    kind = _kind(database_url)
    if not archive.is_file():
        raise _refused(f"{archive}: file not found", f"Berkas {archive} tidak ditemukan.")
    if not _is_empty_database(database_url, kind):
        raise Conflict(
            "the target database is not empty: restore only into a new, empty database",
            indonesian="Basis data tujuan tidak kosong: pulihkan hanya ke basis data baru yang kosong.",
        )
    if evidence_dir.exists() and (not evidence_dir.is_dir() or any(evidence_dir.iterdir())):
        raise Conflict(
            f"the evidence directory {evidence_dir} is not empty: restore only into an empty directory",
            indonesian=f"Direktori data dukung {evidence_dir} tidak kosong.",
        )
    evidence_dir.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix=".emonev-restore-", dir=evidence_dir.parent) as work,
        _staged(archive, Path(work)) as manifest,
    ):
        database = manifest["database"]
        if database["kind"] != kind:
            raise _refused(
                f"{archive} holds a {database['kind']} database and the target is {kind}: restore it into "
                f"a {database['kind']} database",
                "Jenis basis data cadangan berbeda dengan basis data tujuan.",
            )
        revision = manifest.get("schema_revision")
        scripts = ScriptDirectory.from_config(alembic_config())
        if revision is not None and scripts.get_revision(revision) is None:
            raise _refused(
                f"{archive} has the schema revision {revision}, which this version of the service does not "
                "know: restore it with the version that made it (or a newer one)",
                "Cadangan dibuat oleh versi layanan yang lebih baru.",
            )
        # Files first, then the database: a database restored without its files could not be restored
        # again (the target is no longer empty), while files placed for a failed database restore are
        # taken back here.
        placed = _place_files(Path(work) / EVIDENCE_PREFIX, evidence_dir)
        try:
            _restore_database(database_url, kind, Path(work) / database["member"])
        except BaseException:
            for path in placed:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            raise
        files = sum(1 for path in evidence_dir.rglob("*") if path.is_file())
    return RestoreReport(
        database=kind,
        evidence_files=files,
        schema_revision=revision,
        created_at=str(manifest.get("created_at")),
        at_head=revision == scripts.get_current_head(),
    )
