"""``meaculpa problems``: recurring problems and the monthly review in the terminal."""

from __future__ import annotations

import json
from datetime import timedelta

import click


@click.group("problems")
def problems_group() -> None:
    """Recurring problems found in complaints, and the monthly management review."""


@problems_group.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def list_command(limit: int, as_json: bool) -> None:
    """Open problems, most reported in the last four weeks first."""
    from meaculpa.cli import _database
    from meaculpa.core.clock import utcnow
    from meaculpa.problems import queries

    db = _database(migrate=False)
    now = utcnow()
    with db.reading() as session:
        problems = [p for p in queries.open_problems(session) if p.size > 0]
        series = queries.weekly_counts_many(
            session, [p.id for p in problems], now - timedelta(days=28), now
        )
        recent = {pid: sum(n for _, n in s) for pid, s in series.items()}
        problems.sort(key=lambda p: (-recent[p.id], -p.size, p.id))
        rows = [
            {
                "id": p.id,
                "label": p.label,
                "last_4_weeks": recent[p.id],
                "reports": p.size,
                "languages": queries.language_mix(session, p.id),
                "example": p.representative_text,
            }
            for p in problems[:limit]
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no problems yet")
        return
    click.echo(f"{'id':>6}  {'4 weeks':>7}  {'all':>6}  label")
    for r in rows:
        click.echo(f"{r['id']:>6}  {r['last_4_weeks']:>7}  {r['reports']:>6}  {r['label']}")


@problems_group.command("review")
@click.option("--month", default=None, help="YYYY-MM (default: the last complete month)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a summary")
def review_command(month: str | None, as_json: bool) -> None:
    """The monthly management review: top problems, actions, recovery figures."""
    from meaculpa.cli import _database
    from meaculpa.core.clock import utcnow
    from meaculpa.problems.review import build_review, parse_month

    try:
        chosen = parse_month(month, utcnow().date())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    db = _database(migrate=False)
    with db.reading() as session:
        review = build_review(session, chosen)
    if as_json:
        click.echo(json.dumps(review.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"management review {chosen:%Y-%m}")
    click.echo(
        f"complaints grouped: {review.reports} (month before {review.reports_previous}); "
        f"new problems: {review.new_problems}"
    )
    for p in review.top:
        click.echo(f"  {p.count:>5}  (before {p.previous:>4})  {p.label}")
    verdicts = ", ".join(f"{k} {v}" for k, v in review.effectiveness.items())
    click.echo(f"actions: {len(review.actions)} ({verdicts})")
    if review.recovery is not None:
        click.echo(f"cases opened: {review.recovery.cases}")
