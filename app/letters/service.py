"""The commission's letters (Lembar Hasil dan Rekomendasi) from a published revision, and its letterhead.

Every figure comes from the publication snapshot through ``app.exports.service.result_data``, the same
data the result sheet is written from (scores per stage and aspect, band, rank, the recommendations in the
same order), so a letter and a result sheet never disagree. The letter number follows the commission's
pattern (``app/letters/numbers.py``); its date is the revision's publication date in the commission's time
zone; a letter from a corrected revision says which letter it replaces and why.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

import scoring
from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.commissions.timezones import as_utc, local
from app.db.models import (
    BodyCategory,
    Commission,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    Submission,
    Verification,
)
from app.errors import FieldProblem, InvalidInput, NotFound, UnsupportedMedia
from app.exports.result_sheet import ResultSheetData
from app.exports.service import (
    BATCH,
    SheetContext,
    readable_publication,
    result_data,
    sheet_context,
    slug,
)
from app.letters.numbers import NumberParts, letter_number
from app.letters.render import (
    JPEG,
    PNG,
    AspectScore,
    Correction,
    LetterData,
    Letterhead,
    Logo,
    Recommendation,
    Signature,
    StageScore,
    readable_logo,
    render_letter,
)
from app.regions import name_of, province_code, regency_code
from app.results.explain import figure
from app.results.service import publication_revision
from app.rounds.service import get_round
from app.verification.common import template_of
from app.verification.scores import load_answer_data

PDF_MEDIA_TYPE = "application/pdf"
DEFAULT_CHAIR_TITLE = "Ketua"
MAX_LOGO_BYTES = 512 * 1024
# A letterhead logo is printed about 2 cm wide: 2,000 pixels is far more than it needs.
MAX_LOGO_PIXELS = 2000
# JPEG start-of-frame markers (baseline, progressive, lossless...; not DHT C4, JPG C8, DAC CC).
_JPEG_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
SAQ_STAGE_TITLE = "SAQ (nilai terverifikasi)"


# --- Letterhead -------------------------------------------------------------------------------------------


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def letterhead(commission: Commission) -> Letterhead:
    """The commission's letterhead: its heading lines (its name when none are set), address and logo."""
    logo = None
    if commission.letter_logo_type in (PNG, JPEG) and commission.letter_logo:
        logo = Logo(commission.letter_logo, commission.letter_logo_type)
    return Letterhead(
        heading=_lines(commission.letter_heading) or [commission.name],
        address=_lines(commission.letter_address),
        logo=logo,
    )


def signature(commission: Commission, on: date) -> Signature:
    """Where and when the letter is signed, and by whom (the chair's title: "Ketua" when none is set)."""
    return Signature(
        city=(commission.letter_city or "").strip(),
        date=on,
        title=(commission.letter_chair_title or "").strip() or DEFAULT_CHAIR_TITLE,
        commission=commission.name,
        name=(commission.letter_chair_name or "").strip() or None,
    )


def logo_type(data: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` by the file's magic bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR or a JPEG's start-of-frame header; None when not found. Read before
    the image is decoded: a small file may hold a huge picture (a 400 KB PNG of 20,000 x 20,000 pixels takes
    over 700 MB to draw)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _JPEG_FRAMES:
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(data[at + 5 : at + 7], "big")
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:  # markers without a length
            at += 2
            continue
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return None


def set_logo(*, session: Session, commission: Commission, data: bytes, by: Principal) -> Commission:
    """Store the commission's letterhead logo (its administrators): a PNG or JPEG (by its bytes, 415
    otherwise) of at most 2,000 pixels a side that can be drawn (422 otherwise), at most 512 KB (413 before
    it is read further)."""
    policy.ensure_admin(by, commission.id)
    kind = logo_type(data)
    if kind is None:
        raise UnsupportedMedia(
            "the logo must be a PNG or JPEG image",
            indonesian="Logo harus berupa gambar PNG atau JPEG.",
        )
    size = image_size(data)
    if size is not None and max(size) > MAX_LOGO_PIXELS:
        width, height = size
        text = (
            f"Logo berukuran {width} x {height} piksel; paling besar {MAX_LOGO_PIXELS} piksel per sisi. "
            "Perkecil gambarnya, lalu unggah lagi."
        )
        raise InvalidInput(
            f"the logo is {width} x {height} pixels, more than {MAX_LOGO_PIXELS} on a side",
            errors=[FieldProblem("file", f"at most {MAX_LOGO_PIXELS} pixels on a side", text)],
            indonesian=text,
        )
    if not readable_logo(Logo(data, kind)):
        raise InvalidInput(
            "the logo cannot be read as an image",
            errors=[
                FieldProblem(
                    "file", "not a readable image", "Gambar logo rusak atau tidak dapat dibaca. Simpan ulang."
                )
            ],
            indonesian="Gambar logo rusak atau tidak dapat dibaca. Simpan ulang gambarnya sebagai PNG atau "
            "JPEG, lalu unggah lagi.",
        )
    commission.letter_logo = data
    commission.letter_logo_type = kind
    session.flush()
    record(
        session=session,
        actor=by,
        action="commission.letter_logo",
        entity="commission",
        entity_id=commission.id,
        after={"letter_logo_type": kind, "size": len(data)},
        commission_id=commission.id,
    )
    return commission


def remove_logo(*, session: Session, commission: Commission, by: Principal) -> Commission:
    """Letters without a logo from now on (its administrators)."""
    policy.ensure_admin(by, commission.id)
    commission.letter_logo = None
    commission.letter_logo_type = None
    session.flush()
    record(
        session=session,
        actor=by,
        action="commission.letter_logo",
        entity="commission",
        entity_id=commission.id,
        after={"letter_logo_type": None},
        commission_id=commission.id,
    )
    return commission


# --- One letter's data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterContext:
    """What every letter of a publication shares."""

    sheet: SheetContext
    letterhead: Letterhead
    published_on: date
    correction: Correction | None
    ranked: dict[int, int]
    """Bodies with a rank per category id: the "dari 120" of "peringkat 3 dari 120"."""


def letter_context(
    session: Session, round_: Round, publication: Publication, category_id: int | None = None
) -> LetterContext:
    sheet = sheet_context(session, round_, publication, None)
    ranked_stmt = (
        select(PublishedResult.category_id, func.count())
        .where(PublishedResult.publication_id == publication.id, PublishedResult.rank.is_not(None))
        .group_by(PublishedResult.category_id)
    )
    if category_id is not None:
        ranked_stmt = ranked_stmt.where(PublishedResult.category_id == category_id)
    correction = None
    if publication.revision > 1:
        correction = Correction(publication.revision - 1, publication.reason)
    return LetterContext(
        sheet=sheet,
        letterhead=letterhead(sheet.commission),
        published_on=local(publication.created_at, sheet.commission.timezone).date(),
        correction=correction,
        ranked={cat: count for cat, count in session.execute(ranked_stmt)},
    )


def region_text(code: str | None) -> str | None:
    """The most precise name the region list knows for a body's code (its regency, else its province)."""
    if not code:
        return None
    return name_of(code) or name_of(regency_code(code)) or name_of(province_code(code)) or code


def _stages(sheet: ResultSheetData) -> list[StageScore]:
    saq = StageScore(
        SAQ_STAGE_TITLE,
        sheet.saq_weight,
        sheet.saq_label if sheet.saq_label is not None else figure(sheet.verified_score),
    )
    later = [
        StageScore(s.title, s.weight, s.label if s.label is not None else figure(s.score), s.note)
        for s in sheet.stages
    ]
    return [saq, *later]


def letter_of(
    ctx: LetterContext, sheet: ResultSheetData, *, category: BodyCategory, sequence: int
) -> LetterData:
    """A body's letter from its result (what its result sheet is written from)."""
    commission = ctx.sheet.commission
    publication = ctx.sheet.publication
    number = letter_number(
        commission.letter_number_format,
        NumberParts(sequence, ctx.published_on, commission.code, category.code, publication.revision),
    )
    return LetterData(
        letterhead=ctx.letterhead,
        number=number,
        commission=commission.name,
        body=sheet.body,
        category=sheet.category,
        region=region_text(sheet.region_code),
        round_title=sheet.round_title,
        year=ctx.sheet.round.year,
        revision=publication.revision,
        published_at=as_utc(publication.created_at),
        participating=sheet.participating,
        stages=_stages(sheet),
        aspects=[AspectScore(a.title, a.weight, a.score) for a in sheet.aspects],
        final_score=sheet.final_score,
        band_label=sheet.band_label,
        rank=sheet.rank,
        ranked_in_category=ctx.ranked.get(category.id, 0),
        recommendations=[
            Recommendation(r.code, r.text, r.aspect, r.reason, r.lost) for r in sheet.recommendations
        ],
        signature=signature(commission, ctx.published_on),
        final_note=sheet.final_note,
        correction=ctx.correction,
    )


def letter_filename(body: PublicBody) -> str:
    return f"surat-hasil-{slug(body.name)}-{body.id}.pdf"


# The rows letters are made of: every body of the publication (those without a submission too: their
# letter says they took no part), in the ZIP's order (one folder per category, bodies by name).
# Submission.id, its template version and Verification.id are None for a body without them (outer joins).
_Rows = Select[PublishedResult, PublicBody, BodyCategory, int, int, int]


def _letter_rows(round_: Round, publication: Publication, body_ids: Sequence[int] | None = None) -> _Rows:
    stmt = (
        select(
            PublishedResult,
            PublicBody,
            BodyCategory,
            Submission.id,
            Submission.template_version_id,
            Verification.id,
        )
        .join(PublicBody, PublicBody.id == PublishedResult.body_id)
        .join(BodyCategory, BodyCategory.id == PublishedResult.category_id)
        .outerjoin(
            Submission, (Submission.body_id == PublishedResult.body_id) & (Submission.round_id == round_.id)
        )
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(PublishedResult.publication_id == publication.id)
        .order_by(BodyCategory.code, PublicBody.name, PublicBody.id)
    )
    if body_ids is not None:
        stmt = stmt.where(PublishedResult.body_id.in_(body_ids))
    return stmt


def _sequences(session: Session, publication: Publication) -> dict[int, int]:
    """Each body's ``{urut}``: its place among the publication's bodies by id (registration order)."""
    ids = session.scalars(
        select(PublishedResult.body_id)
        .where(PublishedResult.publication_id == publication.id)
        .order_by(PublishedResult.body_id)
    )
    return {body_id: n for n, body_id in enumerate(ids, 1)}


def _letters(
    session: Session, ctx: LetterContext, stmt: _Rows, sequences: dict[int, int]
) -> Iterator[tuple[BodyCategory, PublicBody, LetterData]]:
    """The letters of ``stmt``'s rows, streamed ``BATCH`` rows at a time."""
    templates: dict[int, scoring.Template] = {}
    rows = session.execute(stmt.execution_options(yield_per=BATCH))
    for chunk in rows.partitions():
        answers = load_answer_data(
            session=session, submissions=[(sid, vid) for *_, sid, _, vid in chunk if sid is not None]
        )
        for result, body, category, submission_id, version_id, verification_id in chunk:
            template = None
            if version_id is not None:
                template = templates.get(version_id)
                if template is None:
                    template = templates[version_id] = template_of(session, version_id)
            sheet = result_data(
                ctx.sheet,
                body=body,
                category_name=category.name,
                result=result,
                template=template,
                answers=answers.get(submission_id) if submission_id is not None else None,
                files={},
                verified=verification_id is not None,
            )
            yield category, body, letter_of(ctx, sheet, category=category, sequence=sequences[body.id])


def body_letter(
    *, session: Session, round_id: int, body_id: int, revision: int | None, by: Principal
) -> tuple[str, bytes]:
    """One body's letter as PDF and its file name: for whoever may read the body (its operator, the
    commission's administrators and panel members); 404 while the round is unpublished, when the revision
    does not exist or when the body is not in it."""
    round_ = get_round(session=session, round_id=round_id)
    body = session.get(PublicBody, body_id)
    if body is None or body.commission_id != round_.commission_id:
        raise NotFound(
            f"public body {body_id} does not exist in this commission",
            indonesian="Badan publik ini tidak ada.",
        )
    policy.ensure_read_body(
        session, by, commission_id=body.commission_id, body_id=body.id, round_id=round_.id
    )
    publication = publication_revision(session=session, round_=round_, revision=revision)
    category_id = session.scalar(
        select(PublishedResult.category_id).where(
            PublishedResult.publication_id == publication.id, PublishedResult.body_id == body.id
        )
    )
    if category_id is None:
        raise NotFound(
            f"{body.name} is not in revision {publication.revision} of the results of {round_.title}",
            indonesian=f"{body.name} tidak tercantum dalam hasil {round_.title} yang diumumkan (revisi "
            f"{publication.revision}).",
        )
    ctx = letter_context(session, round_, publication, category_id)
    sequence = session.scalar(
        select(func.count()).where(
            PublishedResult.publication_id == publication.id, PublishedResult.body_id <= body.id
        )
    )
    stmt = _letter_rows(round_, publication, [body.id])
    _category, _body, data = next(_letters(session, ctx, stmt, {body.id: sequence or 1}))
    return letter_filename(body), render_letter(data)


# --- All letters of a round (a job) -----------------------------------------------------------------------


def zip_name(round_: Round, publication: Publication) -> str:
    return f"surat-hasil-{slug(round_.title)}-revisi-{publication.revision}.zip"


def _write_letters(
    session: Session,
    round_: Round,
    publication: Publication,
    target: Path,
    body_ids: Sequence[int] | None,
    progress: Callable[[int, int], None] | None,
) -> int:
    ctx = letter_context(session, round_, publication)
    sequences = _sequences(session, publication)
    total = len(body_ids) if body_ids is not None else len(sequences)
    if progress is not None:
        progress(0, total)
    written = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for category, body, data in _letters(
            session, ctx, _letter_rows(round_, publication, body_ids), sequences
        ):
            archive.writestr(f"{slug(category.code)}/{letter_filename(body)}", render_letter(data))
            written += 1
            if progress is not None:
                progress(written, total)
    return written


def letters_zip(
    *,
    session: Session,
    round_id: int,
    revision: int | None,
    by: Principal,
    target: Path,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write a ZIP with the letter of every body of the publication (one folder per category) to
    ``target``; returns its file name. The commission's readers only; 409 while unpublished."""
    round_, publication = readable_publication(session, round_id, revision, by)
    _write_letters(session, round_, publication, target, None, progress)
    return zip_name(round_, publication)


def letter_parts(
    *, session: Session, round_id: int, revision: int | None, by: Principal, bodies_per_part: int
) -> list[list[int]]:
    """The body ids of the publication's letters in the ZIP's order, cut into parts of ``bodies_per_part``."""
    round_, publication = readable_publication(session, round_id, revision, by)
    ids = list(session.scalars(_letter_rows(round_, publication).with_only_columns(PublishedResult.body_id)))
    return [ids[start : start + bodies_per_part] for start in range(0, len(ids), bodies_per_part)]


def letters_part_zip(
    *,
    session: Session,
    round_id: int,
    revision: int | None,
    by: Principal,
    body_ids: Sequence[int],
    target: Path,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write the letters of ``body_ids`` (a part cut by ``letter_parts``), in the ZIP's order, to a ZIP
    at ``target``; returns the name the whole ZIP has."""
    round_, publication = readable_publication(session, round_id, revision, by)
    _write_letters(session, round_, publication, target, body_ids, progress)
    return zip_name(round_, publication)


# --- A sample letter (the settings page's "contoh surat") --------------------------------------------------


def sample_letter(*, session: Session, commission_id: int, by: Principal, today: date) -> bytes:
    """A letter with the commission's letterhead, number pattern and signature, and made-up figures: what
    its administrators check before the results are published."""
    commission = session.get(Commission, commission_id)
    if commission is None:
        raise NotFound(
            f"commission {commission_id} does not exist", indonesian="Komisi Informasi ini tidak ada."
        )
    policy.ensure_admin(by, commission.id)
    number = letter_number(
        commission.letter_number_format, NumberParts(7, today, commission.code, "kelurahan", 1)
    )
    return render_letter(
        LetterData(
            letterhead=letterhead(commission),
            number=number,
            commission=commission.name,
            body="Kelurahan Contoh",
            category="Kelurahan",
            region=None,
            round_title=f"Monev {today.year} (contoh)",
            year=today.year,
            revision=1,
            published_at=datetime(today.year, today.month, today.day, tzinfo=UTC),
            participating=True,
            stages=[
                StageScore(SAQ_STAGE_TITLE, Decimal(70), "82,50"),
                StageScore("Presentasi", Decimal(30), "77,00"),
            ],
            aspects=[
                AspectScore("Jenis Informasi", Decimal(40), Decimal("85.00")),
                AspectScore("Digitalisasi", Decimal(20), Decimal("75.00")),
            ],
            final_score=Decimal("80.85"),
            band_label="Menuju Informatif",
            rank=3,
            ranked_in_category=120,
            recommendations=[
                Recommendation(
                    "2.1.3",
                    "Layanan permohonan informasi secara elektronik",
                    "Digitalisasi",
                    "Jawaban terverifikasi belum memenuhi seluruh kriteria",
                    Decimal("1.50"),
                )
            ],
            signature=signature(commission, today),
            final_note="Contoh: angka pada surat ini bukan hasil penilaian.",
        )
    )
