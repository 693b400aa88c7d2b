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


async def held_group(
    writer: GroupWriter, seen: list[tuple[str, int]], works: list[Callable[..., Any]]
) -> list[Any]:
    """Run ``works`` as one group: a first write holds the writer while they queue up."""
    started, release = threading.Event(), threading.Event()

    def hold(session: Session) -> str:
        started.set()
        release.wait(10)
        return adding("holder", seen)(session)

    first = asyncio.ensure_future(writer.run(hold))
    await asyncio.to_thread(started.wait, 10)
    rest = [asyncio.ensure_future(writer.run(w)) for w in works]
    await asyncio.sleep(0)  # every one is queued now
    release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def names(db: Any) -> list[str]:
    with db.reading() as s:
        return sorted(s.scalars(select(Customer.name)))


def test_queued_writes_share_one_transaction(db):
    writer = GroupWriter(db)
    seen: list[tuple[str, int]] = []
    works = [adding(n, seen) for n in ("ana", "bea", "carla")]
    results = asyncio.run(held_group(writer, seen, works))
    assert results == ["HOLDER", "ANA", "BEA", "CARLA"]
    sessions = dict(seen)
    assert sessions["ana"] == sessions["bea"] == sessions["carla"] != sessions["holder"]
    assert names(db) == ["ana", "bea", "carla", "holder"]


def test_a_failing_write_fails_alone(db):
    writer = GroupWriter(db)
    seen: list[tuple[str, int]] = []
    works = [adding("ana", seen), adding("bad", seen, fail=True), adding("carla", seen)]
    holder, ana, bad, carla = asyncio.run(held_group(writer, seen, works))
    assert (holder, ana, carla) == ("HOLDER", "ANA", "CARLA")
    assert isinstance(bad, Invalid)
    # The group was rolled back and each write ran again on its own: stored once, bad never.
    assert names(db) == ["ana", "carla", "holder"]
    assert [n for n, _ in seen].count("ana") == 2


def test_the_writer_thread_ends_when_idle(db):
    writer = GroupWriter(db, idle_seconds=0.05)
    seen: list[tuple[str, int]] = []
    assert asyncio.run(writer.run(adding("ana", seen))) == "ANA"
    deadline = time.monotonic() + 5
    while any(t.name == "meaculpa-writer" for t in threading.enumerate()):
        if time.monotonic() > deadline:
            pytest.fail("the writer thread is still running")
        time.sleep(0.02)
    # And it starts again on demand.
    assert asyncio.run(writer.run(adding("bea", seen))) == "BEA"
    assert names(db) == ["ana", "bea"]
