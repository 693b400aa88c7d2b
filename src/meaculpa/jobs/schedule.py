"""Periodic jobs: each kind runs at most once per interval, whatever the number of workers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.db import Database
from meaculpa.jobs.models import Job
from meaculpa.jobs.queue import enqueue_once

PERIODIC: dict[str, timedelta] = {
    "messages.purge_idempotency": timedelta(hours=1),
}


def schedule_periodic(db: Database) -> list[str]:
    """Enqueue every periodic job whose interval has passed; return the kinds enqueued."""
    from meaculpa.jobs.registry import load_handlers

    load_handlers()  # domains add their periodic jobs when their jobs module is imported
    enqueued: list[str] = []
    now = utcnow()
    with db.transaction() as session:
        for kind, interval in PERIODIC.items():
            last = session.scalar(
                select(func.max(Job.created_at)).where(Job.unique_key == f"periodic:{kind}")
            )
            if last is not None and now - as_utc(last) < interval:
                continue
            if enqueue_once(session, kind, f"periodic:{kind}") is not None:
                enqueued.append(kind)
    return enqueued
