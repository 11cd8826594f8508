"""The upload stream: stops reading at the size limit and decides the type from the content."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.errors import PayloadTooLarge, UnsupportedMedia
from app.evidence.storage import StagedUpload, durable_replace, receive_upload, sanitise_name, sniff

BOUNDARY = "batas"
HEAD = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bukti.pdf"\r\n\r\n').encode()
TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


class Body:
    """An async request body that counts how much of it was read."""

    def __init__(self, content: bytes, *, chunk: int = 1024, chunks: int = 1) -> None:
        self.parts = [HEAD + content[:chunk]] + [
            content[i : i + chunk] for i in range(chunk, len(content), chunk)
        ]
        self.parts += [b"x" * chunk] * (chunks - 1) + [TAIL]
        self.read = 0

    async def stream(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.read += 1
            yield part


def receive(body: Body, tmp_path: Path, max_bytes: int) -> StagedUpload:
    upload = receive_upload(
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        content_length=None,
        chunks=body.stream(),
        evidence_dir=tmp_path,
        max_bytes=max_bytes,
    )
    # A fresh thread has no running event loop, even when a browser test's loop runs in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, upload).result()


def test_reading_stops_as_soon_as_the_file_passes_the_limit(tmp_path: Path) -> None:
    body = Body(b"%PDF-1.4\n", chunk=1024, chunks=10_000)  # about 10 MB offered

    with pytest.raises(PayloadTooLarge):
        receive(body, tmp_path, max_bytes=4 * 1024)

    assert body.read <= 6
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_staged_upload_commits_to_its_content_address(tmp_path: Path) -> None:
    content = b"%PDF-1.4\n" + b"1" * 3000
    staged = receive(Body(content), tmp_path, max_bytes=4096)

    final = staged.commit(tmp_path)

    assert (staged.size, staged.content_type, staged.original_name) == (
        len(content),
        "application/pdf",
        "bukti.pdf",
    )
    assert final == tmp_path / staged.sha256[:2] / staged.sha256
    assert final.read_bytes() == content
    assert list((tmp_path / "tmp").iterdir()) == []


def test_committing_the_same_content_twice_is_harmless(tmp_path: Path) -> None:
    content = b"%PDF-1.4\nsame"
    first = receive(Body(content), tmp_path, max_bytes=4096)
    second = receive(Body(content), tmp_path, max_bytes=4096)

    assert first.commit(tmp_path) == second.commit(tmp_path)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert [p.name for p in tmp_path.glob("*/*") if p.parent.name != "tmp"] == [first.sha256]


def test_a_durable_replace_flushes_the_content_before_the_rename_and_the_directories_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "tmp" / "upload-1"
    source.parent.mkdir()
    source.write_bytes(b"%PDF-1.4\nisi")
    target = tmp_path / "ab" / "abcdef"
    flushed: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # the real fsync, noting what it flushed and whether the rename was done
        flushed.append((os.readlink(f"/proc/self/fd/{fd}"), target.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)

    durable_replace(source, target)

    assert flushed == [(str(source), False), (str(target.parent), True), (str(tmp_path), True)]
    assert target.read_bytes() == b"%PDF-1.4\nisi"
    assert not source.exists()


def test_content_that_is_not_pdf_png_or_jpeg_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMedia):
        receive(Body(b"<html>%PDF-1.4</html>"), tmp_path, max_bytes=4096)
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"PK\x03\x04", None),
        (b"%PDF", None),
        (b"", None),
    ],
)
def test_sniffing(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\ppid\\DIP 2024.pdf", "DIP 2024.pdf"),
        ('a"b;c.pdf', "a_b_c.pdf"),
        ("line\r\nbreak.pdf", "linebreak.pdf"),
        ("", "bukti.pdf"),
        ("...", "bukti.pdf"),
        (None, "bukti.pdf"),
        ("x" * 300 + ".pdf", "x" * 200),
    ],
)
def test_sanitised_names(raw: str | None, expected: str) -> None:
    assert sanitise_name(raw, "application/pdf") == expected
