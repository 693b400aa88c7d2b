"""Background jobs of the followups domain: send the question when it falls due."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.followups.actions import SEND_JOB, do_send_followup
from meaculpa.jobs.registry import job_handler, job_settings


@job_handler(SEND_JOB)
def send_followup(session: Session, payload: dict[str, Any]) -> None:
    """Queue the follow-up e-mail (sent by ``notifications.send_email``); idempotent."""
    settings = job_settings()
    do_send_followup(
        session,
        int(payload["followup_id"]),
        secret=settings.secret_key,
        base_url=settings.base_url,
        mail_domain=settings.mail_domain,
    )
