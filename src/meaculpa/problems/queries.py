"""Reads of the problems domain: problems, their reports, weekly counts, links, root causes.

Every function that takes a ``problem_id`` follows merges first: asking about a problem that
was merged into another answers for the problem it became (its reports moved there).
Weeks start on Monday, 00:00 UTC.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from meaculpa.core.audit import Actor
from meaculpa.core.clock import as_utc
from meaculpa.core.exceptions import NotFound
from meaculpa.problems.models import (
    Problem,
    ProblemAlert,
    ProblemErrorLink,
    ProblemReport,
    ProblemSettings,
    RootCause,
)

OPEN = "open"
MERGED = "merged"
ARCHIVED = "archived"
STATUSES = (OPEN, MERGED, ARCHIVED)
SOURCE_TYPES = ("case", "message", "survey", "mention")
_MAX_MERGE_HOPS = 64


# --- weeks -----------------------------------------------------------------------------------


def week_start(moment: datetime | date) -> date:
    """The Monday (UTC) of the week ``moment`` falls in."""
    day = as_utc(moment).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time.min, tzinfo=UTC)
    return start, start + timedelta(days=7)


def _as_moment(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return datetime.combine(value, time.min, tzinfo=UTC)


# --- problems --------------------------------------------------------------------------------


def get_problem(session: Session, problem_id: int) -> Problem | None:
    return session.get(Problem, problem_id)


def resolve_problem_id(session: Session, problem_id: int) -> int:
    """The id of the problem ``problem_id`` lives on as (itself unless it was merged)."""
    current = problem_id
    for _ in range(_MAX_MERGE_HOPS):
        target = session.scalar(select(Problem.merged_into_id).where(Problem.id == current))
        if target is None or target == current:
            return current
        current = target
    return current


def access_problem(
    session: Session, actor: Actor, problem_id: int, *, for_update: bool = False
) -> Problem:
    """Any signed-in user may read a problem; changes are for managers (checked in actions)."""
    problem = session.get(Problem, problem_id, with_for_update=for_update or None)
    if problem is None:
        raise NotFound(f"problem {problem_id} does not exist")
    return problem


def list_problems(
    session: Session,
    *,
    status: str | None = OPEN,
    after_id: int | None = None,
    limit: int = 50,
    query: str | None = None,
) -> list[Problem]:
    """Problems by id, descending (newest first), for cursor pages; ``limit + 1`` rows."""
    stmt = select(Problem)
    if status is not None:
        stmt = stmt.where(Problem.status == status)
    if after_id is not None:
        stmt = stmt.where(Problem.id < after_id)
    if query:
        stmt = stmt.where(func.lower(Problem.label).contains(query.lower()))
    return list(session.scalars(stmt.order_by(Problem.id.desc()).limit(limit + 1)))


def open_problems(session: Session) -> list[Problem]:
    return list(session.scalars(select(Problem).where(Problem.status == OPEN).order_by(Problem.id)))


def count_open_problems(session: Session) -> int:
    return int(session.scalar(select(func.count(Problem.id)).where(Problem.status == OPEN)) or 0)


# --- reports and counts ----------------------------------------------------------------------


def reporter_customer_ids(session: Session, problem_id: int) -> list[int]:
    """The distinct customers who reported the problem (by case, survey or known mention)."""
    pid = resolve_problem_id(session, problem_id)
    rows = session.scalars(
        select(ProblemReport.customer_id)
        .distinct()
        .where(ProblemReport.problem_id == pid, ProblemReport.customer_id.is_not(None))
        .order_by(ProblemReport.customer_id)
    )
    return [int(r) for r in rows if r is not None]


def report_counts(
    session: Session, problem_id: int, start: datetime | date, end: datetime | date
) -> int:
    """How many reports of the problem were made in ``[start, end)``."""
    pid = resolve_problem_id(session, problem_id)
    return int(
        session.scalar(
            select(func.count(ProblemReport.id)).where(
                ProblemReport.problem_id == pid,
                ProblemReport.reported_at >= _as_moment(start),
                ProblemReport.reported_at < _as_moment(end),
            )
        )
        or 0
    )


def report_customer_count(
    session: Session, problem_id: int, start: datetime | date, end: datetime | date
) -> int:
    """How many distinct known customers reported the problem in ``[start, end)``."""
    pid = resolve_problem_id(session, problem_id)
    return int(
        session.scalar(
            select(func.count(distinct(ProblemReport.customer_id))).where(
                ProblemReport.problem_id == pid,
                ProblemReport.customer_id.is_not(None),
                ProblemReport.reported_at >= _as_moment(start),
                ProblemReport.reported_at < _as_moment(end),
            )
        )
        or 0
    )


def weekly_counts(
    session: Session, problem_id: int, start: datetime | date, end: datetime | date
) -> list[tuple[date, int]]:
    """Reports per week (Monday, count) for every week from ``start``'s to ``end``'s, zeros too.

    Only reports in ``[start, end)`` are counted, so a partial first or last week counts only
    its part inside the window."""
    pid = resolve_problem_id(session, problem_id)
    return weekly_counts_many(session, [pid], start, end)[pid]


def weekly_counts_many(
    session: Session, problem_ids: list[int], start: datetime | date, end: datetime | date
) -> dict[int, list[tuple[date, int]]]:
    """:func:`weekly_counts` for several (already resolved) problems in one query."""
    lo, hi = _as_moment(start), _as_moment(end)
    weeks: list[date] = []
    monday = week_start(lo)
    last = week_start(hi - timedelta(microseconds=1)) if hi > lo else monday
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    counts: dict[int, Counter[date]] = {pid: Counter() for pid in problem_ids}
    if problem_ids and hi > lo:
        rows = session.execute(
            select(ProblemReport.problem_id, ProblemReport.reported_at).where(
                ProblemReport.problem_id.in_(problem_ids),
                ProblemReport.reported_at >= lo,
                ProblemReport.reported_at < hi,
            )
        )
        for pid, at in rows:
            counts[pid][week_start(at)] += 1
    return {pid: [(w, counts[pid][w]) for w in weeks] for pid in problem_ids}


def language_mix(session: Session, problem_id: int) -> dict[str, int]:
    """Reports per language code, most common first."""
    pid = resolve_problem_id(session, problem_id)
    rows = session.execute(
        select(ProblemReport.language, func.count(ProblemReport.id))
        .where(ProblemReport.problem_id == pid)
        .group_by(ProblemReport.language)
        .order_by(func.count(ProblemReport.id).desc(), ProblemReport.language)
    )
    return {str(lang): int(n) for lang, n in rows}


def list_reports(
    session: Session, problem_id: int, *, after_id: int | None = None, limit: int = 50
) -> list[ProblemReport]:
    """The problem's reports, newest first (by id), ``limit + 1`` rows for cursor pages."""
    pid = resolve_problem_id(session, problem_id)
    stmt = select(ProblemReport).where(ProblemReport.problem_id == pid)
    if after_id is not None:
        stmt = stmt.where(ProblemReport.id < after_id)
    return list(session.scalars(stmt.order_by(ProblemReport.id.desc()).limit(limit + 1)))


def get_report_for_source(
    session: Session, source_type: str, source_id: int
) -> ProblemReport | None:
    return session.scalar(
        select(ProblemReport).where(
            ProblemReport.source_type == source_type, ProblemReport.source_id == source_id
        )
    )


def problems_of_case(session: Session, case_id: int) -> list[Problem]:
    """The problems a case's messages were grouped into."""
    ids = select(ProblemReport.problem_id).where(ProblemReport.case_id == case_id)
    return list(session.scalars(select(Problem).where(Problem.id.in_(ids)).order_by(Problem.id)))


# --- trend -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """The last complete weeks against the ones before: ``rising``, ``falling`` or ``steady``."""

    direction: str
    recent: int
    previous: int

    @property
    def change(self) -> float | None:
        if self.previous == 0:
            return None
        return (self.recent - self.previous) / self.previous


def trend_of(weeks: list[tuple[date, int]], span: int = 4) -> Trend:
    """Compare the sum of the last ``span`` weeks with the ``span`` before.

    A change counts when it is at least a quarter and at least 3 reports; otherwise steady."""
    values = [n for _, n in weeks]
    recent = sum(values[-span:])
    previous = sum(values[-2 * span : -span]) if len(values) > span else 0
    diff = recent - previous
    if abs(diff) >= 3 and abs(diff) >= 0.25 * max(previous, 1):
        return Trend("rising" if diff > 0 else "falling", recent, previous)
    return Trend("steady", recent, previous)


# --- errors ----------------------------------------------------------------------------------


def linked_error_ids(session: Session, problem_id: int) -> list[int]:
    pid = resolve_problem_id(session, problem_id)
    return [
        int(e)
        for e in session.scalars(
            select(ProblemErrorLink.error_id)
            .where(ProblemErrorLink.problem_id == pid)
            .order_by(ProblemErrorLink.error_id)
        )
    ]


def problems_for_error(session: Session, error_id: int) -> list[Problem]:
    """The (live) problems linked to an error."""
    ids = select(ProblemErrorLink.problem_id).where(ProblemErrorLink.error_id == error_id)
    return list(session.scalars(select(Problem).where(Problem.id.in_(ids)).order_by(Problem.id)))


def get_error_link(session: Session, problem_id: int, error_id: int) -> ProblemErrorLink | None:
    return session.scalar(
        select(ProblemErrorLink).where(
            ProblemErrorLink.problem_id == problem_id, ProblemErrorLink.error_id == error_id
        )
    )


# --- root causes -----------------------------------------------------------------------------


def get_root_cause(
    session: Session, *, error_id: int | None = None, problem_id: int | None = None
) -> RootCause | None:
    if error_id is not None:
        return session.scalar(select(RootCause).where(RootCause.error_id == error_id))
    if problem_id is not None:
        pid = resolve_problem_id(session, problem_id)
        return session.scalar(select(RootCause).where(RootCause.problem_id == pid))
    return None


# --- settings and alerts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    new_problem_threshold: float = 0.45
    alert_min_count: int = 5
    alert_factor: float = 2.0
    alert_baseline_weeks: int = 4
    saved: bool = False


def get_settings(session: Session) -> Settings:
    row = session.scalar(select(ProblemSettings).order_by(ProblemSettings.id).limit(1))
    if row is None:
        return Settings()
    return Settings(
        new_problem_threshold=row.new_problem_threshold,
        alert_min_count=row.alert_min_count,
        alert_factor=row.alert_factor,
        alert_baseline_weeks=row.alert_baseline_weeks,
        saved=True,
    )


def list_alerts_for_user(session: Session, user_id: int, limit: int = 100) -> list[ProblemAlert]:
    return list(
        session.scalars(
            select(ProblemAlert)
            .where(ProblemAlert.user_id == user_id)
            .order_by(ProblemAlert.created_at.desc(), ProblemAlert.id.desc())
            .limit(limit)
        )
    )


def alerted_weeks(session: Session, problem_id: int) -> set[date]:
    return set(
        session.scalars(
            select(ProblemAlert.week_start).where(ProblemAlert.problem_id == problem_id)
        )
    )
