"""Helpers for the commitments tests: a fixed clock, a case, replies, the scan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meaculpa.cases.queries import access_case
from meaculpa.commitments.models import Commitment
from meaculpa.core import clock
from meaculpa.core.audit import Actor
from meaculpa.core.db import Database
from meaculpa.customers.actions import do_update_customer
from meaculpa.customers.queries import access_customer
from meaculpa.customers.schemas import CustomerUpdate
from meaculpa.jobs.queue import enqueue
from meaculpa.jobs.runner import Runner
from meaculpa.messages.actions import do_add_reply
from meaculpa.messages.schemas import ReplyIn
from meaculpa.settings import Settings
from tests.web.helpers import seed_case

# Tuesday 10 March 2026, 10:00 in Madrid (09:00 UTC): a working day.
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand; ``meaculpa.core.clock`` reads it while active."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, value: datetime) -> datetime:
        self.now = value
        return value


@pytest.fixture
def fixed_clock() -> Iterator[Clock]:
    source = Clock(START)
    with clock.override(source):
        yield source


def make_case(
    db: Database,
    owner_id: int | None,
    *,
    timezone: str = "Europe/Madrid",
    language: str = "es",
    **extra: Any,
) -> dict[str, int]:
    ids = seed_case(db, owner_id=owner_id, **extra)
    with db.transaction() as s:
        customer = access_customer(s, Actor.system(), ids["customer"])
        do_update_customer(
            s,
            Actor.system(),
            customer,
            CustomerUpdate.model_validate({"timezone": timezone, "language": language}),
        )
        case = access_case(s, Actor.system(), ids["case"])
        case.language = language
    return ids


def reply(db: Database, actor: Actor, case_id: int, text: str, direction: str = "outbound") -> int:
    with db.transaction() as s:
        case = access_case(s, actor, case_id)
        message = do_add_reply(
            s, actor, case, ReplyIn.model_validate({"text": text, "direction": direction})
        )
        return message.id


def commitments_of(db: Database, case_id: int) -> list[Commitment]:
    from sqlalchemy import select

    with db.reading() as s:
        stmt = select(Commitment).where(Commitment.case_id == case_id)
        return list(s.scalars(stmt.order_by(Commitment.id)))


@pytest.fixture
def scan(db: Database) -> Callable[[Settings], int]:
    """Run ``commitments.scan`` now, and every job it queues (e-mails included)."""

    def run(settings: Settings) -> int:
        with db.transaction() as s:
            enqueue(s, "commitments.scan")
        return Runner(db, name="test-worker", settings=settings).run_pending()

    return run
