"""Queueing e-mails. The only way meaculpa sends one: a row plus a job, in one transaction."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from meaculpa.core.audit import Actor, record
from meaculpa.core.clock import utcnow
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


def do_store_emails(
    session: Session, actor: Actor, emails: list[dict[str, Any]], *, verb: str = "email.store"
) -> list[int]:
    """Store e-mails that their caller delivers itself, in bulk (a batch of apologies sent
    over one SMTP connection): rows in ``sending`` with no job of their own, so the caller
    must mark each one with :func:`do_mark_email`. One multi-row insert and one audit event
    for the batch. Each dict has ``kind``, ``to_address``, ``subject``, ``text``,
    ``message_id`` and optionally ``to_name``, ``language``, ``customer_id``, ``case_id``."""
    if not emails:
        return []
    now = utcnow()
    rows = []
    for item in emails:
        if item["kind"] not in EMAIL_KINDS:
            raise Invalid(f"unknown e-mail kind {item['kind']!r}", field="kind")
        if not _ADDRESS.match(item["to_address"]):
            raise Invalid(f"{item['to_address']!r} is not an e-mail address", field="to")
        rows.append(
            {
                "kind": item["kind"],
                "to_address": item["to_address"],
                "to_name": str(item.get("to_name") or "")[:200],
                "subject": " ".join(str(item["subject"]).split())[:300],
                "text": item["text"],
                "html": None,
                "language": item.get("language", "es"),
                "message_id": item["message_id"],
                "in_reply_to": None,
                "references": [],
                "case_id": item.get("case_id"),
                "customer_id": item.get("customer_id"),
                "user_id": None,
                "status": "sending",
                "created_at": now,
            }
        )
    ids = list(
        session.scalars(
            insert(OutboundEmail).returning(OutboundEmail.id, sort_by_parameter_order=True),
            rows,
        )
    )
    record(
        session,
        actor,
        verb,
        "email",
        ids[0],
        after={"email_ids": ids, "kind": rows[0]["kind"], "count": len(ids)},
    )
    return ids


def do_mark_email(
    session: Session, email_id: int, status: str, *, error: str | None = None
) -> None:
    """Record the outcome of delivering an e-mail stored with :func:`do_store_emails`."""
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == "sent":
        values["sent_at"] = utcnow()
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def mark_emails_sent(session: Session, email_ids: Any) -> None:
    """Mark the e-mails ``email_ids`` (a list or a subquery of ids) that are still
    ``sending`` as sent, once their sender knows the server accepted them."""
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(email_ids), OutboundEmail.status == "sending")
        .values(status="sent", sent_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False)
    )


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
