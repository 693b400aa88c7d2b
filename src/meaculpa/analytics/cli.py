"""``meaculpa report recovery``: the recovery figures in the terminal."""

from __future__ import annotations

from datetime import date

import click

from meaculpa.analytics.recovery import GROUPS


@click.group("report")
def report_group() -> None:
    """Reports computed from the stored cases."""


@report_group.command("recovery")
@click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="first day (UTC)")
@click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="last day (UTC)")
@click.option("--group-by", type=click.Choice(GROUPS), default="all", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def recovery_command(since: object, until: object, group_by: str, as_json: bool) -> None:
    """Time to first apology and to resolution, promise keeping, reopen rate, satisfaction."""
    import json

    from meaculpa.analytics.api import period
    from meaculpa.analytics.recovery import figures
    from meaculpa.cli import _database
    from meaculpa.core.exceptions import ProblemError

    def day(value: object) -> date | None:
        return value.date() if hasattr(value, "date") else None

    try:
        start, end = period(day(since), day(until))
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from exc
    db = _database(migrate=False)
    with db.reading() as session:
        groups = figures(session, start, end, group_by)
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in groups], indent=2))
        return
    click.echo(f"cases opened {start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive), by {group_by}")
    header = (
        "group",
        "cases",
        "apologised",
        "h→apology",
        "h→resolved",
        "reopened",
        "promises kept",
        "satisfaction",
        "solved",
    )
    click.echo(" | ".join(header))

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.0f}%"

    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:g}"

    for g in groups:
        click.echo(
            " | ".join(
                [
                    g.key,
                    str(g.cases),
                    pct(g.apologised_share),
                    num(g.hours_to_first_apology_median),
                    num(g.hours_to_resolution_median),
                    pct(g.reopen_rate),
                    f"{pct(g.promise_keeping_rate)} "
                    f"({g.promises_kept}/{g.promises_kept + g.promises_broken})",
                    f"{num(g.satisfaction_mean)} ({g.satisfaction_answers})",
                    pct(g.solved_share),
                ]
            )
        )
