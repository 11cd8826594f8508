"""The public results portal: published results for everyone, no login, in Bahasa Indonesia.

Every page is the same for every visitor (it reads no session and sets no cookie), so browsers and a CDN may
keep it: each route first computes the commission's cache stamp (``app.portal.caching``) and answers 304 when
the visitor's copy is current, and only then reads and renders. Every route counts against the per-client
public limit (429 with ``Retry-After``). What a page shows comes from ``app.portal.service``, which reads only
published revisions.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from app.db.session import SessionDep
from app.inputs import Id, parse_digits
from app.opendata.service import address
from app.portal import service as portal
from app.portal.caching import cacheable, commission_stamp, not_modified, site_stamp
from app.portal.limits import public_rate_limit
from app.regions import label_of, province_code, regency_code
from app.results.service import NOT_PARTICIPATING
from app.web import charts
from app.web.render import render_public

router = APIRouter(include_in_schema=False, dependencies=[Depends(public_rate_limit)])

MAX_PAGE = 100_000
# The open data of the revision a round's page shows (built by app/opendata), as the page names them.
OPEN_DATA_FILES = (
    ("CSV (pemisah koma)", "hasil.csv"),
    ("CSV (pemisah titik koma, untuk Excel)", "hasil.csv?pemisah=titik-koma"),
    ("JSON", "hasil.json"),
    ("Paket data (Frictionless Data Package) untuk Satu Data Indonesia", "datapackage.json"),
)
Text = Annotated[str, Query(max_length=200)]


def _key(request: Request) -> str:
    return f"{request.url.path}?{request.url.query}"


def home_page(request: Request, session: Session) -> Response:
    """The portal's home: every commission with published rounds (one commission: its rounds at once)."""
    stamp = site_stamp(session)
    key = "home"
    cached = not_modified(request, stamp, key)
    if cached is not None:
        return cached
    found = portal.portal_home(session=session)
    return cacheable(render_public(request, "portal/home.html", {"commissions": found}), stamp, key)


@router.api_route("/hasil", methods=["GET", "HEAD"])
def portal_home(request: Request, session: SessionDep) -> Response:
    return home_page(request, session)


@router.api_route("/hasil/{commission_code}", methods=["GET", "HEAD"])
def commission_page(commission_code: str, request: Request, session: SessionDep) -> Response:
    commission = portal.commission_by_code(session=session, code=commission_code)
    stamp = commission_stamp(session, commission.id)
    cached = not_modified(request, stamp, _key(request))
    if cached is not None:
        return cached
    rounds = portal.published_rounds(session=session, commission_id=commission.id)
    page = render_public(request, "portal/commission.html", {"commission": commission, "rounds": rounds})
    return cacheable(page, stamp, _key(request))


@router.api_route("/hasil/{commission_code}/badan/{body_id}", methods=["GET", "HEAD"])
def body_page(commission_code: str, body_id: Id, request: Request, session: SessionDep) -> Response:
    commission = portal.commission_by_code(session=session, code=commission_code)
    stamp = commission_stamp(session, commission.id)
    cached = not_modified(request, stamp, _key(request))
    if cached is not None:
        return cached
    profile = portal.body_profile(session=session, commission=commission, body_id=body_id)
    context = {
        "profile": profile,
        "commission": commission,
        "chart": charts.band_history(profile.history, profile.bands),
    }
    return cacheable(render_public(request, "portal/body.html", context), stamp, _key(request))


@router.api_route("/hasil/{commission_code}/{round_id}", methods=["GET", "HEAD"])
def round_page(commission_code: str, round_id: Id, request: Request, session: SessionDep) -> Response:
    commission = portal.commission_by_code(session=session, code=commission_code)
    stamp = commission_stamp(session, commission.id)
    cached = not_modified(request, stamp, _key(request))
    if cached is not None:
        return cached
    view = portal.round_view(session=session, commission=commission, round_id=round_id)
    revision = view.round.publication.revision
    files = [
        (label, address(commission_code=commission.code, round_id=round_id, revision=revision, name=name))
        for label, name in OPEN_DATA_FILES
    ]
    context = {
        "files": files,
        "view": view,
        "shown": view.round,
        "commission": commission,
        "chart": charts.band_distribution(view.counts, view.round.bands),
    }
    return cacheable(render_public(request, "portal/round.html", context), stamp, _key(request))


def _page_number(text: str) -> int:
    """``halaman`` as a page number: garbage reads as the first page, a huge number as the last."""
    number = parse_digits(text, limit=MAX_PAGE)
    if number is None:
        return MAX_PAGE if text.isascii() and text.isdigit() else 1
    return max(number, 1)


@router.api_route("/hasil/{commission_code}/{round_id}/{category_code}", methods=["GET", "HEAD"])
def category_page(
    commission_code: str,
    round_id: Id,
    category_code: str,
    request: Request,
    session: SessionDep,
    q: Text = "",
    kualifikasi: Text = "",
    provinsi: Text = "",
    kabkota: Text = "",
    halaman: Text = "1",
) -> Response:
    commission = portal.commission_by_code(session=session, code=commission_code)
    stamp = commission_stamp(session, commission.id)
    cached = not_modified(request, stamp, _key(request))
    if cached is not None:
        return cached
    filters = portal.RankingFilters(query=q, band=kualifikasi, province=provinsi, regency=kabkota)
    view = portal.ranking_view(
        session=session,
        commission=commission,
        round_id=round_id,
        category_code=category_code,
        filters=filters,
        page=_page_number(halaman),
    )
    context: dict[str, Any] = {
        "view": view,
        "shown": view.round,
        "commission": commission,
        "band_labels": dict(view.round.bands),
        "not_participating": NOT_PARTICIPATING,
        "filtered": any((view.filters.query, view.filters.band, view.filters.province, view.filters.regency)),
        "query_of": _query_of(view.filters),
        "region_label": region_label,
    }
    return cacheable(render_public(request, "portal/category.html", context), stamp, _key(request))


def region_label(code: str | None) -> str:
    """A body's region as the ranking shows it: its regency/city, else its province, else ``-``."""
    regency = regency_code(code)
    if regency is not None:
        return label_of(regency)
    province = province_code(code)
    return label_of(province) if province else "-"


def _query_of(filters: portal.RankingFilters) -> str:
    """The filters as a query string prefix for the page links (``q=...&``), empty ones left out."""
    pairs = {
        "q": filters.query,
        "kualifikasi": filters.band,
        "provinsi": filters.province,
        "kabkota": filters.regency,
    }
    kept = {k: v for k, v in pairs.items() if v}
    return urlencode(kept) + "&" if kept else ""
