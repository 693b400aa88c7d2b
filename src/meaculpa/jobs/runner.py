"""Claiming and running jobs from the job table.

On PostgreSQL any number of workers share the table: a claim is ``SELECT ... FOR UPDATE SKIP
LOCKED``, so two workers never take the same job. On SQLite the claim runs in a ``BEGIN
IMMEDIATE`` transaction, which serialises claims the same way. A handler runs in its own
transaction; success marks the job done in that same transaction, so a job's effects and its
completion commit together. Failures are retried with exponential backoff, then marked failed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.jobs.models import Job
from meaculpa.jobs.registry import Handler, load_handlers, running_with
from meaculpa.settings import Settings

log = logging.getLogger("meaculpa.jobs")

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
# A job running for longer than this is taken to have lost its worker and is claimed again.
STALE_AFTER = timedelta(minutes=15)


def backoff(attempts: int) -> timedelta:
    return timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )


# How often a worker looks for jobs held by dead workers on its own machine.
DEAD_CHECK_SECONDS = 5.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def dead_local_workers(names: list[str]) -> list[str]:
    """The worker names among ``names`` that ran on this machine in a process now gone
    (killed, crashed): their running jobs can be claimed at once instead of after
    :data:`STALE_AFTER`."""
    prefix = socket.gethostname() + ":"
    dead = []
    for name in names:
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split(":")
        if parts and parts[0].isdigit() and _process_gone(int(parts[0])):
            dead.append(name)
    return dead


class Runner:
    def __init__(
        self,
        db: Database,
        *,
        name: str | None = None,
        handlers: dict[str, Any] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.name = name or worker_name()
        loaded = handlers if handlers is not None else load_handlers()
        # Plain functions (as tests register them) are transactional handlers.
        self.handlers: dict[str, Handler] = {
            kind: fn if isinstance(fn, Handler) else Handler(fn) for kind, fn in loaded.items()
        }
        self.settings = settings
        self._dead_checked = 0.0

    def _orphans(self) -> list[str]:
        """Names of dead workers of this machine that still hold running jobs."""
        if time.monotonic() - self._dead_checked < DEAD_CHECK_SECONDS:
            return []
        self._dead_checked = time.monotonic()
        with self.db.reading() as session:
            names = session.scalars(
                select(Job.locked_by)
                .where(Job.status == "running", Job.locked_by.is_not(None))
                .distinct()
            )
            return dead_local_workers([n for n in names if n])

    def claim(self, limit: int = 10) -> list[int]:
        now = utcnow()
        orphans = self._orphans()
        with self.db.transaction() as session:
            stmt = (
                select(Job.id)
                .where(
                    Job.kind.in_(list(self.handlers)),
                    or_(
                        (Job.status == "queued") & (Job.run_after <= now),
                        (Job.status == "running") & (Job.locked_at < now - STALE_AFTER),
                        (Job.status == "running") & Job.locked_by.in_(orphans),
                    ),
                )
                .order_by(Job.run_after, Job.id)
                .limit(limit)
            )
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list(session.scalars(stmt))
            if ids:
                session.execute(
                    update(Job)
                    .where(Job.id.in_(ids))
                    .values(
                        status="running",
                        locked_by=self.name,
                        locked_at=now,
                        attempts=Job.attempts + 1,
                    )
                )
        return ids

    def run_one(self, job_id: int) -> str:
        """Run a claimed job; return its new status."""
        with self.db.reading() as session:
            job = session.get(Job, job_id)
            if job is None or job.locked_by != self.name:
                return "lost"
            kind, payload = job.kind, dict(job.payload)
        handler = self.handlers[kind]
        done = (
            update(Job)
            .where(Job.id == job_id, Job.locked_by == self.name)
            .values(status="done", finished_at=utcnow(), last_error=None)
        )
        try:
            with running_with(self.settings):
                if handler.own_transactions:
                    handler(self.db, payload)
                    with self.db.transaction() as session:
                        session.execute(done)
                else:
                    with self.db.transaction() as session:
                        handler(session, payload)
                        session.execute(done)
            return "done"
        except Exception:  # a handler's failure is recorded, never fatal to the worker
            error = traceback.format_exc(limit=8)[-4000:]
            log.warning("job %s (%s) failed: %s", job_id, kind, error.splitlines()[-1])
            with self.db.transaction() as session:
                job = session.get(Job, job_id)
                if job is None:
                    return "lost"
                job.last_error = error
                job.locked_by = None
                job.locked_at = None
                if job.attempts >= job.max_attempts:
                    job.status = "failed"
                    job.finished_at = utcnow()
                else:
                    job.status = "queued"
                    job.run_after = utcnow() + backoff(job.attempts)
                return job.status

    def run_pending(self, *, batch: int = 10, max_jobs: int | None = None) -> int:
        """Run jobs until none is due (or ``max_jobs`` ran); return how many ran."""
        done = 0
        while max_jobs is None or done < max_jobs:
            ids = self.claim(batch if max_jobs is None else min(batch, max_jobs - done))
            if not ids:
                break
            for job_id in ids:
                self.run_one(job_id)
                done += 1
        return done

    def run_forever(self, stop: threading.Event, *, poll_seconds: float = 1.0) -> None:
        from meaculpa.jobs.schedule import schedule_periodic

        log.info("worker %s started", self.name)
        while not stop.is_set():
            try:
                schedule_periodic(self.db)
                ran = self.run_pending()
            except Exception:  # keep serving; the database may come back
                log.exception("worker loop error")
                ran = 0
            if ran == 0:
                stop.wait(poll_seconds)
        log.info("worker %s stopped", self.name)


def retry_job(db: Database, job_id: int) -> bool:
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != "failed":
            return False
        job.status = "queued"
        job.attempts = 0
        job.run_after = utcnow()
        job.finished_at = None
        return True
