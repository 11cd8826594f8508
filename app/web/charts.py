"""Charts drawn on the server as inline SVG (no JavaScript chart library; works on a closed network).

The band distribution: one horizontal bar per category, split into the bands (highest first) and the bodies
that did not take part, each segment as wide as its share of the category's invited bodies. Counts come
from the results service; geometry is the only arithmetic here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from app.results.service import NOT_PARTICIPATING, BandCountRow
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
