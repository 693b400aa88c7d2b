"""Helpers for driving the ``meaculpa`` command in-process against the test database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from meaculpa.cli import main
from meaculpa.core.db import Database


class Cli:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.runner = CliRunner()

    def __call__(self, *args: str, **env: str) -> Result:
        return self.runner.invoke(
            main,
            list(args),
            env={"MEACULPA_DATABASE_URL": self.database_url, **env},
            catch_exceptions=False,
        )


@pytest.fixture
def cli(database_url: str) -> Cli:
    return Cli(database_url)


@pytest.fixture
def mdb(database_url: str) -> Iterator[Database]:
    """The test database, migrated the way the command migrates it."""
    from meaculpa.core.migrate import upgrade

    database = Database(database_url, pool_size=2)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


def count(db: Database, model: Any, *where: Any) -> int:
    with db.reading() as session:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)
        return int(session.scalar(stmt) or 0)
