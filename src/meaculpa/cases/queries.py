from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.cases.models import Case, CaseTask
from meaculpa.core.audit import Actor
from meaculpa.core.enums import OPEN_STATUSES, SEVERITY_RANK, Severity
from meaculpa.core.exceptions import NotFound
from meaculpa.customers.models import Customer
from meaculpa.insights.models import CaseInsight


def get_case(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def access_case(session: Session, actor: Actor, case_id: int) -> Case:
    """Any signed-in user may read a case; writing is checked in the actions."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    return case


def open_case_for_customer(session: Session, customer_id: int) -> Case | None:
    return session.scalar(
        select(Case)
        .where(Case.customer_id == customer_id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id.desc())
        .limit(1)
    )


def cases_query(
    *,
    status: list[str] | None = None,
    open_only: bool = False,
    owner_id: int | None = None,
    customer_id: int | None = None,
    channel: str | None = None,
    severity: str | None = None,
) -> Select[Case]:
    stmt = select(Case)
    if status:
        stmt = stmt.where(Case.status.in_(status))
    if open_only:
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    if owner_id is not None:
        stmt = stmt.where(Case.owner_id == owner_id)
    if customer_id is not None:
        stmt = stmt.where(Case.customer_id == customer_id)
    if channel:
        stmt = stmt.where(Case.channel == channel)
    if severity:
        stmt = stmt.where(Case.severity == severity)
    return stmt


def list_cases(
    session: Session, *, after_id: int | None = None, limit: int = 50, **filters: object
) -> list[Case]:
    stmt = cases_query(**filters)  # type: ignore[arg-type]
    if after_id is not None:
        stmt = stmt.where(Case.id < after_id)
    return list(session.scalars(stmt.order_by(Case.id.desc()).limit(limit + 1)))


@dataclass(frozen=True)
class InboxRow:
    id: int
    reference: str
    subject: str
    status: str
    severity: str
    channel: str
    language: str
    opened_at: datetime
    last_message_at: datetime
    message_count: int
    customer_id: int
    customer_name: str
    owner_id: int | None
    owner_name: str | None
    # From the latest inbound analysis (meaculpa.insights); None until it ran.
    sentiment: str | None = None
    negative_probability: float | None = None
    anger_score: float | None = None
    escalation: bool = False
    escalation_kinds: tuple[str, ...] = ()
    escalation_triggers: tuple[str, ...] = ()
    urgency: str | None = None
    # Playbook steps past their deadline, the owner alerted, and still not done.
    overdue_steps: int = 0

    @property
    def angry(self) -> bool:
        return self.anger_score is not None and self.anger_score >= 0.5

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK[Severity(self.severity)]


INBOX_SORTS: dict[str, tuple[Any, ...]] = {
    "oldest": (Case.opened_at.asc(), Case.id.asc()),
    "newest": (Case.opened_at.desc(), Case.id.desc()),
    "activity": (Case.last_message_at.desc(), Case.id.desc()),
    # Most angry / most negative first; cases not analysed yet go last.
    "anger": (CaseInsight.anger_score.desc().nulls_last(), Case.id.asc()),
    "negative": (CaseInsight.negative_probability.desc().nulls_last(), Case.id.asc()),
}


def _overdue_steps() -> Any:
    """A correlated count of the case's alerted, still undone playbook steps."""
    from meaculpa.playbooks.models import CaseStep, StepAlert  # playbooks depend on cases

    done = select(CaseStep.id).where(
        CaseStep.case_id == StepAlert.case_id, CaseStep.step == StepAlert.step
    )
    return (
        select(func.count(StepAlert.id))
        .where(StepAlert.case_id == Case.id, ~done.exists())
        .correlate(Case)
        .scalar_subquery()
    )


def inbox_page(
    session: Session,
    *,
    owner_id: int | None = None,
    mine_or_unassigned_for: int | None = None,
    channel: str | None = None,
    severity: str | None = None,
    sort: str = "oldest",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[InboxRow], int | None]:
    """One page of open cases with the customer's and owner's names, in one query."""
    stmt = (
        select(
            Case.id,
            Case.subject,
            Case.status,
            Case.severity,
            Case.channel,
            Case.language,
            Case.opened_at,
            Case.last_message_at,
            Case.message_count,
            Case.customer_id,
            Customer.name,
            Case.owner_id,
            User.name,
            CaseInsight.sentiment,
            CaseInsight.negative_probability,
            CaseInsight.anger_score,
            CaseInsight.escalation,
            CaseInsight.escalation_kinds,
            CaseInsight.escalation_triggers,
            CaseInsight.urgency,
            _overdue_steps(),
        )
        .join(Customer, Customer.id == Case.customer_id)
        .outerjoin(User, User.id == Case.owner_id)
        .outerjoin(CaseInsight, CaseInsight.case_id == Case.id)
        .where(Case.status.in_(OPEN_STATUSES))
    )
    if owner_id is not None:
        stmt = stmt.where(Case.owner_id == owner_id)
    if mine_or_unassigned_for is not None:
        stmt = stmt.where((Case.owner_id == mine_or_unassigned_for) | Case.owner_id.is_(None))
    if channel:
        stmt = stmt.where(Case.channel == channel)
    if severity:
        stmt = stmt.where(Case.severity == severity)
    page = max(page, 1)
    stmt = stmt.order_by(*INBOX_SORTS.get(sort, INBOX_SORTS["oldest"]))
    stmt = stmt.limit(per_page + 1).offset((page - 1) * per_page)
    rows = [
        InboxRow(
            id=r[0],
            reference=f"MC-{r[0]}",
            subject=r[1],
            status=r[2],
            severity=r[3],
            channel=r[4],
            language=r[5],
            opened_at=r[6],
            last_message_at=r[7],
            message_count=r[8],
            customer_id=r[9],
            customer_name=r[10],
            owner_id=r[11],
            owner_name=r[12],
            sentiment=r[13],
            negative_probability=r[14],
            anger_score=r[15],
            escalation=bool(r[16]),
            escalation_kinds=tuple(r[17] or ()),
            escalation_triggers=tuple(r[18] or ()),
            urgency=r[19],
            overdue_steps=int(r[20] or 0),
        )
        for r in session.execute(stmt)
    ]
    next_page = page + 1 if len(rows) > per_page else None
    return rows[:per_page], next_page


def list_tasks(session: Session, case_id: int) -> list[CaseTask]:
    return list(
        session.scalars(select(CaseTask).where(CaseTask.case_id == case_id).order_by(CaseTask.id))
    )


def access_task(session: Session, actor: Actor, task_id: int) -> CaseTask:
    task = session.get(CaseTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task
