"""Background jobs of the surveys domain: send a survey when it falls due."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.jobs.registry import job_handler, job_settings
from meaculpa.surveys.actions import SEND_JOB, do_send_invite


@job_handler(SEND_JOB)
def send_survey(session: Session, payload: dict[str, Any]) -> None:
    """Queue the survey e-mail (sent by ``notifications.send_email``); idempotent."""
    settings = job_settings()
    do_send_invite(
        session,
        int(payload["invite_id"]),
        secret=settings.secret_key,
        base_url=settings.base_url,
        mail_domain=settings.mail_domain,
    )
