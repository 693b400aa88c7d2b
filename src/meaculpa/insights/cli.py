"""``meaculpa analyze FILE`` and ``meaculpa analysis train``."""

from __future__ import annotations

import click

from meaculpa.analysis.cli import analyze_command

#: Fewer corrections than this teach the model little; ``--min`` lowers it.
MIN_CORRECTIONS = 50


@click.group("analysis")
def analysis_group() -> None:
    """The organisation's own sentiment and anger model."""


def _f1(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@analysis_group.command("train")
@click.option(
    "--min",
    "minimum",
    default=MIN_CORRECTIONS,
    show_default=True,
    type=click.IntRange(3),
    help="refuse to train with fewer corrected messages",
)
@click.option("--dry-run", is_flag=True, help="measure only; do not store the model")
def train(minimum: int, dry_run: bool) -> None:
    """Retrain the sentiment/anger model from the agents' label corrections.

    Holds back a fifth of the corrected messages, prints the macro-F1 of the shipped model
    and of the retrained one there, then stores the model trained on all corrections; from
    then on every new message is analysed with it.
    """
    from meaculpa.analysis import train_from_corrections
    from meaculpa.core.audit import Actor
    from meaculpa.core.db import Database
    from meaculpa.insights.actions import do_store_org_model
    from meaculpa.insights.queries import training_examples
    from meaculpa.settings import Settings

    try:
        settings = Settings()
    except ValueError as exc:
        raise click.ClickException(f"settings: {exc}") from exc
    db = Database(settings.database_url, pool_size=2)
    try:
        with db.reading() as session:
            examples, anger_only = training_examples(session)
        if len(examples) < minimum:
            raise click.ClickException(
                f"{len(examples)} messages have a sentiment correction; at least {minimum} "
                "are needed (agents correct labels on the case page)"
            )
        click.echo(f"training on {len(examples)} corrected messages...", err=True)
        try:
            model, report = train_from_corrections(examples)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"corrections: {report.n_examples} messages ({report.n_rejected} unusable, "
            f"{anger_only} with an anger correction only); held back {report.n_heldout}"
        )
        click.echo(f"macro-F1 before (shipped model): {_f1(report.macro_f1_before)}")
        click.echo(f"macro-F1 after (retrained):      {_f1(report.macro_f1_after)}")
        if report.anger_f1_before is not None:
            click.echo(
                f"anger F1 before / after: {_f1(report.anger_f1_before)} / "
                f"{_f1(report.anger_f1_after)}"
            )
        if dry_run:
            click.echo("dry run: the model was not stored")
            return
        with db.transaction() as session:
            row = do_store_org_model(session, Actor.system("cli"), model, report)
            version = row.version
        click.echo(f"stored model {version}; new messages are analysed with it")
    finally:
        db.dispose()


__all__ = ["analysis_group", "analyze_command"]
