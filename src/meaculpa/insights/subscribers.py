"""Reactions of the insights domain to other domains' events (see meaculpa.core.events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.core.events import subscribe
from meaculpa.jobs.queue import enqueue_fast

ANALYZE_MESSAGE = "insights.analyze_message"


@subscribe("message.inbound")
def analyze_inbound_message(*, session: Session, message_id: int, **_: Any) -> None:
    """Queue the analysis in the ingestion transaction, so accepting a message stays fast."""
    enqueue_fast(session, ANALYZE_MESSAGE, {"message_id": message_id}, max_attempts=3)
