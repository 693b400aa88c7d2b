"""Helpers for the improvements tests: cases opened at chosen times, problems and reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from meaculpa.core.audit import Actor
from meaculpa.core.clock import override
from meaculpa.core.db import Database
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.schemas import CustomerCreate
from meaculpa.improvements.jobs import EVALUATE, SCAN
from meaculpa.jobs.queue import enqueue_once
from meaculpa.jobs.runner import Runner
from meaculpa.problems.models import Problem, ProblemReport

SYSTEM = Actor.system("test")
# A fixed moment the tests count from (the action is done at T0).
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
_source_ids = count(1)


def spread(start: datetime, end: datetime, n: int) -> Iterator[datetime]:
    """``n`` moments spread evenly over ``[start, end)``."""
    step = (end - start) / max(n, 1)
    for i in range(n):
        yield start + step * i + timedelta(seconds=1)


def make_customer(
    db: Database,
    name: str,
    email: str | None,
    language: str = "es",
    *,
    opt_out: bool = False,
) -> int:
    with db.transaction() as s:
        identities = [{"kind": "email", "value": email}] if email else []
        customer = do_create_customer(
            s,
            SYSTEM,
            CustomerCreate.model_validate(
                {"name": name, "language": language, "identities": identities}
            ),
        )
        customer.opt_out = opt_out
        return customer.id


def open_cases(db: Database, owner_id: int, moments: list[datetime]) -> list[int]:
    """Cases opened at ``moments`` (the customer volume the rates are set against).

    Stored as rows: opening hundreds of cases for one customer through ``do_open_case``
    would run the second-failure check against every earlier case each time."""
    from meaculpa.cases.models import Case

    customer_id = make_customer(db, "Volumen", None)
    with db.transaction() as s:
        cases = [
            Case(
                customer_id=customer_id,
                owner_id=owner_id,
                channel="web",
                language="es",
                opened_at=moment,
                last_message_at=moment,
            )
            for moment in moments
        ]
        s.add_all(cases)
        s.flush()
        return [c.id for c in cases]


def make_problem(db: Database, label: str) -> int:
    with db.transaction() as s:
        problem = Problem(label=label)
        s.add(problem)
        s.flush()
        return problem.id


def add_reports(
    db: Database,
    problem_id: int,
    moments: list[datetime],
    customer_ids: list[int | None] | None = None,
    language: str = "es",
) -> None:
    customers = customer_ids or [None] * len(moments)
    with db.transaction() as s:
        for moment, customer_id in zip(moments, customers, strict=True):
            s.add(
                ProblemReport(
                    problem_id=problem_id,
                    source_type="message",
                    source_id=next(_source_ids),
                    customer_id=customer_id,
                    language=language,
                    excerpt="el pedido llegó roto",
                    reported_at=moment,
                )
            )


def run_worker_at(db: Database, settings: Any, when: datetime) -> int:
    """At ``when``: this domain's periodic jobs are due, then the worker runs what is queued
    (only ours are scheduled: the other domains' scans are not what these tests are about)."""
    with override(lambda: when):
        with db.transaction() as s:
            for kind in (SCAN, EVALUATE):
                enqueue_once(s, kind, f"periodic:{kind}:{when.isoformat()}")
        return Runner(db, settings=settings).run_pending()
