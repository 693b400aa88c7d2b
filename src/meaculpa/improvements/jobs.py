"""Background jobs of the improvements domain.

- ``improvements.scan`` (every 5 minutes): reminds each open action's owner 72 and 24 hours
  before its due date and alerts them once when it is overdue; ``improvement_notice`` is unique
  per action, kind and offset, so a second run sends nothing.
- ``improvements.evaluate`` (hourly): re-evaluates every done action whose after-window has
  not passed yet, and gives the final verdict once it has.
- ``improvements.tell_customers`` (enqueued when an action is done): "you said, we did" to
  every customer who reported a linked problem, once each (a unique row per action and
  customer). E-mails are rows plus send jobs, sent outside the transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meaculpa.core.clock import utcnow
from meaculpa.improvements import actions, queries
from meaculpa.improvements.models import REMINDER_HOURS
from meaculpa.jobs.queue import enqueue
from meaculpa.jobs.registry import job_handler, job_settings
from meaculpa.jobs.schedule import PERIODIC

SCAN = "improvements.scan"
EVALUATE = "improvements.evaluate"
PERIODIC[SCAN] = timedelta(minutes=5)
PERIODIC[EVALUATE] = timedelta(hours=1)
TELL_BATCH = 200
log = logging.getLogger(__name__)


def _mail_context() -> actions.MailContext:
    settings = job_settings()
    return actions.MailContext(
        mail_domain=settings.mail_domain, base_url=settings.base_url, secret=settings.secret_key
    )


def send_reminders(session: Session, mail: actions.MailContext) -> int:
    now = utcnow()
    soon = queries.due_within(session, now, max(REMINDER_HOURS))
    sent = queries.notices_sent(session, (a.id for a in soon))
    reminded = 0
    for action in soon:
        assert action.due_at is not None
        left = action.due_at - now
        due = [
            h
            for h in REMINDER_HOURS
            if left <= timedelta(hours=h)
            # a reminder window that opened before the action existed is not a reminder
            and action.created_at < action.due_at - timedelta(hours=h)
            and (action.id, "reminder", h) not in sent
        ]
        if due:
            actions.do_send_reminder(session, action, due, mail)
            reminded += 1
    return reminded


def alert_overdue(session: Session, mail: actions.MailContext) -> int:
    now = utcnow()
    late = queries.overdue_actions(session, now)
    sent = queries.notices_sent(session, (a.id for a in late))
    alerted = 0
    for action in late:
        if (action.id, "alert", 0) in sent:
            continue
        actions.do_alert_overdue(session, action, mail)
        alerted += 1
    return alerted


@job_handler(SCAN)
def scan(session: Session, payload: dict[str, Any]) -> None:
    mail = _mail_context()
    send_reminders(session, mail)
    alert_overdue(session, mail)


@job_handler(EVALUATE)
def evaluate(session: Session, payload: dict[str, Any]) -> None:
    now = utcnow()
    for action in queries.unfinished_evaluations(session):
        actions.do_evaluate_action(session, action, now=now)


@job_handler(actions.TELL_CUSTOMERS)
def tell_customers(session: Session, payload: dict[str, Any]) -> None:
    """Tell up to ``TELL_BATCH`` customers, then hand the rest to a fresh job, so a problem
    with thousands of reporters never holds one long transaction."""
    action = queries.get_action(session, int(payload["action_id"]))
    if action is None or action.status != "done":
        return
    mail = _mail_context()
    told = queries.told_customer_ids(session, action.id)
    pending = [r for r in actions.reporters(session, action) if r.customer_id not in told]
    for reporter in pending[:TELL_BATCH]:
        try:
            with session.begin_nested():
                actions.do_tell_customer(session, action, reporter, mail)
        except IntegrityError:
            # another worker told this customer at the same moment
            log.info("customer %s already told of action %s", reporter.customer_id, action.id)
    if len(pending) > TELL_BATCH:
        enqueue(session, actions.TELL_CUSTOMERS, {"action_id": action.id}, max_attempts=8)
