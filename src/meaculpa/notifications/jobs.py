"""Sending queued e-mails.

The handler runs outside any long transaction: it marks the e-mail ``sending``, talks to the
SMTP server, then marks it ``sent``. A retry of an e-mail found ``sent`` does nothing, so a
job run twice does not send twice; the window between the server's acceptance and the
``sent`` mark is the only place a crash can cause a second delivery.
"""

from __future__ import annotations

from typing import Any

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.jobs.registry import job_handler, job_settings
from meaculpa.notifications.mailer import build_message, send
from meaculpa.notifications.models import OutboundEmail

SMTP_NOT_CONFIGURED = "no SMTP server is configured (set MEACULPA_SMTP_HOST)"


@job_handler("notifications.send_email", own_transactions=True)
def send_email(db: Database, payload: dict[str, Any]) -> None:
    settings = job_settings()
    with db.transaction() as session:
        email = session.get(OutboundEmail, payload["email_id"])
        if email is None or email.status in ("sent", "held", "bounced"):
            return
        if not settings.smtp_host:
            email.status = "held"
            email.last_error = SMTP_NOT_CONFIGURED
            return
        email.status = "sending"
        msg = build_message(email, settings)
    try:
        send(msg, settings)
    except Exception as exc:
        with db.transaction() as session:
            row = session.get(OutboundEmail, payload["email_id"])
            if row is not None:
                row.status = "failed"
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    with db.transaction() as session:
        row = session.get(OutboundEmail, payload["email_id"])
        if row is not None:
            row.status = "sent"
            row.sent_at = utcnow()
            row.last_error = None
