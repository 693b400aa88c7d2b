"""``meaculpa survey send`` and ``meaculpa survey results``."""

from __future__ import annotations

from pathlib import Path

import click

from meaculpa.analytics.cli import num, period_figures, period_options
from meaculpa.surveys.models import KINDS
from meaculpa.surveys.queries import GROUPS


@click.group("survey")
def survey_group() -> None:
    """Surveys: send one to a list of customers, read the figures."""


@survey_group.command("send")
@click.option("--name", required=True, help="what this send is (shown to managers)")
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option(
    "--emails",
    "emails_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a CSV or text file: every cell holding an e-mail address of a customer",
)
@click.option("--language", type=click.Choice(["es", "en"]), help="customers speaking it")
@click.option("--owner", "owner_email", help="customers owned by this user (e-mail)")
@click.option("--all-customers", is_flag=True, help="every customer (within the send limit)")
@click.option("--as", "as_email", required=True, help="the manager sending it (e-mail)")
def send_command(
    name: str,
    kind: str,
    emails_file: Path | None,
    language: str | None,
    owner_email: str | None,
    all_customers: bool,
    as_email: str,
) -> None:
    """Survey a list of customers: each once per send; opted-out customers are skipped.
    The e-mails go out through the job worker."""
    from pydantic import ValidationError

    from meaculpa.accounts.queries import get_user_by_email
    from meaculpa.cli import _database
    from meaculpa.core.audit import Actor
    from meaculpa.core.exceptions import ProblemError
    from meaculpa.surveys.actions import do_create_send
    from meaculpa.surveys.csvlist import decode_upload, emails_from_text
    from meaculpa.surveys.schemas import SendCreate

    filtering = language is not None or owner_email is not None or all_customers
    if (emails_file is None) == (not filtering):
        raise click.ClickException(
            "give --emails FILE, or a filter (--language, --owner, --all-customers)"
        )
    db = _database()
    try:
        with db.transaction() as session:
            manager = get_user_by_email(session, as_email)
            if manager is None or not manager.is_active:
                raise click.ClickException(f"no active user with e-mail {as_email}")
            actor = Actor(kind="user", id=manager.id, label=manager.email, role=manager.role)
            audience: dict[str, object]
            if emails_file is not None:
                text = decode_upload(emails_file.read_bytes())
                audience = {"emails": emails_from_text(text)}
            else:
                owner_id = None
                if owner_email:
                    owner = get_user_by_email(session, owner_email)
                    if owner is None:
                        raise click.ClickException(f"no user with e-mail {owner_email}")
                    owner_id = owner.id
                audience = {"filter": {"language": language, "owner_id": owner_id}}
            data = SendCreate.model_validate({"name": name, "kind": kind, "audience": audience})
            send, summary = do_create_send(session, actor, data)
            send_id = send.id
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(problems) from exc
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from exc
    assert summary is not None
    click.echo(
        f"send {send_id}: {summary.invited} surveyed, {summary.already_invited} already in it, "
        f"{summary.opted_out} opted out, {summary.unknown_count} unknown addresses, "
        f"{summary.invalid_count} not addresses"
    )
    for address in summary.unknown_emails:
        click.echo(f"  not a customer: {address}")


@survey_group.command("results")
@period_options(GROUPS)
def results_command(since: object, until: object, group_by: str, as_json: bool) -> None:
    """CSAT average, NPS, effort average and response rate of the surveys sent."""
    from meaculpa.surveys.queries import results

    found = period_figures(since, until, group_by, as_json, results)
    if found is None:
        return
    start, end, groups = found
    click.echo(f"surveys sent {start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive), by {group_by}")
    click.echo("group | sent | answered | response rate | CSAT | NPS | effort | low")
    for g in groups:
        rate = "—" if g.response_rate is None else f"{g.response_rate * 100:.0f}%"
        low = g.csat.low + g.nps.low + g.ces.low
        click.echo(
            f"{g.key} | {g.sent} | {g.answered} | {rate} | {num(g.csat.average)} | "
            f"{num(g.nps.nps)} | {num(g.ces.average)} | {low}"
        )
