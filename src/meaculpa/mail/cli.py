"""``meaculpa mail``: the e-mail channel from the command line."""

from __future__ import annotations

import os

import click


@click.group("mail")
def mail_group() -> None:
    """The e-mail channel: fetch complaints from an IMAP mailbox."""


@mail_group.command("fetch")
@click.option("--host", required=True, help="IMAP server")
@click.option("--port", type=int, default=None, help="default 993 with --ssl, 143 without")
@click.option("--user", required=True, help="IMAP user name")
@click.option(
    "--password-env",
    default="MEACULPA_IMAP_PASSWORD",
    show_default=True,
    help="environment variable holding the password (never pass it on the command line)",
)
@click.option("--folder", default="INBOX", show_default=True)
@click.option("--ssl/--no-ssl", "use_ssl", default=True, show_default=True, help="implicit TLS")
@click.option("--starttls", is_flag=True, help="upgrade a --no-ssl connection with STARTTLS")
@click.option("--move-to", default=None, help="move each stored message to this folder")
@click.option("--limit", type=int, default=None, help="take at most this many messages")
def fetch(
    host: str,
    port: int | None,
    user: str,
    password_env: str,
    folder: str,
    use_ssl: bool,
    starttls: bool,
    move_to: str | None,
    limit: int | None,
) -> None:
    """Ingest the unseen messages of an IMAP folder; each is flagged seen once it is stored.

    Safe to run from cron every minute: a message is stored once (by its Message-ID) even if
    a run is interrupted. Messages that cannot be taken are listed and left unseen.
    """
    import imaplib

    from meaculpa.cli import _database
    from meaculpa.core.audit import Actor
    from meaculpa.mail.config import mail_config
    from meaculpa.mail.imap import ImapAccount, ImapError, fetch_mailbox

    password = os.environ.get(password_env)
    if password is None:
        raise click.ClickException(
            f"set the IMAP password in the environment variable {password_env}"
        )
    account = ImapAccount(
        host=host,
        port=port or (993 if use_ssl else 143),
        user=user,
        password=password,
        folder=folder,
        use_ssl=use_ssl,
        starttls=starttls,
        move_to=move_to,
        limit=limit,
    )
    db = _database(migrate=True)
    try:
        report = fetch_mailbox(db, Actor.system("mail fetch"), account, mail_config())
    except (ImapError, imaplib.IMAP4.error, OSError) as exc:
        raise click.ClickException(f"IMAP {host}:{account.port}: {exc}") from exc
    finally:
        db.dispose()
    click.echo(
        f"{report.fetched} fetched: {report.stored} stored, {report.duplicates} already stored, "
        f"{report.ignored} auto-replies or bounces ignored, {len(report.refused)} refused"
    )
    for uid, reason in report.refused:
        click.echo(f"  refused UID {uid}: {reason}", err=True)
    if report.refused:
        raise SystemExit(1)
