from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_or_default
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.exceptions import Conflict, Forbidden, Invalid
from meaculpa.core.permissions import has_role
from meaculpa.customers.identity import display_name_from
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.errors.schemas import AffectedIn, AffectedUpdate, ErrorCreate, ErrorUpdate

ERROR_FIELDS = (
    "title",
    "description",
    "type",
    "severity",
    "status",
    "root_cause",
    "detected_at",
    "public",
    "public_summary",
    "postmortem",
)


def check_can_edit_error(actor: Actor, error: Error) -> None:
    """The person who reported an error and managers may change it."""
    if has_role(actor, "manager") or (actor.id is not None and actor.id == error.reported_by_id):
        return
    raise Forbidden("only the reporter or a manager may change this error")


def do_create_error(session: Session, actor: Actor, data: ErrorCreate) -> Error:
    error = Error(
        title=data.title,
        description=data.description,
        type=data.type.value,
        severity=data.severity.value,
        detected_at=data.detected_at or utcnow(),
        root_cause=data.root_cause,
        reported_by_id=actor.id,
    )
    session.add(error)
    session.flush()
    record(session, actor, "error.create", "error", error.id, after=snapshot(error, ERROR_FIELDS))
    return error


def do_update_error(session: Session, actor: Actor, error: Error, data: ErrorUpdate) -> Error:
    check_can_edit_error(actor, error)
    before = snapshot(error, ERROR_FIELDS)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise Invalid(f"{key} cannot be empty", field=key)
        setattr(error, key, value.value if hasattr(value, "value") else value)
    session.flush()
    record(
        session,
        actor,
        "error.update",
        "error",
        error.id,
        before=before,
        after=snapshot(error, ERROR_FIELDS),
    )
    return error


def _resolve_customer(session: Session, actor: Actor, data: AffectedIn) -> Customer:
    if data.customer_id is not None:
        customer = session.get(Customer, data.customer_id)
        if customer is None:
            raise Invalid(f"customer {data.customer_id} does not exist", field="customer_id")
        return customer
    assert data.identity is not None
    kind, value = data.identity.kind.value, data.identity.value
    owner = session.scalar(
        select(CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == kind, CustomerIdentity.value == value
        )
    )
    if owner is not None:
        customer = session.get(Customer, owner)
        assert customer is not None
        return customer
    org = organisation_or_default(session)
    customer = Customer(
        name=data.name or display_name_from(kind, value),
        language=org.default_language,
        timezone=org.timezone,
    )
    customer.identities = [CustomerIdentity(kind=kind, value=value)]
    session.add(customer)
    session.flush()
    record(
        session,
        actor,
        "customer.create",
        "customer",
        customer.id,
        after={"name": customer.name, "identities": [f"{kind}:{value}"]},
    )
    return customer


def do_add_affected(
    session: Session, actor: Actor, error: Error, data: AffectedIn
) -> AffectedCustomer:
    check_can_edit_error(actor, error)
    customer = _resolve_customer(session, actor, data)
    exists = session.scalar(
        select(AffectedCustomer.id).where(
            AffectedCustomer.error_id == error.id, AffectedCustomer.customer_id == customer.id
        )
    )
    if exists is not None:
        raise Conflict(
            f"customer {customer.id} is already affected by error {error.id}", affected_id=exists
        )
    row = AffectedCustomer(
        error_id=error.id, customer_id=customer.id, state=data.state.value, details=data.details
    )
    session.add(row)
    customer.failures_count += 1
    session.flush()
    error.affected_count = (
        session.scalar(
            select(func.count(AffectedCustomer.id)).where(AffectedCustomer.error_id == error.id)
        )
        or 0
    )
    record(
        session,
        actor,
        "error.affected.add",
        "error",
        error.id,
        after={"customer_id": customer.id, "state": row.state, "details": row.details},
    )
    return row


def do_update_affected(
    session: Session, actor: Actor, error: Error, row: AffectedCustomer, data: AffectedUpdate
) -> AffectedCustomer:
    check_can_edit_error(actor, error)
    before = {"state": row.state, "details": row.details}
    if data.state is not None:
        row.state = data.state.value
    if data.details is not None:
        row.details = data.details
    session.flush()
    record(
        session,
        actor,
        "error.affected.update",
        "error",
        error.id,
        before=before,
        after={"state": row.state, "details": row.details},
    )
    return row
