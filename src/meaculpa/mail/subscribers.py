"""Reactions of the mail domain to other domains' events (see meaculpa.core.events).

``message.outbound``: an agent answered the customer. When the case came by e-mail (or the
customer can only be reached by e-mail) the answer is queued as an e-mail, in the same
transaction as the reply: ``Re: <case subject> [MC-<id>]``, threaded under the customer's last
e-mail (In-Reply-To / References), in the case's language, signed with the agent's name.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from meaculpa.accounts.queries import get_user
from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor
from meaculpa.core.enums import Channel
from meaculpa.core.events import subscribe
from meaculpa.customers.queries import get_customer
from meaculpa.jobs.registry import job_settings
from meaculpa.mail.queries import thread_message_ids
from meaculpa.messages.models import Message
from meaculpa.notifications.actions import Recipient, do_queue_email

SIGN_OFF = {"es": "Un saludo,", "en": "Kind regards,"}
_REPLY_PREFIX = re.compile(r"^\s*(?:re|rv|fw|fwd|aw)\s*:\s*", re.IGNORECASE)


def reply_subject(case_subject: str, reference: str) -> str:
    subject = case_subject
    while _REPLY_PREFIX.match(subject):
        subject = _REPLY_PREFIX.sub("", subject, count=1)
    subject = subject.replace(f"[{reference}]", "").strip()
    return f"Re: {subject} [{reference}]" if subject else f"Re: [{reference}]"


def signed(text: str, language: str, agent_name: str) -> str:
    sign_off = SIGN_OFF.get(language, SIGN_OFF["es"])
    return f"{text.rstrip()}\n\n{sign_off}\n{agent_name}" if agent_name else text


@subscribe("message.outbound")
def email_the_reply(
    session: Session, actor: Actor, message_id: int, case_id: int, **_: Any
) -> None:
    case = get_case(session, case_id)
    message = session.get(Message, message_id)
    if case is None or message is None:
        return
    customer = get_customer(session, case.customer_id)
    if customer is None:
        return
    emails = [i.value for i in customer.identities if i.kind == "email"]
    only_email = bool(emails) and len(emails) == len(customer.identities)
    if not emails or not (case.channel == Channel.email.value or only_email):
        return
    in_reply_to, references = thread_message_ids(session, case.id)
    author = get_user(session, message.author_id) if message.author_id is not None else None
    language = case.language if case.language in SIGN_OFF else customer.language
    do_queue_email(
        session,
        actor,
        to=Recipient(emails[0], customer.name),
        subject=reply_subject(case.subject, case.reference),
        text=signed(message.text, language, author.name if author else ""),
        kind="reply",
        mail_domain=job_settings().mail_domain,
        language=language,
        case_id=case.id,
        customer_id=customer.id,
        user_id=author.id if author else None,
        in_reply_to=in_reply_to,
        references=references,
    )
