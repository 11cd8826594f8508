"""Rendering is pure: a letter's data in, PDF bytes out, read back with poppler's tools as a reader would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np

from app.letters.render import (
    Correction,
    Letterhead,
    Recommendation,
    indonesian_date,
    rank_text,
    render_letter,
)
from tests.letters.pdf import fonts_of, info_of, pages_of, png_pixels, text_of
from tests.letters.sample import HOSTILE_NAME, letter

A4_RATIO = 297 / 210


def test_the_letter_says_who_what_and_when() -> None:
    text = text_of(render_letter(letter()))
    lines = text.splitlines()
    assert "KOMISI INFORMASI" in lines[0]
    assert "Nomor : 7/KI/XII/2026" in text
    assert "Jakarta, 4 Desember 2026" in text
    assert "pada 4 Desember 2026 (revisi 1)" in text  # published 3 December 18:30 UTC, 01:30 WIB
    assert "Pimpinan Kelurahan Gondangdia" in text
    assert "Kelurahan, Kota Jakarta Pusat" in text
    assert "LEMBAR HASIL DAN REKOMENDASI" in text
    assert "SAQ (nilai terverifikasi) 70 75,00" in text
    assert "Presentasi 30 80,00" in text
    assert "Jenis Informasi 60 75,00" in text
    assert "Nilai akhir : 76,50" in text
    assert "Kualifikasi : Cukup Informatif" in text
    assert "peringkat 3 dari 120 di kategori Kelurahan" in text
    first, second = text.index("DIP dimutakhirkan"), text.index("Media sosial aktif")
    assert first < second  # most points lost first
    assert "Ketua Komisi Informasi Provinsi DKI Jakarta" in text
    assert "Nama Ketua" in text
    assert "menggantikan" not in text


def test_text_from_data_is_printed_as_is_never_read_as_markup() -> None:
    text = text_of(render_letter(letter(body=HOSTILE_NAME, number="#{urut}*/$KI$")))
    assert f"Pimpinan {HOSTILE_NAME}" in text
    assert "Nomor : #{urut}*/$KI$" in text


def test_the_same_data_gives_the_same_bytes() -> None:
    assert render_letter(letter()) == render_letter(letter())


def test_every_page_footer_names_the_letter_and_the_pages_and_the_pdf_its_title() -> None:
    """Letters of a round one after another (the compiler reuses what they share): each keeps its own
    number, body and page count in every footer, and its own title in the PDF's properties."""
    long = [
        Recommendation(
            f"1.{n}", "Daftar Informasi Publik dimutakhirkan " * 6, "Jenis Informasi", "Belum", Decimal(1)
        )
        for n in range(40)
    ]
    for n, name in enumerate(["Kelurahan Satu", "Kelurahan Dua"], 1):
        pdf = render_letter(letter(body=name, number=f"{n}/KI/XII/2026", recommendations=long))
        pages = pages_of(pdf)
        assert len(pages) >= 3
        for page, text in enumerate(pages, 1):
            assert f"{n}/KI/XII/2026 · {name} Halaman {page} dari {len(pages)}" in text
        info = " ".join(info_of(pdf).split())
        assert f"Title: Lembar Hasil dan Rekomendasi Monev 2026: {name} Author: Komisi Informasi" in info


def test_letters_rendered_at_once_on_several_threads_are_each_their_own() -> None:
    """The web server renders downloads on several threads; the reused compilers never mix two letters."""
    names = [f"Kelurahan Nomor {n}" for n in range(8)]
    alone = [render_letter(letter(body=name)) for name in names]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda name: render_letter(letter(body=name)), names))
    assert together == alone
    assert f"Pimpinan {names[5]}" in text_of(together[5])


def test_every_font_is_embedded() -> None:
    fonts = fonts_of(render_letter(letter()))
    assert fonts, "the letter has text"
    assert all(embedded for _name, embedded in fonts), fonts
    assert any("LibertinusSerif" in name for name, _ in fonts)


def test_indonesian_dates_and_ranks() -> None:
    assert indonesian_date(date(2026, 12, 4)) == "4 Desember 2026"
    assert indonesian_date(date(2027, 1, 1)) == "1 Januari 2027"
    assert rank_text(3, 120) == "peringkat 3 dari 120"
    assert rank_text(None, 120) is None


def test_a_corrected_revision_says_which_letter_it_replaces() -> None:
    data = letter(revision=2, correction=Correction(1, "Nilai presentasi salah ketik"))
    text = text_of(render_letter(data))
    assert (
        "Surat ini menggantikan surat dari hasil revisi 1, karena hasil dikoreksi: Nilai presentasi" in text
    )
    assert "(revisi 2)" in text


def test_a_body_that_took_no_part_gets_a_letter_saying_so() -> None:
    data = letter(
        participating=False,
        stages=[],
        aspects=[],
        final_score=None,
        band_label="Tidak Mengikuti",
        rank=None,
        recommendations=[],
        final_note="Badan publik ini tidak mengikuti penilaian (tidak mengirim SAQ).",
    )
    text = text_of(render_letter(data))
    assert "Kualifikasi : Tidak Mengikuti" in text
    assert "tidak mengikuti penilaian" in text
    assert "Nilai akhir :" not in text


def test_without_a_logo_or_city_the_letter_still_stands() -> None:
    base = letter()
    data = replace(
        base,
        letterhead=Letterhead(heading=["Komisi Informasi Pusat"]),
        signature=replace(base.signature, city="", name=None),
    )
    text = text_of(render_letter(data))
    assert "KOMISI INFORMASI PUSAT" in text
    assert "Jakarta," not in text
    assert "4 Desember 2026" in text


def test_page_one_is_an_a4_page_with_the_letterhead_inked_at_the_top() -> None:
    gray = png_pixels(render_letter(letter(), image="png", ppi=24))
    height, width = gray.shape
    assert abs(height / width - A4_RATIO) < 0.01
    assert abs(width - 210 / 25.4 * 24) < 2
    ink = gray < 128
    top = ink[: height // 8]  # the letterhead: logo, heading, the double rule
    assert top[:, : width // 4].mean() > 0.05  # the logo at the left
    assert top.mean() > 0.02
    assert ink[height // 8 :].any()  # the rest has text
    assert not ink[:, :2].any()
    assert not ink[:, -2:].any()
    assert np.isclose(ink[-3:].mean(), 0)
