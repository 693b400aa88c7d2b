"""Pages of the commitments domain: the case-page panel, its forms, and "my promises"."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from meaculpa.cases.actions import check_can_change
from meaculpa.cases.queries import access_case
from meaculpa.commitments import actions, queries
from meaculpa.commitments.models import KINDS
from meaculpa.commitments.texts import KIND_LABELS, SOURCE_LABELS, STATE_LABELS
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import Forbidden, Invalid, ProblemError
from meaculpa.core.i18n import format_datetime, zone
from meaculpa.customers.queries import customer_names, get_customer
from meaculpa.web.pages import (
    CurrentUser,
    PostedForm,
    field,
    flash,
    gettext,
    local_or,
    problem_message,
    redirect,
    render,
)
from meaculpa.web.panels import CasePanel, case_panel

router = APIRouter(include_in_schema=False)


def _in_zone(value: datetime | None, language: str, timezone: str | None) -> str:
    """A short date and time in ``timezone`` (the customer's), for the pages."""
    return format_datetime(value, language, timezone, "short")


def _state(commitment: Any, now: datetime) -> str:
    return "overdue" if commitment.is_overdue(now) else commitment.state


def _can_change(session: Session, user: Any, case: Any) -> bool:
    try:
        check_can_change(user.actor, case)
    except Forbidden:
        return False
    return True


def panel_context(session: Session, user: Any, case: Any) -> dict[str, Any]:
    now = utcnow()
    rows = queries.list_case_commitments(session, case.id)
    customer = get_customer(session, case.customer_id)
    tz = customer.timezone if customer is not None else "UTC"
    notices = queries.notices_for(session, (c.id for c in rows))
    updates = queries.progress_updates_of(session, case.id, limit=1)
    tomorrow = (now.astimezone(zone(tz)) + timedelta(days=1)).date()
    return {
        "rows": [{"c": c, "state": _state(c, now), "notices": notices.get(c.id, [])} for c in rows],
        "customer_timezone": tz,
        "in_zone": _in_zone,
        "kinds": KINDS,
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "source_labels": SOURCE_LABELS,
        "can_change": _can_change(session, user, case) or user.id in {c.owner_id for c in rows},
        "can_add": _can_change(session, user, case),
        "default_date": tomorrow.isoformat(),
        "last_update": updates[0] if updates else None,
    }


case_panel(
    CasePanel(
        name="commitments",
        template="commitments/_case_panel.html",
        context=panel_context,
        area="sidebar",
        order=10,
    )
)


def _due_from_form(form: Any, timezone: str) -> datetime | None:
    """The due date and time typed in the customer's local time, as aware UTC."""
    try:
        day = date.fromisoformat(field(form, "due_date"))
        at = time.fromisoformat(field(form, "due_time") or "12:00")
    except ValueError:
        return None
    return datetime.combine(day, at.replace(tzinfo=None), zone(timezone))


@router.post("/cases/{case_id}/commitments", name="commitment_add")
def add_commitment(
    case_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/cases/{case_id}#commitments"
    kind = field(form, "kind")
    try:
        with db.transaction() as session:
            case = access_case(session, user.actor, case_id)
            customer = get_customer(session, case.customer_id)
            due = _due_from_form(form, customer.timezone if customer else "UTC")
            if kind not in KINDS:
                raise Invalid("choose what was promised", field="kind")
            if due is None:
                raise Invalid("the due date is not a date", field="due_at")
            actions.do_create_commitment(
                session,
                user.actor,
                case,
                kind=kind,
                due_at=due,
                description=field(form, "description")[:2000],
                depends_on_customer=field(form, "depends_on_customer") == "1",
            )
    except Invalid as exc:
        if (exc.errors or [{}])[0].get("field") == "due_at":
            flash(request, _("Choose a date and time in the future for the promise."), "error")
        else:
            flash(request, problem_message(_, exc), "error")
        return redirect(here)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Promise added. You will be reminded before it is due."))
    return redirect(here)


def _back(form: Any, case_id: int) -> str:
    return local_or(field(form, "next") or None, f"/cases/{case_id}#commitments")


@router.post("/commitments/{commitment_id}/keep", name="commitment_keep")
def keep_commitment(
    commitment_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    try:
        with db.transaction() as session:
            commitment = queries.access_commitment(session, user.actor, commitment_id)
            back = _back(form, commitment.case_id)
            actions.do_keep_commitment(
                session, user.actor, commitment, note=field(form, "note") or None
            )
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(local_or(field(form, "next") or None, "/commitments"))
    flash(request, _("Promise marked as kept. Thank you for keeping your word."))
    return redirect(back)


@router.post("/commitments/{commitment_id}/cancel", name="commitment_cancel")
def cancel_commitment(
    commitment_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    reason = field(form, "reason")
    try:
        with db.transaction() as session:
            commitment = queries.access_commitment(session, user.actor, commitment_id)
            back = _back(form, commitment.case_id)
            if not reason:
                flash(request, _("Say why the promise no longer applies."), "error")
                return redirect(back)
            actions.do_cancel_commitment(session, user.actor, commitment, reason=reason)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(local_or(field(form, "next") or None, "/commitments"))
    flash(request, _("Promise cancelled."))
    return redirect(back)


@router.get("/commitments", name="my_commitments")
async def my_commitments(request: Request, user: CurrentUser, db: DB) -> Response:
    """The signed-in agent's open promises, soonest first, overdue ones highlighted."""
    now = utcnow()
    with db.reading() as session:
        open_rows = queries.open_commitments_of(session, user.id)
        closed_rows = queries.recent_closed_of(session, user.id)
        all_rows = [*open_rows, *closed_rows]
        names = customer_names(session, [c.customer_id for c in all_rows])
        zones = queries.customer_timezones(session, (c.customer_id for c in all_rows))
        stats = queries.promise_stats(session, owner_id=user.id, group_by="none")
    return render(
        request,
        "commitments/mine.html",
        {
            "open_items": [{"c": c, "state": _state(c, now)} for c in open_rows],
            "closed_items": [{"c": c, "state": c.state} for c in closed_rows],
            "overdue_count": sum(1 for c in open_rows if c.is_overdue(now)),
            "names": names,
            "zones": zones,
            "in_zone": _in_zone,
            "kind_labels": KIND_LABELS,
            "state_labels": STATE_LABELS,
            "stats": stats,
        },
    )
