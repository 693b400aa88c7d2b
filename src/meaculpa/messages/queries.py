from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.core.audit import Actor
from meaculpa.core.exceptions import NotFound
from meaculpa.messages.models import Message


def get_message_by_external_id(session: Session, channel: str, external_id: str) -> Message | None:
    return session.scalar(
        select(Message).where(Message.channel == channel, Message.external_id == external_id)
    )


def access_message(session: Session, actor: Actor, message_id: int) -> Message:
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"message {message_id} does not exist")
    return message


def list_messages(
    session: Session,
    *,
    case_id: int | None = None,
    customer_id: int | None = None,
    direction: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Message]:
    stmt = select(Message)
    if case_id is not None:
        stmt = stmt.where(Message.case_id == case_id)
    if customer_id is not None:
        stmt = stmt.where(Message.customer_id == customer_id)
    if direction:
        stmt = stmt.where(Message.direction == direction)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    return list(session.scalars(stmt.order_by(Message.id).limit(limit + 1)))


def case_timeline(session: Session, case_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.case_id == case_id).order_by(Message.sent_at, Message.id)
        )
    )
