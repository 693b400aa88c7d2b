"""``meaculpa analyze``: the click command the root CLI group attaches."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .fileio import analyze_file


@click.command("analyze")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write JSON Lines here instead of standard output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "jsonl"]),
    default="auto",
    show_default=True,
    help="Input format (auto: by extension, then content).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when writing to a file from a terminal).",
)
def analyze_command(file: Path, output: Path | None, fmt: str, progress: bool | None) -> None:
    """Analyse FILE (CSV or JSON Lines with `id` and `text`): one JSON object per row."""
    show = progress if progress is not None else (output is not None and sys.stderr.isatty())
    kind = None if fmt == "auto" else fmt
    try:
        if show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=False,
            ) as bar:
                task = bar.add_task("Analysing", total=None)

                def update(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                summary = analyze_file(file, output, update, fmt=kind)
        else:
            summary = analyze_file(file, output, fmt=kind)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{summary.rows} rows: {summary.analyzed} analysed, {summary.errors} errors"
        + (f" -> {summary.output}" if output is not None else ""),
        err=True,
    )
