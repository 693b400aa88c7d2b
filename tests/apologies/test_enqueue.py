"""Enqueueing in chunks: one apology per affected customer (skips with their reason, the first
e-mail address, the promise), delivery jobs of at most :data:`CHUNK` queued customers each,
due as the channel's rate allows, an audit event per chunk, and a run that dies halfway
resumed by the next without doing anything twice.

The chunk sizes are made small so that 40 customers cross several enqueue chunks and
several delivery jobs per chunk.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from meaculpa.apologies import actions
from meaculpa.apologies.models import Apology, ApologyCampaign
from meaculpa.core.audit import Actor, AuditEvent
from meaculpa.core.clock import utcnow
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.errors.actions import do_create_error
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.errors.schemas import ErrorCreate
from meaculpa.jobs.models import Job

RATE = 4.0  # e-mails per second


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "ENQUEUE_CHUNK", 7)
    monkeypatch.setattr(actions, "CHUNK", 3)


def add_customers(db: Any, error_id: int, numbers: range) -> dict[int, int]:
    """Customers numbered ``numbers``, every one affected except those divisible by 6; 1 in 5
    opted out, those with number % 7 == 3 without e-mail (a phone only; the phone numbers
    sort before any address), those with number % 4 == 1 with two addresses, the first added
    the later by value. Returns {number: customer id}."""
    ids = {}
    with db.transaction() as s:
        for n in numbers:
            customer = Customer(name=f"C{n}", opt_out=n % 5 == 0, language="en" if n % 2 else "es")
            s.add(customer)
            s.flush()
            ids[n] = customer.id
            kinds = [("phone", f"+3460{n}")]
            if n % 7 != 3:
                kinds.append(("email", f"z{n}@x.es"))
                if n % 4 == 1:
                    kinds.append(("email", f"a{n}@x.es"))
            for kind, value in kinds:
                s.add(CustomerIdentity(customer_id=customer.id, kind=kind, value=value))
            if n % 6:
                s.add(AffectedCustomer(error_id=error_id, customer_id=customer.id))
    return ids


def expected(n: int) -> tuple[str, str | None, str | None]:
    """(state, skip reason, address) of customer number ``n``: the first address by value."""
    address = None if n % 7 == 3 else f"{'a' if n % 4 == 1 else 'z'}{n}@x.es"
    if n % 5 == 0:
        return ("skipped", "opt_out", address)
    if address is None:
        return ("skipped", "no_email", None)
    return ("queued", None, address)


def start(db: Any, promised: bool) -> int:
    with db.transaction() as s:
        error_id = do_create_error(s, Actor.system(), ErrorCreate(title="Cobro", type="other")).id
        s.add(
            ApologyCampaign(
                error_id=error_id,
                status="sending",
                subject_es="Perdón",
                body_es="Lo sentimos",
                subject_en="Sorry",
                body_en="We are sorry",
                promised_by=utcnow() + timedelta(days=3) if promised else None,
            )
        )
    return error_id


def check(db: Any, error_id: int, customers: dict[int, int], promised: bool) -> None:
    """Every affected customer has one apology as expected, and the delivery jobs cover each
    queued one exactly once, in runs of at most CHUNK, spaced by the rate."""
    number = {cid: n for n, cid in customers.items()}
    with db.reading() as s:
        rows = s.execute(
            select(
                Apology.customer_id,
                Apology.state,
                Apology.skip_reason,
                Apology.to_address,
                Apology.promise_state,
                Apology.promise_due_at,
            ).where(Apology.error_id == error_id)
        ).all()
        jobs = s.scalars(
            select(Job).where(Job.kind == "apologies.deliver").order_by(Job.run_after, Job.id)
        ).all()
        campaign = s.scalar(select(ApologyCampaign).where(ApologyCampaign.error_id == error_id))
    assert sorted(r.customer_id for r in rows) == sorted(
        cid for n, cid in customers.items() if n % 6
    )
    for r in rows:
        assert (r.state, r.skip_reason, r.to_address) == expected(number[r.customer_id])
        if promised and r.state == "queued":
            assert r.promise_state == "pending" and r.promise_due_at == campaign.promised_by
        else:
            assert r.promise_state is None and r.promise_due_at is None
    assert campaign.status == "sent"
    queued = sorted(r.customer_id for r in rows if r.state == "queued")
    covered: list[int] = []
    for job in jobs:
        assert job.payload["error_id"] == error_id
        part = [c for c in queued if job.payload["low"] <= c <= job.payload["high"]]
        assert part and part[0] == job.payload["low"] and part[-1] == job.payload["high"]
        assert len(part) <= 3
        covered += part
    assert covered == queued  # each once, in order
    for job, after in itertools.pairwise(jobs):
        size = len([c for c in queued if job.payload["low"] <= c <= job.payload["high"]])
        gap = (after.run_after - job.run_after).total_seconds()
        assert abs(gap - size / RATE) < 0.002


def enqueue_events(db: Any, error_id: int) -> list[dict[str, Any]]:
    with db.reading() as s:
        return [
            e.after
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.verb == "apology.enqueue", AuditEvent.object_id == str(error_id))
                .order_by(AuditEvent.id)
            )
        ]


@pytest.mark.parametrize("promised", [True, False])
def test_enqueue_in_chunks(db, settings, small_chunks, promised):
    error_id = start(db, promised)
    customers = add_customers(db, error_id, range(1, 41))
    rated = settings.model_copy(update={"outreach_rates": {"email": RATE}})
    queued = actions.enqueue_apologies(db, error_id, rated)
    assert queued == sum(1 for n in customers if n % 6 and expected(n)[0] == "queued")
    check(db, error_id, customers, promised)
    events = enqueue_events(db, error_id)
    affected = sorted(cid for n, cid in customers.items() if n % 6)
    # 34 affected customers in chunks of 7: five chunks, each with someone to send to.
    assert len(events) == 5 and sum(e["queued"] for e in events) == queued
    assert [e["customers"] for e in events] == [
        [0, affected[6]],
        *([affected[7 * i - 1] + 1, affected[7 * i + 6]] for i in range(1, 4)),
        [affected[27] + 1, None],
    ]

    # Nothing twice: a second run adds no apology, job or event.
    with db.reading() as s:
        jobs = len(s.scalars(select(Job.id).where(Job.kind == "apologies.deliver")).all())
    assert actions.enqueue_apologies(db, error_id, rated) == 0
    with db.reading() as s:
        assert len(s.scalars(select(Job.id).where(Job.kind == "apologies.deliver")).all()) == jobs
    assert len(enqueue_events(db, error_id)) == 5
    check(db, error_id, customers, promised)


def test_a_run_that_dies_is_resumed_exactly_once(db, settings, small_chunks, monkeypatch):
    error_id = start(db, promised=True)
    customers = add_customers(db, error_id, range(1, 41))
    rated = settings.model_copy(update={"outreach_rates": {"email": RATE}})
    audit = actions._audit
    calls = []

    def dies_in_the_third_chunk(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker died")
        audit(*args, **kwargs)

    monkeypatch.setattr(actions, "_audit", dies_in_the_third_chunk)
    with pytest.raises(RuntimeError):
        actions.enqueue_apologies(db, error_id, rated)
    with db.reading() as s:
        # Two chunks of seven committed; the third rolled back whole.
        assert len(s.scalars(select(Apology.id)).all()) == 14
    monkeypatch.setattr(actions, "_audit", audit)
    actions.enqueue_apologies(db, error_id, rated)
    events = enqueue_events(db, error_id)
    assert len(events) == 5
    with db.reading() as s:
        jobs = s.scalars(
            select(Job).where(Job.kind == "apologies.deliver").order_by(Job.run_after, Job.id)
        ).all()
    # Each run spaces its own jobs from its start: check coverage over both runs by customer.
    queued = sorted(cid for n, cid in customers.items() if n % 6 and expected(n)[0] == "queued")
    covered = sorted(
        c for job in jobs for c in queued if job.payload["low"] <= c <= job.payload["high"]
    )
    assert covered == queued

    # Customers added after the send get theirs, and only they.
    more = add_customers(db, error_id, range(41, 50))
    added = actions.enqueue_apologies(db, error_id, rated)
    assert added == sum(1 for n in more if n % 6 and expected(n)[0] == "queued")
    with db.reading() as s:
        states = s.execute(
            select(Apology.customer_id, Apology.state).where(Apology.error_id == error_id)
        ).all()
    assert len(states) == len({cid for cid, _ in states}) == 34 + sum(1 for n in more if n % 6)


def test_an_apology_names_its_campaigns_error(db):
    """One key (campaign, error): an apology cannot name another error than its campaign's,
    and deleting the error deletes its campaign and its apologies."""
    first, second = start(db, promised=False), start(db, promised=False)
    customers = add_customers(db, first, range(1, 3))
    with db.reading() as s:
        campaign_id = s.scalar(
            select(ApologyCampaign.id).where(ApologyCampaign.error_id == first)
        )
    for error_id, fails in ((second, True), (first, False)):
        row = Apology(campaign_id=campaign_id, error_id=error_id, customer_id=customers[1])
        if fails:
            with pytest.raises(IntegrityError), db.transaction() as s:
                s.add(row)
        else:
            with db.transaction() as s:
                s.add(row)
    with db.transaction() as s:
        s.execute(delete(Error).where(Error.id == first))
    with db.reading() as s:
        assert s.scalars(select(Apology.id)).all() == []
        assert s.scalars(select(ApologyCampaign.error_id)).all() == [second]
