"""Background work of the messages domain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from meaculpa.core.clock import utcnow
from meaculpa.jobs.registry import job_handler
from meaculpa.messages.models import IdempotencyRecord

# How long a client may retry a request with the same Idempotency-Key and get the first answer.
IDEMPOTENCY_TTL = timedelta(hours=24)


@job_handler("messages.purge_idempotency")
def purge_idempotency(session: Session, payload: dict[str, Any]) -> None:
    cutoff = utcnow() - IDEMPOTENCY_TTL
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
