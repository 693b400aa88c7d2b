"""The job table: same-transaction enqueue, claiming, retries with backoff, several workers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.jobs.models import Job
from meaculpa.jobs.queue import enqueue, enqueue_once
from meaculpa.jobs.runner import Runner, backoff, retry_job
from meaculpa.jobs.schedule import schedule_periodic


class Boom(Exception):
    pass


def jobs(db: Database) -> list[Job]:
    with db.reading() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


def test_job_commits_or_rolls_back_with_the_change(db):
    with db.transaction() as s:
        enqueue(s, "test.echo", {"n": 1})
    with pytest.raises(Boom), db.transaction() as s:
        enqueue(s, "test.echo", {"n": 2})
        raise Boom
    assert [j.payload for j in jobs(db)] == [{"n": 1}]


def test_runner_runs_handler_in_its_own_transaction(db):
    seen: list[int] = []

    def echo(session: Any, payload: dict) -> None:
        seen.append(payload["n"])
        enqueue(session, "test.follow", {"from": payload["n"]})

    runner = Runner(db, name="w1", handlers={"test.echo": echo, "test.follow": lambda s, p: None})
    with db.transaction() as s:
        for n in range(3):
            enqueue(s, "test.echo", {"n": n})
    assert runner.run_pending() == 6
    assert seen == [0, 1, 2]
    assert {j.status for j in jobs(db)} == {"done"}
    assert all(j.attempts == 1 and j.finished_at is not None for j in jobs(db))


def test_failures_retry_with_backoff_then_fail_visibly(db):
    calls = {"n": 0}

    def flaky(session: Any, payload: dict) -> None:
        calls["n"] += 1
        raise RuntimeError("SMTP server said no")

    runner = Runner(db, name="w1", handlers={"test.flaky": flaky})
    with db.transaction() as s:
        job = enqueue(s, "test.flaky", max_attempts=3)
    before = utcnow()
    assert runner.run_pending() == 1
    [j] = jobs(db)
    assert j.status == "queued" and j.attempts == 1
    assert j.run_after >= before + backoff(1) - timedelta(seconds=1)
    assert "SMTP server said no" in j.last_error
    # Not due yet: nothing runs.
    assert runner.run_pending() == 0
    for _ in range(2):
        with db.transaction() as s:
            s.execute(update(Job).values(run_after=utcnow()))
        runner.run_pending()
    [j] = jobs(db)
    assert j.status == "failed" and j.attempts == 3 and calls["n"] == 3
    assert retry_job(db, job.id)
    [j] = jobs(db)
    assert j.status == "queued" and j.attempts == 0
    assert not retry_job(db, job.id)  # only failed jobs are retried


def test_handler_failure_rolls_back_its_writes(db):
    def half(session: Any, payload: dict) -> None:
        enqueue(session, "test.never", {})
        raise RuntimeError("half-way")

    runner = Runner(db, name="w1", handlers={"test.half": half})
    with db.transaction() as s:
        enqueue(s, "test.half")
    runner.run_pending()
    assert [j.kind for j in jobs(db)] == ["test.half"]


def test_stale_running_job_is_claimed_again(db):
    runner = Runner(db, name="w2", handlers={"test.echo": lambda s, p: None})
    with db.transaction() as s:
        job = enqueue(s, "test.echo")
        s.flush()
        job.status = "running"
        job.locked_by = "dead-worker"
        job.locked_at = utcnow() - timedelta(hours=1)
    assert runner.run_pending() == 1
    assert jobs(db)[0].status == "done"


def test_unknown_kinds_are_left_for_workers_that_know_them(db):
    runner = Runner(db, name="w1", handlers={"test.echo": lambda s, p: None})
    with db.transaction() as s:
        enqueue(s, "other.kind")
    assert runner.run_pending() == 0
    assert jobs(db)[0].status == "queued"


def test_enqueue_once_and_periodic_schedule(db):
    with db.transaction() as s:
        assert enqueue_once(s, "test.echo", "key-1") is not None
        s.flush()
        assert enqueue_once(s, "test.echo", "key-1") is None
    first = schedule_periodic(db)
    assert "messages.purge_idempotency" in first
    assert schedule_periodic(db) == []  # all already queued


def test_purge_idempotency_job_removes_old_keys(db):
    from meaculpa.messages.models import IdempotencyRecord

    with db.transaction() as s:
        s.add(
            IdempotencyRecord(
                key="old",
                request_hash="x",
                status_code=201,
                response={},
                created_at=utcnow() - timedelta(days=2),
            )
        )
        s.add(IdempotencyRecord(key="new", request_hash="x", status_code=201, response={}))
    schedule_periodic(db)
    Runner(db, name="w1").run_pending()
    with db.reading() as s:
        assert list(s.scalars(select(IdempotencyRecord.key))) == ["new"]


def test_several_workers_share_the_table_without_double_runs(db):
    """Four workers (threads, own connections) drain 200 jobs; each job runs exactly once."""
    ran: list[int] = []
    lock = threading.Lock()

    def record(session: Any, payload: dict) -> None:
        with lock:
            ran.append(payload["n"])

    with db.transaction() as s:
        for n in range(200):
            enqueue(s, "test.count", {"n": n})
    runners = [Runner(db, name=f"w{i}", handlers={"test.count": record}) for i in range(4)]
    threads = [threading.Thread(target=r.run_pending, kwargs={"batch": 5}) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(ran) == list(range(200))
    done = jobs(db)
    assert {j.status for j in done} == {"done"} and {j.attempts for j in done} == {1}
    assert len({j.locked_by for j in done}) >= 2  # the work really was shared
