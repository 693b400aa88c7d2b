"""Reactions of the apologies domain to other domains' events (see meaculpa.core.events).

``message.inbound``: a message from a customer an open error hurt links its case to the
error, so nobody asks them to explain it again. ``email.bounced``: an apology's e-mail
bounced (and too many bounces pause the apology).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.apologies.actions import hurt_by_open_errors, link_inbound, note_bounce
from meaculpa.core.audit import Actor
from meaculpa.core.events import subscribe, subscribe_many


@subscribe_many("message.inbound")
def link_cases_to_errors(session: Session, events: list[dict[str, Any]]) -> None:
    # A customer created with the message cannot have been hurt by an error yet.
    returning = [e for e in events if not e.get("new_customer")]
    hurt = hurt_by_open_errors(session, {e["customer_id"] for e in returning})
    for e in returning:
        if e["customer_id"] in hurt:
            link_inbound(
                session,
                e["actor"],
                message_id=e["message_id"],
                case_id=e["case_id"],
                customer_id=e["customer_id"],
            )


@subscribe("email.bounced")
def apology_bounced(*, session: Session, actor: Actor, email_id: int, **_: Any) -> None:
    note_bounce(session, actor, email_id)
