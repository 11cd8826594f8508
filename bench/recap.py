"""Benchmark: the round recap workbook of a synthetic, seeded round (all sheets).

    .venv/bin/python bench/recap.py                 # 10,000 bodies
    .venv/bin/python bench/recap.py --n 100000      # 100,000 bodies
    .venv/bin/python bench/recap.py --engines       # openpyxl write-only vs XlsxWriter on the ranking rows
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
Targets: 10k bodies under 8 s, 100k under 90 s, both under 300 MB peak.
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
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

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


def measure(args: list[str]) -> tuple[float, float, float, int, float | None]:
    """Run this script as a child with ``args``; return (seconds, the child's CPU seconds, its peak RSS in MB,
    output size, its database backend's CPU seconds if it printed them). The seconds are the child's WRITE_S
    when it prints one, else the child's whole wall time."""
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
        peak_kb = int(printed["PEAK_KB"])
        cpu = float(printed["CPU_S"])
        if "WRITE_S" in printed:
            elapsed = float(printed["WRITE_S"])
        db_cpu = float(printed["DB_CPU_S"]) if "DB_CPU_S" in printed else None
        return elapsed, cpu, peak_kb / 1024, out.stat().st_size if out.exists() else 0, db_cpu


def database(args: argparse.Namespace) -> None:
    round_id = recap_db.published_round(args.db) if args.reuse and recap_db.database_exists(args.db) else None
    if round_id is None:
        round_id = recap_db.seed(args.db, args.n, args.seed)
    kind = "db-corrections" if args.corrections_only else "db-recap"
    what = "Koreksi Verifikasi rows only" if args.corrections_only else "recap through app.exports.service"
    try:
        for _ in range(args.runs):
            load = os.getloadavg()[0]
            seconds, cpu, mb, size, db_cpu = measure([kind, "--db", args.db, "--round", str(round_id)])
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
        choices=["recap", "openpyxl", "xlsxwriter", "xlsxwriter-constant", "db-recap", "db-corrections"],
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--db", help="a PostgreSQL URL whose database (emonev_bench_recap*) is created and dropped"
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (with --db)")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database without seeding again")
    parser.add_argument("--runs", type=int, default=1, help="measurements of the seeded round (with --db)")
    parser.add_argument("--corrections-only", action="store_true")
    parser.add_argument("--round", type=int)
    args = parser.parse_args()
    if args.child:
        if args.child == "recap":
            child_recap(args.n, args.seed, args.out)
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
    if args.engines:
        for engine in ("openpyxl", "xlsxwriter", "xlsxwriter-constant"):
            seconds, _, mb, size, _ = measure([engine, "--n", str(args.n), "--seed", str(args.seed)])
            print(
                f"{engine:20s} {args.n:>7} rows: {seconds:6.2f} s  {args.n / seconds:8.0f} rows/s  "
                f"peak {mb:6.1f} MB  file {size / 1e6:.1f} MB"
            )
        return
    seconds, cpu, mb, size, _ = measure(["recap", "--n", str(args.n), "--seed", str(args.seed)])
    print(
        f"recap of {args.n} bodies (all sheets): {seconds:.2f} s wall, {cpu:.2f} s CPU, "
        f"peak RSS {mb:.1f} MB, file {size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
