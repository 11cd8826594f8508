"""Reading an uploaded file: a multipart field ``file`` or the raw request body, within a size limit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import FieldProblem, InvalidInput, PayloadTooLarge, UnsupportedMedia
from app.inputs import NUL

MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None
    content_type: str


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _too_large(max_bytes: int) -> PayloadTooLarge:
    megabytes = f"{max_bytes / 1_048_576:.1f}".removesuffix(".0").replace(".", ",")
    return PayloadTooLarge(
        f"the upload is larger than the limit of {max_bytes} bytes",
        indonesian=f"Berkas lebih besar dari batas {megabytes} MB.",
    )


async def read_upload(request: Request, *, raw_types: Collection[str], max_bytes: int, what: str) -> Upload:
    """The uploaded bytes: from the multipart form field ``file``, or the whole body when it is sent with one
    of ``raw_types``. 415 for any other media type, 413 past ``max_bytes``, 422 when empty."""
    kind = media_type(request)
    if kind == MULTIPART:
        try:
            form = await request.form(max_files=1, max_fields=10)
        except StarletteHTTPException as exc:  # no boundary, a second file, too many fields: Starlette's 400
            raise InvalidInput(
                f"the multipart form cannot be read: {exc.detail}",
                errors=[FieldProblem("file", str(exc.detail), "Formulir unggahan tidak terbaca.")],
                indonesian="Formulir unggahan tidak terbaca: kirim satu berkas di kolom 'file'.",
            ) from exc
        try:
            named = [name for name in form if NUL in name]
            if named:  # the other fields are ignored, but nothing unstorable passes unremarked
                raise InvalidInput(
                    "a form field's name holds a NUL character",
                    errors=[FieldProblem(named[0], "NUL is not allowed", "Nama kolom formulir tidak sah.")],
                    indonesian="Formulir unggahan memuat nama kolom yang tidak sah.",
                )
            item = form.get("file")
            if not isinstance(item, UploadFile):
                raise InvalidInput(
                    f"send the {what} in the multipart form field 'file'",
                    errors=[FieldProblem("file", "a file is required", "Pilih berkas yang akan diunggah.")],
                    indonesian="Pilih berkas yang akan diunggah.",
                )
            data = await item.read(max_bytes + 1)
            upload = Upload(data=data, filename=item.filename, content_type=item.content_type or "")
        finally:
            await form.close()
    elif kind in raw_types:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            chunks.append(chunk)
        upload = Upload(data=b"".join(chunks), filename=None, content_type=kind)
    else:
        raise UnsupportedMedia(
            f"send the {what} as {MULTIPART} (field 'file') or as {' or '.join(sorted(raw_types))}",
            received=kind or None,
            indonesian="Jenis kiriman berkas ini tidak didukung.",
        )
    if len(upload.data) > max_bytes:
        raise _too_large(max_bytes)
    if not upload.data.strip():
        raise InvalidInput(
            f"the {what} is empty",
            errors=[FieldProblem("file", "empty", "Berkas kosong.")],
            indonesian="Berkas yang diunggah kosong.",
        )
    return upload


def request_body_doc(raw_types: Collection[str], description: str) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for routes that read their upload with ``read_upload``."""
    content: dict[str, Any] = {
        MULTIPART: {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        }
    }
    for raw in raw_types:
        content[raw] = {"schema": {"type": "string"}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def upload_text(upload: Upload, *, what: str) -> str:
    """The upload as UTF-8 text (a BOM is dropped); 422 naming ``file`` otherwise."""
    try:
        return upload.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the {what} is not UTF-8 text",
            errors=[FieldProblem("file", f"invalid UTF-8 at byte {exc.start}", "Berkas bukan teks UTF-8.")],
            indonesian="Berkas bukan teks UTF-8.",
        ) from exc
