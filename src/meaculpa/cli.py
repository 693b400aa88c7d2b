"""The ``meaculpa`` command."""

from __future__ import annotations

import getpass
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from meaculpa.settings import Settings

if TYPE_CHECKING:
    from meaculpa.core.audit import Actor
    from meaculpa.core.db import Database


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(f"settings: {exc}") from exc


def _database(migrate: bool = True):  # type: ignore[no-untyped-def]
    from meaculpa.core.db import Database
    from meaculpa.core.migrate import upgrade

    settings = _settings()
    db = Database(settings.database_url, pool_size=settings.pool_size)
    if migrate:
        upgrade(db)
    return db


@click.group()
@click.version_option(package_name="meaculpa")
def main() -> None:
    """meaculpa: own your mistakes toward customers, fix them, keep every promise, learn."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema to the latest version."""
    from meaculpa.core.migrate import current_revision

    db = _database(migrate=True)
    click.echo(f"database at revision {current_revision(db.engine)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="web processes (each SQLite process also runs a job worker thread)",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web pages and the API (migrating the database first)."""
    _database(migrate=True)
    _run_server(host, port, workers)


def _run_server(host: str, port: int, workers: int) -> None:
    from meaculpa.core.serving import serve as serve_app

    click.echo(f"meaculpa serving on http://{host}:{port}  (API docs: /api/v1/docs)")
    serve_app(
        "meaculpa.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@main.command()
@click.option("--once", is_flag=True, help="run the jobs that are due, then exit")
def worker(once: bool) -> None:
    """Run background jobs. Start as many as you like on PostgreSQL."""
    from meaculpa.jobs.runner import Runner

    db = _database(migrate=False)
    runner = Runner(db, settings=_settings())
    if once:
        click.echo(f"ran {runner.run_pending()} jobs")
        return
    stop = threading.Event()
    click.echo(f"worker {runner.name} waiting for jobs (Ctrl+C to stop)")
    try:
        runner.run_forever(stop, poll_seconds=_settings().worker_poll_seconds)
    except KeyboardInterrupt:
        stop.set()


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role", type=click.Choice(["agent", "manager", "admin"]), default="agent", show_default=True
)
@click.option("--language", type=click.Choice(["es", "en"]), default="es", show_default=True)
@click.option(
    "--password",
    envvar="MEACULPA_NEW_PASSWORD",
    help="or set MEACULPA_NEW_PASSWORD; asked for when missing",
)
def user_create(email: str, name: str, role: str, language: str, password: str | None) -> None:
    """Create a user who can sign in to the web pages."""
    from pydantic import ValidationError

    from meaculpa.accounts.actions import do_create_user
    from meaculpa.accounts.schemas import UserCreate
    from meaculpa.core.audit import Actor
    from meaculpa.core.enums import Language, Role
    from meaculpa.core.exceptions import ProblemError

    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException("give --password or MEACULPA_NEW_PASSWORD")
        password = getpass.getpass("Password: ")
    try:
        data = UserCreate(
            email=email,
            name=name,
            role=Role(role),
            language=Language(language),
            password=password,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(problems) from exc
    db = _database()
    try:
        with db.transaction() as session:
            created = do_create_user(session, Actor.system("cli"), data)
            click.echo(f"created {created.role} {created.email} (id {created.id})")
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from exc


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--user", "email", required=True, help="the e-mail of the user the token acts as")
@click.option("--name", required=True, help="what the token is for")
def token_create(email: str, name: str) -> None:
    """Create an API token. It is printed once; only its digest is stored."""
    from meaculpa.accounts.actions import do_create_api_token
    from meaculpa.accounts.queries import get_user_by_email
    from meaculpa.core.audit import Actor
    from meaculpa.core.exceptions import ProblemError

    db = _database()
    try:
        with db.transaction() as session:
            found = get_user_by_email(session, email)
            if found is None:
                raise click.ClickException(f"no user with e-mail {email}")
            _, plain = do_create_api_token(session, Actor.system("cli"), found, name)
    except ProblemError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(plain)


@main.command()
@click.option("--status", type=click.Choice(["queued", "running", "done", "failed"]))
@click.option("--retry", "retry_id", type=int, help="queue a failed job again")
@click.option("--limit", default=20, show_default=True)
def jobs(status: str | None, retry_id: int | None, limit: int) -> None:
    """Show background jobs: counts by status, and the latest (with their last error)."""
    from sqlalchemy import func, select

    from meaculpa.jobs.models import Job
    from meaculpa.jobs.runner import retry_job

    db = _database(migrate=False)
    if retry_id is not None:
        if not retry_job(db, retry_id):
            raise click.ClickException(f"job {retry_id} does not exist or has not failed")
        click.echo(f"job {retry_id} queued again")
        return
    with db.reading() as session:
        counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        click.echo(
            "  ".join(f"{k}: {counts.get(k, 0)}" for k in ("queued", "running", "done", "failed"))
        )
        stmt = select(Job).order_by(Job.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(Job.status == status)
        for job in session.scalars(stmt):
            line = (
                f"#{job.id} {job.kind} {job.status} attempts {job.attempts}/"
                f"{job.max_attempts} run_after {job.run_after:%Y-%m-%d %H:%M:%S}"
            )
            click.echo(line)
            if job.last_error and job.status != "done":
                click.echo("    " + job.last_error.strip().splitlines()[-1][:200])


# --- import -----------------------------------------------------------------------------------

# Exit codes of `meaculpa import messages` (documented in docs/import.md).
EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_UNUSABLE = 2
# Rejected rows printed on the terminal; --errors-out holds them all.
MAX_REJECTIONS_SHOWN = 50


def import_actor(db: Database, as_email: str | None) -> Actor:
    """Who an import is recorded as: the active user with e-mail ``as_email`` (``--as``), or
    the system actor ``import``."""
    from meaculpa.accounts.queries import get_user_by_email
    from meaculpa.core.audit import Actor

    if not as_email:
        return Actor.system("import")
    with db.reading() as session:
        found = get_user_by_email(session, as_email)
    if found is None or not found.is_active:
        raise click.BadParameter(f"no active user with e-mail {as_email}", param_hint="--as")
    return Actor(kind="user", id=found.id, label=found.email, role=found.role)


@main.group("import")
def import_group() -> None:
    """Import data from files."""


@import_group.command("messages")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    help="the file's format; by default taken from its extension (.csv, .jsonl, .ndjson)",
)
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
def import_messages(
    file: Path, fmt: str | None, as_email: str | None, errors_out: Path | None
) -> None:
    """Import inbound customer messages from a CSV or JSON Lines FILE.

    Good rows land even when others are rejected; a rejected row leaves nothing behind.
    Rows with an external_id are never imported twice. Exit code 0: every row imported (or
    already there); 1: some rows were rejected; 2: the file could not be used at all.
    """
    from meaculpa.core.cliutil import report_rejected, with_progress
    from meaculpa.messages.importer import ImportRefused, detect_format
    from meaculpa.messages.importer import import_messages as run_import

    try:
        chosen = detect_format(file, fmt)
    except ImportRefused as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    db = _database()
    actor = import_actor(db, as_email)
    try:
        summary = with_progress(
            f"importing {file.name}",
            file.stat().st_size,
            lambda progress: run_import(db, file, actor=actor, fmt=chosen, progress=progress),
        )
    except ImportRefused as exc:
        click.echo(f"error: {exc}; nothing was imported", err=True)
        sys.exit(EXIT_UNUSABLE)
    finally:
        db.dispose()

    rejected = summary.rejected
    click.echo(
        f"{file.name}: {summary.rows} rows read; imported {summary.imported} messages "
        f"({summary.customers_created} new customers, {summary.cases_created} new cases); "
        f"{summary.duplicates} already imported; {len(rejected)} rejected"
    )
    report_rejected(rejected, errors_out, MAX_REJECTIONS_SHOWN)
    sys.exit(EXIT_REJECTED if rejected else EXIT_OK)


# --- demo -------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="seed the demo data, then exit")
@click.option(
    "--customers",
    default=200,
    show_default=True,
    type=click.IntRange(10, 20_000),
    help="how many customers to invent (cases: about 1.25 per customer)",
)
def demo(host: str, port: int, no_serve: bool, customers: int) -> None:
    """Fill an empty database with realistic Spanish and English demo data, then serve it.

    Runs on the configured database (by default the embedded SQLite file ./meaculpa.db).
    A database that already holds customers is never seeded again.
    """
    from meaculpa.demo import DEMO_PASSWORD, seed_demo

    db = _database(migrate=True)
    try:
        result = seed_demo(db, customers=customers)
    finally:
        db.dispose()
    if result.seeded:
        click.echo(
            f"demo data seeded in {result.seconds:.1f} s: {result.customers} customers, "
            f"{result.cases} cases, {result.messages} messages, {result.errors} errors, "
            f"{result.users} users"
        )
    else:
        click.echo(f"the database already holds {result.customers} customers; nothing was seeded")
    click.echo(f"sign in as {result.login} with the password {DEMO_PASSWORD}")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: the demo password is public; anyone who can reach {host}:{port} can sign in",
            err=True,
        )
    if not no_serve:
        _run_server(host, port, 1)


# --- text analysis (meaculpa.insights) -----------------------------------------------------------
from meaculpa.insights.cli import analysis_group, analyze_command  # noqa: E402

main.add_command(analyze_command)
main.add_command(analysis_group)

# --- reports (meaculpa.analytics) ----------------------------------------------------------------
from meaculpa.analytics.cli import report_group  # noqa: E402

main.add_command(report_group)

# --- e-mail channel (meaculpa.mail) ------------------------------------------------------------
from meaculpa.mail.cli import mail_group  # noqa: E402

main.add_command(mail_group)

# --- affected customers and apologies (meaculpa.apologies) ---------------------------------------
from meaculpa.apologies.cli import error_group  # noqa: E402

main.add_command(error_group)
# --- surveys (meaculpa.surveys) ------------------------------------------------------------------
from meaculpa.surveys.cli import survey_group  # noqa: E402

main.add_command(survey_group)
# --- recurring problems and the monthly review (meaculpa.problems) -----------------------------
from meaculpa.problems.cli import problems_group  # noqa: E402

main.add_command(problems_group)

# --- improvement actions (meaculpa.improvements) ----------------------------------------------
from meaculpa.improvements.cli import improvements_group  # noqa: E402

main.add_command(improvements_group)


if __name__ == "__main__":  # pragma: no cover
    main()
