"""Background jobs of the commitments domain: the one-minute scan.

``commitments.scan`` runs every minute (whatever the number of workers: periodic jobs are
enqueued once). In one transaction it

1. reminds each promise's owner before the due time (the organisation's offsets, 2 h and
   30 min by default), once per offset: ``commitment_notice`` is unique per promise, kind and
   offset, so a second run finds the row and sends nothing;
2. marks promises whose due time passed without being kept as broken and alerts the owner;
   a promise that waited on the customer, who never wrote back, is cancelled instead;
3. records the progress updates customers are due on open cases (an e-mail to the customer
   or a reminder to the owner), once per due time.

E-mails are queued (rows and send jobs) in the same transaction and sent by
``notifications.send_email`` afterwards, outside it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_or_default
from meaculpa.commitments import actions, queries
from meaculpa.core.business_time import WorkingTime
from meaculpa.core.clock import utcnow
from meaculpa.jobs.registry import job_handler, job_settings
from meaculpa.jobs.schedule import PERIODIC

SCAN = "commitments.scan"
PERIODIC[SCAN] = timedelta(minutes=1)
WAITED_ON_CUSTOMER = "the customer had to act first and did not write back before the due time"


def _mail_context() -> actions.MailContext:
    settings = job_settings()
    return actions.MailContext(mail_domain=settings.mail_domain, base_url=settings.base_url)


def send_reminders(session: Session, mail: actions.MailContext) -> int:
    rules = queries.get_settings(session)
    offsets = sorted({int(m) for m in rules.reminder_minutes or [] if int(m) > 0})
    if not offsets:
        return 0
    now = utcnow()
    soon = queries.due_soon(session, now, max(offsets))
    sent = queries.notices_sent(session, (c.id for c in soon))
    reminded = 0
    for commitment in soon:
        assert commitment.due_at is not None
        left = commitment.due_at - now
        due = [
            m
            for m in offsets
            if left <= timedelta(minutes=m)
            # a window that opened before the promise existed is not a reminder
            and commitment.created_at < commitment.due_at - timedelta(minutes=m)
            and (commitment.id, "reminder", m) not in sent
        ]
        if due:
            actions.do_send_reminder(session, commitment, due, mail)
            reminded += 1
    return reminded


def mark_missed(session: Session, mail: actions.MailContext) -> int:
    now = utcnow()
    broken = 0
    for commitment in queries.missed(session, now):
        if commitment.depends_on_customer and not queries.customer_acted_since(
            session, commitment.case_id, commitment.created_at
        ):
            actions.do_cancel_commitment(
                session, actions.Actor.system("commitments"), commitment, reason=WAITED_ON_CUSTOMER
            )
            continue
        actions.do_mark_broken(session, commitment, mail)
        broken += 1
    return broken


def send_progress_updates(session: Session, mail: actions.MailContext) -> int:
    rules = queries.get_settings(session)
    if not rules.updates_enabled or not rules.update_interval_hours:
        return 0
    interval = float(rules.update_interval_hours)
    now = utcnow()
    working = WorkingTime.of(organisation_or_default(session))
    done = 0
    for candidate in queries.update_candidates(session, now, interval):
        try:
            due_at = working.add_business_hours(candidate.last_contact_at, interval)
            next_at = working.add_business_hours(now, interval)
        except ValueError:  # a calendar with no working hours: nothing is ever due
            return done
        if due_at > now:
            continue
        if actions.do_progress_update(
            session, candidate, due_at=due_at, next_at=next_at, mode=rules.update_mode, mail=mail
        ):
            done += 1
    return done


@job_handler(SCAN)
def scan(session: Session, payload: dict[str, Any]) -> None:
    mail = _mail_context()
    send_reminders(session, mail)
    mark_missed(session, mail)
    send_progress_updates(session, mail)
