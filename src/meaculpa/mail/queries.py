"""Reads of the mail domain: threads, attachments, the addresses a reply goes to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from meaculpa.core.enums import Channel, Direction
from meaculpa.customers.queries import find_customers_by_identities
from meaculpa.messages.models import Message
from meaculpa.notifications.models import OutboundEmail

EMAIL = Channel.email.value


def customer_id_for_address(session: Session, address: str) -> int | None:
    """The customer an e-mail address belongs to (the oldest, as ingestion picks it)."""
    rows = find_customers_by_identities(session, [("email", address)])
    return rows[0].customer_id if rows else None


def cases_by_message_ids(session: Session, ids: Sequence[str]) -> dict[str, int]:
    """``{Message-ID: case id}`` for the ids that are e-mails meaculpa received or sent."""
    if not ids:
        return {}
    found: dict[str, int] = {}
    for mid, email_case_id in session.execute(
        select(OutboundEmail.message_id, OutboundEmail.case_id).where(
            OutboundEmail.message_id.in_(list(ids)), OutboundEmail.case_id.is_not(None)
        )
    ):
        if email_case_id is not None:
            found[mid] = email_case_id
    for external_id, message_case_id in session.execute(
        select(Message.external_id, Message.case_id).where(
            Message.channel == EMAIL, Message.external_id.in_(list(ids))
        )
    ):
        if external_id is not None:
            found[external_id] = message_case_id
    return found


def outbound_by_message_ids(session: Session, ids: Sequence[str]) -> OutboundEmail | None:
    if not ids:
        return None
    return session.scalar(
        select(OutboundEmail)
        .where(OutboundEmail.message_id.in_(list(ids)))
        .order_by(OutboundEmail.id.desc())
        .limit(1)
    )


def thread_message_ids(
    session: Session, case_id: int, limit: int = 20
) -> tuple[str | None, list[str]]:
    """``(last inbound Message-ID, References)`` for a reply on this case.

    References list the case's e-mails in the order meaculpa received or wrote them, at most
    ``limit`` of them, ending with the message answered. Received e-mails are placed by when
    they arrived, not by their Date header: senders' clocks and second-precision dates would
    otherwise put a reply before the e-mail it answers.
    """
    inbound: list[tuple[Any, str]] = [
        (row[1], str(row[0]))
        for row in session.execute(
            select(Message.external_id, Message.created_at).where(
                Message.case_id == case_id,
                Message.channel == EMAIL,
                Message.direction == Direction.inbound.value,
                Message.external_id.is_not(None),
                Message.external_id.like("<%>"),
                Message.external_id.not_like("%@no-message-id.invalid>"),
            )
        )
    ]
    outbound: list[tuple[Any, str]] = [
        (row[1], row[0])
        for row in session.execute(
            select(OutboundEmail.message_id, OutboundEmail.created_at).where(
                OutboundEmail.case_id == case_id,
                OutboundEmail.kind == "reply",
                OutboundEmail.status != "bounced",
            )
        )
    ]
    if not inbound:
        return None, [mid for _, mid in sorted(outbound)][-limit:]
    last_inbound = max(inbound)[1]
    ordered = [mid for _, mid in sorted(inbound + outbound)]
    cut = ordered.index(last_inbound) + 1
    return last_inbound, list(dict.fromkeys(ordered[:cut]))[-limit:]


def attachment_meta(session: Session, sha256: str) -> dict[str, Any] | None:
    """The metadata a message stored for the file with this SHA-256 (the newest message's)."""
    rows = session.scalars(
        select(Message.attachments)
        .where(cast(Message.attachments, Text).contains(sha256))
        .order_by(Message.id.desc())
        .limit(5)
    )
    for attachments in rows:
        for item in attachments or []:
            if isinstance(item, dict) and item.get("sha256") == sha256:
                return item
    return None
