"""Where the synchronous exports stop: the time of the recap and of the result-sheet ZIP of a seeded published
round, per body, to choose ``EMONEV_SYNC_RECAP_MAX_BODIES`` and ``EMONEV_SYNC_RESULT_SHEETS_MAX_BODIES``
(README, "Small exports at once, large ones as jobs").

The round is seeded on PostgreSQL by ``bench/recap_db.py`` (N bodies, 90 % of them submitted and verified
with every question answered, the three bundled 2025 templates); both exports then run in this process
through ``app.exports.service`` (the code behind the GET routes and the jobs), each ``--runs`` times, into a
temporary file. Printed per run: wall time, this process's CPU time, its PostgreSQL backend's CPU time, the
time per body of the publication, and how many bodies fit in ``--budget`` seconds at that pace.

    .venv/bin/python bench/sync_exports.py --n 300 --n 5000 --skip-zip-above 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.accounts.principal import SYSTEM
from app.db.session import get_engine, make_sessionmaker
from app.exports.service import recap, result_sheets_zip
from bench import recap_db

DEFAULT_DB = f"postgresql+psycopg://postgres@127.0.0.1:5432/{recap_db.DB_PREFIX}_sync_exports"


def _measure(url: str, round_id: int, write: Callable[..., str], suffix: str) -> tuple[float, float, float]:
    """Wall seconds, this process's CPU seconds and the backend's CPU seconds of one export."""
    engine = get_engine(url)
    try:
        with make_sessionmaker(engine)() as session, tempfile.TemporaryDirectory() as tmp:
            pid = recap_db._backend_pid(session)
            db_before = recap_db._backend_cpu(pid)
            cpu_before = time.process_time()
            start = time.perf_counter()
            write(
                session=session, round_id=round_id, revision=None, by=SYSTEM, target=Path(tmp) / f"x{suffix}"
            )
            wall = time.perf_counter() - start
            return wall, time.process_time() - cpu_before, recap_db._backend_cpu(pid) - db_before
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, action="append", help="bodies of a seeded round (repeatable)")
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--budget", type=float, default=5.0, help="seconds a synchronous export may take")
    parser.add_argument("--skip-zip-above", type=int, default=1000, help="no ZIP for rounds larger than this")
    parser.add_argument("--seed", type=int, default=20251204)
    args = parser.parse_args()
    for n in args.n or [300]:
        round_id = recap_db.seed(args.db, n, args.seed)
        try:
            exports: list[tuple[str, Callable[..., str], str]] = [("recap", recap, ".xlsx")]
            if n <= args.skip_zip_above:
                exports.append(("result sheets ZIP", result_sheets_zip, ".zip"))
            for name, write, suffix in exports:
                for _ in range(args.runs):
                    load = os.getloadavg()[0]
                    wall, cpu, db_cpu = _measure(args.db, round_id, write, suffix)
                    per_body = (cpu + db_cpu) / n
                    print(
                        f"{name}, {n} bodies: {wall:.2f} s wall, {cpu:.2f} s CPU + {db_cpu:.2f} s "
                        f"PostgreSQL, {1000 * per_body:.2f} ms CPU a body, "
                        f"{int(args.budget / per_body)} bodies in {args.budget:g} s of CPU, "
                        f"load average {load:.2f}",
                        flush=True,
                    )
        finally:
            recap_db.drop_database(args.db)


if __name__ == "__main__":
    main()
