"""Evidence blobs on disk, content-addressed: ``<evidence_dir>/<sha[:2]>/<sha>``.

An upload is streamed from the request (which ``app.request_body`` has read in full before the route runs,
so no database connection waits on a slow client) into a temporary file in ``<evidence_dir>/tmp`` (same file
system, so the final ``os.replace`` is atomic), hashing and counting as it goes and stopping as soon as it
passes the size limit. The type is decided from the first bytes of the content (PDF, PNG, JPEG), never from
the file name or the client's Content-Type.

Several app processes may share the directory: two uploads of the same content both rename a complete file
onto the same name, so readers only ever see a complete blob. A blob is on the disk before its upload is
acknowledged: its content is flushed to the disk before the rename and its directory after it
(``durable_replace``). Blobs are never deleted by the service (rows are only marked removed), so a blob
shared by several rows can never vanish under one of them, and removing a file changes nothing on the disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.errors import FieldProblem, InvalidInput, PayloadTooLarge, UnsupportedMedia

# Room for the multipart envelope (boundaries, part headers) beyond the file itself.
ENVELOPE_ALLOWANCE = 16 * 1024
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
SNIFF_BYTES = 8
FILE_FIELD = "file"


def sniff(head: bytes) -> str | None:
    """The content type named by the first bytes, or None when they are not PDF, PNG or JPEG."""
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    return None


def sanitise_name(raw: str | None, content_type: str) -> str:
    """A display name safe for headers and file systems: base name only, no control or quoting characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'["<>:|?*;]', "_", name).strip(" .")
    if not name:
        name = "bukti." + {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[content_type]
    return name[:200]


def blob_path(evidence_dir: Path, sha256: str) -> Path:
    return evidence_dir / sha256[:2] / sha256


def fsync_path(path: Path) -> None:
    """Flush a file's content, or a directory's entries, to the disk."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_replace(source: Path, target: Path) -> None:
    """Rename ``source`` onto ``target`` so that, once this returns, a power loss keeps ``target`` whole:
    the file's content is flushed before the rename (so the name never points at unwritten data), and the
    target's directory after it (the rename is an entry of that directory), with the directory above it too
    (it holds the entry of the target's directory, which may have just been made)."""
    fsync_path(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    fsync_path(target.parent)
    fsync_path(target.parent.parent)


@dataclass
class StagedUpload:
    """A received file waiting in the temporary directory until it is committed to its content address."""

    temp_path: Path
    sha256: str
    size: int
    content_type: str
    original_name: str

    def commit(self, evidence_dir: Path) -> Path:
        """Move the file to its content address atomically and durably (idempotent for identical content)."""
        final = blob_path(evidence_dir, self.sha256)
        durable_replace(self.temp_path, final)
        return final

    def discard(self) -> None:
        self.temp_path.unlink(missing_ok=True)


@dataclass
class _FilePart:
    """Streaming state of the one file part of a multipart body."""

    temp_dir: Path
    max_bytes: int
    headers: dict[str, bytes] = field(default_factory=dict)
    _header_field: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    in_file_part: bool = False
    seen_file: bool = False
    filename: str | None = None
    head: bytearray = field(default_factory=bytearray)
    size: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    sink: IO[bytes] | None = None
    temp_path: Path | None = None
    too_large: bool = False

    # --- parser callbacks ---
    def on_part_begin(self) -> None:
        self.headers = {}
        self.in_file_part = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self.headers[name] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", b""))
        if options.get(b"name", b"").decode("utf-8", errors="replace") != FILE_FIELD or self.seen_file:
            return
        self.in_file_part = True
        self.seen_file = True
        raw_name = options.get(b"filename")
        self.filename = raw_name.decode("utf-8", errors="replace") if raw_name is not None else None
        fd, name = tempfile.mkstemp(dir=self.temp_dir, prefix="upload-")
        self.temp_path = Path(name)
        self.sink = os.fdopen(fd, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file_part or self.sink is None or self.too_large:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.too_large = True
            return
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        self.digest.update(chunk)
        self.sink.write(chunk)

    def on_part_end(self) -> None:
        self.in_file_part = False

    def close(self) -> None:
        if self.sink is not None and not self.sink.closed:
            self.sink.close()  # flushed to the disk when it is committed (durable_replace)

    def abandon(self) -> None:
        if self.sink is not None and not self.sink.closed:
            self.sink.close()
        if self.temp_path is not None:
            self.temp_path.unlink(missing_ok=True)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    megabytes = f"{max_bytes / 1024 / 1024:g}".replace(".", ",")
    text = f"Berkas data dukung paling besar {megabytes} MB. Perkecil berkas, lalu unggah lagi."
    return PayloadTooLarge(
        f"an evidence file may be at most {max_bytes} bytes ({max_bytes / 1024 / 1024:g} MB)",
        errors=[FieldProblem(FILE_FIELD, f"larger than {max_bytes} bytes", text)],
        indonesian=text,
        max_bytes=max_bytes,
    )


async def receive_upload(
    *,
    content_type: str | None,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
    evidence_dir: Path,
    max_bytes: int,
) -> StagedUpload:
    """Stream a ``multipart/form-data`` body with one part named ``file`` into a staged temporary file.

    Raises PayloadTooLarge as soon as the file passes ``max_bytes`` (or at once when Content-Length says
    so), UnsupportedMedia unless the content is a PDF, PNG or JPEG, and InvalidInput when there is no file.
    """
    mime, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise UnsupportedMedia(
            "send the evidence as multipart/form-data with the file in a part named 'file'",
            errors=[
                FieldProblem(
                    "content-type",
                    "expected multipart/form-data with a boundary",
                    "Berkas tidak terkirim sebagai unggahan berkas.",
                )
            ],
            indonesian="Berkas tidak terkirim sebagai unggahan berkas. Pilih berkas lagi, lalu unggah.",
        )
    body_limit = max_bytes + ENVELOPE_ALLOWANCE
    if content_length is not None and content_length.isdigit() and int(content_length) > body_limit:
        raise _too_large(max_bytes)
    temp_dir = evidence_dir / "tmp"
    temp_dir.mkdir(parents=True, exist_ok=True)
    part = _FilePart(temp_dir=temp_dir, max_bytes=max_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": part.on_part_begin,
            "on_part_data": part.on_part_data,
            "on_part_end": part.on_part_end,
            "on_header_field": part.on_header_field,
            "on_header_value": part.on_header_value,
            "on_header_end": part.on_header_end,
            "on_headers_finished": part.on_headers_finished,
        },
    )
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > body_limit:
                raise _too_large(max_bytes)
            parser.write(chunk)
            if part.too_large:
                raise _too_large(max_bytes)
        parser.finalize()
        part.close()
    except MultipartParseError as exc:
        part.abandon()
        raise InvalidInput(
            "the multipart body is malformed",
            errors=[FieldProblem("body", str(exc) or "cannot be parsed", "Unggahan rusak di perjalanan.")],
            indonesian="Unggahan rusak di perjalanan. Pilih berkas lagi, lalu unggah.",
        ) from exc
    except BaseException:
        part.abandon()
        raise
    if not part.seen_file or part.temp_path is None:
        raise InvalidInput(
            "no file was sent",
            errors=[
                FieldProblem(
                    FILE_FIELD, "add the file in a part named 'file'", "Belum ada berkas yang dipilih."
                )
            ],
            indonesian="Belum ada berkas yang dipilih. Pilih dokumen PDF, lalu unggah.",
        )
    if part.size == 0:
        part.temp_path.unlink(missing_ok=True)
        raise InvalidInput(
            "the file is empty",
            errors=[FieldProblem(FILE_FIELD, "empty file", "Berkas kosong.")],
            indonesian="Berkas yang dipilih kosong (0 bita). Pilih dokumen yang berisi, lalu unggah.",
        )
    detected = sniff(bytes(part.head))
    if detected is None:
        part.temp_path.unlink(missing_ok=True)
        text = "Berkas ini bukan dokumen PDF atau gambar PNG/JPEG (diperiksa dari isinya, bukan namanya)."
        raise UnsupportedMedia(
            "evidence must be a PDF, PNG or JPEG file (checked by its content, not its name)",
            errors=[FieldProblem(FILE_FIELD, "content is not a PDF, PNG or JPEG", text)],
            indonesian=text + " Unggah dokumen PDF.",
        )
    return StagedUpload(
        temp_path=part.temp_path,
        sha256=part.digest.hexdigest(),
        size=part.size,
        content_type=detected,
        original_name=sanitise_name(part.filename, detected),
    )
