"""Files sent to the caller, by the API and the pages alike.

A generated file (workbook, ZIP) is written to a temporary file and streamed from it, then deleted, so memory
stays flat however large the round. A stored evidence file goes out with a Content-Disposition that survives
any name (an ASCII fallback and the UTF-8 name), ``nosniff`` and no shared caching.

A download may be resumed: a ``Range`` of one byte range answers 206 with that part. Any other ``Range``
(malformed, past the end, several ranges) is ignored and the whole file sent with 200, as RFC 9110 allows,
so a download never answers a plain-text 400 or 416 outside the API's problem+json, nor a
``multipart/byteranges`` body the OpenAPI document would have to describe.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable


class Download(FileResponse):
    """A file answer that honours one byte range and ignores any other ``Range``."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            ranges = super()._parse_range_header(http_range, file_size)
        except (MalformedRangeHeader, RangeNotSatisfiable):
            return []  # the whole file
        return ranges if len(ranges) == 1 else []


def send_file(
    build: Callable[[Path], str],
    media_type: str,
    suffix: str,
    *,
    disposition: Literal["attachment", "inline"] = "attachment",
) -> FileResponse:
    """Run ``build`` on a fresh temporary file (it writes the file and returns the download's name) and
    stream that file back; it is deleted once sent, or at once if ``build`` fails. ``inline``: a browser
    shows it (JSON) instead of saving it."""
    handle, name = tempfile.mkstemp(prefix="emonev-", suffix=suffix)
    os.close(handle)
    path = Path(name)
    try:
        filename = build(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Download(
        path,
        media_type=media_type,
        filename=filename,
        content_disposition_type=disposition,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def stored_file(
    path: Path, *, name: str, content_type: str, disposition: Literal["attachment", "inline"]
) -> FileResponse:
    """A stored file under its original ``name``: saved (``attachment``) or shown in the browser
    (``inline``)."""
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    header = f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Download(
        path,
        media_type=content_type,
        headers={
            "Content-Disposition": header,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=0",
        },
    )
