from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_or_default
from meaculpa.cases.actions import (
    check_can_change,
    do_open_case,
    do_update_case,
    note_inbound_activity,
)
from meaculpa.cases.models import Case
from meaculpa.cases.queries import open_case_for_customer
from meaculpa.core.audit import Actor, record
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import CaseStatus, Direction
from meaculpa.core.html import html_to_text, sanitise_html
from meaculpa.customers.identity import display_name_from
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.customers.queries import find_customers_by_identities
from meaculpa.messages.models import Message
from meaculpa.messages.queries import get_message_by_external_id
from meaculpa.messages.schemas import InboundMessage, ReplyIn


@dataclass
class IngestOutcome:
    message: Message
    case: Case
    customer: Customer
    created: bool
    customer_created: bool = False
    case_created: bool = False


def _find_or_create_customer(
    session: Session, actor: Actor, data: InboundMessage
) -> tuple[Customer, bool]:
    pairs = list(dict.fromkeys((i.kind.value, i.value) for i in data.customer.identities))
    matches = find_customers_by_identities(session, pairs)
    known = {(m.kind, m.value) for m in matches}
    if matches:
        # Several customers can match when identities were split before; the oldest wins.
        customer = session.get(Customer, matches[0].customer_id)
        assert customer is not None
        new_pairs = [p for p in pairs if p not in known]
        for kind, value in new_pairs:
            session.add(CustomerIdentity(customer_id=customer.id, kind=kind, value=value))
        if new_pairs:
            record(
                session,
                actor,
                "customer.identity.add",
                "customer",
                customer.id,
                after={"identities": [f"{k}:{v}" for k, v in new_pairs]},
            )
        return customer, False
    org = organisation_or_default(session)
    name = data.customer.name or display_name_from(*pairs[0])
    language = data.customer.language or data.language
    customer = Customer(
        name=name,
        language=language.value if language else org.default_language,
        timezone=data.customer.timezone or org.timezone,
    )
    customer.identities = [CustomerIdentity(kind=k, value=v) for k, v in pairs]
    session.add(customer)
    session.flush()
    record(
        session,
        actor,
        "customer.create",
        "customer",
        customer.id,
        after={
            "name": customer.name,
            "language": customer.language,
            "identities": [f"{k}:{v}" for k, v in pairs],
        },
    )
    return customer, True


def do_ingest_message(session: Session, actor: Actor, data: InboundMessage) -> IngestOutcome:
    """Take an inbound message: find or create the customer, append to their open case or open one.

    Idempotent by ``(channel, external_id)``: the same message twice returns the first.
    """
    if data.external_id:
        existing = get_message_by_external_id(session, data.channel.value, data.external_id)
        if existing is not None:
            case = session.get(Case, existing.case_id)
            customer = session.get(Customer, existing.customer_id)
            assert case is not None and customer is not None
            return IngestOutcome(existing, case, customer, created=False)

    customer, customer_created = _find_or_create_customer(session, actor, data)
    case = None if customer_created else open_case_for_customer(session, customer.id)
    case_created = False
    html = sanitise_html(data.html) if data.html else None
    text = data.text or (html_to_text(html) if html else "")
    if case is None:
        subject = data.subject or " ".join(text.split())[:80]
        language = data.language.value if data.language else customer.language
        case = do_open_case(
            session, actor, customer, channel=data.channel.value, language=language, subject=subject
        )
        case_created = True
    note_inbound_activity(session, actor, case)
    message = Message(
        case_id=case.id,
        customer_id=customer.id,
        direction=Direction.inbound.value,
        channel=data.channel.value,
        subject=data.subject,
        text=text,
        html=html,
        attachments=[a.model_dump(mode="json") for a in data.attachments],
        external_id=data.external_id,
        sent_at=data.sent_at or utcnow(),
    )
    session.add(message)
    session.flush()
    record(
        session,
        actor,
        "message.create",
        "message",
        message.id,
        after={
            "case_id": case.id,
            "customer_id": customer.id,
            "direction": "inbound",
            "channel": message.channel,
            "external_id": message.external_id,
        },
    )
    return IngestOutcome(message, case, customer, True, customer_created, case_created)


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
    if data.status is not None:
        do_update_case(session, actor, case, status=data.status.value)
    elif data.direction is Direction.outbound and case.status == CaseStatus.new.value:
        do_update_case(session, actor, case, status=CaseStatus.acknowledged.value)
    return message
