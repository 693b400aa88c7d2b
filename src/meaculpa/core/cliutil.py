"""Small pieces shared by the ``meaculpa`` sub-commands."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import click

T = TypeVar("T")


class Rejection(Protocol):
    """A rejected row of an imported file: its line, the field at fault and why."""

    @property
    def line(self) -> int: ...

    @property
    def field(self) -> str | None: ...

    @property
    def reason(self) -> str: ...


def report_rejected(rejected: Sequence[Rejection], errors_out: Path | None, shown: int) -> None:
    """Print the first ``shown`` rejected rows on stderr (with a hint when there are more) and
    write them all, as a CSV of line, field and reason, to ``errors_out`` when given."""
    for row in rejected[:shown]:
        click.echo(f"  {row}", err=True)
    if len(rejected) > shown:
        more = len(rejected) - shown
        hint = "" if errors_out else " (use --errors-out FILE to get them all)"
        click.echo(f"  ... and {more} more{hint}", err=True)
    if errors_out is not None:
        with open(errors_out, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "field", "reason"])
            for row in rejected:
                writer.writerow([row.line, row.field or "", row.reason])
        click.echo(f"rejected rows written to {errors_out}")


def with_progress(label: str, total: int, run: Callable[[Callable[[int], None]], T]) -> T:
    """``run(progress)`` under a progress bar on stderr (only on a terminal, gone when done):
    ``progress(done)`` moves it to ``done`` of ``total``."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    err = Console(stderr=True)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=total)
        return run(lambda done: progress.update(task, completed=done))
