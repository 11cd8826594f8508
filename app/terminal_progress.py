"""Progress of long command-line work: a bar on a terminal (rich), plain lines when the output goes to a file
or a pipe (a cron job's log, CI), so that both a person watching and a log reader see how far it got."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

# A plain line at most this often (and at the end): a log of a 100,000-body export stays short.
LINE_EVERY_SECONDS = 5.0

Report = Callable[[int, int | None], None]


@contextmanager
def terminal_progress(description: str, *, stream: TextIO | None = None) -> Iterator[Report]:
    """Yield ``report(done, total)`` for the work to call as it goes (``total`` may be None until known)."""
    out = stream or sys.stderr
    if out.isatty():
        with _bar(description, out) as report:
            yield report
    else:
        lines = _PlainLines(description, out)
        yield lines
        lines.finish()


@contextmanager
def _bar(description: str, out: TextIO) -> Iterator[Report]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=out),
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=None)

        def report(done: int, total: int | None = None) -> None:
            progress.update(
                task, completed=done, total=total if total is not None else progress.tasks[0].total
            )

        yield report


class _PlainLines:
    def __init__(self, description: str, out: TextIO) -> None:
        self.description = description
        self.out = out
        self.started = time.monotonic()
        self.last_line = 0.0
        self.done = 0
        self.total: int | None = None

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self.last_line >= LINE_EVERY_SECONDS:
            self.last_line = now
            self._line()

    def _line(self) -> None:
        if self.total:
            share = f"{self.done}/{self.total} ({100 * self.done / self.total:.0f}%)"
        else:
            share = str(self.done)
        elapsed = time.monotonic() - self.started
        print(f"{self.description}: {share}, {elapsed:.0f} s", file=self.out, flush=True)

    def finish(self) -> None:
        self._line()
