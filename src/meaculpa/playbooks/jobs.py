"""Background jobs of the playbooks domain: the periodic scan for overdue steps."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_or_default, users_by_id
from meaculpa.core.audit import Actor
from meaculpa.core.business_time import WorkingTime
from meaculpa.core.clock import utcnow
from meaculpa.core.exceptions import ProblemError
from meaculpa.core.i18n import LANGUAGES, normalise_language
from meaculpa.jobs.registry import job_handler, job_settings
from meaculpa.jobs.schedule import PERIODIC
from meaculpa.playbooks.actions import AlertContext, do_alert_overdue
from meaculpa.playbooks.defaults import all_defaults
from meaculpa.playbooks.queries import (
    build_checklist,
    done_steps,
    due_at,
    list_playbooks,
    open_cases_batch,
    resolve_playbook,
    sent_alerts,
)
from meaculpa.playbooks.schemas import StepKey

log = logging.getLogger("meaculpa.playbooks")

SCAN_KIND = "playbooks.scan_overdue"
PERIODIC[SCAN_KIND] = timedelta(minutes=5)
BATCH = 500


def _earliest_hours(session: Session) -> float:
    """The shortest deadline any playbook has: a case younger than that has nothing due."""
    hours = [float(s["hours"]) for _t, _s, steps in all_defaults() for s in steps]
    hours += [float(s.get("hours") or 0) for p in list_playbooks(session) for s in p.steps]
    return min(hours, default=0.0)


@job_handler(SCAN_KIND)
def scan_overdue_job(session: Session, payload: dict[str, Any]) -> None:
    scan_overdue(session)


def scan_overdue(session: Session) -> int:
    """Alert the owners of open cases about steps past their deadline, once per (case, step).

    Returns how many steps were alerted. Each case's alert runs in a savepoint, so a case
    another worker alerted at the same moment (the unique constraint) or an owner without
    a usable address does not undo the others.
    """
    settings = job_settings()
    org = organisation_or_default(session)
    calendar = WorkingTime.of(org)
    ctx = AlertContext(settings.mail_domain, settings.base_url, org.timezone)
    default_language = normalise_language(org.default_language) or LANGUAGES[0]
    actor = Actor.system("playbooks")
    now = utcnow()
    earliest = _earliest_hours(session)
    alerted = 0
    before: int | None = None
    while True:
        cases, before = open_cases_batch(session, before_id=before, limit=BATCH)
        owned = [
            c
            for c in cases
            if c.owner_id is not None and due_at(calendar, c.opened_at, earliest) < now
        ]
        ids = [c.id for c in owned]
        done = done_steps(session, ids)
        alerts = sent_alerts(session, ids)
        owners = users_by_id(session, {c.owner_id for c in owned if c.owner_id is not None})
        settled: dict[int, set[str]] = {}
        for case_id, step in (*done, *alerts):
            settled.setdefault(case_id, set()).add(step)
        for case in owned:
            owner = owners.get(case.owner_id) if case.owner_id is not None else None
            if owner is None or not owner.is_active:
                continue
            if len(settled.get(case.id, ())) >= len(StepKey):
                continue
            checklist = build_checklist(
                case,
                resolve_playbook(session, case),
                calendar,
                done,
                alerts,
                normalise_language(case.language) or default_language,
                now,
            )
            fresh = [s for s in checklist.overdue if s.alerted_at is None]
            if not fresh:
                continue
            try:
                with session.begin_nested():
                    alerted += len(do_alert_overdue(session, actor, case, owner, fresh, ctx))
            except IntegrityError:
                continue  # another worker alerted this case first
            except ProblemError as exc:
                log.warning("overdue alert for case %s not sent: %s", case.id, exc.detail)
        if before is None:
            break
    return alerted
