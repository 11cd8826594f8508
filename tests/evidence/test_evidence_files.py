"""Evidence files: content-checked, size-limited while streaming, content-addressed, counted in the score."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, EvidenceFile
from app.settings import Settings
from tests.factories import World, get_json, now, problem, tiny_pdf, tiny_png
from tests.submissions.helpers import open_submission, put_answers, snapshot, submit_anyway

JPEG_HEAD = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
)


@pytest.fixture
def sub(client: TestClient, world: World) -> dict[str, Any]:
    return open_submission(client, world)


@pytest.fixture
def op(world: World) -> dict[str, str]:
    return world.token(world.operator)


def upload(
    client: TestClient,
    sub_id: int,
    headers: dict[str, str],
    content: bytes,
    *,
    code: str = "1.1.1",
    name: str = "dip-2024.pdf",
    declared: str = "application/pdf",
) -> Any:
    return client.post(
        f"/api/v1/submissions/{sub_id}/answers/{code}/files",
        headers=headers,
        files={"file": (name, content, declared)},
    )


def stored_blobs(settings: Settings) -> list[str]:
    root = settings.evidence_dir
    return sorted(p.name for p in root.glob("*/*") if p.parent.name != "tmp") if root.exists() else []


def leftover_temp_files(settings: Settings) -> list[str]:
    tmp = settings.evidence_dir / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def test_a_pdf_is_stored_by_its_hash_and_downloads_intact(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], settings: Settings, world: World
) -> None:
    pdf = tiny_pdf()
    sha = hashlib.sha256(pdf).hexdigest()

    response = upload(client, sub["id"], op, pdf)

    assert response.status_code == 201, response.text
    meta = response.json()
    assert meta["sha256"] == sha
    assert (meta["size"], meta["content_type"], meta["name"]) == (len(pdf), "application/pdf", "dip-2024.pdf")
    assert meta["uploaded_by_id"] == world.operator.id
    assert (settings.evidence_dir / sha[:2] / sha).read_bytes() == pdf
    assert leftover_temp_files(settings) == []

    download = client.get(meta["url"], headers=op)
    assert download.status_code == 200
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="dip-2024.pdf"')
    assert download.headers["x-content-type-options"] == "nosniff"

    answers = get_json(client, f"/api/v1/submissions/{sub['id']}", op)["answers"]
    assert [f["id"] for f in answers["1.1.1"]["files"]] == [meta["id"]]


def test_an_uploaded_file_counts_as_evidence_until_it_is_removed(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    put_answers(client, sub["id"], op, {"1.1.1": {"value": "yes"}, "1.1.2": {"value": "a"}}, 1)
    score_url = f"/api/v1/submissions/{sub['id']}/score"
    # Aspect 1 without evidence: 1.1.1 0 of 2, 1.1.2 2 of 2 -> 50; aspect 2 unanswered -> 0; SAQ 30.00.
    assert get_json(client, score_url, op)["score"] == "30.00"

    meta = upload(client, sub["id"], op, tiny_pdf()).json()
    # With the file: aspect 1 4 of 4 -> 100; SAQ = 100 x 0.6 = 60.00.
    with_file = get_json(client, score_url, op)
    assert (with_file["score"], with_file["band"]) == ("60.00", "cukup-informatif")
    checklist = get_json(client, f"/api/v1/submissions/{sub['id']}/checklist", op)
    assert checklist["evidence_missing"] == []

    assert client.delete(meta["url"], headers=op).status_code == 204
    assert get_json(client, score_url, op)["score"] == "30.00"
    assert client.get(meta["url"], headers=op).status_code == 404


def test_png_and_jpeg_are_recognised_by_content_whatever_their_name(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    png = upload(client, sub["id"], op, tiny_png(), name="foto.pdf", declared="application/pdf")
    jpeg = upload(client, sub["id"], op, JPEG_HEAD, name="ruang-layanan", declared="text/plain")

    assert (png.status_code, png.json()["content_type"]) == (201, "image/png")
    assert (jpeg.status_code, jpeg.json()["content_type"]) == (201, "image/jpeg")


def test_a_text_file_named_pdf_is_415_and_nothing_is_kept(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, settings: Settings
) -> None:
    before = snapshot(session, sub["id"])

    response = upload(client, sub["id"], op, b"Ini bukan PDF, hanya teks.\n" * 10, name="laporan.pdf")

    assert response.status_code == 415
    assert problem(response)["errors"][0]["field"] == "file"
    assert snapshot(session, sub["id"]) == before
    assert stored_blobs(settings) == []
    assert leftover_temp_files(settings) == []


def test_an_oversize_file_is_413_and_nothing_is_kept(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, settings: Settings
) -> None:
    settings.evidence_max_bytes = 4096
    pdf = tiny_pdf()
    big = pdf + b"%" + b"x" * (4096 - len(pdf))  # one byte over the limit
    before = snapshot(session, sub["id"])

    response = upload(client, sub["id"], op, big)

    assert len(big) == 4097
    assert response.status_code == 413
    assert problem(response)["max_bytes"] == 4096
    assert snapshot(session, sub["id"]) == before
    assert stored_blobs(settings) == []
    assert leftover_temp_files(settings) == []


def test_a_file_of_exactly_the_limit_is_accepted(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], settings: Settings
) -> None:
    settings.evidence_max_bytes = 4096
    pdf = tiny_pdf()
    exact = pdf + b"%" + b"x" * (4095 - len(pdf))
    assert upload(client, sub["id"], op, exact).status_code == 201


def test_the_limit_holds_for_a_chunked_body_without_content_length(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], settings: Settings
) -> None:
    settings.evidence_max_bytes = 64 * 1024
    boundary = "batas-uji"

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="besar.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode() + b"%PDF-1.4\n"
        for _ in range(1000):  # 16 MB
            yield b"0" * 16384
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        f"/api/v1/submissions/{sub['id']}/answers/1.1.1/files",
        headers=op | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
    )

    assert response.status_code == 413
    assert leftover_temp_files(settings) == []
    assert stored_blobs(settings) == []


def test_a_declared_content_length_over_the_limit_is_refused_before_reading(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], settings: Settings
) -> None:
    settings.evidence_max_bytes = 1024
    response = client.post(
        f"/api/v1/submissions/{sub['id']}/answers/1.1.1/files",
        headers=op | {"Content-Type": "multipart/form-data; boundary=b"},
        content=b"x" * (1024 + 64 * 1024),
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("content_type", "content", "status"),
    [
        ("application/pdf", tiny_pdf(), 415),
        ("multipart/form-data", b"", 415),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
            422,
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n\r\n--b--\r\n',
            422,
        ),
    ],
    ids=["not-multipart", "no-boundary", "no-file-part", "empty-file"],
)
def test_bodies_without_a_usable_file_are_refused(
    client: TestClient,
    sub: dict[str, Any],
    op: dict[str, str],
    content_type: str,
    content: bytes,
    status: int,
    settings: Settings,
) -> None:
    response = client.post(
        f"/api/v1/submissions/{sub['id']}/answers/1.1.1/files",
        headers=op | {"Content-Type": content_type},
        content=content,
    )
    assert response.status_code == status
    problem(response)
    assert leftover_temp_files(settings) == []


def test_a_question_outside_the_template_is_404(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    response = upload(client, sub["id"], op, tiny_pdf(), code="9.9.9")
    assert response.status_code == 404
    problem(response)


def test_another_bodys_operator_cannot_upload_download_or_remove(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], world: World, settings: Settings
) -> None:
    meta = upload(client, sub["id"], op, tiny_pdf()).json()
    other = world.token(world.other_operator)

    assert upload(client, sub["id"], other, tiny_pdf("lain")).status_code == 403
    assert client.get(meta["url"], headers=other).status_code == 403
    assert client.get(meta["url"], headers=world.token(world.verifier)).status_code == 403
    assert client.delete(meta["url"], headers=other).status_code == 403
    assert client.delete(meta["url"], headers=world.token(world.admin)).status_code == 403
    assert client.get(meta["url"], headers=world.token(world.admin)).status_code == 200
    assert len(stored_blobs(settings)) == 1


def test_no_upload_or_removal_after_submitting(
    client: TestClient, sub: dict[str, Any], op: dict[str, str]
) -> None:
    meta = upload(client, sub["id"], op, tiny_pdf()).json()
    assert submit_anyway(client, sub["id"], op).status_code == 200

    assert upload(client, sub["id"], op, tiny_pdf("baru")).status_code == 409
    assert client.delete(meta["url"], headers=op).status_code == 409
    assert client.get(meta["url"], headers=op).status_code == 200


def test_no_upload_after_the_deadline(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session, world: World
) -> None:
    world.round.saq_closes_at = now() - timedelta(seconds=1)
    session.flush()
    response = upload(client, sub["id"], op, tiny_pdf())
    assert response.status_code == 409
    assert problem(response)["type"].endswith("/window-closed")


def test_removing_one_copy_keeps_the_blob_of_another(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], settings: Settings
) -> None:
    pdf = tiny_pdf()
    first = upload(client, sub["id"], op, pdf, code="1.1.1").json()
    second = upload(client, sub["id"], op, pdf, code="1.1.2").json()

    assert first["sha256"] == second["sha256"]
    assert client.delete(first["url"], headers=op).status_code == 204
    assert client.get(second["url"], headers=op).content == pdf
    assert stored_blobs(settings) == [first["sha256"]]


def test_names_are_sanitised(client: TestClient, sub: dict[str, Any], op: dict[str, str]) -> None:
    traversal = upload(client, sub["id"], op, tiny_pdf(), name="../../etc/laporan.pdf").json()
    unicode_name = upload(client, sub["id"], op, tiny_pdf("b"), name="Laporan Layanan – 2024.pdf").json()

    assert traversal["name"] == "laporan.pdf"
    download = client.get(unicode_name["url"], headers=op)
    assert download.headers["content-disposition"] == (
        'attachment; filename="Laporan Layanan _ 2024.pdf"; '
        "filename*=UTF-8''Laporan%20Layanan%20%E2%80%93%202024.pdf"
    )


def test_uploads_and_removals_are_audited(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], session: Session
) -> None:
    meta = upload(client, sub["id"], op, tiny_pdf()).json()
    client.delete(meta["url"], headers=op)

    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "evidence_file").order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["evidence.upload", "evidence.remove"]
    assert entries[0].after["sha256"] == meta["sha256"]
    row = session.get_one(EvidenceFile, meta["id"])
    assert row.removed_at is not None


def test_at_most_ten_files_per_question(client: TestClient, sub: dict[str, Any], op: dict[str, str]) -> None:
    statuses = [upload(client, sub["id"], op, tiny_pdf(f"bukti {i}")).status_code for i in range(11)]
    assert statuses == [201] * 10 + [409]


@pytest.mark.parametrize(
    ("asked", "status", "part"),
    [
        ("bytes=0-3", 206, slice(0, 4)),  # a resumed download gets the part it asked for
        ("bytes=-5", 206, slice(-5, None)),
        ("bytes=99999999-", 200, slice(None)),  # past the end: the whole file, never a plain-text 416
        ("items=0-3", 200, slice(None)),  # malformed: the whole file, never a plain-text 400
        ("bytes=0-1,4-5", 200, slice(None)),  # several ranges: the whole file, not multipart/byteranges
    ],
)
def test_a_download_honours_one_byte_range_and_ignores_any_other(
    client: TestClient, sub: dict[str, Any], op: dict[str, str], asked: str, status: int, part: slice
) -> None:
    pdf = tiny_pdf()
    file_id = upload(client, sub["id"], op, pdf).json()["id"]

    response = client.get(f"/api/v1/evidence/{file_id}", headers={**op, "Range": asked})

    assert response.status_code == status, response.text
    assert response.content == pdf[part]
    assert response.headers["content-type"] == "application/pdf"
    if status == 206:
        assert response.headers["content-range"].endswith(f"/{len(pdf)}")


@pytest.mark.parametrize(
    ("files", "content_type"),
    [
        (
            [
                ("file", ("a.pdf", b"%PDF-1", "application/pdf")),
                ("file", ("b.pdf", b"%PDF-1", "application/pdf")),
            ],
            None,
        ),
        (None, "multipart/form-data"),  # no boundary
    ],
)
def test_an_unreadable_multipart_form_is_a_422_naming_the_file(
    client: TestClient, world: World, files: Any, content_type: str | None
) -> None:
    admin = world.token(world.system_admin)
    headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/api/v1/templates", headers=headers, files=files, content=None if files else b"x")

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert problem(response)["errors"][0]["field"] == "file"


def test_a_form_field_whose_name_holds_a_nul_is_refused(client: TestClient, world: World) -> None:
    """Found by schemathesis (seed 1929111370): an extra field was ignored, its unstorable name accepted."""
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.yaml"\r\n\r\nkey: a\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="x\x00y"\r\n\r\n\r\n--{boundary}--\r\n'
    ).encode()
    response = client.post(
        "/api/v1/templates",
        headers={
            **world.token(world.system_admin),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body,
    )
    assert response.status_code == 422, response.text
    assert problem(response)["errors"][0]["message"] == "NUL is not allowed"
