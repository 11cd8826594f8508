"""What the public results portal reads: only published revisions, the latest revision of each round.

Nothing here reads live scores, submissions, accounts or evidence: every figure comes from ``publication`` and
``published_result`` rows, and a round, category or body is only found through a publication, so a round
that is not published yet does not exist for the portal (404, exactly like an unknown one).

The names and regions of bodies are live (a rename shows at once); that is why the portal's cache stamp
(``app.portal.caching``) covers ``commission.public_changed_at`` besides the publications.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, defer

import scoring
from app.commissions.licenses import License, license_of
from app.db.models import (
    BodyCategory,
    Commission,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    RoundTemplate,
    TemplateVersion,
)
from app.errors import FieldProblem, InvalidInput, NotFound
from app.regions import Region, label_of, province_code, regency_code
from app.results.service import (
    NOT_PARTICIPATING,
    BandCountRow,
    HistoryEntry,
    ResultRow,
    _result_row,
    _result_select,
    band_code,
    band_counts,
    band_labels,
    body_history,
    body_result,
)
from app.submissions.service import template_of

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100
_PROVINCE = re.compile(r"[0-9]{2}")  # fullmatch; ASCII digits only
_REGENCY = re.compile(r"[0-9]{2}\.[0-9]{2}")
NOT_FOUND_COMMISSION = "Komisi Informasi ini tidak ditemukan."
NOT_FOUND_ROUND = "Hasil E-Monev ini tidak ditemukan atau belum diumumkan."
NOT_FOUND_CATEGORY = "Kategori badan publik ini tidak ada pada hasil yang diumumkan."
NOT_FOUND_BODY = "Badan publik ini tidak ditemukan atau belum memiliki hasil yang diumumkan."


# --- Commissions and their published rounds ----------------------------------------------------------------


@dataclass(frozen=True)
class PublishedRound:
    """A round with at least one published revision: its latest revision and when it was first and last
    published."""

    round_id: int
    commission_id: int
    year: int
    title: str
    revision: int
    first_published_at: datetime
    published_at: datetime


@dataclass(frozen=True)
class CommissionRounds:
    commission: Commission
    rounds: list[PublishedRound]


def commission_by_code(*, session: Session, code: str) -> Commission:
    commission = session.scalar(select(Commission).where(Commission.code == code))
    if commission is None:
        raise NotFound(f"no commission {code!r}", indonesian=NOT_FOUND_COMMISSION)
    return commission


def published_rounds(*, session: Session, commission_id: int | None = None) -> list[PublishedRound]:
    """Rounds with a publication (of one commission, or all), newest year first (one query)."""
    stats = (
        select(
            Publication.round_id,
            func.max(Publication.revision).label("revision"),
            func.min(Publication.created_at).label("first_at"),
            func.max(Publication.created_at).label("last_at"),
        )
        .group_by(Publication.round_id)
        .subquery()
    )
    stmt = (
        select(
            Round.id,
            Round.commission_id,
            Round.year,
            Round.title,
            stats.c.revision,
            stats.c.first_at,
            stats.c.last_at,
        )
        .join(stats, stats.c.round_id == Round.id)
        .order_by(Round.year.desc(), Round.saq_opens_at.desc(), Round.id.desc())
    )
    if commission_id is not None:
        stmt = stmt.where(Round.commission_id == commission_id)
    return [PublishedRound(*row) for row in session.execute(stmt).all()]


def portal_home(*, session: Session) -> list[CommissionRounds]:
    """Every commission that has published a round, by name, with its published rounds (two queries)."""
    rounds = published_rounds(session=session)
    by_commission: dict[int, list[PublishedRound]] = {}
    for row in rounds:
        by_commission.setdefault(row.commission_id, []).append(row)
    if not by_commission:
        return []
    commissions = session.scalars(
        select(Commission).where(Commission.id.in_(list(by_commission))).order_by(Commission.name)
    ).all()
    return [CommissionRounds(c, by_commission[c.id]) for c in commissions]


# --- A round -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicRound:
    """A published round as the portal shows it: the latest revision and every revision before it."""

    commission: Commission
    round: Round
    publication: Publication
    revisions: list[Publication]
    bands: list[tuple[str, str]]
    license: License

    @property
    def corrected(self) -> Publication | None:
        """The revision the shown one corrects (None for a first publication)."""
        return self.revisions[-2] if len(self.revisions) > 1 else None


@dataclass(frozen=True)
class RoundView:
    round: PublicRound
    counts: list[BandCountRow]


_LABELS_TTL_SECONDS = 300.0
_LABELS: dict[tuple[int, str], tuple[float, list[tuple[str, str]]]] = {}


def round_bands(session: Session, round_id: int, published_at: datetime) -> list[tuple[str, str]]:
    """The bands of a published round, highest first: (code, label). The templates of a published round no
    longer change, so they are kept per process for a few minutes, under the round and the instant of its
    latest revision."""
    key = (round_id, published_at.isoformat())
    now = time.monotonic()
    cached = _LABELS.get(key)
    if cached is not None and now - cached[0] < _LABELS_TTL_SECONDS:
        return cached[1]
    bands = list(band_labels(session=session, round_id=round_id).items())
    if len(_LABELS) >= 256:
        _LABELS.pop(next(iter(_LABELS)))
    _LABELS[key] = (now, bands)
    return bands


def public_round(*, session: Session, commission: Commission, round_id: int) -> PublicRound:
    """The round of this commission with its published revisions; NotFound when there is none or it is not
    published (the same answer: an unpublished round is not shown to exist)."""
    round_ = session.get(Round, round_id)
    if round_ is None or round_.commission_id != commission.id:
        raise NotFound(f"no published round {round_id}", indonesian=NOT_FOUND_ROUND)
    revisions = list(
        session.scalars(
            select(Publication).where(Publication.round_id == round_.id).order_by(Publication.revision)
        ).all()
    )
    if not revisions:
        raise NotFound(f"no published round {round_id}", indonesian=NOT_FOUND_ROUND)
    return PublicRound(
        commission=commission,
        round=round_,
        publication=revisions[-1],
        revisions=revisions,
        bands=round_bands(session, round_.id, revisions[-1].created_at),
        license=license_of(commission.data_license),
    )


def round_view(*, session: Session, commission: Commission, round_id: int) -> RoundView:
    """A published round with its counts per category and band (latest revision)."""
    shown = public_round(session=session, commission=commission, round_id=round_id)
    return RoundView(round=shown, counts=band_counts(session=session, publication=shown.publication))


# --- A category's ranking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingFilters:
    """What a visitor narrows a ranking to; empty strings mean no filter."""

    query: str = ""
    band: str = ""
    province: str = ""
    regency: str = ""


@dataclass(frozen=True)
class RankingView:
    round: PublicRound
    category: BodyCategory
    filters: RankingFilters
    rows: list[ResultRow]
    total: int
    """Rows that match the filters."""
    page: int
    pages: int
    provinces: list[Region]
    regencies: list[Region]

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def _problem(field: str, message: str, indonesian: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {message}", errors=[FieldProblem(field, message, indonesian)], indonesian=indonesian
    )


def _checked(filters: RankingFilters, bands: list[tuple[str, str]]) -> RankingFilters:
    query = " ".join(filters.query.split())
    if len(query) > MAX_QUERY_LENGTH:
        raise _problem(
            "q",
            f"at most {MAX_QUERY_LENGTH} characters",
            f"Kata pencarian paling panjang {MAX_QUERY_LENGTH} karakter.",
        )
    band = band_code(filters.band) if filters.band else ""
    if band and band != NOT_PARTICIPATING and band not in dict(bands):
        raise _problem(
            "kualifikasi", "not a band of this round", "Kualifikasi ini tidak ada pada periode ini."
        )
    if filters.province and not _PROVINCE.fullmatch(filters.province):
        raise _problem(
            "provinsi", "a province code has two digits", "Kode provinsi terdiri atas dua angka, mis. 31."
        )
    if filters.regency and not _REGENCY.fullmatch(filters.regency):
        raise _problem(
            "kabkota",
            "a regency code looks like 31.71",
            "Kode kabupaten/kota berbentuk dua angka, titik, dua angka, mis. 31.71.",
        )
    return RankingFilters(query=query, band=band, province=filters.province, regency=filters.regency)


def _in_region(code: str) -> ColumnElement[bool]:
    return or_(PublicBody.region_code == code, PublicBody.region_code.startswith(code + "."))


def _conditions(filters: RankingFilters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.query:
        found.append(func.lower(PublicBody.name).contains(filters.query.lower(), autoescape=True))
    if filters.band == NOT_PARTICIPATING:
        found.append(PublishedResult.participating.is_(False))
    elif filters.band:
        found.append(PublishedResult.band == filters.band)
    if filters.province:
        found.append(_in_region(filters.province))
    if filters.regency:
        found.append(_in_region(filters.regency))
    return found


def ranking_slice(
    *,
    session: Session,
    publication: Publication,
    category_id: int,
    filters: RankingFilters,
    offset: int,
    limit: int,
) -> tuple[list[ResultRow], int]:
    """One numbered page of a category's published ranking, narrowed by ``filters``, and how many rows match:
    the ranking of ``app.results.service.ranking_page`` (rank, then row id; bodies that did not take part
    last), read with offset paging for the portal's numbered pages (bounded by the caller). Two queries, on
    the index of (publication_id, category_id, rank)."""
    where = and_(
        PublishedResult.publication_id == publication.id,
        PublishedResult.category_id == category_id,
        *_conditions(filters),
    )
    by_body = bool(filters.query or filters.province or filters.regency)
    order = (PublishedResult.rank.asc().nulls_last(), PublishedResult.id)
    counting = select(func.count(PublishedResult.id)).select_from(PublishedResult)
    # The page's row ids are chosen on published_result alone (joined to the bodies only to filter by their
    # name or region), so a deep page sorts ids, not whole rows; the 50 rows are read after.
    chosen = select(PublishedResult.id).select_from(PublishedResult)
    if by_body:
        counting = counting.join(PublicBody, PublicBody.id == PublishedResult.body_id)
        chosen = chosen.join(PublicBody, PublicBody.id == PublishedResult.body_id)
    total = session.scalar(counting.where(where))
    page_ids = chosen.where(where).order_by(*order).offset(offset).limit(limit).scalar_subquery()
    stmt = (
        _result_select(publication, with_aspects=False)
        .where(PublishedResult.id.in_(page_ids))
        .order_by(*order)
    )
    rows = [_result_row(publication, row, None) for row in session.execute(stmt).all()]
    return rows, int(total or 0)


_REGIONS: dict[tuple[int, int, str], tuple[float, tuple[list[Region], list[Region]]]] = {}


def _regions(
    session: Session, commission: Commission, publication: Publication, category_id: int
) -> tuple[list[Region], list[Region]]:
    """The provinces and regencies/cities of the category's bodies in the publication (for the filters).
    Bodies' regions are live, but every change of one touches the commission (``public_changed_at``), so
    the answer is kept per process under the publication, the category and that instant."""
    key = (publication.id, category_id, f"{publication.created_at}:{commission.public_changed_at}")
    now = time.monotonic()
    cached = _REGIONS.get(key)
    if cached is not None and now - cached[0] < _LABELS_TTL_SECONDS:
        return cached[1]
    codes = session.scalars(
        select(PublicBody.region_code)
        .join(PublishedResult, PublishedResult.body_id == PublicBody.id)
        .where(
            PublishedResult.publication_id == publication.id,
            PublishedResult.category_id == category_id,
            PublicBody.region_code.is_not(None),
        )
        .distinct()
    ).all()
    provinces = {p for p in map(province_code, codes) if p}
    regencies = {r for r in map(regency_code, codes) if r}
    found = (
        [Region(code, label_of(code)) for code in sorted(provinces)],
        [Region(code, label_of(code)) for code in sorted(regencies)],
    )
    if len(_REGIONS) >= 256:
        _REGIONS.pop(next(iter(_REGIONS)))
    _REGIONS[key] = (now, found)
    return found


def ranking_view(
    *,
    session: Session,
    commission: Commission,
    round_id: int,
    category_code: str,
    filters: RankingFilters,
    page: int,
) -> RankingView:
    """A category's published ranking, 50 rows a page; a page past the last shows the last page."""
    shown = public_round(session=session, commission=commission, round_id=round_id)
    category = session.scalar(
        select(BodyCategory).where(
            BodyCategory.commission_id == commission.id, BodyCategory.code == category_code
        )
    )
    if category is None or not session.scalar(
        select(PublishedResult.id)
        .where(
            PublishedResult.publication_id == shown.publication.id,
            PublishedResult.category_id == category.id,
        )
        .limit(1)
    ):
        raise NotFound(f"no category {category_code!r} in this publication", indonesian=NOT_FOUND_CATEGORY)
    checked = _checked(filters, shown.bands)
    rows, total = ranking_slice(
        session=session,
        publication=shown.publication,
        category_id=category.id,
        filters=checked,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        page = pages
        rows, total = ranking_slice(
            session=session,
            publication=shown.publication,
            category_id=category.id,
            filters=checked,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    provinces, regencies = _regions(session, commission, shown.publication, category.id)
    return RankingView(
        round=shown,
        category=category,
        filters=checked,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        provinces=provinces,
        regencies=regencies,
    )


# --- A body's profile --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AspectLoss:
    """An aspect of the body's latest published result: its verified score, weight and the points of the
    SAQ score it lost, ``(100 - score) x weight / 100`` (exact, shown to 2 decimals)."""

    code: str
    title: str
    weight: Decimal
    score: Decimal
    lost: Decimal


@dataclass(frozen=True)
class BodyProfile:
    commission: Commission
    body_id: int
    name: str
    category_name: str
    category_code: str
    province: Region | None
    regency: Region | None
    history: list[HistoryEntry]
    bands: dict[str, str]
    latest: ResultRow
    losses: list[AspectLoss]


def aspect_losses(
    template_aspects: list[tuple[str, str, Decimal]], scores: dict[str, Decimal]
) -> list[AspectLoss]:
    """Aspects (code, title, weight) with a published score, most points lost first (ties in template
    order). Points lost = (100 - aspect score) x effective weight / 100, where the effective weight rescales
    the weights of the aspects that count (those with a score) to 100, as the SAQ score does when an aspect
    has no applicable question; exact, rounded once (``scoring.publish``)."""
    present = [(code, title, weight) for code, title, weight in template_aspects if code in scores]
    weight_sum = sum((Fraction(weight) for _, _, weight in present), Fraction(0))
    found = [
        (
            AspectLoss(code, title, weight, scores[code], Decimal(0)),
            (100 - Fraction(scores[code])) * Fraction(weight) / weight_sum if weight_sum else Fraction(0),
        )
        for code, title, weight in present
    ]
    ordered = sorted(enumerate(found), key=lambda item: (-item[1][1], item[0]))
    return [AspectLoss(a.code, a.title, a.weight, a.score, scoring.publish(lost)) for _, (a, lost) in ordered]


def body_profile(*, session: Session, commission: Commission, body_id: int) -> BodyProfile:
    """A body's public profile: its published results over the years, and the aspects it lost most points on
    in the latest published round. NotFound for a body of another commission or without a published
    result."""
    body = session.get(PublicBody, body_id)
    if body is None or body.commission_id != commission.id:
        raise NotFound(f"no public body {body_id}", indonesian=NOT_FOUND_BODY)
    history = body_history(session=session, body=body)
    if not history:
        raise NotFound(f"no published result of body {body_id}", indonesian=NOT_FOUND_BODY)
    last = history[-1]
    publication = session.scalar(
        select(Publication).where(
            Publication.round_id == last.round_id, Publication.revision == last.revision
        )
    )
    assert publication is not None
    latest = body_result(session=session, publication=publication, body_id=body.id)
    assert latest is not None
    bands: dict[str, str] = {}
    for entry in reversed(history):
        for code, label in round_bands(session, entry.round_id, entry.published_at):
            bands.setdefault(code, label)
    version = session.scalar(
        select(TemplateVersion)
        .join(RoundTemplate, RoundTemplate.template_version_id == TemplateVersion.id)
        .where(RoundTemplate.round_id == last.round_id, RoundTemplate.category_id == latest.category_id)
        .options(defer(TemplateVersion.source_text))
    )
    aspects = (
        [(a.code, a.title, Decimal(a.weight)) for a in template_of(session, version).aspects]
        if version is not None
        else []
    )
    region = body.region_code
    province = province_code(region)
    regency = regency_code(region)
    return BodyProfile(
        commission=commission,
        body_id=body.id,
        name=body.name,
        category_name=latest.category_name,
        category_code=latest.category_code,
        province=Region(province, label_of(province)) if province else None,
        regency=Region(regency, label_of(regency)) if regency else None,
        history=history,
        bands=bands,
        latest=latest,
        losses=aspect_losses(aspects, dict(latest.aspect_scores)) if latest.participating else [],
    )
