from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session, selectinload

from meaculpa.core.audit import Actor
from meaculpa.core.exceptions import NotFound
from meaculpa.customers.models import Customer, CustomerIdentity


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def access_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    """Any signed-in user may see a customer: one owner, but the whole team can help."""
    customer = session.get(Customer, customer_id, options=[selectinload(Customer.identities)])
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return customer


def find_customers_by_identities(
    session: Session, identities: Sequence[tuple[str, str]]
) -> list[CustomerIdentity]:
    """Identity rows matching any of the normalised ``(kind, value)`` pairs."""
    if not identities:
        return []
    return list(
        session.scalars(
            select(CustomerIdentity)
            .where(tuple_(CustomerIdentity.kind, CustomerIdentity.value).in_(list(identities)))
            .order_by(CustomerIdentity.customer_id)
        )
    )


def customers_query(
    *,
    q: str | None = None,
    language: str | None = None,
    owner_id: int | None = None,
    identity: tuple[str, str] | None = None,
) -> Select[Customer]:
    stmt = select(Customer).options(selectinload(Customer.identities))
    if q:
        stmt = stmt.where(func.lower(Customer.name).contains(q.lower(), autoescape=True))
    if language:
        stmt = stmt.where(Customer.language == language)
    if owner_id is not None:
        stmt = stmt.where(Customer.owner_id == owner_id)
    if identity is not None:
        stmt = stmt.where(
            Customer.id.in_(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == identity[0], CustomerIdentity.value == identity[1]
                )
            )
        )
    return stmt


def list_customers(
    session: Session, *, after_id: int | None = None, limit: int = 50, **filters: object
) -> list[Customer]:
    stmt = customers_query(**filters)  # type: ignore[arg-type]
    if after_id is not None:
        stmt = stmt.where(Customer.id > after_id)
    return list(session.scalars(stmt.order_by(Customer.id).limit(limit + 1)))


def customer_names(session: Session, customer_ids: Sequence[int]) -> dict[int, str]:
    """``{id: name}`` for these customers, in one query (for lists that name many)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {row[0]: row[1] for row in rows}
