from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.accounts.queries import least_loaded_agent, organisation_defaults
from meaculpa.cases.actions import check_can_change, do_update_case
from meaculpa.cases.models import Case
from meaculpa.core.audit import AUDIT_ROW_KEYS, Actor, AuditEvent, audit_row, record
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.enums import OPEN_STATUSES, CaseStatus, Direction
from meaculpa.core.events import publish
from meaculpa.core.html import html_to_text, sanitise_html
from meaculpa.core.prepared import Prepared
from meaculpa.customers.identity import display_name_from
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.messages.models import Message
from meaculpa.messages.schemas import InboundMessage, ReplyIn


@dataclass(frozen=True)
class Ref:
    """The id (and a few facts) of a row the ingestion touched."""

    id: int
    status: str = ""

    @property
    def reference(self) -> str:
        return f"MC-{self.id}"


@dataclass
class IngestOutcome:
    message: dict[str, Any]
    case: Ref
    customer: Ref
    created: bool
    customer_created: bool = False
    case_created: bool = False


MESSAGE_COLUMNS = (
    Message.id,
    Message.case_id,
    Message.customer_id,
    Message.direction,
    Message.channel,
    Message.author_id,
    Message.subject,
    Message.text,
    Message.html,
    Message.attachments,
    Message.external_id,
    Message.sent_at,
    Message.created_at,
)

# Ingestion is the hot path of every channel: its statements are built once and run on the
# driver's cursor (core.prepared), without the ORM; only their parameters change per message.
_customer = cast(Table, Customer.__table__)
_identity = cast(Table, CustomerIdentity.__table__)
_case = cast(Table, Case.__table__)
_message = cast(Table, Message.__table__)
_SEL_EXISTING = Prepared(
    select(Message.id, Message.case_id, Message.customer_id, Case.status)
    .join(Case, Case.id == Message.case_id)
    .where(Message.channel == bindparam("channel"), Message.external_id == bindparam("external_id"))
)
# Open statuses as plain comparisons: an IN list is expanded at every execution.
_CASE_IS_OPEN = or_(*(Case.status == s for s in OPEN_STATUSES))


def _latest_open_case(column: Any) -> Any:
    """``column`` of the newest open case of the identity's customer, as a scalar subquery."""
    return (
        select(column)
        .where(Case.customer_id == CustomerIdentity.customer_id, _CASE_IS_OPEN)
        .order_by(Case.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# The identities given, each with its customer's language and owner and the customer's newest
# open case: everything a returning customer's message needs, in one statement. Nearly every
# message names one identity; several take the expanding form.
_IDENTITY_COLUMNS = (
    CustomerIdentity.customer_id,
    CustomerIdentity.kind,
    CustomerIdentity.value,
    Customer.language,
    Customer.owner_id,
    _latest_open_case(Case.id),
    _latest_open_case(Case.status),
)
_SEL_IDENTITY = Prepared(
    select(*_IDENTITY_COLUMNS)
    .join(Customer, Customer.id == CustomerIdentity.customer_id)
    .where(CustomerIdentity.value == bindparam("value"))
    .order_by(CustomerIdentity.customer_id)
)
_SEL_IDENTITIES = (
    select(*_IDENTITY_COLUMNS)
    .join(Customer, Customer.id == CustomerIdentity.customer_id)
    .where(CustomerIdentity.value.in_(bindparam("values", expanding=True)))
    .order_by(CustomerIdentity.customer_id)
)
_SEL_THREAD_CASE = select(Case.id, Case.status).where(
    Case.id == bindparam("case_id"), Case.customer_id == bindparam("customer_id"), _CASE_IS_OPEN
)
_SEL_ACTIVE = select(User.is_active).where(User.id == bindparam("user_id"))
_INS_CUSTOMER = Prepared(
    insert(_customer).returning(_customer.c.id),
    keys=(
        "name",
        "language",
        "timezone",
        "owner_id",
        "failures_count",
        "created_at",
        "updated_at",
    ),
)
_INS_IDENTITY = Prepared(insert(_identity), keys=("customer_id", "kind", "value", "created_at"))
_INS_CASE = Prepared(
    insert(_case).returning(_case.c.id),
    keys=(
        "customer_id",
        "owner_id",
        "subject",
        "channel",
        "language",
        "severity",
        "status",
        "opened_at",
        "last_message_at",
        "updated_at",
        "reopened_count",
        "message_count",
    ),
)
_INS_MESSAGE = Prepared(
    insert(_message).returning(_message.c.id),
    keys=(
        "case_id",
        "customer_id",
        "direction",
        "channel",
        "author_id",
        "subject",
        "text",
        "html",
        "attachments",
        "external_id",
        "sent_at",
        "created_at",
    ),
)
_INS_AUDIT = Prepared(insert(cast(Table, AuditEvent.__table__)), keys=AUDIT_ROW_KEYS)
_SET_OWNER = Prepared(
    update(_customer)
    .where(_customer.c.id == bindparam("b_id"))
    .values(owner_id=bindparam("b_owner"), updated_at=bindparam("b_now"))
)
_TOUCH_CASE = Prepared(
    update(_case)
    .where(_case.c.id == bindparam("b_id"))
    .values(
        message_count=_case.c.message_count + 1,
        last_message_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        status=bindparam("b_status"),
    )
)


def _message_dict(session: Session, message_id: int) -> dict[str, Any]:
    row = session.execute(select(*MESSAGE_COLUMNS).where(Message.id == message_id)).one()
    return dict(row._mapping)


def _existing(session: Session, channel: str, external_id: str) -> IngestOutcome | None:
    row = _SEL_EXISTING.first(
        session.connection(), {"channel": channel, "external_id": external_id}
    )
    if row is None:
        return None
    return IngestOutcome(
        _message_dict(session, row[0]), Ref(row[1], row[3]), Ref(row[2]), created=False
    )


def do_ingest_message(
    session: Session, actor: Actor, data: InboundMessage, *, thread_case_id: int | None = None
) -> IngestOutcome:
    """Take an inbound message: find or create the customer, append to their open case or open one.

    Idempotent by ``(channel, external_id)``: the same message twice returns the first.
    ``thread_case_id`` names the case a channel threaded the message to (an e-mail reply): it
    is used when that case is open and belongs to the customer found, never otherwise.
    """
    channel = data.channel.value
    if data.external_id:
        existing = _existing(session, channel, data.external_id)
        if existing is not None:
            return existing

    conn = session.connection()
    now = utcnow()
    audit: list[dict[str, Any]] = []
    pairs = list(dict.fromkeys((i.kind.value, i.value) for i in data.customer.identities))
    wanted = set(pairs)
    values = sorted({v for _, v in pairs})
    found = (
        _SEL_IDENTITY.all(conn, {"value": values[0]})
        if len(values) == 1
        else [tuple(r) for r in conn.execute(_SEL_IDENTITIES, {"values": values})]
    )
    matches = [m for m in found if (m[1], m[2]) in wanted]
    case_id: int | None = None
    case_status = CaseStatus.new.value
    customer_created = False
    if matches:
        # Several customers can match when identities were split before; the oldest wins.
        customer_id, _, _, customer_language, owner_id, latest_id, latest_status = matches[0]
        known = {(m[1], m[2]) for m in matches}
        new_pairs = [p for p in pairs if p not in known]
        if new_pairs:
            _INS_IDENTITY.run_many(
                conn,
                [
                    {"customer_id": customer_id, "kind": k, "value": v, "created_at": now}
                    for k, v in new_pairs
                ],
            )
            added = [f"{k}:{v}" for k, v in new_pairs]
            audit.append(
                audit_row(
                    actor,
                    "customer.identity.add",
                    "customer",
                    customer_id,
                    at=now,
                    after={"identities": added},
                )
            )
        open_case = None
        if thread_case_id is not None:
            open_case = conn.execute(
                _SEL_THREAD_CASE, {"case_id": thread_case_id, "customer_id": customer_id}
            ).first()
        if open_case is not None:
            case_id, case_status = open_case
        elif latest_id is not None:
            case_id, case_status = latest_id, latest_status
    else:
        default_language, default_tz = organisation_defaults(session)
        language = data.customer.language or data.language
        customer_language = language.value if language else default_language
        # A new customer always opens a case: its owner becomes the customer's owner too.
        owner_id = least_loaded_agent(session)
        name = data.customer.name or display_name_from(*pairs[0])
        customer_id = _INS_CUSTOMER.scalar(
            conn,
            {
                "name": name,
                "language": customer_language,
                "timezone": data.customer.timezone or default_tz,
                "owner_id": owner_id,
                "failures_count": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
        _INS_IDENTITY.run_many(
            conn,
            [
                {"customer_id": customer_id, "kind": k, "value": v, "created_at": now}
                for k, v in pairs
            ],
        )
        customer_created = True
        audit.append(
            audit_row(
                actor,
                "customer.create",
                "customer",
                customer_id,
                at=now,
                after={
                    "name": name,
                    "language": customer_language,
                    "identities": [f"{k}:{v}" for k, v in pairs],
                },
            )
        )

    html = sanitise_html(data.html) if data.html else None
    text = data.text or (html_to_text(html) if html else "")
    case_created = case_id is None
    if case_id is None:
        if not customer_created:  # a new customer's owner was chosen with it
            if (
                owner_id is not None
                and not conn.execute(_SEL_ACTIVE, {"user_id": owner_id}).scalar()
            ):
                owner_id = None
            if owner_id is None:
                owner_id = least_loaded_agent(session)
                if owner_id is not None:
                    _SET_OWNER.run(conn, {"b_id": customer_id, "b_owner": owner_id, "b_now": now})
        case_language = data.language.value if data.language else customer_language
        subject = (data.subject or " ".join(text.split())[:80])[:300]
        case_id = _INS_CASE.scalar(
            conn,
            {
                "customer_id": customer_id,
                "owner_id": owner_id,
                "subject": subject,
                "channel": channel,
                "language": case_language,
                "severity": "medium",
                "status": case_status,
                "opened_at": now,
                "last_message_at": now,
                "updated_at": now,
                "reopened_count": 0,
                "message_count": 1,
            },
        )
        audit.append(
            audit_row(
                actor,
                "case.create",
                "case",
                case_id,
                at=now,
                after={
                    "subject": subject,
                    "channel": channel,
                    "language": case_language,
                    "severity": "medium",
                    "status": case_status,
                    "owner_id": owner_id,
                    "customer_id": customer_id,
                },
            )
        )
    woken = False
    if not case_created:
        if case_status == CaseStatus.waiting_on_customer.value:
            woken = True
            case_status = CaseStatus.in_progress.value
            audit.append(
                audit_row(
                    actor, "case.update", "case", case_id, at=now, after={"status": case_status}
                )
            )
        _TOUCH_CASE.run(conn, {"b_id": case_id, "b_now": now, "b_status": case_status})

    attachments = [a.model_dump(mode="json") for a in data.attachments]
    sent_at = data.sent_at or now
    message_id = _INS_MESSAGE.scalar(
        conn,
        {
            "case_id": case_id,
            "customer_id": customer_id,
            "direction": Direction.inbound.value,
            "channel": channel,
            "author_id": None,
            "subject": data.subject,
            "text": text,
            "html": html,
            "attachments": attachments,
            "external_id": data.external_id,
            "sent_at": sent_at,
            "created_at": now,
        },
    )
    audit.append(
        audit_row(
            actor,
            "message.create",
            "message",
            message_id,
            at=now,
            after={
                "case_id": case_id,
                "customer_id": customer_id,
                "direction": "inbound",
                "channel": channel,
                "external_id": data.external_id,
            },
        )
    )
    _INS_AUDIT.run_many(conn, audit)
    if case_created:
        publish(
            "case.opened",
            session=session,
            actor=actor,
            case_id=case_id,
            new_customer=customer_created,
        )
    if woken:
        publish(
            "case.status_changed",
            session=session,
            actor=actor,
            case_id=case_id,
            old=CaseStatus.waiting_on_customer.value,
            new=case_status,
        )
    publish(
        "message.inbound",
        session=session,
        actor=actor,
        message_id=message_id,
        case_id=case_id,
        customer_id=customer_id,
        new_customer=customer_created,
    )
    message = {
        "id": message_id,
        "case_id": case_id,
        "customer_id": customer_id,
        "direction": Direction.inbound.value,
        "channel": channel,
        "author_id": None,
        "subject": data.subject,
        "text": text,
        "html": html,
        "attachments": attachments,
        "external_id": data.external_id,
        "sent_at": as_utc(sent_at),
        "created_at": now,
    }
    return IngestOutcome(
        message, Ref(case_id, case_status), Ref(customer_id), True, customer_created, case_created
    )


def do_add_reply(session: Session, actor: Actor, case: Case, data: ReplyIn) -> Message:
    """An agent writes to the customer (outbound) or to colleagues (internal note)."""
    check_can_change(actor, case)
    now = utcnow()
    message = Message(
        case_id=case.id,
        customer_id=case.customer_id,
        direction=data.direction.value,
        channel=case.channel,
        author_id=actor.id,
        subject=data.subject,
        text=data.text,
        sent_at=now,
    )
    session.add(message)
    case.message_count += 1
    case.last_message_at = now
    session.flush()
    record(
        session,
        actor,
        "message.create",
        "message",
        message.id,
        after={"case_id": case.id, "direction": message.direction},
    )
    if data.direction is Direction.outbound:
        publish(
            "message.outbound", session=session, actor=actor, message_id=message.id, case_id=case.id
        )
    if data.status is not None:
        do_update_case(session, actor, case, status=data.status.value)
    elif data.direction is Direction.outbound and case.status == CaseStatus.new.value:
        do_update_case(session, actor, case, status=CaseStatus.acknowledged.value)
    return message
