"""Background jobs of the problems domain.

``problems.assign`` groups one complaint: it reads the message (or takes the survey comment
or mention from its payload), runs the sentence encoder outside any transaction, then joins
the nearest problem or starts one in a short transaction. ``problems.relabel`` recomputes
the labels of problems that changed; ``problems.check_alerts`` (hourly) alerts managers of
problems whose weekly count jumped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from meaculpa.analysis import grouping
from meaculpa.core.audit import Actor
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.db import Database
from meaculpa.core.exceptions import NotFound
from meaculpa.jobs.registry import job_handler, job_settings
from meaculpa.jobs.schedule import PERIODIC
from meaculpa.problems import actions, queries
from meaculpa.problems.subscribers import ASSIGN

log = logging.getLogger(__name__)

RELABEL = actions.RELABEL_JOB
CHECK_ALERTS = "problems.check_alerts"
PERIODIC[RELABEL] = timedelta(hours=1)
PERIODIC[CHECK_ALERTS] = timedelta(hours=1)


def _message_item(session: Session, message_id: int) -> actions.ReportInput | None:
    from meaculpa.messages.queries import access_message

    try:
        message = access_message(session, Actor.system("problems"), message_id)
    except NotFound:
        return None
    if message.direction != "inbound":
        return None
    text = message.text if message.text and message.text.strip() else message.subject
    return actions.ReportInput(
        source_type="message",
        source_id=message.id,
        text=text or "",
        reported_at=as_utc(message.sent_at),
        case_id=message.case_id,
        customer_id=message.customer_id,
    )


def _payload_item(payload: dict[str, Any]) -> actions.ReportInput | None:
    source_type, source_id = payload.get("source_type"), payload.get("source_id")
    text = payload.get("text")
    if source_type not in ("survey", "mention", "case") or not isinstance(source_id, int):
        return None
    if not isinstance(text, str):
        return None
    try:
        at = as_utc(datetime.fromisoformat(str(payload.get("reported_at"))))
    except ValueError:
        at = utcnow()

    def _int(name: str) -> int | None:
        value = payload.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return actions.ReportInput(
        source_type=source_type,
        source_id=source_id,
        text=text,
        reported_at=at,
        case_id=_int("case_id"),
        customer_id=_int("customer_id"),
        language=str(payload.get("language") or "und")[:8],
    )


@job_handler(ASSIGN, own_transactions=True)
def assign(db: Database, payload: dict[str, Any]) -> None:
    """Group one complaint into a problem (idempotent: a grouped source is left alone)."""
    message_id = payload.get("message_id")
    with db.reading() as session:
        if isinstance(message_id, int):
            item = _message_item(session, message_id)
        else:
            item = _payload_item(payload)
        if item is None:
            return  # gone, outbound, or a malformed payload: nothing to retry
        if queries.get_report_for_source(session, item.source_type, item.source_id):
            return
    reading = grouping.read_complaints([item.text])[0]
    if not reading.groupable:
        return
    if item.language == "und" and reading.language != "und":
        item = actions.ReportInput(**{**item.__dict__, "language": reading.language})
    with db.transaction() as session:
        actions.do_assign_report(session, item, reading.vector)


@job_handler(RELABEL)
def relabel(session: Session, payload: dict[str, Any]) -> None:
    actions.do_relabel(session)


@job_handler(CHECK_ALERTS)
def check_alerts(session: Session, payload: dict[str, Any]) -> None:
    settings = job_settings()
    sent = actions.do_send_alerts(
        session, utcnow(), mail_domain=settings.mail_domain, base_url=settings.base_url
    )
    if sent:
        log.info("problems: %s alerts about rising problems", sent)
