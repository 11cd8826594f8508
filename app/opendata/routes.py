"""Open data: the files of every published revision at stable addresses, public (no login), rate-limited
per client and cacheable (``ETag``/``Last-Modified``, 304 on a conditional GET).

- ``/data/{commission_code}/{round_id}/revisi-{n}/{file}``: ``hasil.csv``, ``nilai-aspek.csv``
  (``?pemisah=titik-koma`` for semicolons), ``hasil.json``, ``datapackage.json``;
- ``/data/{commission_code}/{round_id}/terbaru/{file}``: 302 to the latest revision's file.

Outside the API's prefix and its OpenAPI document (they are files, not JSON resources): README, "Open data".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from app.db.session import SessionDep
from app.downloads import send_file
from app.inputs import Id
from app.opendata import service
from app.portal.caching import cacheable, not_modified
from app.portal.limits import PublicRateLimit

router = APIRouter(tags=["open data"])

CommissionCode = Annotated[str, Path(max_length=64)]
FileName = Annotated[str, Path(max_length=64)]
Pemisah = Annotated[
    str | None,
    Query(max_length=64, description="Column separator of the CSV files: `koma` (default) or `titik-koma`."),
]
# Anybody may read open data from a page of their own (a data portal's preview, a notebook in a browser).
OPEN = {"Access-Control-Allow-Origin": "*"}
REDIRECT_MAX_AGE = 60


@router.api_route(
    "/data/{commission_code}/{round_id}/revisi-{revision}/{name}",
    methods=["GET", "HEAD"],
    include_in_schema=False,
)
def revision_file(
    commission_code: CommissionCode,
    round_id: Id,
    revision: Id,
    name: FileName,
    request: Request,
    session: SessionDep,
    _limit: PublicRateLimit,
    pemisah: Pemisah = None,
) -> Response:
    """A file of one published revision; it never changes but for the live names it prints (bodies, regions,
    the commission), so caches revalidate it by its ETag."""
    found = service.download(
        session=session,
        commission_code=commission_code,
        round_id=round_id,
        revision=revision,
        name=name,
        pemisah=pemisah,
        base_url=str(request.base_url),
    )
    unchanged = not_modified(request, found.stamp, found.key)
    if unchanged is not None:
        unchanged.headers.update(OPEN)
        return unchanged
    suffix = "." + name.rsplit(".", 1)[-1]
    response = send_file(
        found.write, found.media_type, suffix, disposition="inline" if suffix == ".json" else "attachment"
    )
    response.headers.update(OPEN)
    return cacheable(response, found.stamp, found.key)


@router.api_route(
    "/data/{commission_code}/{round_id}/terbaru/{name}", methods=["GET", "HEAD"], include_in_schema=False
)
def latest_file(
    commission_code: CommissionCode,
    round_id: Id,
    name: FileName,
    request: Request,
    session: SessionDep,
    _limit: PublicRateLimit,
) -> Response:
    """302 to the same file of the round's latest published revision (the query string goes along)."""
    revision, stamp = service.latest_revision(
        session=session, commission_code=commission_code, round_id=round_id, name=name
    )
    target = request.url_for(
        "revision_file",
        commission_code=commission_code,
        round_id=str(round_id),
        revision=str(revision),
        name=name,
    ).path
    if request.url.query:
        target += "?" + request.url.query
    response = RedirectResponse(target, status_code=302, headers=OPEN)
    return cacheable(response, stamp, f"terbaru:{round_id}:{revision}:{name}", max_age=REDIRECT_MAX_AGE)
