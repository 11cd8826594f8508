"""The commission's letter to a body (Lembar Hasil dan Rekomendasi) as PDF: data in, bytes out.

Pure: :func:`render_letter` takes a :class:`LetterData` and returns the PDF that the Typst template
``templates/letter.typ`` makes of it. Every text reaches the template as JSON (a string literal in its first
lines, parsed there by ``json``) and is placed as text, never spliced into markup, so a body named
``#1 *Dinas* $x$ <a>`` prints as it is.
The figures are formatted here, once (decimal comma, Indonesian dates), so the template only lays out.

Typst embeds its own fonts (Libertinus Serif) and reads no system font (``ignore_system_fonts``); the PDF's
creation date is the publication's, so the same data always gives the same bytes. A ``typst.Compiler`` is
reused (one per concurrent render, kept in a pool): it loads the fonts once, not per letter, and keeps
Typst's memoised layout of what letters share (see :func:`source`); its output is the same bytes as a
one-off ``typst.compile`` with the data in ``sys.inputs``. Typst reads images only from files: the
commission's logo is written once per process to a cache folder under a name of its content hash, and that
folder is the compilation's root.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import typst

from app.commissions.timezones import MONTHS
from app.results.explain import figure, number

PNG = "image/png"
JPEG = "image/jpeg"
LOGO_SUFFIXES = {PNG: ".png", JPEG: ".jpg"}
ImageFormat = Literal["pdf", "png"]


@dataclass(frozen=True)
class Logo:
    data: bytes
    media_type: str
    """``image/png`` or ``image/jpeg``."""


@dataclass(frozen=True)
class Letterhead:
    """The top of the letter (kop surat): heading lines (the commission's name), address lines, a logo."""

    heading: Sequence[str]
    address: Sequence[str] = ()
    logo: Logo | None = None


@dataclass(frozen=True)
class StageScore:
    """A stage of the result (the SAQ first). ``label`` is what the letter shows for the score: the figure,
    or "Tidak mengikuti (dihitung 0)"; ``note`` why (the gate's decision)."""

    title: str
    weight: Decimal | None
    label: str
    note: str | None = None


@dataclass(frozen=True)
class AspectScore:
    title: str
    weight: Decimal
    score: Decimal | None


@dataclass(frozen=True)
class Recommendation:
    """A question that lost points, as the result sheet lists it (``app.exports.service.recommendations``)."""

    code: str
    text: str
    aspect: str
    reason: str
    lost: Decimal


@dataclass(frozen=True)
class Signature:
    city: str
    date: date
    title: str
    """The chair's title as it signs: "Ketua"."""
    commission: str
    name: str | None


@dataclass(frozen=True)
class Correction:
    """This letter comes from a corrected revision: it replaces the letter of ``earlier_revision``."""

    earlier_revision: int
    reason: str


@dataclass(frozen=True)
class LetterData:
    letterhead: Letterhead
    number: str
    commission: str
    body: str
    category: str
    region: str | None
    round_title: str
    year: int
    revision: int
    published_at: datetime
    """When the revision was published (aware): the PDF's creation date, so the bytes are reproducible.
    The letter's date (``signature.date``) is that instant's date in the commission's time zone."""
    participating: bool
    stages: Sequence[StageScore]
    aspects: Sequence[AspectScore]
    final_score: Decimal | None
    band_label: str
    rank: int | None
    ranked_in_category: int
    recommendations: Sequence[Recommendation]
    signature: Signature
    final_note: str | None = None
    correction: Correction | None = None


def indonesian_date(value: date) -> str:
    """``4 Desember 2026``."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def rank_text(rank: int | None, of: int) -> str | None:
    """``peringkat 3 dari 120`` (None for a body without a rank)."""
    return None if rank is None else f"peringkat {rank} dari {of}"


def _dated(sign: Signature) -> str:
    """``Jakarta, 4 Desember 2026`` (the date alone when no city is set)."""
    day = indonesian_date(sign.date)
    return f"{sign.city}, {day}" if sign.city else day


def _weight(value: Decimal | None) -> str:
    return "-" if value is None else number(value)


def payload(data: LetterData, logo_path: str | None) -> dict[str, Any]:
    """What the template reads (``sys.inputs.data``): every figure already written as the letter shows it."""
    sign = data.signature
    return {
        "title": f"Lembar Hasil dan Rekomendasi {data.round_title}: {data.body}",
        "letterhead": {
            "heading": list(data.letterhead.heading),
            "address": list(data.letterhead.address),
            "logo": logo_path,
        },
        "number": data.number,
        "dated": _dated(sign),
        "commission": data.commission,
        "body": data.body,
        "category": data.category,
        "region": data.region,
        "round": data.round_title,
        "year": str(data.year),
        "revision": str(data.revision),
        "published": indonesian_date(sign.date),  # the publication date in the commission's zone
        "correction": None
        if data.correction is None
        else {"revision": str(data.correction.earlier_revision), "reason": data.correction.reason},
        "participating": data.participating,
        "stages": [
            {"title": s.title, "weight": _weight(s.weight), "score": s.label, "note": s.note or ""}
            for s in data.stages
        ],
        "aspects": [
            {"title": a.title, "weight": _weight(a.weight), "score": figure(a.score)} for a in data.aspects
        ],
        "final": figure(data.final_score),
        "band": data.band_label,
        "rank": rank_text(data.rank, data.ranked_in_category),
        "final_note": data.final_note or "",
        "recommendations": [
            {
                "no": str(n),
                "code": r.code,
                "text": r.text,
                "aspect": r.aspect,
                "reason": r.reason,
                "lost": figure(r.lost),
            }
            for n, r in enumerate(data.recommendations, 1)
        ],
        "signature": {
            "dated": _dated(sign),
            "title": sign.title,
            "commission": sign.commission,
            "name": sign.name,
        },
    }


_DATA_LINE = b"#let data = json(bytes(sys.inputs.data))"


@cache
def template() -> bytes:
    text = resources.files("app.letters").joinpath("templates/letter.typ").read_bytes()
    assert _DATA_LINE in text
    return text


_logo_lock = threading.Lock()
_CHECK = b"#image(sys.inputs.logo, width: 1cm)"


@cache
def _root() -> Path:
    """This process's compilation root: the template, a logo check, and the logos, nothing else."""
    folder = Path(tempfile.mkdtemp(prefix=f"emonev-letters-{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "letter.typ").write_bytes(template())
    (folder / "check.typ").write_bytes(_CHECK)
    return folder


def logo_file(logo: Logo) -> str:
    """The logo's path inside the compilation root (``/<sha256>.png``), written there once."""
    name = hashlib.sha256(logo.data).hexdigest() + LOGO_SUFFIXES[logo.media_type]
    folder = _root()
    path = folder / name
    if not path.exists():
        with _logo_lock:
            if not path.exists():
                staged = folder / f".{name}.{threading.get_ident()}.part"
                staged.write_bytes(logo.data)
                staged.replace(path)
    return f"/{name}"


_idle: list[typst.Compiler] = []
_idle_lock = threading.Lock()


@contextmanager
def _compiler() -> Iterator[typst.Compiler]:
    """A compiler of the letter template that no other thread is using: an idle one, else a new one. A
    compiler is not shared between threads (it is not thread-safe) and renders release the GIL, so the pool
    grows to the number of letters rendered at once (one in a worker) and no further."""
    with _idle_lock:
        compiler = _idle.pop() if _idle else None
    if compiler is None:
        root = _root()
        compiler = typst.Compiler(root=str(root), ignore_system_fonts=True)
    try:
        yield compiler
    finally:
        with _idle_lock:
            _idle.append(compiler)


def source(data: LetterData) -> bytes:
    """The template with the letter's data in it: the JSON as a Typst string literal (only ``\\`` and ``"``
    need escaping; JSON has no raw line breaks), which the template parses with ``json`` and places as
    text. Not ``sys.inputs``: those are part of Typst's standard library, so a letter passed that way
    would share no layout with the letter before it; in the source, what letters share is laid out once
    per process (a round's letters: about 22 ms each instead of 35, the same bytes)."""
    logo = data.letterhead.logo
    text = json.dumps(payload(data, logo_file(logo) if logo else None), ensure_ascii=False)
    literal = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return template().replace(_DATA_LINE, f"#let data = json(bytes({literal}))".encode(), 1)


def render_letter(data: LetterData, *, image: ImageFormat = "pdf", ppi: float = 96) -> bytes:
    """The letter as PDF (or, for a look at it, its first page as PNG at ``ppi``)."""
    main = source(data)
    with _compiler() as compiler:
        output = compiler.compile(
            input=main,
            timestamp=data.published_at.replace(microsecond=0),  # Typst takes whole seconds
            format=image,
            ppi=ppi if image == "png" else None,
        )
    assert output is not None  # no output path: the bytes are returned
    return output[0] if isinstance(output, list) else output  # PNG: one image per page


def readable_logo(logo: Logo) -> bool:
    """Whether Typst can draw the image (an upload whose magic bytes say PNG may still be broken)."""
    root = _root()
    try:
        typst.compile(
            str(root / "check.typ"),
            root=str(root),
            sys_inputs={"logo": logo_file(logo)},
            ignore_system_fonts=True,
            timestamp=0,
        )
    except typst.TypstError:
        return False
    return True
