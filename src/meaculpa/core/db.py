"""Database engine, sessions and the declarative base shared by every domain.

One code path for SQLite and PostgreSQL. On SQLite every connection gets WAL, foreign keys
and a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so two writers never
deadlock on a lock upgrade.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from meaculpa.core.clock import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use meaculpa.core.clock.utcnow()")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
    _ping_after_idle(engine)
    return engine


# A pooled connection idle this long is checked before use (a server restart or a dropped
# network link leaves dead connections in the pool). One that was in use a moment ago is not:
# a busy server checks out a connection for every group of writes, and the ping was a
# round trip of its own each time. A write that meets a dead connection anyway is retried
# (core.api.write).
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError("the pooled connection is gone") from exc


# Set by Database.transaction for the BEGIN it starts on this thread at once.
_begin_immediate = threading.local()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling off: _begin below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    def _begin(dbapi_connection: Any) -> None:
        immediate = getattr(_begin_immediate, "on", False)
        _begin_immediate.on = False
        cursor = dbapi_connection.cursor()
        cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        cursor.close()

    # The dialect's begin rather than a "begin" event listener: any connection event makes
    # SQLAlchemy run its event machinery around every statement of the engine.
    engine.dialect.do_begin = _begin  # type: ignore[method-assign]


class Database:
    """The engine, its sessions, and the write transaction (queued writers on SQLite)."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._thread_lock = threading.RLock()
        self._lock_fd: int | None = None
        # The thread that writes under a lock another thread holds for it (writer_lock).
        self._lock_owner: threading.Thread | None = None
        database = self.engine.url.database if self.is_sqlite else None
        self._lock_path = f"{database}.write-lock" if database and database != ":memory:" else None

    def session(self) -> Session:
        """A session for reads; writes go through :meth:`transaction`."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session committed on success and rolled back on any error.

        On a SQLite file, writers queue on a lock (a thread lock, then ``flock`` on a file
        beside the database, so other processes queue too): SQLite's own busy handler polls
        with sleeps of up to 100 ms, which ruins latency under concurrent writes.
        """
        with self._writer_lock():
            session = self._sessions()
            try:
                if self.is_sqlite:
                    # BEGIN IMMEDIATE, now: the session's first connection begins on this thread.
                    _begin_immediate.on = True
                    try:
                        session.connection()
                    finally:
                        _begin_immediate.on = False
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        with self.writer_lock():
            yield

    @contextmanager
    def writer_lock(self, on_behalf_of: threading.Thread | None = None) -> Iterator[None]:
        """The write lock of a SQLite file (nothing elsewhere), as :meth:`transaction` takes it.

        With ``on_behalf_of``, the lock is taken by this thread for that one: while the block
        lasts, that thread's transactions run without taking it again (the group writer holds
        it from a helper thread while the event loop runs a group of writes).
        """
        if self._lock_path is None or self._lock_owner is threading.current_thread():
            yield
            return
        with self._thread_lock:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._lock_owner = on_behalf_of
            try:
                yield
            finally:
                self._lock_owner = None
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        finally:
            # close() ends the transaction and detaches objects without expiring them, so
            # what was read stays readable after the block.
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
