"""Background work of the apologies domain.

``apologies.enqueue``: walks an error's affected customers and queues their apologies, one
delivery job per chunk. ``apologies.deliver``: sends one chunk over one SMTP connection at
the channel's rate. ``apologies.classify_reply``: reads a reply to an apology and marks a
complaint. ``apologies.notify_post``: tells the affected customers about an update.
``apologies.promises`` (every minute): settles the promises the apologies carried (kept or
broken), reminds the reporter and managers before the date and alerts them when broken.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from meaculpa.apologies import actions, promises
from meaculpa.core.db import Database
from meaculpa.jobs.registry import job_handler, job_settings
from meaculpa.jobs.schedule import PERIODIC
from meaculpa.messages.models import Message

PROMISES = "apologies.promises"
PERIODIC[PROMISES] = timedelta(minutes=1)


@job_handler("apologies.enqueue", own_transactions=True)
def enqueue_job(db: Database, payload: dict[str, Any]) -> None:
    actions.enqueue_apologies(db, int(payload["error_id"]), job_settings())


@job_handler("apologies.deliver", own_transactions=True)
def deliver_job(db: Database, payload: dict[str, Any]) -> None:
    actions.deliver_batch(db, payload, job_settings())


@job_handler("apologies.classify_reply")
def classify_job(session: Session, payload: dict[str, Any]) -> None:
    message = session.get(Message, int(payload["message_id"]))
    if message is not None:
        actions.classify_reply(session, int(payload["apology_id"]), message.text or "")


@job_handler("apologies.notify_post")
def notify_post_job(session: Session, payload: dict[str, Any]) -> None:
    actions.notify_post(session, int(payload["post_id"]), job_settings())


@job_handler(PROMISES)
def promises_job(session: Session, payload: dict[str, Any]) -> None:
    settings = job_settings()
    promises.scan(session, base_url=settings.base_url, mail_domain=settings.mail_domain)
