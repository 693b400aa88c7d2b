"""The ``meaculpa`` command."""

from __future__ import annotations

import getpass
import sys
import threading

import click

from meaculpa.settings import Settings


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
    import uvicorn

    click.echo(f"meaculpa serving on http://{host}:{port}  (API docs: /api/v1/docs)")
    uvicorn.run(
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
    runner = Runner(db)
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
    from meaculpa.core.exceptions import ProblemError

    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException("give --password or MEACULPA_NEW_PASSWORD")
        password = getpass.getpass("Password: ")
    try:
        data = UserCreate(
            email=email,
            name=name,
            role=role,
            language=language,  # type: ignore[arg-type]
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


if __name__ == "__main__":  # pragma: no cover
    main()
