"""Helpers shared by the JSON routers, and the audit-trail route."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from meaculpa.core.audit import AuditEvent
from meaculpa.core.db import Database
from meaculpa.core.deps import ApiActor, ReadSession
from meaculpa.core.exceptions import Conflict
from meaculpa.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page_of
from meaculpa.core.permissions import require_role
from meaculpa.core.schemas import Page, ReadModel

T = TypeVar("T")

Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="page size")
Cursor = Query(None, max_length=200, description="next_cursor of the previous page")


# PostgreSQL error codes worth a retry: serialization failure, deadlock detected.
RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # a concurrent insert won a unique race; the retry finds its row
    if exc.connection_invalidated:
        return True  # the connection was gone (a server restart): the retry gets a new one
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


# session.info key: 0 for a write's first attempt, 1 and up for its retries after a conflict
# (writes that race often can then take locks, see messages.actions._lock_identities).
ATTEMPT = "meaculpa.attempt"


def write(db: Database, fn: Callable[[Session], T], *, retries: int = 4) -> T:
    """Run ``fn`` in a write transaction, retrying it when the database asks for that: a
    concurrent insert that won a unique race, a deadlock, a serialization failure, a pooled
    connection found dead."""
    for attempt in range(retries + 1):
        try:
            with db.transaction() as session:
                session.info[ATTEMPT] = attempt
                return fn(session)
        except DBAPIError as exc:
            if not _retryable(exc):
                raise
            if attempt == retries:
                raise Conflict(
                    "the change conflicts with data stored at the same time; send it again"
                ) from exc
            time.sleep(random.uniform(0.005, 0.02) * 2**attempt)  # noqa: S311 - jitter
    raise AssertionError("unreachable")


async def awrite(db: Database, fn: Callable[[Session], T], *, retries: int = 4) -> T:
    """:func:`write` on a worker thread: writes may wait for the database's write lock.

    Reads run on the event loop itself (they are short and a thread hand-off costs more than
    the query); only writes take this one hop.
    """
    return await run_in_threadpool(write, db, fn, retries=retries)


class GroupWork(Generic[T]):
    """A write that a :class:`GroupWriter` can run together with the other writes of its class
    queued at the same time, in one call of :meth:`run_group` (one statement a table for all of
    them instead of one each). Called on its own, it runs as a group of one, so it can be
    retried alone like any write function."""

    def __call__(self, session: Session) -> T:
        return type(self).run_group(session, [self])[0]

    @classmethod
    def run_group(cls, session: Session, works: list[Any]) -> list[T]:
        """The answers to ``works`` (all of this class), in order."""
        raise NotImplementedError


class GroupWriter:
    """Group commit: write functions sent by concurrent requests share one transaction.

    Requests queue their function and wait on the event loop; everything queued (up to
    ``max_batch``) runs in one transaction, and each request is answered after the commit. A
    busy server so pays one thread hand-off, one write lock and one commit for several
    requests instead of one each; a lone request runs alone, as :func:`write` would run it.

    Where the group runs depends on the database:

    - SQLite: on the event loop, once a helper thread holds the write lock for it. The lock
      (one writer at a time, across processes) is then held only while the group runs, and
      the group does not compete for the GIL with the loop's own work in between; run on a
      writer thread instead, two worker processes left a third of the machine idle.
    - PostgreSQL: on one writer thread per :class:`Database`, since statements wait on the
      network. After a group of several, the writer gathers the next one until requests stop
      arriving for ``gather_seconds`` (at most ``gather_limit`` in all): the clients just
      answered send their next requests within a millisecond or two, and without the wait a
      busy server alternates between two half-size groups (groups of 4 where 8 clients a
      process wait), paying the transaction's fixed cost twice as often. After a group of one
      (a quiet server) nothing waits.

    If any function of a group raises, or the commit fails, the transaction is rolled back and
    each function runs again on its own through :func:`write` (with its retries): the bad one
    fails alone and the others are stored. Functions must therefore be safe to run again, as
    :func:`write` already requires. Between two functions of a group the session is flushed and
    emptied, so none sees another's ORM objects, only their rows. Consecutive
    :class:`GroupWork` items of one class are handed to their ``run_group`` together.
    """

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 32,
        idle_seconds: float = 2.0,
        gather_seconds: float = 0.001,
        gather_limit: float = 0.004,
    ) -> None:
        self.db = db
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.gather_seconds = gather_seconds
        self.gather_limit = gather_limit
        self._last_size = 0  # of the writer thread's last group
        self._idle = False  # the writer thread waits for work (to be woken)
        self.on_loop = db.is_sqlite
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[tuple[Callable[[Session], Any], asyncio.Future[Any]]] = deque()
        self._thread: threading.Thread | None = None
        self._loop_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, fn: Callable[[Session], T]) -> T:
        if self.on_loop:
            return await self._run_on_loop(fn)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._queue.append((fn, future))
            if self._thread is None:
                # Started on demand; it ends after idle_seconds without work.
                self._thread = threading.Thread(
                    target=self._serve, name="meaculpa-writer", daemon=True
                )
                self._thread.start()
            elif self._idle:
                self._wake.notify()
        return await future

    # -- PostgreSQL: a writer thread -------------------------------------------------------

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._idle = True
                    woken = self._wake.wait(self.idle_seconds)
                    self._idle = False
                    if not woken and not self._queue:
                        self._thread = None
                        return
                if self._last_size > 1:
                    self._gather()
                size = self._last_size = min(len(self._queue), self.max_batch)
                group = [self._queue.popleft() for _ in range(size)]
            outcomes = self._execute_safely([fn for fn, _ in group])
            self._answer(group, outcomes)

    def _gather(self) -> None:
        """With the lock held: wait while requests keep arriving (see the class notes)."""
        deadline = time.monotonic() + self.gather_limit
        while len(self._queue) < self.max_batch:
            left = min(self.gather_seconds, deadline - time.monotonic())
            if left <= 0:
                return
            queued = len(self._queue)
            # A sleep rather than a wait on the condition: woken by every request, the writer
            # thread took the GIL from the event loop once per request.
            self._lock.release()
            try:
                time.sleep(left)
            finally:
                self._lock.acquire()
            if len(self._queue) == queued:  # nothing came within gather_seconds
                return

    @staticmethod
    def _answer(
        group: list[tuple[Callable[[Session], Any], asyncio.Future[Any]]],
        outcomes: list[tuple[bool, Any]],
    ) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, future), (ok, value) in zip(group, outcomes, strict=True):
            by_loop.setdefault(future.get_loop(), []).append((future, ok, value))
        for loop, answers in by_loop.items():
            # A closed loop raises RuntimeError: nobody waits for these answers any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, answers)

    # -- SQLite: on the event loop, under a lock held by a helper thread --------------------

    async def _run_on_loop(self, fn: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        queue = self._loop_queues.get(loop)
        if queue is None:
            queue = self._loop_queues[loop] = _LoopQueue(threading.current_thread())
        future: asyncio.Future[T] = loop.create_future()
        queue.items.append((fn, future))
        if not queue.holding:
            queue.holding = True
            self._ask_for_lock(loop, queue)
        return await future

    def _ask_for_lock(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        loop.run_in_executor(None, self._hold_lock, loop, queue)

    def _hold_lock(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        """On a helper thread: take the write lock for the loop's thread, let the loop run a
        group, and give the lock back when it is done."""
        done = threading.Event()
        try:
            with self.db.writer_lock(on_behalf_of=queue.thread):
                try:
                    loop.call_soon_threadsafe(self._run_group, loop, queue, done)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    return
                while not done.wait(1.0):
                    if loop.is_closed():
                        return
        except Exception as exc:  # the lock file cannot be used: the waiting requests fail
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._fail_queue, queue, exc)

    def _run_group(
        self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue, done: threading.Event
    ) -> None:
        try:
            size = min(len(queue.items), self.max_batch)
            group = [queue.items.popleft() for _ in range(size)]
            outcomes = self._execute_safely([fn for fn, _ in group])
        finally:
            done.set()
        _settle([(f, ok, v) for (_, f), (ok, v) in zip(group, outcomes, strict=True)])
        if queue.items:
            self._ask_for_lock(loop, queue)
        else:
            queue.holding = False

    @staticmethod
    def _fail_queue(queue: _LoopQueue, exc: Exception) -> None:
        answers = [(future, False, exc) for _, future in queue.items]
        queue.items.clear()
        queue.holding = False
        _settle(answers)

    # -- both --------------------------------------------------------------------------------

    def _execute_safely(self, fns: list[Callable[[Session], Any]]) -> list[tuple[bool, Any]]:
        try:
            return self._execute(fns)
        except BaseException as exc:  # a bug in _execute: answer every waiting request anyway
            return [(False, exc)] * len(fns)

    def _execute(self, fns: list[Callable[[Session], Any]]) -> list[tuple[bool, Any]]:
        # A group that lost a race to another process (the same new customer created by both)
        # runs once more as a whole, as a retry; one that fails otherwise runs one by one.
        attempts = 1 if self.on_loop else 2
        for attempt in range(attempts if len(fns) > 1 else 0):
            try:
                return self._execute_group(fns, attempt)
            except DBAPIError as exc:
                if not _retryable(exc):
                    break
            except Exception:
                break
        # On SQLite (on the loop, writers one at a time) no concurrent insert can win a race, so
        # a conflict is final at once instead of after retries that would hold up the loop.
        retries = 0 if self.on_loop else 4
        outcomes: list[tuple[bool, Any]] = []
        for fn in fns:
            try:
                outcomes.append((True, write(self.db, fn, retries=retries)))
            except Exception as exc:
                outcomes.append((False, exc))
        return outcomes

    def _execute_group(
        self, fns: list[Callable[[Session], Any]], attempt: int
    ) -> list[tuple[bool, Any]]:
        results = []
        with self.db.transaction() as session:
            session.info[ATTEMPT] = attempt
            start = 0
            while start < len(fns):
                kind = type(fns[start])
                end = start + 1
                if issubclass(kind, GroupWork):
                    while end < len(fns) and type(fns[end]) is kind:
                        end += 1
                    results.extend(kind.run_group(session, fns[start:end]))
                else:
                    results.append(fns[start](session))
                start = end
                session.flush()
                if len(session.identity_map):
                    session.expunge_all()
        return [(True, r) for r in results]


class _LoopQueue:
    """The writes queued on one event loop, and whether a helper is getting the lock."""

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread  # the loop's thread
        self.items: deque[tuple[Callable[[Session], Any], asyncio.Future[Any]]] = deque()
        self.holding = False


def _settle(answers: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in answers:
        if future.done():  # the request was cancelled while it waited
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


_group_writers: weakref.WeakKeyDictionary[Database, GroupWriter] = weakref.WeakKeyDictionary()
_group_writers_lock = threading.Lock()


async def agroup_write(db: Database, fn: Callable[[Session], T]) -> T:
    """:func:`awrite` through the database's :class:`GroupWriter`: for hot paths that many
    clients call at once (message ingestion), where a commit and a thread hop per request
    would cost more than the work itself."""
    writer = _group_writers.get(db)
    if writer is None:
        with _group_writers_lock:
            writer = _group_writers.get(db)
            if writer is None:
                writer = _group_writers[db] = GroupWriter(db)
    return await writer.run(fn)


def paged(rows: list[Any], limit: int, schema: type[ReadModel]) -> dict[str, Any]:
    items, cursor = page_of(rows, limit)
    return {"items": [schema.model_validate(r) for r in items], "next_cursor": cursor}


class AuditEventRead(ReadModel):
    id: int
    at: datetime
    actor_type: str
    actor_id: int | None
    actor_label: str
    verb: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


router = APIRouter(tags=["audit"])


@router.get("/audit-events", response_model=Page[AuditEventRead])
async def list_audit_events(
    actor: ApiActor,
    session: ReadSession,
    object_type: str | None = Query(None, max_length=32),
    object_id: str | None = Query(None, max_length=64),
    verb: str | None = Query(None, max_length=64),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> dict[str, Any]:
    """The audit trail, newest first. Managers and admins only."""
    require_role(actor, "manager", "read the audit trail")
    stmt = select(AuditEvent)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if verb:
        stmt = stmt.where(AuditEvent.verb == verb)
    after = decode_cursor(cursor)
    if after is not None:
        stmt = stmt.where(AuditEvent.id < after)
    rows = list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    return paged(rows, limit, AuditEventRead)
