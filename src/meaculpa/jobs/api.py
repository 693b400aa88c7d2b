from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from meaculpa.core.api import Cursor, Limit, paged
from meaculpa.core.deps import ApiActor, ReadSession
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.permissions import require_role
from meaculpa.core.schemas import Page, ReadModel
from meaculpa.jobs.models import Job

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JobRead(ReadModel):
    id: int
    kind: str
    status: str
    attempts: int
    max_attempts: int
    run_after: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@router.get("", response_model=Page[JobRead])
async def list_jobs(
    actor: ApiActor,
    session: ReadSession,
    status: str | None = Query(None, pattern="^(queued|running|done|failed)$"),
    kind: str | None = Query(None, max_length=64),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Background jobs, newest first: status, attempts and the last error. Managers only."""
    require_role(actor, "manager", "see background jobs")
    stmt = select(Job)
    if status:
        stmt = stmt.where(Job.status == status)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    after = decode_cursor(cursor)
    if after is not None:
        stmt = stmt.where(Job.id < after)
    rows = list(session.scalars(stmt.order_by(Job.id.desc()).limit(limit + 1)))
    return paged(rows, limit, JobRead)
