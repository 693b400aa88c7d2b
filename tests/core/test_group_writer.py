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
