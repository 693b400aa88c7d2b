"""Shared set-up for the remedies tests: customers with cases, errors, teams."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meaculpa.accounts.models import Team, User
from meaculpa.cases.actions import do_open_case
from meaculpa.core.audit import Actor
from meaculpa.core.clock import override
from meaculpa.core.db import Database
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.models import Customer
from meaculpa.customers.schemas import CustomerCreate
from meaculpa.errors.actions import do_add_affected, do_create_error
from meaculpa.errors.schemas import AffectedIn, ErrorCreate


def new_customer(db: Database, email: str = "lucia@example.es", name: str = "Lucía") -> int:
    with db.transaction() as s:
        customer = do_create_customer(
            s,
            Actor.system(),
            CustomerCreate.model_validate(
                {"name": name, "identities": [{"kind": "email", "value": email}]}
            ),
        )
        return customer.id


def open_case(
    db: Database,
    customer_id: int,
    *,
    owner_id: int | None,
    severity: str = "medium",
    at: datetime | None = None,
    subject: str = "Cobro duplicado",
) -> int:
    def run() -> int:
        with db.transaction() as s:
            customer = s.get(Customer, customer_id)
            case = do_open_case(
                s, Actor.system(), customer, channel="email", subject=subject,
                severity=severity, owner_id=owner_id,
            )
            return case.id

    if at is None:
        return run()
    with override(lambda: at):
        return run()


def new_error(
    db: Database, customer_ids: list[int], *, type_: str = "calculation",
    at: datetime | None = None, title: str = "Double charge",
) -> int:
    with db.transaction() as s:
        data: dict[str, Any] = {"title": title, "type": type_}
        if at is not None:
            data["detected_at"] = at
        error = do_create_error(s, Actor.system(), ErrorCreate.model_validate(data))
        for customer_id in customer_ids:
            do_add_affected(s, Actor.system(), error, AffectedIn(customer_id=customer_id))
        return error.id


def put_in_team(db: Database, user_id: int, team: str) -> int:
    with db.transaction() as s:
        row = s.query(Team).filter_by(name=team).one_or_none()
        if row is None:
            row = Team(name=team)
            s.add(row)
            s.flush()
        s.get(User, user_id).team_id = row.id
        return row.id
