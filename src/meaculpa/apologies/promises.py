"""The promised resolution date of an apology as a promise to each customer it reached.

Every apology queued while the campaign's ``promised_by`` is still ahead carries it
(``promise_due_at``, ``promise_state = 'pending'``), set in the same ``INSERT ... SELECT``
that queues it. No case is opened per customer: the promises are settled set-based, one
``UPDATE`` per error and outcome, by the periodic ``apologies.promises`` job:

- **kept**: the error reached ``fixed`` or ``closed`` on or before the date (the last
  change of status into one of them, from the audit trail) and an update about the error
  was sent to that customer (an update posted on or before the date that told them);
- **broken**: the date passed first; an apology that never reached the customer before the
  date (bounced, still queued) carried no promise and loses it (its state goes back to none).

The error's reporter and the managers are reminded once, 24 hours before the date, while
promises are pending, and alerted once when promises are broken (each in their language).
A customer who writes in also gets a commitment on their case (``_promise_on_case``); the
figures count that one under the case, and the apology promise of that customer is
still counted here: see :func:`promise_counts` for what is counted where.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.accounts.queries import organisation_or_default
from meaculpa.apologies.models import Apology, ApologyCampaign, ErrorPost, PostNotice
from meaculpa.core.audit import Actor, AuditEvent, jsonable, record
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.i18n import format_datetime, gettext_for
from meaculpa.errors.models import Error
from meaculpa.notifications.actions import do_email_user

RESOLVED = ("fixed", "closed")
REMIND_BEFORE = timedelta(hours=24)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def resolved_at(session: Session, error: Error) -> datetime | None:
    """When the error last became fixed or closed (None while it is not)."""
    if error.status not in RESOLVED:
        return None
    last: datetime | None = None
    for at, before, after in session.execute(
        select(AuditEvent.at, AuditEvent.before, AuditEvent.after)
        .where(
            AuditEvent.object_type == "error",
            AuditEvent.object_id == str(error.id),
            AuditEvent.verb == "error.update",
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ):
        if (after or {}).get("status") in RESOLVED and (before or {}).get("status") not in RESOLVED:
            last = as_utc(at)
    return last or as_utc(error.updated_at)


@dataclass(frozen=True)
class Settled:
    kept: int
    broken: int
    voided: int


def settle(session: Session, error_id: int, now: datetime | None = None) -> Settled:
    """Settle the pending promises of one error, set-based; audit the counts once."""
    now = now or utcnow()
    error = session.get(Error, error_id)
    if error is None:
        return Settled(0, 0, 0)
    pending = [Apology.error_id == error_id, Apology.promise_state == "pending"]
    # The promise reached the customer: the apology was sent and did not bounce.
    reached = [Apology.sent_at.is_not(None), Apology.state != "bounced"]
    kept = broken = voided = 0
    campaign = session.scalar(select(ApologyCampaign).where(ApologyCampaign.error_id == error_id))
    # Every promise of an error has the campaign's date (it cannot change once sent): the
    # million-row updates below run only when they can change something.
    due = as_utc(campaign.promised_by) if campaign and campaign.promised_by else None
    resolved = resolved_at(session, error)
    if resolved is not None and (due is None or resolved <= due):
        told = (
            select(PostNotice.id)
            .join(ErrorPost, ErrorPost.id == PostNotice.post_id)
            .where(
                ErrorPost.error_id == error_id,
                PostNotice.customer_id == Apology.customer_id,
                PostNotice.email_id.is_not(None),
                ErrorPost.created_at <= Apology.promise_due_at,
            )
        )
        kept = _rowcount(
            session.execute(
                update(Apology)
                .where(
                    *pending,
                    *reached,
                    Apology.promise_due_at >= resolved,
                    exists(told),
                )
                .values(promise_state="kept")
                .execution_options(synchronize_session=False)
            )
        )
    if due is None or due < now:
        passed = [*pending, Apology.promise_due_at < now]
        broken = _rowcount(
            session.execute(
                update(Apology)
                .where(*passed, *reached)
                .values(promise_state="broken")
                .execution_options(synchronize_session=False)
            )
        )
        voided = _rowcount(
            session.execute(
                update(Apology)
                .where(*passed, ~and_(*reached))
                .values(promise_state=None)
                .execution_options(synchronize_session=False)
            )
        )
    if kept or broken or voided:
        record(
            session,
            Actor.system("apologies"),
            "apology.promise.settle",
            "error",
            error_id,
            after={
                "kept": kept,
                "broken": broken,
                "not_delivered": voided,
                "resolved_at": jsonable(resolved),
            },
        )
    return Settled(kept, broken, voided)


def promise_counts(session: Session, error_id: int) -> dict[str, int]:
    """Promises per state. Every customer an apology with a date reached counts once here;
    customers who wrote in also have a commitment on their case, which the case-based
    figures (analytics) count: ``on_cases`` says how many of these also have one."""
    counts = {
        state: int(n)
        for state, n in session.execute(
            select(Apology.promise_state, func.count(Apology.id))
            .where(Apology.error_id == error_id, Apology.promise_state.is_not(None))
            .group_by(Apology.promise_state)
        )
    }
    on_cases = (
        session.scalar(
            select(func.count(Apology.id)).where(
                Apology.error_id == error_id,
                Apology.promise_state.is_not(None),
                Apology.case_id.is_not(None),
            )
        )
        or 0
    )
    return {
        "pending": counts.get("pending", 0),
        "kept": counts.get("kept", 0),
        "broken": counts.get("broken", 0),
        "on_cases": int(on_cases),
    }


# --- reminders and alerts -----------------------------------------------------------------------


def _recipients(session: Session, error: Error) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.is_active.is_(True),
                (User.role.in_(("manager", "admin"))) | (User.id == error.reported_by_id),
            )
            .order_by(User.id)
        )
    )


def _mail(
    session: Session,
    error: Error,
    campaign: ApologyCampaign,
    *,
    kind: str,
    count: int,
    base_url: str,
    mail_domain: str,
) -> int:
    org = organisation_or_default(session)
    link = f"{base_url.rstrip('/')}/errors/{error.id}#apology"
    actor = Actor.system("apologies")
    sent = 0
    for user in _recipients(session, error):
        _ = gettext_for(user.language)
        due = format_datetime(campaign.promised_by, user.language, org.timezone)
        if kind == "reminder":
            subject = _("Promise due soon: %(title)s (E-%(id)s)", title=error.title, id=error.id)
            body = _(
                "The resolution of this error was promised to %(num)s customers by %(due)s and "
                "is still pending. Resolve the error and post an update to the customers before "
                "then, or the promise to each of them is broken.",
                num=count,
                due=due,
            )
        else:
            subject = _("Promise broken: %(title)s (E-%(id)s)", title=error.title, id=error.id)
            body = _(
                "The resolution of this error was promised to %(num)s customers by %(due)s "
                "and the date passed before it was resolved and they were told. Write to them "
                "now: apologise for the delay and give them a date you can keep.",
                num=count,
                due=due,
            )
        text = "\n".join([_("Hello %(name)s,", name=user.name), "", body, "", link]) + "\n"
        do_email_user(
            session, actor, user, subject=subject, text=text, kind=kind, mail_domain=mail_domain
        )
        sent += 1
    return sent


def remind_and_alert(
    session: Session, error_id: int, *, base_url: str, mail_domain: str, now: datetime | None = None
) -> tuple[bool, bool]:
    """Remind (once, within 24 h of the date) and alert (once, promises broken);
    returns (reminded, alerted)."""
    now = now or utcnow()
    campaign = session.scalar(select(ApologyCampaign).where(ApologyCampaign.error_id == error_id))
    error = session.get(Error, error_id)
    if campaign is None or error is None or campaign.promised_by is None:
        return False, False
    due = as_utc(campaign.promised_by)
    remind = campaign.promise_reminded_at is None and due - REMIND_BEFORE <= now < due
    alert = campaign.promise_alerted_at is None and now > due
    if not (remind or alert):
        return False, False
    counts = promise_counts(session, error_id)
    reminded = alerted = False
    if remind and counts["pending"]:
        campaign.promise_reminded_at = now
        n = _mail(
            session,
            error,
            campaign,
            kind="reminder",
            count=counts["pending"],
            base_url=base_url,
            mail_domain=mail_domain,
        )
        record(
            session,
            Actor.system("apologies"),
            "apology.promise.remind",
            "error",
            error_id,
            after={"pending": counts["pending"], "recipients": n},
        )
        reminded = True
    if alert and counts["broken"]:
        campaign.promise_alerted_at = now
        n = _mail(
            session,
            error,
            campaign,
            kind="alert",
            count=counts["broken"],
            base_url=base_url,
            mail_domain=mail_domain,
        )
        record(
            session,
            Actor.system("apologies"),
            "apology.promise.alert",
            "error",
            error_id,
            after={"broken": counts["broken"], "recipients": n},
        )
        alerted = True
    session.flush()
    return reminded, alerted


def scan(session: Session, *, base_url: str, mail_domain: str) -> int:
    """Settle, remind and alert for every error with pending promises; returns how many."""
    now = utcnow()
    error_ids = list(
        session.scalars(
            select(ApologyCampaign.error_id)
            .where(
                ApologyCampaign.promised_by.is_not(None),
                exists().where(
                    Apology.promise_state == "pending",
                    Apology.error_id == ApologyCampaign.error_id,
                ),
            )
            .order_by(ApologyCampaign.error_id)
        )
    )
    for error_id in error_ids:
        settle(session, error_id, now)
        remind_and_alert(session, error_id, base_url=base_url, mail_domain=mail_domain, now=now)
    return len(error_ids)
