"""Helpers for the follow-up and tracking tests: a customer, a case, resolving, time travel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from meaculpa.cases.actions import do_open_case, do_update_case
from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor
from meaculpa.core.clock import override
from meaculpa.core.db import Database
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.schemas import CustomerCreate
from meaculpa.jobs.runner import Runner
from meaculpa.messages.actions import do_add_reply, do_ingest_message
from meaculpa.messages.schemas import InboundMessage, ReplyIn

LINK = re.compile(r"https?://[^/\s]+(/f/[A-Za-z0-9_.\-]+)")
SYSTEM = Actor.system("test")


@dataclass
class Seeded:
    case: int
    customer: int
    email: str


def seed(
    db: Database,
    owner_id: int,
    *,
    language: str = "es",
    name: str = "Lucía Fernández",
    email: str = "lucia@example.es",
    text: str = "Me habéis cobrado dos veces el pedido 4411.",
    severity: str = "medium",
) -> Seeded:
    with db.transaction() as s:
        customer = do_create_customer(
            s,
            SYSTEM,
            CustomerCreate.model_validate(
                {
                    "name": name,
                    "language": language,
                    "identities": [{"kind": "email", "value": email}],
                }
            ),
        )
        case = do_open_case(
            s,
            SYSTEM,
            customer,
            channel="email",
            subject="Cobro duplicado",
            severity=severity,
            owner_id=owner_id,
        )
        do_ingest_message(
            s,
            SYSTEM,
            InboundMessage.model_validate(
                {
                    "channel": "email",
                    "customer": {"identities": [{"kind": "email", "value": email}]},
                    "text": text,
                }
            ),
        )
        return Seeded(case.id, customer.id, email)


def reply(
    db: Database,
    actor: Actor,
    case_id: int,
    text: str,
    direction: str = "outbound",
    status: str | None = None,
) -> None:
    with db.transaction() as s:
        case = s.get(Case, case_id)
        do_add_reply(
            s,
            actor,
            case,
            ReplyIn.model_validate({"direction": direction, "text": text, "status": status}),
        )


def resolve(db: Database, actor: Actor, case_id: int) -> datetime:
    with db.transaction() as s:
        case = s.get(Case, case_id)
        do_update_case(s, actor, case, status="resolved")
        assert case.resolved_at is not None
        return case.resolved_at


def reopen(db: Database, actor: Actor, case_id: int) -> None:
    from meaculpa.cases.actions import do_reopen_case

    with db.transaction() as s:
        do_reopen_case(s, actor, s.get(Case, case_id), reason="la clienta vuelve a escribir")


def run_worker_at(db: Database, settings: Any, when: datetime) -> int:
    with override(lambda: when):
        return Runner(db, settings=settings).run_pending()


def link_path(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(1)


@pytest.fixture
def after_days():
    def at(start: datetime, days: float) -> datetime:
        return start + timedelta(days=days)

    return at
