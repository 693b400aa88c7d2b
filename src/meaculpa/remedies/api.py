"""JSON API of the remedies domain (mounted under /api/v1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from meaculpa.cases.queries import access_case
from meaculpa.core.api import awrite
from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.exceptions import Invalid
from meaculpa.core.permissions import require_role
from meaculpa.customers.queries import access_customer
from meaculpa.remedies import actions, money, queries
from meaculpa.remedies.schemas import (
    CaseRemedies,
    LimitItem,
    OptionalReasonIn,
    PolicyRead,
    PolicyUpdate,
    ReasonIn,
    RemedyCreate,
    RemedyRead,
    Report,
    ReportGroup,
    ReportRow,
    ReportTotal,
    SecondFailureRead,
    SuggestionRead,
)
from meaculpa.remedies.suggest import suggest_remedy

router = APIRouter(tags=["remedies"])


def case_remedies(session: Session, actor: Actor, case_id: int) -> CaseRemedies:
    case = access_case(session, actor, case_id)
    customer = access_customer(session, actor, case.customer_id)
    policy = queries.load_policy(session)
    history = queries.case_history(session, case, policy)
    flag = queries.second_failure_for_case(session, case.id)
    suggestion = suggest_remedy(case, customer, history, policy)
    return CaseRemedies(
        items=[RemedyRead.model_validate(r) for r in queries.list_case_remedies(session, case.id)],
        second_failure=SecondFailureRead.model_validate(flag) if flag else None,
        suggestion=SuggestionRead(
            kind=suggestion.kind,
            level=suggestion.level,
            amount=suggestion.amount,
            currency=suggestion.currency,
            repeat=suggestion.repeat,
            reason=suggestion.reason,
        ),
    )


@router.get("/cases/{case_id}/remedies", response_model=CaseRemedies)
async def list_remedies(case_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """The case's remedies, oldest first, with its second-failure flag and a suggestion."""
    return case_remedies(session, actor, case_id)


@router.post(
    "/cases/{case_id}/remedies", response_model=RemedyRead, status_code=status.HTTP_201_CREATED
)
async def propose_remedy(case_id: int, data: RemedyCreate, actor: ApiActor, db: DB) -> Any:
    """Propose a remedy (the case's owner or a manager). It waits for approval."""

    def run(s: Session) -> Any:
        case = access_case(s, actor, case_id)
        return RemedyRead.model_validate(actions.do_propose_remedy(s, actor, case, data))

    return await awrite(db, run)


def _policy_read(policy: queries.Policy) -> PolicyRead:
    return PolicyRead(
        repeat_window_months=policy.repeat_window_months,
        currency=policy.currency,
        limits=[
            LimitItem(
                role=role,  # type: ignore[arg-type]
                currency=currency,
                max_amount=None if value is None else money.from_minor(value, currency),
            )
            for (role, currency), value in sorted(policy.limits.items())
        ],
        saved=policy.saved,
    )


def _day(value: date) -> datetime:
    """The start of ``value`` in UTC."""
    return datetime.combine(value, time(0), tzinfo=UTC)


@router.get("/remedies/report", response_model=Report)
async def remedy_report(
    actor: ApiActor,
    session: ReadSession,
    from_: date | None = Query(None, alias="from", description="first day (UTC); 30 days ago"),
    to: date | None = Query(None, description="last day, included (UTC); today"),
    group_by: ReportGroup = ReportGroup.error_type,
) -> Any:
    """What delivered remedies cost: count and sum per currency, by error type, team, kind
    or month. Managers and admins."""
    require_role(actor, "manager", "read the remedy cost report")
    today = utcnow().date()
    last = to or today
    first = from_ or (last - timedelta(days=30))
    if first > last:
        raise Invalid("'from' is after 'to'", field="from")
    lines, totals = queries.remedy_report(
        session, start=_day(first), end=_day(last + timedelta(days=1)), group_by=group_by
    )
    return Report(
        from_=first,  # type: ignore[call-arg]
        to=last,
        group_by=group_by,
        rows=[ReportRow.model_validate(line) for line in lines],
        totals=[ReportTotal.model_validate(line) for line in totals],
    )


@router.get("/remedies/{remedy_id}", response_model=RemedyRead)
async def get_remedy(remedy_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_remedy(session, actor, remedy_id)


@router.post("/remedies/{remedy_id}/approve", response_model=RemedyRead)
async def approve_remedy(remedy_id: int, actor: ApiActor, db: DB) -> Any:
    """Approve within your role's limit; above it the answer is 403 naming the limit."""

    def run(s: Session) -> Any:
        remedy = queries.access_remedy(s, actor, remedy_id, for_update=True)
        return RemedyRead.model_validate(actions.do_approve_remedy(s, actor, remedy))

    return await awrite(db, run)


@router.post("/remedies/{remedy_id}/deliver", response_model=RemedyRead)
async def deliver_remedy(remedy_id: int, actor: ApiActor, db: DB) -> Any:
    def run(s: Session) -> Any:
        remedy = queries.access_remedy(s, actor, remedy_id, for_update=True)
        return RemedyRead.model_validate(actions.do_deliver_remedy(s, actor, remedy))

    return await awrite(db, run)


@router.post("/remedies/{remedy_id}/reject", response_model=RemedyRead)
async def reject_remedy(remedy_id: int, data: ReasonIn, actor: ApiActor, db: DB) -> Any:
    def run(s: Session) -> Any:
        remedy = queries.access_remedy(s, actor, remedy_id, for_update=True)
        return RemedyRead.model_validate(
            actions.do_reject_remedy(s, actor, remedy, reason=data.reason)
        )

    return await awrite(db, run)


@router.post("/remedies/{remedy_id}/cancel", response_model=RemedyRead)
async def cancel_remedy(
    remedy_id: int, actor: ApiActor, db: DB, data: OptionalReasonIn | None = None
) -> Any:
    def run(s: Session) -> Any:
        remedy = queries.access_remedy(s, actor, remedy_id, for_update=True)
        reason = data.reason if data else ""
        return RemedyRead.model_validate(actions.do_cancel_remedy(s, actor, remedy, reason=reason))

    return await awrite(db, run)


@router.get("/remedy-policy", response_model=PolicyRead)
async def get_policy(actor: ApiActor, session: ReadSession) -> Any:
    """The approval limits per role and currency, the repeat-failure window, the currency."""
    return _policy_read(queries.load_policy(session))


@router.put("/remedy-policy", response_model=PolicyRead)
async def update_policy(data: PolicyUpdate, actor: ApiActor, db: DB) -> Any:
    """Admins only. ``limits``, when sent, replaces every limit."""

    def run(s: Session) -> Any:
        return _policy_read(actions.do_update_policy(s, actor, data))

    return await awrite(db, run)
