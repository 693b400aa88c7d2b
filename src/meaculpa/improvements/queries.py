"""Reads of the improvements domain (and what the management review reads of it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.core.exceptions import NotFound
from meaculpa.improvements.models import (
    OPEN_STATUSES,
    ActionError,
    ActionEvaluation,
    ActionNotice,
    ActionProblem,
    CustomerNotice,
    ImprovementAction,
)
from meaculpa.improvements.schemas import ActionRead, EvaluationRead


def get_action(session: Session, action_id: int) -> ImprovementAction | None:
    return session.get(ImprovementAction, action_id)


def access_action(session: Session, actor: Actor, action_id: int) -> ImprovementAction:
    """Any signed-in user may read an action; changes are checked in the actions."""
    action = session.get(ImprovementAction, action_id)
    if action is None:
        raise NotFound(f"improvement action {action_id} does not exist")
    return action


def list_actions(
    session: Session,
    *,
    status: str | None = None,
    owner_id: int | None = None,
    problem_id: int | None = None,
    error_id: int | None = None,
    overdue: bool = False,
    after_id: int | None = None,
    limit: int = 50,
) -> list[ImprovementAction]:
    """Actions, newest first (``limit + 1`` rows, for keyset paging)."""
    stmt = select(ImprovementAction)
    if status:
        stmt = stmt.where(ImprovementAction.status == status)
    if owner_id is not None:
        stmt = stmt.where(ImprovementAction.owner_id == owner_id)
    if problem_id is not None:
        stmt = stmt.where(
            ImprovementAction.id.in_(
                select(ActionProblem.action_id).where(ActionProblem.problem_id == problem_id)
            )
        )
    if error_id is not None:
        stmt = stmt.where(
            ImprovementAction.id.in_(
                select(ActionError.action_id).where(ActionError.error_id == error_id)
            )
        )
    if overdue:
        stmt = stmt.where(
            ImprovementAction.status.in_(OPEN_STATUSES), ImprovementAction.due_at <= utcnow()
        )
    if after_id is not None:
        stmt = stmt.where(ImprovementAction.id < after_id)
    return list(session.scalars(stmt.order_by(ImprovementAction.id.desc()).limit(limit + 1)))


def problem_ids_of(session: Session, action_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = sorted(set(action_ids))
    out: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(
            select(ActionProblem.action_id, ActionProblem.problem_id)
            .where(ActionProblem.action_id.in_(ids))
            .order_by(ActionProblem.problem_id)
        )
        for action_id, problem_id in rows:
            out[action_id].append(problem_id)
    return out


def error_ids_of(session: Session, action_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = sorted(set(action_ids))
    out: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(
            select(ActionError.action_id, ActionError.error_id)
            .where(ActionError.action_id.in_(ids))
            .order_by(ActionError.error_id)
        )
        for action_id, error_id in rows:
            out[action_id].append(error_id)
    return out


def evaluations_of(
    session: Session, action_ids: Iterable[int]
) -> dict[int, list[ActionEvaluation]]:
    ids = sorted(set(action_ids))
    out: dict[int, list[ActionEvaluation]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(
            select(ActionEvaluation)
            .where(ActionEvaluation.action_id.in_(ids))
            .order_by(ActionEvaluation.problem_id)
        ):
            out[row.action_id].append(row)
    return out


def customers_told_of(session: Session, action_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(set(action_ids))
    out = dict.fromkeys(ids, 0)
    if ids:
        rows = session.execute(
            select(CustomerNotice.action_id, func.count(CustomerNotice.id))
            .where(CustomerNotice.action_id.in_(ids), CustomerNotice.outcome == "sent")
            .group_by(CustomerNotice.action_id)
        )
        for action_id, n in rows:
            out[action_id] = int(n)
    return out


def customer_notices_of(
    session: Session, action_id: int, limit: int = 1000
) -> list[CustomerNotice]:
    return list(
        session.scalars(
            select(CustomerNotice)
            .where(CustomerNotice.action_id == action_id)
            .order_by(CustomerNotice.id)
            .limit(limit)
        )
    )


def told_customer_ids(session: Session, action_id: int) -> set[int]:
    return set(
        session.scalars(
            select(CustomerNotice.customer_id).where(CustomerNotice.action_id == action_id)
        )
    )


def to_reads(
    session: Session, rows: Sequence[ImprovementAction], now: datetime | None = None
) -> list[ActionRead]:
    now = now or utcnow()
    ids = [a.id for a in rows]
    problems = problem_ids_of(session, ids)
    errors = error_ids_of(session, ids)
    evaluations = evaluations_of(session, ids)
    told = customers_told_of(session, ids)
    out = []
    for action in rows:
        read = ActionRead.model_validate(action)
        read.overdue = action.is_overdue(now)
        read.problem_ids = problems.get(action.id, [])
        read.error_ids = errors.get(action.id, [])
        read.evaluations = [
            EvaluationRead.model_validate(e) for e in evaluations.get(action.id, [])
        ]
        read.customers_told = told.get(action.id, 0)
        out.append(read)
    return out


def actions_for_problem(session: Session, problem_id: int) -> list[ImprovementAction]:
    return list(
        session.scalars(
            select(ImprovementAction)
            .join(ActionProblem, ActionProblem.action_id == ImprovementAction.id)
            .where(ActionProblem.problem_id == problem_id)
            .order_by(ImprovementAction.id.desc())
        )
    )


def actions_for_error(session: Session, error_id: int) -> list[ImprovementAction]:
    return list(
        session.scalars(
            select(ImprovementAction)
            .join(ActionError, ActionError.action_id == ImprovementAction.id)
            .where(ActionError.error_id == error_id)
            .order_by(ImprovementAction.id.desc())
        )
    )


# --- the exposure: how many cases were opened ------------------------------------------------


def cases_opened(session: Session, start: datetime, end: datetime) -> int:
    """Cases opened in ``[start, end)``: the customer volume a problem's reports are set
    against (a rate per 1,000 cases)."""
    return int(
        session.scalar(
            select(func.count(Case.id)).where(Case.opened_at >= start, Case.opened_at < end)
        )
        or 0
    )


# --- the scan --------------------------------------------------------------------------------


def due_within(session: Session, now: datetime, hours: int) -> list[ImprovementAction]:
    """Open actions due in the next ``hours`` (not yet overdue)."""
    return list(
        session.scalars(
            select(ImprovementAction)
            .where(
                ImprovementAction.status.in_(OPEN_STATUSES),
                ImprovementAction.due_at > now,
                ImprovementAction.due_at <= now + timedelta(hours=hours),
            )
            .order_by(ImprovementAction.due_at)
        )
    )


def overdue_actions(session: Session, now: datetime) -> list[ImprovementAction]:
    return list(
        session.scalars(
            select(ImprovementAction)
            .where(
                ImprovementAction.status.in_(OPEN_STATUSES),
                ImprovementAction.due_at <= now,
            )
            .order_by(ImprovementAction.due_at)
        )
    )


def notices_sent(session: Session, action_ids: Iterable[int]) -> set[tuple[int, str, int]]:
    ids = sorted(set(action_ids))
    if not ids:
        return set()
    rows = session.execute(
        select(ActionNotice.action_id, ActionNotice.kind, ActionNotice.hours_before).where(
            ActionNotice.action_id.in_(ids)
        )
    )
    return {(a, k, h) for a, k, h in rows}


def notices_of(session: Session, action_id: int) -> list[ActionNotice]:
    return list(
        session.scalars(
            select(ActionNotice)
            .where(ActionNotice.action_id == action_id)
            .order_by(ActionNotice.id)
        )
    )


def unfinished_evaluations(session: Session, limit: int = 500) -> list[ImprovementAction]:
    """Done actions whose verdict is not final yet (the periodic job re-evaluates them)."""
    return list(
        session.scalars(
            select(ImprovementAction)
            .where(
                ImprovementAction.status == "done", ImprovementAction.evaluation_final.is_(False)
            )
            .order_by(ImprovementAction.done_at)
            .limit(limit)
        )
    )


# --- for the management review ---------------------------------------------------------------


@dataclass(frozen=True)
class ActionSummary:
    id: int
    title: str
    purpose: str
    kind: str
    status: str
    owner_id: int | None
    owner_name: str | None
    due_at: datetime | None
    done_at: datetime | None
    overdue: bool
    verdict: str | None
    before_rate: float | None
    after_rate: float | None
    p_value: float | None
    problem_ids: list[int] = field(default_factory=list)
    error_ids: list[int] = field(default_factory=list)
    customers_told: int = 0


def _headline(evaluations: list[ActionEvaluation]) -> ActionEvaluation | None:
    """The evaluation shown for an action with several problems: the least convincing one
    (highest p-value), so a summary never overstates the effect."""
    scored = [e for e in evaluations if e.p_value is not None]
    if scored:
        return max(scored, key=lambda e: e.p_value or 0.0)
    return evaluations[0] if evaluations else None


def list_actions_with_effectiveness(
    session: Session, start: datetime, end: datetime
) -> list[ActionSummary]:
    """Actions done in ``[start, end)`` and actions still open at ``end`` (created before it):
    done ones first (newest first), then open ones by due date."""
    done = list(
        session.scalars(
            select(ImprovementAction)
            .where(
                ImprovementAction.status == "done",
                ImprovementAction.done_at >= start,
                ImprovementAction.done_at < end,
            )
            .order_by(ImprovementAction.done_at.desc(), ImprovementAction.id.desc())
        )
    )
    still_open = list(
        session.scalars(
            select(ImprovementAction)
            .where(
                ImprovementAction.created_at < end,
                or_(
                    ImprovementAction.status.in_(OPEN_STATUSES),
                    ImprovementAction.done_at >= end,
                    ImprovementAction.cancelled_at >= end,
                ),
            )
            .order_by(ImprovementAction.due_at.is_(None), ImprovementAction.due_at)
        )
    )
    rows = [*done, *(a for a in still_open if a not in done)]
    ids = [a.id for a in rows]
    problems = problem_ids_of(session, ids)
    errors = error_ids_of(session, ids)
    evaluations = evaluations_of(session, ids)
    told = customers_told_of(session, ids)
    owner_ids = {a.owner_id for a in rows if a.owner_id is not None}
    names = (
        dict(session.execute(select(User.id, User.name).where(User.id.in_(owner_ids))).all())
        if owner_ids
        else {}
    )
    out = []
    for a in rows:
        head = _headline(evaluations.get(a.id, []))
        out.append(
            ActionSummary(
                id=a.id,
                title=a.title,
                purpose=a.purpose,
                kind=a.kind,
                status=a.status,
                owner_id=a.owner_id,
                owner_name=names.get(a.owner_id) if a.owner_id else None,
                due_at=a.due_at,
                done_at=a.done_at,
                overdue=a.due_at is not None and a.due_at <= end and a.status in OPEN_STATUSES,
                verdict=a.verdict,
                before_rate=head.before_rate if head else None,
                after_rate=head.after_rate if head else None,
                p_value=head.p_value if head else None,
                problem_ids=problems.get(a.id, []),
                error_ids=errors.get(a.id, []),
                customers_told=told.get(a.id, 0),
            )
        )
    return out


def effectiveness_counts(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """How many actions done in ``[start, end)`` were effective, not effective, and so on."""
    counts = {"effective": 0, "not_effective": 0, "not_enough_data": 0, "pending": 0}
    rows = session.execute(
        select(ImprovementAction.verdict, func.count(ImprovementAction.id))
        .where(
            ImprovementAction.status == "done",
            ImprovementAction.done_at >= start,
            ImprovementAction.done_at < end,
        )
        .group_by(ImprovementAction.verdict)
    )
    for verdict, n in rows:
        counts[verdict or "pending"] = counts.get(verdict or "pending", 0) + int(n)
    return counts
