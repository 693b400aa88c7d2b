"""The monthly management review: top problems, improvement actions and whether they worked,
recovery figures; read-only, for the review page, its JSON and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.analytics.recovery import GroupFigures, figures
from meaculpa.improvements.queries import (
    ActionSummary,
    effectiveness_counts,
    list_actions_with_effectiveness,
)
from meaculpa.problems import queries
from meaculpa.problems.models import Problem, ProblemReport

TOP = 10


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The first instant of ``month`` and of the month after (UTC)."""
    first = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    return first, nxt


def previous_month(month: date) -> date:
    return (date(month.year, month.month, 1) - timedelta(days=1)).replace(day=1)


def parse_month(value: str | None, today: date) -> date:
    """``YYYY-MM``; without one, the last complete month."""
    if not value:
        return previous_month(today)
    year, _, mon = value.partition("-")
    if not (year.isdigit() and mon.isdigit() and len(year) == 4 and len(mon) == 2):
        raise ValueError("a month is written YYYY-MM")
    parsed = date(int(year), int(mon), 1)
    if parsed.year < 2000:
        raise ValueError("a month from 2000 on")
    return parsed


@dataclass(frozen=True)
class ProblemLine:
    id: int
    label: str
    count: int
    previous: int
    customers: int
    languages: dict[str, int]
    root_cause: str | None
    error_ids: list[int]

    @property
    def change(self) -> float | None:
        return None if self.previous == 0 else (self.count - self.previous) / self.previous


@dataclass
class Review:
    month: date
    start: datetime
    end: datetime
    reports: int
    reports_previous: int
    new_problems: int
    top: list[ProblemLine]
    weekly: list[tuple[date, int]]
    recovery: GroupFigures | None
    recovery_previous: GroupFigures | None
    actions: list[ActionSummary] = field(default_factory=list)
    effectiveness: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.strftime("%Y-%m"),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "reports": self.reports,
            "reports_previous": self.reports_previous,
            "new_problems": self.new_problems,
            "top_problems": [{**line.__dict__, "change": line.change} for line in self.top],
            "weekly_reports": [{"week_start": w.isoformat(), "count": n} for w, n in self.weekly],
            "recovery": self.recovery.to_dict() if self.recovery else None,
            "recovery_previous": (
                self.recovery_previous.to_dict() if self.recovery_previous else None
            ),
            "actions": [
                {
                    **{k: v for k, v in a.__dict__.items() if k not in ("due_at", "done_at")},
                    "due_at": a.due_at.isoformat() if a.due_at else None,
                    "done_at": a.done_at.isoformat() if a.done_at else None,
                }
                for a in self.actions
            ],
            "effectiveness": self.effectiveness,
        }


def _counts(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    rows = session.execute(
        select(ProblemReport.problem_id, func.count(ProblemReport.id))
        .where(ProblemReport.reported_at >= start, ProblemReport.reported_at < end)
        .group_by(ProblemReport.problem_id)
    )
    return {int(pid): int(n) for pid, n in rows}


def _one(groups: list[GroupFigures]) -> GroupFigures | None:
    return groups[0] if groups else None


def build_review(session: Session, month: date) -> Review:
    start, end = month_bounds(month)
    prev_start, prev_end = month_bounds(previous_month(month))
    now_counts = _counts(session, start, end)
    prev_counts = _counts(session, prev_start, prev_end)
    ranked = sorted(now_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    top = []
    for pid, n in ranked:
        problem = session.get(Problem, pid)
        if problem is None:
            continue
        cause = queries.get_root_cause(session, problem_id=pid)
        customers = int(
            session.scalar(
                select(func.count(func.distinct(ProblemReport.customer_id))).where(
                    ProblemReport.problem_id == pid,
                    ProblemReport.reported_at >= start,
                    ProblemReport.reported_at < end,
                )
            )
            or 0
        )
        top.append(
            ProblemLine(
                id=pid,
                label=problem.label,
                count=n,
                previous=prev_counts.get(pid, 0),
                customers=customers,
                languages=queries.language_mix(session, pid),
                root_cause=cause.category if cause else None,
                error_ids=queries.linked_error_ids(session, pid),
            )
        )
    new_problems = int(
        session.scalar(
            select(func.count(Problem.id)).where(
                Problem.first_reported_at >= start, Problem.first_reported_at < end
            )
        )
        or 0
    )
    weekly: dict[date, int] = {}
    for (at,) in session.execute(
        select(ProblemReport.reported_at).where(
            ProblemReport.reported_at >= start, ProblemReport.reported_at < end
        )
    ):
        w = queries.week_start(at)
        weekly[w] = weekly.get(w, 0) + 1
    weeks = []
    w = queries.week_start(start)
    while w < end.date():
        weeks.append((w, weekly.get(w, 0)))
        w += timedelta(days=7)
    return Review(
        month=month,
        start=start,
        end=end,
        reports=sum(now_counts.values()),
        reports_previous=sum(prev_counts.values()),
        new_problems=new_problems,
        top=top,
        weekly=weeks,
        recovery=_one(figures(session, start, end, "all")),
        recovery_previous=_one(figures(session, prev_start, prev_end, "all")),
        actions=list_actions_with_effectiveness(session, start, end),
        effectiveness=effectiveness_counts(session, start, end),
    )
