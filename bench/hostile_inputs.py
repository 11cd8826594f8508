"""Benchmark: what hostile template inputs cost the service now (issue 14, problem 8), as ratios against bare
equivalents measured in the same run.

    .venv/bin/python bench/hostile_inputs.py [--repeat 20]

- the alias bomb (six levels of ten aliases, under 1 KB) refused by `parse_template`, against PyYAML's bare
  `yaml.safe_load` of a benign document of the same size;
- the costliest template the bounds let through to validation: just under the node limit
  (`scoring.template.MAX_NODES` values), refused with its problems capped at 100, against parsing the largest
  bundled SAQ (dinas, about 2,200 nodes, 40 KB);
- a template with 6,000 problems (2,000 aspects lacking their fields), against the same bundled SAQ.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import TemplateError, parse_template
from scoring.template import MAX_NODES

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = (ROOT / "questionnaires" / "kip-2025" / "dinas.yaml").read_text(encoding="utf-8")
HEAD = 'key: bom\nversion: "1"\ntitle: Bom\n'


def alias_bomb(levels: int = 6) -> str:
    node = '&g0 {code: "1", text: Q, type: yes_no, weight: 1}'
    for i in range(1, levels):
        node = f'&g{i} {{code: "1", title: G, items: [{node}' + f", *g{i - 1}" * 9 + "]}"
    items = f"[{node}" + f", *g{levels - 1}" * 9 + "]"
    return HEAD + f'aspects:\n  - {{code: "1", title: A, weight: 100, items: {items}}}\n'


def benign(size: int) -> str:
    lines, i = [HEAD.rstrip("\n")], 0
    while sum(len(line) + 1 for line in lines) < size:
        lines.append(f"k{i}: nilai {i}")
        i += 1
    return "\n".join(lines) + "\n"


def near_node_limit() -> str:
    return HEAD + "description: [" + ", ".join(["x"] * (MAX_NODES - 10)) + "]\n"


def largest_upload() -> str:
    """As large as an upload may be (EMONEV_TEMPLATE_MAX_BYTES, 256 KB) in 2,000 long strings."""
    line = "  - " + "teks panjang " * 9 + "\n"
    return HEAD + "description:\n" + line * (256 * 1024 // len(line) - 1)


def many_problems() -> str:
    return HEAD + "aspects:\n" + "".join(f'  - {{code: "{i}"}}\n' for i in range(2000))


def refuse(text: str) -> Callable[[], object]:
    def run() -> object:
        try:
            return parse_template(text, source="bench.yaml")
        except TemplateError as exc:
            return exc

    return run


def timed(run: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    bomb = alias_bomb()
    plain = benign(len(bomb))
    cases = [
        (
            "alias bomb refused",
            len(bomb),
            refuse(bomb),
            "yaml.safe_load, benign text of the same size",
            lambda: yaml.safe_load(plain),
        ),
        (
            "just under the node limit",
            len(near_node_limit()),
            refuse(near_node_limit()),
            "parse_template of the bundled dinas SAQ",
            refuse(BUNDLED),
        ),
        (
            "256 KB of long strings",
            len(largest_upload()),
            refuse(largest_upload()),
            "parse_template of the bundled dinas SAQ",
            refuse(BUNDLED),
        ),
        (
            "6,000 problems, 100 listed",
            len(many_problems()),
            refuse(many_problems()),
            "parse_template of the bundled dinas SAQ",
            refuse(BUNDLED),
        ),
    ]
    print("| input | bytes | median ms | bare equivalent | bare ms | ratio |")
    print("|---|---:|---:|---|---:|---:|")
    for name, size, run, bare_name, bare in cases:
        ours, theirs = timed(run, args.repeat), timed(bare, args.repeat)
        row = [
            name,
            str(size),
            f"{ours * 1000:.2f}",
            bare_name,
            f"{theirs * 1000:.2f}",
            f"{ours / theirs:.2f}",
        ]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
