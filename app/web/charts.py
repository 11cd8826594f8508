"""Charts drawn on the server as inline SVG (no JavaScript chart library; works on a closed network).

The band distribution: one horizontal bar per category, split into the bands (highest first) and the bodies
that did not take part, each segment as wide as its share of the category's invited bodies. Counts come
from the results service; geometry is the only arithmetic here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from app.results.service import NOT_PARTICIPATING, BandCountRow, HistoryEntry
from app.web import format as fmt

LABEL_WIDTH = 200
BAR_WIDTH = 480
COUNT_WIDTH = 60
ROW_HEIGHT = 34
BAR_HEIGHT = 22
TOP = 8


@dataclass(frozen=True)
class Chart:
    svg: str
    legend: list[tuple[str, str, str]]  # (css class, label, code)


def band_distribution(rows: Sequence[BandCountRow], bands: Sequence[tuple[str, str]]) -> Chart:
    """A stacked bar per category: the round's bands (``(code, label)``, highest first), then "tidak
    mengikuti"."""
    series = [*bands, (NOT_PARTICIPATING, "Tidak Mengikuti")]
    width = LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH
    height = TOP * 2 + ROW_HEIGHT * max(len(rows), 1)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="chart-title chart-desc">',
        '<title id="chart-title">Sebaran kualifikasi per kategori</title>',
        '<desc id="chart-desc">Setiap batang adalah satu kategori badan publik; panjang setiap bagian '
        "sebanding dengan jumlah badan publik pada kualifikasi itu. Angka lengkap ada pada tabel di bawah "
        "grafik.</desc>",
    ]
    for index, row in enumerate(rows):
        y = TOP + index * ROW_HEIGHT
        name = escape(row.category_name)
        baseline = y + BAR_HEIGHT / 2 + 5
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{baseline}" text-anchor="end" font-size="13">{name}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" class="chart-empty"/>'
        )
        x = float(LABEL_WIDTH)
        for code, label in series:
            count = row.not_participating if code == NOT_PARTICIPATING else row.counts.get(code, 0)
            if not count or not row.total:
                continue
            segment = BAR_WIDTH * count / row.total
            share = fmt.percent(count, row.total)
            parts.append(
                f'<rect x="{x:.2f}" y="{y}" width="{segment:.2f}" height="{BAR_HEIGHT}" '
                f'class="{fmt.band_class(code)}">'
                f"<title>{name}: {escape(label)} {count} ({share})</title></rect>"
            )
            if segment >= 22:
                parts.append(
                    f'<text x="{x + segment / 2:.2f}" y="{baseline}" text-anchor="middle" '
                    f'font-size="12" class="chart-count">{count}</text>'
                )
            x += segment
        parts.append(
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{baseline}" font-size="13">{row.total}</text>'
        )
    parts.append("</svg>")
    legend = [(fmt.band_class(code), label, code) for code, label in series]
    return Chart(svg="".join(parts), legend=legend)


HISTORY_COLUMN = 96
HISTORY_PLOT = 120
HISTORY_TOP = 24
HISTORY_BOTTOM = 40


def band_history(entries: Sequence[HistoryEntry], labels: Mapping[str, str]) -> Chart:
    """A body's published final score per round, oldest first: one bar per round as tall as the score (0 to
    100) in its band's colour, the score above it and the year below; a round it did not take part in is an
    empty column marked "tidak mengikuti"."""
    width = HISTORY_COLUMN * max(len(entries), 1)
    height = HISTORY_TOP + HISTORY_PLOT + HISTORY_BOTTOM
    base = HISTORY_TOP + HISTORY_PLOT
    parts = [
        f'<svg class="chart chart-small" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="history-title history-desc">',
        '<title id="history-title">Riwayat nilai akhir dan kualifikasi</title>',
        '<desc id="history-desc">Setiap batang adalah satu periode Monev yang hasilnya sudah diumumkan; '
        "tingginya sebanding dengan nilai akhir (0 sampai 100) dan warnanya kualifikasinya. Angka "
        "lengkap ada pada tabel riwayat.</desc>",
        f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" class="chart-axis"/>',
    ]
    used: dict[str, str] = {}
    for index, entry in enumerate(entries):
        middle = index * HISTORY_COLUMN + HISTORY_COLUMN / 2
        year = escape(str(entry.year))
        parts.append(
            f'<text x="{middle:.1f}" y="{base + 18}" text-anchor="middle" font-size="13">{year}</text>'
        )
        if entry.participating and entry.final_score is not None:
            code = entry.band or ""
            label = labels.get(code, code)
            used.setdefault(code, label)
            tall = float(HISTORY_PLOT * entry.final_score / 100)
            figure = fmt.score(entry.final_score)
            parts.append(
                f'<rect x="{middle - 22:.1f}" y="{base - tall:.2f}" width="44" height="{tall:.2f}" '
                f'class="{fmt.band_class(code)}"><title>{year}: {figure} ({escape(label)})</title></rect>'
            )
            parts.append(
                f'<text x="{middle:.1f}" y="{base - tall - 6:.2f}" text-anchor="middle" font-size="12">'
                f"{figure}</text>"
            )
        else:
            used.setdefault(NOT_PARTICIPATING, "Tidak Mengikuti")
            parts.append(
                f'<text x="{middle:.1f}" y="{base - 6}" text-anchor="middle" font-size="11" '
                f'class="chart-note">tidak mengikuti</text>'
            )
    parts.append("</svg>")
    legend = [(fmt.band_class(code), label, code) for code, label in used.items()]
    return Chart(svg="".join(parts), legend=legend)
