"""Benchmark: `score` in a loop against `score_many` on N synthetic submissions of the bundled kelurahan SAQ.

    .venv/bin/python bench/scoring.py [--n 100000] [--sample 2000] [--seed 2025] [--repeat 3] [--all-answered]
        [--column-built]

Answers are drawn at random (seeded). Each submission gets a diligence p drawn from Beta(4, 1.5): it answers
each question with probability 0.8 + 0.2p (all with --all-answered), says "yes" or picks the best option with
probability p (otherwise a random value), and attaches evidence with probability p. Conditional questions are
answered regardless of their condition, as operators may answer them before changing the answer a condition
depends on. The answer table is built before timing, one row per answer as a database client returns it:
every row's `question_code` and `value` are string objects of their own, created row after row (a driver
decodes one row after another). `--column-built` keeps the earlier table instead: the 78 question codes shared
by every row, the values created question by question (neighbouring rows' values far apart in memory).

`score` in a loop over a sample and `score_many` on all N run alternately, `--repeat` rounds; each round's
ratio compares two moments seconds apart, the loop's time extrapolated to N. Every round gives `score_many`
new string objects (as a new query would), so no run profits from hashes cached by the one before. The
published figures of the sample are compared to the cent after every `score_many` run. Both wall-clock and CPU
time (`time.process_time`) are reported: on a shared machine the wall clock also counts the moments another
process held the core (both sides run on one thread).
"""

import argparse
import os
import platform
import sys
import time
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from pandas._libs.hashtable import PyObjectHashTable

# This script is named like the package: put the repository first so that `import scoring` finds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import Answer, QuestionType, ScoreCard, Template, parse_template, score, score_many

TEMPLATE = Path(__file__).resolve().parents[1] / "questionnaires" / "kip-2025" / "kelurahan.yaml"
TEXTS = ["ada", "tidak ada", "lihat lampiran", "sedang disusun", "https://ppid.example.go.id/ppid"]


def candidates(template: Template, code: str) -> tuple[np.ndarray, str]:
    """The values an answer to a question is drawn from, and the value a diligent body gives."""
    question = template.question(code)
    options = [option.value for option in sorted(question.options, key=lambda option: -option.score)]
    if question.type is QuestionType.YES_NO:
        pool, best = ["yes", "no"], "yes"
    elif question.type is QuestionType.CHOICE:
        pool, best = options, options[0]
    elif question.type is QuestionType.MULTI_CHOICE:
        pool = [",".join(c) for size in range(1, len(options) + 1) for c in combinations(options, size)]
        best = pool[-1]
    elif question.type is QuestionType.NUMBER:
        pool = [str(n) for n in range(60)]
        best = str(max(band.min for band in question.bands))
    else:
        pool, best = TEXTS, TEXTS[0]
    return np.array(pool, dtype=object), best


def answer_table(
    template: Template, n: int, seed: int, *, all_answered: bool = False, column_built: bool = False
) -> pd.DataFrame:
    """One row per answer of n submissions (ids 1..n), in submission order as a database returns them."""
    rng = np.random.default_rng(seed)
    codes = [question.code for _, question in template.questions()]
    count = len(codes)
    diligence = rng.beta(4, 1.5, size=(n, 1))
    values = np.empty((n, count), dtype=object)
    for column, code in enumerate(codes):
        pool, best = candidates(template, code)
        drawn = pool[rng.integers(0, len(pool), n)]
        values[:, column] = np.where(rng.random(n) < diligence[:, 0], best, drawn)
    answered = (
        np.ones((n, count), dtype=bool) if all_answered else rng.random((n, count)) < 0.8 + 0.2 * diligence
    )
    evidence = rng.random((n, count)) < diligence
    ids = np.repeat(np.arange(1, n + 1, dtype=np.int64), count).reshape(n, count)
    question_codes = np.broadcast_to(np.array(codes, dtype=object), (n, count))[answered]
    table = pd.DataFrame(
        {
            "submission_id": ids[answered],
            "question_code": question_codes,
            "value": values[answered],
            "has_evidence": evidence[answered],
        }
    )
    return table if column_built else as_fetched(table)


def as_fetched(table: pd.DataFrame) -> pd.DataFrame:
    """The table with new string objects created row after row, as a driver decodes rows: every copy is new
    to `score_many` (no string has its hash cached by an earlier run)."""
    fresh = [
        text.encode().decode()
        for pair in zip(table["question_code"].tolist(), table["value"].tolist(), strict=True)
        for text in pair
    ]
    return table.assign(
        question_code=np.array(fresh[0::2], dtype=object), value=np.array(fresh[1::2], dtype=object)
    )


def answers_of(template: Template, rows: pd.DataFrame) -> dict[str, Answer]:
    """The rows of one submission as `score` takes them."""
    answers = {}
    for code, value, has_evidence in zip(
        rows["question_code"], rows["value"], rows["has_evidence"], strict=True
    ):
        kind = template.question(code).type
        parsed: str | list[str] | Decimal = value
        if kind is QuestionType.MULTI_CHOICE:
            parsed = value.split(",")
        elif kind is QuestionType.NUMBER:
            parsed = Decimal(value)
        answers[code] = Answer(parsed, ("https://ppid.example.go.id/dokumen.pdf",) if has_evidence else ())
    return answers


def machine_speed() -> float:
    """Seconds of CPU a fixed pure-Python loop takes (the speed probe of bench/save_answers.py; lower is
    faster): this virtual machine's speed drifts, so each result is stated with it."""
    started = time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.process_time() - started


def hashing_floor(template: Template, table: pd.DataFrame) -> float:
    """CPU seconds for the one thing `score_many` cannot skip on string columns: reading every row's
    question code and value once, through the hash table it uses, nothing else."""
    codes = np.array([question.code for _, question in template.questions()], dtype=object)
    started = time.process_time()
    known = PyObjectHashTable(2 * len(codes))
    known.map_locations(codes)
    known.lookup(table["question_code"].to_numpy(dtype=object))
    PyObjectHashTable(max(len(table) // 1024, 256)).factorize(table["value"].to_numpy(dtype=object))
    return time.process_time() - started


def mismatches(template: Template, cards: dict[int, ScoreCard], result: pd.DataFrame) -> int:
    """How many sample submissions `score_many` published differently from `score` (score, band, aspects)."""
    differ = 0
    for sid, card in cards.items():
        expected = [card.score, card.band.code, *(aspect.score for aspect in card.aspects)]
        if list(result.loc[sid]) != expected:
            differ += 1
    return differ


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="submissions (default 100000)")
    parser.add_argument(
        "--sample", type=int, default=2_000, help="submissions scored with score (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of loop then score_many (default 3)")
    parser.add_argument(
        "--all-answered", action="store_true", help="answer every question of every submission"
    )
    parser.add_argument(
        "--column-built",
        action="store_true",
        help="the earlier table: shared question codes, values created question by question",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time hashing the two string columns once (new strings), the floor for string input",
    )
    parser.add_argument(
        "--categorical",
        action="store_true",
        help="hand score_many question_code and value as categorical columns, made before the clock starts",
    )
    args = parser.parse_args()

    print(
        f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); Python "
        f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; speed probe "
        f"{machine_speed():.3f} s (a fixed loop; lower is faster)"
    )
    template = parse_template(TEMPLATE.read_text(encoding="utf-8"), source=str(TEMPLATE))
    print(f"template {template.key} {template.version}: {len(template.questions())} questions")
    started = time.perf_counter()
    table = answer_table(
        template, args.n, args.seed, all_answered=args.all_answered, column_built=args.column_built
    )
    rows = len(table)
    print(
        f"{args.n} submissions, {rows} answer rows ({rows / args.n:.1f} per submission, "
        f"{'column-built' if args.column_built else 'row by row'}), "
        f"built in {time.perf_counter() - started:.1f} s"
    )

    sample = min(args.sample, args.n)
    sample_rows = table[table["submission_id"] <= sample]
    per_submission = {sid: answers_of(template, group) for sid, group in sample_rows.groupby("submission_id")}
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    differ = 0
    for round_number in range(1, args.repeat + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        cards = {sid: score(template, answers) for sid, answers in per_submission.items()}
        loop_seconds, loop_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if round_number > 1 and not args.column_built:
            table = as_fetched(table)
        if args.categorical:
            started = time.process_time()
            table = table.astype({"question_code": "category", "value": "category"})
            print(f"  columns made categorical (not timed below): CPU {time.process_time() - started:.2f} s")
        started, cpu_started = time.perf_counter(), time.process_time()
        result = score_many(template, table)
        many_seconds, many_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        # Per answer: the loop's sample has fewer rows than the whole table.
        ratios.append((loop_seconds / len(sample_rows)) / (many_seconds / rows))
        cpu_ratios.append((loop_cpu / len(sample_rows)) / (many_cpu / rows))
        differ += mismatches(template, cards, result)
        print(
            f"round {round_number}: score in a loop, {sample} submissions: {loop_seconds:.2f} s "
            f"(CPU {loop_cpu:.2f} s), {len(sample_rows) / loop_seconds:,.0f} answers/s, "
            f"{loop_seconds * args.n / sample:.1f} s for {args.n}; score_many, {args.n}: "
            f"{many_seconds:.2f} s (CPU {many_cpu:.2f} s), {rows / many_seconds / 1e6:.2f} M answers/s; "
            f"ratio {ratios[-1]:.0f}x (CPU {cpu_ratios[-1]:.0f}x)"
        )
        if args.floor and not args.categorical:
            floor_cpu = hashing_floor(template, table if args.column_built else as_fetched(table))
            print(
                f"  floor, the two string columns hashed once and nothing else: CPU {floor_cpu:.2f} s "
                f"({floor_cpu / many_cpu:.0%} of score_many); a score_many costing only that would be "
                f"{(loop_cpu / len(sample_rows)) / (floor_cpu / rows):.0f}x"
            )
    print(
        f"ratios: {', '.join(f'{ratio:.0f}x' for ratio in ratios)} (lowest {min(ratios):.0f}x); CPU time: "
        f"{', '.join(f'{ratio:.0f}x' for ratio in cpu_ratios)} (lowest {min(cpu_ratios):.0f}x)"
    )
    print(
        f"equal to the cent on the sample in every round: {'yes' if differ == 0 else f'NO, {differ} differ'}"
    )
    bands = result["band"].value_counts()
    print("bands: " + ", ".join(f"{band.code} {bands.get(band.code, 0)}" for band in template.bands))
    print(f"load average at end: {os.getloadavg()[0]:.2f}; speed probe {machine_speed():.3f} s")
    if differ:
        sys.exit(1)


if __name__ == "__main__":
    main()
