"""Reactions of the apologies domain to other domains' events (see meaculpa.core.events).

``message.inbound``: a message from a customer an open error hurt links its case to the
error, so nobody asks them to explain it again. ``email.bounced``: an apology's e-mail
bounced (and too many bounces pause the apology).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.apologies.actions import link_inbound, note_bounce
from meaculpa.core.audit import Actor
from meaculpa.core.events import subscribe


@subscribe("message.inbound")
def link_case_to_error(
    *,
    session: Session,
    actor: Actor,
    message_id: int,
    case_id: int,
    customer_id: int,
    new_customer: bool = False,
    **_: Any,
) -> None:
    if new_customer:
        return  # created with this message: no error can have touched them yet
    link_inbound(session, actor, message_id=message_id, case_id=case_id, customer_id=customer_id)


@subscribe("email.bounced")
def apology_bounced(*, session: Session, actor: Actor, email_id: int, **_: Any) -> None:
    note_bounce(session, actor, email_id)
