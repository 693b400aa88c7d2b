"""Reactions of the insights domain to other domains' events (see meaculpa.core.events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.core.events import subscribe_many
from meaculpa.jobs.queue import enqueue_many_fast

ANALYZE_MESSAGE = "insights.analyze_message"


@subscribe_many("message.inbound")
def analyze_inbound_messages(session: Session, events: list[dict[str, Any]]) -> None:
    """Queue the analysis in the ingestion transaction, so accepting a message stays fast."""
    payloads = [{"message_id": e["message_id"]} for e in events]
    enqueue_many_fast(session, ANALYZE_MESSAGE, payloads, max_attempts=3)
