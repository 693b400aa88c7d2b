"""Every write of the remedies domain. Each ``do_*`` checks who may, changes the rows and
records its audit event in the caller's transaction; a refused change leaves nothing behind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import get_user
from meaculpa.cases.actions import check_can_change, do_update_case
from meaculpa.cases.models import Case
from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import SEVERITY_RANK, Severity
from meaculpa.core.events import publish
from meaculpa.core.exceptions import Forbidden, Invalid, NotFound
from meaculpa.core.permissions import require_role
from meaculpa.errors.queries import errors_for_customer
from meaculpa.remedies import money
from meaculpa.remedies.models import Remedy, RemedyLimit, RemedyPolicy, SecondFailure
from meaculpa.remedies.queries import (
    Policy,
    case_history,
    forget_policy,
    load_policy,
    second_failure_for_case,
)
from meaculpa.remedies.schemas import PolicyUpdate, RemedyCreate, RemedyState

REMEDY_FIELDS = (
    "case_id",
    "kind",
    "description",
    "amount_minor",
    "currency",
    "state",
    "reason",
    "error_id",
    "team_id",
    "approved_by_id",
    "delivered_by_id",
    "closed_by_id",
)
SECOND_FAILURE_ACTOR = Actor.system("second-failure")

St = RemedyState
# Where each state may go next.
TRANSITIONS: dict[RemedyState, set[RemedyState]] = {
    St.proposed: {St.approved, St.rejected, St.cancelled},
    St.approved: {St.delivered, St.cancelled},
    St.delivered: set(),
    St.rejected: set(),
    St.cancelled: set(),
}


# --- who may ---------------------------------------------------------------------------------


def _case_of(session: Session, remedy: Remedy) -> Case:
    case = get_case(session, remedy.case_id)
    if case is None:  # pragma: no cover - the foreign key cascades
        raise NotFound(f"case {remedy.case_id} does not exist")
    return case


def _money(minor: int, currency: str) -> str:
    return f"{money.from_minor(minor, currency)} {currency}"


def check_limit(actor: Actor, remedy: Remedy, policy: Policy) -> None:
    """Approving (or rejecting) needs a limit that covers the remedy's amount."""
    if remedy.amount_minor is None or remedy.currency is None:
        return
    limit = policy.limit_for(actor.role, remedy.currency)
    if limit is None or remedy.amount_minor <= limit:
        return
    extra: dict[str, Any] = {
        "role": actor.role,
        "currency": remedy.currency,
        "limit": str(money.from_minor(limit, remedy.currency)),
        "amount": str(money.from_minor(remedy.amount_minor, remedy.currency)),
    }
    who = f"{'an' if actor.role[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {actor.role}"
    if limit == 0:
        raise Forbidden(
            f"{who} has no approval limit in {remedy.currency}; ask someone whose limit covers it",
            **extra,
        )
    raise Forbidden(
        f"{who} may approve at most {_money(limit, remedy.currency)} per remedy; "
        f"this one is {_money(remedy.amount_minor, remedy.currency)}",
        **extra,
    )


def _check_state(remedy: Remedy, new: RemedyState) -> None:
    current = RemedyState(remedy.state)
    if new not in TRANSITIONS[current]:
        raise Invalid(
            f"a {current.value} remedy cannot be {new.value}",
            field="state",
            allowed=sorted(s.value for s in TRANSITIONS[current]),
        )


def allowed_actions(actor: Actor, case: Case, remedy: Remedy, policy: Policy) -> set[str]:
    """What ``actor`` may do to ``remedy`` now: approve, deliver, reject, cancel."""
    try:
        check_can_change(actor, case)
    except Forbidden:
        return set()
    state = RemedyState(remedy.state)
    result = set()
    if St.delivered in TRANSITIONS[state]:
        result.add("deliver")
    if St.cancelled in TRANSITIONS[state]:
        result.add("cancel")
    if St.approved in TRANSITIONS[state]:
        try:
            check_limit(actor, remedy, policy)
        except Forbidden:
            pass
        else:
            result |= {"approve", "reject"}
    return result


def can_propose(actor: Actor, case: Case) -> bool:
    try:
        check_can_change(actor, case)
    except Forbidden:
        return False
    return True


# --- remedies --------------------------------------------------------------------------------


def _owner_team(session: Session, case: Case) -> int | None:
    owner = get_user(session, case.owner_id) if case.owner_id is not None else None
    return owner.team_id if owner is not None else None


def _transition(
    session: Session, actor: Actor, remedy: Remedy, new: RemedyState, verb: str, **changes: Any
) -> Remedy:
    before = snapshot(remedy, REMEDY_FIELDS)
    remedy.state = new.value
    for name, value in changes.items():
        setattr(remedy, name, value)
    session.flush()
    record(
        session,
        actor,
        verb,
        "remedy",
        remedy.id,
        before=before,
        after=snapshot(remedy, REMEDY_FIELDS),
    )
    publish(
        f"remedy.{new.value}",
        session=session,
        actor=actor,
        remedy_id=remedy.id,
        case_id=remedy.case_id,
    )
    return remedy


def do_propose_remedy(session: Session, actor: Actor, case: Case, data: RemedyCreate) -> Remedy:
    """Propose a remedy on ``case`` (its owner, or a manager); linked to an error of the
    customer's: the one given, or their latest."""
    check_can_change(actor, case)
    errors = [error.id for error, _ in errors_for_customer(session, case.customer_id)]
    error_id = data.error_id
    if error_id is not None and error_id not in errors:
        raise Invalid(f"error {error_id} did not affect this customer", field="error_id")
    if error_id is None and errors:
        error_id = errors[0]
    remedy = Remedy(
        case_id=case.id,
        customer_id=case.customer_id,
        error_id=error_id,
        team_id=_owner_team(session, case),
        kind=data.kind.value,
        description=data.description,
        amount_minor=data.amount_minor,
        currency=data.currency,
        state=St.proposed.value,
        proposed_by_id=actor.id,
        proposed_at=utcnow(),
    )
    session.add(remedy)
    session.flush()
    record(
        session, actor, "remedy.propose", "remedy", remedy.id, after=snapshot(remedy, REMEDY_FIELDS)
    )
    publish("remedy.proposed", session=session, actor=actor, remedy_id=remedy.id, case_id=case.id)
    return remedy


def do_approve_remedy(
    session: Session, actor: Actor, remedy: Remedy, *, policy: Policy | None = None
) -> Remedy:
    """Approve a proposed remedy: the case's owner or a manager, within their role's limit."""
    case = _case_of(session, remedy)
    check_can_change(actor, case)
    _check_state(remedy, St.approved)
    check_limit(actor, remedy, policy or load_policy(session))
    return _transition(
        session,
        actor,
        remedy,
        St.approved,
        "remedy.approve",
        approved_by_id=actor.id,
        approved_at=utcnow(),
    )


def do_deliver_remedy(session: Session, actor: Actor, remedy: Remedy) -> Remedy:
    """The customer has it: an approved remedy is delivered (it counts in the cost report)."""
    case = _case_of(session, remedy)
    check_can_change(actor, case)
    _check_state(remedy, St.delivered)
    return _transition(
        session,
        actor,
        remedy,
        St.delivered,
        "remedy.deliver",
        delivered_by_id=actor.id,
        delivered_at=utcnow(),
        team_id=_owner_team(session, case),
    )


def do_reject_remedy(
    session: Session, actor: Actor, remedy: Remedy, *, reason: str, policy: Policy | None = None
) -> Remedy:
    """Turn a proposal down, saying why; it takes the authority that approving it would."""
    case = _case_of(session, remedy)
    check_can_change(actor, case)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("say why the remedy is rejected", field="reason")
    _check_state(remedy, St.rejected)
    check_limit(actor, remedy, policy or load_policy(session))
    return _transition(
        session,
        actor,
        remedy,
        St.rejected,
        "remedy.reject",
        reason=reason[:2000],
        closed_by_id=actor.id,
        closed_at=utcnow(),
    )


def do_cancel_remedy(session: Session, actor: Actor, remedy: Remedy, *, reason: str = "") -> Remedy:
    """Withdraw a remedy that was not delivered (proposed or approved)."""
    case = _case_of(session, remedy)
    check_can_change(actor, case)
    _check_state(remedy, St.cancelled)
    return _transition(
        session,
        actor,
        remedy,
        St.cancelled,
        "remedy.cancel",
        reason=(reason or "").strip()[:2000],
        closed_by_id=actor.id,
        closed_at=utcnow(),
    )


# --- the policy ------------------------------------------------------------------------------


def _policy_snapshot(policy: Policy) -> dict[str, Any]:
    return {
        "repeat_window_months": policy.repeat_window_months,
        "currency": policy.currency,
        "limits": {
            f"{role}:{currency}": (None if value is None else _money(value, currency))
            for (role, currency), value in sorted(policy.limits.items())
        },
    }


def do_update_policy(session: Session, actor: Actor, data: PolicyUpdate) -> Policy:
    """Admins set the repeat-failure window, the suggestions' currency and the limits."""
    require_role(actor, "admin", "change the remedy policy")
    current = load_policy(session)
    row = session.scalar(select(RemedyPolicy).order_by(RemedyPolicy.id).limit(1))
    if row is None:
        row = RemedyPolicy(
            repeat_window_months=current.repeat_window_months, currency=current.currency
        )
        session.add(row)
    if data.repeat_window_months is not None:
        row.repeat_window_months = data.repeat_window_months
    if data.currency is not None:
        row.currency = data.currency
    limits = current.limits
    if data.limits is not None:
        limits = {
            (item.role.value, item.currency): (
                None if item.max_amount is None else money.to_minor(item.max_amount, item.currency)
            )
            for item in data.limits
        }
    if data.limits is not None or not current.saved:
        session.execute(delete(RemedyLimit))
        session.add_all(
            RemedyLimit(role=role, currency=currency, max_minor=value)
            for (role, currency), value in sorted(limits.items())
        )
    session.flush()
    updated = load_policy(session)
    record(
        session,
        actor,
        "remedy_policy.update",
        "remedy_policy",
        row.id,
        before=_policy_snapshot(current),
        after=_policy_snapshot(updated),
    )
    forget_policy()
    return updated


# --- second failures -------------------------------------------------------------------------


def _one_level_up(severity: str) -> str:
    order = sorted(Severity, key=lambda s: SEVERITY_RANK[s])
    try:
        index = order.index(Severity(severity))
    except ValueError:
        return severity
    return order[min(index + 1, len(order) - 1)].value


def do_flag_second_failure(session: Session, case: Case) -> SecondFailure | None:
    """If the case's customer had another failure in the policy's window, flag the case and
    raise its severity one level (critical stays critical). Runs once per case."""
    if second_failure_for_case(session, case.id) is not None:
        return None
    history = case_history(session, case)
    if not history.is_repeat:
        return None
    before = case.severity
    after = _one_level_up(before)
    if after != before:
        do_update_case(session, SECOND_FAILURE_ACTOR, case, severity=after)
    flag = SecondFailure(
        case_id=case.id,
        customer_id=case.customer_id,
        prior_cases=history.prior_cases,
        prior_errors=history.prior_errors,
        window_months=history.window_months,
        severity_before=before,
        severity_after=after,
        flagged_at=utcnow(),
    )
    session.add(flag)
    session.flush()
    record(
        session,
        SECOND_FAILURE_ACTOR,
        "case.second_failure",
        "case",
        case.id,
        after={
            "prior_cases": flag.prior_cases,
            "prior_errors": flag.prior_errors,
            "window_months": flag.window_months,
            "severity_before": before,
            "severity_after": after,
        },
    )
    return flag
