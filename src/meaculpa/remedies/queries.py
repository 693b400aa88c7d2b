"""Reads of the remedies domain: remedies, the policy, repeat failures and the cost report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import list_teams
from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor
from meaculpa.core.cache import TTLCache, database_key
from meaculpa.core.exceptions import NotFound
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.remedies.models import Remedy, RemedyLimit, RemedyPolicy, SecondFailure
from meaculpa.remedies.schemas import RemedyState, ReportGroup
from meaculpa.remedies.suggest import RepeatFailure

DEFAULT_WINDOW_MONTHS = 6
DEFAULT_CURRENCY = "EUR"
# (role, currency) -> most one remedy may be, in minor units; None is no limit.
DEFAULT_LIMITS: dict[tuple[str, str], int | None] = {
    ("agent", "EUR"): 50_00,
    ("manager", "EUR"): 500_00,
    ("admin", "EUR"): None,
}


@dataclass(frozen=True)
class Policy:
    repeat_window_months: int = DEFAULT_WINDOW_MONTHS
    currency: str = DEFAULT_CURRENCY
    limits: dict[tuple[str, str], int | None] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    saved: bool = False

    def limit_for(self, role: str, currency: str | None) -> int | None:
        """The most ``role`` may approve in ``currency`` (minor units), ``None`` for no limit.

        A role with no limit written for a currency may approve only remedies without an
        amount in it; admins have no limit unless one is written for them.
        """
        if currency is None:
            return None
        if (role, currency) in self.limits:
            return self.limits[(role, currency)]
        return None if role == "admin" else 0


# --- remedies --------------------------------------------------------------------------------


def get_remedy(session: Session, remedy_id: int) -> Remedy | None:
    return session.get(Remedy, remedy_id)


def access_remedy(
    session: Session, actor: Actor, remedy_id: int, *, for_update: bool = False
) -> Remedy:
    """Any signed-in user may read a remedy (as any case); writes are checked in the actions.

    ``for_update`` locks the row on PostgreSQL, so two approvals of one remedy queue up.
    """
    remedy = session.get(Remedy, remedy_id, with_for_update=for_update or None)
    if remedy is None:
        raise NotFound(f"remedy {remedy_id} does not exist")
    return remedy


def list_case_remedies(session: Session, case_id: int) -> list[Remedy]:
    return list(
        session.scalars(select(Remedy).where(Remedy.case_id == case_id).order_by(Remedy.id))
    )


# --- the policy ------------------------------------------------------------------------------


def load_policy(session: Session) -> Policy:
    """The organisation's remedy policy: the stored one, or the defaults."""
    row = session.scalar(select(RemedyPolicy).order_by(RemedyPolicy.id).limit(1))
    if row is None:
        return Policy()
    limits = {
        (r.role, r.currency): r.max_minor
        for r in session.scalars(select(RemedyLimit).order_by(RemedyLimit.id))
    }
    return Policy(
        repeat_window_months=row.repeat_window_months,
        currency=row.currency,
        limits=limits,
        saved=True,
    )


# The window is read whenever a case opens; keep it for 10 s per process and database.
_windows: TTLCache[str, int] = TTLCache(10.0, maxsize=64)


def forget_policy() -> None:
    _windows.clear()


def repeat_window_months(session: Session) -> int:
    key = database_key(session)
    months = _windows.get(key)
    if months is None:
        months = session.scalar(
            select(RemedyPolicy.repeat_window_months).order_by(RemedyPolicy.id).limit(1)
        )
        months = months or DEFAULT_WINDOW_MONTHS
        _windows.put(key, months)
    return months


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall time ``months`` calendar months earlier (31 March - 1 = 28/29 February)."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    days = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return moment.replace(year=year, month=month, day=min(moment.day, days[month - 1]))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- second failures -------------------------------------------------------------------------


def repeat_failure(
    session: Session,
    customer_id: int,
    since: datetime,
    *,
    before_case_id: int | None = None,
    until: datetime | None = None,
    window_months: int = DEFAULT_WINDOW_MONTHS,
) -> RepeatFailure:
    """The customer's failures from ``since``: cases opened (before ``before_case_id``, when
    given) and company errors detected that listed them as affected."""
    cases = select(func.count(Case.id)).where(
        Case.customer_id == customer_id, Case.opened_at >= since
    )
    if before_case_id is not None:
        cases = cases.where(Case.id < before_case_id)
    errors = (
        select(func.count(AffectedCustomer.id))
        .join(Error, Error.id == AffectedCustomer.error_id)
        .where(AffectedCustomer.customer_id == customer_id, Error.detected_at >= since)
    )
    if until is not None:
        cases = cases.where(Case.opened_at <= until)
        errors = errors.where(Error.detected_at <= until)
    return RepeatFailure(
        prior_cases=session.scalar(cases) or 0,
        prior_errors=session.scalar(errors) or 0,
        window_months=window_months,
    )


def case_history(session: Session, case: Any, policy: Policy | None = None) -> RepeatFailure:
    """The failures the case's customer had in the policy's window before the case opened."""
    months = policy.repeat_window_months if policy else repeat_window_months(session)
    return repeat_failure(
        session,
        case.customer_id,
        months_before(case.opened_at, months),
        before_case_id=case.id,
        until=case.opened_at,
        window_months=months,
    )


def second_failure_for_case(session: Session, case_id: int) -> SecondFailure | None:
    return session.scalar(select(SecondFailure).where(SecondFailure.case_id == case_id))


# --- the cost report -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    group: str | None
    label: str
    currency: str | None
    delivered_count: int
    total_minor: int


def _delivered(start: datetime, end: datetime) -> Any:
    return (
        Remedy.state == RemedyState.delivered.value,
        Remedy.delivered_at >= start,
        Remedy.delivered_at < end,
    )


def remedy_report(
    session: Session, *, start: datetime, end: datetime, group_by: ReportGroup
) -> tuple[list[ReportLine], list[ReportLine]]:
    """Delivered remedies in ``[start, end)``: count and sum per group and currency, then the
    totals per currency. The error type comes from the error each remedy makes good for."""
    totals_stmt = (
        select(
            Remedy.currency,
            func.count(Remedy.id),
            func.coalesce(func.sum(Remedy.amount_minor), 0),
        )
        .where(*_delivered(start, end))
        .group_by(Remedy.currency)
    )
    totals = [
        ReportLine(None, "", currency, count, int(total or 0))
        for currency, count, total in session.execute(totals_stmt)
    ]
    totals.sort(key=lambda line: line.currency or "")
    if group_by is ReportGroup.month:
        return _by_month(session, start, end), totals
    key: Any = {
        ReportGroup.error_type: Error.type,
        ReportGroup.team: Remedy.team_id,
        ReportGroup.kind: Remedy.kind,
    }[group_by]
    stmt = select(
        key,
        Remedy.currency,
        func.count(Remedy.id),
        func.coalesce(func.sum(Remedy.amount_minor), 0),
    ).select_from(Remedy)
    if group_by is ReportGroup.error_type:
        stmt = stmt.outerjoin(Error, Error.id == Remedy.error_id)
    stmt = stmt.where(*_delivered(start, end)).group_by(key, Remedy.currency)
    teams = {t.id: t.name for t in list_teams(session)} if group_by is ReportGroup.team else {}
    lines = []
    for group, currency, count, total in session.execute(stmt):
        code = None if group is None else str(group)
        label = teams.get(group, "") if group_by is ReportGroup.team else (code or "")
        lines.append(ReportLine(code, label, currency, count, int(total)))
    lines.sort(key=lambda line: (line.group is None, line.label, line.currency or ""))
    return lines, totals


def _by_month(session: Session, start: datetime, end: datetime) -> list[ReportLine]:
    """Per calendar month (UTC): summed here, so one statement serves SQLite and PostgreSQL."""
    sums: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0])
    stmt = select(Remedy.delivered_at, Remedy.currency, Remedy.amount_minor).where(
        *_delivered(start, end)
    )
    for delivered_at, currency, amount in session.execute(stmt):
        month = delivered_at.strftime("%Y-%m") if delivered_at else ""
        entry = sums[(month, currency)]
        entry[0] += 1
        entry[1] += amount or 0
    return [
        ReportLine(month, month, currency, count, total)
        for (month, currency), (count, total) in sorted(
            sums.items(), key=lambda item: (item[0][0], item[0][1] or "")
        )
    ]


def delivered_cost_for_error(session: Session, error_id: int) -> dict[str, int]:
    """What the remedies delivered for an error cost, in minor units per currency."""
    rows = session.execute(
        select(Remedy.currency, func.sum(Remedy.amount_minor))
        .where(
            Remedy.error_id == error_id,
            Remedy.state == "delivered",
            Remedy.amount_minor.is_not(None),
            Remedy.currency.is_not(None),
        )
        .group_by(Remedy.currency)
    ).all()
    return {str(currency): int(total or 0) for currency, total in rows}
