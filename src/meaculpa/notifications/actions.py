"""Queueing e-mails. The only way meaculpa sends one: a row plus a job, in one transaction."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from meaculpa.core.audit import Actor, record
from meaculpa.core.exceptions import Invalid
from meaculpa.jobs.queue import enqueue
from meaculpa.notifications.models import OutboundEmail

_ADDRESS = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,255}$")
EMAIL_KINDS = (
    "reply",
    "follow_up",
    "alert",
    "reminder",
    "update",
    "apology",
    "survey",
    "notice",
    "other",
)


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str = ""


def new_message_id(domain: str) -> str:
    return f"<{secrets.token_hex(12)}@{domain}>"


def do_queue_email(
    session: Session,
    actor: Actor,
    *,
    to: Recipient,
    subject: str,
    text: str,
    kind: str,
    mail_domain: str,
    html: str | None = None,
    language: str = "es",
    case_id: int | None = None,
    customer_id: int | None = None,
    user_id: int | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    message_id: str | None = None,
) -> OutboundEmail:
    """Store an e-mail and enqueue its sending in the caller's transaction."""
    if kind not in EMAIL_KINDS:
        raise Invalid(f"unknown e-mail kind {kind!r}", field="kind")
    if not _ADDRESS.match(to.address):
        raise Invalid(f"{to.address!r} is not an e-mail address", field="to")
    subject = " ".join(subject.split())[:300]
    if not subject or not text.strip():
        raise Invalid("an e-mail needs a subject and a text", field="text")
    email = OutboundEmail(
        kind=kind,
        to_address=to.address,
        to_name=to.name[:200],
        subject=subject,
        text=text,
        html=html,
        language=language,
        message_id=message_id or new_message_id(mail_domain),
        in_reply_to=in_reply_to,
        references=list(references or []),
        case_id=case_id,
        customer_id=customer_id,
        user_id=user_id,
    )
    session.add(email)
    session.flush()
    enqueue(session, "notifications.send_email", {"email_id": email.id}, max_attempts=8)
    record(
        session,
        actor,
        "email.queue",
        "email",
        email.id,
        after={"kind": kind, "to": to.address, "case_id": case_id, "subject": subject},
    )
    return email


def do_email_user(
    session: Session,
    actor: Actor,
    user: Any,
    *,
    subject: str,
    text: str,
    kind: str,
    mail_domain: str,
    case_id: int | None = None,
    language: str | None = None,
) -> OutboundEmail:
    """Queue an e-mail to a colleague (an alert, a reminder), in their own language."""
    return do_queue_email(
        session,
        actor,
        to=Recipient(user.email, user.name),
        subject=subject,
        text=text,
        kind=kind,
        mail_domain=mail_domain,
        language=language or user.language,
        case_id=case_id,
        user_id=user.id,
    )
