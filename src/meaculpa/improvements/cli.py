"""``meaculpa improvements``: the actions and their proof in the terminal."""

from __future__ import annotations

import json
from typing import Any

import click


@click.group("improvements")
def improvements_group() -> None:
    """Improvement actions and whether they worked."""


def _row(read: Any) -> dict[str, Any]:
    head = read.evaluations[0] if len(read.evaluations) == 1 else None
    return {
        "id": read.id,
        "title": read.title,
        "kind": read.kind,
        "status": read.status,
        "overdue": read.overdue,
        "verdict": read.verdict,
        "problems": read.problem_ids,
        "evaluations": [
            {
                "problem_id": e.problem_id,
                "before_rate": e.before_rate,
                "after_rate": e.after_rate,
                "p_value": e.p_value,
                "verdict": e.verdict,
                "final": e.final,
            }
            for e in read.evaluations
        ],
        "before_rate": head.before_rate if head else None,
        "after_rate": head.after_rate if head else None,
        "p_value": head.p_value if head else None,
    }


def _fmt(value: float | None, pattern: str = "{:.1f}") -> str:
    return "—" if value is None else pattern.format(value)


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo("id | status | verdict | per 1,000 cases before → after | p-value | title")
    for r in rows:
        status = "overdue" if r["overdue"] else r["status"]
        for e in r["evaluations"] or [None]:
            rates = f"{_fmt(e['before_rate'])} → {_fmt(e['after_rate'])}" if e else "—"
            p = _fmt(e["p_value"], "{:.4f}") if e else "—"
            click.echo(
                f"{r['id']} | {status} | {r['verdict'] or '—'} | {rates} | {p} | {r['title']}"
            )


@improvements_group.command("list")
@click.option(
    "--status", type=click.Choice(["planned", "in_progress", "done", "cancelled"]), default=None
)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def list_command(status: str | None, limit: int, as_json: bool) -> None:
    """Actions, newest first, with the before/after rates and verdict of done ones."""
    from meaculpa.cli import _database
    from meaculpa.improvements import queries

    db = _database(migrate=False)
    with db.reading() as session:
        rows = queries.list_actions(session, status=status, limit=limit)[:limit]
        reads = queries.to_reads(session, rows)
    _print([_row(r) for r in reads], as_json)


@improvements_group.command("evaluate")
@click.argument("action_id", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def evaluate_command(action_id: int | None, as_json: bool) -> None:
    """Re-run the before/after comparison now: of ACTION_ID, or of every done action whose
    verdict is not final yet."""
    from meaculpa.cli import _database
    from meaculpa.improvements import actions, queries

    db = _database(migrate=False)
    with db.transaction() as session:
        if action_id is not None:
            action = queries.get_action(session, action_id)
            if action is None:
                raise click.ClickException(f"improvement action {action_id} does not exist")
            if action.status != "done":
                raise click.ClickException(
                    f"improvement action {action_id} is {action.status}; only done ones are "
                    "measured"
                )
            targets = [action]
        else:
            targets = queries.unfinished_evaluations(session)
        for action in targets:
            actions.do_evaluate_action(session, action)
        reads = queries.to_reads(session, targets)
    _print([_row(r) for r in reads], as_json)
