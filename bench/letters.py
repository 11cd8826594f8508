"""Letters as PDF (results in bench/README.md, "Letters as PDF").

For a published round of ``--n`` bodies seeded by bench/recap_db.py on PostgreSQL (90 % took part, with
verified answers to the bundled 2025 templates, so every such letter lists the questions that lost points):

- ``bare``: ``render_letter`` of one fixed letter (no database: a typical letter's data, 30
  recommendations) ``--bare`` times in this process, each with another body name so Typst's cache does not
  answer: letters per second, and the process's peak RSS afterwards. Beside it (``oneoff``), the same
  letters made the simplest way, one ``typst.compile`` each (a new compiler, fonts loaded every time: what
  ``render_letter`` did before it kept its compilers).
- ``one``: the letters job of the whole round in one process, ``emonev worker --once`` under
  ``/usr/bin/time -v`` with parts larger than the round (one job: query, score cards, render, ZIP):
  letters per second and peak resident set.
- ``two``: the same job on two ``emonev worker`` processes, the round cut into parts of ``--per-part``
  bodies that the workers share: wall time from queueing to done, letters per second, each worker's peak RSS.

Every ZIP is checked: one PDF per body of the publication, names unique, CRCs good. The seeded database is
named ``emonev_bench_recap_letters<N>`` and kept (``--reseed`` seeds it again).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import typst
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.models import Job, Publication, PublishedResult  # noqa: E402
from app.db.session import get_engine, make_sessionmaker  # noqa: E402
from app.letters.render import (  # noqa: E402
    AspectScore,
    LetterData,
    Letterhead,
    Recommendation,
    Signature,
    StageScore,
    payload,
    render_letter,
)
from app.letters.render import _root as letters_root  # noqa: E402
from bench import recap_db  # noqa: E402
from bench.jobs import BASE, EMONEV, FILES, environment, queue_job, wait_done  # noqa: E402

PEAK = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def database(n: int, reseed: bool) -> tuple[str, int]:
    url = f"{BASE}/{recap_db.DB_PREFIX}_letters{n}"
    round_id = None if reseed or not recap_db.database_exists(url) else recap_db.published_round(url)
    if round_id is None:
        started = time.perf_counter()
        round_id = recap_db.seed(url, n, 1)
        print(f"seeded {n} bodies in {time.perf_counter() - started:.0f} s", flush=True)
    return url, round_id


def fixed_letter() -> LetterData:
    return LetterData(
        letterhead=Letterhead(["Komisi Informasi", "Provinsi Bench"], ["Jl. Bench No. 1, Jakarta"]),
        number="1/KI/XII/2026",
        commission="Komisi Informasi Bench",
        body="Kelurahan Bench",
        category="Kelurahan",
        region="Kota Jakarta Pusat",
        round_title="Monev 2026",
        year=2026,
        revision=1,
        published_at=datetime(2026, 12, 4, 3, tzinfo=UTC),
        participating=True,
        stages=[
            StageScore("SAQ (nilai terverifikasi)", Decimal(70), "71,25"),
            StageScore("Presentasi", Decimal(30), "80,00"),
        ],
        aspects=[
            AspectScore(f"Indikator {i}", Decimal(w), Decimal("70.00"))
            for i, w in enumerate((40, 20, 10, 10, 10, 10), 1)
        ],
        final_score=Decimal("73.88"),
        band_label="Cukup Informatif",
        rank=12,
        ranked_in_category=400,
        recommendations=[
            Recommendation(
                f"1.{i}.1",
                "Daftar Informasi Publik dimutakhirkan dalam format Perki 1/2021 " * 2,
                "Jenis Informasi",
                "Jawaban terverifikasi belum memenuhi seluruh kriteria",
                Decimal("1.00"),
            )
            for i in range(30)
        ],
        signature=Signature("Jakarta", date(2026, 12, 4), "Ketua", "Komisi Informasi Bench", "Nama Ketua"),
        final_note="Nilai akhir = SAQ 71,25 × 70% + Presentasi 80,00 × 30% = 73,88.",
    )


def bench_bare(count: int) -> float:
    data = fixed_letter()
    render_letter(data)  # warm: fonts, template
    started = time.perf_counter()
    size = 0
    for i in range(count):
        size += len(render_letter(replace(data, body=f"Kelurahan Bench {i}")))
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"bare render_letter, no database: {count} letters in {wall:.1f} s = {count / wall:.1f} letters/s "
        f"({wall / count * 1000:.1f} ms each, {size / count / 1024:.0f} KB each), peak RSS of this process "
        f"{peak:.0f} MB",
        flush=True,
    )
    return count / wall


def oneoff_letter(data: LetterData) -> bytes:
    """The letter by one ``typst.compile`` (a new compiler each time): the same bytes as render_letter."""
    root = letters_root()
    output = typst.compile(
        str(root / "letter.typ"),
        root=str(root),
        sys_inputs={"data": json.dumps(payload(data, None), ensure_ascii=False)},
        ignore_system_fonts=True,
        timestamp=data.published_at.replace(microsecond=0),
    )
    assert isinstance(output, bytes)
    return output


def bench_oneoff(count: int) -> float:
    data = fixed_letter()
    assert oneoff_letter(data) == render_letter(data)
    started = time.perf_counter()
    for i in range(count):
        oneoff_letter(replace(data, body=f"Kelurahan Bench {i}"))
    wall = time.perf_counter() - started
    print(
        f"one typst.compile per letter, no database: {count} letters in {wall:.1f} s = "
        f"{count / wall:.1f} letters/s ({wall / count * 1000:.1f} ms each)",
        flush=True,
    )
    return count / wall


def expected_letters(url: str, round_id: int) -> int:
    with make_sessionmaker(get_engine(url))() as session:
        publication = session.scalar(
            select(Publication.id)
            .where(Publication.round_id == round_id)
            .order_by(Publication.revision.desc())
        )
        return session.scalar(select(func.count()).where(PublishedResult.publication_id == publication)) or 0


def check_zip(job: Job, expected: int) -> None:
    assert job.status == "done", (job.status, job.error)
    assert job.file_path is not None
    with zipfile.ZipFile(FILES / job.file_path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    assert len(names) == len(set(names)) == expected, (len(names), expected)


def bench_one(url: str, round_id: int, expected: int) -> None:
    sessions = make_sessionmaker(get_engine(url))
    job_id = queue_job(sessions, "letters", round_id, {})
    load = os.getloadavg()[0]
    started = time.perf_counter()
    timed = subprocess.run(
        ["/usr/bin/time", "-v", str(EMONEV), "worker", "--once"],
        cwd=ROOT,
        env=environment(url, EMONEV_LETTERS_BODIES_PER_PART="20000"),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    peak = int(PEAK.search(timed.stderr).group(1))  # type: ignore[union-attr]
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
    check_zip(job, expected)
    print(
        f"one process (emonev worker --once, one job): {expected} letters in {wall:.1f} s = "
        f"{expected / wall:.1f} letters/s, peak RSS {peak / 1024:.0f} MB, "
        f"ZIP {(job.file_size or 0) / 1e6:.0f} MB "
        f"(load average before {load:.2f})",
        flush=True,
    )


def bench_two(url: str, round_id: int, expected: int, per_part: int) -> None:
    sessions = make_sessionmaker(get_engine(url))
    logs = [Path(f"/tmp/emonev-bench-letters-worker-{n}.log") for n in range(2)]
    workers = []
    for n, log in enumerate(logs):
        with log.open("w") as sink:
            workers.append(
                subprocess.Popen(
                    ["/usr/bin/time", "-v", str(EMONEV), "worker", "--name", f"letters-{n}"],
                    cwd=ROOT,
                    env=environment(url, EMONEV_LETTERS_BODIES_PER_PART=str(per_part)),
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    time.sleep(3)
    load = os.getloadavg()[0]
    try:
        started = time.perf_counter()
        job_id = queue_job(sessions, "letters", round_id, {})
        job = wait_done(sessions, job_id)
        wall = time.perf_counter() - started
    finally:
        for worker in workers:  # the worker under /usr/bin/time, which then reports on it
            children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
            for child in children:
                os.kill(int(child), signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    check_zip(job, expected)
    peaks = [int(PEAK.search(log.read_text()).group(1)) / 1024 for log in logs]  # type: ignore[union-attr]
    print(
        f"two workers, parts of {per_part}: {expected} letters in {wall:.1f} s = {expected / wall:.1f} "
        f"letters/s, peak RSS per worker {' and '.join(f'{p:.0f}' for p in peaks)} MB "
        f"(load average before {load:.2f}, after {os.getloadavg()[0]:.2f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", nargs="*", default=["oneoff", "bare", "one", "two"])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--bare", type=int, default=2000)
    parser.add_argument("--per-part", type=int, default=500)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, {date.today()}")
    if "oneoff" in args.what:
        bench_oneoff(args.bare)
    if "bare" in args.what:
        bench_bare(args.bare)
    if "oneoff" in args.what:  # again, after: the load of a shared machine drifts
        bench_oneoff(args.bare)
    if {"one", "two"} & set(args.what):
        url, round_id = database(args.n, args.reseed)
        expected = expected_letters(url, round_id)
        if "one" in args.what:
            bench_one(url, round_id, expected)
        if "two" in args.what:
            bench_two(url, round_id, expected, args.per_part)


if __name__ == "__main__":
    main()
