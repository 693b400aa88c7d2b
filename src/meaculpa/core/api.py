"""Helpers shared by the JSON routers, and the audit-trail route."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

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
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


def write(db: Database, fn: Callable[[Session], T], *, retries: int = 4) -> T:
    """Run ``fn`` in a write transaction, retrying it when the database asks for that: a
    concurrent insert that won a unique race, a deadlock, a serialization failure."""
    for attempt in range(retries + 1):
        try:
            with db.transaction() as session:
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
