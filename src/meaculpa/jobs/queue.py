"""Enqueue work in the caller's transaction, so a change and its jobs commit together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from meaculpa.core.clock import utcnow
from meaculpa.core.prepared import Prepared
from meaculpa.jobs.models import Job


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_after: datetime | None = None,
    max_attempts: int = 5,
) -> Job:
    job = Job(
        kind=kind,
        payload=payload or {},
        run_after=run_after or utcnow(),
        max_attempts=max_attempts,
    )
    session.add(job)
    return job


_INSERT_JOB = Prepared(
    insert(cast(Table, Job.__table__)),
    keys=("kind", "payload", "status", "attempts", "max_attempts", "run_after", "created_at"),
)


def enqueue_fast(
    session: Session, kind: str, payload: dict[str, Any], *, max_attempts: int = 5
) -> None:
    """:func:`enqueue` without the ORM, for hot paths."""
    _INSERT_JOB.run(session.connection(), _job_row(kind, payload, max_attempts, utcnow()))


def _job_row(
    kind: str, payload: dict[str, Any], max_attempts: int, now: datetime
) -> dict[str, Any]:
    return {
        "kind": kind,
        "payload": payload,
        "status": "queued",
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": now,
        "created_at": now,
    }


def enqueue_many_fast(
    session: Session, kind: str, payloads: list[dict[str, Any]], *, max_attempts: int = 5
) -> None:
    """:func:`enqueue_fast` for several jobs of one kind, in one statement (or, inside
    :func:`jobs_together`, in that block's one statement)."""
    now = utcnow()
    rows = [_job_row(kind, payload, max_attempts, now) for payload in payloads]
    pending = session.info.get(_PENDING_JOBS)
    if pending is not None:
        pending.extend(rows)
    else:
        _INSERT_JOB.insert_rows(session.connection(), rows)


_PENDING_JOBS = "meaculpa.pending_jobs"


@contextmanager
def jobs_together(session: Session) -> Iterator[None]:
    """Jobs queued by :func:`enqueue_many_fast` within the block (by several subscribers of
    one event, say) are inserted together when it ends, in one statement. Nothing inside may
    expect to read them back before then."""
    if _PENDING_JOBS in session.info:  # already inside such a block: it inserts them
        yield
        return
    pending: list[dict[str, Any]] = []
    session.info[_PENDING_JOBS] = pending
    try:
        yield
    finally:
        del session.info[_PENDING_JOBS]
    _INSERT_JOB.insert_rows(session.connection(), pending)


def enqueue_once(
    session: Session,
    kind: str,
    unique_key: str,
    payload: dict[str, Any] | None = None,
    *,
    run_after: datetime | None = None,
) -> Job | None:
    """Enqueue unless a job with ``unique_key`` is already queued or running."""
    existing = session.scalar(
        select(Job.id).where(Job.unique_key == unique_key, Job.status.in_(("queued", "running")))
    )
    if existing is not None:
        return None
    job = enqueue(session, kind, payload, run_after=run_after)
    job.unique_key = unique_key
    return job
