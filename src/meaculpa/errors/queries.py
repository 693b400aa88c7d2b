from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from meaculpa.core.audit import Actor
from meaculpa.core.exceptions import NotFound
from meaculpa.errors.models import AffectedCustomer, Error


def access_error(session: Session, actor: Actor, error_id: int) -> Error:
    error = session.get(Error, error_id)
    if error is None:
        raise NotFound(f"error {error_id} does not exist")
    return error


def errors_query(
    *, status: str | None = None, type: str | None = None, severity: str | None = None
) -> Select[Error]:
    stmt = select(Error)
    if status:
        stmt = stmt.where(Error.status == status)
    if type:
        stmt = stmt.where(Error.type == type)
    if severity:
        stmt = stmt.where(Error.severity == severity)
    return stmt


def list_errors(
    session: Session, *, after_id: int | None = None, limit: int = 50, **filters: str | None
) -> list[Error]:
    stmt = errors_query(**filters)
    if after_id is not None:
        stmt = stmt.where(Error.id < after_id)
    return list(session.scalars(stmt.order_by(Error.id.desc()).limit(limit + 1)))


def list_affected(
    session: Session,
    error_id: int,
    *,
    state: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[AffectedCustomer]:
    stmt = select(AffectedCustomer).where(AffectedCustomer.error_id == error_id)
    if state:
        stmt = stmt.where(AffectedCustomer.state == state)
    if after_id is not None:
        stmt = stmt.where(AffectedCustomer.id > after_id)
    return list(session.scalars(stmt.order_by(AffectedCustomer.id).limit(limit + 1)))


def access_affected(session: Session, error: Error, affected_id: int) -> AffectedCustomer:
    row = session.get(AffectedCustomer, affected_id)
    if row is None or row.error_id != error.id:
        raise NotFound(f"affected customer {affected_id} is not on error {error.id}")
    return row


def errors_for_customer(session: Session, customer_id: int) -> list[tuple[Error, AffectedCustomer]]:
    rows = session.execute(
        select(Error, AffectedCustomer)
        .join(AffectedCustomer, AffectedCustomer.error_id == Error.id)
        .where(AffectedCustomer.customer_id == customer_id)
        .order_by(Error.detected_at.desc())
    )
    return [(e, a) for e, a in rows]
