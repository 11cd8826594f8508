"""A letter's data worked out by hand, for the rendering tests (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import typst

from app.letters.render import (
    PNG,
    AspectScore,
    LetterData,
    Letterhead,
    Logo,
    Recommendation,
    Signature,
    StageScore,
)

HOSTILE_NAME = 'Dinas #let x = 1 *Tebal* _miring_ $x^2$ <label> @ref \\ "kutip" // bukan komentar'


def logo_png() -> bytes:
    """A round logo with "KI" in it, drawn by Typst itself."""
    source = (
        b"#set page(width: 3cm, height: 3cm, margin: 0pt)\n"
        b'#place(center + horizon, circle(radius: 1.4cm, fill: rgb("#1F3864"))'
        b'[#text(fill: white, size: 20pt, weight: "bold")[KI]])'
    )
    png = typst.compile(source, format="png", ppi=60, ignore_system_fonts=True)
    assert isinstance(png, bytes)
    return png


def letter(**changes: object) -> LetterData:
    data = LetterData(
        letterhead=Letterhead(
            heading=["Komisi Informasi", "Provinsi DKI Jakarta"],
            address=["Jl. Abdul Muis No. 8, Jakarta Pusat 10160", "Telp. (021) 3456789"],
            logo=Logo(logo_png(), PNG),
        ),
        number="7/KI/XII/2026",
        commission="Komisi Informasi Provinsi DKI Jakarta",
        body="Kelurahan Gondangdia",
        category="Kelurahan",
        region="Kota Jakarta Pusat",
        round_title="Monev 2026",
        year=2026,
        revision=1,
        published_at=datetime(2026, 12, 3, 18, 30, tzinfo=UTC),  # 4 Desember 01.30 WIB
        participating=True,
        stages=[
            StageScore("SAQ (nilai terverifikasi)", Decimal(70), "75,00"),
            StageScore("Presentasi", Decimal(30), "80,00"),
        ],
        aspects=[
            AspectScore("Jenis Informasi", Decimal(60), Decimal("75.00")),
            AspectScore("Digitalisasi", Decimal(40), Decimal("75.00")),
        ],
        final_score=Decimal("76.50"),
        band_label="Cukup Informatif",
        rank=3,
        ranked_in_category=120,
        recommendations=[
            Recommendation(
                "1.1.2", "DIP dimutakhirkan", "Jenis Informasi", "Belum memenuhi", Decimal("1.00")
            ),
            Recommendation("2.1", "Media sosial aktif", "Digitalisasi", "Belum memenuhi", Decimal("0.50")),
        ],
        signature=Signature(
            "Jakarta", date(2026, 12, 4), "Ketua", "Komisi Informasi Provinsi DKI Jakarta", "Nama Ketua"
        ),
        final_note="Nilai akhir = SAQ 75,00 × 70% + Presentasi 80,00 × 30% = 76,50.",
    )
    return replace(data, **changes)  # type: ignore[arg-type]
