"""Benchmark: the round recap workbook of a synthetic, seeded round (all sheets).

    .venv/bin/python bench/recap.py                 # 10,000 bodies
    .venv/bin/python bench/recap.py --n 100000      # 100,000 bodies
    .venv/bin/python bench/recap.py --engines       # openpyxl write-only vs XlsxWriter on the ranking rows
    .venv/bin/python bench/recap.py --versus-bare [--n 100000] [--pairs 3]
                                                    # the recap beside raw XlsxWriter writing the same cells
    .venv/bin/python bench/recap.py --db postgresql+psycopg://postgres@127.0.0.1:5432/emonev_bench_recap
                                                    # 10,000 bodies through the database

Each measurement runs in a fresh child process; the parent reports the child's wall time and peak resident
memory (``VmHWM`` of the child, interpreter and imports included; not ``ru_maxrss``, which Linux carries
over from the parent across ``exec``, so a parent grown by seeding would inflate it).

With ``--db`` the parent seeds a published round of N bodies in that PostgreSQL database (created, and
dropped afterwards unless ``--keep``; its name must start with ``emonev_bench_recap``; ``--reuse``
measures a kept one again), then the child writes the recap with ``app.exports.service.recap``
(``--corrections-only``: only the ``Koreksi Verifikasi`` rows of ``iter_corrections``, timed alone).
See ``bench/recap_db.py``.
With ``--versus-bare`` the recap (all sheets) and its bare equivalent (``child_bare``: raw XlsxWriter
``constant_memory`` writing the same sheets, rows and values as plain cells) run alternately, each in a fresh
child, ``--pairs`` times. Rows stay lazy (so the peak is the writer's, as when they stream from the
database); the time spent inside the synthetic generators is measured per item (``Timed``) and taken off
both clocks, wall and CPU, so only the writers' work is timed. Cells are counted in the written files.
Targets: 10k bodies under 8 s, 100k under 90 s, both under 300 MB peak; per cell at least 0.7 of the bare
writer (issue 18).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scoring  # noqa: E402
from app.exports.layout import NOT_PARTICIPATING_LABEL, BandInfo, Stamp  # noqa: E402
from app.exports.recap_workbook import (  # noqa: E402
    AspectInfo,
    BandCountLine,
    CategoryInfo,
    CorrectionRow,
    ParticipationLine,
    RecapData,
    RecapRow,
    RoundInfo,
    StageInfo,
    TrendPoint,
    write_recap,
)
from app.results.explain import COUNTED_ZERO, NOT_TAKEN  # noqa: E402
from app.results.service import percent  # noqa: E402
from bench import recap_db  # noqa: E402

BANDS = (
    scoring.Band(code="informatif", label="Informatif", min=Decimal(90)),
    scoring.Band(code="menuju-informatif", label="Menuju Informatif", min=Decimal(80)),
    scoring.Band(code="cukup-informatif", label="Cukup Informatif", min=Decimal(60)),
    scoring.Band(code="kurang-informatif", label="Kurang Informatif", min=Decimal(40)),
    scoring.Band(code="tidak-informatif", label="Tidak Informatif", min=Decimal(0)),
)
WEIGHTS = {"saq": Decimal(70), "presentasi": Decimal(30)}
ASPECTS = (
    ("1", "Jenis Informasi"),
    ("2", "Digitalisasi"),
    ("3", "Kualitas Informasi"),
    ("4", "Pelayanan Informasi"),
    ("5", "Komitmen Organisasi"),
    ("6", "Sarana dan Prasarana"),
)
CATEGORY_KINDS = ("Kelurahan", "Kecamatan", "Dinas", "Puskesmas", "Suku Dinas", "UPT", "Kota/Kabupaten Adm.")
EARLIER = (RoundInfo(1, 2023, "Monev 2023"), RoundInfo(2, 2024, "Monev 2024"))


def _cents(rng: random.Random, low: int = 0, high: int = 10000) -> Decimal:
    return Decimal(rng.randint(low, high)).scaleb(-2)


def categories(n: int) -> list[CategoryInfo]:
    count = min(30, max(5, n // 400))
    return [
        CategoryInfo(i + 1, f"k{i + 1:02d}", f"{CATEGORY_KINDS[i % len(CATEGORY_KINDS)]} Wilayah {i + 1}")
        for i in range(count)
    ]


def _sizes(n: int, cats: list[CategoryInfo]) -> list[int]:
    base, extra = divmod(n, len(cats))
    return [base + (1 if i < extra else 0) for i in range(len(cats))]


def category_rows(seed: int, index: int, category: CategoryInfo, size: int) -> list[RecapRow]:
    """One category's rows, ranked (standard competition ranking), absent bodies last."""
    rng = random.Random(seed * 1_000_003 + index)
    rows = []
    for j in range(size):
        name = f"{category.name.split(' Wilayah')[0]} {rng.choice('ABCDEFGH')}{index:02d}-{j:05d}"
        if j % 5 == 0:
            name = "=" + name  # a body name that looks like a formula: must stay text
        region = f"31.{71 + index % 5:02d}.{j % 99:02d}.{1000 + j % 9000}"
        if rng.random() < 0.1:
            rows.append(
                RecapRow(
                    name, category.id, category.name, region, False, None, None, None, {}, None, None, {}, {}
                )
            )
            continue
        self_score = _cents(rng, 3000)
        verified = min(self_score, _cents(rng, 2000))
        stages = {"saq": verified, "presentasi": _cents(rng, 4000)}
        final = scoring.final_score(stages, WEIGHTS)
        band = scoring.band_for(BANDS, final).code
        aspects = {code: _cents(rng) for code, _ in ASPECTS}
        history = {
            r.id: TrendPoint(_cents(rng, 2000), rng.choice(BANDS).code) for r in EARLIER if rng.random() < 0.8
        }
        last = history.get(EARLIER[-1].id)
        change = final - last.final_score if last and last.final_score is not None else None
        rows.append(
            RecapRow(
                name,
                category.id,
                category.name,
                region,
                True,
                None,
                self_score,
                verified,
                stages,
                final,
                band,
                aspects,
                history,
                change,
                rng.randint(-2, 2) if last else None,
            )
        )
    present = sorted((r for r in rows if r.participating), key=lambda r: r.final_score or 0, reverse=True)
    ranked: list[RecapRow] = []
    previous: Decimal | None = None
    rank = 0
    for position, r in enumerate(present, start=1):
        if r.final_score != previous:
            rank, previous = position, r.final_score
        ranked.append(_with_rank(r, rank))
    return ranked + [r for r in rows if not r.participating]


def _with_rank(r: RecapRow, rank: int) -> RecapRow:
    return RecapRow(
        r.body,
        r.category_id,
        r.category,
        r.region_code,
        r.participating,
        rank,
        r.self_score,
        r.verified_score,
        r.stage_scores,
        r.final_score,
        r.band,
        r.aspect_scores,
        r.history,
        r.score_change,
        r.band_change,
    )


def rows(n: int, seed: int) -> Iterator[RecapRow]:
    cats = categories(n)
    for index, (category, size) in enumerate(zip(cats, _sizes(n, cats), strict=True)):
        yield from category_rows(seed, index, category, size)


def corrections(n: int, seed: int) -> Iterator[CorrectionRow]:
    rng = random.Random(seed + 7)
    cats = categories(n)
    for index, (category, size) in enumerate(zip(cats, _sizes(n, cats), strict=True)):
        for j in range(size):
            for k in range(rng.choice((0, 0, 1, 2))):
                yield CorrectionRow(
                    f"Badan {index:02d}-{j:05d}",
                    category.name,
                    f"1.{k + 1}.{j % 7 + 1}",
                    "Apakah badan publik mengumumkan DIP yang dimutakhirkan tahun berjalan?",
                    "Ya",
                    "Tidak",
                    f"Verifikator {j % 40}",
                    "-Tautan tidak dapat dibuka" if k else "Bukti tidak sesuai",
                )


def recap_data(n: int, seed: int) -> RecapData:
    cats = categories(n)
    counts: list[BandCountLine] = []
    for index, (category, size) in enumerate(zip(cats, _sizes(n, cats), strict=True)):
        per_band: dict[str, int] = {}
        absent = 0
        for r in category_rows(seed, index, category, size):
            if r.band is None:
                absent += 1
            else:
                per_band[r.band] = per_band.get(r.band, 0) + 1
        counts.append(BandCountLine(category.name, per_band, absent, size))
    whole = sum(c.total for c in counts)
    pcts = {b.code: percent(sum(c.counts.get(b.code, 0) for c in counts), whole) for b in BANDS}
    pcts[NOT_PARTICIPATING_LABEL] = percent(sum(c.not_participating for c in counts), whole)
    participation = [
        ParticipationLine(
            c.category,
            c.total,
            c.total,
            Decimal("100.00"),
            c.total - c.not_participating,
            percent(c.total - c.not_participating, c.total),
            c.total - c.not_participating,
            percent(c.total - c.not_participating, c.total),
        )
        for c in counts
    ]
    submitted = sum(c.total - c.not_participating for c in counts)
    total = ParticipationLine(
        "Jumlah",
        whole,
        whole,
        Decimal("100.00"),
        submitted,
        percent(submitted, whole),
        submitted,
        percent(submitted, whole),
    )
    return RecapData(
        commission="Komisi Informasi Provinsi Sintetis",
        round_title="Monev 2025",
        year=2025,
        stamp=Stamp(datetime.now(UTC), "Asia/Jakarta", 1, datetime(2025, 12, 10, 3, 0, tzinfo=UTC)),
        stages=[
            StageInfo("saq", "SAQ", WEIGHTS["saq"]),
            StageInfo("presentasi", "Presentasi", WEIGHTS["presentasi"]),
        ],
        bands=[BandInfo(b.code, b.label) for b in BANDS],
        categories=cats,
        aspects=[AspectInfo(code, title) for code, title in ASPECTS],
        band_counts=counts,
        band_percentages=pcts,
        participation=participation,
        participation_total=total,
        earlier_rounds=EARLIER,
    )


def child_recap(n: int, seed: int, out: Path) -> None:
    write_recap(out, recap_data(n, seed), rows(n, seed), corrections(n, seed))


class Timed:
    """An iterator that adds the time spent making each of its items to ``spent``: the synthetic rows are
    generated lazily (so memory measures the writer, as rows streamed from the database would), and the time
    of generating them is taken off the writer's clock."""

    spent = 0.0
    spent_cpu = 0.0

    def __init__(self, items: Iterator[Any]) -> None:
        self.items = items

    def __iter__(self) -> Timed:
        return self

    def __next__(self) -> Any:
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            return next(self.items)
        finally:
            Timed.spent += time.perf_counter() - start
            Timed.spent_cpu += time.process_time() - start_cpu


def report(start: float, start_cpu: float) -> None:
    """Print the writer's wall and CPU seconds with the generators' taken off, and the generators' own."""
    print("WRITE_S", time.perf_counter() - start - Timed.spent)
    print("WRITE_CPU_S", time.process_time() - start_cpu - Timed.spent_cpu)
    print("GEN_S", Timed.spent)


def child_recap_writer(n: int, seed: int, out: Path) -> None:
    """The whole recap (all sheets) with the time of making the synthetic rows taken off: WRITE_S is
    ``write_recap``'s wall time minus the time spent inside the row and correction generators (GEN_S)."""
    data = recap_data(n, seed)
    start, start_cpu = time.perf_counter(), time.process_time()
    write_recap(out, data, Timed(rows(n, seed)), Timed(corrections(n, seed)))
    report(start, start_cpu)


def plain_rows(n: int, seed: int) -> Iterator[tuple[list[Any], list[Any], list[Any]]]:
    """The recap's body rows as plain cell values (str, int, float or None for no cell), one list per sheet
    kind: ranking (``Peringkat`` and the category's sheet), ``Per Aspek``, ``Tren``. Made by the generator,
    so the conversion is generation, not the bare writer's work."""
    aspect_codes = [code for code, _ in ASPECTS]
    labels = {b.code: b.label for b in BANDS}
    for r in rows(n, seed):
        band = (
            labels.get(r.band, NOT_PARTICIPATING_LABEL)
            if r.band and r.participating
            else NOT_PARTICIPATING_LABEL
        )
        if r.participating:
            presentasi = r.stage_scores.get("presentasi")
            scores: list[Any] = [
                _float(r.self_score),
                _float(r.verified_score),
                _float(presentasi) if presentasi is not None else COUNTED_ZERO,
            ]
        else:
            scores = [NOT_TAKEN] * 3
        ranking = [r.rank, r.body, r.category, r.region_code, *scores, _float(r.final_score), band]
        aspects = [r.body, r.category, *(_float(r.aspect_scores.get(code)) for code in aspect_codes)]
        trend: list[Any] = [r.body, r.category]
        for earlier in EARLIER:
            point = r.history.get(earlier.id)
            trend += (
                [_float(point.final_score), labels.get(point.band or "", point.band)]
                if point
                else [None, None]
            )
        trend += [_float(r.final_score), band, _float(r.score_change), r.band_change]
        yield ranking, aspects, trend


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def plain_corrections(n: int, seed: int) -> Iterator[list[Any]]:
    for c in corrections(n, seed):
        yield [
            c.body,
            c.category,
            c.question_code,
            c.question_text,
            c.self_value,
            c.verified_value,
            c.verifier,
            c.note,
        ]


def child_bare(n: int, seed: int, out: Path) -> None:
    """The bare equivalent of the recap: raw XlsxWriter in ``constant_memory`` mode writing the same sheets,
    rows and values as plain cells (``write_string`` / ``write_number``, no format, no column widths, no text
    guard, no tables), the values already str/int/float. Generation time is taken off as for the recap."""
    import xlsxwriter

    cats = categories(n)
    ids = [c.id for c in cats]
    category_of = [cid for cid, size in zip(ids, _sizes(n, cats), strict=True) for _ in range(size)]
    start, start_cpu = time.perf_counter(), time.process_time()
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    ringkasan = wb.add_worksheet("Ringkasan")
    ranking = wb.add_worksheet("Peringkat")
    per_category = {c.id: wb.add_worksheet(c.name.replace("/", "-")[:31]) for c in cats}
    aspects = wb.add_worksheet("Per Aspek")
    wb.add_worksheet("Partisipasi")
    koreksi = wb.add_worksheet("Koreksi Verifikasi")
    trend = wb.add_worksheet("Tren")
    ringkasan.write_string(0, 0, "Rekapitulasi")
    row_of = {id(ws): 0 for ws in [ranking, *per_category.values(), aspects, koreksi, trend]}

    def put(ws: Any, values: list[Any]) -> None:
        row = row_of[id(ws)]
        for col, value in enumerate(values):
            if value is None:
                continue
            if value.__class__ is str:
                ws.write_string(row, col, value)
            else:
                ws.write_number(row, col, value)
        row_of[id(ws)] = row + 1

    for i, (rank_values, aspect_values, trend_values) in enumerate(Timed(plain_rows(n, seed))):
        put(ranking, rank_values)
        put(per_category[category_of[i]], rank_values)
        put(aspects, aspect_values)
        put(trend, trend_values)
    for values in Timed(plain_corrections(n, seed)):
        put(koreksi, values)
    wb.close()
    report(start, start_cpu)


def child_engine(engine: str, n: int, seed: int, out: Path) -> None:
    """Only the ranking rows (the bulk of the recap), written by one engine. The rows are made first, so the
    time printed (WRITE_S) is the engine's alone."""
    data = list(rows(n, seed))
    start = time.perf_counter()
    _write_engine(engine, data, out)
    print("WRITE_S", time.perf_counter() - start)


def _write_engine(engine: str, data: list[RecapRow], out: Path) -> None:
    headers = [
        "Peringkat",
        "Badan Publik",
        "Kategori",
        "Kode Wilayah",
        "Nilai Mandiri",
        "Nilai Verifikasi",
        "Presentasi",
        "Nilai Akhir",
        "Kualifikasi",
    ]
    if engine == "openpyxl":
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Peringkat")
        ws.append(headers)
        for r in data:
            cells = []
            for value in (r.self_score, r.verified_score, r.stage_scores.get("presentasi"), r.final_score):
                cell = WriteOnlyCell(ws, None if value is None else float(value))
                cell.number_format = "0.00"
                cells.append(cell)
            ws.append([r.rank, r.body, r.category, r.region_code, *cells, r.band])
        wb.save(out)
    else:
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(out), {"constant_memory": engine == "xlsxwriter-constant"})
        ws = wb.add_worksheet("Peringkat")
        score = wb.add_format({"num_format": "0.00"})
        ws.write_row(0, 0, headers)
        for i, r in enumerate(data, start=1):
            if r.rank is not None:
                ws.write_number(i, 0, r.rank)
            ws.write_string(i, 1, r.body)
            ws.write_string(i, 2, r.category)
            ws.write_string(i, 3, r.region_code or "")
            for col, value in enumerate(
                (r.self_score, r.verified_score, r.stage_scores.get("presentasi"), r.final_score), start=4
            ):
                if value is not None:
                    ws.write_number(i, col, float(value), score)
            ws.write_string(i, 8, r.band or NOT_PARTICIPATING_LABEL)
        wb.close()


def peak_kb() -> int:
    """This process's peak resident set in KB."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Measured(NamedTuple):
    seconds: float
    """The child's WRITE_S when it prints one, else its whole wall time."""
    cpu: float
    """The child's CPU seconds (all of it, generation included)."""
    peak_mb: float
    size: int
    db_cpu: float | None
    """Its database backend's CPU seconds, if it printed them."""
    cells: int
    """Cells in the workbook's worksheets (``<c>`` elements), counted when asked."""
    gen_s: float
    """Time the child spent making synthetic rows, already taken off ``seconds`` (GEN_S)."""
    write_cpu: float
    """The writer's CPU seconds, generation taken off (WRITE_CPU_S), when it prints them."""


def measure(args: list[str], *, count_cells: bool = False) -> Measured:
    """Run this script as a child with ``args`` and read what it printed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.xlsx"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args, "--out", str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        printed = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
        return Measured(
            seconds=float(printed.get("WRITE_S", elapsed)),
            cpu=float(printed["CPU_S"]),
            peak_mb=int(printed["PEAK_KB"]) / 1024,
            size=out.stat().st_size if out.exists() else 0,
            db_cpu=float(printed["DB_CPU_S"]) if "DB_CPU_S" in printed else None,
            cells=count_worksheet_cells(out) if count_cells else 0,
            gen_s=float(printed.get("GEN_S", 0)),
            write_cpu=float(printed.get("WRITE_CPU_S", 0)),
        )


def count_worksheet_cells(path: Path) -> int:
    """Cells written in every worksheet of the workbook, read as a stream (a 100,000-body recap unpacks to
    hundreds of MB)."""
    cells = 0
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.startswith("xl/worksheets/sheet"):
                continue
            tail = b""
            with archive.open(name) as stream:
                while chunk := stream.read(1 << 20):
                    cells += (tail + chunk).count(b"<c r=")
                    tail = chunk[-4:]
    return cells


def versus_bare(args: argparse.Namespace) -> None:
    """The recap and its bare equivalent, alternating, ``--pairs`` times: cells per second of each, by wall
    time and by CPU time (generation taken off both), and the ratios (the recap's per-cell speed over the
    bare writer's)."""
    what = ["--n", str(args.n), "--seed", str(args.seed)]
    for pair in range(1, args.pairs + 1):
        load = os.getloadavg()[0]
        recap = measure(["recap-writer", *what], count_cells=True)
        bare = measure(["bare", *what], count_cells=True)
        print(f"pair {pair}, {args.n} bodies, load average {load:.2f}:")
        for name, m in (("recap", recap), ("bare", bare)):
            print(
                f"  {name:5s} {m.cells:>9,} cells  wall {m.seconds:6.2f} s "
                f"{m.cells / m.seconds:>9,.0f} cells/s  "
                f"CPU {m.write_cpu:6.2f} s {m.cells / m.write_cpu:>9,.0f} cells/s  "
                f"(generation {m.gen_s:.2f} s off)  peak RSS {m.peak_mb:.1f} MB  file {m.size / 1e6:.1f} MB"
            )
        wall = (recap.cells / recap.seconds) / (bare.cells / bare.seconds)
        cpu = (recap.cells / recap.write_cpu) / (bare.cells / bare.write_cpu)
        print(f"  ratio recap/bare per cell: wall {wall:.2f}, CPU {cpu:.2f}", flush=True)


def database(args: argparse.Namespace) -> None:
    round_id = recap_db.published_round(args.db) if args.reuse and recap_db.database_exists(args.db) else None
    if round_id is None:
        round_id = recap_db.seed(args.db, args.n, args.seed)
    kind = "db-corrections" if args.corrections_only else "db-recap"
    what = "Koreksi Verifikasi rows only" if args.corrections_only else "recap through app.exports.service"
    try:
        for _ in range(args.runs):
            load = os.getloadavg()[0]
            seconds, cpu, mb, size, db_cpu, _, _, _ = measure(
                [kind, "--db", args.db, "--round", str(round_id)]
            )
            print(
                f"{what}, {args.n} bodies: {seconds:.2f} s, {cpu:.2f} s CPU (child), "
                f"{db_cpu or 0:.2f} s CPU (PostgreSQL backend), peak RSS {mb:.1f} MB, "
                f"file {size / 1e6:.1f} MB, load average {load:.2f}"
            )
    finally:
        if not args.keep:
            recap_db.drop_database(args.db)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20251126)
    parser.add_argument("--engines", action="store_true")
    parser.add_argument(
        "--child",
        choices=[
            "recap",
            "recap-writer",
            "bare",
            "openpyxl",
            "xlsxwriter",
            "xlsxwriter-constant",
            "db-recap",
            "db-corrections",
        ],
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--db", help="a PostgreSQL URL whose database (emonev_bench_recap*) is created and dropped"
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (with --db)")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database without seeding again")
    parser.add_argument("--runs", type=int, default=1, help="measurements of the seeded round (with --db)")
    parser.add_argument("--corrections-only", action="store_true")
    parser.add_argument(
        "--versus-bare", action="store_true", help="the recap beside raw XlsxWriter, alternating (--pairs)"
    )
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--round", type=int)
    args = parser.parse_args()
    if args.child:
        if args.child == "recap":
            child_recap(args.n, args.seed, args.out)
        elif args.child == "recap-writer":
            child_recap_writer(args.n, args.seed, args.out)
        elif args.child == "bare":
            child_bare(args.n, args.seed, args.out)
        elif args.child == "db-recap":
            recap_db.child_recap(args.db, args.round, args.out)
        elif args.child == "db-corrections":
            recap_db.child_corrections(args.db, args.round)
        else:
            child_engine(args.child, args.n, args.seed, args.out)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print("PEAK_KB", peak_kb())
        print("CPU_S", usage.ru_utime + usage.ru_stime)
        return
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cpus, load average {load:.2f}; python {sys.version.split()[0]}")
    if args.db:
        database(args)
        return
    if args.versus_bare:
        versus_bare(args)
        return
    if args.engines:
        for engine in ("openpyxl", "xlsxwriter", "xlsxwriter-constant"):
            seconds, _, mb, size, _, _, _, _ = measure([engine, "--n", str(args.n), "--seed", str(args.seed)])
            print(
                f"{engine:20s} {args.n:>7} rows: {seconds:6.2f} s  {args.n / seconds:8.0f} rows/s  "
                f"peak {mb:6.1f} MB  file {size / 1e6:.1f} MB"
            )
        return
    seconds, cpu, mb, size, _, _, _, _ = measure(["recap", "--n", str(args.n), "--seed", str(args.seed)])
    print(
        f"recap of {args.n} bodies (all sheets): {seconds:.2f} s wall, {cpu:.2f} s CPU, "
        f"peak RSS {mb:.1f} MB, file {size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
