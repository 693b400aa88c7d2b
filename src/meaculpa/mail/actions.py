"""Taking an inbound e-mail: threading it to its case, ingesting it, recording bounces.

Every channel's message goes through :func:`meaculpa.messages.actions.do_ingest_message`; this
module decides which case an e-mail belongs to and hands it over:

1. **Headers.** The Message-IDs in ``In-Reply-To`` and ``References`` (nearest first) are looked
   up among the e-mails received (``Message.external_id`` on the e-mail channel) and sent
   (``OutboundEmail.message_id``).
2. **Subject.** Else a case reference in the subject (``[MC-123]`` or ``MC-123``).
3. **Guard.** Either way the case must belong to the customer the From address identifies; a
   reference to someone else's case is ignored, so a message never lands in another
   customer's case.
4. **Resolved or closed thread.** A reply within ``MEACULPA_MAIL_REOPEN_DAYS`` (14) of the
   resolution reopens the case (``case.reopen``, reason "the customer answered by e-mail");
   later, the e-mail is ingested as any other message (the customer's open case, or a new one).

The Message-ID is the message's ``external_id``, so the same e-mail delivered twice (by the API
and by IMAP, or by an IMAP fetch that crashed before marking it seen) is stored once. An e-mail
without Message-ID is known by the SHA-256 of its bytes.

Auto-replies are ignored. Bounces are ignored as messages; a bounce that names an e-mail we
sent marks it ``bounced`` with the diagnostic (audit ``email.bounce``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_defaults
from meaculpa.cases.actions import do_reopen_case
from meaculpa.cases.models import Case
from meaculpa.cases.queries import get_case
from meaculpa.core.api import write
from meaculpa.core.audit import Actor, record
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.db import Database
from meaculpa.core.enums import OPEN_STATUSES, Channel
from meaculpa.core.events import publish
from meaculpa.core.exceptions import Invalid
from meaculpa.customers.queries import get_customer
from meaculpa.mail import queries
from meaculpa.mail.config import MailConfig
from meaculpa.mail.parse import MAX_TEXT_CHARS, MailError, ParsedMail, parse_email
from meaculpa.mail.storage import Dropped, Plan, dropped_note, plan_attachments, write_plan
from meaculpa.messages.actions import IngestOutcome, do_ingest_message
from meaculpa.messages.schemas import InboundMessage

log = logging.getLogger("meaculpa.mail")

_CASE_REFERENCE = re.compile(r"(?<![A-Za-z0-9])MC-(\d{1,12})(?![0-9])", re.IGNORECASE)
REOPEN_REASON = "the customer answered by e-mail"


@dataclass
class MailResult:
    """What became of one inbound e-mail."""

    ignored: str | None = None  # "auto-reply" or "bounce"
    reason: str = ""
    outcome: IngestOutcome | None = None
    threaded_by: str | None = None  # "headers" or "subject"
    reopened: bool = False
    dropped: list[Dropped] = field(default_factory=list)
    bounced_email_id: int | None = None

    def body(self) -> dict[str, Any]:
        """The JSON answer of ``POST /api/v1/inbound/email``."""
        from meaculpa.core.audit import jsonable

        if self.outcome is None:
            answer: dict[str, Any] = {"ignored": self.ignored, "reason": self.reason}
            if self.ignored == "bounce":
                answer["outbound_email_id"] = self.bounced_email_id
            return answer
        outcome = self.outcome
        return {
            "created": outcome.created,
            "message": jsonable(outcome.message),
            "case_id": outcome.case.id,
            "case_reference": outcome.case.reference,
            "case_status": outcome.case.status,
            "customer_id": outcome.customer.id,
            "customer_created": outcome.customer_created,
            "case_created": outcome.case_created,
            "threaded_by": self.threaded_by,
            "reopened": self.reopened,
            "dropped_attachments": [
                {"filename": d.filename, "size": d.size, "reason": d.reason} for d in self.dropped
            ],
        }


def external_id_of(mail: ParsedMail) -> str:
    return mail.message_id or f"<{mail.digest}@no-message-id.invalid>"


def subject_references(subject: str) -> list[int]:
    return [int(m) for m in _CASE_REFERENCE.findall(subject)][:5]


def find_thread_case(
    session: Session, mail: ParsedMail, customer_id: int | None
) -> tuple[Case | None, str | None]:
    """The case this e-mail continues, and how it was found; only the customer's own cases."""
    if customer_id is None:
        return None, None
    ids = mail.thread_ids
    found = queries.cases_by_message_ids(session, ids)
    for mid in ids:
        case_id = found.get(mid)
        case = get_case(session, case_id) if case_id is not None else None
        if case is not None and case.customer_id == customer_id:
            return case, "headers"
    for case_id in subject_references(mail.subject):
        case = get_case(session, case_id)
        if case is not None and case.customer_id == customer_id:
            return case, "subject"
    return None, None


def _may_reopen(case: Case, config: MailConfig) -> bool:
    ended = case.resolved_at or case.closed_at
    if ended is None:
        return False
    return utcnow() - as_utc(ended) <= timedelta(days=config.mail_reopen_days)


def do_record_bounce(session: Session, actor: Actor, mail: ParsedMail) -> MailResult:
    """Mark the e-mail a delivery report names as ``bounced``; nothing else is stored."""
    bounce = mail.bounce
    result = MailResult(ignored="bounce", reason=mail.reason)
    if bounce is None:
        return result
    email = queries.outbound_by_message_ids(session, list(bounce.original_message_ids))
    if email is None:
        log.info("bounce for no e-mail of ours: %s", bounce.diagnostic[:200])
        return result
    result.bounced_email_id = email.id
    if not bounce.failed or email.status == "bounced":
        return result
    before = {"status": email.status}
    email.status = "bounced"
    email.last_error = f"bounced: {bounce.diagnostic}"[:2000]
    record(
        session,
        actor,
        "email.bounce",
        "email",
        email.id,
        before=before,
        after={
            "status": "bounced",
            "diagnostic": bounce.diagnostic[:500],
            "report_message_id": mail.message_id,
        },
    )
    publish("email.bounced", session=session, actor=actor, email_id=email.id)
    return result


def _note_language(session: Session, mail: ParsedMail, customer_id: int | None) -> str:
    if mail.language:
        return mail.language
    customer = get_customer(session, customer_id) if customer_id is not None else None
    if customer is not None:
        return customer.language
    return organisation_defaults(session)[0]


def do_receive_email(
    session: Session, actor: Actor, mail: ParsedMail, plan: Plan, config: MailConfig
) -> MailResult:
    """Ingest a parsed e-mail whose kept attachments (``plan``) are already on disk."""
    if mail.kind == "bounce":
        return do_record_bounce(session, actor, mail)
    if mail.kind == "auto-reply":
        return MailResult(ignored="auto-reply", reason=mail.reason)

    external_id = external_id_of(mail)
    customer_id = queries.customer_id_for_address(session, mail.from_address)
    case, threaded_by = find_thread_case(session, mail, customer_id)
    reopened = False
    duplicate = queries.cases_by_message_ids(session, [external_id])
    if case is not None and not duplicate and case.status not in OPEN_STATUSES:
        if _may_reopen(case, config):
            do_reopen_case(session, actor, case, reason=REOPEN_REASON)
            reopened = True
        else:
            case, threaded_by = None, None

    text = mail.text
    if plan.dropped:
        note = dropped_note(plan.dropped, config, _note_language(session, mail, customer_id))
        text = f"{text[: MAX_TEXT_CHARS - len(note) - 2]}\n\n{note}".strip()
    try:
        data = InboundMessage.model_validate(
            {
                "channel": Channel.email.value,
                "customer": {
                    "name": mail.from_name or None,
                    "language": mail.language,
                    "identities": [{"kind": "email", "value": mail.from_address}],
                },
                "text": text,
                "html": mail.html,
                "subject": mail.subject,
                "language": mail.language,
                "external_id": external_id,
                "sent_at": mail.sent_at,
                "attachments": plan.attachments,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise Invalid(f"the e-mail cannot be stored: {where}: {first.get('msg')}") from exc
    outcome = do_ingest_message(
        session, actor, data, thread_case_id=case.id if case is not None else None
    )
    if case is not None:
        session.expire(case)  # ingestion updated the row without the ORM
        if outcome.case.id != case.id:
            threaded_by = None
    return MailResult(
        outcome=outcome,
        threaded_by=threaded_by,
        reopened=reopened,
        dropped=list(plan.dropped),
    )


def prepare(raw: bytes, config: MailConfig) -> tuple[ParsedMail, Plan]:
    """Parse ``raw`` and put its kept attachments on disk: the work done before the database
    transaction (it raises :class:`MailError` for an e-mail that cannot be taken)."""
    mail = parse_email(raw, max_html_chars=config.mail_max_html_chars)
    if mail.kind != "message":
        return mail, Plan([], [], [])
    plan = plan_attachments(mail.attachments, config)
    write_plan(plan, config)
    return mail, plan


def receive_email(db: Database, actor: Actor, raw: bytes, config: MailConfig) -> MailResult:
    """Parse, store and ingest one raw e-mail in its own transaction (retried on a race)."""
    mail, plan = prepare(raw, config)
    return write(db, lambda session: do_receive_email(session, actor, mail, plan, config))


__all__ = [
    "MailError",
    "MailResult",
    "do_receive_email",
    "do_record_bounce",
    "find_thread_case",
    "prepare",
    "receive_email",
]
