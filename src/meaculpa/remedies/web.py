"""Pages of the remedies domain: the case-page panel and its forms, the cost report
(managers) and the remedy policy (admins)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import users_by_id
from meaculpa.cases.queries import access_case
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import DB
from meaculpa.core.enums import Role
from meaculpa.core.exceptions import Forbidden, Invalid, ProblemError
from meaculpa.core.i18n import N_, Gettext
from meaculpa.core.permissions import ROLE_RANK, require_role
from meaculpa.customers.queries import access_customer
from meaculpa.remedies import actions, money, queries
from meaculpa.remedies.schemas import (
    LimitItem,
    PolicyUpdate,
    RemedyCreate,
    RemedyKind,
    RemedyState,
    ReportGroup,
)
from meaculpa.remedies.suggest import suggest_remedy
from meaculpa.web.labels import label_id
from meaculpa.web.pages import (
    CurrentUser,
    PostedForm,
    field,
    flash,
    gettext,
    problem_message,
    redirect,
    render,
)
from meaculpa.web.panels import CasePanel, case_panel

router = APIRouter(include_in_schema=False)

KIND_LABELS: dict[str, str] = {
    RemedyKind.refund: N_("Refund"),
    RemedyKind.credit: N_("Credit"),
    RemedyKind.compensation: N_("Additional compensation"),
    RemedyKind.replacement_or_redo: N_("Replacement or redo"),
    RemedyKind.upgrade_or_better_service: N_("Upgrade or better service"),
    RemedyKind.gift_or_surprise: N_("Gift or surprise"),
    RemedyKind.other: N_("Other remedy"),
}
STATE_LABELS: dict[str, str] = {
    RemedyState.proposed: N_("Proposed"),
    RemedyState.approved: N_("Approved"),
    RemedyState.delivered: N_("Delivered"),
    RemedyState.rejected: N_("Rejected"),
    RemedyState.cancelled: N_("Cancelled"),
}
# Existing badge colours: proposed purple, approved blue, delivered green, rejected red.
STATE_BADGES: dict[str, str] = {
    RemedyState.proposed: "status-waiting_on_customer",
    RemedyState.approved: "status-acknowledged",
    RemedyState.delivered: "status-resolved",
    RemedyState.rejected: "sev-critical",
    RemedyState.cancelled: "sev-low",
}
GROUP_LABELS: dict[str, str] = {
    ReportGroup.error_type: N_("Error type"),
    ReportGroup.team: N_("Team"),
    ReportGroup.kind: N_("Kind of remedy"),
    ReportGroup.month: N_("Month"),
}
NEW_LIMIT_ROWS = 3


def _money_text(minor: int | None, currency: str | None, lang: str) -> str:
    return money.format_money(minor, currency, lang)


# --- the case-page panel ---------------------------------------------------------------------


def remedies_context(session: Session, user: Any, case: Any) -> dict[str, Any]:
    """What ``remedies/_case_panel.html`` shows: remedies, what this user may do, the flag."""
    actor = user.actor
    policy = queries.load_policy(session)
    customer = access_customer(session, actor, case.customer_id)
    history = queries.case_history(session, case, policy)
    remedies = queries.list_case_remedies(session, case.id)
    people = users_by_id(
        session,
        {
            uid
            for r in remedies
            for uid in (r.proposed_by_id, r.approved_by_id, r.delivered_by_id, r.closed_by_id)
            if uid is not None
        },
    )
    return {
        "remedies": [
            {
                "remedy": r,
                "actions": actions.allowed_actions(actor, case, r, policy),
                "people": people,
            }
            for r in remedies
        ],
        "can_propose": actions.can_propose(actor, case),
        "flag": queries.second_failure_for_case(session, case.id),
        "history": history,
        "suggestion": suggest_remedy(case, customer, history, policy),
        "currency": policy.currency,
        "my_limit": policy.limit_for(actor.role, policy.currency),
        "kinds": [k.value for k in RemedyKind],
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "state_badges": STATE_BADGES,
        "money": _money_text,
    }


case_panel(
    CasePanel(
        name="remedies",
        template="remedies/_case_panel.html",
        context=remedies_context,
        area="sidebar",
        order=20,
    )
)


def remedy_problem(_: Gettext, exc: ProblemError) -> str:
    """A translated sentence for a refused remedy change."""
    field_name = (exc.errors or [{}])[0].get("field") if exc.errors else None
    if isinstance(exc, Forbidden) and "limit" in exc.extra:
        role = _(label_id("role", str(exc.extra["role"])))
        if Decimal(str(exc.extra["limit"])) == 0:
            return _(
                "As %(role)s you have no approval limit in %(currency)s. "
                "Ask someone whose limit covers it.",
                role=role,
                currency=exc.extra["currency"],
            )
        return _(
            "As %(role)s you may approve up to %(limit)s %(currency)s per remedy; this one is "
            "%(amount)s %(currency)s. Ask someone whose limit covers it.",
            role=role,
            limit=exc.extra["limit"],
            amount=exc.extra["amount"],
            currency=exc.extra["currency"],
        )
    if isinstance(exc, Invalid) and field_name == "reason":
        return _("Say why the remedy is rejected.")
    if isinstance(exc, Invalid) and field_name == "state":
        return _("This remedy has already moved on. Reload the page to see where it stands.")
    if isinstance(exc, Invalid) and field_name == "error_id":
        return _("That error did not affect this customer.")
    return problem_message(_, exc)


def _case_anchor(case_id: int) -> str:
    return f"/cases/{case_id}#remedies"


@router.post("/cases/{case_id}/remedies", name="remedy_propose")
def propose(
    case_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    amount = field(form, "amount").replace(",", ".") or None
    currency = field(form, "currency").upper() or None
    try:
        data = RemedyCreate(
            kind=RemedyKind(field(form, "kind")),
            description=field(form, "description"),
            amount=Decimal(amount) if amount else None,
            currency=currency if amount else None,
        )
    except (ValidationError, ValueError, InvalidOperation):
        flash(
            request,
            _(
                "Check the remedy: choose a kind, and write the amount as 12.50 with a "
                "currency code such as EUR (or leave the amount empty)."
            ),
            "error",
        )
        return redirect(_case_anchor(case_id))
    try:
        with db.transaction() as session:
            case = access_case(session, user.actor, case_id)
            actions.do_propose_remedy(session, user.actor, case, data)
    except ProblemError as exc:
        flash(request, remedy_problem(_, exc), "error")
        return redirect(_case_anchor(case_id))
    flash(request, _("Remedy proposed. It waits for approval."))
    return redirect(_case_anchor(case_id))


_DONE = {
    "approve": N_("Remedy approved."),
    "deliver": N_("Remedy delivered."),
    "reject": N_("Remedy rejected."),
    "cancel": N_("Remedy cancelled."),
}


@router.post("/remedies/{remedy_id}/{step}", name="remedy_step")
def step(
    remedy_id: int, step: str, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    """Approve, deliver, reject (with a reason) or cancel, then back to the case."""
    _ = gettext(request)
    if step not in _DONE:
        raise Invalid(f"unknown step {step!r}", field="step")
    case_id: int | None = None
    try:
        with db.transaction() as session:
            remedy = queries.access_remedy(session, user.actor, remedy_id, for_update=True)
            case_id = remedy.case_id
            if step == "approve":
                actions.do_approve_remedy(session, user.actor, remedy)
            elif step == "deliver":
                actions.do_deliver_remedy(session, user.actor, remedy)
            elif step == "reject":
                actions.do_reject_remedy(session, user.actor, remedy, reason=field(form, "reason"))
            else:
                actions.do_cancel_remedy(session, user.actor, remedy, reason=field(form, "reason"))
    except ProblemError as exc:
        if case_id is None:
            raise
        flash(request, remedy_problem(_, exc), "error")
        return redirect(_case_anchor(case_id))
    flash(request, _(_DONE[step]))
    return redirect(_case_anchor(case_id))


# --- the cost report -------------------------------------------------------------------------


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/remedies/report", name="remedy_report")
async def report_page(
    request: Request,
    user: CurrentUser,
    db: DB,
    from_: str | None = Query(None, alias="from", max_length=10),
    to: str | None = Query(None, max_length=10),
    group_by: str | None = Query(None, max_length=16),
) -> Response:
    """Managers: what delivered remedies cost in a period, by error type, team, kind or month."""
    require_role(user.actor, "manager", "read the remedy cost report")
    last = _parse_day(to) or utcnow().date()
    first = _parse_day(from_) or (last - timedelta(days=30))
    if first > last:
        first, last = last, first
    group = ReportGroup(group_by) if group_by and group_by in ReportGroup.__members__ else None
    group = group or ReportGroup.error_type
    with db.reading() as session:
        lines, totals = queries.remedy_report(
            session,
            start=datetime.combine(first, time(0), tzinfo=UTC),
            end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
            group_by=group,
        )
    return render(
        request,
        "remedies/report.html",
        {
            "lines": lines,
            "totals": totals,
            "first": first.isoformat(),
            "last": last.isoformat(),
            "group": group.value,
            "groups": [g.value for g in ReportGroup],
            "group_labels": GROUP_LABELS,
            "kind_labels": KIND_LABELS,
            "money": _money_text,
        },
    )


# --- the policy ------------------------------------------------------------------------------


@router.get("/settings/remedies", name="remedy_settings")
async def settings_page(request: Request, user: CurrentUser, db: DB) -> Response:
    """Admins: approval limits per role and currency, the repeat-failure window."""
    require_role(user.actor, "admin", "change the remedy policy")
    with db.reading() as session:
        policy = queries.load_policy(session)
    limits = [
        {
            "role": role,
            "currency": currency,
            "max": "" if value is None else str(money.from_minor(value, currency)),
        }
        for (role, currency), value in sorted(
            policy.limits.items(), key=lambda item: (ROLE_RANK.get(item[0][0], 9), item[0][1])
        )
    ]
    limits += [{"role": "", "currency": "", "max": ""}] * NEW_LIMIT_ROWS
    return render(
        request,
        "remedies/settings.html",
        {"policy": policy, "limits": limits, "roles": [r.value for r in Role]},
    )


def _limits_from(form: Any) -> list[LimitItem]:
    items = []
    index = 0
    while f"limit_role_{index}" in form:
        role = field(form, f"limit_role_{index}")
        currency = field(form, f"limit_currency_{index}").upper()
        maximum = field(form, f"limit_max_{index}").replace(",", ".")
        index += 1
        if not role and not currency:
            continue
        items.append(
            LimitItem(
                role=Role(role),
                currency=currency,
                max_amount=Decimal(maximum) if maximum else None,
            )
        )
    return items


@router.post("/settings/remedies", name="remedy_settings_save")
def save_settings(request: Request, user: CurrentUser, db: DB, form: PostedForm) -> Response:
    _ = gettext(request)
    require_role(user.actor, "admin", "change the remedy policy")
    try:
        window = field(form, "repeat_window_months")
        data = PolicyUpdate(
            repeat_window_months=int(window) if window else None,
            currency=field(form, "currency") or None,
            limits=_limits_from(form),
        )
    except (ValidationError, ValueError, InvalidOperation):
        flash(
            request,
            _(
                "Check the policy: the window is 1 to 120 months, currencies are ISO codes "
                "such as EUR, each role has one limit per currency, amounts look like 50.00."
            ),
            "error",
        )
        return redirect("/settings/remedies")
    try:
        with db.transaction() as session:
            actions.do_update_policy(session, user.actor, data)
    except ProblemError as exc:
        flash(request, remedy_problem(_, exc), "error")
        return redirect("/settings/remedies")
    flash(request, _("Remedy policy saved."))
    return redirect("/settings/remedies")
