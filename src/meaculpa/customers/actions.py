from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.accounts.queries import organisation_or_default
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.exceptions import Conflict, Invalid, NotFound
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.customers.schemas import CustomerCreate, CustomerUpdate

CUSTOMER_FIELDS = ("name", "language", "timezone", "owner_id", "failures_count", "email_opt_out")


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    user = session.get(User, owner_id)
    if user is None or not user.is_active:
        raise Invalid(f"user {owner_id} does not exist or is inactive", field="owner_id")


def identity_owner(session: Session, kind: str, value: str) -> int | None:
    return session.scalar(
        select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == kind, CustomerIdentity.value == value
        )
    )


def do_create_customer(session: Session, actor: Actor, data: CustomerCreate) -> Customer:
    org = organisation_or_default(session)
    _check_owner(session, data.owner_id)
    seen: set[tuple[str, str]] = set()
    for i, ident in enumerate(data.identities):
        pair = (ident.kind.value, ident.value)
        if pair in seen:
            continue
        seen.add(pair)
        other = identity_owner(session, *pair)
        if other is not None:
            raise Conflict(
                f"{pair[0]} {pair[1]} already belongs to customer {other}",
                errors=[{"field": f"identities.{i}.value", "message": "already in use"}],
                customer_id=other,
            )
    customer = Customer(
        name=data.name,
        language=(data.language.value if data.language else org.default_language),
        timezone=data.timezone or org.timezone,
        owner_id=data.owner_id,
    )
    customer.identities = [CustomerIdentity(kind=k, value=v) for k, v in sorted(seen)]
    session.add(customer)
    session.flush()
    after = snapshot(customer, CUSTOMER_FIELDS)
    after["identities"] = [f"{k}:{v}" for k, v in sorted(seen)]
    record(session, actor, "customer.create", "customer", customer.id, after=after)
    return customer


def do_update_customer(
    session: Session, actor: Actor, customer: Customer, data: CustomerUpdate
) -> Customer:
    changes = data.model_dump(exclude_unset=True)
    if "owner_id" in changes:
        _check_owner(session, changes["owner_id"])
    before = snapshot(customer, CUSTOMER_FIELDS)
    for key, value in changes.items():
        if value is None and key != "owner_id":
            raise Invalid(f"{key} cannot be empty", field=key)
        setattr(customer, key, value.value if hasattr(value, "value") else value)
    session.flush()
    record(
        session,
        actor,
        "customer.update",
        "customer",
        customer.id,
        before=before,
        after=snapshot(customer, CUSTOMER_FIELDS),
    )
    return customer


def do_add_identity(
    session: Session, actor: Actor, customer: Customer, kind: str, value: str
) -> CustomerIdentity:
    other = identity_owner(session, kind, value)
    if other == customer.id:
        existing = session.scalar(
            select(CustomerIdentity).where(
                CustomerIdentity.kind == kind, CustomerIdentity.value == value
            )
        )
        assert existing is not None
        return existing
    if other is not None:
        raise Conflict(
            f"{kind} {value} already belongs to customer {other}", field="value", customer_id=other
        )
    ident = CustomerIdentity(customer_id=customer.id, kind=kind, value=value)
    session.add(ident)
    session.flush()
    record(
        session,
        actor,
        "customer.identity.add",
        "customer",
        customer.id,
        after={"identity": f"{kind}:{value}"},
    )
    return ident


def do_remove_identity(
    session: Session, actor: Actor, customer: Customer, identity_id: int
) -> None:
    ident = session.get(CustomerIdentity, identity_id)
    if ident is None or ident.customer_id != customer.id:
        raise NotFound(f"identity {identity_id} does not belong to customer {customer.id}")
    record(
        session,
        actor,
        "customer.identity.remove",
        "customer",
        customer.id,
        before={"identity": f"{ident.kind}:{ident.value}"},
    )
    session.delete(ident)
    session.flush()
