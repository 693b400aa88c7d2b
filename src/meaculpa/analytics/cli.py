"""``meaculpa report recovery``: the recovery figures in the terminal.

Also the pieces every "figures by period and group" command shares (``meaculpa survey
results`` too): the ``--from/--to/--group-by/--json`` options, reading the groups and the JSON
output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

import click
from sqlalchemy.orm import Session

from meaculpa.analytics.recovery import GROUPS

F = TypeVar("F", bound=Callable[..., Any])


class Figures(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


G = TypeVar("G", bound=Figures)


def period_options(groups: Sequence[str]) -> Callable[[F], F]:
    """The options of a figures command: the period, the grouping (one of ``groups``), JSON."""

    def decorate(command: F) -> F:
        command = click.option(
            "--json", "as_json", is_flag=True, help="print JSON instead of a table"
        )(command)
        command = click.option(
            "--group-by", type=click.Choice(groups), default="all", show_default=True
        )(command)
        command = click.option(
            "--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="last day (UTC)"
        )(command)
        return click.option(
            "--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="first day (UTC)"
        )(command)

    return decorate


def period_figures(
    since: object,
    until: object,
    group_by: str,
    as_json: bool,
    compute: Callable[[Session, datetime, datetime, str], Sequence[G]],
) -> tuple[datetime, datetime, Sequence[G]] | None:
    """The period's start and end and the groups ``compute`` reads for them; ``None`` once
    the groups were printed as JSON (``--json``)."""
    import json

    from meaculpa.analytics.api import period
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
        groups = compute(session, start, end, group_by)
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in groups], indent=2))
        return None
    return start, end, groups


def num(v: float | None) -> str:
    """A figure for a table: ``—`` when there is none."""
    return "—" if v is None else f"{v:g}"


@click.group("report")
def report_group() -> None:
    """Reports computed from the stored cases."""


@report_group.command("recovery")
@period_options(GROUPS)
def recovery_command(since: object, until: object, group_by: str, as_json: bool) -> None:
    """Time to first apology and to resolution, promise keeping, reopen rate, satisfaction."""
    from meaculpa.analytics.recovery import figures

    found = period_figures(since, until, group_by, as_json, figures)
    if found is None:
        return
    start, end, groups = found
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
