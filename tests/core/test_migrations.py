"""The shipped Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from meaculpa.core.db import Database
from meaculpa.core.migrate import current_revision, upgrade
from meaculpa.models import metadata


def test_upgrade_head_matches_models(database_url):
    db = Database(database_url)
    try:
        upgrade(db)
        assert current_revision(db.engine) is not None
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        upgrade(db)  # a second run is a no-op
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "customer",
            "case_record",
            "message",
            "company_error",
            "audit_event",
            "job",
        } <= tables
    finally:
        db.dispose()


def _partial_indexes(db: Database) -> dict[tuple[str, str], str]:
    """Each partial index's condition, as the database itself writes it back."""
    inspector = inspect(db.engine)
    option = f"{db.engine.dialect.name}_where"
    found = {}
    for table in inspector.get_table_names():
        for index in inspector.get_indexes(table):
            where = index.get("dialect_options", {}).get(option)
            if where is not None:
                found[(table, str(index["name"]))] = str(where)
    return found


def test_partial_indexes_match_models(database_url):
    """compare_metadata does not look at the condition of a partial index: the migrations'
    conditions must be those the models create."""
    db = Database(database_url)
    try:
        upgrade(db)
        migrated = _partial_indexes(db)
        assert ("apology", "ix_apology_email_id") in migrated
        with db.engine.begin() as conn:
            metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE alembic_version")
        metadata.create_all(db.engine)
        assert _partial_indexes(db) == migrated
    finally:
        db.dispose()


def test_sqlite_pragmas(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()
