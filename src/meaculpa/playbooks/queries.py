"""Reads of the playbooks domain: playbooks, which one a case follows, its checklist, alerts.

Nothing here writes. A case's checklist is computed on every read from its playbook, its
opening time and the organisation's working time; only done steps and sent alerts are rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from babel.dates import format_date as babel_format_date
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_or_default, users_by_id
from meaculpa.cases.models import Case
from meaculpa.cases.queries import get_case, list_cases
from meaculpa.core.audit import Actor
from meaculpa.core.business_time import WorkingTime
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.enums import OPEN_STATUSES, SEVERITY_RANK, ErrorStatus, Severity
from meaculpa.core.exceptions import NotFound
from meaculpa.core.i18n import LANGUAGES, normalise_language, zone
from meaculpa.customers.queries import get_customer
from meaculpa.errors.queries import errors_for_customer
from meaculpa.playbooks.defaults import GENERAL_TYPE, default_steps
from meaculpa.playbooks.models import CaseStep, Playbook, PlaybookRevision, StepAlert
from meaculpa.playbooks.schemas import StepKey

TEMPLATE_VARIABLES = (
    "customer_name",
    "case_reference",
    "error_title",
    "remedy",
    "due_date",
    "agent_name",
    # "We apologised to you proactively on 3 March and offered you a credit of 10 €." when
    # the case's customer was apologised to for an error linked to the case (apologies).
    "proactive_apology",
)
_VARIABLE = re.compile(r"\{([a-z_]{1,40})\}")

StepState = Literal["done", "due", "overdue"]


# --- templates -------------------------------------------------------------------------------


def render_template(text: str, values: Mapping[str, str | None]) -> str:
    """Fill ``{name}`` placeholders from ``values``.

    Only plain ``{name}`` placeholders are touched: no attribute access, indexing or format
    specs, and nothing is evaluated. A variable that is unknown or has no value stays
    visible as ``{name}``, so the agent sees what is still to be filled in.
    """

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None or value == "" else str(value)

    return _VARIABLE.sub(fill, text)


# --- playbooks -------------------------------------------------------------------------------


def get_playbook(session: Session, playbook_id: int) -> Playbook | None:
    return session.get(Playbook, playbook_id)


def access_playbook(session: Session, actor: Actor, playbook_id: int) -> Playbook:
    """Everyone signed in may read playbooks; changing them is checked in the actions."""
    playbook = session.get(Playbook, playbook_id)
    if playbook is None:
        raise NotFound(f"playbook {playbook_id} does not exist")
    return playbook


def list_playbooks(session: Session) -> list[Playbook]:
    return list(session.scalars(select(Playbook).order_by(Playbook.id)))


def count_playbooks(session: Session) -> int:
    return session.scalar(select(func.count(Playbook.id))) or 0


def playbook_for(session: Session, error_type: str, severity: str) -> Playbook | None:
    return session.scalar(
        select(Playbook).where(Playbook.error_type == error_type, Playbook.severity == severity)
    )


def list_revisions(session: Session, playbook_id: int) -> list[PlaybookRevision]:
    return list(
        session.scalars(
            select(PlaybookRevision)
            .where(PlaybookRevision.playbook_id == playbook_id)
            .order_by(PlaybookRevision.version.desc())
        )
    )


# --- which playbook a case follows -----------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPlaybook:
    """The playbook a case follows and why (the error that chose it, if any)."""

    error_type: str
    severity: str
    steps: list[dict[str, Any]]
    playbook_id: int | None = None
    error_id: int | None = None
    error_title: str | None = None


def _higher(a: str, b: str) -> str:
    return a if SEVERITY_RANK[Severity(a)] >= SEVERITY_RANK[Severity(b)] else b


def resolve_playbook(session: Session, case: Case) -> ResolvedPlaybook:
    """The one place that decides which playbook a case follows.

    Cases are not linked to errors yet, so the case's customer decides: when they are
    affected by a recorded error that is not closed, the case follows that error's type
    (the most severe such error, the newest on a tie); otherwise the general playbook
    (type "other"). The severity is the higher of the error's and the case's, so linking an
    error never makes a case slower than its own severity says. A playbook nobody has
    stored yet is read from the shipped defaults.
    """
    candidates = [
        error
        for error, _affected in errors_for_customer(session, case.customer_id)
        if error.status != ErrorStatus.closed.value
    ]
    error = None
    if candidates:
        error = max(candidates, key=lambda e: SEVERITY_RANK[Severity(e.severity)])
    case_severity = case.severity if case.severity in Severity.__members__ else "medium"
    if error is not None:
        error_type, severity = error.type, _higher(error.severity, case_severity)
    else:
        error_type, severity = GENERAL_TYPE.value, case_severity
    row = playbook_for(session, error_type, severity)
    steps = list(row.steps) if row is not None else default_steps(error_type, severity)
    return ResolvedPlaybook(
        error_type=error_type,
        severity=severity,
        steps=steps,
        playbook_id=row.id if row is not None else None,
        error_id=error.id if error is not None else None,
        error_title=error.title if error is not None else None,
    )


# --- a case's checklist ----------------------------------------------------------------------


@dataclass
class ChecklistStep:
    key: str
    position: int
    hours: float
    due_at: datetime
    state: StepState
    templates: dict[str, str]
    done_at: datetime | None = None
    done_by_id: int | None = None
    alerted_at: datetime | None = None

    @property
    def late(self) -> bool:
        return self.done_at is not None and self.done_at > self.due_at


@dataclass
class Checklist:
    case_id: int
    playbook: ResolvedPlaybook
    language: str
    steps: list[ChecklistStep] = field(default_factory=list)

    def step(self, key: str) -> ChecklistStep | None:
        return next((s for s in self.steps if s.key == key), None)

    @property
    def overdue(self) -> list[ChecklistStep]:
        return [s for s in self.steps if s.state == "overdue"]


def working_time(session: Session) -> WorkingTime:
    return WorkingTime.of(organisation_or_default(session))


def due_at(calendar: WorkingTime, opened_at: datetime, hours: float) -> datetime:
    """``hours`` business hours after ``opened_at``; wall-clock hours if the calendar has
    no working hours at all."""
    start = as_utc(opened_at)
    try:
        return calendar.add_business_hours(start, hours)
    except ValueError:
        return start + timedelta(hours=hours)


def case_language(session: Session, case: Case) -> str:
    return (
        normalise_language(case.language)
        or normalise_language(organisation_or_default(session).default_language)
        or LANGUAGES[0]
    )


def done_steps(session: Session, case_ids: list[int]) -> dict[tuple[int, str], CaseStep]:
    if not case_ids:
        return {}
    rows = session.scalars(select(CaseStep).where(CaseStep.case_id.in_(case_ids)))
    return {(r.case_id, r.step): r for r in rows}


def sent_alerts(session: Session, case_ids: list[int]) -> dict[tuple[int, str], StepAlert]:
    if not case_ids:
        return {}
    rows = session.scalars(select(StepAlert).where(StepAlert.case_id.in_(case_ids)))
    return {(r.case_id, r.step): r for r in rows}


def build_checklist(
    case: Case,
    playbook: ResolvedPlaybook,
    calendar: WorkingTime,
    done: Mapping[tuple[int, str], CaseStep],
    alerts: Mapping[tuple[int, str], StepAlert],
    language: str,
    now: datetime,
) -> Checklist:
    checklist = Checklist(case_id=case.id, playbook=playbook, language=language)
    for position, raw in enumerate(playbook.steps, start=1):
        key = str(raw["key"])
        hours = float(raw.get("hours") or 0)
        due = due_at(calendar, case.opened_at, hours)
        row = done.get((case.id, key))
        alert = alerts.get((case.id, key))
        state: StepState = "done" if row is not None else ("overdue" if now > due else "due")
        checklist.steps.append(
            ChecklistStep(
                key=key,
                position=position,
                hours=hours,
                due_at=due,
                state=state,
                templates=dict(raw.get("templates") or {}),
                done_at=as_utc(row.done_at) if row is not None else None,
                done_by_id=row.done_by_id if row is not None else None,
                alerted_at=as_utc(alert.created_at) if alert is not None else None,
            )
        )
    return checklist


def case_checklist(session: Session, case: Case, now: datetime | None = None) -> Checklist:
    """The case's steps with their deadlines and whether each is done, due or overdue."""
    return build_checklist(
        case,
        resolve_playbook(session, case),
        working_time(session),
        done_steps(session, [case.id]),
        sent_alerts(session, [case.id]),
        case_language(session, case),
        now or utcnow(),
    )


def template_values(
    session: Session,
    case: Case,
    checklist: Checklist,
    *,
    agent_name: str | None = None,
) -> dict[str, str | None]:
    """The variables a reply template is filled with, in the case's language.

    ``{remedy}`` stays visible (no remedy is linked to cases here) for the agent to write;
    ``{due_date}`` is the remedy step's deadline, shown as a date in the customer's time zone.
    """
    customer = get_customer(session, case.customer_id)
    if agent_name is None and case.owner_id is not None:
        owner = users_by_id(session, [case.owner_id]).get(case.owner_id)
        agent_name = owner.name if owner is not None else None
    promise = checklist.step(StepKey.remedy.value)
    due_date = None
    if promise is not None:
        tz = zone(customer.timezone if customer is not None else None)
        due_date = babel_format_date(
            promise.due_at.astimezone(tz).date(), "long", locale=checklist.language
        )
    from meaculpa.apologies.queries import apology_sentence_for_case

    apology, offered = apology_sentence_for_case(
        session,
        case.id,
        checklist.language,
        customer.timezone if customer is not None else None,
    )
    return {
        "customer_name": customer.name if customer is not None else None,
        "case_reference": case.reference,
        "error_title": checklist.playbook.error_title or case.subject or None,
        "remedy": offered,
        "due_date": due_date,
        "agent_name": agent_name,
        "proactive_apology": apology,
    }


def rendered_step_text(
    session: Session,
    case: Case,
    step_key: str,
    *,
    agent_name: str | None = None,
    language: str | None = None,
) -> str:
    """A step's reply template for this case, filled in, in the case's language."""
    checklist = case_checklist(session, case)
    step = checklist.step(step_key)
    if step is None:
        raise NotFound(f"the playbook of case {case.reference} has no step {step_key!r}")
    lang = normalise_language(language) or checklist.language
    text = step.templates.get(lang) or next(iter(step.templates.values()), "")
    return render_template(text, template_values(session, case, checklist, agent_name=agent_name))


# --- alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    alert: StepAlert
    case: Case
    pending: bool  # the step is still not done and the case still open


def list_alerts_for_user(
    session: Session, user_id: int, *, pending_only: bool = True, limit: int = 200
) -> list[AlertRow]:
    """The overdue steps this user was alerted about, newest first."""
    alerts = list(
        session.scalars(
            select(StepAlert)
            .where(StepAlert.user_id == user_id)
            .order_by(StepAlert.created_at.desc(), StepAlert.id.desc())
            .limit(limit)
        )
    )
    cases = {a.case_id: get_case(session, a.case_id) for a in alerts}
    done = done_steps(session, sorted(cases))
    result = []
    for alert in alerts:
        case = cases[alert.case_id]
        if case is None:
            continue
        pending = (case.id, alert.step) not in done and case.status in OPEN_STATUSES
        if pending or not pending_only:
            result.append(AlertRow(alert=alert, case=case, pending=pending))
    return result


def open_cases_batch(
    session: Session, *, before_id: int | None = None, limit: int = 500
) -> tuple[list[Case], int | None]:
    """A batch of open cases, newest first, and the ``before_id`` of the next batch (None at
    the end): the overdue scan reads every open case this way."""
    rows = list_cases(session, after_id=before_id, limit=limit, open_only=True)
    batch = rows[:limit]
    return batch, (batch[-1].id if len(rows) > limit else None)
