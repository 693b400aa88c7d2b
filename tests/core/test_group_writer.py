"""Group commit: concurrent writes share a transaction, and a bad one fails alone."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.core.api import GroupWriter
from meaculpa.core.exceptions import Invalid
from meaculpa.customers.models import Customer


def adding(name: str, seen: list[tuple[str, int]], *, fail: bool = False) -> Callable[..., Any]:
    def work(session: Session) -> str:
        seen.append((name, id(session)))
        session.add(Customer(name=name))
        session.flush()
        if fail:
            raise Invalid(f"{name} is refused", field="name")
        return name.upper()

    return work


async def as_one_group(writer: GroupWriter, works: list[Callable[..., Any]]) -> list[Any]:
    """Run ``works`` as one group: the writer is kept busy while they queue up."""
    held, release = threading.Event(), threading.Event()
    if writer.on_loop:
        # SQLite: another thread holds the write lock, so the writes wait for it together.
        def hold() -> None:
            with writer.db.writer_lock():
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        first = None
    else:
        # PostgreSQL: a first write keeps the writer thread busy.
        def busy(session: Session) -> None:
            held.set()
            release.wait(10)

        first = asyncio.ensure_future(writer.run(busy))
    await asyncio.to_thread(held.wait, 10)
    rest = [asyncio.ensure_future(writer.run(w)) for w in works]
    await asyncio.sleep(0)  # every one is queued now
    release.set()
    results = await asyncio.gather(*rest, return_exceptions=True)
    if first is not None:
        await first
    else:
        holder.join()
    return results


def names(db: Any) -> list[str]:
    with db.reading() as s:
        return sorted(s.scalars(select(Customer.name)))


def test_queued_writes_share_one_transaction(db):
    writer = GroupWriter(db)
    seen: list[tuple[str, int]] = []
    works = [adding(n, seen) for n in ("ana", "bea", "carla")]
    results = asyncio.run(as_one_group(writer, works))
    assert results == ["ANA", "BEA", "CARLA"]
    sessions = dict(seen)
    assert sessions["ana"] == sessions["bea"] == sessions["carla"]
    assert names(db) == ["ana", "bea", "carla"]


def test_a_failing_write_fails_alone(db):
    writer = GroupWriter(db)
    seen: list[tuple[str, int]] = []
    works = [adding("ana", seen), adding("bad", seen, fail=True), adding("carla", seen)]
    ana, bad, carla = asyncio.run(as_one_group(writer, works))
    assert (ana, carla) == ("ANA", "CARLA")
    assert isinstance(bad, Invalid)
    # The group was rolled back and each write ran again on its own: stored once, bad never.
    assert names(db) == ["ana", "carla"]
    assert [n for n, _ in seen].count("ana") == 2


def test_where_the_group_runs(db):
    writer = GroupWriter(db, idle_seconds=0.05)
    threads: list[threading.Thread] = []

    def work(session: Session) -> None:
        threads.append(threading.current_thread())
        session.add(Customer(name="ana"))

    async def main() -> threading.Thread:
        await writer.run(work)
        return threading.current_thread()

    loop_thread = asyncio.run(main())
    assert names(db) == ["ana"]
    if writer.on_loop:
        # SQLite: on the event loop, under the lock a helper thread took for it.
        assert threads == [loop_thread]
        return
    # PostgreSQL: on a writer thread, which ends when idle and starts again on demand.
    assert threads[0].name == "meaculpa-writer"
    deadline = time.monotonic() + 5
    while threads[0].is_alive():
        if time.monotonic() > deadline:
            pytest.fail("the writer thread is still running")
        time.sleep(0.02)
    asyncio.run(main())
    assert threads[1].name == "meaculpa-writer" and threads[1] is not threads[0]


def test_a_busy_writer_gathers_the_next_group(db):
    """After a group of several, requests arriving one after another join one group; after a
    group of one, a request runs at once."""
    writer = GroupWriter(db, gather_seconds=0.5, gather_limit=5.0)
    if writer.on_loop:
        pytest.skip("SQLite runs groups on the event loop, which gathers nothing")
    seen: list[tuple[str, int]] = []

    async def main() -> None:
        # A lone request after a lone request: alone, without waiting.
        started = time.monotonic()
        await writer.run(adding("uno", seen))
        assert time.monotonic() - started < 0.5
        # A group of two makes the writer gather the next group...
        await as_one_group(writer, [adding("ana", seen), adding("bea", seen)])
        # ...so requests 50 ms apart (well within gather_seconds) are taken together.
        later = []
        for name in ("carla", "dora", "elsa"):
            later.append(asyncio.ensure_future(writer.run(adding(name, seen))))
            await asyncio.sleep(0.05)
        assert await asyncio.gather(*later) == ["CARLA", "DORA", "ELSA"]

    asyncio.run(main())
    sessions = dict(seen)
    assert sessions["carla"] == sessions["dora"] == sessions["elsa"]
    assert names(db) == ["ana", "bea", "carla", "dora", "elsa", "uno"]


def _kill_a_pooled_connection(db: Any) -> None:
    """Leave in the pool a connection whose server process is gone (it is handed out next)."""
    from sqlalchemy import text

    with db.engine.connect() as doomed, db.engine.connect() as other:
        pid = doomed.execute(text("SELECT pg_backend_pid()")).scalar()
        doomed.commit()  # idle: given back to the pool without a word to the server
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()
        doomed.close()  # back to the pool first, so it is checked out first


@pytest.mark.parametrize("idle", [False, True])
def test_a_dead_pooled_connection_is_not_used(db, monkeypatch, idle):
    """A pooled connection whose server process is gone. Idle for a while, it is pinged and
    replaced before use; used a moment ago, it is not pinged: a write fails on it and runs
    again on a new connection."""
    if db.is_sqlite:
        pytest.skip("SQLite has no server connection to lose")
    from meaculpa.core import db as db_module
    from meaculpa.core.api import write

    if idle:
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    _kill_a_pooled_connection(db)
    assert write(db, adding("ana", [])) == "ANA"
    _kill_a_pooled_connection(db)
    if idle:
        assert names(db) == ["ana"]  # a read: no retry, the ping replaced the connection
    else:
        assert write(db, adding("bea", [])) == "BEA"
        assert names(db) == ["ana", "bea"]


def test_a_group_that_lost_a_race_runs_again_whole(db):
    """PostgreSQL: a group failing on a unique index (another process won a race) runs once
    more as a whole, marked as a retry; SQLite has no such race and takes its members one by
    one, as after any failure."""
    from sqlalchemy.exc import IntegrityError

    from meaculpa.core.api import ATTEMPT

    writer = GroupWriter(db)
    attempts: list[tuple[str, int]] = []

    def racing(name: str) -> Callable[..., Any]:
        def work(session: Session) -> str:
            attempts.append((name, session.info[ATTEMPT]))
            session.add(Customer(name=name))
            session.flush()
            if len(attempts) == 1:
                raise IntegrityError("INSERT INTO customer_identity", {}, Exception("duplicate"))
            return name.upper()

        return work

    results = asyncio.run(as_one_group(writer, [racing("ana"), racing("bea")]))
    assert results == ["ANA", "BEA"]
    if writer.on_loop:
        assert attempts == [("ana", 0), ("ana", 0), ("bea", 0)]
    else:
        assert attempts == [("ana", 0), ("ana", 1), ("bea", 1)]
    assert names(db) == ["ana", "bea"]
