"""Reactions of the commitments domain to other domains' events (see meaculpa.core.events).

``message.outbound``: the promises in an agent's reply become open commitments, due when the
reply said, read in the customer's time zone and the organisation's calendar.
``case.owner_changed``: the case's open promises follow it to its new owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_or_default
from meaculpa.analysis.commitments import extract_commitments
from meaculpa.cases.queries import get_case
from meaculpa.commitments.actions import do_create_commitment, do_reassign_open_commitments
from meaculpa.commitments.queries import list_case_commitments
from meaculpa.core.audit import Actor
from meaculpa.core.business_time import WorkingTime
from meaculpa.core.clock import as_utc
from meaculpa.core.events import subscribe
from meaculpa.core.i18n import zone
from meaculpa.customers.queries import get_customer
from meaculpa.messages.queries import access_message


def _hour(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment).replace(minute=0, second=0, microsecond=0)


@subscribe("message.outbound")
def propose_from_reply(
    *, session: Session, actor: Actor, message_id: int, case_id: int, **_: Any
) -> None:
    message = access_message(session, actor, message_id)
    case = get_case(session, case_id)
    customer = get_customer(session, message.customer_id)
    if case is None or customer is None or not message.text.strip():
        return
    sent_at = as_utc(message.sent_at)
    found = extract_commitments(
        message.text,
        sent_at,
        zone(customer.timezone),
        calendar=WorkingTime.of(organisation_or_default(session)).calendar(),
        language=case.language or customer.language,
    )
    # A promise repeated in a later reply ("we will refund the 129 € within 7 working days",
    # said again) is the same promise: same kind, due within the same hour, not yet closed.
    seen: set[tuple[str, datetime | None]] = {
        (c.kind, _hour(c.due_at))
        for c in list_case_commitments(session, case.id)
        if c.state in ("open", "broken")
    }
    for promise in found:
        key = (promise.action, _hour(promise.due_utc))
        if key in seen:
            continue
        seen.add(key)
        due = promise.due_utc
        if due is not None and due <= sent_at:
            due = None  # "today before 12" written at 15:00: kept, without a date to miss
        do_create_commitment(
            session,
            actor,
            case,
            kind=promise.action,
            due_at=due,
            description=promise.sentence[:2000],
            depends_on_customer=promise.depends_on_customer,
            condition=promise.condition,
            source="extracted",
            message_id=message.id,
            due_text=promise.due_text,
        )


@subscribe("case.owner_changed")
def follow_the_owner(
    *, session: Session, actor: Actor, case_id: int, new: int | None = None, **_: Any
) -> None:
    do_reassign_open_commitments(session, actor, case_id, new)
