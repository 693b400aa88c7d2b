"""``meaculpa error ...``: the customers an error hurt, from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2
MAX_REJECTIONS_SHOWN = 20


@click.group("error")
def error_group() -> None:
    """Company errors: the customers they hurt and the apology."""


@error_group.group("affected")
def affected_group() -> None:
    """The customers an error hurt."""


@affected_group.command("import")
@click.argument("error_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--as",
    "as_email",
    metavar="EMAIL",
    help="record the import as this user (default: the system actor 'import')",
)
@click.option(
    "--errors-out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="write every rejected row (line, field, reason) to this CSV file",
)
def import_command(
    error_id: int, file: Path, as_email: str | None, errors_out: Path | None
) -> None:
    """Attach the customers listed in the CSV FILE to error ERROR_ID.

    Columns: customer_id, email, phone or external (who), name, language, and per-customer
    fields order_number, amount, currency, product, order_date, note or detail_<name>.
    Unknown e-mails create the customer. Exit code 0: every row used; 1: some rows were
    rejected (the others landed); 2: the file could not be used at all.
    """
    from meaculpa.apologies.importer import ImportRefused, import_affected_file
    from meaculpa.cli import _database, import_actor
    from meaculpa.core.cliutil import report_rejected, with_progress
    from meaculpa.errors.models import Error

    db = _database()
    try:
        with db.reading() as session:
            if session.get(Error, error_id) is None:
                click.echo(f"error: error {error_id} does not exist", err=True)
                sys.exit(EXIT_UNUSABLE)
        actor = import_actor(db, as_email)
        try:
            summary = with_progress(
                f"importing {file.name}",
                file.stat().st_size,
                lambda progress: import_affected_file(
                    db, error_id, file, actor=actor, progress=progress
                ),
            )
        except ImportRefused as exc:
            click.echo(f"error: {exc}; nothing was imported", err=True)
            sys.exit(EXIT_UNUSABLE)
    finally:
        db.dispose()
    rejected = summary.rejected
    click.echo(
        f"{file.name}: {summary.rows} rows read; {summary.added} customers added to error "
        f"{error_id} ({summary.customers_created} new customers); {summary.already} already "
        f"on the list; {len(rejected)} rejected"
    )
    report_rejected(rejected, errors_out, MAX_REJECTIONS_SHOWN)
    sys.exit(EXIT_REJECTED if rejected else EXIT_OK)
