"""Reactions of the problems domain to other domains' events (see meaculpa.core.events).

Grouping needs the sentence encoder, so the subscribers only queue a job in the publisher's
transaction; accepting a message or a survey answer stays fast.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.core.clock import utcnow
from meaculpa.core.events import subscribe, subscribe_many
from meaculpa.jobs.queue import enqueue_fast, enqueue_many_fast

ASSIGN = "problems.assign"
MAX_PAYLOAD_TEXT = 5000


@subscribe_many("message.inbound")
def group_inbound_messages(session: Session, events: list[dict[str, Any]]) -> None:
    payloads = [{"message_id": e["message_id"]} for e in events]
    enqueue_many_fast(session, ASSIGN, payloads, max_attempts=3)


@subscribe("survey.answered")
def group_survey_comment(
    *,
    session: Session,
    response_id: int,
    customer_id: int | None = None,
    case_id: int | None = None,
    text: str | None = None,
    language: str | None = None,
    **_: Any,
) -> None:
    """A survey comment is a complaint like any other (the positive ones are left out)."""
    if not text or not text.strip():
        return
    enqueue_fast(
        session,
        ASSIGN,
        {
            "source_type": "survey",
            "source_id": int(response_id),
            "text": text[:MAX_PAYLOAD_TEXT],
            "customer_id": customer_id,
            "case_id": case_id,
            "language": language,
            "reported_at": utcnow().isoformat(),
        },
        max_attempts=3,
    )
