"""Enqueue work in the caller's transaction, so a change and its jobs commit together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.core.clock import utcnow
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
